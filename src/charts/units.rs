//! Value formatting per [`Unit`]: the same text on axis ticks, in the hover readout and in
//! the screen-reader summary, so the three never disagree.

use super::series::Unit;

/// `value` with its unit, short enough for an axis label: "850 ms", "1.2 s", "95 %".
pub fn format_value(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    match unit {
        Unit::Milliseconds if value.abs() >= 1000.0 => format!("{} s", trimmed(value / 1000.0)),
        Unit::Milliseconds => format!("{} ms", trimmed(value)),
        Unit::Score => trimmed(value),
        Unit::Ratio => format!("{} %", trimmed(value * 100.0)),
        Unit::Bytes => format!("{}B", si_scaled(value)),
        Unit::BytesPerSecond => format!("{}B/s", si_scaled(value)),
        Unit::PerMinute => format!("{}/min", si_scaled(value)),
        Unit::Count => si_scaled(value).trim_end().to_owned(),
    }
}

/// Decimal prefixes (k = 1000), because the axis ticks are decimal round numbers and a
/// binary KiB would turn "500 k" into "488.3 Ki". Ends with a space for the unit symbol.
fn si_scaled(value: f64) -> String {
    const PREFIXES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, prefix) in PREFIXES {
        if value.abs() >= scale {
            return format!("{} {prefix}", trimmed(value / scale));
        }
    }
    format!("{} ", trimmed(value))
}

/// At most three significant digits, trailing zeros dropped: 0.0512 → "0.0512",
/// 1.50 → "1.5", 123.4 → "123", 12345 → "12345".
fn trimmed(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = if magnitude == 0.0 || magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        // Enough decimals for three significant digits of a small value (CLS 0.0123).
        (2 - magnitude.log10().floor() as i32).clamp(2, 6) as usize
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_switch_to_seconds_at_one_second() {
        assert_eq!(format_value(850.0, Unit::Milliseconds), "850 ms");
        assert_eq!(format_value(2.5, Unit::Milliseconds), "2.5 ms");
        assert_eq!(format_value(1000.0, Unit::Milliseconds), "1 s");
        assert_eq!(format_value(1250.0, Unit::Milliseconds), "1.25 s");
        assert_eq!(format_value(12_500.0, Unit::Milliseconds), "12.5 s");
    }

    #[test]
    fn ratios_are_percentages() {
        assert_eq!(format_value(0.95, Unit::Ratio), "95 %");
        assert_eq!(format_value(0.995, Unit::Ratio), "99.5 %");
        assert_eq!(format_value(0.0, Unit::Ratio), "0 %");
        assert_eq!(format_value(1.0, Unit::Ratio), "100 %");
    }

    #[test]
    fn small_scores_keep_three_significant_digits() {
        assert_eq!(format_value(0.0512, Unit::Score), "0.0512");
        assert_eq!(format_value(0.1, Unit::Score), "0.1");
        assert_eq!(format_value(87.0, Unit::Score), "87");
    }

    #[test]
    fn bytes_and_rates_use_decimal_prefixes() {
        assert_eq!(format_value(512.0, Unit::Bytes), "512 B");
        assert_eq!(format_value(1_500.0, Unit::Bytes), "1.5 kB");
        assert_eq!(format_value(20_000_000.0, Unit::Bytes), "20 MB");
        assert_eq!(format_value(3e9, Unit::BytesPerSecond), "3 GB/s");
        assert_eq!(format_value(120.0, Unit::PerMinute), "120 /min");
        assert_eq!(format_value(1_200.0, Unit::PerMinute), "1.2 k/min");
        assert_eq!(format_value(3_400_000.0, Unit::Count), "3.4 M");
        assert_eq!(format_value(7.0, Unit::Count), "7");
    }

    #[test]
    fn non_finite_values_show_a_dash() {
        assert_eq!(format_value(f64::NAN, Unit::Milliseconds), "–");
        assert_eq!(format_value(f64::INFINITY, Unit::Count), "–");
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(format_value(-0.0, Unit::Score), "0");
    }
}
