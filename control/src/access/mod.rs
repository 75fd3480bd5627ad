//! Who may do what: principals, roles, grants, the action table and the one policy function.
//!
//! An access check hands out a scope (a capability) or a denial; service functions take the
//! scope, so an unchecked call does not compile.

pub use model::action;
pub mod cache;
pub mod credential;
pub mod explain;
pub mod grants;
pub mod policy;
pub mod principal;
pub mod role;
pub mod scope;

pub use action::{Action, Requirement, TargetKind};
pub use credential::{Credential, CredentialCheck};
pub use grants::{Grantee, Grants, Tenancy, Via};
pub use policy::{Decision, Denied, Missing, Target};
pub use principal::{Narrowing, Principal, X509_PREFIX};
pub use role::{GlobalRole, TenantRole};
pub use scope::{AuditScope, NamespaceScope, Namespaces, PlatformScope, TenantScope, Visible};
