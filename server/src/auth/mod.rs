//! Sign-in through OpenID Connect (authorization code + PKCE), browser sessions in Postgres,
//! bearer tokens for the API, and CSRF protection. Every request that is not public leaves
//! here with a `control::RequestContext` in its extensions, or does not go on.

pub mod csrf;
pub mod error;
pub mod guard;
pub mod oidc;
pub mod return_to;
pub mod routes;
pub mod session;

pub use error::AuthError;
pub use oidc::Oidc;
