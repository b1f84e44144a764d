//! What every view asks the collector about: the filters from the URL, the site they
//! resolve to, and the query parameters built from both, refreshed by live updates.

use crate::api::{self, ApiError, Params};
use crate::filters::Filters;
use crate::live::Live;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use perfscope_model::SiteInfo;
use std::future::IntoFuture;
use std::rc::Rc;

/// Query parameters the filter bar owns; any others (a detail page's `method`) are kept.
const FILTER_KEYS: [&str; 6] = ["site", "range", "from", "to", "device", "route"];

#[derive(Clone, Copy)]
pub struct ViewScope {
    pub filters: Memo<Filters>,
    pub sites: LocalResource<Result<Vec<SiteInfo>, ApiError>>,
    /// Whether the collector has answered with its sites (or failed to) at least once.
    pub sites_answered: Memo<bool>,
    /// The URL's site, or else the first site the collector knows.
    pub site: Memo<Option<String>>,
    /// The collector's scope parameters; `None` until a site is known. Recomputed (with
    /// a fresh "now") when the filters change or a live update arrives.
    pub params: Memo<Option<Params>>,
    /// The "now" the current `params` were computed at.
    pub now: Memo<i64>,
}

impl ViewScope {
    /// The chosen range as the charts' time axis: epoch ms, from → to.
    pub fn chart_range(self) -> Signal<(f64, f64)> {
        Signal::derive(move || {
            let (from, to) = self.filters.get().range.bounds(self.now.get());
            (from as f64, to as f64)
        })
    }
}

pub fn use_view_scope() -> ViewScope {
    expect_context::<ViewScope>()
}

pub fn provide_view_scope(live: Live) -> ViewScope {
    let query = use_query_map();
    let filters = Memo::new(move |_| query.with(|q| Filters::from_query(|name| q.get(name))));
    let location = use_location();
    // Asked again on every navigation (answered from the short cache mostly): after
    // signing in the list appears, and a new site shows up without a reload.
    let sites = LocalResource::new(move || {
        location.pathname.track();
        api::fetch_sites()
    });
    let sites_answered = Memo::new(move |_| sites.get().is_some());
    let site = Memo::new(move |_| {
        filters.with(|f| f.site.clone()).or_else(|| {
            sites
                .get()
                .and_then(|list| list.ok())
                .and_then(|list| list.first().map(|info| info.site.clone()))
        })
    });
    Effect::new(move |_| live.site.set(site.get()));
    let now = Memo::new(move |_| {
        live.version.track();
        filters.track();
        js_sys::Date::now() as i64
    });
    let params = Memo::new(move |_| {
        let now = now.get();
        site.get()
            .map(|site| filters.with(|f| f.api_params(&site, now)))
    });
    let scope = ViewScope {
        filters,
        sites,
        sites_answered,
        site,
        params,
        now,
    };
    provide_context(scope);
    scope
}

/// Returns a function that puts `filters` into the URL (a new history entry, so back
/// restores the previous view), keeping the query parameters that are not filters.
pub fn use_set_filters() -> impl Fn(Filters) + Clone + Send + Sync + 'static {
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    move |filters: Filters| {
        let mut params = query.get_untracked();
        for key in FILTER_KEYS {
            params.remove(key);
        }
        for (key, value) in filters.to_query() {
            params.replace(key, value);
        }
        // The pathname already carries the router's base, so it is not resolved again
        // (that would land on /performance/performance/).
        let url = format!(
            "{}{}",
            location.pathname.get_untracked(),
            params.to_query_string()
        );
        navigate(
            &url,
            NavigateOptions {
                resolve: false,
                ..Default::default()
            },
        );
    }
}

/// `/performance{path}` with the current query, for links that keep the filters.
pub fn use_href(path: &'static str) -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || {
        let mut params = query.get();
        params.remove("method");
        params.remove("path");
        format!("{}{path}{}", crate::app::BASE, params.to_query_string())
    })
}

/// A resource over the current scope: `Ok(None)` when no site is known (the collector
/// has no data yet), refetched whenever the filters change or a live update arrives.
/// While the list of sites is still on its way it stays loading: answering "no data"
/// then would paint a notice that the data replaces a moment later.
pub fn scoped_resource<T, Fut>(
    fetch: impl Fn(Params) -> Fut + 'static,
) -> LocalResource<Result<Option<T>, ApiError>>
where
    T: 'static,
    Fut: std::future::Future<Output = Result<T, ApiError>> + 'static,
{
    let scope = use_view_scope();
    let fetch = Rc::new(fetch);
    LocalResource::new(move || {
        let params = scope.params.get();
        // Short-circuits, so the sites are only tracked while they decide the answer.
        let sites_answer =
            (params.is_none() && !scope.sites_answered.get()).then(|| scope.sites.into_future());
        let fetch = Rc::clone(&fetch);
        async move {
            // A resource finishes one answer before it asks again, so this one waits
            // for the sites and then asks with the site they give, itself.
            let params = match sites_answer {
                Some(answer) => {
                    // Failed too: `params` stays `None` and the view says so.
                    let _sites = answer.await;
                    scope.params.get_untracked()
                }
                None => params,
            };
            match params {
                Some(params) => fetch(params).await.map(Some),
                None => Ok(None),
            }
        }
    })
}
