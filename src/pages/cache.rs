//! The Cache view: the collector's L1/L2/L3 layers and the layers other services
//! report: hit rate, size against limit, evictions, promotions, and the hit-rate trend.

use crate::api;
use crate::charts::Unit;
use crate::components::loaded_or;
use crate::format::{format_bytes, format_count, format_percent};
use crate::pages::monitor_chart::MonitorChart;
use crate::view_scope::scoped_resource;
use leptos::prelude::*;
use perfscope_model::{CacheLayerStats, CacheStats};

#[component]
pub fn Cache() -> impl IntoView {
    let stats = scoped_resource(|_| api::fetch_cache_stats());
    let source_layers = scoped_resource(|_| async {
        let names = api::fetch_monitor_names("source.").await?;
        Ok(names
            .into_iter()
            .filter(|n| n.contains(".cache.") && n.ends_with(".hit_rate"))
            .collect::<Vec<_>>())
    });
    let collector_series = Signal::derive(move || {
        let mut series = vec![("All layers".to_owned(), "cache.hit_rate".to_owned())];
        if let Some(Ok(Some(stats))) = stats.get() {
            for layer in stats.layers {
                series.push((
                    layer.layer.to_ascii_uppercase(),
                    format!("cache.{}.hit_rate", layer.layer),
                ));
            }
        }
        series
    });
    let source_series = Signal::derive(move || {
        source_layers
            .get()
            .and_then(Result::ok)
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                let label = name
                    .trim_start_matches("source.")
                    .trim_end_matches(".hit_rate")
                    .replace(".cache.", " ");
                (label, name)
            })
            .collect::<Vec<_>>()
    });
    view! {
        <div class="cache-view">
            <div class="page-head">
                <h1>"Cache"</h1>
                <p class="page-sub">"The collector's query cache layers, and those other services report."</p>
            </div>
            {loaded_or("Could not load the cache statistics", stats, stats_placeholder, |stats| stats.map(stats_table))}
            <section class="summary-section" aria-labelledby="cache-trend-heading">
                <h2 id="cache-trend-heading">"Hit rate"</h2>
                <MonitorChart series=collector_series unit=Unit::Ratio label="Collector cache hit rate over the range" />
            </section>
            <section class="summary-section" aria-labelledby="source-cache-heading">
                <h2 id="source-cache-heading">"Reported by other services"</h2>
                {move || {
                    if source_series.with(Vec::is_empty) {
                        view! { <p class="section-note">"No service has reported cache layers in this range."</p> }.into_any()
                    } else {
                        view! { <MonitorChart series=source_series unit=Unit::Ratio label="Hit rate of reported cache layers" /> }.into_any()
                    }
                }}
            </section>
        </div>
    }
}

/// The collector's three layers as empty rows, so the chart below stays put.
fn stats_placeholder() -> impl IntoView {
    let rows = ["L1", "L2", "L3"]
        .map(|layer| {
            view! {
                <tr class="placeholder-row">
                    <th scope="row">{layer}</th>
                    <td colspan="5"><span class="skeleton-line"></span></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="cache-overall"><span class="skeleton-line short"></span></p>
        <div class="table-scroll" role="status" aria-busy="true">
            <span class="visually-hidden">"Loading…"</span>
            <table class="data-table cache-table">
                <thead>{table_head()}</thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn table_head() -> impl IntoView {
    view! {
        <tr>
            <th scope="col">"Layer"</th>
            <th scope="col" class="num">"Hit rate"</th>
            <th scope="col">"Size / limit"</th>
            <th scope="col" class="num">"Entries"</th>
            <th scope="col" class="num">"Evictions"</th>
            <th scope="col" class="num">"Promotions"</th>
        </tr>
    }
}

fn stats_table(stats: CacheStats) -> impl IntoView {
    let rows = stats.layers.into_iter().map(layer_row).collect_view();
    view! {
        <p class="cache-overall">
            "Overall hit rate "
            <strong>{stats.hit_rate.map_or_else(|| "–".to_owned(), format_percent)}</strong>
            " · " {format_count(stats.coalesced)} " coalesced queries"
        </p>
        <div class="table-scroll" tabindex="0" role="region" aria-label="Cache layers">
            <table class="data-table cache-table">
                <thead>{table_head()}</thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn layer_row(layer: CacheLayerStats) -> impl IntoView {
    let hit_rate = layer
        .hit_rate
        .or_else(|| CacheLayerStats::computed_hit_rate(layer.hits, layer.misses));
    let size = if layer.limit_bytes > 0 {
        format!(
            "{} of {}",
            format_bytes(layer.bytes as f64),
            format_bytes(layer.limit_bytes as f64)
        )
    } else {
        format_bytes(layer.bytes as f64)
    };
    let fill = (layer.limit_bytes > 0).then(|| layer.bytes as f64 / layer.limit_bytes as f64);
    view! {
        <tr class="cache-row" data-layer=layer.layer.clone()>
            <th scope="row">{layer.layer.to_ascii_uppercase()}</th>
            <td class="num">{hit_rate.map_or_else(|| "–".to_owned(), format_percent)}</td>
            <td>
                {size}
                {fill.map(|fill| view! { <meter class="size-meter" min="0" max="1" value=fill.min(1.0).to_string() aria-label="Share of the limit in use"></meter> })}
            </td>
            <td class="num">{format_count(layer.entries)}</td>
            <td class="num">{format_count(layer.evictions)}</td>
            <td class="num">{format_count(layer.promotions)}</td>
        </tr>
    }
}
