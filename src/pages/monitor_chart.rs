//! A chart of monitoring series (`/api/v1/monitor/series`) over the filter bar's range.

use crate::api;
use crate::chart_data::{monitor_points, primary, secondary};
use crate::charts::{LineChart, Unit};
use crate::view_scope::use_view_scope;
use futures::future::join_all;
use leptos::prelude::*;

/// One line per `(label, series name)`; the first is primary. `scale` divides values
/// (100 for percentages shown as ratios). Series without data are left out.
#[component]
pub fn MonitorChart(
    #[prop(into)] series: Signal<Vec<(String, String)>>,
    unit: Unit,
    #[prop(into)] label: String,
    #[prop(default = 1.0)] scale: f64,
    #[prop(default = 200)] height: u32,
) -> impl IntoView {
    let scope = use_view_scope();
    let data = LocalResource::new(move || {
        let wanted = series.get();
        let (from, to) = scope.filters.get().range.bounds(scope.now.get());
        async move {
            let range = (from as f64, to as f64);
            let fetched = join_all(
                wanted
                    .iter()
                    .map(|(_, name)| api::fetch_monitor_series(name.clone(), from, to)),
            )
            .await;
            let lines = wanted
                .into_iter()
                .zip(fetched)
                .enumerate()
                .filter_map(|(i, ((label, _), result))| {
                    let points = monitor_points(&result.ok()?.points, scale);
                    Some(if i == 0 {
                        primary(label, points)
                    } else {
                        secondary(label, points)
                    })
                })
                .collect::<Vec<_>>();
            (range, lines)
        }
    });
    let lines = Signal::derive(move || data.get().map(|(_, lines)| lines).unwrap_or_default());
    let range = Signal::derive(move || data.get().map(|(range, _)| range));
    let points = move || lines.with(|l| l.iter().map(|s| s.points.len()).sum::<usize>());
    view! {
        <div class="monitor-chart" data-points=points>
            <LineChart series=lines unit label height time_range=range />
        </div>
    }
}
