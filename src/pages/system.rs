//! The System view: CPU, memory, disk and network of the collector's host, the
//! collector process, and the resources other services report.

use crate::api;
use crate::charts::Unit;
use crate::format::{format_bytes, format_utc};
use crate::live::use_live;
use crate::pages::monitor_chart::MonitorChart;
use crate::view_scope::scoped_resource;
use leptos::prelude::*;

#[component]
pub fn System() -> impl IntoView {
    let live = use_live();
    let names = scoped_resource(|_| async {
        let mut names = api::fetch_monitor_names("system.").await?;
        names.extend(api::fetch_monitor_names("source.").await?);
        Ok(names)
    });
    let all_names = Memo::new(move |_| {
        names
            .get()
            .and_then(Result::ok)
            .flatten()
            .unwrap_or_default()
    });
    let pick = move |keep: fn(&str) -> Option<String>| {
        Signal::derive(move || {
            all_names
                .get()
                .into_iter()
                .filter_map(|name| keep(&name).map(|label| (label, name)))
                .collect::<Vec<_>>()
        })
    };
    let cpu = pick(|n| match n {
        "system.cpu.total_percent" => Some("All cores".to_owned()),
        _ => n
            .strip_prefix("system.cpu.")
            .and_then(|rest| rest.strip_suffix("_percent"))
            .map(|core| core.replace("core", "Core ")),
    });
    let memory = pick(|n| match n {
        "system.memory.used_percent" => Some("Memory".to_owned()),
        "system.swap.used_percent" => Some("Swap".to_owned()),
        _ => None,
    });
    let disk = pick(|n| {
        n.strip_prefix("system.disk.")
            .and_then(|rest| rest.strip_suffix(".used_percent"))
            .map(|mount| {
                if mount == "max" {
                    "Fullest disk".to_owned()
                } else {
                    mount.to_owned()
                }
            })
    });
    let network = pick(|n| match n {
        "system.net.rx_bytes_per_s" => Some("Received".to_owned()),
        "system.net.tx_bytes_per_s" => Some("Sent".to_owned()),
        _ => None,
    });
    let sources = pick(|n| {
        (n.starts_with("source.") && !n.contains(".cache."))
            .then(|| n.trim_start_matches("source.").to_owned())
    });

    // Always there, with dashes until the first reading arrives, so the charts below
    // do not move down when it does.
    let current = move || {
        let (ts, values) = live.resources.get().unzip();
        {
            let reading = |name: &str, show: fn(f64) -> String| {
                values
                    .as_ref()
                    .and_then(|values| values.get(name))
                    .map_or_else(|| "–".to_owned(), |v| show(*v))
            };
            let percent = |v: f64| format!("{v:.0}%");
            view! {
                <dl class="current-readings" aria-live="polite">
                    <div><dt>"CPU"</dt><dd>{reading("system.cpu.total_percent", percent)}</dd></div>
                    <div><dt>"Memory"</dt><dd>{reading("system.memory.used_bytes", format_bytes)}</dd></div>
                    <div><dt>"Received"</dt><dd>{reading("system.net.rx_bytes_per_s", |v| format!("{}/s", format_bytes(v)))}</dd></div>
                    <div><dt>"Sent"</dt><dd>{reading("system.net.tx_bytes_per_s", |v| format!("{}/s", format_bytes(v)))}</dd></div>
                    <div><dt>"As of"</dt><dd>{ts.map_or_else(|| "–".to_owned(), format_utc)}</dd></div>
                </dl>
            }
        }
    };

    view! {
        <div class="system-view">
            <div class="page-head">
                <h1>"System"</h1>
                <p class="page-sub">"The collector's host and process, and the services that report to it."</p>
            </div>
            {current}
            <div class="chart-grid">
                <section aria-labelledby="cpu-heading">
                    <h2 id="cpu-heading">"CPU"</h2>
                    <MonitorChart series=cpu unit=Unit::Ratio scale=100.0 label="CPU use over the range" />
                </section>
                <section aria-labelledby="memory-heading">
                    <h2 id="memory-heading">"Memory"</h2>
                    <MonitorChart series=memory unit=Unit::Ratio scale=100.0 label="Memory in use over the range" />
                </section>
                <section aria-labelledby="disk-heading">
                    <h2 id="disk-heading">"Disk"</h2>
                    <MonitorChart series=disk unit=Unit::Ratio scale=100.0 label="Disk space in use over the range" />
                </section>
                <section aria-labelledby="network-heading">
                    <h2 id="network-heading">"Network"</h2>
                    <MonitorChart series=network unit=Unit::BytesPerSecond label="Network traffic over the range" />
                </section>
            </div>
            <section class="summary-section" aria-labelledby="process-heading">
                <h2 id="process-heading">"Collector process memory"</h2>
                <MonitorChart
                    series=Signal::stored(vec![("Resident memory".to_owned(), "process.rss_bytes".to_owned())])
                    unit=Unit::Bytes
                    label="Resident memory of the collector process over the range"
                    height=160
                />
            </section>
            <section class="summary-section" aria-labelledby="sources-heading">
                <h2 id="sources-heading">"Reported by other services"</h2>
                {move || {
                    if sources.with(Vec::is_empty) {
                        view! { <p class="section-note">"No service has reported resources in this range."</p> }.into_any()
                    } else {
                        view! { <MonitorChart series=sources unit=Unit::Count label="Resources reported by other services" /> }.into_any()
                    }
                }}
            </section>
        </div>
    }
}
