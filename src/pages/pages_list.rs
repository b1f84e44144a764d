//! The Pages view: every route with the p75 of each vital and its sample count;
//! sortable by any column and searchable by route.

use crate::api;
use crate::components::{loaded, EmptyState, SearchBox};
use crate::format::format_count;
use crate::route_table::{merge_breakdowns, RouteRow};
use crate::table_sort::{compare_text, compare_values, matches_search, Direction, SortState};
use crate::view_scope::scoped_resource;
use futures::future::join_all;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use perfscope_model::VitalName;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Route,
    Samples,
    Vital(VitalName),
}

#[component]
pub fn PagesList() -> impl IntoView {
    let rows = scoped_resource(|params| async move {
        let all =
            join_all(VitalName::ALL.map(|name| api::fetch_route_breakdown(params.clone(), name)))
                .await;
        let mut breakdowns = Vec::new();
        for (name, rows) in VitalName::ALL.into_iter().zip(all) {
            breakdowns.push((name, rows?));
        }
        Ok(merge_breakdowns(breakdowns))
    });
    let search = RwSignal::new(String::new());
    let sort = RwSignal::new(SortState {
        column: Column::Samples,
        direction: Direction::Descending,
    });

    view! {
        <div class="pages-view">
            <div class="page-head">
                <h1>"Pages"</h1>
                <p class="page-sub">"Every route, with the 75th percentile of each vital."</p>
            </div>
            <SearchBox id="route-search" label="Search routes" placeholder="/users" search />
            {loaded(
                "Could not load the routes",
                rows,
                move |rows| match rows {
                    None => view! { <EmptyState lead="No data yet" kind="no-sites" /> }.into_any(),
                    Some(rows) => view! { <RouteTable rows search sort /> }.into_any(),
                },
            )}
        </div>
    }
}

#[component]
fn RouteTable(
    rows: Vec<RouteRow>,
    search: RwSignal<String>,
    sort: RwSignal<SortState<Column>>,
) -> impl IntoView {
    let query = use_query_map();
    let visible = move || {
        let state = sort.get();
        let needle = search.get();
        let mut shown: Vec<RouteRow> = rows
            .iter()
            .filter(|row| matches_search(&row.route, &needle))
            .cloned()
            .collect();
        shown.sort_by(|a, b| match state.column {
            Column::Route => compare_text(&a.route, &b.route, state.direction),
            Column::Samples => compare_values(
                Some(a.samples() as f64),
                Some(b.samples() as f64),
                state.direction,
            ),
            Column::Vital(name) => compare_values(a.p75(name), b.p75(name), state.direction),
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
    let detail_href = move |route: &str| {
        let mut params = query.get();
        params.replace("route", route.to_owned());
        format!(
            "{}/pages/detail{}",
            crate::app::BASE,
            params.to_query_string()
        )
    };
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Routes">
            <table class="data-table route-table">
                <thead>
                    <tr>
                        {header(Column::Route, "Route", false)}
                        {header(Column::Samples, "Samples", true)}
                        {VitalName::ALL
                            .into_iter()
                            .map(|name| header(Column::Vital(name), name.as_str(), true))
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let shown = visible();
                        if shown.is_empty() {
                            view! {
                                <tr class="empty-row">
                                    <td colspan="7">"No route matches."</td>
                                </tr>
                            }
                                .into_any()
                        } else {
                            shown
                                .into_iter()
                                .map(|row| {
                                    let href = detail_href(&row.route);
                                    let route_attr = row.route.clone();
                                    let cells = VitalName::ALL
                                        .into_iter()
                                        .map(|name| {
                                            let value = row.p75(name);
                                            let rating = value.map(|v| name.rate(v).as_str()).unwrap_or("none");
                                            view! {
                                                <td class=format!("num cell-rating-{rating}")>
                                                    {value.map_or_else(|| "–".to_owned(), |v| name.format(v))}
                                                </td>
                                            }
                                        })
                                        .collect_view();
                                    view! {
                                        <tr class="route-row" data-route=route_attr>
                                            <td class="route-cell">
                                                <a href=href>
                                                    <code>{row.route.clone()}</code>
                                                </a>
                                            </td>
                                            <td class="num">{format_count(row.samples())}</td>
                                            {cells}
                                        </tr>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </tbody>
            </table>
        </div>
    }
}
