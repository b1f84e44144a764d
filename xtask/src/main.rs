//! `cargo xtask`: the project's build, run and test commands, so that a fresh machine
//! needs nothing but cargo to get going.

mod bench;
mod checks;
mod shell;
mod toolchain;
mod wasm;

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
    /// Benchmarks, each printing its reference figure from the same run.
    #[command(subcommand)]
    Bench(bench::Bench),
    /// Install the toolchain pieces the other commands need (each only when missing).
    Setup {
        /// Also install the browser and its driver for the end-to-end tests.
        #[arg(long)]
        browser: bool,
    },
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
        Command::Bench(bench) => bench::run_bench(bench),
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
