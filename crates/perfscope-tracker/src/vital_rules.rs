//! When a paint or navigation timing becomes a reportable vital, and with what value.
//!
//! Mirrors Chrome's `web-vitals`: times count from page activation (prerendered pages),
//! paints after the page was first hidden are not the user's experience, and LCP is only
//! known once the user interacts or leaves.

/// `time_ms` relative to activation; a paint during prerendering counts as instant.
pub fn since_activation(time_ms: f64, activation_start_ms: f64) -> f64 {
    (time_ms - activation_start_ms).max(0.0)
}

/// FCP, unless the page was hidden before it painted.
pub fn fcp_value(
    start_time_ms: f64,
    activation_start_ms: f64,
    first_hidden_ms: f64,
) -> Option<f64> {
    (start_time_ms.is_finite() && start_time_ms < first_hidden_ms)
        .then(|| since_activation(start_time_ms, activation_start_ms))
}

/// TTFB from the navigation entry. A zero `responseStart` is the browser withholding it
/// (cross-origin redirects); one in the future or before activation is a browser bug.
pub fn ttfb_value(response_start_ms: f64, activation_start_ms: f64, now_ms: f64) -> Option<f64> {
    let value = response_start_ms - activation_start_ms;
    let plausible = response_start_ms > 0.0 && response_start_ms < now_ms;
    (plausible && value.is_finite() && value >= 0.0).then_some(value)
}

/// An LCP value together with when the paint happened, for the event's timestamp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LcpReading {
    pub value_ms: f64,
    pub start_time_ms: f64,
}

/// The LCP of one page view: each new candidate replaces the last until it is final.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LcpCandidate {
    latest: Option<LcpReading>,
    finalized: bool,
}

impl LcpCandidate {
    pub fn offer(&mut self, start_time_ms: f64, activation_start_ms: f64, first_hidden_ms: f64) {
        if self.finalized || !start_time_ms.is_finite() || start_time_ms >= first_hidden_ms {
            return;
        }
        self.latest = Some(LcpReading {
            value_ms: since_activation(start_time_ms, activation_start_ms),
            start_time_ms,
        });
    }

    /// The value to report, the first time only; `None` if nothing was painted in time.
    pub fn finalize(&mut self) -> Option<LcpReading> {
        if self.finalized {
            return None;
        }
        self.finalized = true;
        self.latest
    }

    pub fn is_finalized(&self) -> bool {
        self.finalized
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VISIBLE: f64 = f64::INFINITY;

    #[test]
    fn fcp_counts_from_activation_and_needs_a_visible_page() {
        assert_eq!(fcp_value(350.0, 0.0, VISIBLE), Some(350.0));
        assert_eq!(fcp_value(350.0, 100.0, VISIBLE), Some(250.0));
        assert_eq!(fcp_value(350.0, 500.0, VISIBLE), Some(0.0));
        assert_eq!(fcp_value(350.0, 0.0, 200.0), None);
        assert_eq!(fcp_value(350.0, 0.0, 0.0), None);
        assert_eq!(fcp_value(f64::NAN, 0.0, VISIBLE), None);
    }

    #[test]
    fn ttfb_rejects_withheld_negative_and_future_values() {
        assert_eq!(ttfb_value(120.0, 0.0, 5000.0), Some(120.0));
        assert_eq!(ttfb_value(120.0, 20.0, 5000.0), Some(100.0));
        assert_eq!(ttfb_value(0.0, 0.0, 5000.0), None);
        assert_eq!(ttfb_value(120.0, 300.0, 5000.0), None);
        assert_eq!(ttfb_value(9000.0, 0.0, 5000.0), None);
    }

    #[test]
    fn lcp_keeps_the_latest_candidate_and_reports_once() {
        let mut lcp = LcpCandidate::default();
        lcp.offer(400.0, 0.0, VISIBLE);
        lcp.offer(1200.0, 0.0, VISIBLE);
        let reading = lcp.finalize();
        assert_eq!(
            reading,
            Some(LcpReading {
                value_ms: 1200.0,
                start_time_ms: 1200.0
            })
        );
        assert!(lcp.is_finalized());
        assert_eq!(lcp.finalize(), None);
    }

    #[test]
    fn lcp_ignores_paints_after_hiding_and_after_finalisation() {
        let mut lcp = LcpCandidate::default();
        lcp.offer(400.0, 0.0, 1000.0);
        lcp.offer(1500.0, 0.0, 1000.0);
        assert_eq!(lcp.clone().finalize().map(|r| r.value_ms), Some(400.0));
        let _ = lcp.finalize();
        lcp.offer(600.0, 0.0, VISIBLE);
        assert_eq!(lcp.finalize(), None);
    }

    #[test]
    fn lcp_without_a_candidate_reports_nothing() {
        let mut hidden_from_start = LcpCandidate::default();
        hidden_from_start.offer(300.0, 0.0, 0.0);
        assert_eq!(hidden_from_start.finalize(), None);
    }

    #[test]
    fn lcp_counts_from_activation() {
        let mut lcp = LcpCandidate::default();
        lcp.offer(900.0, 1000.0, VISIBLE);
        assert_eq!(lcp.finalize().map(|r| r.value_ms), Some(0.0));
    }
}
