//! Tenant roles (ordered: each includes the one before) and global roles, shared with the
//! browser through `model`.

pub use model::tenancy::{GlobalRole, TenantRole, UnknownRole};
