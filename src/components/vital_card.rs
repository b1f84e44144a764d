//! One Core Web Vital's 75th percentile as a card, coloured and labelled by its web.dev
//! rating; while the data is on its way, the same card with placeholders, so nothing
//! moves when it arrives.

use crate::charts::{ChartPoint, Sparkline};
use crate::components::RatingBar;
use crate::format::plural;
use leptos::prelude::*;
use perfscope_model::{Rating, VitalName};

#[component]
pub fn VitalCard(
    name: VitalName,
    count: u64,
    p75: Option<f64>,
    /// Samples rated good, needs improvement and poor.
    #[prop(optional)]
    bands: Option<(u64, u64, u64)>,
    /// The p75 over the range, for the card's sparkline.
    #[prop(optional)]
    trend: Option<Signal<Vec<ChartPoint>>>,
    /// The sparkline's time axis, epoch ms from → to.
    #[prop(optional, into)]
    trend_range: MaybeProp<(f64, f64)>,
    /// While true the sparkline waits for its points instead of saying there are none.
    #[prop(optional, into)]
    trend_loading: MaybeProp<bool>,
    /// The placeholder shown before the summary arrives.
    #[prop(optional)]
    loading: bool,
) -> impl IntoView {
    // A p75 is only meaningful with samples behind it; a non-finite one would render as
    // "NaN ms", so it is treated like no value at all.
    let value = p75.filter(|v| count > 0 && v.is_finite() && !loading);
    let rating = value.map(|v| name.rate(v));
    let class = match (rating, loading) {
        (_, true) => "vital-card no-data is-loading".to_owned(),
        (Some(rating), false) => format!("vital-card rating-{}", rating.as_str()),
        (None, false) => "vital-card no-data".to_owned(),
    };
    let heading_id = format!("vital-{}", name.as_str().to_ascii_lowercase());
    let labelled_by = heading_id.clone();

    let (value_text, rating_icon, rating_text) = match (value, rating) {
        (Some(value), Some(rating)) => (name.format(value), icon(rating), rating.label()),
        _ if loading => ("Loading…".to_owned(), "–", "Not rated yet"),
        _ => ("No samples yet".to_owned(), "–", "Not rated"),
    };
    let count_text = if loading {
        "Samples · p75".to_owned()
    } else {
        format!("{} · p75", plural(count, "sample", "samples"))
    };
    // The bar is always there (empty without samples) so every card is as tall.
    let bar = match bands.filter(|(g, n, p)| g + n + p > 0 && !loading) {
        Some((good, needs_improvement, poor)) => {
            view! { <RatingBar good needs_improvement poor /> }.into_any()
        }
        None => view! { <div class="rating-bar" aria-hidden="true"></div> }.into_any(),
    };

    view! {
        <article
            class=class
            data-metric=name.as_str()
            data-rating=rating.map(Rating::as_str)
            aria-labelledby=labelled_by
            aria-busy=loading.then_some("true")
        >
            <h3 class="vital-name" id=heading_id>
                <span class="vital-abbr">{name.as_str()}</span>
                <span class="vital-long-name">{name.long_name()}</span>
            </h3>
            <p class="vital-value">{value_text}</p>
            <p class="vital-rating">
                <span class="rating-icon" aria-hidden="true">
                    {rating_icon}
                </span>
                {rating_text}
            </p>
            <p class="vital-count">{count_text}</p>
            {bar}
            // Before the summary, an empty box of the sparkline's size: a chart would
            // only be built to be thrown away.
            {loading.then(|| view! { <span class="sparkline"></span> })}
            {trend
                .filter(|_| !loading)
                .map(|points| {
                    view! {
                        <Sparkline
                            points
                            label=format!("{} p75 over the range", name.as_str())
                            loading=trend_loading
                            time_range=trend_range
                        />
                    }
                })}
        </article>
    }
}

/// A shape per rating, so the rating reads without colour too.
fn icon(rating: Rating) -> &'static str {
    match rating {
        Rating::Good => "●",
        Rating::NeedsImprovement => "▲",
        Rating::Poor => "■",
    }
}
