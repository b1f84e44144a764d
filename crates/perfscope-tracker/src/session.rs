//! The browser session's id (in `sessionStorage`, so it lives as long as the tab), which
//! decides once per session whether it is measured.

use crate::entropy::random_bytes;
use crate::ids::hex;
use crate::sampling::is_sampled;
use web_sys::Window;

const SESSION_KEY: &str = "perfscope:session";

/// Whether this session is measured at `rate`. Without `sessionStorage` each page view
/// decides alone, which keeps the rate right on average.
pub(crate) fn is_measured(window: &Window, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    let storage = window.session_storage().ok().flatten();
    let stored = storage
        .as_ref()
        .and_then(|storage| storage.get_item(SESSION_KEY).ok().flatten());
    let id = stored.unwrap_or_else(|| {
        let id = hex(&random_bytes::<8>(window));
        if let Some(storage) = &storage {
            let _ = storage.set_item(SESSION_KEY, &id);
        }
        id
    });
    is_sampled(&id, rate)
}
