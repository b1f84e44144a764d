//! The search field above a table: filters its rows as the person types.

use leptos::prelude::*;

#[component]
pub fn SearchBox(
    /// The input's id; the browser tests find the field by it.
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    search: RwSignal<String>,
) -> impl IntoView {
    view! {
        <div class="table-tools">
            <label for=id>{label}</label>
            <input
                id=id
                type="search"
                placeholder=placeholder
                on:input=move |ev| search.set(event_target_value(&ev))
                prop:value=search
            />
        </div>
    }
}
