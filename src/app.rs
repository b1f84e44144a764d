//! The application shell: header, navigation and the routes under /performance.

use crate::pages::{NotFound, Overview};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

/// Where the server mounts the dashboard; it answers every deep link below it with
/// index.html, so the router owns everything after this prefix.
pub const BASE: &str = "/performance";

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router base=BASE>
            <Header />
            <main id="main" class="page">
                <Routes fallback=|| view! { <NotFound /> }>
                    // Matches both `/performance/` and `/performance` (checked in a browser).
                    <Route path=path!("/") view=Overview />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let location = use_location();
    let on_overview = move || {
        let path = location.pathname.get();
        let rest = path.strip_prefix(BASE).unwrap_or(&path);
        (rest.is_empty() || rest == "/").then_some("page")
    };
    view! {
        <header class="site-header">
            <a class="brand" href="/performance/">
                <img class="brand-mark" src="/performance/public/favicon.svg" alt="" width="24" height="24" />
                <span>"perfscope"</span>
            </a>
            <nav class="site-nav" aria-label="Main">
                <a href="/performance/" aria-current=on_overview>
                    "Overview"
                </a>
                // Outside the router's base: a full page load, not a client-side route.
                <a href="/demo" rel="external">
                    "Demo page"
                </a>
            </nav>
        </header>
    }
}
