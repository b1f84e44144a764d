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

/// The standalone tracker is compiled with a standard library rebuilt for
/// `panic = immediate-abort` (`-Zbuild-std`, enabled on the stable compiler with
/// `RUSTC_BOOTSTRAP=1`, as the fuzz target is): std's panic handler formats its message,
/// and every `Vec` growth can panic ("capacity overflow"), so with the prebuilt std
/// Rust's formatting machinery, panic messages and their source paths stay in the wasm
/// whatever the tracker's code does: about 16 KB raw, 6.9 KB brotli of its budget. A
/// panic traps either way (`panic = "abort"`). Only the one-script-tag build is
/// affected; Rust apps that link the tracker build it their own way. Without the std
/// sources (`rust-src`) the prebuilt std is used, with a warning. `location-detail=none`
/// drops the source paths and line numbers kept for panic messages nobody prints, and
/// `fmt-debug=none` the `Debug` impls (together 918 B brotli with the wasm-opt flags
/// below unchanged). Without `reference-types` wasm-bindgen keeps JS values in a table
/// in the glue instead of an `externref` table in the wasm, so no call into JS needs a
/// table shim in the wasm: 632 B brotli less in all (the glue grows 134 B).
const SIZE_RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort \
     -Zlocation-detail=none -Zfmt-debug=none -Ctarget-feature=-reference-types";
/// Its own target dir: sharing one with the ordinary build would rebuild both every time.
const SIZE_TARGET_DIR: &str = "target/tracker-size";

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
    // Only the dashboard: Trunk empties its directory on each build, so a compressed
    // copy can never outlive the file it was made from (the tracker's directory is
    // written over, not emptied).
    precompress(&root.join(DASHBOARD_DIST))?;
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
            // The loader passes the wasm's URL, and every browser the tracker supports
            // has `TextEncoder.encodeInto`: both fallbacks would be dead glue.
            "--omit-default-module-path",
            "--encode-into",
            "always",
            "--out-name",
            "perfscope_tracker",
            "--out-dir",
        ])
        .arg(&out)
        .arg(&compiled))?;
    let wasm = out.join("perfscope_tracker_bg.wasm");
    // `--converge` repeats -Oz while it still shrinks; names, producer and target
    // feature sections are of no use to the browser. Flattening and re-looping the
    // control flow first lets -Oz fold more (measured: 182 B brotli; the target
    // features section another 106 B).
    run(tools
        .command("wasm-opt")
        .args(["--flatten", "--rereloop", "-Oz", "-Oz", "--converge"])
        .args([
            "--strip-debug",
            "--strip-producers",
            "--strip-target-features",
        ])
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

/// The tracker's wasm as rustc wrote it: with a size-built std where the std sources
/// are installed, else with the prebuilt one.
fn compile_tracker(root: &Path) -> Result<PathBuf> {
    let output = "wasm32-unknown-unknown/wasm-release/perfscope_tracker.wasm";
    if ensure_std_sources() {
        let target_dir = root.join(SIZE_TARGET_DIR);
        let built = run(cargo()
            .args(TRACKER_BUILD)
            .args(["-Zbuild-std=std,panic_abort", "--target-dir"])
            .arg(&target_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            // Only the wasm: with `--target`, RUSTFLAGS leave build scripts and proc
            // macros alone.
            .env("RUSTFLAGS", SIZE_RUSTFLAGS));
        match built {
            Ok(()) => return Ok(target_dir.join(output)),
            Err(error) => eprintln!(
                "warning: the size-optimised tracker build failed ({error:#}); \
                 building with the prebuilt std, which is ~6.9 KB brotli larger"
            ),
        }
    } else {
        eprintln!(
            "warning: no rust-src component; the tracker is built with the prebuilt std, \
             which is ~6.9 KB brotli larger"
        );
    }
    run(cargo().args(TRACKER_BUILD))?;
    Ok(root.join("target").join(output))
}

/// The standard library's sources for the toolchain running this build, which
/// `-Zbuild-std` compiles; `rustup component add rust-src` when they are missing.
fn ensure_std_sources() -> bool {
    let installed = || {
        output_of(Command::new("rustc").args(["--print", "sysroot"])).is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib/src/rust/library/std")
                .is_dir()
        })
    };
    installed()
        || (run(Command::new("rustup").args(["component", "add", "rust-src"])).is_ok()
            && installed())
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

/// Extensions of the files the collector serves compressed.
const COMPRESSIBLE: [&str; 5] = ["wasm", "js", "css", "html", "svg"];

/// Writes `name.br` (quality 11) and `name.gz` beside every compressible file under
/// `dir`, which the collector serves instead of compressing on each request.
fn precompress(dir: &Path) -> Result<()> {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let compressible = path
                .extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| COMPRESSIBLE.contains(&ext));
            if !compressible {
                continue;
            }
            let bytes = std::fs::read(&path)?;
            let mut brotli = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params)?;
            std::fs::write(with_suffix(&path, "br"), brotli)?;
            let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
            gzip.write_all(&bytes)?;
            std::fs::write(with_suffix(&path, "gz"), gzip.finish()?)?;
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}
