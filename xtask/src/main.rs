//! `cargo xtask`: the project's build, run and test commands, so that a fresh machine
//! needs nothing but cargo to get going.

mod bench_dashboard;
mod bench_ingest;
mod bench_query;
mod bench_query_clickhouse;
mod bench_tracker;
mod checks;
mod clickhouse;
mod shell;
mod toolchain;
mod wasm;
mod wasm_names;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "perfscope build orchestration")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing, build tracker and dashboard, and start the collector.
    Run {
        /// Arguments passed on to `perfscope serve` (e.g. `-- --listen 0.0.0.0:8080`).
        #[arg(last = true)]
        serve_args: Vec<String>,
    },
    /// Install what is missing and build the tracker and the dashboard; prints sizes.
    Build,
    /// fmt check, clippy, all native tests, and the browser end-to-end tests.
    Test,
    /// Benchmarks that print their figures beside a reference measured in the same run.
    Bench {
        #[command(subcommand)]
        bench: Bench,
    },
    /// Install the toolchain pieces the other commands need (each only when missing).
    Setup {
        /// Also install the browser and its driver for the end-to-end tests.
        #[arg(long)]
        browser: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum QueryBackend {
    Sqlite,
    Clickhouse,
}

#[derive(Subcommand)]
enum Bench {
    /// Overview query latency over generated events (SQLite rollups) and sketch accuracy.
    Query {
        /// Event counts to generate, each into a fresh database.
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        sizes: Vec<u64>,
        /// Query runs per figure.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Keep the generated databases in target/bench-query.
        #[arg(long)]
        keep: bool,
        /// Query the databases an earlier --keep run left instead of generating them.
        #[arg(long)]
        reuse: bool,
        /// Which store to generate into: `sqlite` or `clickhouse` (a private server,
        /// its data removed afterwards unless --keep, in target/bench-query-clickhouse).
        #[arg(long, default_value = "sqlite")]
        backend: QueryBackend,
    },
    /// Ingest over loopback HTTP: events/s, latency and peak RSS, beside the discard
    /// route and raw SQLite inserts.
    Ingest(bench_ingest::IngestBenchArgs),
    /// The standalone tracker's size and start-up cost, beside npm `web-vitals`.
    Tracker,
    /// The dashboard: wasm size, its own LCP and CLS, Lighthouse performance and
    /// accessibility, each beside issue 6's budget.
    Dashboard,
    /// The query cache: hit-path latency, and the overview query with the cache off
    /// and on.
    Cache,
}

fn main() -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match Cli::parse().command {
        Command::Run { serve_args } => {
            let tools = toolchain::ensure(&root, toolchain::Needs::BUILD)?;
            wasm::build_all(&root, &tools)?;
            let mut args = vec!["run", "--release", "-p", "perfscope-server", "--", "serve"];
            args.extend(serve_args.iter().map(String::as_str));
            shell::run(shell::cargo().args(&args))
        }
        Command::Build => {
            let tools = toolchain::ensure(&root, toolchain::Needs::BUILD)?;
            wasm::build_all(&root, &tools)
        }
        Command::Test => checks::test_all(&root),
        Command::Bench {
            bench:
                Bench::Query {
                    sizes,
                    iterations,
                    keep,
                    reuse,
                    backend,
                },
        } => {
            if cfg!(debug_assertions) {
                // Figures from an unoptimised build would measure the compiler, not us.
                let sizes: Vec<String> = sizes.iter().map(u64::to_string).collect();
                return shell::run(
                    shell::cargo()
                        .args([
                            "run",
                            "--release",
                            "--quiet",
                            "-p",
                            "xtask",
                            "--",
                            "bench",
                            "query",
                            "--sizes",
                            &sizes.join(","),
                            "--iterations",
                            &iterations.to_string(),
                        ])
                        .args(keep.then_some("--keep"))
                        .args(reuse.then_some("--reuse"))
                        .args(
                            (backend == QueryBackend::Clickhouse).then_some("--backend=clickhouse"),
                        ),
                );
            }
            if backend == QueryBackend::Clickhouse {
                return bench_query_clickhouse::run(&root, &sizes, iterations, keep, reuse);
            }
            bench_query::run(
                &root,
                &bench_query::Options {
                    sizes,
                    iterations,
                    keep,
                    reuse,
                },
            )
        }
        Command::Bench {
            bench: Bench::Ingest(args),
        } => bench_ingest::run(&root, &args),
        Command::Bench {
            bench: Bench::Tracker,
        } => {
            let tools = toolchain::ensure(&root, toolchain::Needs::TEST)?;
            bench_tracker::bench(&root, &tools)
        }
        Command::Bench {
            bench: Bench::Dashboard,
        } => {
            let tools = toolchain::ensure(&root, toolchain::Needs::TEST)?;
            bench_dashboard::run_bench(&root, &tools)
        }
        Command::Bench {
            bench: Bench::Cache,
        } => {
            shell::run(shell::cargo().args(["bench", "-p", "perfscope-server", "--bench", "cache"]))
        }
        Command::Setup { browser } => {
            let needs = if browser {
                toolchain::Needs::TEST
            } else {
                toolchain::Needs::BUILD
            };
            toolchain::ensure(&root, needs).map(|_| ())
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}
