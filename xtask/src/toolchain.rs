//! The Rust toolchain used for every build: rustup's, when it has the wasm32 target, or else
//! Debian's rustc-web 1.96 with build-std for wasm32 (rustup cannot download targets here).

use crate::paths;
use std::path::PathBuf;
use std::process::Command;

/// The wasm target the hydrate bundle is built for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Debian's complete 1.96 toolchain, with the standard library sources for build-std.
const DEBIAN_PACKAGES: [&str; 6] = [
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-clippy",
    "rustfmt-web",
    "lld",
];

/// Which toolchain builds the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's toolchain, which has the wasm32 target installed.
    Rustup,
    /// Debian's rustc-web; wasm32 is built with `-Z build-std`.
    Debian,
}

impl Toolchain {
    /// Picks rustup when its wasm32 target is installed, else Debian's (installing it if needed).
    pub fn detect_or_install() -> anyhow::Result<Self> {
        if rustup_has_wasm_target() {
            return Ok(Self::Rustup);
        }
        if !debian_toolchain_present() {
            crate::apt::install(&DEBIAN_PACKAGES, "a Rust toolchain that can build wasm32")?;
            if !debian_toolchain_present() {
                anyhow::bail!(
                    "no wasm32 toolchain: either `rustup target add {WASM_TARGET}`, or install \
                     Debian's {} (rustc 1.96 or newer)",
                    DEBIAN_PACKAGES.join(" ")
                );
            }
        }
        Ok(Self::Debian)
    }

    /// The target directory. Debian's compiler gets its own, so switching does not rebuild
    /// everything that rustup built for `cargo xtask` itself.
    pub fn target_dir(self) -> PathBuf {
        let target = paths::root().join("target");
        match self {
            Self::Rustup => target,
            Self::Debian => target.join("debian"),
        }
    }

    /// A `cargo` command for this toolchain, run in the workspace root.
    pub fn cargo(self) -> Command {
        let mut cmd = match self {
            Self::Rustup => Command::new("cargo"),
            Self::Debian => {
                let mut cmd = Command::new("/usr/bin/cargo");
                let path = std::env::var("PATH").unwrap_or_default();
                // cargo finds clippy and rustfmt on PATH: Debian's must come first.
                cmd.env("PATH", format!("/usr/bin:{path}"))
                    .env("RUSTC", "/usr/bin/rustc")
                    .env("RUSTDOC", "/usr/bin/rustdoc")
                    // build-std is an unstable flag; Debian's stable compiler allows it this way.
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env(
                        format!("CARGO_TARGET_{}_LINKER", env_key(WASM_TARGET)),
                        "wasm-ld",
                    )
                    .env_remove("RUSTUP_TOOLCHAIN")
                    .env_remove("CARGO");
                cmd
            }
        };
        cmd.current_dir(paths::root())
            .env("CARGO_TARGET_DIR", self.target_dir());
        cmd
    }

    /// The arguments that select the wasm target (and build std for it when needed).
    pub fn wasm_args(self) -> Vec<&'static str> {
        match self {
            Self::Rustup => vec!["--target", WASM_TARGET],
            Self::Debian => vec!["--target", WASM_TARGET, "-Zbuild-std=std,panic_abort"],
        }
    }
}

fn rustup_has_wasm_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET)
        })
}

fn debian_toolchain_present() -> bool {
    let version = Command::new("/usr/bin/rustc").arg("--version").output();
    let new_enough = version.is_ok_and(|out| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        parse_minor(&text).is_some_and(|minor| minor >= 96)
    });
    new_enough
        && PathBuf::from("/usr/lib/rustlib/src/rust/library").is_dir()
        && PathBuf::from("/usr/bin/cargo-clippy").exists()
        && PathBuf::from("/usr/bin/wasm-ld").exists()
}

/// The minor version from `rustc 1.96.0 (...)`.
fn parse_minor(version_line: &str) -> Option<u32> {
    let version = version_line.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}

fn env_key(target: &str) -> String {
    target.to_uppercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_minor_version() {
        assert_eq!(parse_minor("rustc 1.96.0 (ac68faa20 2026-05-25)"), Some(96));
        assert_eq!(parse_minor("rustc 1.95.0"), Some(95));
        assert_eq!(parse_minor("rustc 2.0.0"), None);
        assert_eq!(parse_minor(""), None);
    }

    #[test]
    fn linker_variable_names_the_target() {
        assert_eq!(env_key(WASM_TARGET), "WASM32_UNKNOWN_UNKNOWN");
    }
}
