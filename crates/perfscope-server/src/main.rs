//! The `perfscope` binary: command line, logging, serving, and graceful shutdown.

use anyhow::Context;
use clap::{Parser, Subcommand};
use perfscope_model::Limits;
use perfscope_server::auth::credentials::CredentialSource;
use perfscope_server::auth::Auth;
use perfscope_server::clock;
use perfscope_server::demo_traffic::{self, DemoPlan};
use perfscope_server::monitoring::Monitoring;
use perfscope_server::monitoring_tasks;
use perfscope_server::rate_limit::IngestRateLimits;
use perfscope_server::store::{
    ClickHouseOptions, ClickHouseStore, RetentionPolicy, SqliteStore, Store,
};
use perfscope_server::write_queue::WriteQueue;
use perfscope_server::{app, AppState, Config};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "perfscope",
    version,
    about = "Self-hosted real-user performance monitoring"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collector, its API and the dashboard.
    Serve(ServeArgs),
    /// Fill a demo site with a realistic week of traffic, so every dashboard panel has
    /// data before real traffic arrives. Running it again adds only hours not yet filled.
    Demo(DemoArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// TOML configuration file (for the storage); `PERFSCOPE_*` variables override it.
    #[arg(long, env = "PERFSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database file (overrides the configuration).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Site key the traffic is stored under; keep it apart from real sites.
    #[arg(long, default_value = "demo")]
    site: String,
    /// Days of traffic, ending now.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    days: u32,
    /// The same seed makes the same traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file; `PERFSCOPE_*` variables override it.
    #[arg(long, env = "PERFSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the configuration).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// SQLite database file (overrides the configuration).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Directory of the built dashboard (overrides the configuration).
    #[arg(long)]
    dashboard_dir: Option<PathBuf>,
    /// Directory of the built standalone tracker (overrides the configuration).
    #[arg(long)]
    tracker_dir: Option<PathBuf>,
}

/// How long shutdown waits for accepted batches to be committed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        // stdout carries only the URLs printed at start-up, for people and scripts.
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Demo(args) => demo(args).await,
    }
}

/// The events store the configuration names: ClickHouse when `storage.url` is set,
/// else the SQLite file.
async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &config.storage.url {
        Some(url) => {
            let mut options = ClickHouseOptions::new(url, config.storage.spill_dir());
            options.max_routes_per_site = config.cardinality.max_routes_per_site;
            options.max_endpoints_per_site = config.cardinality.max_endpoints_per_site;
            // Opening talks to ClickHouse over blocking HTTP.
            let store = tokio::task::spawn_blocking(move || ClickHouseStore::open(options))
                .await?
                .context("opening the ClickHouse store")?;
            tracing::info!(url = %url, spill = %config.storage.spill_dir().display(), "storage: ClickHouse");
            Arc::new(store)
        }
        None => {
            tracing::info!(db = %config.storage.path.display(), "storage: SQLite");
            Arc::new(SqliteStore::open_with(
                &config.storage.path,
                config.cardinality,
            )?)
        }
    })
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref()).context("loading configuration")?;
    if let Some(db) = args.db {
        config.storage.path = db;
    }
    perfscope_model::validate_site_key(&args.site)
        .map_err(|err| anyhow::anyhow!("--site: {}", err.reason))?;
    let store = open_store(&config).await?;
    let plan = DemoPlan {
        site: args.site,
        days: args.days,
        seed: args.seed,
        now_ms: clock::now_ms(),
    };
    let started = std::time::Instant::now();
    let report = tokio::task::spawn_blocking({
        let plan = plan.clone();
        move || demo_traffic::fill(store.as_ref(), &plan, &demo_traffic::progress_bar())
    })
    .await??;
    println!(
        "demo site `{}`: {} days, {} page views, {} events stored, {} already there, in {:.1?}",
        plan.site,
        plan.days,
        report.page_views,
        report.stored,
        report.duplicates,
        started.elapsed()
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref()).context("loading configuration")?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(db) = args.db {
        config.storage.path = db;
    }
    if let Some(dir) = args.dashboard_dir {
        config.dashboard_dir = dir;
    }
    if let Some(dir) = args.tracker_dir {
        config.tracker_dir = dir;
    }

    let store = open_store(&config).await?;
    if config.storage.url.is_some() && config.cache.enabled {
        // Other collectors write to the same ClickHouse, and this process only learns of
        // its own commits: a cached answer could miss their events.
        tracing::info!("query cache off: storage is shared with other collectors");
        config.cache.enabled = false;
    }
    let monitoring = Monitoring::open(&config).context("opening monitoring storage")?;
    let (queue, writer) = WriteQueue::start_with_listener(
        Arc::clone(&store),
        config.ingest.queue_capacity,
        Some(monitoring.commit_listener()),
    );
    monitoring_tasks::spawn_all(&config, &monitoring, &store);
    let (auth, credential) = Auth::open(&config).context("opening the admin sign-in")?;
    if let CredentialSource::Generated(password) = credential {
        // The only time this password exists outside the operator's head: the database
        // keeps its hash.
        eprintln!(
            "\n  perfscope generated the dashboard's admin password (shown only this once):\n\n    \
             user:     {}\n    password: {password}\n\n  Set auth.admin_password or \
             auth.admin_password_hash to choose your own.\n",
            config.auth.admin_user.trim()
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let rate_limits = Arc::new(IngestRateLimits::new(&config.ingest.rate_limit));
    tokio::spawn({
        let rate_limits = Arc::clone(&rate_limits);
        async move {
            let mut every_minute = tokio::time::interval(Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                rate_limits.forget_idle();
            }
        }
    });
    tokio::spawn(enforce_retention(
        Arc::clone(&store),
        config.retention.policy(),
        Duration::from_secs(u64::from(config.retention.interval_secs.get())),
    ));
    let state = AppState {
        config: Arc::new(config.clone()),
        store,
        queue,
        limits: Arc::new(Limits::default()),
        rate_limits,
        monitoring,
        auth,
    };

    // Printed on stdout (not only logged) so scripts and tests can find the port.
    println!("perfscope listening on http://{addr}");
    println!("  dashboard: http://{addr}/performance/");
    println!("  demo page: http://{addr}/demo");

    // Rate limits key on the peer address.
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;

    // The router, and with it the last queue handle, is gone: the writer finishes what
    // was accepted and stops.
    tracing::info!("draining the write queue");
    tokio::time::timeout(DRAIN_TIMEOUT, writer)
        .await
        .context("write queue did not drain in time")??;
    tracing::info!("stopped");
    Ok(())
}

/// Removes what each level's retention no longer keeps: once at start-up, then at every
/// interval. A failed pass is logged and retried at the next one; it never stops serving.
async fn enforce_retention(store: Arc<dyn Store>, policy: RetentionPolicy, every: Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        let store = Arc::clone(&store);
        let started = std::time::Instant::now();
        let pass =
            tokio::task::spawn_blocking(move || store.enforce_retention(&policy, clock::now_ms()))
                .await;
        match pass {
            Ok(Ok(report)) => tracing::info!(
                raw = report.raw,
                minute = report.minute,
                ten_minute = report.ten_minute,
                hour = report.hour,
                day = report.day,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "retention pass"
            ),
            Ok(Err(err)) => tracing::error!(error = ?err, "retention pass failed"),
            Err(err) => tracing::error!(error = ?err, "retention pass panicked"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
