//! Building the site without cargo-leptos: cargo for the server, cargo + wasm-bindgen for the
//! hydrate bundle, and the stylesheet copied into `pkg/`.
//!
//! No wasm-opt: Debian's (binaryen 108) cannot round-trip a module with reference types,
//! which rustc and wasm-bindgen emit by default; even a bare read and write turns
//! wasm-bindgen's externref table into a funcref one, and the browser refuses the bundle at
//! start-up. The release profile's `opt-level = "z"` and LTO, with the name and producers
//! sections dropped, give a bundle within 20 % of wasm-opt's.

use crate::setup::Tools;
use crate::toolchain::WASM_TARGET;
use crate::{paths, step};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;

/// The bundle's name under `pkg/`; the server's `app::OUTPUT_NAME` must match.
const OUTPUT_NAME: &str = "pilothouse";

/// The host packages; built together so tests, clippy and the server share one feature set.
pub const HOST_PACKAGES: [&str; 3] = ["--workspace", "--exclude", "frontend"];

/// Which cargo profile to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Fast to build; what the demo and the tests use.
    Dev,
    /// Optimised, with a size-optimised wasm bundle (`cargo xtask build --release`).
    Release,
}

/// Builds the wasm bundle, the stylesheet and the server binary.
pub fn build_all(tools: &Tools, profile: Profile) -> anyhow::Result<()> {
    build_bundle(tools, profile)?;
    build_server(tools, profile).map(|_| ())
}

/// Builds the server binary (with the other host packages) and returns its path.
pub fn build_server(tools: &Tools, profile: Profile) -> anyhow::Result<PathBuf> {
    step("building the server");
    let mut cargo = tools.toolchain.cargo();
    cargo.arg("build").args(HOST_PACKAGES);
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    run(&mut cargo, "cargo build (server)")?;
    let dir = if profile == Profile::Release {
        "release"
    } else {
        "debug"
    };
    Ok(tools.toolchain.target_dir().join(dir).join("pilothouse"))
}

/// Builds the hydrate bundle into `target/site/pkg` and copies the stylesheet beside it.
pub fn build_bundle(tools: &Tools, profile: Profile) -> anyhow::Result<()> {
    step("building the wasm bundle");
    let mut cargo = tools.toolchain.cargo();
    cargo
        .args(["build", "--package", "frontend", "--lib"])
        .args(tools.toolchain.wasm_args());
    let profile_dir = match profile {
        Profile::Dev => "debug",
        Profile::Release => {
            cargo.args(["--profile", "wasm-release"]);
            "wasm-release"
        }
    };
    run(&mut cargo, "cargo build (wasm bundle)")?;

    let wasm = tools
        .toolchain
        .target_dir()
        .join(WASM_TARGET)
        .join(profile_dir)
        .join("frontend.wasm");
    let pkg = paths::site_root().join("pkg");
    std::fs::create_dir_all(&pkg).with_context(|| format!("cannot create {}", pkg.display()))?;
    let mut bindgen = Command::new(&tools.wasm_bindgen);
    bindgen.args([
        "--target",
        "web",
        "--no-typescript",
        "--out-name",
        OUTPUT_NAME,
    ]);
    if profile == Profile::Release {
        // Function names and the toolchain's signature are for debugging: a third of the size.
        bindgen.args(["--remove-name-section", "--remove-producers-section"]);
    }
    run(
        bindgen.arg("--out-dir").arg(&pkg).arg(&wasm),
        "wasm-bindgen",
    )?;
    let css = paths::root().join("style").join("main.css");
    std::fs::copy(&css, pkg.join(format!("{OUTPUT_NAME}.css")))
        .with_context(|| format!("cannot copy {}", css.display()))?;
    let effort = match profile {
        Profile::Dev => crate::assets::Effort::Quick,
        Profile::Release => crate::assets::Effort::Smallest,
    };
    crate::assets::finish(&paths::site_root(), OUTPUT_NAME, effort)
}

/// Runs a build step, failing with its name when it fails.
pub fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}
