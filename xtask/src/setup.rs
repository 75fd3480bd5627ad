//! Detects what the build and the tests need and installs what is missing. Idempotent: on a
//! machine that has everything it only runs a few version checks.

use crate::toolchain::Toolchain;
use crate::{apt, paths, step};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The pieces a command needs.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// Node packages and Chromium for the Playwright suite.
    pub end_to_end: bool,
}

impl Needs {
    /// What building and running the site needs.
    pub fn build() -> Self {
        Self { end_to_end: false }
    }

    /// What the whole test suite needs.
    pub fn everything() -> Self {
        Self { end_to_end: true }
    }
}

/// The tools found or installed.
#[derive(Debug)]
pub struct Tools {
    /// The Rust toolchain for every cargo build.
    pub toolchain: Toolchain,
    /// wasm-bindgen at the version in Cargo.lock.
    pub wasm_bindgen: PathBuf,
    /// The pinned helm binary.
    pub helm: PathBuf,
}

/// Installs what is missing and returns the tools to build with.
pub fn run(needs: Needs) -> anyhow::Result<Tools> {
    let started = Instant::now();
    step("checking the toolchain and tools");
    let toolchain = Toolchain::detect_or_install()?;
    let mut debian = Vec::new();
    if needs.end_to_end && !Path::new(crate::e2e::CHROMIUM).exists() {
        debian.push("chromium");
    }
    apt::install(&debian, "Chromium")?;
    let wasm_bindgen = ensure_wasm_bindgen(toolchain)?;
    let helm = crate::helm::ensure()?;
    // The identity provider serves the demo and the Rust tests; the browser suite only the tests.
    ensure_node_packages(&paths::root().join("idp"))?;
    if needs.end_to_end {
        ensure_node_packages(&paths::end2end())?;
    }
    eprintln!(
        "    toolchain: {toolchain:?}; wasm-bindgen: {}; set-up took {:.1} s",
        wasm_bindgen.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(Tools {
        toolchain,
        wasm_bindgen,
        helm,
    })
}

/// wasm-bindgen's CLI must match the `wasm-bindgen` crate in Cargo.lock exactly.
fn ensure_wasm_bindgen(toolchain: Toolchain) -> anyhow::Result<PathBuf> {
    let lock = std::fs::read_to_string(paths::root().join("Cargo.lock"))
        .context("cannot read Cargo.lock")?;
    let version =
        locked_version(&lock, "wasm-bindgen").context("Cargo.lock has no wasm-bindgen package")?;
    let cargo_bin = cargo_home().join("bin");
    let candidates = find_on_path("wasm-bindgen")
        .into_iter()
        .chain([cargo_bin.join("wasm-bindgen")]);
    for candidate in candidates {
        if tool_version(&candidate).as_deref() == Some(&format!("wasm-bindgen {version}")) {
            return Ok(candidate);
        }
    }
    step(&format!(
        "installing wasm-bindgen-cli {version} (about 10 minutes, once per machine)"
    ));
    let status = toolchain
        .cargo()
        .args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
            "--root",
        ])
        .arg(cargo_home())
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("cannot run cargo install")?;
    let installed = cargo_bin.join("wasm-bindgen");
    if !status.success() || tool_version(&installed).is_none() {
        bail!(
            "could not install wasm-bindgen-cli {version}: run `cargo install wasm-bindgen-cli --version {version}`"
        );
    }
    Ok(installed)
}

fn ensure_node_packages(dir: &Path) -> anyhow::Result<()> {
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(lock), Ok(installed)) => installed.modified()? >= lock.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    step(&format!(
        "installing the Node packages in {}",
        dir.display()
    ));
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .context("npm is missing: install Node.js 20 or newer with npm")?;
    if !status.success() {
        bail!(
            "`npm ci` in {} failed: check that the npm registry is reachable",
            dir.display()
        );
    }
    Ok(())
}

/// The version of `package` recorded in a Cargo.lock text.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let next = lines.next()?;
            let version = next
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}

fn tool_version(program: &Path) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo")
        })
}

/// The first executable called `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\n[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "leptos"), None);
    }
}
