//! `cargo xtask bench query`: the overview query's latency over 1M and 10M generated
//! events (30 days, one site) in a fresh SQLite store, and the sketch's accuracy
//! against exact nearest-rank percentiles of the same data.
//!
//! Events go in through `Store::insert_batches` in big group commits, the same path the
//! collector's writer uses. Beside the rollup query it times, as a reference measured in
//! the same run, the exact percentile scan over raw rows that the store replaced.
//!
//! The sizes' overview queries are timed interleaved, one run of each size in turn, so
//! that a shared machine slowing down for a minute slows every size alike instead of
//! skewing the ratio between them.

use anyhow::{Context, Result};
use perfscope_model::{
    ApiCallEvent, ApiOutcome, Attribution, Batch, ConnectionType, DeviceClass, Filter,
    NavigationType, PageContext, VitalEvent, VitalName,
};
use perfscope_server::store::sketch::nearest_rank;
use perfscope_server::store::{
    AcceptedBatch, Scope, SqliteStore, Store, TimeRange, DAY_MS, HOUR_MS,
};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

pub(crate) const SITE: &str = "bench";
/// A page view's batch: five vitals and five API calls, as a tracker flushes them.
pub(crate) const EVENTS_PER_BATCH: usize = 10;
/// Batches per group commit while loading (50,000 events per transaction): the same
/// store code as the collector's writer, in fewer, larger transactions, so rows of one
/// rollup cell are merged in memory more often before they are upserted.
pub(crate) const BATCHES_PER_COMMIT: usize = 5000;

pub struct Options {
    pub sizes: Vec<u64>,
    pub iterations: usize,
    /// Leave the generated databases in `target/bench-query` for inspection.
    pub keep: bool,
    /// Query the databases a `keep` run left instead of generating them again (the
    /// exact values are regenerated from the same seed, without inserting), so that
    /// two versions of the query code can be compared on the same data.
    pub reuse: bool,
}

/// Exact values kept while generating, to hold the sketch to.
#[derive(Default)]
pub(crate) struct Truth {
    /// (ts, value) per vital name or endpoint.
    pub(crate) values: HashMap<String, Vec<(i64, f64)>>,
}

/// One size's figures apart from the overview's latency, which is timed across sizes.
struct Figures {
    events: u64,
    /// `None` when an earlier run's database was reused.
    generate_secs: Option<f64>,
    db_mb: f64,
    raw_day: Latency,
    max_error: f64,
    worst: String,
}

#[derive(Clone, Copy)]
pub(crate) struct Latency {
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let dir = root.join("target/bench-query");
    std::fs::create_dir_all(&dir)?;
    // Generated timestamps end at a fixed, unaligned instant so both ranges have
    // ragged ends (raw and minute pieces), as a dashboard's "last 24 h" does.
    let now = 1_767_225_600_000 + 13 * HOUR_MS + 17 * 60_000 + 12_345;
    println!(
        "bench query: SQLite store, one site, events over 30 days, {} query runs per figure, timed once the load's WAL is checkpointed",
        options.iterations
    );
    println!("overview query = vitals() then endpoints() through the Store trait (`store::summarize`, what /api/v1/summary runs)");
    let databases: Vec<_> = options
        .sizes
        .iter()
        .map(|size| dir.join(format!("query-{size}.db")))
        .collect();
    let measured = measure_all(&databases, options, now);
    // Gigabytes at 10M events: not left behind in target/ unless asked for, also when
    // measuring failed.
    if !options.keep {
        for db in &databases {
            remove_database(db)?;
        }
    }
    let (results, overviews) = measured?;
    for (figures, overview) in results.iter().zip(&overviews) {
        print_figures(figures, overview);
    }
    let scaling: Vec<(u64, &OverviewLatency)> = results
        .iter()
        .map(|r| r.events)
        .zip(overviews.iter())
        .collect();
    print_scaling(&scaling);
    let worst = results.iter().map(|r| r.max_error).fold(0.0f64, f64::max);
    println!(
        "accuracy: max relative error of sketch p75/p95 vs exact nearest-rank: {:.3} % (target ≤ 1 %)",
        worst * 100.0
    );
    Ok(())
}

/// Generates (or reuses) and checks every size, then times their overviews together.
fn measure_all(
    databases: &[std::path::PathBuf],
    options: &Options,
    now: i64,
) -> Result<(Vec<Figures>, Vec<OverviewLatency>)> {
    let mut results = Vec::new();
    for (db, &size) in databases.iter().zip(&options.sizes) {
        let reuse = options.reuse && db.exists();
        if !reuse {
            remove_database(db)?;
        }
        let figures = measure(db, size, now, options.iterations, reuse)?;
        print_generation(figures.events, figures.generate_secs, figures.db_mb);
        results.push(figures);
    }
    let stores = databases
        .iter()
        .map(|db| SqliteStore::open(db))
        .collect::<Result<Vec<_>>>()?;
    let stores: Vec<&dyn Store> = stores.iter().map(|s| s as &dyn Store).collect();
    println!("timing the overview of every size, interleaved");
    let overviews = time_overviews(&stores, now, options.iterations)?;
    Ok((results, overviews))
}

fn remove_database(db: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", db.display());
        // SQLite removes `-shm` itself when the last connection closes, which may be
        // after the store was dropped: a file already gone is what was wanted.
        match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("removing {file}"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first line of a size's figures: how its events came to be, and their size on disk.
pub(crate) fn print_generation(events: u64, generate_secs: Option<f64>, disk_mb: f64) {
    match generate_secs {
        Some(secs) => println!(
            "{events:>9} events: generated in {secs:.1} s ({:.0} events/s through insert_batches), on disk {disk_mb:.0} MB",
            events as f64 / secs,
        ),
        None => println!(
            "{events:>9} events: reused from an earlier --keep run, on disk {disk_mb:.0} MB"
        ),
    }
}

fn print_figures(f: &Figures, overview: &OverviewLatency) {
    println!("{:>9} events:", f.events);
    overview.print();
    println!(
        "    reference, exact scan of raw LCP+INP+CLS+FCP+TTFB rows, 24 h: p50 {:.1} ms  p95 {:.1} ms",
        f.raw_day.p50_ms, f.raw_day.p95_ms
    );
    println!(
        "    accuracy: max relative error {:.3} % (worst: {})",
        f.max_error * 100.0,
        f.worst
    );
}

fn measure(db: &Path, size: u64, now: i64, iterations: usize, reuse: bool) -> Result<Figures> {
    let store = SqliteStore::open(db)?;
    let started = Instant::now();
    let (truth, mut stored) = generate(&store, size, now, !reuse)?;
    let batches = size / EVENTS_PER_BATCH as u64;
    let generate_secs = (!reuse).then(|| started.elapsed().as_secs_f64());
    if reuse {
        // What the kept database holds, so a different earlier run cannot pass as this one.
        stored = store
            .sites()?
            .iter()
            .find(|s| s.site == SITE)
            .map_or(0, |s| s.events);
    }
    anyhow::ensure!(
        stored == batches * EVENTS_PER_BATCH as u64,
        "stored {stored} events of {}",
        batches * EVENTS_PER_BATCH as u64
    );
    settle(db)?;
    let db_mb = std::fs::metadata(db)?.len() as f64 / 1e6
        + std::fs::metadata(format!("{}-wal", db.display()))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0);

    let (day, month) = overview_ranges(now);
    let raw_day = raw_scan(db, day, iterations.min(20))?;

    let mut max_error = 0.0f64;
    let mut worst = String::new();
    for (label, range) in [("24 h", day), ("30 d", month)] {
        let scope = site_scope(range);
        let mut estimates: Vec<(String, f64, f64)> = store
            .vitals(&scope)?
            .into_iter()
            .map(|v| {
                (
                    v.name.as_str().to_string(),
                    v.p75.unwrap_or(f64::NAN),
                    v.p95.unwrap_or(f64::NAN),
                )
            })
            .collect();
        // Endpoints report p95 (no p75), checked against the exact p95.
        estimates.extend(
            store
                .endpoints(&scope)?
                .into_iter()
                .map(|e| (format!("{} {}", e.method, e.path), f64::NAN, e.p95)),
        );
        for (metric, p75, p95) in estimates {
            let mut values: Vec<f64> = truth.values[&metric]
                .iter()
                .filter(|(ts, _)| (range.from..range.to).contains(ts))
                .map(|(_, v)| *v)
                .collect();
            values.sort_by(f64::total_cmp);
            for (q, estimate) in [(0.75, p75), (0.95, p95)] {
                if estimate.is_nan() {
                    continue;
                }
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
    Ok(Figures {
        events: stored,
        generate_secs,
        db_mb,
        raw_day,
        max_error,
        worst,
    })
}

/// The exact query the rollups replaced: every raw value of each vital in the range,
/// sorted. Run on its own connection so it shares no cache with the store.
/// Copies the write-ahead log into the database before anything is timed. Loading puts
/// millions of events in within minutes, so the log ends up far longer than the
/// collector's checkpointer ever lets it grow under steady ingest; timing queries while
/// that backlog is copied would measure the load, not the query.
fn settle(db: &Path) -> Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The store's own checkpointer may be mid-pass; a checkpoint that meets it reports
    // busy at once rather than waiting, so ask again until one finishes.
    for _ in 0..600 {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy == 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("the WAL checkpoint before timing did not finish within a minute")
}

fn raw_scan(db: &Path, range: TimeRange, iterations: usize) -> Result<Latency> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare(
        "SELECT value FROM vitals WHERE site = ?1 AND name = ?2 AND ts >= ?3 AND ts < ?4
         ORDER BY value",
    )?;
    time(iterations, || {
        for name in VitalName::ALL {
            let values: Vec<f64> = stmt
                .query_map(
                    rusqlite::params![SITE, name.as_str(), range.from, range.to],
                    |row| row.get(0),
                )?
                .collect::<Result<_, _>>()?;
            anyhow::ensure!(nearest_rank(&values, 0.75).is_some());
        }
        Ok(())
    })
}

/// Generates `size` events over the 30 days before `now` (the same ones for the same
/// size), inserting them through `store` in large commits unless `insert` is false (a
/// kept database is reused); returns the exact values and how many events were stored.
pub(crate) fn generate(
    store: &dyn Store,
    size: u64,
    now: i64,
    insert: bool,
) -> Result<(Truth, u64)> {
    let mut truth = Truth::default();
    let mut rng = fastrand::Rng::with_seed(size);
    let batches = size / EVENTS_PER_BATCH as u64;
    let start_ts = now - 30 * DAY_MS;
    let step = (30 * DAY_MS) as f64 / batches as f64;
    let mut pending = Vec::with_capacity(BATCHES_PER_COMMIT);
    let mut stored = 0;
    for n in 0..batches {
        let ts = start_ts + (n as f64 * step) as i64;
        pending.push(page_view(&mut rng, n, ts, &mut truth));
        if !insert {
            pending.clear();
        } else if pending.len() == BATCHES_PER_COMMIT || n + 1 == batches {
            let outcomes = store.insert_batches(&pending)?;
            stored += outcomes.iter().map(|o| o.stored).sum::<u64>();
            pending.clear();
        }
    }
    Ok((truth, stored))
}

/// The last 24 hours and the last 30 days before `now`: the overview's two ranges.
pub(crate) fn overview_ranges(now: i64) -> (TimeRange, TimeRange) {
    let day = TimeRange {
        from: now - DAY_MS,
        to: now,
    };
    let month = TimeRange {
        from: now - 30 * DAY_MS,
        to: now + 1,
    };
    (day, month)
}

impl OverviewLatency {
    pub(crate) fn print(&self) {
        println!(
            "    overview 24 h: p50 {:.2} ms  p95 {:.2} ms | overview 30 d: p50 {:.2} ms  p95 {:.2} ms",
            self.day.p50_ms, self.day.p95_ms, self.month.p50_ms, self.month.p95_ms
        );
        println!(
            "    30 d parts: vitals() p50 {:.2} ms  p95 {:.2} ms | endpoints() p50 {:.2} ms  p95 {:.2} ms",
            self.month_vitals.p50_ms,
            self.month_vitals.p95_ms,
            self.month_endpoints.p50_ms,
            self.month_endpoints.p95_ms
        );
    }
}

/// How the overview's p95 grows from the smallest to the largest data set.
pub(crate) fn print_scaling(results: &[(u64, &OverviewLatency)]) {
    if let [(small_events, small), .., (large_events, large)] = results {
        println!(
            "ratio {large_events}/{small_events} events, 30 d p95: {:.2}   24 h p95: {:.2}   (target ≤ 1.5)",
            large.month.p95_ms / small.month.p95_ms,
            large.day.p95_ms / small.day.p95_ms
        );
    }
}

/// The benchmark site over `range`, unfiltered.
pub(crate) fn site_scope(range: TimeRange) -> Scope {
    Scope {
        site: SITE.into(),
        range,
        filter: Filter::default(),
    }
}

/// How long the overview (vitals and endpoints of the site) takes, whatever the backend.
pub(crate) struct OverviewLatency {
    pub(crate) day: Latency,
    pub(crate) month: Latency,
    pub(crate) month_vitals: Latency,
    pub(crate) month_endpoints: Latency,
}

pub(crate) fn time_overview(
    store: &dyn Store,
    now: i64,
    iterations: usize,
) -> Result<OverviewLatency> {
    let mut overviews = time_overviews(&[store], now, iterations)?;
    overviews.pop().context("one store, one overview")
}

/// The overview's latency for each of `stores`, timed interleaved (see the module doc).
pub(crate) fn time_overviews(
    stores: &[&dyn Store],
    now: i64,
    iterations: usize,
) -> Result<Vec<OverviewLatency>> {
    let (day, month) = overview_ranges(now);
    let overview = |range: TimeRange| -> Result<Vec<Latency>> {
        let scope = site_scope(range);
        time_each(stores.len(), iterations, |i| {
            let summary = perfscope_server::store::summarize(stores[i], scope.clone())?;
            anyhow::ensure!(summary.vitals[0].count > 0 && !summary.endpoints.is_empty());
            Ok(())
        })
    };
    let month_scope = site_scope(month);
    let days = overview(day)?;
    let months = overview(month)?;
    let vitals = time_each(stores.len(), iterations, |i| {
        stores[i].vitals(&month_scope).map(drop)
    })?;
    let endpoints = time_each(stores.len(), iterations, |i| {
        stores[i].endpoints(&month_scope).map(drop)
    })?;
    Ok((0..stores.len())
        .map(|i| OverviewLatency {
            day: days[i],
            month: months[i],
            month_vitals: vitals[i],
            month_endpoints: endpoints[i],
        })
        .collect())
}

pub(crate) fn time(iterations: usize, mut run: impl FnMut() -> Result<()>) -> Result<Latency> {
    let mut latencies = time_each(1, iterations, |_| run())?;
    latencies.pop().context("one latency")
}

/// Times `run(i)` for each of `n` subjects `iterations` times, one run of each in
/// turn, starting each round with the next subject so none always runs first.
fn time_each(
    n: usize,
    iterations: usize,
    mut run: impl FnMut(usize) -> Result<()>,
) -> Result<Vec<Latency>> {
    for i in 0..n {
        run(i)?; // warm the page cache once
    }
    let mut samples = vec![Vec::with_capacity(iterations); n];
    for round in 0..iterations {
        for turn in 0..n {
            let i = (round + turn) % n;
            let started = Instant::now();
            run(i)?;
            samples[i].push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(samples
        .into_iter()
        .map(|mut samples| {
            samples.sort_by(f64::total_cmp);
            Latency {
                p50_ms: nearest_rank(&samples, 0.5).unwrap_or(0.0),
                p95_ms: nearest_rank(&samples, 0.95).unwrap_or(0.0),
            }
        })
        .collect())
}

/// Picks from `(item, weight)` pairs.
fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut at = rng.u32(0..total);
    for (item, weight) in items {
        if at < *weight {
            return *item;
        }
        at -= weight;
    }
    items[items.len() - 1].0
}

/// Log-normal around `median`, the usual shape of web timings.
fn log_normal(rng: &mut fastrand::Rng, median: f64, sigma: f64) -> f64 {
    let (u1, u2) = (rng.f64().max(1e-12), rng.f64());
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * normal).exp()
}

const ROUTES: usize = 60;
const ENDPOINTS: [(&str, &str, f64); 20] = [
    ("GET", "/api/products", 120.0),
    ("GET", "/api/products/:id", 80.0),
    ("GET", "/api/cart", 60.0),
    ("POST", "/api/cart/items", 150.0),
    ("DELETE", "/api/cart/items/:id", 90.0),
    ("GET", "/api/user", 40.0),
    ("POST", "/api/login", 300.0),
    ("POST", "/api/checkout", 900.0),
    ("GET", "/api/search", 250.0),
    ("GET", "/api/recommendations", 400.0),
    ("GET", "/api/orders", 200.0),
    ("GET", "/api/orders/:id", 110.0),
    ("GET", "/api/reviews", 180.0),
    ("POST", "/api/reviews", 220.0),
    ("GET", "/api/inventory", 70.0),
    ("GET", "/api/config", 20.0),
    ("POST", "/api/events", 35.0),
    ("GET", "/api/stores", 130.0),
    ("PUT", "/api/user/settings", 160.0),
    ("GET", "/api/images/:id", 55.0),
];

pub(crate) fn page_view(
    rng: &mut fastrand::Rng,
    n: u64,
    ts: i64,
    truth: &mut Truth,
) -> AcceptedBatch {
    // Route popularity falls off like real sites (a few pages take most views).
    let route_rank = ((rng.f64().powi(3)) * ROUTES as f64) as usize;
    let page = match route_rank {
        0 => "/".to_string(),
        r => format!("/section-{}/:id", r),
    };
    let device = pick(
        rng,
        &[
            (DeviceClass::Desktop, 55),
            (DeviceClass::Mobile, 40),
            (DeviceClass::Tablet, 5),
        ],
    );
    let browser = pick(
        rng,
        &[("chrome", 65), ("safari", 20), ("firefox", 8), ("edge", 7)],
    );
    let connection = pick(
        rng,
        &[
            (ConnectionType::Cellular4g, 80),
            (ConnectionType::Cellular3g, 12),
            (ConnectionType::Unknown, 8),
        ],
    );
    let navigation_type = pick(
        rng,
        &[
            (NavigationType::Navigate, 80),
            (NavigationType::Reload, 10),
            (NavigationType::BackForward, 10),
        ],
    );
    let slow = if device == DeviceClass::Mobile {
        1.6
    } else {
        1.0
    };
    // Ids in generation (and so time) order: each raw insert appends to the primary key
    // instead of landing on a random page of a table of millions, which made loading
    // 10M events take minutes longer without changing what is stored.
    let page_view = format!("pv{n:010}");
    let mut vitals = Vec::with_capacity(5);
    for (name, median, sigma) in [
        (VitalName::Lcp, 2000.0 * slow, 0.6),
        (VitalName::Fcp, 1200.0 * slow, 0.5),
        (VitalName::Ttfb, 400.0, 0.7),
        (VitalName::Inp, 150.0 * slow, 0.8),
        (VitalName::Cls, 0.04, 1.2),
    ] {
        let value = if name == VitalName::Cls && rng.u8(0..10) < 4 {
            0.0
        } else {
            let v = log_normal(rng, median, sigma);
            if name == VitalName::Cls {
                (v * 10_000.0).round() / 10_000.0
            } else {
                v.round().max(1.0)
            }
        };
        let event_ts = ts + rng.i64(0..5_000);
        truth
            .values
            .entry(name.as_str().to_string())
            .or_default()
            .push((event_ts, value));
        vitals.push(VitalEvent {
            id: format!("{page_view}-{}", name.as_str()),
            ts: event_ts as f64,
            name,
            value,
            attribution: (name != VitalName::Ttfb && name != VitalName::Fcp).then(|| Attribution {
                target: Some(format!("main > .block-{}", rng.u8(0..12))),
                ..Attribution::default()
            }),
        });
    }
    let api_calls = (0..5)
        .map(|i| {
            let (method, path, median) = ENDPOINTS[((rng.f64().powi(2)) * 20.0) as usize];
            let duration = log_normal(rng, median, 0.7).max(1.0);
            let event_ts = ts + rng.i64(0..20_000);
            truth
                .values
                .entry(format!("{method} {path}"))
                .or_default()
                .push((event_ts, duration));
            let failed = rng.u16(0..1000) < 15;
            ApiCallEvent {
                id: format!("{page_view}-api{i}"),
                ts: event_ts as f64,
                method: method.into(),
                path: path.into(),
                status: if failed { 503 } else { 200 },
                duration,
                outcome: if failed {
                    ApiOutcome::HttpError
                } else {
                    ApiOutcome::Ok
                },
                response_size: Some(rng.u64(200..50_000)),
                timing: None,
            }
        })
        .collect();
    AcceptedBatch {
        batch: Batch {
            site: SITE.into(),
            page_view,
            seq: 0,
            page,
            context: PageContext {
                navigation_type,
                device,
                connection,
                viewport_width: 1280,
                viewport_height: 800,
            },
            vitals,
            api_calls,
            ..Batch::default()
        },
        browser: browser.into(),
        received_ms: ts,
    }
}
