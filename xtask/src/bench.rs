//! `cargo xtask bench …`: benchmarks that print their figures beside a reference
//! measured in the same run.

use crate::shell::{cargo, run};
use anyhow::Result;

#[derive(clap::Subcommand)]
pub enum Bench {
    /// The query cache: hit-path latency, and the overview query with the cache off
    /// and on.
    Cache,
}

pub fn run_bench(bench: Bench) -> Result<()> {
    match bench {
        Bench::Cache => run(cargo().args(["bench", "-p", "perfscope-server", "--bench", "cache"])),
    }
}
