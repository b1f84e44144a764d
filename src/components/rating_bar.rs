//! The share of samples rated good, needs improvement and poor, as one stacked bar.

use crate::format::format_percent;
use leptos::prelude::*;

#[component]
pub fn RatingBar(good: u64, needs_improvement: u64, poor: u64) -> impl IntoView {
    let total = (good + needs_improvement + poor).max(1) as f64;
    let share = |n: u64| n as f64 / total;
    let label = format!(
        "Good {}, needs improvement {}, poor {}",
        format_percent(share(good)),
        format_percent(share(needs_improvement)),
        format_percent(share(poor))
    );
    view! {
        <div class="rating-bar" role="img" aria-label=label.clone() title=label>
            <span class="rating-bar-good" style:flex-grow=share(good).to_string()></span>
            <span class="rating-bar-ni" style:flex-grow=share(needs_improvement).to_string()></span>
            <span class="rating-bar-poor" style:flex-grow=share(poor).to_string()></span>
        </div>
    }
}
