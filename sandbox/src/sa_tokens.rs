//! Service-account tokens, as kube-apiserver issues and checks them: a TokenRequest
//! (`POST …/serviceaccounts/NAME/token`, what a pod's projected token is) and the legacy
//! token Secret (type `kubernetes.io/service-account-token`, filled in by the token
//! controller). Each token is bound to the account's UID, and a Secret's token to the Secret
//! too: once the account is deleted (even if one of that name is made again) or the Secret
//! is, the API server answers 401.
//!
//! The sandbox is no security boundary: its tokens are readable stand-ins for signed JWTs,
//! `sandbox-sa:NAMESPACE:NAME:UID[:SECRET]`.

use crate::error::ApiError;
use crate::rbac::UserInfo;
use crate::store::Store;
use base64::Engine;
use serde_json::{Value, json};

/// What every sandbox service-account token starts with.
pub const PREFIX: &str = "sandbox-sa:";
/// The type of a legacy token Secret.
pub const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotation naming the account of a token Secret.
pub const ACCOUNT_ANNOTATION: &str = "kubernetes.io/service-account.name";

fn account_uid(store: &Store, namespace: &str, name: &str) -> Option<String> {
    let accounts = store.resource("", "v1", "serviceaccounts").ok()?;
    let account = store.get(&accounts, Some(namespace), name).ok()?;
    account
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A token for account `name` in `namespace`, bound to its UID (and to `secret` if given).
pub fn issue(
    store: &Store,
    namespace: &str,
    name: &str,
    secret: Option<&str>,
) -> Result<String, ApiError> {
    let uid = account_uid(store, namespace, name)
        .ok_or_else(|| ApiError::not_found("serviceaccounts", "", name))?;
    Ok(match secret {
        Some(secret) => format!("{PREFIX}{namespace}:{name}:{uid}:{secret}"),
        None => format!("{PREFIX}{namespace}:{name}:{uid}"),
    })
}

/// The TokenRequest answer for account `name` in `namespace`.
pub fn token_request(store: &Store, namespace: &str, name: &str) -> Result<Value, ApiError> {
    let token = issue(store, namespace, name, None)?;
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    Ok(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "metadata": { "name": name, "namespace": namespace },
        "spec": { "audiences": ["https://kubernetes.default.svc"] },
        "status": { "token": token, "expirationTimestamp": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) },
    }))
}

/// The token controller's part of a new Secret: a token Secret naming an existing account
/// gets that account's token and UID.
pub fn fill_token_secret(store: &Store, secret: &mut Value) {
    if secret.get("type").and_then(Value::as_str) != Some(TOKEN_SECRET_TYPE) {
        return;
    }
    let pointer = format!(
        "/metadata/annotations/{}",
        ACCOUNT_ANNOTATION.replace('/', "~1")
    );
    let (Some(account), Some(namespace), Some(name)) = (
        secret
            .pointer(&pointer)
            .and_then(Value::as_str)
            .map(str::to_owned),
        secret
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned),
        secret
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_owned),
    ) else {
        return;
    };
    let Ok(token) = issue(store, &namespace, &account, Some(&name)) else {
        return;
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(token);
    secret["data"]["token"] = json!(encoded);
    if let Some(uid) = account_uid(store, &namespace, &account) {
        secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] = json!(uid);
    }
}

/// The account a sandbox token stands for; 401 when its account (or Secret) is gone or was
/// made again with another UID. None when `token` is not a sandbox account token.
pub fn authenticate(store: &Store, token: &str) -> Option<Result<UserInfo, ApiError>> {
    let rest = token.strip_prefix(PREFIX)?;
    let mut parts = rest.split(':');
    let (Some(namespace), Some(name), Some(uid)) = (parts.next(), parts.next(), parts.next())
    else {
        return Some(Err(ApiError::unauthorized()));
    };
    let secret = parts.next();
    if account_uid(store, namespace, name).as_deref() != Some(uid) {
        return Some(Err(ApiError::unauthorized()));
    }
    if let Some(secret) = secret {
        let standing = store
            .resource("", "v1", "secrets")
            .ok()
            .and_then(|secrets| store.get(&secrets, Some(namespace), secret).ok())
            .is_some_and(|s| s.get("type").and_then(Value::as_str) == Some(TOKEN_SECRET_TYPE));
        if !standing {
            return Some(Err(ApiError::unauthorized()));
        }
    }
    Some(Ok(UserInfo::service_account(namespace, name)))
}
