//! `cargo xtask bench ingest`: a load generator over loopback HTTP against the release
//! collector, printed beside two ceilings measured in the same run — the discard route
//! (decode and validate, no storage) and raw batched SQLite inserts of the same rows
//! into the collector's own schema.

use crate::shell;
use anyhow::{bail, Context, Result};
use perfscope_model::{
    ApiCallEvent, ApiOutcome, Attribution, Batch, DeviceClass, InteractionType, LoginRequest,
    NetworkTiming, PageContext, VitalEvent, VitalName, LOGIN_PATH,
};
use perfscope_server::store::api_call_block::{self, StoredCall};
use perfscope_server::store::seen_counters::{split_counter_id, CounterSet};
use perfscope_server::store::{SqliteStore, MINUTE_MS};
use perfscope_server::user_agent::browser_family;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const EVENTS_PER_BATCH: usize = 50;
/// The bench signs in to read `/api/v1/sites`, which needs a session.
const ADMIN_USER: &str = "admin";
const ADMIN_PASSWORD: &str = "bench-ingest-admin-password";
/// Stands for the page view id in the serialised template; event ids derive from it.
const PAGE_VIEW_MARK: &str = "PAGEVIEW";
/// Where an event's time starts in the serialised batch.
const TS_KEY: &str = "\"ts\":";
/// What a current Chrome on Android sends, so the browser dimension is a real one.
const USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
/// The collector's writer commits at most this many batches per transaction.
const WRITER_MAX_GROUP: usize = 256;
const TARGET_EVENTS_PER_SEC: f64 = 150_000.0;
const TARGET_RSS_MB: f64 = 200.0;
/// Linux reports process CPU time in these ticks (USER_HZ, fixed at 100 on x86_64).
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

#[derive(clap::Args)]
pub struct IngestBenchArgs {
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive HTTP connections, each sending its next batch as soon as
    /// the last one is answered. The writer can only group as many batches into one
    /// commit as there are requests waiting, so this bounds the group size.
    #[arg(long, default_value_t = 128)]
    connections: usize,
}

pub fn run(root: &Path, args: &IngestBenchArgs) -> Result<()> {
    // One build for both, so they share one feature resolution and nothing is built
    // twice.
    shell::run(shell::cargo().args([
        "build",
        "--release",
        "-p",
        "perfscope-server",
        "-p",
        "xtask",
    ]))?;
    if cfg!(debug_assertions) {
        // An unoptimised load generator (and an unoptimised SQLite in the raw
        // reference) would measure the compiler, not the collector.
        return shell::run(Command::new(root.join("target/release/xtask")).args([
            "bench",
            "ingest",
            "--seconds",
            &args.seconds.to_string(),
            "--connections",
            &args.connections.to_string(),
        ]));
    }
    let work = root.join("target/bench-ingest");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let phase = Duration::from_secs(args.seconds);
    let load_before = load_average();

    let collector = Collector::start(&root.join("target/release/perfscope"), &work)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .user_agent(USER_AGENT)
        .build()?;
    let ingest_url = format!("{}/api/v1/ingest", collector.base_url);
    let discard_url = format!("{}/api/v1/ingest/discard", collector.base_url);
    let template = Arc::new(BodyTemplate::new()?);

    eprintln!("warming up…");
    let warm = runtime.block_on(load(
        &http,
        &ingest_url,
        &template,
        args.connections,
        Duration::from_secs(2),
        "warm",
        &collector,
    ))?;
    eprintln!("ingest: {} s…", args.seconds);
    let ingest = runtime.block_on(load(
        &http,
        &ingest_url,
        &template,
        args.connections,
        phase,
        "ing",
        &collector,
    ))?;
    let rss_after_ingest = collector.peak_rss_mb()?;
    eprintln!("discard route: {} s…", args.seconds);
    let discard = runtime.block_on(load(
        &http,
        &discard_url,
        &template,
        args.connections,
        phase,
        "dis",
        &collector,
    ))?;
    let rss_after_all = collector.peak_rss_mb()?;
    let stored = runtime.block_on(stored_events(&http, &collector.base_url))?;
    drop(collector);
    let _ = std::fs::remove_file(work.join("perfscope.db"));

    let group = args.connections.clamp(1, WRITER_MAX_GROUP);
    eprintln!("raw SQLite inserts: {} s…", args.seconds);
    let sqlite = raw_sqlite_inserts(&work.join("raw.db"), phase, group, args.connections)?;
    let _ = std::fs::remove_file(work.join("raw.db"));
    eprintln!("Store::insert_batches without HTTP: {} s…", args.seconds);
    let store = store_inserts(&work.join("store.db"), phase, group, args.connections)?;
    let load_after = load_average();
    let _ = std::fs::remove_dir_all(&work);

    println!();
    println!(
        "ingest bench: batches of {EVENTS_PER_BATCH} events, {} keep-alive connections, {} s per phase, release build, loopback HTTP",
        args.connections, args.seconds
    );
    println!(
        "machine: {} cores; load average before {load_before}, after {load_after}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:>8} {:>14} {:>8}",
        "", "events/s", "batches/s", "p50 ms", "p99 ms", "CPU s srv/gen", "CPU µs/ev"
    );
    ingest.print("POST /api/v1/ingest (stored)");
    discard.print("POST /api/v1/ingest/discard (no storage)");
    println!(
        "{:<44} {:>10.0} {:>10.0} {:>8} {:>8} {:>14} {:>8.2}",
        format!("raw SQLite inserts, {group} batches/commit"),
        sqlite.events_per_sec,
        sqlite.events_per_sec / EVENTS_PER_BATCH as f64,
        "-",
        "-",
        "-",
        sqlite.cpu_us_per_event
    );
    println!(
        "{:<44} {:>10.0} {:>10.0} {:>8} {:>8} {:>14} {:>8.2}",
        format!("Store::insert_batches, {group} batches/call"),
        store.events_per_sec,
        store.events_per_sec / EVENTS_PER_BATCH as f64,
        "-",
        "-",
        "-",
        store.cpu_us_per_event
    );
    println!(
        "  (CPU µs/ev: the collector's CPU time per event stored or discarded, or the inserting thread's; it holds still when other processes take the cores, events/s does not)"
    );
    println!(
        "  (raw: the collector's schema, the same event and page-view rows, one transaction per group; no HTTP, JSON, validation or rollups)"
    );
    println!(
        "  (Store::insert_batches: the collector's writer alone, rollups and dedup included, on decoded batches; no HTTP or JSON)"
    );
    println!(
        "collector peak RSS (VmHWM): {rss_after_ingest:.1} MB after ingest, {rss_after_all:.1} MB after the discard phase"
    );
    let acknowledged = (warm.ok_batches + ingest.ok_batches) * EVENTS_PER_BATCH as u64;
    println!(
        "refused during ingest: {} (429/503); events acknowledged {acknowledged}, stored per /api/v1/sites {stored}",
        ingest.refused
    );
    if stored < acknowledged {
        bail!("the collector acknowledged {acknowledged} events but stored only {stored}");
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "target ≥ {TARGET_EVENTS_PER_SEC:.0} events/s: {}; target RSS ≤ {TARGET_RSS_MB:.0} MB: {}",
        verdict(ingest.events_per_sec() >= TARGET_EVENTS_PER_SEC),
        verdict(rss_after_ingest <= TARGET_RSS_MB)
    );
    Ok(())
}

/// The 1, 5 and 15 minute load averages: the machine is shared, so every figure is
/// printed with how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// User plus system CPU seconds a process has used so far (`self` or a pid).
fn cpu_seconds(process: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat"))?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("malformed /proc/<pid>/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc/<pid>/stat")?
            .parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / CLOCK_TICKS_PER_SEC)
}

struct Collector {
    process: Child,
    base_url: String,
}

impl Collector {
    fn start(binary: &Path, work: &Path) -> Result<Collector> {
        let config = work.join("perfscope.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\n\
                 [storage]\npath = \"{}\"\n\
                 [auth]\nadmin_user = \"{ADMIN_USER}\"\nadmin_password = \"{ADMIN_PASSWORD}\"\n\
                 [ingest]\ndiscard_route = true\n\
                 [ingest.rate_limit]\n\
                 per_ip_per_second = 1000000\nper_ip_burst = 1000000\n\
                 per_site_per_second = 1000000\nper_site_burst = 1000000\n\
                 [[sites]]\nkey = \"bench\"\n",
                work.join("perfscope.db").display()
            ),
        )?;
        let mut process = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut stdout = BufReader::new(process.stdout.take().context("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let Some(base_url) = line.trim().strip_prefix("perfscope listening on ") else {
            bail!("unexpected first line from the collector: {line:?}");
        };
        let base_url = base_url.to_string();
        std::thread::spawn(move || for _ in stdout.lines() {});
        Ok(Collector { process, base_url })
    }

    /// Peak resident set size so far, from the kernel's own accounting.
    fn peak_rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in /proc/<pid>/status")?;
        Ok(kib / 1024.0)
    }

    fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(&self.process.id().to_string())
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The realistic batch serialised once and cut at its page view id and at each event's
/// `ts`, so a fresh batch per request is a few copies: the generator shares the cores
/// with the collector and should spend them on sending, not on JSON. Event times are
/// filled in at send time, as a tracker's are: a run-long constant would make every
/// event of the run tie on time, which no real traffic does.
struct BodyTemplate {
    pieces: Vec<Vec<u8>>,
    /// What goes after each piece but the last.
    holes: Vec<Hole>,
    len: usize,
}

#[derive(Clone, Copy)]
enum Hole {
    PageView,
    /// The send time plus this many milliseconds.
    Ts(i64),
}

impl BodyTemplate {
    fn new() -> Result<BodyTemplate> {
        let base = now_ms();
        let json = serde_json::to_string(&realistic_batch(PAGE_VIEW_MARK))?;
        let mut pieces = Vec::new();
        let mut holes = Vec::new();
        let mut rest = json.as_str();
        loop {
            let mark = rest.find(PAGE_VIEW_MARK).map(|at| (at, Hole::PageView));
            let ts = rest.find(TS_KEY).map(|at| (at + TS_KEY.len(), Hole::Ts(0)));
            let next = match (mark, ts) {
                (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
                (a, b) => a.or(b),
            };
            let Some((at, hole)) = next else {
                pieces.push(rest.as_bytes().to_vec());
                break;
            };
            pieces.push(rest.as_bytes()[..at].to_vec());
            rest = &rest[at..];
            match hole {
                Hole::PageView => {
                    rest = &rest[PAGE_VIEW_MARK.len()..];
                    holes.push(Hole::PageView);
                }
                Hole::Ts(_) => {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .context("a number after \"ts\":")?;
                    let ts: f64 = rest[..end].parse()?;
                    holes.push(Hole::Ts((ts - base).round() as i64));
                    rest = &rest[end..];
                }
            }
        }
        let len = json.len();
        Ok(BodyTemplate { pieces, holes, len })
    }

    fn body(&self, page_view: &str) -> Vec<u8> {
        let now = now_ms() as i64;
        let mut body = Vec::with_capacity(self.len + self.pieces.len() * page_view.len());
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                match self.holes[i - 1] {
                    Hole::PageView => body.extend_from_slice(page_view.as_bytes()),
                    Hole::Ts(offset) => {
                        body.extend_from_slice((now + offset).to_string().as_bytes())
                    }
                }
            }
            body.extend_from_slice(piece);
        }
        body
    }
}

struct LoadResult {
    ok_batches: u64,
    refused: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    collector_cpu_s: f64,
    generator_cpu_s: f64,
}

impl LoadResult {
    fn events_per_sec(&self) -> f64 {
        (self.ok_batches * EVENTS_PER_BATCH as u64) as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, q: f64) -> f64 {
        let index = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        self.latencies_us.get(index).copied().unwrap_or(0) as f64 / 1000.0
    }

    fn print(&self, label: &str) {
        let events = (self.ok_batches * EVENTS_PER_BATCH as u64).max(1) as f64;
        println!(
            "{label:<44} {:>10.0} {:>10.0} {:>8.2} {:>8.2} {:>14} {:>8.2}",
            self.events_per_sec(),
            self.ok_batches as f64 / self.elapsed.as_secs_f64(),
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
            format!("{:.1}/{:.1}", self.collector_cpu_s, self.generator_cpu_s),
            self.collector_cpu_s * 1e6 / events
        );
    }
}

/// `connections` closed-loop senders for `duration`; each batch is new (fresh page
/// view and event ids), so nothing is a duplicate.
async fn load(
    http: &reqwest::Client,
    url: &str,
    template: &Arc<BodyTemplate>,
    connections: usize,
    duration: Duration,
    tag: &'static str,
    collector: &Collector,
) -> Result<LoadResult> {
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let (collector_cpu, generator_cpu) = (collector.cpu_seconds()?, cpu_seconds("self")?);
    let start = Instant::now();
    let senders: Vec<_> = (0..connections)
        .map(|sender| {
            let (http, url, stop, refused, bodies) = (
                http.clone(),
                url.to_string(),
                stop.clone(),
                refused.clone(),
                template.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let body = bodies.body(&format!("{tag}{sender}-{n}"));
                    n += 1;
                    let sent = Instant::now();
                    let response = http
                        .post(&url)
                        .header("content-type", "text/plain")
                        .body(body)
                        .send()
                        .await?;
                    let status = response.status();
                    let _ = response.bytes().await?;
                    if status.is_success() {
                        latencies.push(sent.elapsed().as_micros() as u64);
                    } else if status.as_u16() == 429 || status.as_u16() == 503 {
                        refused.fetch_add(1, Ordering::Relaxed);
                    } else {
                        bail!("{url} answered {status}");
                    }
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for sender in senders {
        latencies_us.extend(sender.await??);
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Ok(LoadResult {
        ok_batches: latencies_us.len() as u64,
        refused: refused.load(Ordering::Relaxed),
        elapsed,
        latencies_us,
        collector_cpu_s: collector.cpu_seconds()? - collector_cpu,
        generator_cpu_s: cpu_seconds("self")? - generator_cpu,
    })
}

async fn stored_events(http: &reqwest::Client, base_url: &str) -> Result<u64> {
    let login = http
        .post(format!("{base_url}{LOGIN_PATH}"))
        .json(&LoginRequest {
            username: ADMIN_USER.into(),
            password: ADMIN_PASSWORD.into(),
        })
        .send()
        .await?
        .error_for_status()?;
    let session = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with("perfscope_session="))
        .context("signing in set no session cookie")?
        .to_string();
    let sites: serde_json::Value = http
        .get(format!("{base_url}/api/v1/sites"))
        .header("cookie", session)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(sites
        .as_array()
        .into_iter()
        .flatten()
        .filter(|site| site["site"] == "bench")
        .filter_map(|site| site["events"].as_u64())
        .sum())
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as f64
}

/// One page view's worth: the five vitals with attribution, then API calls with
/// resource timing, as a real tracker sends them.
pub(crate) fn realistic_batch(page_view: &str) -> Batch {
    let ts = now_ms();
    let vital = |i: usize, name: VitalName, value: f64, attribution: Attribution| VitalEvent {
        id: format!("{page_view}-{i}"),
        ts,
        name,
        value,
        attribution: Some(attribution),
    };
    let mut vitals = vec![
        vital(
            0,
            VitalName::Lcp,
            1840.0,
            Attribution {
                target: Some("main > section.hero > img.hero-image".into()),
                url: Some("https://cdn.shop.example/img/hero-1200.avif".into()),
                time_to_first_byte: Some(210.0),
                resource_load_delay: Some(120.0),
                resource_load_duration: Some(900.0),
                element_render_delay: Some(610.0),
                ..Attribution::default()
            },
        ),
        vital(
            1,
            VitalName::Inp,
            232.0,
            Attribution {
                target: Some("button#add-to-cart".into()),
                interaction_type: Some(InteractionType::Pointer),
                input_delay: Some(12.0),
                processing_duration: Some(180.0),
                presentation_delay: Some(40.0),
                scripts: vec!["https://shop.example/assets/app-4f2a9c.js".into()],
                ..Attribution::default()
            },
        ),
        vital(
            2,
            VitalName::Cls,
            0.08,
            Attribution {
                target: Some("div.promo-banner".into()),
                largest_shift_time: Some(1320.0),
                largest_shift_value: Some(0.06),
                ..Attribution::default()
            },
        ),
    ];
    vitals.push(VitalEvent {
        id: format!("{page_view}-3"),
        ts,
        name: VitalName::Fcp,
        value: 920.0,
        attribution: None,
    });
    vitals.push(VitalEvent {
        id: format!("{page_view}-4"),
        ts,
        name: VitalName::Ttfb,
        value: 210.0,
        attribution: None,
    });
    const ENDPOINTS: [(&str, &str); 5] = [
        ("GET", "/api/products/:id"),
        ("GET", "/api/cart"),
        ("POST", "/api/cart/items"),
        ("GET", "/api/recommendations"),
        ("GET", "/api/search"),
    ];
    let api_calls = (vitals.len()..EVENTS_PER_BATCH)
        .map(|i| {
            let (method, path) = ENDPOINTS[i % ENDPOINTS.len()];
            let status = if i % 17 == 0 { 503 } else { 200 };
            ApiCallEvent {
                id: format!("{page_view}-{i}"),
                ts: ts + i as f64,
                method: method.into(),
                path: path.into(),
                status,
                duration: 40.0 + (i * 7 % 300) as f64,
                outcome: if status == 200 {
                    ApiOutcome::Ok
                } else {
                    ApiOutcome::HttpError
                },
                response_size: Some(1200 + i as u64 * 31),
                timing: Some(NetworkTiming {
                    dns: 0.0,
                    connect: 0.0,
                    ttfb: 30.0 + i as f64,
                    download: 4.5,
                }),
            }
        })
        .collect();
    Batch {
        site: "bench".into(),
        page_view: page_view.into(),
        seq: 0,
        page: "/products/:id".into(),
        context: PageContext {
            device: DeviceClass::Mobile,
            viewport_width: 390,
            viewport_height: 844,
            ..PageContext::default()
        },
        vitals,
        api_calls,
        ..Batch::default()
    }
}

fn minute_of(ts: i64) -> i64 {
    ts.div_euclid(MINUTE_MS) * MINUTE_MS
}

struct SqliteResult {
    events_per_sec: f64,
    /// CPU time the inserting thread spent per event: unlike events/s, it does not
    /// fall when other processes take the cores.
    cpu_us_per_event: f64,
}

/// CPU time the calling thread has used, in nanoseconds resolution.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The collector's own write path without the HTTP server around it: what one writer
/// thread commits when batches are already decoded and waiting.
fn store_inserts(
    db: &Path,
    duration: Duration,
    group: usize,
    connections: usize,
) -> Result<SqliteResult> {
    use perfscope_server::store::{AcceptedBatch, Store};
    let store = SqliteStore::open(db)?;
    let browser = browser_family(Some(USER_AGENT)).to_string();
    let (mut inserting, mut cpu) = (Duration::ZERO, Duration::ZERO);
    let mut events = 0u64;
    let mut n = 0usize;
    while inserting < duration {
        let batches: Vec<AcceptedBatch> = (0..group)
            .map(|_| {
                n += 1;
                AcceptedBatch {
                    batch: realistic_batch(&format!("st{}-{}", n % connections, n / connections)),
                    browser: browser.clone(),
                    received_ms: now_ms() as i64,
                }
            })
            .collect();
        let (started, cpu_before) = (Instant::now(), thread_cpu());
        let outcomes = store.insert_batches(&batches)?;
        inserting += started.elapsed();
        cpu += thread_cpu() - cpu_before;
        events += outcomes.iter().map(|o| o.stored).sum::<u64>();
    }
    Ok(SqliteResult {
        events_per_sec: events as f64 / inserting.as_secs_f64(),
        cpu_us_per_event: cpu.as_secs_f64() * 1e6 / events as f64,
    })
}

/// The rows the collector stores for the same batches — every column of each vital, the
/// API calls' blocks and their ids' counter sets, and the page view's bookkeeping row — written with
/// rusqlite straight into a database the
/// collector's own `SqliteStore` created (so the schema, keys and indexes are its), with
/// its pragmas and its checkpointer, `group` batches per transaction. SQLite's ceiling on this disk for these
/// rows, with no HTTP, JSON, validation or rollups in the way.
fn raw_sqlite_inserts(
    db: &Path,
    duration: Duration,
    group: usize,
    connections: usize,
) -> Result<SqliteResult> {
    // Kept open for its checkpointer thread, so WAL pages reach the database file off
    // the inserting thread as they do in the collector (whose writer never
    // checkpoints); otherwise SQLite's automatic checkpoint would copy and fsync inline.
    let _checkpointing = SqliteStore::open(db)?;
    let mut conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let browser = browser_family(Some(USER_AGENT));
    let (mut inserting, mut cpu) = (Duration::ZERO, Duration::ZERO);
    let mut events = 0u64;
    let mut n = 0usize;
    while inserting < duration {
        // Built outside the timed part: the collector decodes before its writer runs.
        // Page views named as the HTTP senders name theirs, in the order they arrive,
        // so the keys spread over the indexes the same way.
        let batches: Vec<Batch> = (0..group)
            .map(|_| {
                n += 1;
                realistic_batch(&format!("raw{}-{}", n % connections, n / connections))
            })
            .collect();
        let received_ms = now_ms() as i64;
        let (started, cpu_before) = (Instant::now(), thread_cpu());
        let tx = conn.transaction()?;
        {
            let mut page_view = tx.prepare_cached(
                "INSERT OR REPLACE INTO page_views
                     (site, page_view, seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut vital = tx.prepare_cached(
                "INSERT OR IGNORE INTO vitals (site, id, page_view, page, route, device,
                     browser, connection, navigation_type, viewport_width, viewport_height, ts,
                     received_ms, name, value, target, attribution)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                     ?16, ?17)",
            )?;
            let mut api_call_id =
                tx.prepare_cached("INSERT OR IGNORE INTO api_call_ids (site, id) VALUES (?1, ?2)")?;
            let mut api_call_block = tx.prepare_cached(
                "INSERT INTO api_call_blocks (site, minute, page_view, route, device, browser,
                     connection, navigation_type, received_ms, calls)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for batch in &batches {
                let context = &batch.context;
                // The page view's one bookkeeping row: its batches' seqs, the CLS and INP
                // reports that count, and its call ids (below).
                let mut seqs = CounterSet::default();
                seqs.insert(u64::from(batch.seq));
                let latest = |name: VitalName| {
                    batch
                        .vitals
                        .iter()
                        .find(|v| v.name == name)
                        .map(|v| (v.id.as_str(), v.ts as i64))
                        .unzip()
                };
                let ((cls_id, cls_ts), (inp_id, inp_ts)) =
                    (latest(VitalName::Cls), latest(VitalName::Inp));
                for v in &batch.vitals {
                    let attribution = v
                        .attribution
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()?;
                    vital.execute(rusqlite::params![
                        batch.site,
                        v.id,
                        batch.page_view,
                        batch.page,
                        batch.page,
                        context.device.as_str(),
                        browser,
                        context.connection.as_str(),
                        context.navigation_type.as_str(),
                        context.viewport_width,
                        context.viewport_height,
                        v.ts as i64,
                        received_ms,
                        v.name.as_str(),
                        v.value,
                        v.attribution.as_ref().and_then(|a| a.target.as_deref()),
                        attribution,
                    ])?;
                }
                // The collector's dedup layout: counter-shaped ids as one set in their
                // prefix's page-view row, any other id as a row.
                let mut counters: std::collections::BTreeMap<&str, CounterSet> =
                    std::collections::BTreeMap::new();
                for a in &batch.api_calls {
                    match split_counter_id(&a.id) {
                        Some((prefix, counter)) => {
                            counters.entry(prefix).or_default().insert(counter);
                        }
                        None => {
                            api_call_id.execute(rusqlite::params![batch.site, a.id])?;
                        }
                    }
                }
                let own_calls = counters.remove(batch.page_view.as_str());
                page_view.execute(rusqlite::params![
                    batch.site,
                    batch.page_view,
                    seqs.encode(),
                    received_ms,
                    cls_id,
                    cls_ts,
                    inp_id,
                    inp_ts,
                    own_calls.map(|set| set.encode())
                ])?;
                for (prefix, set) in counters {
                    page_view.execute(rusqlite::params![
                        batch.site,
                        prefix,
                        CounterSet::default().encode(),
                        received_ms,
                        None::<&str>,
                        None::<i64>,
                        None::<&str>,
                        None::<i64>,
                        set.encode()
                    ])?;
                }
                let mut calls: Vec<StoredCall<'_>> = batch
                    .api_calls
                    .iter()
                    .map(|a| StoredCall::new(a, a.ts as i64, &a.path))
                    .collect();
                calls.sort_by_key(|call| minute_of(call.ts));
                for block in calls.chunk_by(|a, b| minute_of(a.ts) == minute_of(b.ts)) {
                    api_call_block.execute(rusqlite::params![
                        batch.site,
                        minute_of(block[0].ts),
                        batch.page_view,
                        batch.page,
                        context.device.as_str(),
                        browser,
                        context.connection.as_str(),
                        context.navigation_type.as_str(),
                        received_ms,
                        api_call_block::encode(block),
                    ])?;
                }
                events += batch.event_count() as u64;
            }
        }
        tx.commit()?;
        inserting += started.elapsed();
        cpu += thread_cpu() - cpu_before;
    }
    Ok(SqliteResult {
        events_per_sec: events as f64 / inserting.as_secs_f64(),
        cpu_us_per_event: cpu.as_secs_f64() * 1e6 / events as f64,
    })
}
