//! The fallback for any path under /performance/ that names no page.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <div class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is no dashboard page at this address."</p>
            <p>
                <a href="/performance/">"Go to the overview"</a>
            </p>
        </div>
    }
}
