//! API errors as kube-apiserver writes them: `metav1.Status` bodies with a reason and a code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A failed request, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub code: u16,
    /// The `reason` field (NotFound, AlreadyExists, Conflict, Invalid, BadRequest, …).
    pub reason: &'static str,
    /// The human message.
    pub message: String,
    /// The `details` field (name, group, kind, causes).
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 for a named object.
    pub fn not_found(resource: &str, group: &str, name: &str) -> Self {
        let qualified = qualified(resource, group);
        Self {
            details: Some(json!({ "name": name, "group": group, "kind": resource })),
            ..Self::new(404, "NotFound", format!("{qualified} \"{name}\" not found"))
        }
    }

    /// 404 for a path that serves nothing.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409 on create of an existing name.
    pub fn already_exists(resource: &str, group: &str, name: &str) -> Self {
        let qualified = qualified(resource, group);
        Self {
            details: Some(json!({ "name": name, "group": group, "kind": resource })),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{qualified} \"{name}\" already exists"),
            )
        }
    }

    /// 409 on a stale resourceVersion.
    pub fn conflict(resource: &str, group: &str, name: &str) -> Self {
        let qualified = qualified(resource, group);
        Self {
            details: Some(json!({ "name": name, "group": group, "kind": resource })),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; \
                     please apply your changes to the latest version and try again"
                ),
            )
        }
    }

    /// 422 with field causes.
    pub fn invalid(kind: &str, name: &str, causes: Vec<(String, String)>) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect();
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|(field, message)| json!({ "reason": "FieldValueInvalid", "field": field, "message": message }))
            .collect();
        Self {
            details: Some(json!({ "name": name, "kind": kind, "causes": causes })),
            ..Self::new(
                422,
                "Invalid",
                format!("{kind} \"{name}\" is invalid: {}", summary.join(", ")),
            )
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403, worded as RBAC words it, for a write by a read-only client.
    pub fn forbidden(method: &axum::http::Method, path: &str) -> Self {
        let verb = match *method {
            axum::http::Method::POST => "create",
            axum::http::Method::PUT => "update",
            axum::http::Method::PATCH => "patch",
            axum::http::Method::DELETE => "delete",
            _ => "access",
        };
        Self::new(
            403,
            "Forbidden",
            format!(
                "User \"read-only\" cannot {verb} {path}: the read-only token may only get, list and watch"
            ),
        )
    }

    /// 405.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 503 while a simulated restart is under way.
    pub fn restarting() -> Self {
        Self::new(
            503,
            "ServiceUnavailable",
            "the API server is restarting (simulated); try again shortly",
        )
    }

    /// 410 for a watch or list from a compacted resourceVersion.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(self.to_status())).into_response()
    }
}
