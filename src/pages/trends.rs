//! The Trends view: any metric over the chosen range, with the previous period of the
//! same length overlaid.

use crate::api;
use crate::chart_data::{previous_period, primary, series_points};
use crate::charts::{LineChart, Unit};
use crate::components::loaded;
use crate::view_scope::{scoped_resource, use_view_scope};
use leptos::prelude::*;
use perfscope_model::{SeriesPoint, VitalName};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Vital(VitalName),
    ApiP95,
    ApiErrorRate,
    ApiThroughput,
}

impl Metric {
    const ALL: [Metric; 8] = [
        Metric::Vital(VitalName::Lcp),
        Metric::Vital(VitalName::Inp),
        Metric::Vital(VitalName::Cls),
        Metric::Vital(VitalName::Fcp),
        Metric::Vital(VitalName::Ttfb),
        Metric::ApiP95,
        Metric::ApiErrorRate,
        Metric::ApiThroughput,
    ];

    fn key(self) -> &'static str {
        match self {
            Metric::Vital(name) => name.as_str(),
            Metric::ApiP95 => "api-p95",
            Metric::ApiErrorRate => "api-errors",
            Metric::ApiThroughput => "api-throughput",
        }
    }

    fn label(self) -> String {
        match self {
            Metric::Vital(name) => format!("{} p75", name.as_str()),
            Metric::ApiP95 => "API latency p95".to_owned(),
            Metric::ApiErrorRate => "API error rate".to_owned(),
            Metric::ApiThroughput => "API calls per minute".to_owned(),
        }
    }

    fn unit(self) -> Unit {
        match self {
            Metric::Vital(VitalName::Cls) => Unit::Score,
            Metric::ApiErrorRate => Unit::Ratio,
            Metric::ApiThroughput => Unit::PerMinute,
            _ => Unit::Milliseconds,
        }
    }

    /// The value of a bucket `bucket_ms` wide.
    fn value(self, point: &SeriesPoint, bucket_ms: i64) -> Option<f64> {
        match self {
            Metric::Vital(_) => point.p75,
            Metric::ApiP95 => point.p95,
            Metric::ApiErrorRate => point.error_rate,
            Metric::ApiThroughput => {
                (bucket_ms > 0).then(|| point.count as f64 * 60_000.0 / bucket_ms as f64)
            }
        }
    }
}

/// Replaces `from`/`to` in the scope parameters.
fn with_bounds(mut params: api::Params, from: i64, to: i64) -> api::Params {
    for (key, value) in params.iter_mut() {
        match *key {
            "from" => *value = from.to_string(),
            "to" => *value = to.to_string(),
            _ => {}
        }
    }
    params
}

#[component]
pub fn Trends() -> impl IntoView {
    let scope = use_view_scope();
    let metric = RwSignal::new(Metric::Vital(VitalName::Lcp));
    let data = scoped_resource(move |params| {
        let metric = metric.get();
        let filters = scope.filters.get_untracked();
        let now = scope.now.get_untracked();
        let (from, to) = filters.range.bounds(now);
        let (before_from, before_to) = filters.previous_bounds(now);
        let previous = with_bounds(params.clone(), before_from, before_to);
        async move {
            let fetch = |params| async move {
                match metric {
                    Metric::Vital(name) => api::fetch_vital_series(params, name).await,
                    _ => api::fetch_api_series(params, None).await,
                }
            };
            let (current, before) = futures::join!(fetch(params), fetch(previous));
            let label = metric.label();
            let (current, before) = (current?, before?);
            let current = series_points(&current.points, |p| metric.value(p, current.bucket_ms));
            let before = series_points(&before.points, |p| metric.value(p, before.bucket_ms));
            Ok((
                metric,
                (from as f64, to as f64),
                vec![
                    primary(label.clone(), current),
                    previous_period(&label, before, to - from),
                ],
            ))
        }
    });
    let on_metric = move |ev| {
        let key = event_target_value(&ev);
        if let Some(m) = Metric::ALL.into_iter().find(|m| m.key() == key) {
            metric.set(m);
        }
    };
    view! {
        <div class="trends-view">
            <div class="page-head">
                <h1>"Trends"</h1>
                <p class="page-sub">"A metric over the range, beside the period before it."</p>
            </div>
            <div class="table-tools">
                <label for="trend-metric">"Metric"</label>
                <select id="trend-metric" on:change=on_metric>
                    {Metric::ALL
                        .into_iter()
                        .map(|m| view! { <option value=m.key()>{m.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            {loaded(
                "Could not load the trend",
                data,
                |data| match data {
                    None => view! { <p class="section-note">"No data yet."</p> }.into_any(),
                    Some((metric, range, series)) => {
                        let points: usize = series.iter().map(|s| s.points.len()).sum();
                        let label = format!("{} over the range, with the previous period", metric.label());
                        view! {
                            <div class="trend-chart" data-points=points>
                                <LineChart series=Signal::stored(series) unit=metric.unit() label height=320 time_range=range />
                            </div>
                        }
                            .into_any()
                    }
                },
            )}
        </div>
    }
}
