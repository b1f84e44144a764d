//! Browser family from a User-Agent header: the one dimension only the collector knows.
//!
//! Hand-written because the answer is one of five words: the UA-parsing crates carry a
//! regex database (and its start-up cost) to name hundreds of browsers, versions and
//! devices we would then throw away. The order of the checks is the whole trick:
//! Chromium-based browsers also say "Chrome" and "Safari", Chrome on iOS says "Safari",
//! so the more specific tokens are looked for first.

/// The families the API reports (`Filter::browser`, breakdown keys).
pub const BROWSER_FAMILIES: [&str; 5] = ["chrome", "edge", "firefox", "safari", "other"];

/// `chrome`, `edge`, `firefox`, `safari` or `other` (bots, other engines, no header).
pub fn browser_family(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent else {
        return "other";
    };
    let has = |token: &str| ua.contains(token);
    let lower = ua.to_ascii_lowercase();
    if ["bot", "crawler", "spider", "headlesschrome", "lighthouse"]
        .iter()
        .any(|t| lower.contains(t))
    {
        // Synthetic traffic is not a real visitor's browser.
        return "other";
    }
    if has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/") {
        return "edge";
    }
    // Chromium-based browsers with their own identity and share.
    if has("OPR/")
        || has("Opera")
        || has("SamsungBrowser/")
        || has("YaBrowser/")
        || has("UCBrowser/")
    {
        return "other";
    }
    if has("Firefox/") || has("FxiOS/") {
        return "firefox";
    }
    if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        return "chrome";
    }
    if has("Safari/") && (has("Version/") || has("Mobile/")) {
        return "safari";
    }
    "other"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_user_agents_map_to_their_family() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "chrome"),
            ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "chrome"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "chrome"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "edge"),
            ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", "edge"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "firefox"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "firefox"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "safari"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "safari"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "other"),
            ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "other"),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "other"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "other"),
            ("curl/8.5.0", "other"),
            ("", "other"),
        ];
        for (ua, family) in cases {
            assert_eq!(browser_family(Some(ua)), family, "{ua}");
            assert!(BROWSER_FAMILIES.contains(&family));
        }
        assert_eq!(browser_family(None), "other");
    }
}
