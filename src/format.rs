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
}
