//! Shows a resource's data once it is there, a placeholder before, and the failure in
//! words with a retry button when it failed.

use crate::api::ApiError;
use leptos::prelude::*;

/// `render` gets the data; `title` names what could not be loaded. The placeholder is
/// a few skeleton lines: for a panel at the end of its page, where growing moves nothing.
pub fn loaded<T, V>(
    title: &'static str,
    resource: LocalResource<Result<T, ApiError>>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    loaded_or(title, resource, panel_skeleton, render)
}

/// Like [`loaded`], with the placeholder the panel's loaded view would have, so that
/// what follows it stays where it was painted.
pub fn loaded_or<T, P, V>(
    title: &'static str,
    resource: LocalResource<Result<T, ApiError>>,
    placeholder: impl Fn() -> P + Send + Sync + 'static,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + 'static,
    P: IntoView + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => placeholder().into_any(),
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

/// A few skeleton lines: the placeholder of a panel whose loaded size is not known.
pub fn panel_skeleton() -> impl IntoView {
    view! {
        <div class="panel-loading" role="status">
            <span class="visually-hidden">"Loading…"</span>
            <p class="skeleton-line"></p>
            <p class="skeleton-line short"></p>
        </div>
    }
}
