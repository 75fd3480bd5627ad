//! The append-only, hash-chained operation log: writing, redaction, queries, export,
//! verification and archival behind checkpoints.
//!
//! Versioning: a row's hash covers the canonical JSON of its fields. A field added later
//! (like `cluster`, migration 0006) enters the hash only when its value differs from the
//! value every older row implicitly has (`default`), so rows written before the field
//! existed verify unchanged, and a row that names another cluster is still tamper-evident.

pub mod canonical;
pub mod chain;
pub mod event;
pub mod export;
pub mod query;
pub mod redact;
pub mod retention;
pub mod verify;

pub use chain::AuditLog;
pub use event::{Actor, AuditEvent, Channel, NewEvent, Outcome, Phase};
pub use query::{AuditFilter, AuditPage};
pub use verify::VerifyReport;
