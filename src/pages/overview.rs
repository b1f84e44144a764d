//! The overview page: pick a site, see its Core Web Vitals and its API endpoints.

use crate::api;
use crate::components::{
    EmptyState, EndpointTable, ErrorPanel, SitePicker, SitePickerSkeleton, SummarySkeleton,
    VitalCard,
};
use crate::format::format_range;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use perfscope_model::{SiteInfo, Summary, VitalName};

#[component]
pub fn Overview() -> impl IntoView {
    let sites = LocalResource::new(api::fetch_sites);
    let query = use_query_map();
    let site_param = Memo::new(move |_| {
        query.with(|params| params.get("site").filter(|site| !site.trim().is_empty()))
    });
    let (sites_pending, set_sites_pending) = signal(false);

    view! {
        <div class="overview">
            <div class="page-head">
                <h1>"Overview"</h1>
                <p class="page-sub">"What real visitors experienced, measured in their browsers."</p>
            </div>
            <ErrorBoundary fallback=move |errors| {
                view! {
                    <ErrorPanel
                        title="Could not load the list of sites"
                        errors
                        on_retry=Callback::new(move |()| sites.refetch())
                        busy=sites_pending
                    />
                }
            }>
                <Transition
                    fallback=|| view! {
                        <div class="toolbar">
                            <SitePickerSkeleton />
                        </div>
                        <SummarySkeleton />
                    }
                    set_pending=set_sites_pending
                >
                    {move || Suspend::new(async move {
                        sites.await.map(|list| view! { <SiteOverview sites=list site_param /> })
                    })}
                </Transition>
            </ErrorBoundary>
        </div>
    }
}

/// Everything below the page heading once the list of sites is known.
#[component]
fn SiteOverview(sites: Vec<SiteInfo>, site_param: Memo<Option<String>>) -> impl IntoView {
    let first = sites.first().map(|info| info.site.clone());
    let selected = Memo::new(move |_| site_param.get().or_else(|| first.clone()));
    // Switching sites must not rebuild the summary (and its resource); only gaining or
    // losing a site to show does.
    let has_site = Memo::new(move |_| selected.with(Option::is_some));
    let site = Signal::derive(move || selected.get().unwrap_or_default());

    move || {
        if has_site.get() {
            Either::Left(view! {
                <div class="toolbar">
                    <SitePicker sites=sites.clone() selected=site />
                </div>
                <SiteSummary site />
            })
        } else {
            Either::Right(view! { <EmptyState lead="No data yet" kind="no-sites" /> })
        }
    }
}

#[component]
fn SiteSummary(site: Signal<String>) -> impl IntoView {
    let summary = LocalResource::new(move || {
        let site = site.get();
        async move { api::fetch_summary(&site).await }
    });
    let (pending, set_pending) = signal(false);

    view! {
        <section
            class="summary"
            class:is-updating=pending
            aria-busy=move || if pending.get() { "true" } else { "false" }
        >
            <p class="updating-badge" role="status">
                {move || pending.get().then_some("Updating…")}
            </p>
            <ErrorBoundary fallback=move |errors| {
                view! {
                    <ErrorPanel
                        title="Could not load this site's performance data"
                        errors
                        on_retry=Callback::new(move |()| summary.refetch())
                        busy=pending
                    />
                }
            }>
                <Transition fallback=|| view! { <SummarySkeleton /> } set_pending=set_pending>
                    {move || Suspend::new(async move {
                        summary.await.map(|summary| view! { <SummaryView summary /> })
                    })}
                </Transition>
            </ErrorBoundary>
        </section>
    }
}

#[component]
fn SummaryView(summary: Summary) -> impl IntoView {
    let Summary {
        site,
        from,
        to,
        vitals,
        endpoints,
    } = summary;
    let is_empty = endpoints.is_empty() && vitals.iter().all(|vital| vital.count == 0);

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
