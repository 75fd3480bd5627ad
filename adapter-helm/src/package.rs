//! Chart archives: checked before anything is stored (size, gzip bombs, paths, links,
//! Chart.yaml), then kept content-addressed in Postgres with their metadata.

use control_core::{Error, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Read;

pub use model::source::PackageLimits as Limits;

/// What a valid archive says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartInfo {
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// appVersion, when given.
    pub app_version: Option<String>,
    /// description, when given.
    pub description: Option<String>,
    /// SHA-256 of the archive, hex.
    pub digest: String,
    /// The archive's size in bytes.
    pub size: usize,
}

impl ChartInfo {
    /// The package id, as the reference adapter forms it: `name-version`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChartYaml {
    api_version: Option<String>,
    name: Option<String>,
    version: Option<String>,
    app_version: Option<String>,
    description: Option<String>,
}

/// A reader that counts what passes through it.
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn refused(message: impl Into<String>) -> Error {
    Error::invalid("package", message)
}

/// Checks an uploaded chart archive (.tgz) and reads its Chart.yaml.
pub fn inspect(archive: &[u8], limits: Limits) -> Result<ChartInfo> {
    if archive.is_empty() {
        return Err(refused(
            "the upload is empty; choose a chart archive (.tgz) made by `helm package`",
        ));
    }
    if archive.len() > limits.archive_bytes {
        return Err(refused(format!(
            "the archive is {} bytes; the limit is {} bytes",
            archive.len(),
            limits.archive_bytes
        )));
    }
    if !archive.starts_with(&[0x1f, 0x8b]) {
        return Err(refused("not a gzip-compressed tar archive (.tgz)"));
    }
    // Reading through a bounded reader stops a gzip bomb at the limit, whatever it claims.
    let read = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let expanded = Counted {
        inner: flate2::read::GzDecoder::new(archive).take(limits.expanded_bytes + 1),
        read: read.clone(),
    };
    let too_big = || {
        refused(format!(
            "the archive expands to more than {} bytes",
            limits.expanded_bytes
        ))
    };
    let mut tar = tar::Archive::new(expanded);
    let mut chart_yaml: Option<(String, Vec<u8>)> = None;
    let mut total: u64 = 0;
    let mut top: Option<String> = None;
    let entries = tar
        .entries()
        .map_err(|e| refused(format!("not a tar archive: {e}")))?;
    for (count, entry) in entries.enumerate() {
        if count >= limits.entries {
            return Err(refused(format!("more than {} entries", limits.entries)));
        }
        let mut entry = entry.map_err(|e| {
            if read.get() > limits.expanded_bytes {
                too_big()
            } else {
                refused(format!("a broken archive entry: {e}"))
            }
        })?;
        let path = entry
            .path()
            .map_err(|e| refused(format!("an entry with an unreadable name: {e}")))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        if path.starts_with('/') || path.starts_with('\\') || path.contains(":\\") {
            return Err(refused(format!("entry {path:?} has an absolute path")));
        }
        if path.split(['/', '\\']).any(|part| part == "..") {
            return Err(refused(format!(
                "entry {path:?} leaves the chart directory ('..')"
            )));
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(refused(format!(
                "entry {path:?} is a link; charts may hold only files and directories"
            )));
        }
        if !(kind.is_file()
            || kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname())
        {
            return Err(refused(format!(
                "entry {path:?} is not a file or directory"
            )));
        }
        let first = path.split('/').next().unwrap_or_default().to_owned();
        if kind.is_file() {
            match &top {
                None => top = Some(first.clone()),
                Some(dir) if *dir != first => {
                    return Err(refused("a chart archive holds one top-level directory"));
                }
                Some(_) => {}
            }
        }
        let size = entry.header().size().unwrap_or(0);
        if size > limits.file_bytes {
            return Err(refused(format!(
                "entry {path:?} is {size} bytes; files in a chart may be at most {} bytes",
                limits.file_bytes
            )));
        }
        let mut content = Vec::new();
        (&mut entry)
            .take(limits.file_bytes + 1)
            .read_to_end(&mut content)
            .map_err(|e| refused(format!("entry {path:?} cannot be read: {e}")))?;
        if content.len() as u64 > limits.file_bytes {
            return Err(refused(format!(
                "entry {path:?} is larger than {} bytes",
                limits.file_bytes
            )));
        }
        total += content.len() as u64;
        if total > limits.expanded_bytes || read.get() > limits.expanded_bytes {
            return Err(too_big());
        }
        if path == format!("{first}/Chart.yaml") {
            chart_yaml = Some((path, content));
        }
    }
    let (_, text) =
        chart_yaml.ok_or_else(|| refused("no Chart.yaml at the top of the chart directory"))?;
    let parsed: ChartYaml = serde_yaml::from_slice(&text)
        .map_err(|e| refused(format!("Chart.yaml cannot be read: {e}")))?;
    if parsed.api_version.as_deref() != Some("v2") {
        return Err(refused(format!(
            "Chart.yaml has apiVersion {:?}; Helm 3 and 4 charts use v2",
            parsed.api_version.unwrap_or_default()
        )));
    }
    let name = parsed
        .name
        .ok_or_else(|| refused("Chart.yaml has no name"))?;
    let version = parsed
        .version
        .ok_or_else(|| refused("Chart.yaml has no version"))?;
    super::args::chart_name(&name)
        .map_err(|_| refused(format!("Chart.yaml's name {name:?} is not a chart name")))?;
    super::args::chart_version(&version)
        .map_err(|_| refused(format!("Chart.yaml's version {version:?} is not a version")))?;
    Ok(ChartInfo {
        name,
        version,
        app_version: parsed.app_version,
        description: parsed.description.map(|d| d.chars().take(1000).collect()),
        digest: hex::encode(Sha256::digest(archive)),
        size: archive.len(),
    })
}
