//! The API calls view: every endpoint with throughput, p50/p95/p99, error rate and a
//! latency sparkline; slowest first, sortable, each linking to its detail.

use crate::api;
use crate::chart_data::series_points;
use crate::charts::{ChartPoint, Sparkline};
use crate::components::{loaded, EmptyState, SearchBox};
use crate::format::{format_count, format_percent, format_rate};
use crate::table_sort::{compare_text, compare_values, matches_search, Direction, SortState};
use crate::view_scope::{scoped_resource, use_view_scope};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use perfscope_model::{format_duration_ms, EndpointSummary};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Endpoint,
    Throughput,
    P50,
    P95,
    P99,
    Errors,
}

/// Sparklines are fetched for this many rows at most: one request each.
const SPARKLINE_ROWS: usize = 20;

#[component]
pub fn ApiCalls() -> impl IntoView {
    let endpoints = scoped_resource(api::fetch_endpoints);
    let search = RwSignal::new(String::new());
    let sort = RwSignal::new(SortState {
        column: Column::P95,
        direction: Direction::Descending,
    });
    view! {
        <div class="api-view">
            <div class="page-head">
                <h1>"API calls"</h1>
                <p class="page-sub">"Calls made by visitors' browsers, slowest first."</p>
            </div>
            <SearchBox id="endpoint-search" label="Search endpoints" placeholder="/api/" search />
            {loaded(
                "Could not load the API endpoints",
                endpoints,
                move |endpoints| match endpoints {
                    None => view! { <EmptyState lead="No data yet" kind="no-sites" /> }.into_any(),
                    Some(rows) => view! { <EndpointsTable rows search sort /> }.into_any(),
                },
            )}
        </div>
    }
}

fn sort_value(row: &EndpointSummary, column: Column) -> Option<f64> {
    match column {
        Column::Endpoint => None,
        Column::Throughput => Some(row.throughput_per_min),
        Column::P50 => Some(row.p50),
        Column::P95 => Some(row.p95),
        Column::P99 => Some(row.p99),
        Column::Errors => Some(row.error_rate),
    }
}

#[component]
fn EndpointsTable(
    rows: Vec<EndpointSummary>,
    search: RwSignal<String>,
    sort: RwSignal<SortState<Column>>,
) -> impl IntoView {
    let query = use_query_map();
    let range = use_view_scope().chart_range();
    let visible = move || {
        let state = sort.get();
        let needle = search.get();
        let mut shown: Vec<EndpointSummary> = rows
            .iter()
            .filter(|row| matches_search(&format!("{} {}", row.method, row.path), &needle))
            .cloned()
            .collect();
        shown.sort_by(|a, b| match state.column {
            Column::Endpoint => compare_text(&a.path, &b.path, state.direction)
                .then_with(|| compare_text(&a.method, &b.method, state.direction)),
            column => compare_values(
                sort_value(a, column),
                sort_value(b, column),
                state.direction,
            ),
        });
        shown
    };
    let header = move |column: Column, label: &'static str, numeric: bool| {
        view! {
            <th scope="col" class:num=numeric aria-sort=move || sort.get().aria_for(column)>
                <button type="button" class="sort-button" on:click=move |_| sort.update(|s| *s = s.toggled(column))>
                    {label}
                </button>
            </th>
        }
    };
    let detail_href = move |row: &EndpointSummary| {
        let mut params = query.get();
        params.replace("method", row.method.clone());
        params.replace("path", row.path.clone());
        format!(
            "{}/api-calls/detail{}",
            crate::app::BASE,
            params.to_query_string()
        )
    };
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="API endpoints">
            <table class="data-table endpoint-table">
                <thead>
                    <tr>
                        {header(Column::Endpoint, "Endpoint", false)}
                        <th scope="col" class="num">"Calls"</th>
                        {header(Column::Throughput, "Calls/min", true)}
                        {header(Column::P50, "p50", true)}
                        {header(Column::P95, "p95", true)}
                        {header(Column::P99, "p99", true)}
                        {header(Column::Errors, "Error rate", true)}
                        <th scope="col">"Trend"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let shown = visible();
                        if shown.is_empty() {
                            return view! {
                                <tr class="empty-row">
                                    <td colspan="8">"No API calls recorded for this site in this period."</td>
                                </tr>
                            }
                                .into_any();
                        }
                        shown
                            .into_iter()
                            .enumerate()
                            .map(|(i, row)| {
                                let href = detail_href(&row);
                                let failing = row.error_rate > 0.0;
                                let label = format!("p95 of {} {} over the range", row.method, row.path);
                                let trend = (i < SPARKLINE_ROWS)
                                    .then(|| endpoint_trend(row.method.clone(), row.path.clone()));
                                view! {
                                    <tr class="endpoint-row" data-method=row.method.clone() data-path=row.path.clone()>
                                        <td class="endpoint-path">
                                            <a href=href>
                                                <span class="method-badge">{row.method.clone()}</span>
                                                " "
                                                <code>{row.path.clone()}</code>
                                            </a>
                                        </td>
                                        <td class="num">{format_count(row.count)}</td>
                                        <td class="num">{format_rate(row.throughput_per_min)}</td>
                                        <td class="num">{format_duration_ms(row.p50)}</td>
                                        <td class="num">{format_duration_ms(row.p95)}</td>
                                        <td class="num">{format_duration_ms(row.p99)}</td>
                                        <td class="num endpoint-errors" class:has-errors=failing>
                                            {format_percent(row.error_rate)}
                                        </td>
                                        <td class="trend-cell">
                                            {trend.map(|points| view! { <Sparkline points label=label time_range=range /> })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }}
                </tbody>
            </table>
        </div>
    }
}

/// The p95 series of one endpoint, as a sparkline's points; empty when it failed.
fn endpoint_trend(method: String, path: String) -> Signal<Vec<ChartPoint>> {
    let scope = use_view_scope();
    let series = LocalResource::new(move || {
        let params = scope.params.get();
        let (method, path) = (method.clone(), path.clone());
        async move {
            match params {
                Some(params) => api::fetch_api_series(params, Some((&method, &path)))
                    .await
                    .map(|s| series_points(&s.points, |p| p.p95))
                    .unwrap_or_default(),
                None => Vec::new(),
            }
        }
    });
    Signal::derive(move || series.get().unwrap_or_default())
}
