//! `cargo xtask test`: every check CI runs, in the order that fails fastest.

use crate::shell::{cargo, run};
use crate::toolchain::{self, Needs};
use crate::wasm::{self, DASHBOARD_DIST, TRACKER_DIST};
use anyhow::{Context, Result};
use std::path::Path;

pub fn test_all(root: &Path) -> Result<()> {
    let tools = toolchain::ensure(root, Needs::TEST)?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    clippy(&["--workspace", "--all-targets"])?;
    // The browser-only code paths compile only for wasm; lint them there too.
    let wasm = "--target=wasm32-unknown-unknown";
    clippy(&["-p", "perfscope-tracker", "--features", "standalone", wasm])?;
    clippy(&["-p", "perfscope-dashboard", wasm])?;
    // The storage tests run against a real ClickHouse; it stops when `clickhouse` drops,
    // also when a test fails.
    let clickhouse = crate::clickhouse::start(root)?;
    run(cargo()
        // One run shows every failing suite, not only the first.
        .args(["test", "--workspace", "--no-fail-fast"])
        .env("E2E_CLICKHOUSE_URL", &clickhouse.url)
        .env("E2E_CLICKHOUSE_SERVER_BIN", &clickhouse.server_bin))?;
    drop(clickhouse);

    wasm::build_all(root, &tools)?;
    chart_component_tests(root, &tools)?;
    run(cargo().args(["build", "-p", "perfscope-server"]))?;
    // The end-to-end tests are `#[ignore]`d in plain `cargo test`, which has neither a
    // browser nor the built wasm; here both exist.
    run(cargo()
        .args([
            "test",
            "-p",
            "perfscope-dashboard",
            "--test",
            "e2e",
            "--test",
            "cross_origin",
            "--test",
            "vitals_parity",
            "--test",
            "delivery",
            "--test",
            "dashboard_csp",
            "--",
            "--ignored",
            "--test-threads=1",
        ])
        .env("PATH", &tools.path)
        .env("E2E_COLLECTOR_BIN", root.join("target/debug/perfscope"))
        .env("E2E_DASHBOARD_DIR", root.join(DASHBOARD_DIST))
        .env("E2E_TRACKER_DIR", root.join(TRACKER_DIST))
        .envs(
            tools
                .web_vitals_dist
                .as_ref()
                .map(|dist| ("E2E_WEB_VITALS_DIR", dist)),
        ))?;
    println!("cargo xtask test: all checks passed");
    Ok(())
}

/// The chart components mounted in headless Chromium by wasm-bindgen-test-runner (from
/// wasm-bindgen-cli, same version as the lock), driving Debian's chromedriver.
fn chart_component_tests(root: &Path, tools: &toolchain::Tools) -> Result<()> {
    let chromedriver = toolchain::which("chromedriver").context("chromedriver is not on PATH")?;
    run(cargo()
        .args([
            "test",
            "-p",
            "perfscope-dashboard",
            "--bin",
            "perfscope-dashboard",
        ])
        .args(["--target", "wasm32-unknown-unknown"])
        .env("PATH", &tools.path)
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", chromedriver)
        .env(
            "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
            root.join("src/charts/webdriver.json"),
        ))
}

/// Lints with every warning an error, as CI requires.
fn clippy(selection: &[&str]) -> Result<()> {
    run(cargo()
        .arg("clippy")
        .args(selection)
        .args(["--", "-D", "warnings"]))
}
