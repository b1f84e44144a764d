//! The API endpoints the tracker saw, slowest 95th percentile first.

use crate::format::{format_count, format_percent};
use leptos::either::Either;
use leptos::prelude::*;
use perfscope_model::{format_duration_ms, EndpointSummary};

#[component]
pub fn EndpointTable(endpoints: Vec<EndpointSummary>) -> impl IntoView {
    let mut rows = endpoints;
    // Ties broken by traffic, then path, so the order does not jump between refreshes.
    rows.sort_by(|a, b| {
        b.p95
            .total_cmp(&a.p95)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.method.cmp(&b.method))
    });

    let body = if rows.is_empty() {
        Either::Left(view! {
            <tr class="empty-row">
                <td colspan="6">"No API calls recorded for this site in this period."</td>
            </tr>
        })
    } else {
        Either::Right(rows.into_iter().map(endpoint_row).collect_view())
    };

    view! {
        // Focusable so keyboard users can scroll a table wider than a phone screen.
        <div class="table-scroll" tabindex="0" role="region" aria-labelledby="endpoints-heading">
            <table class="endpoint-table">
                <thead>
                    <tr>
                        <th scope="col">"Method"</th>
                        <th scope="col">"Path"</th>
                        <th scope="col" class="num">"Calls"</th>
                        <th scope="col" class="num">"p50"</th>
                        <th scope="col" class="num">"p95"</th>
                        <th scope="col" class="num">"Error rate"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

fn endpoint_row(endpoint: EndpointSummary) -> impl IntoView {
    let failing = endpoint.error_rate > 0.0;
    // The view macro moves children before it reads attributes, hence the early copies.
    let method_attr = endpoint.method.clone();
    let path_attr = endpoint.path.clone();
    view! {
        <tr class="endpoint-row" data-method=method_attr data-path=path_attr>
            <td class="endpoint-method">
                <span class="method-badge">{endpoint.method}</span>
            </td>
            <td class="endpoint-path">
                <code>{endpoint.path}</code>
            </td>
            <td class="num endpoint-calls">{format_count(endpoint.count)}</td>
            <td class="num endpoint-p50">{format_duration_ms(endpoint.p50)}</td>
            <td class="num endpoint-p95">{format_duration_ms(endpoint.p95)}</td>
            <td class="num endpoint-errors" class:has-errors=failing>
                {format_percent(endpoint.error_rate)}
            </td>
        </tr>
    }
}
