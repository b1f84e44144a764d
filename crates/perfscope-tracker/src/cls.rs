//! Cumulative Layout Shift: shifts grouped into session windows, the worst window wins.
//!
//! Follows Chrome's `web-vitals` (`LayoutShiftManager`): a shift joins the current window
//! when it comes less than 1 s after the previous shift and less than 5 s after the
//! window's first one; otherwise it opens a new window.

const MAX_GAP_MS: f64 = 1000.0;
const MAX_WINDOW_MS: f64 = 5000.0;

/// The largest single shift of a window, for attribution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LargestShift {
    pub start_time_ms: f64,
    pub value: f64,
    /// Selector of the shift's main source, named when the shift happened (its node may
    /// be gone by the time CLS is reported).
    pub target: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionWindows {
    window_sum: f64,
    window_first_ms: f64,
    window_last_ms: f64,
    window_largest: LargestShift,
    largest_sum: f64,
    /// The largest shift of the window that set `largest_sum`.
    largest_window_shift: Option<LargestShift>,
}

impl SessionWindows {
    /// `start_time_ms` and `value` are the `layout-shift` entry's `startTime` and `value`;
    /// `target` names its source and is only asked for when this shift is the largest
    /// of its window so far.
    pub fn add_shift(
        &mut self,
        start_time_ms: f64,
        value: f64,
        had_recent_input: bool,
        target: impl FnOnce() -> Option<String>,
    ) {
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
            self.window_largest = LargestShift {
                start_time_ms,
                value: f64::NEG_INFINITY,
                target: None,
            };
        }
        self.window_last_ms = start_time_ms;
        // Of equal shifts the later one is named, as web-vitals does.
        if value >= self.window_largest.value {
            self.window_largest = LargestShift {
                start_time_ms,
                value,
                target: target(),
            };
        }
        // Only a strictly larger window replaces the reported one.
        if self.window_sum > self.largest_sum {
            self.largest_sum = self.window_sum;
            self.largest_window_shift = Some(self.window_largest.clone());
        }
    }

    /// The CLS so far: 0 until a counted shift happens.
    pub fn value(&self) -> f64 {
        self.largest_sum
    }

    /// The largest shift of the window that makes up the CLS; `None` while CLS is 0.
    pub fn largest_shift(&self) -> Option<&LargestShift> {
        self.largest_window_shift.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(cls: &mut SessionWindows, start: f64, value: f64, had_recent_input: bool) {
        cls.add_shift(start, value, had_recent_input, || None);
    }

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
        add(&mut cls, 100.0, 0.1, false);
        add(&mut cls, 900.0, 0.05, false);
        add(&mut cls, 1800.0, 0.02, false);
        assert!(close(cls.value(), 0.17));
    }

    #[test]
    fn a_gap_of_a_second_opens_a_new_window() {
        let mut cls = SessionWindows::default();
        add(&mut cls, 0.0, 0.1, false);
        add(&mut cls, 1000.0, 0.05, false);
        add(&mut cls, 1500.0, 0.04, false);
        // Windows: [0.1] and [0.05 + 0.04]; the larger is reported, not the total.
        assert!(close(cls.value(), 0.1));
        add(&mut cls, 2000.0, 0.03, false);
        assert!(close(cls.value(), 0.12));
    }

    #[test]
    fn windows_are_capped_at_five_seconds() {
        let mut cls = SessionWindows::default();
        for i in 0..10 {
            add(&mut cls, f64::from(i) * 900.0, 0.01, false);
        }
        // 0, 900, …, 4500 fit in the first window (6 shifts); 5400 starts the next (4 shifts).
        assert!(close(cls.value(), 0.06));
    }

    #[test]
    fn shifts_after_input_and_garbage_are_ignored() {
        let mut cls = SessionWindows::default();
        add(&mut cls, 10.0, 0.5, true);
        add(&mut cls, 20.0, f64::NAN, false);
        add(&mut cls, 30.0, -1.0, false);
        assert_eq!(cls.value(), 0.0);
        add(&mut cls, 40.0, 0.2, false);
        assert!(close(cls.value(), 0.2));
    }

    #[test]
    fn an_input_shift_does_not_bridge_windows() {
        let mut cls = SessionWindows::default();
        add(&mut cls, 0.0, 0.1, false);
        add(&mut cls, 800.0, 0.3, true);
        add(&mut cls, 1600.0, 0.1, false);
        assert!(close(cls.value(), 0.1));
    }

    fn named(cls: &mut SessionWindows, start: f64, value: f64, name: &str) {
        cls.add_shift(start, value, false, || Some(name.to_string()));
    }

    #[test]
    fn the_largest_shift_of_the_worst_window_is_attributed() {
        let mut cls = SessionWindows::default();
        assert_eq!(cls.largest_shift(), None);
        named(&mut cls, 100.0, 0.05, "#a");
        named(&mut cls, 400.0, 0.2, "#b");
        named(&mut cls, 700.0, 0.1, "#c");
        // A second, smaller window does not take over.
        named(&mut cls, 3000.0, 0.3, "#d");
        let largest = cls.largest_shift().unwrap();
        assert_eq!(largest.target.as_deref(), Some("#b"));
        assert_eq!((largest.start_time_ms, largest.value), (400.0, 0.2));
        // A larger window does.
        named(&mut cls, 3500.0, 0.1, "#e");
        let largest = cls.largest_shift().unwrap();
        assert_eq!(largest.target.as_deref(), Some("#d"));
        assert!(close(cls.value(), 0.4));
    }

    #[test]
    fn ties_name_the_later_shift_and_keep_the_earlier_window() {
        let mut cls = SessionWindows::default();
        named(&mut cls, 0.0, 0.1, "#first");
        named(&mut cls, 500.0, 0.1, "#second");
        assert_eq!(
            cls.largest_shift().unwrap().target.as_deref(),
            Some("#second")
        );
        // An equal window later does not replace the reported one.
        named(&mut cls, 5000.0, 0.1, "#third");
        named(&mut cls, 5500.0, 0.1, "#fourth");
        assert_eq!(
            cls.largest_shift().unwrap().target.as_deref(),
            Some("#second")
        );
    }

    #[test]
    fn targets_are_named_only_for_the_largest_shift_so_far() {
        let mut cls = SessionWindows::default();
        let mut asked = 0;
        for (time, value) in [(0.0, 0.3), (100.0, 0.1), (200.0, 0.2), (300.0, 0.4)] {
            cls.add_shift(time, value, false, || {
                asked += 1;
                None
            });
        }
        assert_eq!(asked, 2);
    }

    #[test]
    fn zero_shifts_open_no_reported_window() {
        let mut cls = SessionWindows::default();
        named(&mut cls, 0.0, 0.0, "#zero");
        assert_eq!(cls.value(), 0.0);
        assert_eq!(cls.largest_shift(), None);
    }
}
