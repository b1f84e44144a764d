//! `cargo xtask bench query --backend clickhouse`: the overview query's latency over
//! 1M and 10M generated events (30 days, one site) in a ClickHouse store, on a private
//! server this benchmark starts and removes again.
//!
//! The events are `bench_query`'s (same generator, same seed per size) and go in
//! through `Store::insert_batches`, the collector's write path. Beside the store's
//! query it times, as a reference measured in the same run, ClickHouse's own exact
//! percentiles over the raw rows, and it holds the store's percentiles to the exact
//! nearest-rank values of the generated data.

use crate::bench_query::{
    generate, overview_ranges, print_generation, print_scaling, site_scope, time, time_overview,
    Latency, OverviewLatency, Truth, EVENTS_PER_BATCH, SITE,
};
use crate::clickhouse;
use anyhow::{Context, Result};
use perfscope_server::store::sketch::nearest_rank;
use perfscope_server::store::{ClickHouseOptions, ClickHouseStore, Store, TimeRange, HOUR_MS};
use std::path::Path;
use std::time::Instant;

struct Figures {
    events: u64,
    /// `None` when an earlier run's database was reused.
    generate_secs: Option<f64>,
    disk_mb: f64,
    overview: OverviewLatency,
    raw_day: Latency,
    raw_month: Latency,
    max_error: f64,
    worst: String,
}

/// `keep` leaves the server's data (every generated database) in
/// `target/bench-query-clickhouse`; `reuse` queries the databases such a run left instead
/// of generating them again (the exact values are regenerated from the same seed).
pub fn run(root: &Path, sizes: &[u64], iterations: usize, keep: bool, reuse: bool) -> Result<()> {
    let dir = root.join("target/bench-query-clickhouse");
    if !reuse && dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("wiping {}", dir.display()))?;
    }
    let server = clickhouse::start_on(&dir, clickhouse::Logging::Queries)?;
    // The same end instant as the SQLite half: ragged ends at both range edges.
    let now = 1_767_225_600_000 + 13 * HOUR_MS + 17 * 60_000 + 12_345;
    println!(
        "bench query: ClickHouse store (server {}), one site, events over 30 days, {iterations} query runs per figure",
        server_version(&server.url)?
    );
    println!("overview query = vitals() and endpoints() side by side through the Store trait (`store::summarize`, what /api/v1/summary runs)");
    let mut results = Vec::new();
    for &size in sizes {
        let database = format!("bench_query_{size}");
        let spill = dir.join(format!("spill-{size}"));
        let reused = reuse && database_exists(&server.url, &database)?;
        if !reused {
            sql(&server.url, &format!("DROP DATABASE IF EXISTS {database}"))?;
        }
        let figures = measure(
            &server.url,
            &database,
            &spill,
            size,
            now,
            iterations,
            reused,
        );
        // Generated data never outlives its figures unless asked for, also when
        // measuring failed.
        let dropped = if keep {
            Ok(String::new())
        } else {
            sql(&server.url, &format!("DROP DATABASE IF EXISTS {database}"))
        };
        let figures = figures?;
        dropped?;
        print_figures(&figures);
        results.push(figures);
    }
    drop(server);
    if !keep {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let scaling: Vec<(u64, &OverviewLatency)> =
        results.iter().map(|r| (r.events, &r.overview)).collect();
    print_scaling(&scaling);
    let worst = results.iter().map(|r| r.max_error).fold(0.0f64, f64::max);
    println!(
        "accuracy: max relative error of p75/p95 vs exact nearest-rank: {:.3} % (target ≤ 1 %)",
        worst * 100.0
    );
    Ok(())
}

fn print_figures(f: &Figures) {
    print_generation(f.events, f.generate_secs, f.disk_mb);
    f.overview.print();
    println!(
        "    reference, ClickHouse quantilesExact over raw vitals rows: 24 h p50 {:.1} ms  p95 {:.1} ms | 30 d p50 {:.1} ms  p95 {:.1} ms",
        f.raw_day.p50_ms, f.raw_day.p95_ms, f.raw_month.p50_ms, f.raw_month.p95_ms
    );
    println!(
        "    accuracy: max relative error {:.3} % (worst: {})",
        f.max_error * 100.0,
        f.worst
    );
}

fn measure(
    url: &str,
    database: &str,
    spill: &Path,
    size: u64,
    now: i64,
    iterations: usize,
    reused: bool,
) -> Result<Figures> {
    let store = ClickHouseStore::open(ClickHouseOptions::new(format!("{url}/{database}"), spill))?;
    let started = Instant::now();
    let (truth, stored) = generate(&store, size, now, !reused)?;
    let batches = size / EVENTS_PER_BATCH as u64;
    store.flush()?;
    let generate_secs = (!reused).then(|| started.elapsed().as_secs_f64());
    let stored = if reused {
        count_vitals_and_calls(url, database)?
    } else {
        stored
    };
    anyhow::ensure!(
        stored == batches * EVENTS_PER_BATCH as u64,
        "stored {stored} events of {}",
        batches * EVENTS_PER_BATCH as u64
    );
    // Parts merge in the background: let them settle so every size is timed alike.
    sql(url, &format!("OPTIMIZE TABLE {database}.vitals"))?;
    let disk_mb = sql(
        url,
        &format!(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '{database}' AND active"
        ),
    )?
    .trim()
    .parse::<f64>()
    .unwrap_or(0.0)
        / 1e6;

    let (day, month) = overview_ranges(now);
    let overview = time_overview(&store, now, iterations)?;
    let reference = |range: TimeRange| {
        let exact = format!(
            "SELECT name, quantilesExact(0.5, 0.75, 0.9, 0.95, 0.99)(value) FROM {database}.vitals \
             WHERE site = '{SITE}' AND ts >= {} AND ts < {} GROUP BY name",
            range.from, range.to
        );
        time(iterations.min(20), || sql(url, &exact).map(drop))
    };
    let raw_day = reference(day)?;
    let raw_month = reference(month)?;
    for (label, range) in [("24 h", day), ("30 d", month)] {
        print_statements(url, &store, label, range)?;
    }

    let (max_error, worst) = accuracy(&store, &truth, &[("24 h", day), ("30 d", month)])?;
    Ok(Figures {
        events: stored,
        generate_secs,
        disk_mb,
        overview,
        raw_day,
        raw_month,
        max_error,
        worst,
    })
}

/// The worst relative error of the store's p75 and p95 (vitals) and p95 (endpoints)
/// against the exact nearest-rank values of the generated data.
fn accuracy(
    store: &dyn Store,
    truth: &Truth,
    ranges: &[(&str, TimeRange)],
) -> Result<(f64, String)> {
    let mut max_error = 0.0f64;
    let mut worst = String::new();
    for (label, range) in ranges {
        let scope = site_scope(*range);
        let mut estimates: Vec<(String, Option<f64>, f64)> = store
            .vitals(&scope)?
            .into_iter()
            .map(|v| {
                (
                    v.name.as_str().to_string(),
                    v.p75,
                    v.p95.unwrap_or(f64::NAN),
                )
            })
            .collect();
        estimates.extend(
            store
                .endpoints(&scope)?
                .into_iter()
                .map(|e| (format!("{} {}", e.method, e.path), None, e.p95)),
        );
        for (metric, p75, p95) in estimates {
            let mut values: Vec<f64> = truth.values[&metric]
                .iter()
                .filter(|(ts, _)| (range.from..range.to).contains(ts))
                .map(|(_, v)| *v)
                .collect();
            values.sort_by(f64::total_cmp);
            for (q, estimate) in [(0.75, p75), (0.95, Some(p95))] {
                let Some(estimate) = estimate else { continue };
                let exact = nearest_rank(&values, q).context("no values")?;
                let error = if exact == 0.0 {
                    estimate.abs()
                } else {
                    (estimate - exact).abs() / exact
                };
                if error > max_error {
                    max_error = error;
                    worst = format!("{label} {metric} p{}: {estimate} vs {exact}", q * 100.0);
                }
            }
        }
    }
    Ok((max_error, worst))
}

fn database_exists(url: &str, database: &str) -> Result<bool> {
    Ok(sql(
        url,
        &format!("SELECT count() FROM system.databases WHERE name = '{database}'"),
    )?
    .trim()
        == "1")
}

fn count_vitals_and_calls(url: &str, database: &str) -> Result<u64> {
    let counted = sql(
        url,
        &format!(
            "SELECT (SELECT uniqExact(id) FROM {database}.vitals) + \
             (SELECT uniqExact(id) FROM {database}.api_calls)"
        ),
    )?;
    counted
        .trim()
        .parse()
        .with_context(|| format!("counting events: {counted}"))
}

/// What one overview asks ClickHouse, from `system.query_log`: each statement's server
/// time, rows read and rows answered, in the order they started.
fn print_statements(url: &str, store: &dyn Store, label: &str, range: TimeRange) -> Result<()> {
    let scope = site_scope(range);
    // Statements are told apart by their start second, which ClickHouse's log keeps up
    // to a second behind this clock: two seconds of quiet on either side.
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let wait_until = |second: u64| {
        while now() < second {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    let from = now() + 2;
    wait_until(from);
    let started = Instant::now();
    store.vitals(&scope)?;
    store.endpoints(&scope)?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let to = now();
    wait_until(to + 2);
    sql(url, "SYSTEM FLUSH LOGS")?;
    let rows = sql(
        url,
        &format!(
            "SELECT query_duration_ms, read_rows, result_rows, \
             substring(query, position(query, ' FROM ') + 6, 80) \
             FROM system.query_log WHERE type = 2 \
             AND toUInt64(query_start_time) >= {from} - 1 AND toUInt64(query_start_time) <= {to} \
             AND query NOT LIKE 'SYSTEM%' ORDER BY event_time, query_start_time"
        ),
    )?;
    println!("    one overview {label} ({wall_ms:.1} ms wall), statements in system.query_log:");
    println!("      server ms  rows read  rows out  FROM …");
    let (mut count, mut total_ms, mut longest_ms) = (0, 0u64, 0u64);
    for line in rows.lines() {
        let fields: Vec<&str> = line.splitn(4, '\t').collect();
        if let [ms, read, out, statement] = fields[..] {
            println!("      {ms:>9}  {read:>9}  {out:>8}  {statement}");
            let ms: u64 = ms.parse().unwrap_or(0);
            count += 1;
            total_ms += ms;
            longest_ms = longest_ms.max(ms);
        }
    }
    println!("      {count} statements, server time {total_ms} ms in all, longest {longest_ms} ms");
    Ok(())
}

fn server_version(url: &str) -> Result<String> {
    Ok(sql(url, "SELECT version()")?.trim().to_string())
}

/// One statement over the HTTP interface: the reference half and housekeeping, never
/// the store's own queries.
fn sql(url: &str, statement: &str) -> Result<String> {
    let mut response = ureq::post(format!("{url}/"))
        .send(statement)
        .with_context(|| format!("ClickHouse: {statement}"))?;
    Ok(response.body_mut().read_to_string()?)
}
