//! Fingerprinted, precompressed site assets: each of the bundle's JavaScript, wasm and CSS
//! gets a copy named by its content's hash (what pages link to, cached for a year as
//! immutable), `hash.txt` tells the server those names (Leptos' `hash-files` format), and
//! every asset gets `.br` and `.gz` siblings the server sends to browsers that accept them.

use anyhow::Context;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// The assets to fingerprint: Leptos' key in `hash.txt`, the built file, and the extension
/// of the fingerprinted copy.
fn assets(output_name: &str) -> [(&'static str, String, &'static str); 3] {
    [
        ("js", format!("{output_name}.js"), "js"),
        ("wasm", format!("{output_name}_bg.wasm"), "wasm"),
        ("css", format!("{output_name}.css"), "css"),
    ]
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
pub fn fingerprint(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// How hard to compress: the smallest files for releases; quick for the debug bundle (tens
/// of megabytes, rebuilt all day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Brotli 11, gzip 9.
    Smallest,
    /// Brotli 4, gzip 6.
    Quick,
}

/// Fingerprints and precompresses the assets in `site_root/pkg`, writing `site_root/hash.txt`.
pub fn finish(site_root: &Path, output_name: &str, effort: Effort) -> anyhow::Result<()> {
    let pkg = site_root.join("pkg");
    remove_old_copies(&pkg, output_name)?;
    let mut hashes = String::new();
    for (key, file, extension) in assets(output_name) {
        let path = pkg.join(&file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let hash = fingerprint(&bytes);
        let hashed = pkg.join(format!("{output_name}.{hash}.{extension}"));
        std::fs::write(&hashed, &bytes)
            .with_context(|| format!("cannot write {}", hashed.display()))?;
        hashes.push_str(&format!("{key}: {hash}\n"));
    }
    let hash_file = site_root.join("hash.txt");
    std::fs::write(&hash_file, hashes)
        .with_context(|| format!("cannot write {}", hash_file.display()))?;
    for entry in
        std::fs::read_dir(&pkg).with_context(|| format!("cannot list {}", pkg.display()))?
    {
        let path = entry?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "js" | "wasm" | "css"));
        if compressible {
            compress(&path, effort)?;
        }
    }
    Ok(())
}

/// Removes fingerprinted copies (and all precompressed files) of earlier builds.
fn remove_old_copies(pkg: &Path, output_name: &str) -> anyhow::Result<()> {
    let prefix = format!("{output_name}.");
    for entry in std::fs::read_dir(pkg).with_context(|| format!("cannot list {}", pkg.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let old_copy = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(hash, _)| {
                hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
            });
        let compressed = name.ends_with(".br") || name.ends_with(".gz");
        if old_copy || compressed {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes `path.br` and `path.gz`.
fn compress(path: &Path, effort: Effort) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (brotli_quality, gzip_level) = match effort {
        Effort::Smallest => (11, flate2::Compression::best()),
        Effort::Quick => (4, flate2::Compression::default()),
    };
    let mut brotli = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut brotli, 64 * 1024, brotli_quality, 22);
        writer.write_all(&bytes)?;
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), gzip_level);
    gzip.write_all(&bytes)?;
    let gzip = gzip.finish()?;
    for (suffix, compressed) in [("br", brotli), ("gz", gzip)] {
        let target = path.with_file_name(format!(
            "{}.{suffix}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ));
        std::fs::write(&target, compressed)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_get_hashed_copies_a_hash_file_and_compressed_siblings() {
        let site = std::env::temp_dir().join(format!("xtask-assets-{}", std::process::id()));
        let pkg = site.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("app.js"), "console.log('x');".repeat(50)).unwrap();
        std::fs::write(pkg.join("app_bg.wasm"), b"\0asm....").unwrap();
        std::fs::write(pkg.join("app.css"), "body{}").unwrap();
        std::fs::write(pkg.join("app.0123456789abcdef.js"), "old").unwrap();
        finish(&site, "app", Effort::Quick).unwrap();
        let hashes = std::fs::read_to_string(site.join("hash.txt")).unwrap();
        let js = fingerprint("console.log('x');".repeat(50).as_bytes());
        assert!(hashes.contains(&format!("js: {js}")), "{hashes}");
        assert!(pkg.join(format!("app.{js}.js")).exists());
        assert!(pkg.join(format!("app.{js}.js.br")).exists());
        assert!(pkg.join("app.css.gz").exists());
        assert!(
            !pkg.join("app.0123456789abcdef.js").exists(),
            "old copies go"
        );
        let br = std::fs::read(pkg.join(format!("app.{js}.js.br"))).unwrap();
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut br.as_slice(), &mut plain).unwrap();
        assert_eq!(plain, "console.log('x');".repeat(50).as_bytes());
        std::fs::remove_dir_all(&site).unwrap();
    }
}
