//! The browser side of a chart's canvas: its size in CSS and device pixels (kept in step
//! by a ResizeObserver), the theme colours from CSS custom properties, and local time.

use super::palette::{parse_css_colour, Rgb};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, ResizeObserver, ResizeObserverEntry};

/// The canvas's layout size and the screen's pixel density at the last resize.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Surface {
    pub css_width: f64,
    pub css_height: f64,
    pub device_pixel_ratio: f64,
}

impl Surface {
    /// CSS pixels to backing-store pixels.
    pub fn px(&self, css: f64) -> i32 {
        (css * self.device_pixel_ratio).round() as i32
    }

    /// Sizes the backing store to CSS size × devicePixelRatio, so one canvas pixel is one
    /// screen pixel and lines stay sharp. Assigning the size also clears the canvas.
    pub fn apply_to(&self, canvas: &HtmlCanvasElement) {
        canvas.set_width(self.px(self.css_width).max(1) as u32);
        canvas.set_height(self.px(self.css_height).max(1) as u32);
    }
}

/// The canvas's size, updated whenever its box changes (window resize, a sidebar
/// opening, zoom changing the pixel ratio). `None` until the canvas is laid out.
pub fn use_surface(canvas: NodeRef<leptos::html::Canvas>) -> ReadSignal<Option<Surface>> {
    let (surface, set_surface) = signal(None::<Surface>);
    // Zoom changes devicePixelRatio and the CSS size together, so the observer sees it.
    let on_resize = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let Some(entry) = entries.get(0).dyn_into::<ResizeObserverEntry>().ok() else {
            return;
        };
        let rect = entry.content_rect();
        let next = Surface {
            css_width: rect.width(),
            css_height: rect.height(),
            device_pixel_ratio: window().device_pixel_ratio().max(1.0),
        };
        if next.css_width > 0.0 && next.css_height > 0.0 {
            set_surface.set(Some(next));
        }
    });
    let observer = match ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
        Ok(observer) => observer,
        Err(err) => {
            leptos::logging::warn!("perfscope: no ResizeObserver, charts stay blank: {err:?}");
            return surface;
        }
    };
    // The observer and its callback live until the chart is removed; the callback must
    // outlive the observer, so both are kept together.
    let observer = Rc::new((observer, on_resize));
    let observing = SendWrapper::new(Rc::clone(&observer));
    Effect::new(move |_| {
        if let Some(element) = canvas.get() {
            observing.0.observe(&element);
        }
    });
    let observer = SendWrapper::new(observer);
    on_cleanup(move || observer.0.disconnect());
    surface
}

/// The colours the charts draw with, from the custom properties of style/charts.css as
/// computed for `element`, so the prefers-color-scheme rules there apply.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Colours {
    pub text: Rgb,
    pub grid: Rgb,
    pub axis: Rgb,
    pub series: [Rgb; 4],
    pub good: Rgb,
    pub needs_improvement: Rgb,
    pub poor: Rgb,
}

impl Colours {
    pub fn of(element: &web_sys::Element) -> Colours {
        let style = window().get_computed_style(element).ok().flatten();
        let read = |name: &str, fallback: Rgb| {
            style
                .as_ref()
                .and_then(|style| style.get_property_value(name).ok())
                .and_then(|value| parse_css_colour(&value))
                .unwrap_or(fallback)
        };
        Colours {
            text: read("--chart-text", Rgb(79, 86, 99)),
            grid: read("--chart-grid", Rgb(226, 229, 234)),
            axis: read("--chart-axis", Rgb(160, 167, 178)),
            series: [
                read("--chart-1", Rgb(31, 95, 204)),
                read("--chart-2", Rgb(196, 90, 0)),
                read("--chart-3", Rgb(122, 62, 175)),
                read("--chart-4", Rgb(0, 128, 128)),
            ],
            good: read("--chart-good", Rgb(11, 122, 54)),
            needs_improvement: read("--chart-ni", Rgb(138, 83, 0)),
            poor: read("--chart-poor", Rgb(179, 38, 30)),
        }
    }
}

/// The viewer's offset from UTC in milliseconds, east positive, for time labels in
/// local time.
pub fn utc_offset_ms() -> f64 {
    -js_sys::Date::new_0().get_timezone_offset() * 60_000.0
}

/// Fires whenever the system switches between light and dark, so charts redraw with
/// the other theme's colours (the CSS switches on its own; a canvas does not).
pub fn use_theme_changes() -> ReadSignal<u32> {
    let (changes, set_changes) = signal(0u32);
    let Ok(Some(query)) = window().match_media("(prefers-color-scheme: dark)") else {
        return changes;
    };
    let on_change = Closure::<dyn Fn()>::new(move || set_changes.update(|n| *n += 1));
    if query
        .add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref())
        .is_err()
    {
        return changes;
    }
    let listener = SendWrapper::new((query, on_change));
    on_cleanup(move || {
        let (query, on_change) = &*listener;
        let _ =
            query.remove_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
    });
    changes
}
