//! Number formatting shared by the dashboard's components, kept pure so it is unit-tested natively.

/// `1234567` → `"1,234,567"`: sample and call counts are read at a glance.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share in `0..=1` as a percentage. A handful of failures among many calls must not
/// round to a reassuring "0.0%", so anything above zero shows as at least "<0.1%".
pub fn format_percent(share: f64) -> String {
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if share == 0.0 {
        "0%".to_owned()
    } else if share < 0.001 {
        "<0.1%".to_owned()
    } else {
        format!("{:.1}%", share * 100.0)
    }
}

/// "1 sample" / "2,345 samples".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", format_count(n))
    }
}

/// The summary's time range as a person says it: "Last 24 hours", "Last 7 days".
pub fn format_range(from_ms: i64, to_ms: i64) -> String {
    let hours = ((to_ms - from_ms).max(0) as f64 / 3_600_000.0).round() as i64;
    match hours {
        0 | 1 => "Last hour".to_owned(),
        h if h >= 48 && h % 24 == 0 => format!("Last {} days", h / 24),
        h => format!("Last {h} hours"),
    }
}

/// Calls per minute: quiet endpoints must not read as "0.0".
pub fn format_rate(per_minute: f64) -> String {
    match per_minute {
        r if !r.is_finite() || r <= 0.0 => "0".to_owned(),
        r if r >= 10.0 => format!("{r:.0}"),
        r if r >= 1.0 => format!("{r:.1}"),
        r if r >= 0.01 => format!("{r:.2}"),
        _ => "<0.01".to_owned(),
    }
}

/// `1536` → `"1.5 KiB"`: cache sizes and memory.
pub fn format_bytes(bytes: f64) -> String {
    if !bytes.is_finite() || bytes < 0.0 {
        return "–".to_owned();
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} B", value.round() as u64)
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Milliseconds since the epoch as `2026-11-22 21:05 UTC`: one unambiguous clock for
/// everyone reading a shared link.
pub fn format_utc(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000);
    let days = minutes.div_euclid(1440);
    let minute_of_day = minutes.rem_euclid(1440);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// How long ago `then_ms` was at `now_ms`, in the largest whole unit.
pub fn format_age(then_ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
    }

    #[test]
    fn percentages_never_hide_failures() {
        assert_eq!(format_percent(0.0), "0%");
        assert_eq!(format_percent(0.0004), "<0.1%");
        assert_eq!(format_percent(0.125), "12.5%");
        assert_eq!(format_percent(1.0), "100.0%");
        assert_eq!(format_percent(f64::NAN), "0%");
        assert_eq!(format_percent(3.0), "100.0%");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "sample", "samples"), "1 sample");
        assert_eq!(plural(0, "sample", "samples"), "0 samples");
        assert_eq!(plural(4321, "call", "calls"), "4,321 calls");
    }

    #[test]
    fn ranges() {
        let h = 3_600_000;
        assert_eq!(format_range(0, 24 * h), "Last 24 hours");
        assert_eq!(format_range(0, 7 * 24 * h), "Last 7 days");
        assert_eq!(format_range(0, h), "Last hour");
        assert_eq!(format_range(0, 36 * h), "Last 36 hours");
    }
    #[test]
    fn rates() {
        assert_eq!(format_rate(0.0), "0");
        assert_eq!(format_rate(0.0125), "0.01");
        assert_eq!(format_rate(0.001), "<0.01");
        assert_eq!(format_rate(2.345), "2.3");
        assert_eq!(format_rate(123.4), "123");
    }

    #[test]
    fn bytes() {
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        assert_eq!(format_bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(format_bytes(f64::NAN), "–");
    }

    #[test]
    fn utc_times_and_ages() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34 UTC, a leap day.
        assert_eq!(format_utc(1_709_210_040_000), "2024-02-29 12:34 UTC");
        assert_eq!(format_age(0, 30_000), "just now");
        assert_eq!(format_age(0, 5 * 60_000), "5 min ago");
        assert_eq!(format_age(0, 3 * 3_600_000), "3 h ago");
        assert_eq!(format_age(0, 50 * 3_600_000), "2 d ago");
    }
}
