//! What an `<ErrorBoundary>` shows instead of data: the reason in words, and a way to retry.

use leptos::error::Errors;
use leptos::prelude::*;

#[component]
pub fn ErrorPanel(
    /// What could not be loaded, e.g. "Could not load the list of sites".
    title: &'static str,
    errors: ArcRwSignal<Errors>,
    on_retry: Callback<()>,
    /// True while the retried request is in flight, so a second click does not stack up.
    #[prop(into)]
    busy: Signal<bool>,
) -> impl IntoView {
    let messages = move || {
        let mut messages: Vec<String> =
            errors.with(|errors| errors.iter().map(|(_, err)| err.to_string()).collect());
        messages.dedup();
        messages
            .into_iter()
            .map(|message| view! { <p class="error-message">{message}</p> })
            .collect_view()
    };
    view! {
        <div class="error-panel" role="alert">
            <h2 class="error-title">{title}</h2>
            {messages}
            <button
                type="button"
                class="retry-button"
                disabled=move || busy.get()
                on:click=move |_| on_retry.run(())
            >
                {move || if busy.get() { "Retrying…" } else { "Retry" }}
            </button>
        </div>
    }
}
