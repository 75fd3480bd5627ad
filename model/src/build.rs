//! What the running build is, as shown in the UI footer and the health endpoints.

/// The Pilothouse version, from the workspace manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The product name as shown to users.
pub const PRODUCT: &str = "Pilothouse";
