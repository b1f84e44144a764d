//! Axis ranges and tick positions: round values on the value axis, calendar-aligned
//! instants on the time axis, and the time labels that suit the range shown.

const SECOND: f64 = 1_000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;

/// The value axis: starts at zero (a latency chart that starts at 800 ms exaggerates
/// every wobble) and ends on a round tick at or above the largest value.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueAxis {
    pub min: f64,
    pub max: f64,
    pub ticks: Vec<f64>,
}

pub fn value_axis(data_min: f64, data_max: f64, max_ticks: usize) -> ValueAxis {
    let low = if data_min.is_finite() {
        data_min.min(0.0)
    } else {
        0.0
    };
    let high = if data_max.is_finite() { data_max } else { low };
    // Flat data at zero still gets a unit-high axis rather than a degenerate one.
    let high = if high > low { high } else { low + 1.0 };
    let span = high - low;
    let step = nice_step(span / max_ticks.max(1) as f64);
    let min = (low / step).floor() * step;
    let max = ((high / step).ceil() * step).max(min + step);
    let count = ((max - min) / step).round() as usize;
    // Multiplying rather than accumulating keeps 0.1 + 0.2 from drifting into the labels.
    let ticks = (0..=count).map(|i| min + step * i as f64).collect();
    ValueAxis { min, max, ticks }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 && raw.is_finite() {
        raw
    } else {
        1.0
    };
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// How time labels read: only the clock within a day or so, dates beyond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeLabel {
    ClockSeconds,
    Clock,
    Date,
    DateClock,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimeAxis {
    pub ticks: Vec<f64>,
    pub label: TimeLabel,
}

/// Ticks at round local times (every 15 min, 3 h, midnight …) between `from_ms` and
/// `to_ms`. `utc_offset_ms` is the viewer's offset from UTC (east positive).
pub fn time_axis(from_ms: f64, to_ms: f64, max_ticks: usize, utc_offset_ms: f64) -> TimeAxis {
    const STEPS: [f64; 19] = [
        SECOND,
        5.0 * SECOND,
        15.0 * SECOND,
        30.0 * SECOND,
        MINUTE,
        5.0 * MINUTE,
        15.0 * MINUTE,
        30.0 * MINUTE,
        HOUR,
        2.0 * HOUR,
        3.0 * HOUR,
        6.0 * HOUR,
        12.0 * HOUR,
        DAY,
        2.0 * DAY,
        7.0 * DAY,
        14.0 * DAY,
        30.0 * DAY,
        90.0 * DAY,
    ];
    let span = (to_ms - from_ms).max(SECOND);
    let max_ticks = max_ticks.max(2) as f64;
    let step = STEPS
        .into_iter()
        .find(|step| span / step <= max_ticks)
        .unwrap_or(span / max_ticks);
    let first = ((from_ms + utc_offset_ms) / step).ceil() * step - utc_offset_ms;
    let ticks = (0..)
        .map(|i| first + step * f64::from(i))
        .take_while(|t| *t <= to_ms)
        .collect();
    let label = if step < MINUTE {
        TimeLabel::ClockSeconds
    } else if span <= 36.0 * HOUR {
        TimeLabel::Clock
    } else if step >= DAY {
        TimeLabel::Date
    } else {
        TimeLabel::DateClock
    };
    TimeAxis { ticks, label }
}

/// The label for one tick, in the viewer's local time.
pub fn format_time(t_ms: f64, label: TimeLabel, utc_offset_ms: f64) -> String {
    let local = t_ms + utc_offset_ms;
    let days = (local / DAY).floor();
    let of_day = local - days * DAY;
    let (hour, minute, second) = (
        (of_day / HOUR) as u32,
        ((of_day % HOUR) / MINUTE) as u32,
        ((of_day % MINUTE) / SECOND) as u32,
    );
    let (month, day) = month_day(days as i64);
    let month = MONTHS[month as usize - 1];
    match label {
        TimeLabel::ClockSeconds => format!("{hour:02}:{minute:02}:{second:02}"),
        TimeLabel::Clock => format!("{hour:02}:{minute:02}"),
        TimeLabel::Date => format!("{month} {day}"),
        TimeLabel::DateClock => format!("{month} {day} {hour:02}:{minute:02}"),
    }
}

/// The hover readout names the instant fully enough for the range shown.
pub fn readout_label(from_ms: f64, to_ms: f64) -> TimeLabel {
    if to_ms - from_ms < 10.0 * MINUTE {
        TimeLabel::ClockSeconds
    } else {
        TimeLabel::DateClock
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Month (1–12) and day of month of a day number counted from 1970-01-01: Howard
/// Hinnant's `civil_from_days`, a few lines that spare the wasm a date crate.
fn month_day(days: i64) -> (u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 00:00 UTC.
    const NOV_22: f64 = 1_795_305_600_000.0;

    #[test]
    fn value_axis_starts_at_zero_and_ends_on_a_round_tick() {
        let axis = value_axis(812.0, 2_340.0, 5);
        assert_eq!(axis.min, 0.0);
        assert_eq!(axis.max, 2_500.0);
        assert_eq!(
            axis.ticks,
            vec![0.0, 500.0, 1_000.0, 1_500.0, 2_000.0, 2_500.0]
        );
    }

    #[test]
    fn value_axis_of_ratios_has_exact_decimal_ticks() {
        let axis = value_axis(0.0, 0.3, 3);
        assert_eq!(axis.ticks, vec![0.0, 0.1, 0.2, 0.30000000000000004]);
        assert_eq!(axis.ticks.len(), 4);
        let axis = value_axis(0.0, 1.0, 4);
        assert_eq!(axis.ticks, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn flat_or_missing_data_still_gives_an_axis() {
        let axis = value_axis(0.0, 0.0, 4);
        assert!(axis.max > axis.min);
        assert!(axis.ticks.len() >= 2);
        let axis = value_axis(f64::INFINITY, f64::NEG_INFINITY, 4);
        assert_eq!((axis.min, axis.max), (0.0, 1.0));
    }

    #[test]
    fn negative_values_extend_the_axis_below_zero() {
        let axis = value_axis(-3.0, 7.0, 5);
        assert_eq!((axis.min, axis.max), (-4.0, 8.0));
    }

    #[test]
    fn one_hour_gets_quarter_hour_clock_ticks() {
        let axis = time_axis(NOV_22 + 10.0 * MINUTE, NOV_22 + 70.0 * MINUTE, 6, 0.0);
        assert_eq!(axis.label, TimeLabel::Clock);
        let labels: Vec<String> = axis
            .ticks
            .iter()
            .map(|t| format_time(*t, axis.label, 0.0))
            .collect();
        assert_eq!(labels, ["00:15", "00:30", "00:45", "01:00"]);
    }

    #[test]
    fn a_week_gets_dates_at_local_midnight() {
        let offset = 2.0 * HOUR;
        let axis = time_axis(NOV_22, NOV_22 + 7.0 * DAY, 8, offset);
        assert_eq!(axis.label, TimeLabel::Date);
        assert_eq!(format_time(axis.ticks[0], axis.label, offset), "Nov 23");
        assert_eq!(axis.ticks[0], NOV_22 + DAY - offset);
        assert_eq!(axis.ticks.len(), 7);
    }

    #[test]
    fn two_days_with_many_ticks_show_date_and_clock() {
        let axis = time_axis(NOV_22, NOV_22 + 2.0 * DAY, 8, 0.0);
        assert_eq!(axis.label, TimeLabel::DateClock);
        assert_eq!(format_time(axis.ticks[1], axis.label, 0.0), "Nov 22 06:00");
    }

    #[test]
    fn short_ranges_show_seconds() {
        let axis = time_axis(NOV_22, NOV_22 + 40.0 * SECOND, 5, 0.0);
        assert_eq!(axis.label, TimeLabel::ClockSeconds);
        assert_eq!(format_time(axis.ticks[1], axis.label, 0.0), "00:00:15");
    }

    #[test]
    fn dates_are_right_across_years_and_leap_days() {
        assert_eq!(format_time(0.0, TimeLabel::Date, 0.0), "Jan 1");
        assert_eq!(
            format_time(951_782_400_000.0, TimeLabel::Date, 0.0),
            "Feb 29"
        );
        assert_eq!(
            format_time(NOV_22 - 1.0, TimeLabel::DateClock, 0.0),
            "Nov 21 23:59"
        );
    }
}
