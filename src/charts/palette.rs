//! Chart colours read from CSS custom properties, so the charts follow the light and dark
//! themes of style/charts.css; this module turns the computed values into RGB.

/// An sRGB colour as the canvas is given it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Parses what `getComputedStyle().getPropertyValue("--x")` returns for a colour written
/// as `#rgb`, `#rrggbb`, `rgb(r g b)` or `rgb(r, g, b)`; `None` for anything else, and
/// the caller falls back to a built-in colour.
pub fn parse_css_colour(text: &str) -> Option<Rgb> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        let digit = |i: usize| u8::from_str_radix(hex.get(i..i + 1)?, 16).ok();
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        return match hex.len() {
            3 => Some(Rgb(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            6 => Some(Rgb(byte(0)?, byte(2)?, byte(4)?)),
            _ => None,
        };
    }
    let inner = text
        .strip_prefix("rgb(")
        .or_else(|| text.strip_prefix("rgba("))?
        .strip_suffix(')')?;
    let mut channels = inner
        .split(|c: char| c == ',' || c == '/' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<f64>()
                .ok()
                .map(|v| v.clamp(0.0, 255.0).round() as u8)
        });
    Some(Rgb(channels.next()??, channels.next()??, channels.next()??))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_browsers_return() {
        assert_eq!(parse_css_colour(" #1f5fcc"), Some(Rgb(0x1f, 0x5f, 0xcc)));
        assert_eq!(parse_css_colour("#fff"), Some(Rgb(255, 255, 255)));
        assert_eq!(parse_css_colour("rgb(31, 95, 204)"), Some(Rgb(31, 95, 204)));
        assert_eq!(
            parse_css_colour("rgb(31 95 204 / 50%)"),
            Some(Rgb(31, 95, 204))
        );
        assert_eq!(parse_css_colour("rgba(1,2,3,0.5)"), Some(Rgb(1, 2, 3)));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert_eq!(parse_css_colour(""), None);
        assert_eq!(parse_css_colour("#12"), None);
        assert_eq!(parse_css_colour("#zzzzzz"), None);
        assert_eq!(parse_css_colour("hsl(10 20% 30%)"), None);
        assert_eq!(parse_css_colour("rgb(1, 2)"), None);
    }
}
