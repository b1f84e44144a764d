//! `cargo xtask bench dashboard`: the dashboard's wasm size, its own LCP and CLS as its
//! embedded tracker reports them to the collector, and Lighthouse's performance and
//! accessibility scores, each printed beside its budget from issue 6.
//!
//! The collector runs on loopback with a throwaway database under
//! target/bench-dashboard, filled with demo traffic (`perfscope demo` where the
//! collector has it, else realistic batches through the ingest API) so the panels have
//! data to draw. Where the collector has sign-in, the bench signs in as its admin and
//! hands the session cookie to the browser and to Lighthouse.

use crate::bench_ingest::realistic_batch;
use crate::bench_tracker::{ChromeDriver, Sizes};
use crate::shell::{cargo, output_of, run};
use crate::toolchain::{self, Tools};
use crate::wasm::{self, DASHBOARD_DIST, TRACKER_DIST};
use anyhow::{bail, Context, Result};
use perfscope_model::{LoginRequest, LOGIN_PATH};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Issue 6's budgets.
const WASM_BUDGET_BROTLI: usize = 350 * 1000;
const LCP_BUDGET_MS: f64 = 1000.0;
const CLS_BUDGET: f64 = 0.01;
const LIGHTHOUSE_PERFORMANCE_BUDGET: f64 = 95.0;
const LIGHTHOUSE_ACCESSIBILITY_BUDGET: f64 = 95.0;

const ADMIN_USER: &str = "admin";
const ADMIN_PASSWORD: &str = "bench-dashboard-admin-password";
const SESSION_COOKIE: &str = "perfscope_session";
/// The site key the dashboard's own tracker reports under.
const DASHBOARD_SITE: &str = "perfscope-dashboard";
const DEMO_BATCHES: usize = 400;

pub fn run_bench(root: &Path, tools: &Tools) -> Result<()> {
    wasm::build_all(root, tools)?;
    run(cargo().args(["build", "-p", "perfscope-server"]))?;
    let wasm = dashboard_wasm(root)?;
    let sizes = Sizes::of(&wasm)?;

    let work = root.join("target/bench-dashboard");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = measure(root, &work);
    // The database is only for this run; keep the Lighthouse report for reading.
    for file in ["perfscope.db", "perfscope.db-wal", "perfscope.db-shm"] {
        let _ = std::fs::remove_file(work.join(file));
    }
    let figures = result?;

    println!("\ndashboard wasm ({})", wasm.display());
    println!(
        "  {:>9} B raw  {:>9} B gzip  {:>9} B brotli   budget ≤ {WASM_BUDGET_BROTLI} B brotli: {}",
        sizes.raw,
        sizes.gzip,
        sizes.brotli,
        verdict(sizes.brotli <= WASM_BUDGET_BROTLI)
    );
    println!("\n/performance on localhost{}", figures.auth_note);
    println!(
        "  own LCP (its tracker)        {:>8.0} ms   budget ≤ {LCP_BUDGET_MS:.0} ms: {}",
        figures.lcp_ms,
        verdict(figures.lcp_ms <= LCP_BUDGET_MS)
    );
    println!(
        "  own CLS (its tracker)        {:>8.4}      budget ≤ {CLS_BUDGET}: {}",
        figures.cls,
        verdict(figures.cls <= CLS_BUDGET)
    );
    // What moved, largest first, so a missed CLS budget names its cause.
    let mut shifts = figures.shifts;
    shifts.sort_by(|a, b| b.value.total_cmp(&a.value));
    for shift in shifts.iter().take(5) {
        println!(
            "    layout shift {:.4} at {:>5.0} ms: {}",
            shift.value, shift.time_ms, shift.sources
        );
    }
    println!(
        "  Lighthouse performance       {:>8.0}      budget ≥ {LIGHTHOUSE_PERFORMANCE_BUDGET:.0}: {}",
        figures.performance,
        verdict(figures.performance >= LIGHTHOUSE_PERFORMANCE_BUDGET)
    );
    println!(
        "  Lighthouse accessibility     {:>8.0}      budget ≥ {LIGHTHOUSE_ACCESSIBILITY_BUDGET:.0}: {}",
        figures.accessibility,
        verdict(figures.accessibility >= LIGHTHOUSE_ACCESSIBILITY_BUDGET)
    );
    println!(
        "  (Lighthouse {} with its default mobile emulation and throttling; report {})",
        figures.lighthouse_version,
        work.join("lighthouse.json").display()
    );
    println!(
        "  Lighthouse performance, desktop preset (for reference, not the budget): {:.0} ({})",
        figures.desktop_performance,
        work.join("lighthouse-desktop.json").display()
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

fn dashboard_wasm(root: &Path) -> Result<PathBuf> {
    let dist = root.join(DASHBOARD_DIST);
    std::fs::read_dir(&dist)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .with_context(|| format!("no .wasm in {}", dist.display()))
}

struct Figures {
    auth_note: &'static str,
    lcp_ms: f64,
    cls: f64,
    shifts: Vec<LayoutShift>,
    performance: f64,
    accessibility: f64,
    desktop_performance: f64,
    lighthouse_version: String,
}

fn measure(root: &Path, work: &Path) -> Result<Figures> {
    let collector = Collector::start(root, work)?;
    seed_demo_traffic(root, &collector)?;
    let session = collector.login()?;
    let auth_note = if session.is_some() {
        " (signed in as the admin)"
    } else {
        " (this collector has no sign-in)"
    };
    let (lcp_ms, cls, shifts) = own_vitals(&collector, session.as_deref())?;
    let lighthouse = toolchain::ensure_lighthouse(root)?;
    let mobile = lighthouse_scores(&lighthouse, &collector, session.as_deref(), work, None)?;
    let desktop = lighthouse_scores(
        &lighthouse,
        &collector,
        session.as_deref(),
        work,
        Some("desktop"),
    )?;
    Ok(Figures {
        auth_note,
        lcp_ms,
        cls,
        shifts,
        performance: mobile.performance,
        accessibility: mobile.accessibility,
        desktop_performance: desktop.performance,
        lighthouse_version: mobile.version,
    })
}

struct Collector {
    process: Child,
    base_url: String,
    binary: PathBuf,
    config: PathBuf,
    auth: bool,
}

impl Collector {
    /// Starts with an admin credential in the environment; a collector without sign-in
    /// rejects those variables as unknown config and exits, and is then started without.
    fn start(root: &Path, work: &Path) -> Result<Collector> {
        let binary = root.join("target/debug/perfscope");
        let config = work.join("perfscope.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\n\
                 [storage]\npath = \"{}\"\n\
                 [ingest.rate_limit]\n\
                 per_ip_per_second = 100000\nper_ip_burst = 100000\n\
                 per_site_per_second = 100000\nper_site_burst = 100000\n\
                 [[sites]]\nkey = \"demo\"\n\
                 [[sites]]\nkey = \"{DASHBOARD_SITE}\"\n",
                work.join("perfscope.db").display()
            ),
        )?;
        match Self::spawn(root, &binary, &config, true) {
            Ok(collector) => Ok(collector),
            Err(with_auth) => Self::spawn(root, &binary, &config, false).with_context(|| {
                format!("the collector did not start with sign-in ({with_auth:#}) nor without")
            }),
        }
    }

    fn spawn(root: &Path, binary: &Path, config: &Path, auth: bool) -> Result<Collector> {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--dashboard-dir")
            .arg(root.join(DASHBOARD_DIST))
            .arg("--tracker-dir")
            .arg(root.join(TRACKER_DIST))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if auth {
            command
                .env("PERFSCOPE_AUTH__ADMIN_USER", ADMIN_USER)
                .env("PERFSCOPE_AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD);
        }
        let mut process = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut stdout = BufReader::new(process.stdout.take().context("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let Some(base_url) = line.trim().strip_prefix("perfscope listening on ") else {
            let _ = process.kill();
            let _ = process.wait();
            bail!("the collector exited without listening: {line:?}");
        };
        let base_url = base_url.to_owned();
        std::thread::spawn(move || for _ in stdout.lines() {});
        Ok(Collector {
            process,
            base_url,
            binary: binary.to_owned(),
            config: config.to_owned(),
            auth,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The session cookie (`name=value`), or `None` when this collector has no sign-in.
    fn login(&self) -> Result<Option<String>> {
        if !self.auth {
            return Ok(None);
        }
        let body = serde_json::to_value(LoginRequest {
            username: ADMIN_USER.into(),
            password: ADMIN_PASSWORD.into(),
        })?;
        let response = ureq::post(&self.url(LOGIN_PATH))
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(body)?;
        let status = response.status().as_u16();
        if status == 404 || status == 405 {
            return Ok(None);
        }
        if status != 200 {
            bail!("signing in as {ADMIN_USER} answered {status}");
        }
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .find(|pair| pair.starts_with(&format!("{SESSION_COOKIE}=")))
            .context("sign-in succeeded but set no session cookie")?;
        Ok(Some(cookie.to_owned()))
    }

    fn get_json(&self, path: &str, session: Option<&str>) -> Result<Value> {
        let mut request = ureq::get(&self.url(path));
        if let Some(cookie) = session {
            request = request.header("cookie", cookie);
        }
        let mut response = request.call().with_context(|| format!("GET {path}"))?;
        let mut text = String::new();
        response.body_mut().as_reader().read_to_string(&mut text)?;
        Ok(serde_json::from_str(&text)?)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A week of demo traffic from `perfscope demo` if this collector has it, otherwise a
/// few hundred realistic page views through the ingest API, as trackers send them.
fn seed_demo_traffic(root: &Path, collector: &Collector) -> Result<()> {
    let help = output_of(Command::new(&collector.binary).arg("--help")).unwrap_or_default();
    if help
        .lines()
        .any(|line| line.trim_start().starts_with("demo"))
    {
        let status = Command::new(&collector.binary)
            .arg("demo")
            .arg("--config")
            .arg(&collector.config)
            .current_dir(root)
            .stdout(Stdio::null())
            .status()?;
        if status.success() {
            println!("seeded with `perfscope demo`");
            return Ok(());
        }
        eprintln!("`perfscope demo --config …` failed ({status}); ingesting batches instead");
    }
    const ROUTES: [&str; 5] = ["/", "/products/:id", "/cart", "/search", "/checkout"];
    let url = collector.url("/api/v1/ingest");
    let mut rng = fastrand::Rng::with_seed(6);
    for n in 0..DEMO_BATCHES {
        let mut batch = realistic_batch(&format!("demo-{n}"));
        batch.site = "demo".into();
        batch.page = ROUTES[n % ROUTES.len()].into();
        // Spread values over a plausible range so distributions have a shape.
        let factor = 0.4 + rng.f64() * 1.6;
        for vital in &mut batch.vitals {
            vital.value *= factor;
        }
        for call in &mut batch.api_calls {
            call.duration *= 0.5 + rng.f64() * 2.0;
        }
        let response = ureq::post(&url)
            .header("content-type", "text/plain")
            .config()
            .http_status_as_error(false)
            .build()
            .send(serde_json::to_string(&batch)?)?;
        if !response.status().is_success() {
            bail!("ingesting demo batch {n} answered {}", response.status());
        }
    }
    println!("seeded with {DEMO_BATCHES} page views through the ingest API");
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The page's layout shifts so far, as the browser reports them: value, time and the
/// elements that moved (a PerformanceObserver is the only way to read them).
const LAYOUT_SHIFTS_SCRIPT: &str = "const done = arguments[arguments.length - 1];
new PerformanceObserver((list, observer) => {
  observer.disconnect();
  done(list.getEntries().map((e) => ({
    value: e.value, time: e.startTime, input: e.hadRecentInput,
    sources: e.sources.map((s) => s.node ? (s.node.id ? '#' + s.node.id : s.node.nodeName.toLowerCase() + (s.node.className ? '.' + String(s.node.className).trim().split(/\\s+/).join('.') : '')) : '(removed)'),
  })));
}).observe({ type: 'layout-shift', buffered: true });
setTimeout(() => done([]), 1000);";

/// One layout shift the browser reported.
struct LayoutShift {
    value: f64,
    time_ms: f64,
    sources: String,
}

fn layout_shifts(reported: &Value) -> Vec<LayoutShift> {
    reported
        .as_array()
        .map(|all| {
            all.iter()
                // Shifts right after input are the person's doing and not counted.
                .filter(|s| !s["input"].as_bool().unwrap_or(false))
                .map(|s| LayoutShift {
                    value: s["value"].as_f64().unwrap_or(0.0),
                    time_ms: s["time"].as_f64().unwrap_or(0.0),
                    sources: s["sources"]
                        .as_array()
                        .map(|names| {
                            names
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Loads /performance/ in a fresh headless Chromium, reads the layout shifts so far,
/// hides it (navigating away makes the tracker send what it holds), and reads the LCP
/// and CLS its tracker reported.
fn own_vitals(
    collector: &Collector,
    session: Option<&str>,
) -> Result<(f64, f64, Vec<LayoutShift>)> {
    let since = now_ms();
    let driver = ChromeDriver::start()?;
    let profile = std::env::temp_dir().join(format!("perfscope-bench-dash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let created = driver.post(
        "/session",
        json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1350,940",
                     format!("--user-data-dir={}", profile.display())],
        }}}}),
    )?;
    let id = created["sessionId"]
        .as_str()
        .context("no session id from chromedriver")?
        .to_owned();
    let visit = (|| {
        if let Some(cookie) = session {
            // A cookie can only be set on a page of its origin; a small static file will do.
            driver.post(
                &format!("/session/{id}/url"),
                json!({ "url": collector.url("/performance/public/favicon.svg") }),
            )?;
            let (name, value) = cookie.split_once('=').context("malformed cookie")?;
            driver.post(
                &format!("/session/{id}/cookie"),
                json!({"cookie": {"name": name, "value": value, "path": "/", "httpOnly": true}}),
            )?;
        }
        driver.post(
            &format!("/session/{id}/url"),
            json!({ "url": collector.url("/performance/") }),
        )?;
        // Long enough for the wasm to start, the data to arrive and the charts to draw.
        std::thread::sleep(Duration::from_secs(4));
        let shifts = driver.post(
            &format!("/session/{id}/execute/async"),
            json!({ "script": LAYOUT_SHIFTS_SCRIPT, "args": [] }),
        )?;
        driver.post(
            &format!("/session/{id}/url"),
            json!({ "url": "about:blank" }),
        )?;
        // The browser stays open until the reports are in: closing it right after the
        // navigation could kill the keepalive request the hidden page just started.
        let (lcp, cls) = reported_lcp_and_cls(collector, session, since)?;
        Ok::<_, anyhow::Error>((lcp, cls, layout_shifts(&shifts)))
    })();
    let _ = ureq::delete(&format!("{}/session/{id}", driver.url)).call();
    let _ = std::fs::remove_dir_all(&profile);
    visit
}

/// Waits for the LCP and CLS that the dashboard's tracker sent since `since`.
fn reported_lcp_and_cls(
    collector: &Collector,
    session: Option<&str>,
    since: i64,
) -> Result<(f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let lcp = latest_sample(collector, session, "LCP", since)?;
        let cls = latest_sample(collector, session, "CLS", since)?;
        if let (Some(lcp), Some(cls)) = (lcp, cls) {
            return Ok((lcp, cls));
        }
        if Instant::now() > deadline {
            bail!(
                "the dashboard's tracker reported no {} within 15 s of the page being hidden",
                match (lcp, cls) {
                    (None, None) => "LCP nor CLS",
                    (None, Some(_)) => "LCP",
                    _ => "CLS",
                }
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn latest_sample(
    collector: &Collector,
    session: Option<&str>,
    metric: &str,
    since: i64,
) -> Result<Option<f64>> {
    let samples = collector.get_json(
        &format!("/api/v1/samples?site={DASHBOARD_SITE}&metric={metric}&from={since}&limit=10"),
        session,
    )?;
    Ok(samples
        .as_array()
        .context("samples is not a list")?
        .iter()
        .filter(|s| s["ts"].as_i64().is_some_and(|ts| ts >= since))
        .max_by_key(|s| s["ts"].as_i64())
        .and_then(|s| s["value"].as_f64()))
}

struct LighthouseScores {
    performance: f64,
    accessibility: f64,
    version: String,
}

/// Runs npm Lighthouse against Debian's Chromium, with its default (mobile) settings or
/// the named `--preset`; the report stays in `work`.
fn lighthouse_scores(
    cli: &Path,
    collector: &Collector,
    session: Option<&str>,
    work: &Path,
    preset: Option<&str>,
) -> Result<LighthouseScores> {
    let report = work.join(match preset {
        Some(preset) => format!("lighthouse-{preset}.json"),
        None => "lighthouse.json".to_owned(),
    });
    let mut command = Command::new("node");
    command
        .arg(cli)
        .arg(collector.url("/performance/"))
        .args([
            "--output=json",
            "--only-categories=performance,accessibility",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            "--quiet",
        ])
        .arg(format!("--output-path={}", report.display()))
        .env("CHROME_PATH", "/usr/bin/chromium");
    if let Some(cookie) = session {
        command.arg(format!("--extra-headers={}", json!({ "Cookie": cookie })));
    }
    if let Some(preset) = preset {
        command.arg(format!("--preset={preset}"));
    }
    run(&mut command)?;
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report)?)?;
    let score = |category: &str| {
        report["categories"][category]["score"]
            .as_f64()
            .map(|s| s * 100.0)
            .with_context(|| format!("Lighthouse gave no {category} score"))
    };
    let version = report["lighthouseVersion"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    Ok(LighthouseScores {
        performance: score("performance")?,
        accessibility: score("accessibility")?,
        version,
    })
}
