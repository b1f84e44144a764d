//! `cargo xtask bench tracker`: the standalone tracker's size (raw, gzip, brotli) and its
//! main-thread cost at start-up in headless Chromium, beside Google's `web-vitals`
//! attribution build measured the same way in the same run.
//!
//! Cost is read from Chromium itself: `Performance.getMetrics`' `ScriptDuration` (all
//! JavaScript and wasm run on the page's main thread) minus that of the same page
//! without any library, and the longest task (long-animation-frame, else longtask)
//! seen during the first seconds. A long animation frame names the scripts that ran in
//! it, so the tasks in which the library's own scripts ran are counted apart: on a busy
//! machine even the blank page has long frames, which no library caused. Each page is
//! loaded in a fresh browser session.

use crate::toolchain::Tools;
use crate::wasm::{self, TRACKER_DIST};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Issue 3's budget for wasm plus JS glue.
const SIZE_BUDGET_BROTLI: usize = 16 * 1024;
/// A task over 50 ms is a long task by the browser's own definition.
const LONG_TASK_MS: f64 = 50.0;
const RUNS: usize = 5;

pub fn bench(root: &Path, tools: &Tools) -> Result<()> {
    wasm::build_tracker(root, tools)?;
    let tracker = root.join(TRACKER_DIST);
    // The test toolchain installs the pinned reference web-vitals alongside the browser.
    let web_vitals = tools
        .web_vitals_dist
        .clone()
        .context("the test toolchain installs web-vitals")?;

    println!("\nsize (bytes)                          raw      gzip    brotli");
    let wasm_file = tracker.join("perfscope_tracker_bg.wasm");
    let glue_file = tracker.join("perfscope_tracker.js");
    let loader_file = tracker.join("perfscope.js");
    let snippets = snippet_files(&tracker.join("snippets"))?;
    let mut total = Sizes::default();
    let mut budgeted = 0;
    for file in [&wasm_file, &glue_file]
        .into_iter()
        .chain(&snippets)
        .chain([&loader_file])
    {
        let sizes = Sizes::of(file)?;
        sizes.print(&file.file_name().unwrap_or_default().to_string_lossy());
        total.add(&sizes);
        if file != &loader_file {
            budgeted += sizes.brotli;
        }
    }
    total.print("perfscope total (wasm + glue + loader)");
    let reference = Sizes::of(&web_vitals.join("web-vitals.attribution.js"))?;
    reference.print("web-vitals.attribution.js (reference)");
    println!(
        "budget: wasm + glue (with snippets) {budgeted} B brotli of {SIZE_BUDGET_BROTLI} B: {}",
        verdict(budgeted <= SIZE_BUDGET_BROTLI)
    );

    let server = StaticServer::start(tracker, web_vitals)?;
    let driver = ChromeDriver::start()?;
    println!("\nstart-up main-thread cost, median of {RUNS} fresh loads each (ms)");
    println!(
        "page                 script time  over blank   longest task   tasks > 50 ms   longest with library script"
    );
    let blank = measure(&driver, &server.url("/bench/blank"))?;
    blank.print("blank page", 0.0);
    let mut worst_task = 0.0f64;
    for (name, path) in [
        ("perfscope", "/bench/perfscope"),
        ("web-vitals", "/bench/web-vitals"),
    ] {
        let cost = measure(&driver, &server.url(path))?;
        cost.print(name, blank.script_ms);
        if name == "perfscope" {
            worst_task = cost.longest_library_task_ms;
        }
    }
    println!(
        "budget: no task over {LONG_TASK_MS} ms from the tracker (longest in which its scripts ran {worst_task:.1} ms): {}",
        verdict(worst_task <= LONG_TASK_MS)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "within budget"
    } else {
        "OVER BUDGET"
    }
}

/// wasm-bindgen's inline JS snippets, which the glue imports: part of the glue.
fn snippet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(snippet_files(&path)?);
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[derive(Default)]
pub(crate) struct Sizes {
    pub(crate) raw: usize,
    pub(crate) gzip: usize,
    pub(crate) brotli: usize,
}

impl Sizes {
    pub(crate) fn of(file: &Path) -> Result<Sizes> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&bytes)?;
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params)?;
        Ok(Sizes {
            raw: bytes.len(),
            gzip: gzip.finish()?.len(),
            brotli: brotli.len(),
        })
    }

    fn add(&mut self, other: &Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<36} {:>7} {:>9} {:>9}",
            self.raw, self.gzip, self.brotli
        );
    }
}

const PAGE_HEAD: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>bench</title>
<script>
// Long tasks during start-up, recorded before any library loads, each with whether a
// script of the library (served under /tracker/ or /web-vitals/) ran in it.
window.__tasks = [];
const type = PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')
  ? 'long-animation-frame' : 'longtask';
const ours = (script) => /\/(tracker|web-vitals)\//.test(script.sourceURL || '');
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    // Without LoAF (no script list) every long task is counted against the library.
    const library = entry.scripts ? entry.scripts.some(ours) : true;
    window.__tasks.push([entry.duration, library]);
  }
}).observe({ type, buffered: true });
</script>"#;

const PAGE_BODY: &str = r#"</head><body><h1>Benchmark page</h1>
<p>Some text so the page paints a contentful element.</p></body></html>"#;

fn bench_page(path: &str) -> Option<String> {
    let library = match path {
        "/bench/blank" => "",
        "/bench/perfscope" => {
            r#"<script src="/tracker/perfscope.js" data-site="bench" async></script>"#
        }
        "/bench/web-vitals" => {
            r#"<script type="module">
import { onCLS, onFCP, onINP, onLCP, onTTFB } from '/web-vitals/web-vitals.attribution.js';
const send = (metric) => navigator.sendBeacon('/api/v1/ingest', JSON.stringify(metric));
for (const on of [onCLS, onFCP, onINP, onLCP, onTTFB]) on(send);
</script>"#
        }
        _ => return None,
    };
    Some(format!("{PAGE_HEAD}{library}{PAGE_BODY}"))
}

/// Serves the bench pages, the tracker build and web-vitals from one origin.
struct StaticServer {
    origin: String,
}

impl StaticServer {
    fn start(tracker: PathBuf, web_vitals: PathBuf) -> Result<StaticServer> {
        let server = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|error| anyhow::anyhow!("starting the bench server: {error}"))?;
        let origin = format!("http://{}", server.server_addr());
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let path = request.url().split('?').next().unwrap_or("").to_owned();
                let (body, content_type) = if let Some(page) = bench_page(&path) {
                    (Some(page.into_bytes()), "text/html")
                } else if let Some(file) = path.strip_prefix("/tracker/") {
                    (std::fs::read(tracker.join(file)).ok(), content_type(file))
                } else if let Some(file) = path.strip_prefix("/web-vitals/") {
                    (
                        std::fs::read(web_vitals.join(file)).ok(),
                        content_type(file),
                    )
                } else if path == "/api/v1/ingest" {
                    (Some(Vec::new()), "text/plain")
                } else {
                    (None, "text/plain")
                };
                let response = match body {
                    Some(body) => tiny_http::Response::from_data(body).with_header(
                        tiny_http::Header::from_bytes("Content-Type", content_type)
                            .expect("static header"),
                    ),
                    None => {
                        tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                    }
                };
                let _ = request.respond(response);
            }
        });
        Ok(StaticServer { origin })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

pub(crate) struct ChromeDriver {
    process: Child,
    pub(crate) url: String,
}

impl ChromeDriver {
    pub(crate) fn start() -> Result<ChromeDriver> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        drop(listener);
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{url}/status")).call().is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not answer within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(ChromeDriver { process, url })
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> Result<Value> {
        let mut response = ureq::post(&format!("{}{path}", self.url))
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(body)?;
        let mut text = String::new();
        response.body_mut().as_reader().read_to_string(&mut text)?;
        let value: Value = serde_json::from_str(&text)?;
        if response.status().as_u16() >= 400 {
            bail!("chromedriver {path}: {text}");
        }
        Ok(value["value"].clone())
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

struct Cost {
    script_ms: f64,
    longest_task_ms: f64,
    long_tasks: f64,
    longest_library_task_ms: f64,
}

impl Cost {
    fn print(&self, name: &str, blank_script_ms: f64) {
        let over = if blank_script_ms > 0.0 {
            format!("{:+11.1}", self.script_ms - blank_script_ms)
        } else {
            format!("{:>11}", "-")
        };
        println!(
            "{name:<20} {:>11.1} {over} {:>14.1} {:>15} {:>29.1}",
            self.script_ms, self.longest_task_ms, self.long_tasks, self.longest_library_task_ms
        );
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn measure(driver: &ChromeDriver, url: &str) -> Result<Cost> {
    let mut script = Vec::new();
    let mut longest = Vec::new();
    let mut long_count = Vec::new();
    let mut longest_library = Vec::new();
    for _ in 0..RUNS {
        let (script_ms, tasks) = measure_once(driver, url)?;
        script.push(script_ms);
        let longest_of = |library_only: bool| {
            tasks
                .iter()
                .filter(|task| task.library || !library_only)
                .map(|task| task.duration_ms)
                .fold(0.0, f64::max)
        };
        longest.push(longest_of(false));
        longest_library.push(longest_of(true));
        long_count.push(
            tasks
                .iter()
                .filter(|t| t.duration_ms > LONG_TASK_MS)
                .count() as f64,
        );
    }
    Ok(Cost {
        script_ms: median(script),
        longest_task_ms: median(longest),
        long_tasks: median(long_count),
        longest_library_task_ms: median(longest_library),
    })
}

/// One long task (or frame), and whether a script of the library ran in it.
struct Task {
    duration_ms: f64,
    library: bool,
}

fn measure_once(driver: &ChromeDriver, url: &str) -> Result<(f64, Vec<Task>)> {
    let profile = std::env::temp_dir().join(format!("perfscope-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let session = driver.post(
        "/session",
        json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.display())],
        }}}}),
    )?;
    let id = session["sessionId"]
        .as_str()
        .context("no session id from chromedriver")?
        .to_owned();
    let result = (|| {
        let cdp = format!("/session/{id}/goog/cdp/execute");
        driver.post(&cdp, json!({"cmd": "Performance.enable", "params": {}}))?;
        driver.post(&format!("/session/{id}/url"), json!({ "url": url }))?;
        // Start-up is over when the library has measured FCP/TTFB and gone idle.
        std::thread::sleep(Duration::from_millis(2500));
        let metrics = driver.post(&cdp, json!({"cmd": "Performance.getMetrics", "params": {}}))?;
        let script_s = metrics["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == "ScriptDuration"))
            .and_then(|m| m["value"].as_f64())
            .context("Chromium reported no ScriptDuration")?;
        let tasks = driver.post(
            &format!("/session/{id}/execute/sync"),
            json!({"script": "return window.__tasks", "args": []}),
        )?;
        let tasks: Vec<Task> = tasks
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|task| {
                        Some(Task {
                            duration_ms: task[0].as_f64()?,
                            library: task[1].as_bool()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((script_s * 1000.0, tasks))
    })();
    let _ = ureq::delete(&format!("{}/session/{id}", driver.url)).call();
    let _ = std::fs::remove_dir_all(&profile);
    result
}
