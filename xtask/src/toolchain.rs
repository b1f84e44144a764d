//! Installs what the build and the tests need, each piece only when it is missing or
//! of the wrong version, so the first run on a fresh machine and every later run are
//! the same command.

use crate::shell::{cargo, output_of, run};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Trunk 0.22 needs a newer rustc than this project's.
const TRUNK_VERSION: &str = "0.21";
/// Debian's wasm-opt (108) silently corrupts our wasm; 132 from npm does not.
const BINARYEN_VERSION: &str = "132";
/// The reference the vitals parity suite compares the tracker with (test-only).
const WEB_VITALS_VERSION: &str = "5.3.0";
/// Minifies the tracker's wasm-bindgen glue (size budget).
const ESBUILD_VERSION: &str = "0.25.12";
/// Scores the dashboard in `cargo xtask bench dashboard` (bench-only).
const LIGHTHOUSE_MAJOR: &str = "12";

#[derive(Clone, Copy)]
pub struct Needs {
    pub browser: bool,
}

impl Needs {
    pub const BUILD: Needs = Needs { browser: false };
    pub const TEST: Needs = Needs { browser: true };
}

/// Where the installed tools are, for the commands that use them.
pub struct Tools {
    /// `PATH` with the npm-installed wasm-opt first, so Trunk picks it over Debian's.
    pub path: String,
    /// `dist/` of the npm `web-vitals` package; installed only for the tests.
    pub web_vitals_dist: Option<PathBuf>,
}

impl Tools {
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", &self.path);
        command
    }
}

pub fn ensure(root: &Path, needs: Needs) -> Result<Tools> {
    ensure_wasm_target()?;
    let wasm_bindgen_version = locked_version(root, "wasm-bindgen")?;
    ensure_cargo_tool(
        "trunk",
        "trunk",
        &format!("trunk {TRUNK_VERSION}."),
        &["--version", &format!("~{TRUNK_VERSION}"), "--locked"],
    )?;
    // `--locked` fails on a yanked dependency of wasm-bindgen-cli.
    ensure_cargo_tool(
        "wasm-bindgen",
        "wasm-bindgen-cli",
        &format!("wasm-bindgen {wasm_bindgen_version}"),
        &["--version", &wasm_bindgen_version],
    )?;
    let mut debian_packages = Vec::new();
    if which("node").is_none() || which("npm").is_none() {
        debian_packages.extend(["nodejs", "npm"]);
    }
    if needs.browser {
        if which("chromium").is_none() {
            debian_packages.push("chromium");
        }
        if which("chromedriver").is_none() {
            debian_packages.push("chromium-driver");
        }
    }
    // The Redis poller's tests start a redis-server of their own.
    if needs.browser && which("redis-server").is_none() {
        debian_packages.push("redis-server");
    }
    apt_install(&debian_packages)?;
    let node_bin = ensure_binaryen(root)?;
    ensure_esbuild(root, &node_bin)?;
    let path = format!(
        "{}:{}",
        node_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let web_vitals_dist = if needs.browser {
        Some(ensure_web_vitals(root)?)
    } else {
        None
    };
    Ok(Tools {
        path,
        web_vitals_dist,
    })
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output_of(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if !installed.lines().any(|t| t == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// The version of `package` that Cargo.lock pins, so CLI and library always agree.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').context("malformed Cargo.lock")?;
    Ok(lock[start..start + end].to_string())
}

fn ensure_cargo_tool(binary: &str, krate: &str, version_prefix: &str, args: &[&str]) -> Result<()> {
    let current = output_of(Command::new(binary).arg("--version")).unwrap_or_default();
    if current.starts_with(version_prefix) {
        return Ok(());
    }
    eprintln!("{binary}: found `{current}`, need `{version_prefix}…`; installing (this can take many minutes)");
    let mut install = cargo();
    install.args(["install", krate]).args(args);
    run(&mut install)
}

pub fn apt_install(packages: &[&str]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// npm's binaryen, installed under target/ so every checkout has its own pinned copy.
fn ensure_binaryen(root: &Path) -> Result<PathBuf> {
    let prefix = root.join("target/tools");
    let bin = prefix.join("node_modules/.bin");
    let version =
        output_of(Command::new(bin.join("wasm-opt")).arg("--version")).unwrap_or_default();
    if !version.contains(&format!("version {BINARYEN_VERSION}")) {
        std::fs::create_dir_all(&prefix)?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}")))?;
        let version =
            output_of(Command::new(bin.join("wasm-opt")).arg("--version")).unwrap_or_default();
        if !version.contains(&format!("version {BINARYEN_VERSION}")) {
            bail!("npm installed binaryen but its wasm-opt reports `{version}`");
        }
    }
    Ok(bin)
}

/// npm's esbuild (its binary comes in the `@esbuild/<platform>` package), next to binaryen.
fn ensure_esbuild(root: &Path, node_bin: &Path) -> Result<()> {
    let esbuild = node_bin.join("esbuild");
    if output_of(Command::new(&esbuild).arg("--version")).as_deref() != Some(ESBUILD_VERSION) {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(root.join("target/tools"))
            .arg(format!("esbuild@{ESBUILD_VERSION}")))?;
        let version = output_of(Command::new(&esbuild).arg("--version")).unwrap_or_default();
        if version != ESBUILD_VERSION {
            bail!("npm installed esbuild but it reports `{version}`");
        }
    }
    Ok(())
}

/// npm's `web-vitals`, the reference implementation the tracker's vitals are checked
/// against, under target/ next to binaryen; never part of what the project ships.
fn ensure_web_vitals(root: &Path) -> Result<PathBuf> {
    Ok(ensure_npm_package(root, "web-vitals", WEB_VITALS_VERSION)?.join("dist"))
}

/// npm's `lighthouse`, under target/ next to binaryen, installed when missing; returns
/// its command-line entry point (run with `node`, driving Debian's Chromium).
pub fn ensure_lighthouse(root: &Path) -> Result<PathBuf> {
    // A major version: its manifest's version starts with "12.".
    let major = format!("{LIGHTHOUSE_MAJOR}.");
    Ok(ensure_npm_package(root, "lighthouse", &major)?.join("cli/index.js"))
}

/// Installs `name` from the npm registry into target/tools unless a version starting
/// with `version` is there already; returns the package's directory.
fn ensure_npm_package(root: &Path, name: &str, version: &str) -> Result<PathBuf> {
    let prefix = root.join("target/tools");
    let package = prefix.join("node_modules").join(name);
    let wanted = format!("\"version\": \"{version}");
    let installed = |package: &Path| {
        std::fs::read_to_string(package.join("package.json"))
            .is_ok_and(|manifest| manifest.contains(&wanted))
    };
    if !installed(&package) {
        std::fs::create_dir_all(&prefix)?;
        // npm takes `name@12.` as no version at all; without the dot it means the major.
        let spec = format!("{name}@{}", version.trim_end_matches('.'));
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(spec))?;
        if !installed(&package) {
            bail!("npm did not install {name} {version}");
        }
    }
    Ok(package)
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
