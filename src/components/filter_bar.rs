//! The filter bar above every data view: site, time range (with custom bounds), device
//! class and route, all written to the URL; and the live-updates pause control.

use crate::filters::{Filters, RangeChoice};
use crate::live::use_live;
use crate::view_scope::{use_set_filters, use_view_scope};
use leptos::prelude::*;
use perfscope_model::DeviceClass;
use wasm_bindgen::JsValue;

#[component]
pub fn FilterBar() -> impl IntoView {
    let scope = use_view_scope();
    let live = use_live();
    let set_filters = use_set_filters();
    let filters = scope.filters;

    let update = {
        let set_filters = set_filters.clone();
        move |change: &dyn Fn(&mut Filters)| {
            let mut next = filters.get_untracked();
            change(&mut next);
            set_filters(next);
        }
    };

    let site_options = move || {
        let current = scope.site.get().unwrap_or_default();
        let mut names: Vec<String> = scope
            .sites
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|info| info.site)
            .collect();
        // A shared link may name a site without data (yet); it still shows as chosen.
        if !current.is_empty() && !names.contains(&current) {
            names.insert(0, current.clone());
        }
        names
            .into_iter()
            .map(|name| {
                let selected = name == current;
                let value = name.clone();
                view! { <option value=value selected=selected prop:selected=selected>{name}</option> }
            })
            .collect_view()
    };

    let on_site = {
        let update = update.clone();
        move |ev| {
            let value = event_target_value(&ev);
            update(&|f| f.site = Some(value.clone()));
        }
    };
    let on_range = {
        let update = update.clone();
        move |ev| {
            let key = event_target_value(&ev);
            update(&|f| {
                f.range = if key == "custom" {
                    let (from, to) = f.range.bounds(js_sys::Date::now() as i64);
                    RangeChoice::Custom { from, to }
                } else {
                    RangeChoice::PRESETS
                        .into_iter()
                        .find(|r| r.key() == key)
                        .unwrap_or(RangeChoice::Day)
                };
            });
        }
    };
    let on_bound = {
        let update = update.clone();
        move |is_from: bool, ev| {
            let Some(ms) = parse_local_datetime(&event_target_value(&ev)) else {
                return;
            };
            update(&|f| {
                if let RangeChoice::Custom { from, to } = f.range {
                    let (from, to) = if is_from { (ms, to) } else { (from, ms) };
                    if from < to {
                        f.range = RangeChoice::Custom { from, to };
                    }
                }
            });
        }
    };
    let on_from = {
        let on_bound = on_bound.clone();
        move |ev| on_bound(true, ev)
    };
    let on_to = move |ev| on_bound(false, ev);
    let on_device = {
        let update = update.clone();
        move |ev| {
            let value = event_target_value(&ev);
            update(&|f| f.device = DeviceClass::parse(&value));
        }
    };
    let on_route = move |ev| {
        let value = event_target_value(&ev).trim().to_owned();
        update(&|f| f.route = (!value.is_empty()).then(|| value.clone()));
    };

    let custom = move || match filters.get().range {
        RangeChoice::Custom { from, to } => Some((from, to)),
        _ => None,
    };

    view! {
        <form class="filter-bar" aria-label="Filters" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label for="filter-site">"Site"</label>
                <select id="filter-site" name="site" on:change=on_site>
                    {site_options}
                </select>
            </div>
            <div class="field">
                <label for="filter-range">"Range"</label>
                <select id="filter-range" name="range" on:change=on_range>
                    {RangeChoice::PRESETS
                        .into_iter()
                        .chain([RangeChoice::Custom { from: 0, to: 1 }])
                        .map(|choice| {
                            let selected = move || filters.get().range.key() == choice.key();
                            view! {
                                <option value=choice.key() selected=selected prop:selected=selected>
                                    {choice.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            {move || {
                custom()
                    .map(|(from, to)| {
                        view! {
                            <div class="field">
                                <label for="filter-from">"From"</label>
                                <input id="filter-from" type="datetime-local" value=format_local_datetime(from) on:change=on_from.clone() />
                            </div>
                            <div class="field">
                                <label for="filter-to">"To"</label>
                                <input id="filter-to" type="datetime-local" value=format_local_datetime(to) on:change=on_to.clone() />
                            </div>
                        }
                    })
            }}
            <div class="field">
                <label for="filter-device">"Device"</label>
                <select id="filter-device" name="device" on:change=on_device>
                    <option value="" selected=move || filters.get().device.is_none()>"All devices"</option>
                    {DeviceClass::ALL
                        .into_iter()
                        .map(|device| {
                            let selected = move || filters.get().device == Some(device);
                            view! {
                                <option value=device.as_str() selected=selected prop:selected=selected>
                                    {device.as_str()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-route">"Route"</label>
                <input
                    id="filter-route"
                    type="search"
                    name="route"
                    placeholder="/checkout"
                    prop:value=move || filters.get().route.unwrap_or_default()
                    on:change=on_route
                />
            </div>
            <button
                type="button"
                class="live-toggle"
                aria-pressed=move || if live.paused.get() { "true" } else { "false" }
                on:click=move |_| live.paused.update(|p| *p = !*p)
            >
                <span class="live-dot" class:is-on=move || live.connected.get() && !live.paused.get() aria-hidden="true"></span>
                {move || if live.paused.get() { "Live updates paused" } else { "Pause live updates" }}
            </button>
        </form>
    }
}

/// `<input type=datetime-local>` values are local wall-clock times.
fn parse_local_datetime(value: &str) -> Option<i64> {
    let ms = js_sys::Date::new(&JsValue::from_str(value)).get_time();
    ms.is_finite().then_some(ms as i64)
}

fn format_local_datetime(ms: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}
