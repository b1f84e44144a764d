//! What `fetch_wrap` and `xhr_wrap` share: which requests count as the page's API calls,
//! their route names, and turning a settled request into an `ApiCallEvent`.

use crate::browser::string_property;
use crate::measurement::Measurement;
use crate::pipeline::record;
use crate::url_path::{path_of, route_of, RoutePattern};
use perfscope_model::{ApiCallEvent, ApiOutcome};
use web_sys::{Location, Url};

/// An absolute URL reduced to what identifies an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    origin: String,
    path: String,
    href: String,
}

fn resolve(url: &str, location: &Location) -> Option<Endpoint> {
    let base = string_property(location, "href")?;
    let resolved = Url::new_with_base(url, &base).ok()?;
    Some(Endpoint {
        origin: string_property(&resolved, "origin")?,
        path: string_property(&resolved, "pathname")?,
        href: string_property(&resolved, "href")?,
    })
}

/// Which requests are recorded, and under what route name.
pub(crate) struct ApiCallPolicy {
    location: Location,
    ingest: Option<(String, String)>,
    route_patterns: Vec<RoutePattern>,
    exclude: Vec<RoutePattern>,
}

/// A request that has started and will be recorded when it settles.
pub(crate) struct StartedCall {
    method: String,
    path: String,
    url: String,
    started_ms: f64,
}

impl ApiCallPolicy {
    pub(crate) fn new(
        location: Location,
        ingest_url: &str,
        route_patterns: Vec<RoutePattern>,
        exclude: Vec<RoutePattern>,
    ) -> Self {
        let ingest = resolve(ingest_url, &location).map(|e| (e.origin, e.path));
        ApiCallPolicy {
            location,
            ingest,
            route_patterns,
            exclude,
        }
    }

    /// `None` for the tracker's own sends and for excluded paths.
    pub(crate) fn start(&self, url: &str, method: &str, started_ms: f64) -> Option<StartedCall> {
        let (origin, path, href) = match resolve(url, &self.location) {
            Some(endpoint) => (endpoint.origin, endpoint.path, endpoint.href),
            // Only when `URL` cannot parse it, i.e. a call that is going to fail.
            None => (String::new(), path_of(url)?, String::new()),
        };
        if self.ingest.as_ref() == Some(&(origin, path.clone())) {
            return None;
        }
        if self.exclude.iter().any(|pattern| pattern.matches(&path)) {
            return None;
        }
        Some(StartedCall {
            method: method.to_ascii_uppercase(),
            path: route_of(&path, &self.route_patterns),
            url: href,
            started_ms,
        })
    }
}

/// `ok` below 400; the browser's status is all a page sees of a failed response.
pub fn outcome_of_status(status: u16) -> ApiOutcome {
    if status >= 400 {
        ApiOutcome::HttpError
    } else {
        ApiOutcome::Ok
    }
}

impl StartedCall {
    /// Records the call; `status` 0 for network errors and aborts.
    pub(crate) fn finish(
        self,
        status: u16,
        outcome: ApiOutcome,
        response_size: Option<u64>,
        ended_ms: f64,
    ) {
        let StartedCall {
            method,
            path,
            url,
            started_ms,
        } = self;
        record(started_ms, move |id, ts| {
            let call = ApiCallEvent {
                id,
                ts,
                method,
                path,
                status,
                duration: (ended_ms - started_ms).max(0.0),
                outcome,
                response_size,
                timing: None,
            };
            Measurement::api_call(&call, url, started_ms)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_from_400_are_http_errors() {
        assert_eq!(outcome_of_status(200), ApiOutcome::Ok);
        assert_eq!(outcome_of_status(304), ApiOutcome::Ok);
        assert_eq!(outcome_of_status(404), ApiOutcome::HttpError);
        assert_eq!(outcome_of_status(503), ApiOutcome::HttpError);
    }
}
