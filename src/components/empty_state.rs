//! The notice shown where data would be, pointing at the demo page that produces some.

use leptos::prelude::*;

/// `lead` is the sentence before the link, e.g. "No data yet for this site".
#[component]
pub fn EmptyState(lead: &'static str, kind: &'static str) -> impl IntoView {
    view! {
        <div class="empty-state" data-empty=kind role="status">
            <p>
                {lead} " — open "
                // The demo page lives outside the router's base: load it for real.
                <a href="/demo" rel="external">
                    "/demo"
                </a> " to send some."
            </p>
        </div>
    }
}
