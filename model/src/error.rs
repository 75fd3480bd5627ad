//! The one error body every surface writes: the REST API, the authentication gate and the
//! pages' server functions. `{"error": code, "message": …, "field": …}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure, stable for scripts to branch on; each goes with one HTTP status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request cannot be read (a malformed id, cursor, header or body).
    BadRequest,
    /// 401: no credentials, or credentials that stand for no one.
    Unauthorized,
    /// 403: the caller may not do this (Pilothouse's policy or the Kubernetes API server).
    Forbidden,
    /// 404: the named thing does not exist, or the caller may not see it.
    NotFound,
    /// 409: it conflicts with the current state.
    Conflict,
    /// 412: the thing changed since the version the request names.
    PreconditionFailed,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 422: a field is invalid; `field` names it.
    Invalid,
    /// 429: too many requests; `Retry-After` says when to try again.
    RateLimited,
    /// 500: a bug; the details are in the server log.
    Internal,
    /// 502: helm or another backend failed at the task.
    BackendFailed,
    /// 503: the database, the cluster or the identity provider is unavailable.
    Unavailable,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 12] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::PreconditionFailed,
        Self::PayloadTooLarge,
        Self::Invalid,
        Self::RateLimited,
        Self::Internal,
        Self::BackendFailed,
        Self::Unavailable,
    ];

    /// The HTTP status this code is sent with.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::Invalid => 422,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::BackendFailed => 502,
            Self::Unavailable => 503,
        }
    }

    /// The code an HTTP status is sent with; statuses without their own code are `internal`
    /// (5xx) or `bad_request` (4xx).
    pub fn of_status(status: u16) -> Self {
        Self::ALL
            .into_iter()
            .find(|code| code.status() == status)
            .unwrap_or(if status >= 500 {
                Self::Internal
            } else {
                Self::BadRequest
            })
    }

    /// The code as the body spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Invalid => "invalid",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::BackendFailed => "backend_failed",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Why a request failed, as every surface answers it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What kind of failure (also says the HTTP status).
    #[serde(rename = "error")]
    pub code: ErrorCode,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The request field it is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    /// A body of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The HTTP status it is sent with.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The message when the error is about `field`, so a form can show it beside that field.
    pub fn about(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ErrorBody {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_its_own_status_and_reads_back_from_it() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::of_status(code.status()), code);
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::of_status(504), ErrorCode::Internal);
        assert_eq!(ErrorCode::of_status(418), ErrorCode::BadRequest);
    }

    #[test]
    fn the_body_is_error_message_and_field_only_when_there_is_one() {
        let body = ErrorBody::new(ErrorCode::Forbidden, "no");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({ "error": "forbidden", "message": "no" })
        );
        let invalid = ErrorBody {
            field: Some("name".into()),
            ..ErrorBody::new(ErrorCode::Invalid, "too long")
        };
        let json = serde_json::to_value(&invalid).unwrap();
        assert_eq!(json["field"], "name");
        assert_eq!(serde_json::from_value::<ErrorBody>(json).unwrap(), invalid);
    }
}
