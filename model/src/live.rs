//! What the live event stream (`/o2dms/v1/events/stream`) sends: each change to a deployment
//! row, numbered so a client that reconnects asks for what it missed (`Last-Event-ID`).

use crate::deployment::Deployment;
use serde::{Deserialize, Serialize};

/// One change, as the `data` of an SSE `deployment` event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LiveChange {
    /// A deployment appeared or changed: its row as lists show it.
    Upserted {
        /// The row.
        deployment: Box<Deployment>,
    },
    /// A deployment is gone.
    Deleted {
        /// Its id.
        id: String,
        /// Its namespace.
        namespace: String,
    },
    /// A toolkit object appeared or changed (sent as a `toolkit` event): its row.
    Toolkit {
        /// The row, as its family's list shows it.
        object: Box<crate::flux::FluxObject>,
    },
    /// A toolkit object is gone (a `toolkit` event).
    ToolkitDeleted {
        /// Its kind.
        kind: crate::reference::ToolkitKind,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl LiveChange {
    /// The id of the deployment it is about, or `Kind/namespace/name` of the toolkit object.
    pub fn id(&self) -> String {
        match self {
            Self::Upserted { deployment } => deployment.id.clone(),
            Self::Deleted { id, .. } => id.clone(),
            Self::Toolkit { object } => toolkit_key(object.kind, &object.namespace, &object.name),
            Self::ToolkitDeleted {
                kind,
                namespace,
                name,
            } => toolkit_key(*kind, namespace, name),
        }
    }

    /// Whether it is about a toolkit object (sent as a `toolkit` event).
    pub fn is_toolkit(&self) -> bool {
        matches!(self, Self::Toolkit { .. } | Self::ToolkitDeleted { .. })
    }
}

/// How a toolkit object is named in the live stream: `Kind/namespace/name`.
pub fn toolkit_key(kind: crate::reference::ToolkitKind, namespace: &str, name: &str) -> String {
    format!("{kind}/{namespace}/{name}")
}

/// The SSE event name of a change.
pub const DEPLOYMENT_EVENT: &str = "deployment";
/// The SSE event name of a toolkit object's change.
pub const TOOLKIT_EVENT: &str = "toolkit";
/// The SSE event name of a tracked operation's new state (its data is an
/// [`crate::operation::Operation`]).
pub const OPERATION_EVENT: &str = "operation";
/// The SSE event name that tells a client it missed changes (it reconnected too late, or
/// read too slowly and was dropped): reload what it shows.
pub const RESYNC_EVENT: &str = "resync";

/// The SSE event name of one followed controller log line
/// (`/o2dms/v1/deployments/{id}/logs/stream`).
pub const LOG_EVENT: &str = "log";
