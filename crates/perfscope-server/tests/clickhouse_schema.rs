//! A collector opening a ClickHouse database that another perfscope layout wrote
//! refuses it, naming the database and both versions, instead of misreading its rows.

mod support_store;

use perfscope_server::store::{ClickHouseOptions, ClickHouseStore};
use support_store::{clickhouse_url, Setup};

fn run(base: &str, sql: &str) {
    let mut response = ureq::post(base)
        .config()
        .http_status_as_error(false)
        .build()
        .send(sql)
        .expect("ClickHouse answers");
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "{sql}: {text}");
}

fn open(base: &str, setup: &Setup) -> anyhow::Result<ClickHouseStore> {
    ClickHouseStore::open(ClickHouseOptions::new(
        format!("{base}/{}", setup.name),
        setup.dir.path().join("spill"),
    ))
}

#[test]
fn a_fresh_database_is_versioned_and_opens_again() {
    let Some(base) = clickhouse_url() else { return };
    let setup = Setup::new("schema_fresh", 100);
    drop(open(&base, &setup).expect("a fresh database opens"));
    let reopened = open(&base, &setup);
    assert!(
        reopened.is_ok(),
        "reopening failed: {:#}",
        reopened.err().unwrap()
    );
}

#[test]
fn a_database_from_before_schema_versions_is_refused() {
    let Some(base) = clickhouse_url() else { return };
    let setup = Setup::new("schema_unversioned", 100);
    run(&base, &format!("CREATE DATABASE {}", setup.name));
    run(
        &base,
        &format!(
            "CREATE TABLE {}.vitals (site String, id String, ts Int64) \
             ENGINE = ReplacingMergeTree() ORDER BY (site, ts, id)",
            setup.name
        ),
    );
    let message = format!("{:#}", open(&base, &setup).err().expect("refused"));
    assert!(message.contains(&setup.name), "{message}");
    assert!(message.contains("before schema versions"), "{message}");
    assert!(message.contains("new database"), "{message}");
}

#[test]
fn a_database_of_another_version_is_refused() {
    let Some(base) = clickhouse_url() else { return };
    let setup = Setup::new("schema_other", 100);
    drop(open(&base, &setup).expect("a fresh database opens"));
    run(
        &base,
        &format!(
            "INSERT INTO {}.schema_version (version) VALUES (99)",
            setup.name
        ),
    );
    let message = format!("{:#}", open(&base, &setup).err().expect("refused"));
    assert!(message.contains(&setup.name), "{message}");
    assert!(message.contains("schema versions [3, 99]"), "{message}");
}
