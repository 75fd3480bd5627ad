//! The pinned helm binary: where `cargo xtask setup` unpacks it, and which one tests run.

use std::path::PathBuf;

/// The helm release Pilothouse is tested with.
pub const HELM_VERSION: &str = "v4.1.4";

/// Pilothouse's per-machine cache (`$XDG_CACHE_HOME/pilothouse`, else `~/.cache/pilothouse`).
pub fn cache_dir() -> PathBuf {
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
    home.join("pilothouse")
}

/// Where the pinned helm lives once installed.
pub fn pinned() -> PathBuf {
    cache_dir()
        .join(format!("helm-{HELM_VERSION}"))
        .join("helm")
}

/// The helm tests run: `PILOTHOUSE_HELM` (which `cargo xtask test` sets), else the pinned one.
pub fn binary() -> PathBuf {
    std::env::var_os("PILOTHOUSE_HELM").map_or_else(pinned, PathBuf::from)
}
