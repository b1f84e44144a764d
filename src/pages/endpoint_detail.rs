//! One API endpoint in detail: its latency percentiles and error rate over the range.

use crate::api;
use crate::chart_data::{primary, secondary, series_points};
use crate::charts::{LineChart, Unit};
use crate::components::loaded;
use crate::view_scope::{scoped_resource, use_href, use_view_scope};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn EndpointDetail() -> impl IntoView {
    let query = use_query_map();
    let endpoint = Memo::new(move |_| query.with(|q| q.get("method").zip(q.get("path"))));
    let series = scoped_resource(move |params| {
        let endpoint = endpoint.get();
        async move {
            match endpoint {
                Some((method, path)) => api::fetch_api_series(params, Some((&method, &path))).await,
                None => api::fetch_api_series(params, None).await,
            }
        }
    });
    let latency = Signal::derive(move || {
        let Some(Ok(Some(series))) = series.get() else {
            return Vec::new();
        };
        vec![
            primary("p95", series_points(&series.points, |p| p.p95)),
            secondary("p75", series_points(&series.points, |p| p.p75)),
            secondary("p50", series_points(&series.points, |p| p.p50)),
        ]
    });
    let errors = Signal::derive(move || {
        let Some(Ok(Some(series))) = series.get() else {
            return Vec::new();
        };
        vec![primary(
            "Error rate",
            series_points(&series.points, |p| p.error_rate),
        )]
    });
    let range = use_view_scope().chart_range();
    let title = move || match endpoint.get() {
        Some((method, path)) => format!("{method} {path}"),
        None => "All API calls".to_owned(),
    };
    view! {
        <div class="endpoint-detail">
            <div class="page-head">
                <h1>
                    <code class="route-name">{title}</code>
                </h1>
                <p class="page-sub">
                    <a href=use_href("/api-calls")>"All endpoints"</a>
                </p>
            </div>
            <section class="summary-section" aria-labelledby="latency-heading">
                <h2 id="latency-heading">"Latency"</h2>
                <LineChart series=latency unit=Unit::Milliseconds label="Latency percentiles over the range" time_range=range />
            </section>
            <section class="summary-section" aria-labelledby="errors-heading">
                <h2 id="errors-heading">"Error rate"</h2>
                <LineChart series=errors unit=Unit::Ratio label="Share of failed calls over the range" height=160 time_range=range />
            </section>
            {loaded(
                "Could not load this endpoint's series",
                series,
                |series| {
                    let calls: u64 = series.map_or(0, |s| s.points.iter().map(|p| p.count).sum());
                    view! { <p class="section-note">{crate::format::plural(calls, "call", "calls")} " in the range"</p> }
                },
            )}
        </div>
    }
}
