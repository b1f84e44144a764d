//! The overview: the performance score, the five vitals with their rating split and
//! trend, the alerts firing now, and the slowest API endpoints.

use crate::api;
use crate::chart_data::series_points;
use crate::charts::ChartPoint;
use crate::components::{loaded, EmptyState, EndpointTable, ScoreGauge, VitalCard};
use crate::format::format_range;
use crate::score::performance_score;
use crate::view_scope::scoped_resource;
use futures::future::join_all;
use leptos::prelude::*;
use perfscope_model::{AlertStatus, Summary, VitalName};

#[component]
pub fn Overview() -> impl IntoView {
    let summary = scoped_resource(api::fetch_summary);
    let trends = scoped_resource(|params| async move {
        let all =
            join_all(VitalName::ALL.map(|name| api::fetch_vital_series(params.clone(), name)))
                .await;
        // A missing sparkline is not worth failing the page for.
        Ok(VitalName::ALL
            .into_iter()
            .zip(all)
            .map(|(name, series)| {
                let points =
                    series.map_or_else(|_| Vec::new(), |s| series_points(&s.points, |p| p.p75));
                (name, points)
            })
            .collect::<Vec<_>>())
    });
    let trend = move |name: VitalName| -> Signal<Vec<ChartPoint>> {
        Signal::derive(move || {
            trends
                .get()
                .and_then(Result::ok)
                .flatten()
                .and_then(|all| all.into_iter().find(|(n, _)| *n == name).map(|(_, p)| p))
                .unwrap_or_default()
        })
    };

    view! {
        <div class="overview">
            <div class="page-head">
                <h1>"Overview"</h1>
                <p class="page-sub">"What real visitors experienced, measured in their browsers."</p>
            </div>
            {loaded(
                "Could not load this site's performance data",
                summary,
                move |summary| match summary {
                    None => view! { <EmptyState lead="No data yet" kind="no-sites" /> }.into_any(),
                    Some(summary) => view! { <SummaryView summary trend /> }.into_any(),
                },
            )}
            <FiringAlerts />
        </div>
    }
}

#[component]
fn SummaryView(
    summary: Summary,
    trend: impl Fn(VitalName) -> Signal<Vec<ChartPoint>> + 'static,
) -> impl IntoView {
    let Summary {
        site,
        from,
        to,
        vitals,
        endpoints,
    } = summary;
    let is_empty = endpoints.is_empty() && vitals.iter().all(|vital| vital.count == 0);
    let score = performance_score(|name| {
        vitals
            .iter()
            .find(|v| v.name == name && v.count > 0)
            .and_then(|v| v.p75)
    });

    // Always all five cards in a fixed order, whatever the collector sent, so the grid
    // never changes shape between sites.
    let cards = VitalName::ALL
        .into_iter()
        .map(|name| {
            let vital = vitals.iter().find(|vital| vital.name == name);
            view! {
                <VitalCard
                    name
                    count=vital.map_or(0, |vital| vital.count)
                    p75=vital.and_then(|vital| vital.p75)
                    bands=vital.map_or((0, 0, 0), |v| (v.good, v.needs_improvement, v.poor))
                    trend=trend(name)
                />
            }
        })
        .collect_view();

    let site_attr = site.clone();
    view! {
        <div class="summary-body" data-site=site_attr>
            <p class="summary-range">
                {format_range(from, to)} " · " <span class="summary-site">{site}</span>
            </p>
            {is_empty
                .then(|| view! { <EmptyState lead="No data yet for this site" kind="no-data" /> })}
            <div class="overview-top">
                <ScoreGauge score />
            </div>
            <section class="summary-section" aria-labelledby="vitals-heading">
                <h2 id="vitals-heading">"Core Web Vitals"</h2>
                <p class="section-note">"75th percentile of page views"</p>
                <div class="vital-grid">{cards}</div>
            </section>
            <section class="summary-section" aria-labelledby="endpoints-heading">
                <h2 id="endpoints-heading">"API endpoints"</h2>
                <p class="section-note">"Slowest 95th percentile first"</p>
                <EndpointTable endpoints />
            </section>
        </div>
    }
}

#[component]
fn FiringAlerts() -> impl IntoView {
    let alerts = scoped_resource(|_| api::fetch_alerts());
    view! {
        <section class="summary-section" aria-labelledby="firing-heading">
            <h2 id="firing-heading">"Firing alerts"</h2>
            {loaded(
                "Could not load the alerts",
                alerts,
                |alerts| {
                    let firing: Vec<_> = alerts
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|a| a.status == AlertStatus::Firing)
                        .collect();
                    if firing.is_empty() {
                        view! { <p class="section-note">"No alert is firing."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="alert-list">
                                {firing
                                    .into_iter()
                                    .map(|a| {
                                        let severity = format!("{:?}", a.severity).to_lowercase();
                                        let class = format!("alert-item severity-{severity}");
                                        view! {
                                            <li class=class>
                                                <strong>{a.rule_id}</strong>
                                                " "
                                                <span>{a.site}</span>
                                                " · "
                                                <span>{severity}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                },
            )}
        </section>
    }
}
