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

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    console_error_panic_hook::set_once();

    // The dashboard measures itself with the same tracker it reports on: an empty
    // endpoint sends to the collector on this origin. A tracker that cannot start must
    // not keep the dashboard from rendering, so the failure only goes to the console.
    if let Err(err) = perfscope_tracker::start(TrackerConfig::new("perfscope-dashboard", "")) {
        leptos::logging::warn!("perfscope: the tracker did not start: {err:?}");
    }

    // index.html paints a static copy of the shell while the wasm loads. The app takes
    // its place one frame and one task later: mounting in the task that instantiated the
    // wasm would make it one long task, and would remove the shell before the browser
    // had recorded its paint as the largest contentful paint (its record is dropped with
    // the node), leaving the app's identical copy to count, after the wasm download.
    leptos::prelude::request_animation_frame(|| {
        leptos::prelude::set_timeout(mount, std::time::Duration::ZERO);
    });
}

/// Replaces the static shell by the app in one task, so the browser never lays out a
/// page with neither and nothing on screen counts as moved.
fn mount() {
    if let Some(shell) = leptos::prelude::document().get_element_by_id("app-shell") {
        shell.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
