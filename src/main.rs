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

use app::{App, MountStage};
use leptos::prelude::*;
use perfscope_tracker::TrackerConfig;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::PerformanceObserver;

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

    mount_once_the_shell_is_recorded();
}

/// index.html paints a static copy of the shell while the wasm loads. The app takes its
/// place once the browser has recorded that paint as the largest contentful paint:
/// removing the shell before (right after the first paint, with the wasm cached) drops
/// the record with the node and leaves the app's identical copy to count, later. Where
/// no record comes (a hidden tab, a browser without LCP), after a second. Never in the
/// task that instantiated the wasm, which would then be one long task.
fn mount_once_the_shell_is_recorded() {
    let mounted = Rc::new(Cell::new(false));
    let mount_once = move || {
        if !mounted.replace(true) {
            set_timeout(mount, Duration::ZERO);
        }
    };
    let on_record = {
        let mount_once = mount_once.clone();
        Closure::<dyn Fn(JsValue, PerformanceObserver)>::new(
            move |_entries: JsValue, observer: PerformanceObserver| {
                observer.disconnect();
                mount_once();
            },
        )
    };
    if let Ok(observer) = PerformanceObserver::new(on_record.as_ref().unchecked_ref()) {
        // `{type, buffered}`: web-sys's PerformanceObserverInit knows only `entryTypes`,
        // which cannot ask for entries recorded before the observer existed.
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"type".into(), &"largest-contentful-paint".into());
        let _ = js_sys::Reflect::set(&options, &"buffered".into(), &JsValue::TRUE);
        let observe = js_sys::Reflect::get(&observer, &"observe".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(observe) = observe {
            // A browser without LCP throws here; the timeout below mounts then.
            let _ = observe.call1(&observer, &options);
        }
    }
    on_record.forget();
    set_timeout(mount_once, Duration::from_secs(1));
}

/// Builds the app over three tasks, hidden behind the static shell, so that no task is
/// long on a slow phone: the frame (header, filter bar), then the view's content, then
/// the swap, which removes the shell and shows the app in one task so the browser never
/// lays out a page with neither and nothing on screen counts as moved.
fn mount() {
    let stage = RwSignal::new(MountStage::Frame);
    leptos::mount::mount_to_body(move || view! { <App stage=stage.read_only() /> });
    set_timeout(
        move || {
            stage.set(MountStage::Content);
            set_timeout(
                move || {
                    if let Some(shell) = document().get_element_by_id("app-shell") {
                        shell.remove();
                    }
                    stage.set(MountStage::Shown);
                },
                Duration::ZERO,
            );
        },
        Duration::ZERO,
    );
}
