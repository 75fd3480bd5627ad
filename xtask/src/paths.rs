//! Where things live in the workspace.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of the xtask crate).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The built site served by the server: `pkg/` holds the wasm bundle and the stylesheet.
pub fn site_root() -> PathBuf {
    root().join("target").join("site")
}

/// The end-to-end suite's directory.
pub fn end2end() -> PathBuf {
    root().join("end2end")
}
