//! Bundle size monitoring and heap: the transfer size of every script and stylesheet the
//! page loads (Resource Timing), and a JS heap reading (`performance.memory`, Chromium)
//! when the page is hidden.

use crate::browser::{number_property, property};
use crate::entry_observer::observe;
use crate::measurement::Measurement;
use crate::pipeline::record;
use crate::url_path::strip_query_and_fragment;
use js_sys::Array;
use perfscope_model::{AssetEvent, AssetKind, MemoryEvent};
use std::cell::Cell;
use std::rc::Rc;
use web_sys::Performance;

/// Sites with hundreds of chunks would flood batches; the biggest are loaded first anyway.
const MAX_ASSETS: u32 = 100;

/// What kind of asset a resource is, from how it was requested and what its URL says.
pub fn asset_kind(initiator_type: &str, url: &str) -> Option<AssetKind> {
    let path = strip_query_and_fragment(url);
    if initiator_type == "script" || path.ends_with(".js") || path.ends_with(".mjs") {
        return Some(AssetKind::Script);
    }
    if initiator_type == "css" || path.ends_with(".css") {
        return Some(AssetKind::Style);
    }
    (initiator_type == "link" && path.ends_with(".css")).then_some(AssetKind::Style)
}

pub(crate) fn install_assets() -> Option<()> {
    let reported = Rc::new(Cell::new(0u32));
    observe("resource", None, move |entries: Array| {
        for entry in entries.iter() {
            let initiator = property(&entry, "initiatorType")
                .and_then(|kind| kind.as_string())
                .unwrap_or_default();
            let Some(url) = property(&entry, "name").and_then(|name| name.as_string()) else {
                continue;
            };
            let Some(kind) = asset_kind(&initiator, &url) else {
                continue;
            };
            if reported.get() >= MAX_ASSETS {
                return;
            }
            reported.set(reported.get() + 1);
            let url: String = strip_query_and_fragment(&url).chars().take(2048).collect();
            let bytes = |key| number_property(&entry, key).unwrap_or(0.0).max(0.0) as u64;
            let (transfer_size, decoded_size) = (bytes("transferSize"), bytes("decodedBodySize"));
            let start = number_property(&entry, "startTime").unwrap_or(0.0);
            record(start, move |id, ts| {
                Measurement::asset(&AssetEvent {
                    id,
                    ts,
                    kind,
                    url,
                    transfer_size,
                    decoded_size,
                })
            });
        }
    })
    .map(drop)
}

/// One heap reading, where the browser exposes `performance.memory`.
pub(crate) fn record_memory(performance: &Performance) {
    let Some(memory) = property(performance, "memory") else {
        return;
    };
    let bytes = |key| number_property(&memory, key).unwrap_or(0.0).max(0.0) as u64;
    let (used, total, limit) = (
        bytes("usedJSHeapSize"),
        bytes("totalJSHeapSize"),
        bytes("jsHeapSizeLimit"),
    );
    record(performance.now(), move |id, ts| {
        Measurement::memory(&MemoryEvent {
            id,
            ts,
            used_js_heap: used,
            total_js_heap: total,
            js_heap_limit: limit,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_styles_are_told_apart_and_the_rest_ignored() {
        assert_eq!(
            asset_kind("script", "https://x/app"),
            Some(AssetKind::Script)
        );
        assert_eq!(
            asset_kind("other", "https://x/a.mjs?v=2"),
            Some(AssetKind::Script)
        );
        assert_eq!(
            asset_kind("link", "https://x/site.css"),
            Some(AssetKind::Style)
        );
        assert_eq!(
            asset_kind("css", "https://x/font-face"),
            Some(AssetKind::Style)
        );
        assert_eq!(asset_kind("img", "https://x/hero.svg"), None);
        assert_eq!(asset_kind("fetch", "https://x/api/items"), None);
    }
}
