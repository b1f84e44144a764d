//! Placeholders shown while data loads. They take the same space as the real content, so
//! nothing shifts when it arrives (the dashboard should not cause the CLS it reports).

use leptos::prelude::*;
use perfscope_model::VitalName;

#[component]
pub fn SitePickerSkeleton() -> impl IntoView {
    view! {
        <div class="site-picker" aria-hidden="true">
            <label for="site-picker-loading">"Site"</label>
            <select id="site-picker-loading" disabled=true>
                <option>"Loading…"</option>
            </select>
        </div>
    }
}

/// No `data-metric` on these cards on purpose: a test or a script waiting for
/// `[data-metric]` must only ever find real numbers.
#[component]
pub fn SummarySkeleton() -> impl IntoView {
    let cards = VitalName::ALL
        .into_iter()
        .map(|name| {
            view! {
                <div class="vital-card skeleton" data-skeleton=name.as_str()>
                    <h3 class="vital-name">
                        <span class="vital-abbr">{name.as_str()}</span>
                        <span class="vital-long-name">{name.long_name()}</span>
                    </h3>
                    <p class="skeleton-value">"Loading…"</p>
                    <p class="skeleton-line"></p>
                    <p class="skeleton-line short"></p>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="summary-skeleton" role="status" aria-live="polite">
            <p class="visually-hidden">"Loading performance data…"</p>
            <p class="summary-range" aria-hidden="true">"Loading…"</p>
            <section class="summary-section" aria-hidden="true">
                <h2>"Core Web Vitals"</h2>
                <p class="section-note">"75th percentile of page views"</p>
                <div class="vital-grid">{cards}</div>
            </section>
            <section class="summary-section" aria-hidden="true">
                <h2>"API endpoints"</h2>
                <p class="section-note">"Slowest 95th percentile first"</p>
                <div class="table-skeleton">
                    <p class="skeleton-line"></p>
                    <p class="skeleton-line"></p>
                    <p class="skeleton-line short"></p>
                </div>
            </section>
        </div>
    }
}
