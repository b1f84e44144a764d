//! The overview: the performance score, the five vitals with their rating split and
//! trend, the alerts firing now, and the slowest API endpoints.
//!
//! The summary and the alerts arrive as one answer and replace a placeholder of the same
//! shape in one go, at the end of the page: nothing already painted moves when data
//! comes (index.html paints the same placeholder before the wasm has loaded).

use crate::api::{self, ApiError};
use crate::chart_data::series_points;
use crate::charts::ChartPoint;
use crate::components::{loaded_or, EmptyState, EndpointTable, ScoreGauge, VitalCard};
use crate::format::format_range;
use crate::score::performance_score;
use crate::view_scope::{scoped_resource, use_view_scope};
use futures::future::join_all;
use leptos::prelude::*;
use perfscope_model::{AlertInfo, AlertStatus, Summary, VitalName};

/// How many endpoint rows the placeholder table holds.
const PLACEHOLDER_ROWS: usize = 5;

#[component]
pub fn Overview() -> impl IntoView {
    let overview = scoped_resource(|params| async move {
        let (summary, alerts) = futures::join!(api::fetch_summary(params), api::fetch_alerts());
        // Alerts that cannot be read are said so in their section, not worth the page.
        Ok((summary?, alerts))
    });
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
    let trends_loading = Signal::derive(move || trends.get().is_none());
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
    let range = use_view_scope().chart_range();

    view! {
        <div class="overview">
            <div class="page-head">
                <h1>"Overview"</h1>
                <p class="page-sub">"What real visitors experienced, measured in their browsers."</p>
            </div>
            {loaded_or(
                "Could not load this site's performance data",
                overview,
                OverviewPlaceholder,
                move |answer| match answer {
                    None => view! { <EmptyState lead="No data yet" kind="no-sites" /> }.into_any(),
                    Some((summary, alerts)) => {
                        view! { <SummaryView summary alerts trend trends_loading range /> }
                            .into_any()
                    }
                },
            )}
        </div>
    }
}

/// The overview before its data: every section of [`SummaryView`] at its final size.
#[component]
fn OverviewPlaceholder() -> impl IntoView {
    let cards = VitalName::ALL
        .into_iter()
        .map(|name| view! { <VitalCard name count=0 p75=None loading=true /> })
        .collect_view();
    let rows = (0..PLACEHOLDER_ROWS)
        .map(|_| {
            view! {
                <tr class="placeholder-row">
                    <td colspan="6">
                        <span class="skeleton-line"></span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="summary-body is-loading" role="status" aria-busy="true">
            <span class="visually-hidden">"Loading…"</span>
            <p class="summary-range">
                <span class="skeleton-line short"></span>
            </p>
            <div class="overview-top">
                <ScoreGauge score=None loading=true />
            </div>
            <section class="summary-section" aria-labelledby="vitals-heading">
                <h2 id="vitals-heading">"Core Web Vitals"</h2>
                <p class="section-note">"75th percentile of page views"</p>
                <div class="vital-grid">{cards}</div>
            </section>
            <section class="summary-section" aria-labelledby="firing-heading">
                <h2 id="firing-heading">"Firing alerts"</h2>
                <p class="section-note">
                    <span class="skeleton-line short"></span>
                </p>
            </section>
            <section class="summary-section" aria-labelledby="endpoints-heading">
                <h2 id="endpoints-heading">"API endpoints"</h2>
                <p class="section-note">"Slowest 95th percentile first"</p>
                <div class="table-scroll">
                    <table class="endpoint-table" aria-hidden="true">
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </section>
        </div>
    }
}

#[component]
fn SummaryView(
    summary: Summary,
    alerts: Result<Vec<AlertInfo>, ApiError>,
    trend: impl Fn(VitalName) -> Signal<Vec<ChartPoint>> + 'static,
    trends_loading: Signal<bool>,
    range: Signal<(f64, f64)>,
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
                    trend_loading=trends_loading
                    trend_range=range
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
            <div class="overview-top">
                <ScoreGauge score />
                {is_empty
                    .then(|| view! { <EmptyState lead="No data yet for this site" kind="no-data" /> })}
            </div>
            <section class="summary-section" aria-labelledby="vitals-heading">
                <h2 id="vitals-heading">"Core Web Vitals"</h2>
                <p class="section-note">"75th percentile of page views"</p>
                <div class="vital-grid">{cards}</div>
            </section>
            <FiringAlerts alerts />
            <section class="summary-section" aria-labelledby="endpoints-heading">
                <h2 id="endpoints-heading">"API endpoints"</h2>
                <p class="section-note">"Slowest 95th percentile first"</p>
                <EndpointTable endpoints />
            </section>
        </div>
    }
}

#[component]
fn FiringAlerts(alerts: Result<Vec<AlertInfo>, ApiError>) -> impl IntoView {
    let body = match alerts {
        Err(err) => view! {
            <p class="section-note error-message" role="alert">
                "Could not load the alerts: " {err.to_string()}
            </p>
        }
        .into_any(),
        Ok(alerts) => {
            let firing: Vec<_> = alerts
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
                                let severity = format!("{:?}", a.severity).to_ascii_lowercase();
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
        }
    };
    view! {
        <section class="summary-section" aria-labelledby="firing-heading">
            <h2 id="firing-heading">"Firing alerts"</h2>
            {body}
        </section>
    }
}
