//! The one error type of the control crate; the server maps it once to HTTP and UI messages.

use model::action::Denied;
use model::error::{ErrorBody, ErrorCode};

/// Everything a control-plane operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named thing does not exist (404).
    #[error("{kind} not found: {name}")]
    NotFound {
        /// What kind of thing.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The named thing exists already (409).
    #[error("{kind} already exists: {name}")]
    AlreadyExists {
        /// What kind of thing.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The request conflicts with the current state (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The object changed since the version the change was based on (412, for `If-Match`
    /// and `resourceVersion`).
    #[error("{0}")]
    Stale(String),
    /// The change would take fields over from another field manager (409); repeating it with
    /// `force` does that on purpose.
    #[error("{0}")]
    OwnedElsewhere(String),
    /// A field of the request is invalid (422).
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field, as the user named it.
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The caller may not do this (403).
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// A reference or id in the request cannot be read (400).
    #[error(transparent)]
    BadReference(#[from] model::reference::RefError),
    /// The request body is larger than this endpoint takes (413).
    #[error(
        "the request body is larger than the {limit} bytes this server takes; send a smaller one"
    )]
    TooLarge {
        /// The most it takes.
        limit: usize,
    },
    /// The request carries text no field may hold (400): a control character, or a string
    /// longer than any field takes. Refused before anything reads it.
    #[error("{field}: {message}")]
    Unreadable {
        /// Where in the request: a query parameter, `path`, or a place in the body such as
        /// `values.auth.password` or `items[2]`.
        field: String,
        /// What is wrong, with the offending character named, never repeated.
        message: String,
    },
    /// A write would reach outside what the caller may reach: another tenant's namespace,
    /// another cluster, an internal registry (403); nothing was written.
    #[error("forbidden: {field} {message}")]
    OutsideBoundary {
        /// The field that points outside, as the user named it.
        field: &'static str,
        /// Where it points and what is allowed instead.
        message: String,
    },
    /// The caller had too many refused attempts recently; changes wait until `seconds` pass
    /// (429), so refusals cannot flood the audit chain.
    #[error("too many refused attempts recently; wait {seconds} s and try again")]
    TooManyRefusals {
        /// How long to wait.
        seconds: u64,
    },
    /// The caller made more changes or expensive reads than their rate allows (429).
    #[error("too many requests; wait {seconds} s and try again")]
    RateLimited {
        /// How long to wait.
        seconds: u64,
    },
    /// The caller has as many operations running as one principal may (429).
    #[error(
        "you have {0} operations running, as many as one user may; wait for one to finish (GET /o2dms/v1/operations?mine=true)"
    )]
    TooManyOperations(usize),
    /// The caller holds as many live streams open as one principal may (429).
    #[error(
        "you have {0} live streams open, as many as one user may; close a tab or a followed log and try again"
    )]
    TooManyStreams(usize),
    /// This replica runs as many helm processes as it may and as many wait for a turn (429).
    #[error(
        "helm is busy on this server ({running} running, {waiting} waiting); try again in a few seconds"
    )]
    HelmBusy {
        /// helm processes running.
        running: usize,
        /// Requests waiting for one.
        waiting: usize,
    },
    /// The operation was cancelled on request (409).
    #[error("{0}")]
    Cancelled(String),
    /// The credentials presented do not stand for anyone (401): why, and what to do.
    #[error("{0}")]
    Unauthenticated(String),
    /// The Kubernetes API server refused the request (403), with its own message.
    #[error("the Kubernetes API refused the request: {0}")]
    ClusterForbidden(String),
    /// The audit log could not record the intent, so the change was not made (503).
    #[error("the change was refused because the audit log could not be written; try again later")]
    AuditUnavailable(#[source] sqlx::Error),
    /// The database could not be reached or answered with an error (503).
    #[error("database unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database is reachable but its schema is behind this build.
    #[error(
        "database schema is not up to date: migration {version} ({description}) is not applied"
    )]
    SchemaBehind {
        /// The first missing migration's version.
        version: i64,
        /// Its description.
        description: String,
    },
    /// The Kubernetes API could not be reached or its caches are not ready (503).
    #[error("the Kubernetes API is unavailable: {0}")]
    Cluster(String),
    /// helm failed; the message is the reference adapter's text with helm's summary (502).
    #[error("{0}")]
    Helm(String),
    /// An adapter's own checks failed; the message names what is missing (503).
    #[error("{0}")]
    AdapterUnhealthy(String),
    /// A bug: something that cannot happen did (500). The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// Writing an export or archive failed.
    #[error("could not write {what}: {source}")]
    Write {
        /// What was being written.
        what: &'static str,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// The control crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An invalid-field error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A bug: an internal error whose detail goes to the log.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal(detail.into())
    }

    /// A not-found error.
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            name: name.into(),
        }
    }
}

impl Error {
    /// The HTTP status this error maps to, for every surface (REST, server functions, pages).
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::AlreadyExists { .. }
            | Self::Conflict(_)
            | Self::OwnedElsewhere(_)
            | Self::Cancelled(_) => 409,
            Self::Invalid { .. } => 422,
            Self::Forbidden(_) | Self::OutsideBoundary { .. } | Self::ClusterForbidden(_) => 403,
            Self::BadReference(_) | Self::Unreadable { .. } => 400,
            Self::Stale(_) => 412,
            Self::TooLarge { .. } => 413,
            Self::TooManyRefusals { .. }
            | Self::RateLimited { .. }
            | Self::TooManyOperations(_)
            | Self::TooManyStreams(_)
            | Self::HelmBusy { .. } => 429,
            Self::Unauthenticated(_) => 401,
            Self::AuditUnavailable(_)
            | Self::Database(_)
            | Self::SchemaBehind { .. }
            | Self::Cluster(_)
            | Self::AdapterUnhealthy(_) => 503,
            Self::Helm(_) => 502,
            Self::Migration(_) | Self::Write { .. } | Self::Internal(_) => 500,
        }
    }

    /// Whether this is a refusal (by Pilothouse's policy or boundary, or by the API server)
    /// rather than a failure: the audit log records it as a denial.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Forbidden(_) | Self::OutsideBoundary { .. } | Self::ClusterForbidden(_)
        )
    }

    /// Seconds to wait before trying again, for the answers that carry `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRefusals { seconds } | Self::RateLimited { seconds } => Some(*seconds),
            Self::TooManyOperations(_) | Self::TooManyStreams(_) | Self::HelmBusy { .. } => Some(5),
            _ => None,
        }
    }

    /// The one body every surface answers this error with: its code (which says the
    /// status), the public message, and the field it is about.
    pub fn body(&self) -> ErrorBody {
        let field = match self {
            Self::Invalid { field, .. } | Self::OutsideBoundary { field, .. } => {
                Some((*field).to_owned())
            }
            Self::Unreadable { field, .. } => Some(field.clone()),
            _ => None,
        };
        ErrorBody {
            code: ErrorCode::of_status(self.status()),
            message: self.public_message(),
            field,
        }
    }

    /// The message a user may see: internal details (SQL, I/O) are logged, never shown.
    pub fn public_message(&self) -> String {
        match self {
            Self::Database(_) => "the database is unavailable; try again in a moment".into(),
            Self::Migration(_) | Self::Write { .. } | Self::Internal(_) => {
                "internal error; the details are in the server log".into()
            }
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_stay_internal() {
        let error = Error::Database(sqlx::Error::Protocol(
            "relation \"secret_table\" broke".into(),
        ));
        assert_eq!(error.status(), 503);
        assert!(!error.public_message().contains("secret_table"));
        let error = Error::invalid("tenant", "bad");
        assert_eq!(
            (error.status(), error.public_message()),
            (422, "invalid tenant: bad".to_owned())
        );
        let body = Error::invalid("tenant", "bad").body();
        assert_eq!(
            (body.code, body.field.as_deref()),
            (ErrorCode::Invalid, Some("tenant"))
        );
        let error = Error::internal("the operation's task dropped its outcome");
        assert_eq!(error.status(), 500);
        assert!(!error.public_message().contains("dropped"));
    }
}
