//! The values editor's wire types: what is wrong with typed values, and what applying them
//! would change.

use serde::{Deserialize, Serialize};

/// One thing wrong with typed values, where the editor can point at it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesProblem {
    /// 1-based line, when the problem has a place.
    pub line: Option<usize>,
    /// 1-based column, when the problem has a place.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ValuesProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// What applying new values would change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesPreview {
    /// `diff -u` of the running values against the new ones, as YAML.
    pub values_diff: String,
    /// `diff -u` of the rendered manifest, when the chart could be rendered here.
    pub manifest_diff: Option<String>,
    /// Why there is no manifest diff, when there is none.
    pub note: Option<String>,
}
