//! The 0–100 performance score: Lighthouse's log-normal scoring applied to field p75s.
//!
//! Each vital's p75 is scored on a log-normal curve fixed by two control points, the
//! value scoring 0.90 (`p10`) and the value scoring 0.50 (`median`), exactly as
//! Lighthouse's `getLogNormalScore` does; the weighted mean of the scores is the score.

use perfscope_model::VitalName;

/// The two values that pin a metric's scoring curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControlPoints {
    /// Scores 0.90.
    pub p10: f64,
    /// Scores 0.50.
    pub median: f64,
}

/// Weights of the score, out of 100.
pub const WEIGHTS: [(VitalName, f64); 5] = [
    (VitalName::Lcp, 30.0),
    (VitalName::Inp, 30.0),
    (VitalName::Cls, 15.0),
    (VitalName::Fcp, 15.0),
    (VitalName::Ttfb, 10.0),
];

/// The curve of a vital: its web.dev "good" bound scores 0.90 and its "poor" bound 0.50.
/// For LCP (2500/4000), FCP (1800/3000) and CLS (0.1/0.25) these are Lighthouse's own
/// mobile control points; INP and TTFB, which Lighthouse does not score in the lab,
/// follow the same rule.
pub fn control_points(name: VitalName) -> ControlPoints {
    let thresholds = name.thresholds();
    ControlPoints {
        p10: thresholds.good,
        median: thresholds.poor,
    }
}

/// Lighthouse's `getLogNormalScore`: 0..=1, clamped so that the control points' bands
/// hold even where the erf approximation is a hair off.
pub fn log_normal_score(points: ControlPoints, value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return if value.is_nan() { 0.0 } else { 1.0 };
    }
    // erfc^-1(1/5): makes the p10 control point land on 0.90.
    const INVERSE_ERFC_ONE_FIFTH: f64 = 0.906_193_802_436_823_2;
    let x_log_ratio = (value / points.median).max(f64::MIN_POSITIVE).ln();
    let p10_log_ratio = -(points.p10 / points.median).max(f64::MIN_POSITIVE).ln();
    let standardized = x_log_ratio * INVERSE_ERFC_ONE_FIFTH / p10_log_ratio;
    let complementary_percentile = (1.0 - erf(standardized)) / 2.0;
    if value <= points.p10 {
        complementary_percentile.clamp(0.9, 1.0)
    } else if value <= points.median {
        complementary_percentile.clamp(0.5, 0.899_999_999_999_999_9)
    } else {
        complementary_percentile.clamp(0.0, 0.499_999_999_999_999_94)
    }
}

/// Abramowitz and Stegun 7.1.26, the approximation Lighthouse uses (error < 1.5e-7).
fn erf(x: f64) -> f64 {
    let sign = x.signum();
    let x = x.abs();
    let (a1, a2, a3, a4, a5, p) = (
        0.254_829_592,
        -0.284_496_736,
        1.421_413_741,
        -1.453_152_027,
        1.061_405_429,
        0.327_591_1,
    );
    let t = 1.0 / (1.0 + p * x);
    let y = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))));
    sign * (1.0 - y * (-x * x).exp())
}

/// The 0–100 score from each vital's p75; vitals without samples are left out and the
/// others' weights rescaled, so a site without interactions (no INP) still gets a score.
/// `None` when no vital has a value.
pub fn performance_score(p75: impl Fn(VitalName) -> Option<f64>) -> Option<u8> {
    let (weighted, total) = WEIGHTS
        .iter()
        .filter_map(|&(name, weight)| {
            let value = p75(name).filter(|v| v.is_finite())?;
            Some((
                weight * log_normal_score(control_points(name), value),
                weight,
            ))
        })
        .fold((0.0, 0.0), |(s, w), (score, weight)| {
            (s + score, w + weight)
        });
    (total > 0.0).then(|| (weighted / total * 100.0).round().clamp(0.0, 100.0) as u8)
}

/// Lighthouse's colour bands of a 0–100 score.
pub fn score_band(score: u8) -> &'static str {
    match score {
        90..=100 => "good",
        50..=89 => "needs-improvement",
        _ => "poor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn control_points_score_ninety_and_fifty() {
        // Lighthouse v10+ mobile control points (scoring.md): LCP p10 2500 / median 4000,
        // FCP 1800 / 3000, CLS 0.1 / 0.25.
        for (name, p10, median) in [
            (VitalName::Lcp, 2500.0, 4000.0),
            (VitalName::Fcp, 1800.0, 3000.0),
            (VitalName::Cls, 0.1, 0.25),
        ] {
            let points = control_points(name);
            assert_eq!(points, ControlPoints { p10, median }, "{name}");
            assert!(close(log_normal_score(points, p10), 0.9), "{name} at p10");
            assert!(
                close(log_normal_score(points, median), 0.5),
                "{name} at median"
            );
        }
        for name in [VitalName::Inp, VitalName::Ttfb] {
            let points = control_points(name);
            assert!(close(log_normal_score(points, points.p10), 0.9), "{name}");
            assert!(
                close(log_normal_score(points, points.median), 0.5),
                "{name}"
            );
        }
    }

    #[test]
    fn curve_is_monotonic_and_bounded() {
        let points = control_points(VitalName::Lcp);
        let mut previous = 1.0;
        for ms in (100..20_000).step_by(100) {
            let score = log_normal_score(points, ms as f64);
            assert!((0.0..=1.0).contains(&score));
            assert!(score <= previous, "{ms} ms scored {score} after {previous}");
            previous = score;
        }
        assert_eq!(log_normal_score(points, 0.0), 1.0);
        assert_eq!(log_normal_score(points, -5.0), 1.0);
        assert_eq!(log_normal_score(points, f64::NAN), 0.0);
        assert!(log_normal_score(points, 60_000.0) < 0.01);
    }

    #[test]
    fn weights_sum_to_one_hundred_and_missing_vitals_are_rescaled() {
        assert_eq!(WEIGHTS.iter().map(|(_, w)| w).sum::<f64>(), 100.0);
        // Every vital at its "poor" bound: exactly 50.
        let at_median = performance_score(|name| Some(control_points(name).median));
        assert_eq!(at_median, Some(50));
        // Every vital at its "good" bound: 90.
        let at_p10 = performance_score(|name| Some(control_points(name).p10));
        assert_eq!(at_p10, Some(90));
        // LCP perfect (1.0, weight 30) and CLS at median (0.5, weight 15) only.
        let partial = performance_score(|name| match name {
            VitalName::Lcp => Some(1.0),
            VitalName::Cls => Some(0.25),
            _ => None,
        });
        let expected = ((30.0 * log_normal_score(control_points(VitalName::Lcp), 1.0) + 15.0 * 0.5)
            / 45.0
            * 100.0_f64)
            .round() as u8;
        assert_eq!(partial, Some(expected));
        assert_eq!(performance_score(|_| None), None);
    }

    #[test]
    fn bands_follow_lighthouse() {
        assert_eq!(score_band(100), "good");
        assert_eq!(score_band(90), "good");
        assert_eq!(score_band(89), "needs-improvement");
        assert_eq!(score_band(50), "needs-improvement");
        assert_eq!(score_band(49), "poor");
    }
}
