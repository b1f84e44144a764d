//! ClickHouse's HTTP interface: where the server is, statements, JSONEachRow in and out.

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Where a ClickHouse server is and which database perfscope owns on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port/`, where statements are POSTed.
    pub base: String,
    pub database: String,
}

impl Endpoint {
    /// Accepts `clickhouse://host:port/db` (HTTP interface, port 8123 when omitted) and
    /// `http://host:port/db`; the database defaults to `perfscope`.
    pub fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let parsed = url::Url::parse(url).with_context(|| format!("storage.url `{url}`"))?;
        match parsed.scheme() {
            "clickhouse" | "http" => {}
            other => bail!("storage.url `{url}`: scheme `{other}` is neither clickhouse nor http"),
        }
        let host = parsed
            .host_str()
            .with_context(|| format!("storage.url `{url}` has no host"))?;
        let port = parsed.port().unwrap_or(8123);
        let database = parsed.path().trim_matches('/');
        let database = if database.is_empty() {
            "perfscope"
        } else {
            database
        };
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!("storage.url `{url}`: database `{database}` must be letters, digits and _");
        }
        Ok(Endpoint {
            base: format!("http://{host}:{port}/"),
            database: database.to_string(),
        })
    }
}

/// One HTTP connection pool to one server. Calls block.
pub struct Client {
    endpoint: Endpoint,
    agent: ureq::Agent,
}

/// A statement ClickHouse refused or could not be reached for.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    #[error("ClickHouse unreachable: {0}")]
    Unreachable(String),
    #[error("ClickHouse answered {status}: {message}")]
    Refused { status: u16, message: String },
}

impl Client {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(2)))
            .timeout_global(Some(timeout))
            .build()
            .into();
        Client { endpoint, agent }
    }

    pub fn database(&self) -> &str {
        &self.endpoint.database
    }

    /// Runs `sql` with `body` as its data (the rows of an `INSERT … FORMAT`), returning
    /// the response text.
    pub fn execute(&self, sql: &str, body: &[u8]) -> Result<String, ClickHouseError> {
        // 64-bit integers come back as JSON numbers, not strings; long `IN` lists of
        // the duplicate check exceed the default 256 KiB statement limit, and a
        // rebuild after a big flush or replay names thousands of buckets and page
        // views, beyond the default 50,000 syntax tree nodes.
        let request = self
            .agent
            .post(&self.endpoint.base)
            .query("output_format_json_quote_64bit_integers", "0")
            .query("max_query_size", "67108864")
            .query("max_ast_elements", "50000000")
            .query("max_expanded_ast_elements", "50000000");
        // A statement with data goes in the query string; one without, in the body,
        // where its length is not limited by URL sizes.
        let response = if body.is_empty() {
            request.send(sql.as_bytes())
        } else {
            request.query("query", sql).send(body)
        };
        let mut response = response.map_err(|e| ClickHouseError::Unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| ClickHouseError::Unreachable(e.to_string()))?;
        if status != 200 {
            return Err(ClickHouseError::Refused {
                status,
                message: text.trim().to_string(),
            });
        }
        Ok(text)
    }

    /// A statement without data: DDL, `ALTER`, `SELECT … ` whose answer is ignored.
    pub fn command(&self, sql: &str) -> Result<(), ClickHouseError> {
        self.execute(sql, &[]).map(|_| ())
    }

    /// `SELECT …` answered as one JSON object per row.
    pub fn rows<T: DeserializeOwned>(&self, select: &str) -> anyhow::Result<Vec<T>> {
        let text = self.execute(&format!("{select} FORMAT JSONEachRow"), &[])?;
        text.lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_str(line)
                    .with_context(|| format!("decoding ClickHouse row `{line}`"))
            })
            .collect()
    }

    /// Inserts `rows` (JSONEachRow lines, newline-terminated) into `table`.
    pub fn insert(&self, table: &str, rows: &[u8]) -> Result<(), ClickHouseError> {
        let sql = format!(
            "INSERT INTO {}.{table} FORMAT JSONEachRow",
            self.endpoint.database
        );
        self.execute(&sql, rows).map(|_| ())
    }
}

/// A string as a ClickHouse SQL literal.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\0' => quoted.push_str("\\0"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_both_spellings() {
        let e = Endpoint::parse("clickhouse://127.0.0.1:18123/ps_test").unwrap();
        assert_eq!(e.base, "http://127.0.0.1:18123/");
        assert_eq!(e.database, "ps_test");
        let e = Endpoint::parse("http://db.internal:8123").unwrap();
        assert_eq!(
            (e.base.as_str(), e.database.as_str()),
            ("http://db.internal:8123/", "perfscope")
        );
        assert!(Endpoint::parse("clickhouse://h/x;drop").is_err());
        assert!(Endpoint::parse("postgres://h/x").is_err());
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
    }
}
