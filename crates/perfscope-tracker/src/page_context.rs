//! The circumstances of a page view (`PageContext`): how it started, on what device,
//! over what connection, in how large a viewport.

use crate::browser::{navigation_entry, number_property, property};
use perfscope_model::{ConnectionType, DeviceClass, NavigationType, PageContext};
use web_sys::{Document, Performance, Window};

/// From the navigation entry's `type`, as `web-vitals` names it: a page shown from a
/// prerender is `prerender` whatever its entry says.
pub fn navigation_type(
    entry_type: Option<&str>,
    activation_start_ms: f64,
    prerendering: bool,
) -> NavigationType {
    if prerendering || activation_start_ms > 0.0 {
        return NavigationType::Prerender;
    }
    match entry_type {
        Some("reload") => NavigationType::Reload,
        Some("back_forward") => NavigationType::BackForward,
        Some("prerender") => NavigationType::Prerender,
        _ => NavigationType::Navigate,
    }
}

/// Viewport width in CSS pixels (the breakpoints most sites design for), sharpened by the
/// browser's own mobile hint (`navigator.userAgentData.mobile`) and touch support.
pub fn device_class(
    viewport_width: u32,
    mobile_hint: Option<bool>,
    touch_points: u32,
) -> DeviceClass {
    if viewport_width == 0 {
        return match mobile_hint {
            Some(true) => DeviceClass::Mobile,
            _ => DeviceClass::Unknown,
        };
    }
    if mobile_hint == Some(true) || (viewport_width < 768 && touch_points > 0) {
        return DeviceClass::Mobile;
    }
    if viewport_width < 1280 && touch_points > 0 {
        return DeviceClass::Tablet;
    }
    if viewport_width < 600 {
        // A narrow desktop window is still a desktop, but without touch or hint we
        // cannot tell; narrow without touch is most often a phone emulator or webview.
        return DeviceClass::Mobile;
    }
    DeviceClass::Desktop
}

fn pixels(window: &Window, key: &str) -> u32 {
    number_property(window, key)
        .filter(|px| px.is_finite() && *px >= 0.0)
        .map_or(0, |px| px.min(100_000.0) as u32)
}

/// The context of the page view starting now; `navigation_type` is decided by the caller
/// for soft navigations and back/forward-cache restores.
pub(crate) fn read(window: &Window, navigation_type: NavigationType) -> PageContext {
    let viewport_width = pixels(window, "innerWidth");
    let viewport_height = pixels(window, "innerHeight");
    let navigator = window.navigator();
    let mobile_hint = property(&navigator, "userAgentData")
        .and_then(|data| property(&data, "mobile"))
        .and_then(|mobile| mobile.as_bool());
    let touch_points =
        number_property(&navigator, "maxTouchPoints").map_or(0, |n| n.max(0.0) as u32);
    let connection = property(&navigator, "connection")
        .and_then(|connection| property(&connection, "effectiveType"))
        .and_then(|kind| kind.as_string())
        .and_then(|kind| ConnectionType::parse(&kind))
        .unwrap_or_default();
    PageContext {
        navigation_type,
        device: device_class(viewport_width, mobile_hint, touch_points),
        connection,
        viewport_width,
        viewport_height,
    }
}

/// How the document's first page view started.
pub(crate) fn initial_navigation_type(
    performance: &Performance,
    document: &Document,
) -> NavigationType {
    let entry = navigation_entry(performance);
    let entry_type = entry
        .as_ref()
        .and_then(|entry| property(entry, "type"))
        .and_then(|kind| kind.as_string());
    let prerendering = property(document, "prerendering").and_then(|p| p.as_bool()) == Some(true);
    navigation_type(
        entry_type.as_deref(),
        crate::browser::activation_start(performance),
        prerendering,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigation_types_follow_the_entry_and_prerender_wins() {
        assert_eq!(
            navigation_type(Some("navigate"), 0.0, false),
            NavigationType::Navigate
        );
        assert_eq!(
            navigation_type(Some("reload"), 0.0, false),
            NavigationType::Reload
        );
        assert_eq!(
            navigation_type(Some("back_forward"), 0.0, false),
            NavigationType::BackForward
        );
        assert_eq!(
            navigation_type(Some("reload"), 12.5, false),
            NavigationType::Prerender
        );
        assert_eq!(navigation_type(None, 0.0, true), NavigationType::Prerender);
        assert_eq!(navigation_type(None, 0.0, false), NavigationType::Navigate);
    }

    #[test]
    fn device_classes_come_from_width_touch_and_hint() {
        assert_eq!(device_class(390, Some(true), 5), DeviceClass::Mobile);
        assert_eq!(device_class(390, None, 5), DeviceClass::Mobile);
        assert_eq!(device_class(1024, Some(false), 5), DeviceClass::Tablet);
        assert_eq!(device_class(1280, Some(false), 0), DeviceClass::Desktop);
        assert_eq!(device_class(1920, None, 10), DeviceClass::Desktop);
        assert_eq!(device_class(500, None, 0), DeviceClass::Mobile);
        assert_eq!(device_class(0, None, 0), DeviceClass::Unknown);
    }
}
