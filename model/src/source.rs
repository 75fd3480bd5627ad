//! Uploaded chart archives (packages) and the limits on what they may expand to.

use crate::tenancy::Explanation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An uploaded chart archive.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `name-version`, as the reference adapter forms package ids.
    pub id: String,
    /// The namespace it was uploaded to (whose tenant may use it).
    pub namespace: String,
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// The chart's appVersion.
    pub app_version: Option<String>,
    /// The chart's description.
    pub description: Option<String>,
    /// SHA-256 of the archive.
    pub digest: String,
    /// Archive size in bytes.
    pub size: i32,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When, RFC 3339.
    pub uploaded_at: String,
    /// Whether the caller may delete it, and why, by action name.
    #[serde(default)]
    pub permissions: BTreeMap<String, Explanation>,
}

/// Limits on what an archive may expand to (Helm's own: 100 MiB in all, 5 MiB per file).
#[derive(Debug, Clone, Copy)]
pub struct PackageLimits {
    /// The archive as uploaded.
    pub archive_bytes: usize,
    /// Everything it expands to.
    pub expanded_bytes: u64,
    /// Any one file in it.
    pub file_bytes: u64,
    /// How many entries it may hold.
    pub entries: usize,
}

impl Default for PackageLimits {
    fn default() -> Self {
        Self {
            archive_bytes: 10 * 1024 * 1024,
            expanded_bytes: 100 * 1024 * 1024,
            file_bytes: 5 * 1024 * 1024,
            entries: 10_000,
        }
    }
}
