//! Core Web Vitals names, their web.dev rating thresholds and how a value is shown.

use serde::{Deserialize, Serialize};

/// A web vital the tracker measures on every page view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VitalName {
    #[serde(rename = "LCP")]
    Lcp,
    #[serde(rename = "FCP")]
    Fcp,
    #[serde(rename = "TTFB")]
    Ttfb,
    #[serde(rename = "CLS")]
    Cls,
    #[serde(rename = "INP")]
    Inp,
    /// First Input Delay: replaced by INP as a Core Web Vital, still reported because
    /// `web-vitals` users compare against it.
    #[serde(rename = "FID")]
    Fid,
}

/// Upper bounds (inclusive) of the "good" and "needs improvement" bands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub good: f64,
    pub poor: f64,
}

/// The three bands web.dev sorts every vital into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    /// Stable identifier, used as a CSS class and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::NeedsImprovement => "needs-improvement",
            Rating::Poor => "poor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rating::Good => "Good",
            Rating::NeedsImprovement => "Needs improvement",
            Rating::Poor => "Poor",
        }
    }
}

impl VitalName {
    /// The current Core Web Vitals and their diagnostics (no legacy FID), in the order
    /// the dashboard shows them.
    pub const ALL: [VitalName; 5] = [
        VitalName::Lcp,
        VitalName::Inp,
        VitalName::Cls,
        VitalName::Fcp,
        VitalName::Ttfb,
    ];

    /// Every name the wire format knows, legacy FID included.
    pub const WITH_LEGACY: [VitalName; 6] = [
        VitalName::Lcp,
        VitalName::Inp,
        VitalName::Cls,
        VitalName::Fcp,
        VitalName::Ttfb,
        VitalName::Fid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VitalName::Fid => "FID",
            VitalName::Lcp => "LCP",
            VitalName::Fcp => "FCP",
            VitalName::Ttfb => "TTFB",
            VitalName::Cls => "CLS",
            VitalName::Inp => "INP",
        }
    }

    pub fn parse(name: &str) -> Option<VitalName> {
        VitalName::WITH_LEGACY
            .into_iter()
            .find(|v| v.as_str() == name)
    }

    pub fn long_name(self) -> &'static str {
        match self {
            VitalName::Lcp => "Largest Contentful Paint",
            VitalName::Fcp => "First Contentful Paint",
            VitalName::Ttfb => "Time to First Byte",
            VitalName::Cls => "Cumulative Layout Shift",
            VitalName::Inp => "Interaction to Next Paint",
            VitalName::Fid => "First Input Delay",
        }
    }

    /// CLS is a unitless score; every other vital is a duration in milliseconds.
    pub fn is_duration(self) -> bool {
        !matches!(self, VitalName::Cls)
    }

    /// The web.dev thresholds, the same ones Chrome's `web-vitals` library uses.
    pub fn thresholds(self) -> Thresholds {
        let (good, poor) = match self {
            VitalName::Lcp => (2500.0, 4000.0),
            VitalName::Fcp => (1800.0, 3000.0),
            VitalName::Ttfb => (800.0, 1800.0),
            VitalName::Cls => (0.1, 0.25),
            VitalName::Inp => (200.0, 500.0),
            VitalName::Fid => (100.0, 300.0),
        };
        Thresholds { good, poor }
    }

    pub fn rate(self, value: f64) -> Rating {
        let t = self.thresholds();
        if value > t.poor {
            Rating::Poor
        } else if value > t.good {
            Rating::NeedsImprovement
        } else {
            Rating::Good
        }
    }

    /// How a value is shown to people: whole milliseconds below a second, seconds with
    /// two decimals above, CLS with three decimals.
    pub fn format(self, value: f64) -> String {
        if !self.is_duration() {
            format!("{value:.3}")
        } else {
            format_duration_ms(value)
        }
    }
}

/// Shared by vitals and API latencies so both read the same on the dashboard.
pub fn format_duration_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.round() as i64)
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

impl std::fmt::Display for VitalName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_belong_to_the_better_band() {
        assert_eq!(VitalName::Lcp.rate(2500.0), Rating::Good);
        assert_eq!(VitalName::Lcp.rate(2500.1), Rating::NeedsImprovement);
        assert_eq!(VitalName::Lcp.rate(4000.0), Rating::NeedsImprovement);
        assert_eq!(VitalName::Lcp.rate(4000.1), Rating::Poor);
        assert_eq!(VitalName::Cls.rate(0.1), Rating::Good);
        assert_eq!(VitalName::Cls.rate(0.26), Rating::Poor);
        assert_eq!(VitalName::Inp.rate(201.0), Rating::NeedsImprovement);
        assert_eq!(VitalName::Ttfb.rate(1801.0), Rating::Poor);
        assert_eq!(VitalName::Fcp.rate(1799.0), Rating::Good);
    }

    #[test]
    fn names_round_trip() {
        for v in VitalName::WITH_LEGACY {
            assert_eq!(VitalName::parse(v.as_str()), Some(v));
        }
        assert_eq!(VitalName::parse("lcp"), None);
    }

    #[test]
    fn values_format_for_people() {
        assert_eq!(VitalName::Lcp.format(123.4), "123 ms");
        assert_eq!(VitalName::Lcp.format(2512.0), "2.51 s");
        assert_eq!(VitalName::Cls.format(0.04567), "0.046");
    }
}
