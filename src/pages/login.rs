//! The login page: any API answering 401 leads here, and signing in returns to the
//! page the person was on (`?next=`).

use crate::api::{self, ApiError};
use crate::app::BASE;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

/// Only a path inside the dashboard is a place to return to; anything else (another
/// origin, a `javascript:` URL in a crafted link) goes to the overview.
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(next)
            if next.starts_with(BASE)
                && !next.starts_with("//")
                && !next.contains("\\")
                && !next.starts_with(&format!("{BASE}/login")) =>
        {
            next
        }
        _ => format!("{BASE}/"),
    }
}

/// The URL to come back to after signing in. The router's `search` comes without its
/// `?`, and losing it turned `/performance/?site=demo` into a path that does not exist.
pub fn return_path(pathname: &str, search: &str) -> String {
    match search.strip_prefix('?').unwrap_or(search) {
        "" => pathname.to_owned(),
        query => format!("{pathname}?{query}"),
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // Already signed in (a bookmarked login page, the back button): straight on.
    {
        let navigate = navigate.clone();
        spawn_local(async move {
            if api::fetch_session().await.is_ok() {
                let next = safe_next(query.get_untracked().get("next"));
                navigate(
                    &next,
                    NavigateOptions {
                        resolve: false,
                        ..Default::default()
                    },
                );
            }
        });
    }

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let next = safe_next(query.get_untracked().get("next"));
        let navigate = navigate.clone();
        let (user, pass) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match api::login(user, pass).await {
                Ok(_) => {
                    password.set(String::new());
                    navigate(
                        &next,
                        NavigateOptions {
                            resolve: false,
                            ..Default::default()
                        },
                    );
                }
                Err(ApiError::Unauthorized) => {
                    error.set(Some("Wrong user name or password.".to_owned()))
                }
                Err(err) => error.set(Some(err.to_string())),
            }
            busy.set(false);
        });
    };

    view! {
        <div class="login-view">
            <form class="login-form" on:submit=on_submit aria-labelledby="login-heading">
                <h1 id="login-heading">"Sign in"</h1>
                <p class="page-sub">"The dashboard's data is for administrators only."</p>
                <div class="field">
                    <label for="login-username">"User name"</label>
                    <input
                        id="login-username"
                        name="username"
                        autocomplete="username"
                        required=true
                        prop:value=username
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input
                        id="login-password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required=true
                        prop:value=password
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </div>
                <p class="login-error" role="alert">{move || error.get()}</p>
                <button type="submit" class="primary-button" disabled=busy>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_path_keeps_the_query() {
        assert_eq!(
            return_path("/performance/", "site=demo"),
            "/performance/?site=demo"
        );
        assert_eq!(
            return_path("/performance/pages", "?range=7d"),
            "/performance/pages?range=7d"
        );
        assert_eq!(return_path("/performance/cache", ""), "/performance/cache");
    }

    #[test]
    fn only_dashboard_paths_are_returned_to() {
        assert_eq!(
            safe_next(Some("/performance/pages?site=demo".into())),
            "/performance/pages?site=demo"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/performance",
            "javascript:alert(1)",
            "/performance/login?next=/x",
            "/other",
        ] {
            assert_eq!(safe_next(Some(bad.into())), "/performance/", "{bad}");
        }
        assert_eq!(safe_next(None), "/performance/");
    }
}
