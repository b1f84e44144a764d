//! Builds the two wasm artefacts: the standalone tracker and the Trunk-built dashboard.

use crate::shell::{cargo, output_of, run};
use crate::toolchain::Tools;
use crate::wasm_names;
use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TRACKER_DIST: &str = "target/dist/tracker";
pub const DASHBOARD_DIST: &str = "target/dist/dashboard";

/// The standalone tracker is compiled by a nightly toolchain that rebuilds the standard
/// library with `panic = immediate-abort`: std's panic handler formats its message, and
/// every `Vec` growth can panic ("capacity overflow"), so on stable Rust's formatting
/// machinery, panic messages and their source paths stay in the wasm whatever the
/// tracker's code does: about 16 KB raw, 6.7 KB brotli of its budget. Only the
/// one-script-tag build is affected; Rust apps that link the tracker use their own
/// toolchain. Without nightly the stable build is used, with a warning.
const SIZE_TOOLCHAIN: &str = "nightly";
/// Its own target dir: sharing one with stable builds would rebuild both every time.
const SIZE_TARGET_DIR: &str = "target/tracker-nightly";

/// The wasm features rustc emits by default; wasm-opt must be told, or it rejects the
/// module. index.html passes the same list to Trunk's wasm-opt run.
const WASM_OPT_FEATURES: [&str; 8] = [
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

pub fn build_all(root: &Path, tools: &Tools) -> Result<()> {
    let tracker = build_tracker(root, tools)?;
    let dashboard = build_dashboard(root, tools)?;
    println!("wasm sizes:");
    for (name, file) in [("tracker", tracker), ("dashboard", dashboard)] {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        println!(
            "  {name:<10} {:>8} B raw  {:>8} B gzip  ({})",
            bytes.len(),
            gzip_len(&bytes)?,
            file.display()
        );
    }
    Ok(())
}

/// The one-script-tag build: wasm-bindgen's `web` output plus the loader script.
pub fn build_tracker(root: &Path, tools: &Tools) -> Result<PathBuf> {
    let compiled = compile_tracker(root)?;
    let out = root.join(TRACKER_DIST);
    std::fs::create_dir_all(&out)?;
    run(tools
        .command("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "perfscope_tracker",
            "--out-dir",
        ])
        .arg(&out)
        .arg(&compiled))?;
    let wasm = out.join("perfscope_tracker_bg.wasm");
    // `--converge` repeats -Oz while it still shrinks; names and producer sections are
    // of no use to the browser. Together ~0.3 % smaller than a single -Oz.
    run(tools
        .command("wasm-opt")
        .args(["-Oz", "--converge", "--strip-debug", "--strip-producers"])
        .args(WASM_OPT_FEATURES)
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))?;
    shorten_glue_names(tools, &wasm, &out.join("perfscope_tracker.js"))?;
    std::fs::copy(
        root.join("crates/perfscope-tracker/js/perfscope.js"),
        out.join("perfscope.js"),
    )
    .context("copying the tracker's loader script")?;
    Ok(wasm)
}

const TRACKER_BUILD: [&str; 10] = [
    "build",
    "-p",
    "perfscope-tracker",
    "--lib",
    "--target",
    "wasm32-unknown-unknown",
    "--profile",
    "wasm-release",
    "--features",
    "standalone",
];

/// The tracker's wasm as rustc wrote it: by nightly with a size-built std where it can,
/// else by the stable toolchain.
fn compile_tracker(root: &Path) -> Result<PathBuf> {
    let output = "wasm32-unknown-unknown/wasm-release/perfscope_tracker.wasm";
    if ensure_size_toolchain() {
        let target_dir = root.join(SIZE_TARGET_DIR);
        let built = run(Command::new("rustup")
            .args(["run", SIZE_TOOLCHAIN, "cargo"])
            .args(TRACKER_BUILD)
            .args(["-Zbuild-std=std,panic_abort", "--target-dir"])
            .arg(&target_dir)
            // Only the wasm: with `--target`, RUSTFLAGS leave build scripts and proc
            // macros alone.
            .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
            .env_remove("RUSTC")
            .env_remove("RUSTDOC"));
        match built {
            Ok(()) => return Ok(target_dir.join(output)),
            Err(error) => eprintln!(
                "warning: the size-optimised tracker build failed ({error:#}); \
                 building with the stable toolchain, which is ~6.7 KB brotli larger"
            ),
        }
    } else {
        eprintln!(
            "warning: no {SIZE_TOOLCHAIN} toolchain with rust-src; the tracker is built \
             with the stable one, which is ~6.7 KB brotli larger"
        );
    }
    run(cargo().args(TRACKER_BUILD))?;
    Ok(root.join("target").join(output))
}

/// The nightly toolchain and its standard library sources, installed when missing.
fn ensure_size_toolchain() -> bool {
    let has_std_sources = || {
        output_of(Command::new("rustup").args([
            "run",
            SIZE_TOOLCHAIN,
            "rustc",
            "--print",
            "sysroot",
        ]))
        .is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib/src/rust/library/std")
                .is_dir()
        })
    };
    if has_std_sources() {
        return true;
    }
    let installed = run(Command::new("rustup").args([
        "toolchain",
        "install",
        SIZE_TOOLCHAIN,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
    ]));
    installed.is_ok() && has_std_sources()
}

/// Short import/export names in wasm and glue, then the glue minified: together about
/// 3 KB brotli of the tracker's 16 KB budget (the glue is 40 KB of readable JS).
fn shorten_glue_names(tools: &Tools, wasm: &Path, glue: &Path) -> Result<()> {
    let mut minify = tools.command("wasm-opt");
    minify
        .args(WASM_OPT_FEATURES)
        .arg("--minify-imports-and-exports-and-modules")
        .arg(wasm)
        .arg("-o")
        .arg(wasm);
    eprintln!(
        "$ wasm-opt --minify-imports-and-exports-and-modules {}",
        wasm.display()
    );
    let output = minify
        .output()
        .context("running wasm-opt to minify names")?;
    if !output.status.success() {
        bail!(
            "wasm-opt could not minify names: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mapping = String::from_utf8(output.stdout).context("wasm-opt's name mapping")?;
    let text =
        std::fs::read_to_string(glue).with_context(|| format!("reading {}", glue.display()))?;
    std::fs::write(glue, wasm_names::apply_to_glue(&text, &mapping)?)?;
    run(tools
        .command("esbuild")
        .arg(glue)
        .args(["--minify", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", glue.display()))
        .arg("--allow-overwrite"))
}

fn build_dashboard(root: &Path, tools: &Tools) -> Result<PathBuf> {
    run(tools
        .command("trunk")
        .args(["build", "--release", "--offline"])
        .current_dir(root))?;
    let dist = root.join(DASHBOARD_DIST);
    let wasm = std::fs::read_dir(&dist)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .with_context(|| format!("Trunk wrote no .wasm into {}", dist.display()))?;
    Ok(wasm)
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}
