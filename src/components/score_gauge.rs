//! The 0–100 performance score, with Lighthouse's colour band and a text label.

use crate::score::score_band;
use leptos::prelude::*;

/// `loading`: the placeholder shown before the summary arrives, the same size.
#[component]
pub fn ScoreGauge(score: Option<u8>, #[prop(optional)] loading: bool) -> impl IntoView {
    let band = score.map(score_band).unwrap_or("no-data");
    let text = score.map_or_else(|| "–".to_owned(), |s| s.to_string());
    let label = match score {
        Some(s) => format!("Performance score {s} out of 100"),
        None if loading => "Loading the performance score".to_owned(),
        None => "No performance score yet: no vitals in this range".to_owned(),
    };
    let score_attr = score.map(|s| s.to_string());
    view! {
        <section class=format!("score-gauge score-{band}") aria-label=label data-score=score_attr>
            <p class="score-value" aria-hidden="true">{text}</p>
            <p class="score-caption">"Performance score"</p>
            <p class="score-note">"Lighthouse scoring of the p75s: LCP 30, INP 30, CLS 15, FCP 15, TTFB 10"</p>
        </section>
    }
}
