//! Cumulative Layout Shift: shifts grouped into session windows, the worst window wins.
//!
//! Follows Chrome's `web-vitals` (`LayoutShiftManager`): a shift joins the current window
//! when it comes less than 1 s after the previous shift and less than 5 s after the
//! window's first one; otherwise it opens a new window.

const MAX_GAP_MS: f64 = 1000.0;
const MAX_WINDOW_MS: f64 = 5000.0;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionWindows {
    window_sum: f64,
    window_first_ms: f64,
    window_last_ms: f64,
    largest_sum: f64,
}

impl SessionWindows {
    /// `start_time_ms` and `value` are the `layout-shift` entry's `startTime` and `value`.
    pub fn add_shift(&mut self, start_time_ms: f64, value: f64, had_recent_input: bool) {
        // Shifts right after input are expected by the user, so they do not count.
        if had_recent_input || !value.is_finite() || value < 0.0 || !start_time_ms.is_finite() {
            return;
        }
        let joins_window = self.window_sum > 0.0
            && start_time_ms - self.window_last_ms < MAX_GAP_MS
            && start_time_ms - self.window_first_ms < MAX_WINDOW_MS;
        if joins_window {
            self.window_sum += value;
        } else {
            self.window_sum = value;
            self.window_first_ms = start_time_ms;
        }
        self.window_last_ms = start_time_ms;
        self.largest_sum = self.largest_sum.max(self.window_sum);
    }

    /// The CLS so far: 0 until a counted shift happens.
    pub fn value(&self) -> f64 {
        self.largest_sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn no_shift_is_zero() {
        assert_eq!(SessionWindows::default().value(), 0.0);
    }

    #[test]
    fn close_shifts_add_up_in_one_window() {
        let mut cls = SessionWindows::default();
        cls.add_shift(100.0, 0.1, false);
        cls.add_shift(900.0, 0.05, false);
        cls.add_shift(1800.0, 0.02, false);
        assert!(close(cls.value(), 0.17));
    }

    #[test]
    fn a_gap_of_a_second_opens_a_new_window() {
        let mut cls = SessionWindows::default();
        cls.add_shift(0.0, 0.1, false);
        cls.add_shift(1000.0, 0.05, false);
        cls.add_shift(1500.0, 0.04, false);
        // Windows: [0.1] and [0.05 + 0.04]; the larger is reported, not the total.
        assert!(close(cls.value(), 0.1));
        cls.add_shift(2000.0, 0.03, false);
        assert!(close(cls.value(), 0.12));
    }

    #[test]
    fn windows_are_capped_at_five_seconds() {
        let mut cls = SessionWindows::default();
        for i in 0..10 {
            cls.add_shift(f64::from(i) * 900.0, 0.01, false);
        }
        // 0, 900, …, 4500 fit in the first window (6 shifts); 5400 starts the next (4 shifts).
        assert!(close(cls.value(), 0.06));
    }

    #[test]
    fn shifts_after_input_and_garbage_are_ignored() {
        let mut cls = SessionWindows::default();
        cls.add_shift(10.0, 0.5, true);
        cls.add_shift(20.0, f64::NAN, false);
        cls.add_shift(30.0, -1.0, false);
        assert_eq!(cls.value(), 0.0);
        cls.add_shift(40.0, 0.2, false);
        assert!(close(cls.value(), 0.2));
    }

    #[test]
    fn an_input_shift_does_not_bridge_windows() {
        let mut cls = SessionWindows::default();
        cls.add_shift(0.0, 0.1, false);
        cls.add_shift(800.0, 0.3, true);
        cls.add_shift(1600.0, 0.1, false);
        assert!(close(cls.value(), 0.1));
    }
}
