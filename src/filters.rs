//! The dashboard's filters (site, time range, device class, route) and their place in the
//! URL query, so a view can be shared and back/forward restores it.

use perfscope_model::DeviceClass;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The time ranges the range picker offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeChoice {
    Hour,
    Day,
    Week,
    Month,
    /// Fixed bounds, milliseconds since the Unix epoch.
    Custom {
        from: i64,
        to: i64,
    },
}

impl RangeChoice {
    pub const PRESETS: [RangeChoice; 4] = [
        RangeChoice::Hour,
        RangeChoice::Day,
        RangeChoice::Week,
        RangeChoice::Month,
    ];

    /// The `range=` value in the URL.
    pub fn key(self) -> &'static str {
        match self {
            RangeChoice::Hour => "1h",
            RangeChoice::Day => "24h",
            RangeChoice::Week => "7d",
            RangeChoice::Month => "30d",
            RangeChoice::Custom { .. } => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RangeChoice::Hour => "Last hour",
            RangeChoice::Day => "Last 24 hours",
            RangeChoice::Week => "Last 7 days",
            RangeChoice::Month => "Last 30 days",
            RangeChoice::Custom { .. } => "Custom range",
        }
    }

    /// `(from, to)` at `now_ms`. `now_ms` is rounded to 10 s so that views opened
    /// together ask identical questions and share the answers; up, not down, because an
    /// event from the last few seconds must be in "the last hour" the moment a view opens.
    pub fn bounds(self, now_ms: i64) -> (i64, i64) {
        let to = now_ms + (10_000 - now_ms.rem_euclid(10_000)) % 10_000;
        match self {
            RangeChoice::Hour => (to - HOUR_MS, to),
            RangeChoice::Day => (to - DAY_MS, to),
            RangeChoice::Week => (to - 7 * DAY_MS, to),
            RangeChoice::Month => (to - 30 * DAY_MS, to),
            RangeChoice::Custom { from, to } => (from, to),
        }
    }
}

/// Every filter of the dashboard, as read from and written to the URL query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filters {
    /// `None`: the first site the collector knows.
    pub site: Option<String>,
    pub range: RangeChoice,
    pub device: Option<DeviceClass>,
    pub route: Option<String>,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            site: None,
            range: RangeChoice::Day,
            device: None,
            route: None,
        }
    }
}

impl Filters {
    /// Reads the filters from query parameters; anything unreadable (a hand-edited or
    /// truncated link) falls back to the default rather than failing the view.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Filters {
        let text = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        let range = match text("range").as_deref() {
            Some("custom") => {
                let bound = |name: &str| text(name).and_then(|v| v.parse::<i64>().ok());
                match (bound("from"), bound("to")) {
                    (Some(from), Some(to)) if 0 <= from && from < to => {
                        RangeChoice::Custom { from, to }
                    }
                    _ => RangeChoice::Day,
                }
            }
            Some(key) => RangeChoice::PRESETS
                .into_iter()
                .find(|r| r.key() == key)
                .unwrap_or(RangeChoice::Day),
            None => RangeChoice::Day,
        };
        Filters {
            site: text("site"),
            range,
            device: text("device").and_then(|d| DeviceClass::parse(&d)),
            route: text("route").filter(|r| r.starts_with('/') || r == "other"),
        }
    }

    /// The query parameters that differ from the defaults, in a stable order.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(site) = &self.site {
            params.push(("site", site.clone()));
        }
        match self.range {
            RangeChoice::Day => {}
            RangeChoice::Custom { from, to } => {
                params.push(("range", "custom".to_owned()));
                params.push(("from", from.to_string()));
                params.push(("to", to.to_string()));
            }
            preset => params.push(("range", preset.key().to_owned())),
        }
        if let Some(device) = self.device {
            params.push(("device", device.as_str().to_owned()));
        }
        if let Some(route) = &self.route {
            params.push(("route", route.clone()));
        }
        params
    }

    /// The collector's scope parameters (site, from, to, device, route) for `site`.
    pub fn api_params(&self, site: &str, now_ms: i64) -> Vec<(&'static str, String)> {
        let (from, to) = self.range.bounds(now_ms);
        let mut params = vec![
            ("site", site.to_owned()),
            ("from", from.to_string()),
            ("to", to.to_string()),
        ];
        if let Some(device) = self.device {
            params.push(("device", device.as_str().to_owned()));
        }
        if let Some(route) = &self.route {
            params.push(("route", route.clone()));
        }
        params
    }

    /// The same range just before this one, for the previous-period overlay.
    pub fn previous_bounds(&self, now_ms: i64) -> (i64, i64) {
        let (from, to) = self.range.bounds(now_ms);
        (from - (to - from), from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Filters {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Filters::from_query(|name| map.get(name).cloned())
    }

    #[test]
    fn round_trips_through_the_query() {
        let filters = Filters {
            site: Some("shop".into()),
            range: RangeChoice::Custom {
                from: 1_000,
                to: 5_000,
            },
            device: Some(DeviceClass::Mobile),
            route: Some("/users/:id".into()),
        };
        let query = filters.to_query();
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(parse(&pairs), filters);
        for range in RangeChoice::PRESETS {
            let filters = Filters {
                range,
                ..Filters::default()
            };
            let query = filters.to_query();
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(parse(&pairs), filters);
        }
    }

    #[test]
    fn defaults_stay_out_of_the_url() {
        assert!(Filters::default().to_query().is_empty());
        assert_eq!(parse(&[]), Filters::default());
    }

    #[test]
    fn unreadable_values_fall_back() {
        let filters = parse(&[
            ("range", "fortnight"),
            ("device", "toaster"),
            ("route", "no-slash"),
            ("site", "  "),
        ]);
        assert_eq!(filters, Filters::default());
        for (from, to) in [("9", "3"), ("x", "3"), ("-5", "3")] {
            let filters = parse(&[("range", "custom"), ("from", from), ("to", to)]);
            assert_eq!(filters.range, RangeChoice::Day, "{from}..{to}");
        }
    }

    #[test]
    fn api_params_carry_bounds_and_filters() {
        let filters = parse(&[("range", "1h"), ("device", "desktop"), ("route", "/a")]);
        let now = 10 * DAY_MS + 12_345;
        let params = filters.api_params("demo", now);
        let to = 10 * DAY_MS + 20_000;
        assert_eq!(
            params,
            vec![
                ("site", "demo".to_owned()),
                ("from", (to - HOUR_MS).to_string()),
                ("to", to.to_string()),
                ("device", "desktop".to_owned()),
                ("route", "/a".to_owned()),
            ]
        );
        assert_eq!(
            filters.previous_bounds(now),
            (to - 2 * HOUR_MS, to - HOUR_MS)
        );
    }
}
