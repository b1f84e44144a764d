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

/// Whether the navigation entry's `responseStart` can be believed: zero is the browser
/// withholding it (cross-origin redirects), one in the future is a browser bug.
pub fn response_start_is_valid(response_start_ms: f64, now_ms: f64) -> bool {
    response_start_ms.is_finite() && response_start_ms > 0.0 && response_start_ms < now_ms
}

/// TTFB from the navigation entry; a response before activation (prerendering) is instant.
pub fn ttfb_value(response_start_ms: f64, activation_start_ms: f64, now_ms: f64) -> Option<f64> {
    response_start_is_valid(response_start_ms, now_ms)
        .then(|| since_activation(response_start_ms, activation_start_ms))
}

/// The LCP resource's Resource Timing, in `performance.now()` time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResourceTiming {
    /// 0 when the browser withholds it (cross-origin without `Timing-Allow-Origin`).
    pub request_start_ms: f64,
    pub start_time_ms: f64,
    pub response_end_ms: f64,
}

/// Where the LCP time went; the four parts add up to the LCP value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LcpParts {
    pub time_to_first_byte: f64,
    pub resource_load_delay: f64,
    pub resource_load_duration: f64,
    pub element_render_delay: f64,
}

/// Splits `lcp_ms` as web-vitals does: each boundary is clamped between the previous one
/// and the LCP, so no part is negative and they add up. `response_start_ms` is `None` when the navigation
/// entry is missing or invalid: then the whole LCP is render delay.
pub fn lcp_parts(
    lcp_ms: f64,
    response_start_ms: Option<f64>,
    activation_start_ms: f64,
    resource: Option<ResourceTiming>,
) -> LcpParts {
    let Some(response_start) = response_start_ms else {
        return LcpParts {
            time_to_first_byte: 0.0,
            resource_load_delay: 0.0,
            resource_load_duration: 0.0,
            element_render_delay: lcp_ms,
        };
    };
    // Capped at the LCP only for the impossible case of a paint before the first byte,
    // where web-vitals would report a negative part.
    let ttfb = (response_start - activation_start_ms).max(0.0).min(lcp_ms);
    let request_start = resource.map_or(0.0, |r| {
        let started = if r.request_start_ms > 0.0 {
            r.request_start_ms
        } else {
            r.start_time_ms
        };
        started - activation_start_ms
    });
    let request_start = ttfb.max(request_start).min(lcp_ms);
    let response_end = resource.map_or(0.0, |r| r.response_end_ms - activation_start_ms);
    let response_end = lcp_ms.min(request_start.max(response_end));
    LcpParts {
        time_to_first_byte: ttfb,
        resource_load_delay: request_start - ttfb,
        resource_load_duration: response_end - request_start,
        element_render_delay: lcp_ms - response_end,
    }
}

/// Reports a metric only when its value changed since it was last reported, as
/// web-vitals does each time the page is hidden.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeReporter {
    last: Option<f64>,
}

impl ChangeReporter {
    /// Whether `value` should be reported now (and remembers it if so).
    pub fn should_report(&mut self, value: f64) -> bool {
        if value.is_nan() || value < 0.0 || self.last == Some(value) {
            return false;
        }
        self.last = Some(value);
        true
    }
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
    /// Whether the candidate was taken (painted while visible, before finalisation).
    pub fn offer(
        &mut self,
        start_time_ms: f64,
        activation_start_ms: f64,
        first_hidden_ms: f64,
    ) -> bool {
        if self.finalized || !start_time_ms.is_finite() || start_time_ms >= first_hidden_ms {
            return false;
        }
        self.latest = Some(LcpReading {
            value_ms: since_activation(start_time_ms, activation_start_ms),
            start_time_ms,
        });
        true
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
    fn ttfb_rejects_withheld_and_future_values_and_clamps_prerendering() {
        assert_eq!(ttfb_value(120.0, 0.0, 5000.0), Some(120.0));
        assert_eq!(ttfb_value(120.0, 20.0, 5000.0), Some(100.0));
        assert_eq!(ttfb_value(0.0, 0.0, 5000.0), None);
        // Answered while prerendering: instant once shown.
        assert_eq!(ttfb_value(120.0, 300.0, 5000.0), Some(0.0));
        assert_eq!(ttfb_value(f64::NAN, 0.0, 5000.0), None);
        assert_eq!(ttfb_value(-3.0, 0.0, 5000.0), None);
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
        assert!(lcp.offer(400.0, 0.0, 1000.0));
        assert!(!lcp.offer(1500.0, 0.0, 1000.0));
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

    fn sum(parts: LcpParts) -> f64 {
        parts.time_to_first_byte
            + parts.resource_load_delay
            + parts.resource_load_duration
            + parts.element_render_delay
    }

    fn resource(request_start: f64, start_time: f64, response_end: f64) -> Option<ResourceTiming> {
        Some(ResourceTiming {
            request_start_ms: request_start,
            start_time_ms: start_time,
            response_end_ms: response_end,
        })
    }

    #[test]
    fn an_image_lcp_splits_into_its_four_parts() {
        let parts = lcp_parts(1500.0, Some(100.0), 0.0, resource(300.0, 250.0, 1200.0));
        assert_eq!(
            parts,
            LcpParts {
                time_to_first_byte: 100.0,
                resource_load_delay: 200.0,
                resource_load_duration: 900.0,
                element_render_delay: 300.0,
            }
        );
        assert_eq!(sum(parts), 1500.0);
    }

    #[test]
    fn a_text_lcp_is_ttfb_and_render_delay() {
        let parts = lcp_parts(420.0, Some(35.5), 0.0, None);
        assert_eq!(parts.time_to_first_byte, 35.5);
        assert_eq!(parts.resource_load_delay, 0.0);
        assert_eq!(parts.resource_load_duration, 0.0);
        assert_eq!(parts.element_render_delay, 384.5);
    }

    #[test]
    fn withheld_request_start_falls_back_to_the_entry_start() {
        let parts = lcp_parts(1000.0, Some(50.0), 0.0, resource(0.0, 400.0, 800.0));
        assert_eq!(parts.resource_load_delay, 350.0);
        assert_eq!(parts.resource_load_duration, 400.0);
        assert_eq!(sum(parts), 1000.0);
    }

    #[test]
    fn a_resource_from_before_the_response_or_after_the_paint_is_clamped() {
        // Preloaded from cache before the document's response (e.g. a service worker).
        let early = lcp_parts(600.0, Some(200.0), 0.0, resource(10.0, 5.0, 20.0));
        assert_eq!(early.resource_load_delay, 0.0);
        assert_eq!(early.resource_load_duration, 0.0);
        assert_eq!(early.element_render_delay, 400.0);
        // A response end after the paint (rounding): render delay 0, not negative.
        let late = lcp_parts(600.0, Some(200.0), 0.0, resource(300.0, 300.0, 700.0));
        assert_eq!(late.element_render_delay, 0.0);
        assert_eq!(sum(late), 600.0);
    }

    #[test]
    fn prerendered_pages_count_from_activation() {
        let parts = lcp_parts(300.0, Some(80.0), 1000.0, resource(90.0, 85.0, 500.0));
        assert_eq!(parts.time_to_first_byte, 0.0);
        assert_eq!(parts.resource_load_delay, 0.0);
        assert_eq!(parts.resource_load_duration, 0.0);
        assert_eq!(parts.element_render_delay, 300.0);
    }

    #[test]
    fn without_a_navigation_entry_everything_is_render_delay() {
        let parts = lcp_parts(700.0, None, 0.0, resource(100.0, 100.0, 200.0));
        assert_eq!(parts.element_render_delay, 700.0);
        assert_eq!(sum(parts), 700.0);
    }

    #[test]
    fn parts_always_add_up_and_are_never_negative() {
        let mut seed = 12345u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % 5000) as f64 / 2.0
        };
        for _ in 0..2000 {
            let lcp = next();
            let activation = if next() > 2000.0 { next() / 4.0 } else { 0.0 };
            let parts = lcp_parts(
                lcp,
                Some(next()),
                activation,
                resource(next(), next(), next()),
            );
            assert!((sum(parts) - lcp).abs() < 1e-9, "{parts:?} vs {lcp}");
            for part in [
                parts.time_to_first_byte,
                parts.resource_load_delay,
                parts.resource_load_duration,
                parts.element_render_delay,
            ] {
                assert!(part >= 0.0, "{parts:?}");
            }
        }
    }

    #[test]
    fn a_value_is_reported_once_until_it_changes() {
        let mut reporter = ChangeReporter::default();
        assert!(reporter.should_report(0.0));
        assert!(!reporter.should_report(0.0));
        assert!(reporter.should_report(0.12));
        assert!(!reporter.should_report(0.12));
        assert!(!reporter.should_report(-1.0));
        assert!(!reporter.should_report(f64::NAN));
        assert!(reporter.should_report(0.2));
    }
}
