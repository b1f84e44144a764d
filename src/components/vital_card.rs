//! One Core Web Vital's 75th percentile as a card, coloured and labelled by its web.dev rating.

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
) -> impl IntoView {
    // A p75 is only meaningful with samples behind it; a non-finite one would render as
    // "NaN ms", so it is treated like no value at all.
    let value = p75.filter(|v| count > 0 && v.is_finite());
    let rating = value.map(|v| name.rate(v));
    let class = match rating {
        Some(rating) => format!("vital-card rating-{}", rating.as_str()),
        None => "vital-card no-data".to_owned(),
    };
    let heading_id = format!("vital-{}", name.as_str().to_ascii_lowercase());
    let labelled_by = heading_id.clone();

    let body = match (value, rating) {
        (Some(value), Some(rating)) => view! {
            <p class="vital-value">{name.format(value)}</p>
            <p class="vital-rating">
                <span class="rating-icon" aria-hidden="true">
                    {rating_icon(rating)}
                </span>
                {rating.label()}
            </p>
        }
        .into_any(),
        _ => view! {
            <p class="vital-value">"No samples yet"</p>
            <p class="vital-rating">
                <span class="rating-icon" aria-hidden="true">
                    "–"
                </span>
                "Not rated"
            </p>
        }
        .into_any(),
    };

    view! {
        <article
            class=class
            data-metric=name.as_str()
            data-rating=rating.map(Rating::as_str)
            aria-labelledby=labelled_by
        >
            <h3 class="vital-name" id=heading_id>
                <span class="vital-abbr">{name.as_str()}</span>
                <span class="vital-long-name">{name.long_name()}</span>
            </h3>
            {body}
            <p class="vital-count">{plural(count, "sample", "samples")} " · p75"</p>
            {bands
                .filter(|(g, n, p)| g + n + p > 0)
                .map(|(good, needs_improvement, poor)| view! { <RatingBar good needs_improvement poor /> })}
            {trend
                .map(|points| {
                    view! { <Sparkline points label=format!("{} p75 over the range", name.as_str()) /> }
                })}
        </article>
    }
}

/// A shape per rating, so the rating reads without colour too.
fn rating_icon(rating: Rating) -> &'static str {
    match rating {
        Rating::Good => "●",
        Rating::NeedsImprovement => "▲",
        Rating::Poor => "■",
    }
}
