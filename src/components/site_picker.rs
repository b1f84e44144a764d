//! The site selector; the chosen site lives in the URL (`?site=`) so a view can be shared.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use perfscope_model::SiteInfo;

#[component]
pub fn SitePicker(
    sites: Vec<SiteInfo>,
    /// The site on screen: the URL's choice, or the first known site.
    #[prop(into)]
    selected: Signal<String>,
) -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();

    let on_change = move |ev| {
        let mut params = query.get_untracked();
        params.replace("site", event_target_value(&ev));
        // `query_signal` would be the obvious tool, but it resolves the full pathname
        // against the router base again and lands on /performance/performance/. The
        // pathname already carries the base, so it is navigated to unresolved.
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
    };

    let known: Vec<String> = sites.into_iter().map(|info| info.site).collect();
    let options = move || {
        let current = selected.get();
        let mut names = known.clone();
        // A shared link may name a site that has no data in the list (yet); it still has
        // to show as the current choice.
        if !current.is_empty() && !names.contains(&current) {
            names.insert(0, current.clone());
        }
        names
            .into_iter()
            .map(|name| {
                let is_current = name == current;
                let value = name.clone();
                view! {
                    <option value=value selected=is_current prop:selected=is_current>
                        {name}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <div class="site-picker">
            <label for="site-picker">"Site"</label>
            <select id="site-picker" name="site" on:change=on_change>
                {options}
            </select>
        </div>
    }
}
