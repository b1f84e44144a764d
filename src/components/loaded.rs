//! Shows a resource's data once it is there, a placeholder of the same size before, and
//! the failure in words with a retry button when it failed.

use crate::api::ApiError;
use leptos::prelude::*;

/// `render` gets the data; `title` names what could not be loaded.
pub fn loaded<T, V>(
    title: &'static str,
    resource: LocalResource<Result<T, ApiError>>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! {
            <div class="panel-loading" role="status">
                <span class="visually-hidden">"Loading…"</span>
                <p class="skeleton-line"></p>
                <p class="skeleton-line short"></p>
            </div>
        }
        .into_any(),
        Some(Ok(data)) => render(data).into_any(),
        Some(Err(err)) => view! {
            <div class="error-panel" role="alert">
                <h2 class="error-title">{title}</h2>
                <p class="error-message">{err.to_string()}</p>
                <button type="button" class="retry-button" on:click=move |_| resource.refetch()>
                    "Retry"
                </button>
            </div>
        }
        .into_any(),
    }
}
