//! One route in detail: the distribution of a chosen vital's values, and what the
//! browsers blamed (top LCP elements, CLS sources, INP targets).

use crate::api;
use crate::charts::{Histogram, Unit};
use crate::components::{loaded, loaded_or};
use crate::distribution::histogram;
use crate::format::format_count;
use crate::view_scope::{scoped_resource, use_view_scope};
use leptos::prelude::*;
use perfscope_model::{TargetSummary, VitalName};

const BARS: usize = 24;

#[component]
pub fn PageDetail() -> impl IntoView {
    let scope = use_view_scope();
    let route = Memo::new(move |_| scope.filters.get().route);
    let metric = RwSignal::new(VitalName::Lcp);

    let samples = scoped_resource(move |params| {
        let name = metric.get();
        async move {
            let samples = api::fetch_samples(params, name).await?;
            let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
            Ok((name, values.len(), histogram(name, &values, BARS)))
        }
    });
    let bars = Signal::derive(move || {
        samples
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|(_, _, bars)| bars)
            .unwrap_or_default()
    });

    let tabs = VitalName::ALL
        .into_iter()
        .map(|name| {
            view! {
                <button
                    type="button"
                    class="tab"
                    aria-pressed=move || if metric.get() == name { "true" } else { "false" }
                    on:click=move |_| metric.set(name)
                >
                    {name.as_str()}
                </button>
            }
        })
        .collect_view();

    view! {
        <div class="page-detail">
            <div class="page-head">
                <h1>
                    "Page "
                    <code class="route-name">
                        {move || route.get().unwrap_or_else(|| "(all routes)".to_owned())}
                    </code>
                </h1>
                <p class="page-sub">
                    <a href=crate::view_scope::use_href("/pages")>"All pages"</a>
                </p>
            </div>
            <section class="summary-section" aria-labelledby="distribution-heading">
                <h2 id="distribution-heading">"Distribution"</h2>
                <div class="tabs" role="group" aria-label="Vital">{tabs}</div>
                {move || {
                    let name = metric.get();
                    let unit = if name.is_duration() { Unit::Milliseconds } else { Unit::Score };
                    view! {
                        <Histogram bars unit label=format!("Distribution of {} values", name.as_str()) />
                    }
                }}
                {loaded_or(
                    "Could not load the samples",
                    samples,
                    || view! { <p class="section-note"><span class="skeleton-line short"></span></p> },
                    |data| {
                        let text = match data {
                            Some((name, count, _)) => {
                                format!("{} newest {} samples", format_count(count as u64), name.as_str())
                            }
                            None => "No data yet".to_owned(),
                        };
                        view! { <p class="section-note sample-count">{text}</p> }
                    },
                )}
            </section>
            <section class="summary-section" aria-labelledby="attribution-heading">
                <h2 id="attribution-heading">"Attribution"</h2>
                <div class="attribution-grid">
                    <Targets name=VitalName::Lcp title="Top LCP elements" />
                    <Targets name=VitalName::Cls title="CLS sources" />
                    <Targets name=VitalName::Inp title="INP targets" />
                </div>
            </section>
        </div>
    }
}

#[component]
fn Targets(name: VitalName, title: &'static str) -> impl IntoView {
    let targets = scoped_resource(move |params| api::fetch_targets(params, name));
    view! {
        <div class="attribution" data-metric=name.as_str()>
            <h3>{title}</h3>
            {loaded(
                "Could not load the attribution",
                targets,
                move |targets| target_table(name, targets.unwrap_or_default()),
            )}
        </div>
    }
}

fn target_table(name: VitalName, targets: Vec<TargetSummary>) -> impl IntoView {
    if targets.is_empty() {
        return view! { <p class="section-note">"Nothing attributed in this range."</p> }
            .into_any();
    }
    view! {
        <table class="data-table target-table">
            <thead>
                <tr>
                    <th scope="col">"Target"</th>
                    <th scope="col" class="num">"Samples"</th>
                    <th scope="col" class="num">"p75"</th>
                </tr>
            </thead>
            <tbody>
                {targets
                    .into_iter()
                    .map(|t| {
                        view! {
                            <tr class="target-row">
                                // Selectors come from visitors' pages: text only, never markup.
                                <td class="target-cell">
                                    <code>{t.target}</code>
                                </td>
                                <td class="num">{format_count(t.count)}</td>
                                <td class="num">{name.format(t.p75)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
