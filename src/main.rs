//! Entry point of the perfscope dashboard: a client-side Leptos app served under /performance/.

mod api;
mod app;
mod chart_data;
mod charts;
mod components;
mod distribution;
mod filters;
mod format;
mod live;
mod pages;
mod route_table;
mod score;
mod table_sort;
mod view_scope;

use perfscope_tracker::TrackerConfig;

fn main() {
    console_error_panic_hook::set_once();

    // The dashboard measures itself with the same tracker it reports on: an empty
    // endpoint sends to the collector on this origin. A tracker that cannot start must
    // not keep the dashboard from rendering, so the failure only goes to the console.
    if let Err(err) = perfscope_tracker::start(TrackerConfig::new("perfscope-dashboard", "")) {
        leptos::logging::warn!("perfscope: the tracker did not start: {err:?}");
    }

    leptos::mount::mount_to_body(app::App);
}
