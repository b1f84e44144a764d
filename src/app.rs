//! The application shell: header, navigation, filter bar and the routes under /performance.

use crate::api;
use crate::components::FilterBar;
use crate::live::provide_live;
use crate::pages::{
    return_path, Alerts, ApiCalls, Cache, EndpointDetail, Login, NotFound, Overview, PageDetail,
    PagesList, System, Trends,
};
use crate::view_scope::{provide_view_scope, use_href};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::{path, NavigateOptions};

/// Where the server mounts the dashboard; it answers every deep link below it with
/// index.html, so the router owns everything after this prefix.
pub const BASE: &str = "/performance";

/// The views in the navigation, in order: path below [`BASE`] and name.
const NAV: [(&str, &str); 7] = [
    ("/", "Overview"),
    ("/pages", "Pages"),
    ("/api-calls", "API calls"),
    ("/cache", "Cache"),
    ("/system", "System"),
    ("/alerts", "Alerts"),
    ("/trends", "Trends"),
];

/// How far the first mount has got (main.rs moves it on, one task per stage).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MountStage {
    /// Header and filter bar built, hidden behind index.html's static shell.
    Frame,
    /// The view's content built too, still hidden.
    Content,
    /// The static shell gone and the app on screen.
    Shown,
}

#[component]
pub fn App(stage: ReadSignal<MountStage>) -> impl IntoView {
    view! {
        <Router base=BASE>
            <Shell stage />
        </Router>
    }
}

#[component]
fn Shell(stage: ReadSignal<MountStage>) -> impl IntoView {
    let live = provide_live();
    provide_view_scope(live);
    let location = use_location();
    let navigate = use_navigate();

    // A 401 from any API: to the login page, remembering where the person was.
    api::set_unauthorized_handler(move || {
        let here = return_path(
            &location.pathname.get_untracked(),
            &location.search.get_untracked(),
        );
        if here.starts_with(&format!("{BASE}/login")) {
            return;
        }
        let next = String::from(js_sys::encode_uri_component(&here));
        navigate(
            &format!("{BASE}/login?next={next}"),
            NavigateOptions {
                resolve: false,
                ..Default::default()
            },
        );
    });

    let on_login = Memo::new(move |_| {
        location
            .pathname
            .get()
            .starts_with(&format!("{BASE}/login"))
    });

    let content_built = move || stage.get() >= MountStage::Content;
    let still_hidden = move || stage.get() < MountStage::Shown;

    view! {
        <div class="app-root" hidden=still_hidden>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header on_login />
            <main id="main" class="page" tabindex="-1">
                <Show when=move || !on_login.get()>
                    <FilterBar />
                </Show>
                <Show when=content_built>
                    <Routes fallback=|| view! { <NotFound /> }>
                        // Matches both `/performance/` and `/performance` (checked in a browser).
                        <Route path=path!("/") view=Overview />
                        <Route path=path!("/pages") view=PagesList />
                        <Route path=path!("/pages/detail") view=PageDetail />
                        <Route path=path!("/api-calls") view=ApiCalls />
                        <Route path=path!("/api-calls/detail") view=EndpointDetail />
                        <Route path=path!("/cache") view=Cache />
                        <Route path=path!("/system") view=System />
                        <Route path=path!("/alerts") view=Alerts />
                        <Route path=path!("/trends") view=Trends />
                        <Route path=path!("/login") view=Login />
                    </Routes>
                </Show>
            </main>
        </div>
    }
}

#[component]
fn Header(on_login: Memo<bool>) -> impl IntoView {
    let location = use_location();
    let navigate = use_navigate();
    let links = NAV
        .into_iter()
        .map(|(path, name)| {
            let href = use_href(path);
            let current = move || {
                let pathname = location.pathname.get();
                let rest = pathname.strip_prefix(BASE).unwrap_or(&pathname);
                let rest = if rest.is_empty() { "/" } else { rest };
                let here = if path == "/" {
                    rest == "/"
                } else {
                    rest == path || rest.starts_with(&format!("{path}/"))
                };
                here.then_some("page")
            };
            view! {
                <a href=href aria-current=current>
                    {name}
                </a>
            }
        })
        .collect_view();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        spawn_local(async move {
            // Signed out or not, the login page is where this ends.
            let _ = api::logout().await;
            api::clear_cache();
            navigate(
                &format!("{BASE}/login"),
                NavigateOptions {
                    resolve: false,
                    ..Default::default()
                },
            );
        });
    };
    view! {
        <header class="site-header">
            <a class="brand" href="/performance/">
                <img class="brand-mark" src="/performance/public/favicon.svg" alt="" width="24" height="24" />
                <span>"perfscope"</span>
            </a>
            <nav class="site-nav" aria-label="Main">
                {links}
                // Outside the router's base: a full page load, not a client-side route.
                <a href="/demo" rel="external">
                    "Demo page"
                </a>
            </nav>
            <Show when=move || !on_login.get()>
                <button type="button" class="sign-out" on:click=sign_out.clone()>
                    "Sign out"
                </button>
            </Show>
        </header>
    }
}
