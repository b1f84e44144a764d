//! Why a call to the collector failed, worded for the person looking at the dashboard.

use std::fmt;

/// `Clone` because a failed resource is read by every view that renders it, and one
/// shared request hands the same failure to every caller.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// No answer at all: the collector is down, the network is gone, or the browser
    /// blocked the request. The detail is the browser's own wording, kept for the console.
    Network(String),
    /// 401: no session, or it expired. The client sends the person to the login page.
    Unauthorized,
    /// 429: too many attempts; `retry_after_secs` from the `Retry-After` header.
    TooManyRequests { retry_after_secs: Option<u64> },
    /// Any other 4xx/5xx status.
    Http {
        status: u16,
        /// `error.message` from the body, or the status text when the body was not ours
        /// (a proxy's HTML error page, for instance).
        message: String,
    },
    /// The answer arrived but did not have the expected shape: usually a dashboard and a
    /// collector from different releases.
    Decode(String),
}

impl ApiError {
    /// Only a missing answer is worth another try: a 4xx will not change by repeating it.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Network(_))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Network(_) => f.write_str(
                "Could not reach the perfscope collector. Check your connection and that \
                 the server is running, then try again.",
            ),
            ApiError::Unauthorized => {
                f.write_str("Your session has ended. Sign in again to see this page.")
            }
            ApiError::TooManyRequests {
                retry_after_secs: Some(secs),
            } => write!(f, "Too many attempts. Try again in {secs} seconds."),
            ApiError::TooManyRequests {
                retry_after_secs: None,
            } => f.write_str("Too many attempts. Wait a moment, then try again."),
            ApiError::Http { status, message } if *status >= 500 => write!(
                f,
                "The collector failed to answer: {message} (HTTP {status}). Try again \
                 shortly; if it persists, check the server's log."
            ),
            ApiError::Http { status, message } => write!(f, "{message} (HTTP {status})"),
            ApiError::Decode(detail) => write!(
                f,
                "The collector sent an answer this dashboard cannot read ({detail}). \
                 Are the dashboard and the server from the same release?"
            ),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_failures_are_retried() {
        assert!(ApiError::Network("offline".into()).is_retryable());
        assert!(!ApiError::Unauthorized.is_retryable());
        let bad = ApiError::Http {
            status: 422,
            message: "`route` must be a URL path".into(),
        };
        assert!(!bad.is_retryable());
        assert_eq!(bad.to_string(), "`route` must be a URL path (HTTP 422)");
    }

    #[test]
    fn messages_are_sentences() {
        let throttled = ApiError::TooManyRequests {
            retry_after_secs: Some(30),
        };
        assert_eq!(
            throttled.to_string(),
            "Too many attempts. Try again in 30 seconds."
        );
        let server = ApiError::Http {
            status: 503,
            message: "database busy".into(),
        };
        assert!(server.to_string().contains("check the server's log"));
        assert!(ApiError::Network("x".into())
            .to_string()
            .starts_with("Could not reach"));
    }
}
