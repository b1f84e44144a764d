//! Which perfscope layout a ClickHouse database holds, so that a collector refuses a
//! database whose rows it would misread instead of answering with wrong numbers.

use super::http::{quote, Client};
use serde::Deserialize;

/// Grows whenever tables, or what their rows mean, change. 2: rollup cells are summed
/// under per-rebuild versions. 3: ten-minute rollups, which a database of 2 lacks for
/// the data it holds. Databases from before 2 carry no version at all.
pub const SCHEMA_VERSION: u32 = 3;

const VERSION_TABLE: &str = "schema_version";

/// A table every perfscope layout has had: its presence without a version means a
/// database from before versions were written.
const ALWAYS_PRESENT: &str = "vitals";

/// What a database holds that this perfscope can use.
#[derive(Debug, PartialEq, Eq)]
pub enum Layout {
    /// Nothing yet (or only a version table that a crash left empty).
    Fresh,
    /// This perfscope's layout, possibly missing tables that `IF NOT EXISTS` adds.
    Current,
}

/// The database holds another perfscope version's layout.
#[derive(Debug, thiserror::Error)]
#[error(
    "ClickHouse database `{database}` holds {found}, and this perfscope uses schema \
     version {SCHEMA_VERSION}: its rollups would be misread. Point storage.url at a new \
     database (or drop this one)"
)]
pub struct IncompatibleSchema {
    database: String,
    found: String,
}

#[derive(Deserialize)]
struct TableName {
    name: String,
}

#[derive(Deserialize)]
struct VersionRow {
    version: u32,
}

/// Reads the layout of `client`'s database; an `IncompatibleSchema` error when it is
/// another version's.
pub fn check(client: &Client) -> anyhow::Result<Layout> {
    let database = client.database();
    let tables: Vec<TableName> = client.rows(&format!(
        "SELECT name FROM system.tables WHERE database = {} AND name IN ({}, {})",
        quote(database),
        quote(VERSION_TABLE),
        quote(ALWAYS_PRESENT)
    ))?;
    let has = |table: &str| tables.iter().any(|t| t.name == table);
    let versions: Vec<u32> = if has(VERSION_TABLE) {
        client
            .rows::<VersionRow>(&format!(
                "SELECT DISTINCT version FROM {database}.{VERSION_TABLE} ORDER BY version"
            ))?
            .into_iter()
            .map(|row| row.version)
            .collect()
    } else {
        Vec::new()
    };
    let found = match versions.as_slice() {
        [] if !has(ALWAYS_PRESENT) => return Ok(Layout::Fresh),
        [SCHEMA_VERSION] => return Ok(Layout::Current),
        [] => "the tables of a perfscope from before schema versions".to_owned(),
        [one] => format!("schema version {one}"),
        several => format!("schema versions {several:?}"),
    };
    Err(IncompatibleSchema {
        database: database.to_owned(),
        found,
    }
    .into())
}

/// The statements that record this version in a fresh database. They run before any
/// other table is made, so a half-made database is never taken for an old one.
pub fn record(database: &str) -> [String; 2] {
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {database}.{VERSION_TABLE} (version UInt32) \
             ENGINE = ReplacingMergeTree() ORDER BY version"
        ),
        format!("INSERT INTO {database}.{VERSION_TABLE} (version) VALUES ({SCHEMA_VERSION})"),
    ]
}
