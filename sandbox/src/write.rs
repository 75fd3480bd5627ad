//! How one write treats its request: unknown fields, the field manager, the subresource,
//! and whether a server-side apply forces its way past conflicts.

use crate::schema::UnknownFields;

/// How a write should treat the request.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions<'a> {
    /// Unknown fields: prune or reject.
    pub unknown: UnknownFields,
    /// The field manager, for managedFields.
    pub field_manager: Option<&'a str>,
    /// `status` when writing the status subresource.
    pub subresource: Option<&'a str>,
    /// Server-side apply with `force=true`: take over conflicting fields.
    pub force: bool,
    /// `dryRun=All`: check and answer the result, store nothing.
    pub dry_run: bool,
}

impl<'a> WriteOptions<'a> {
    /// A plain write by `manager`: unknown fields pruned, no subresource, no force.
    pub fn by(manager: &'a str) -> Self {
        Self {
            unknown: UnknownFields::Prune,
            field_manager: Some(manager),
            subresource: None,
            force: false,
            dry_run: false,
        }
    }
}
