//! Query-string parameters of the read API, decoded and checked once, with every
//! error naming the parameter and the reason.

use crate::error::AppError;
use crate::store::{Scope, TimeRange, DAY_MS, OVERFLOW};
use crate::user_agent::BROWSER_FAMILIES;
use perfscope_model::{
    is_url_path, validate_site_key, ConnectionType, DeviceClass, Dimension, FieldError, Filter,
    NavigationType, VitalName, HTTP_METHODS,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Every parameter any read endpoint takes; each endpoint says which it accepts, so a
/// typo or a parameter of another endpoint is an error rather than silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    pub site: Option<String>,
    /// Milliseconds since the Unix epoch; defaults to 24 hours before `to`.
    pub from: Option<i64>,
    /// Milliseconds since the Unix epoch; defaults to now.
    pub to: Option<i64>,
    pub route: Option<String>,
    pub device: Option<String>,
    pub browser: Option<String>,
    pub connection: Option<String>,
    pub navigation_type: Option<String>,
    pub metric: Option<String>,
    pub by: Option<String>,
    pub limit: Option<u64>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub kind: Option<String>,
}

/// Site, range and filters: what every read endpoint accepts.
pub const SCOPE: &[&str] = &[
    "site",
    "from",
    "to",
    "route",
    "device",
    "browser",
    "connection",
    "navigation_type",
];

/// Latest timestamp a range may name (2100-01-01): keeps range arithmetic far from
/// overflow whatever a client sends.
const MAX_TS: i64 = 4_102_444_800_000;

fn invalid(field: &str, reason: impl Into<String>) -> AppError {
    AppError::InvalidField(FieldError::new(field, reason))
}

impl QueryParams {
    /// Decodes `query` and refuses parameters outside `SCOPE` and `extra`.
    pub fn parse(query: &str, extra: &[&str]) -> Result<QueryParams, AppError> {
        let params: QueryParams = parse_query(query)?;
        for name in params.present() {
            if !SCOPE.contains(&name) && !extra.contains(&name) {
                return Err(invalid(name, "is not a parameter of this endpoint"));
            }
        }
        Ok(params)
    }

    fn present(&self) -> Vec<&'static str> {
        let fields: [(&'static str, bool); 14] = [
            ("site", self.site.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("route", self.route.is_some()),
            ("device", self.device.is_some()),
            ("browser", self.browser.is_some()),
            ("connection", self.connection.is_some()),
            ("navigation_type", self.navigation_type.is_some()),
            ("metric", self.metric.is_some()),
            ("by", self.by.is_some()),
            ("limit", self.limit.is_some()),
            ("method", self.method.is_some()),
            ("path", self.path.is_some()),
            ("kind", self.kind.is_some()),
        ];
        fields
            .into_iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| name)
            .collect()
    }

    pub fn scope(&self, now_ms: i64) -> Result<Scope, AppError> {
        let site = self
            .site
            .clone()
            .ok_or_else(|| invalid("site", "is required"))?;
        validate_site_key(&site).map_err(AppError::InvalidField)?;
        for (field, value) in [("from", self.from), ("to", self.to)] {
            if let Some(value) = value {
                if !(0..=MAX_TS).contains(&value) {
                    return Err(invalid(
                        field,
                        format!("must be milliseconds since 1970 between 0 and {MAX_TS}"),
                    ));
                }
            }
        }
        let to = self.to.unwrap_or(now_ms);
        let from = self.from.unwrap_or(to.saturating_sub(DAY_MS).max(0));
        if from >= to {
            return Err(invalid("from", "must be earlier than `to`"));
        }
        Ok(Scope {
            site,
            range: TimeRange { from, to },
            filter: self.filter()?,
        })
    }

    fn filter(&self) -> Result<Filter, AppError> {
        let route = match &self.route {
            Some(route) if route == OVERFLOW || is_url_path(route, 1024) => Some(route.clone()),
            Some(_) => {
                return Err(invalid(
                    "route",
                    format!("must be a URL path starting with `/`, or `{OVERFLOW}`"),
                ))
            }
            None => None,
        };
        let device = parse_choice("device", self.device.as_deref(), DeviceClass::parse, || {
            DeviceClass::ALL.map(DeviceClass::as_str).join(", ")
        })?;
        let connection = parse_choice(
            "connection",
            self.connection.as_deref(),
            ConnectionType::parse,
            || ConnectionType::ALL.map(ConnectionType::as_str).join(", "),
        )?;
        let navigation_type = parse_choice(
            "navigation_type",
            self.navigation_type.as_deref(),
            NavigationType::parse,
            || NavigationType::ALL.map(NavigationType::as_str).join(", "),
        )?;
        let browser = parse_choice(
            "browser",
            self.browser.as_deref(),
            |b| BROWSER_FAMILIES.contains(&b).then(|| b.to_string()),
            || BROWSER_FAMILIES.join(", "),
        )?;
        Ok(Filter {
            route,
            device,
            browser,
            connection,
            navigation_type,
        })
    }

    /// The `metric` parameter as a vital; required.
    pub fn vital(&self, allowed: &[VitalName]) -> Result<VitalName, AppError> {
        let names = || {
            allowed
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let metric = self
            .metric
            .as_deref()
            .ok_or_else(|| invalid("metric", format!("is required: one of {}", names())))?;
        VitalName::parse(metric)
            .filter(|name| allowed.contains(name))
            .ok_or_else(|| invalid("metric", format!("must be one of {}", names())))
    }

    pub fn dimension(&self) -> Result<Dimension, AppError> {
        let names = || Dimension::ALL.map(Dimension::as_str).join(", ");
        let by = self
            .by
            .as_deref()
            .ok_or_else(|| invalid("by", format!("is required: one of {}", names())))?;
        Dimension::parse(by).ok_or_else(|| invalid("by", format!("must be one of {}", names())))
    }

    /// `limit`, `default` when absent, `1..=max`.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, AppError> {
        match self.limit {
            None => Ok(default),
            Some(limit) if (1..=max as u64).contains(&limit) => Ok(limit as usize),
            Some(_) => Err(invalid("limit", format!("must be between 1 and {max}"))),
        }
    }

    /// `method` and `path` of one endpoint, both or neither.
    pub fn endpoint(&self) -> Result<Option<(String, String)>, AppError> {
        match (&self.method, &self.path) {
            (None, None) => Ok(None),
            (Some(method), Some(path)) => {
                if !HTTP_METHODS.contains(&method.as_str()) {
                    return Err(invalid(
                        "method",
                        format!("must be one of {}", HTTP_METHODS.join(", ")),
                    ));
                }
                if path != OVERFLOW && !is_url_path(path, 1024) {
                    return Err(invalid(
                        "path",
                        format!("must be a URL path starting with `/`, or `{OVERFLOW}`"),
                    ));
                }
                Ok(Some((method.clone(), path.clone())))
            }
            (Some(_), None) => Err(invalid("path", "is required together with `method`")),
            (None, Some(_)) => Err(invalid("method", "is required together with `path`")),
        }
    }
}

fn parse_choice<T>(
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    choices: impl Fn() -> String,
) -> Result<Option<T>, AppError> {
    value
        .map(|v| parse(v).ok_or_else(|| invalid(field, format!("must be one of {}", choices()))))
        .transpose()
}

/// Query strings decoded with the failing parameter named in the error.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let field = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if field == "." {
            "query".to_string()
        } else {
            field
        };
        AppError::InvalidField(FieldError::new(field, message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl std::fmt::Debug, AppError>) -> String {
        match result {
            Err(AppError::InvalidField(e)) => e.field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn scope_defaults_to_the_last_day_and_checks_each_parameter() {
        let params = QueryParams::parse("site=demo&device=mobile&route=/a", &[]).unwrap();
        let scope = params.scope(10 * DAY_MS).unwrap();
        assert_eq!(scope.range.from, 9 * DAY_MS);
        assert_eq!(scope.filter.device, Some(DeviceClass::Mobile));
        assert_eq!(scope.filter.route.as_deref(), Some("/a"));

        for (query, field) in [
            ("from=1", "site"),
            ("site=demo&device=phone", "device"),
            ("site=demo&browser=netscape", "browser"),
            ("site=demo&connection=5g", "connection"),
            ("site=demo&navigation_type=teleport", "navigation_type"),
            ("site=demo&route=users", "route"),
            ("site=demo&from=-5", "from"),
            ("site=demo&to=99999999999999999", "to"),
        ] {
            let params = QueryParams::parse(query, &[]).unwrap();
            assert_eq!(field_of(params.scope(DAY_MS)), field, "{query}");
        }
        assert_eq!(
            field_of(QueryParams::parse("site=demo&limit=3", &[])),
            "limit"
        );
        assert_eq!(
            field_of(QueryParams::parse("site=demo&colour=red", &[])),
            "colour"
        );
    }
}
