//! Tenancy administration over REST: tenants, their namespaces and members, global roles, the
//! clusters' namespaces, and the access check. Each handler reads its input, calls one
//! `Service` method and answers with its result (or 204).

use super::{ApiError, body_error};
use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use control::RequestContext;
use control::access::{Action, GlobalRole, Grantee, Principal, Target, TargetKind, TenantRole};
use model::reference::NamespaceRef;
use serde::Deserialize;

/// The administration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o2dms/v1/tenants", get(tenants).post(create_tenant))
        .route(
            "/o2dms/v1/tenants/{slug}",
            get(tenant).patch(rename_tenant).delete(delete_tenant),
        )
        .route(
            "/o2dms/v1/tenants/{slug}/namespaces",
            get(tenant_namespaces).post(assign_namespace),
        )
        .route(
            "/o2dms/v1/tenants/{slug}/namespaces/{namespace}",
            delete(unassign_namespace),
        )
        .route(
            "/o2dms/v1/tenants/{slug}/members",
            get(members).post(add_member),
        )
        .route(
            "/o2dms/v1/tenants/{slug}/members/{kind}/{name}",
            delete(remove_member).put(change_member),
        )
        .route("/o2dms/v1/global-roles", get(global_roles).post(grant_role))
        .route(
            "/o2dms/v1/global-roles/{role}/{kind}/{name}",
            delete(revoke_role),
        )
        .route("/o2dms/v1/namespaces", get(namespaces))
        .route("/o2dms/v1/access/check", get(check_access))
}

/// A user (by OIDC subject) or an OIDC group, as bodies name it: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GranteeBody {
    user: Option<String>,
    group: Option<String>,
}

impl GranteeBody {
    fn grantee(self) -> Result<Grantee, ApiError> {
        match (self.user, self.group) {
            (Some(user), None) => Ok(Grantee::User(user)),
            (None, Some(group)) => Ok(Grantee::Group(group)),
            _ => Err(invalid("user", "name exactly one of user or group")),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::from(control::Error::invalid(field, message.into()))
}

/// A grantee from a path's `{kind}/{name}`.
fn grantee_at(kind: &str, name: String) -> Result<Grantee, ApiError> {
    match kind {
        "user" => Ok(Grantee::User(name)),
        "group" => Ok(Grantee::Group(name)),
        other => Err(invalid(
            "kind",
            format!("{:?} is neither user nor group", short(other)),
        )),
    }
}

/// At most 64 characters of something a caller sent, for error messages.
fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

fn tenant_role(role: &str) -> Result<TenantRole, ApiError> {
    role.parse().map_err(|_| {
        invalid(
            "role",
            format!("{:?} is not one of viewer, operator, admin", short(role)),
        )
    })
}

fn global_role(role: &str) -> Result<GlobalRole, ApiError> {
    role.parse().map_err(|_| {
        invalid(
            "role",
            format!("{:?} is not one of platform-admin, auditor", short(role)),
        )
    })
}

fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn tenants(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_tenants(&ctx).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewTenant {
    slug: String,
    display_name: Option<String>,
}

async fn create_tenant(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Result<Json<NewTenant>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let name = body.display_name.unwrap_or_else(|| body.slug.clone());
    let tenant = state.service.create_tenant(&ctx, &body.slug, &name).await?;
    Ok((StatusCode::CREATED, Json(tenant)).into_response())
}

async fn tenant(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.get_tenant(&ctx, &slug).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Rename {
    display_name: String,
}

async fn rename_tenant(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
    body: Result<Json<Rename>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    state
        .service
        .rename_tenant(&ctx, &slug, &body.display_name)
        .await?;
    Ok(Json(state.service.get_tenant(&ctx, &slug).await?).into_response())
}

async fn delete_tenant(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    state.service.delete_tenant(&ctx, &slug).await?;
    Ok(done())
}

async fn tenant_namespaces(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.get_tenant(&ctx, &slug).await?.namespaces).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Assignment {
    namespace: String,
    /// Take the namespace from the tenant that owns it now.
    #[serde(default, rename = "move")]
    take_over: bool,
}

async fn assign_namespace(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
    body: Result<Json<Assignment>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    if body.take_over {
        state
            .service
            .move_namespace(&ctx, &body.namespace, &slug)
            .await?;
    } else {
        state
            .service
            .assign_namespace(&ctx, &body.namespace, &slug)
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(state.service.get_tenant(&ctx, &slug).await?),
    )
        .into_response())
}

async fn unassign_namespace(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((slug, namespace)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state
        .service
        .unassign_namespace(&ctx, &namespace, Some(&slug))
        .await?;
    Ok(done())
}

async fn members(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_memberships(&ctx, &slug).await?).into_response())
}

#[derive(Debug, Deserialize)]
struct NewMember {
    #[serde(flatten)]
    grantee: GranteeBody,
    role: String,
}

async fn add_member(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(slug): Path<String>,
    body: Result<Json<NewMember>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let role = tenant_role(&body.role)?;
    let grantee = body.grantee.grantee()?;
    state
        .service
        .add_membership(&ctx, &slug, &grantee, role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(state.service.list_memberships(&ctx, &slug).await?),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

async fn change_member(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((slug, kind, name)): Path<(String, String, String)>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let role = tenant_role(&body.role)?;
    let grantee = grantee_at(&kind, name)?;
    state
        .service
        .change_membership(&ctx, &slug, &grantee, role)
        .await?;
    Ok(Json(state.service.list_memberships(&ctx, &slug).await?).into_response())
}

async fn remove_member(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((slug, kind, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let grantee = grantee_at(&kind, name)?;
    state
        .service
        .remove_membership(&ctx, &slug, &grantee)
        .await?;
    Ok(done())
}

async fn global_roles(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_global_roles(&ctx).await?).into_response())
}

async fn grant_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Result<Json<NewMember>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let role = global_role(&body.role)?;
    let grantee = body.grantee.grantee()?;
    state
        .service
        .grant_global_role(&ctx, &grantee, role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(state.service.list_global_roles(&ctx).await?),
    )
        .into_response())
}

async fn revoke_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((role, kind, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let role = global_role(&role)?;
    let grantee = grantee_at(&kind, name)?;
    state
        .service
        .revoke_global_role(&ctx, &grantee, role)
        .await?;
    Ok(done())
}

async fn namespaces(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_namespaces(&ctx).await?).into_response())
}

/// `?subject=` and/or `?groups=` (comma-separated: a group alone, or the groups the user is
/// in), `action=`, and `namespace=` or `tenant=` as the action applies to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckParams {
    subject: Option<String>,
    groups: Option<String>,
    action: String,
    namespace: Option<String>,
    tenant: Option<String>,
}

async fn check_access(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    params: Result<Query<CheckParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| invalid("query", e.body_text()))?;
    let action = Action::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == params.action)
        .ok_or_else(|| {
            invalid(
                "action",
                format!(
                    "{:?} is not an action; the README's permission table lists them",
                    short(&params.action)
                ),
            )
        })?;
    let groups: Vec<String> = params
        .groups
        .iter()
        .flat_map(|g| g.split(','))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    let subject = params.subject.unwrap_or_default();
    if subject.is_empty() && groups.is_empty() {
        return Err(invalid("subject", "name a subject, groups, or both"));
    }
    let principal = Principal {
        issuer: ctx.principal.issuer.clone(),
        subject,
        email: None,
        name: None,
        groups,
        narrowing: None,
    };
    let namespace = params
        .namespace
        .as_deref()
        .map(NamespaceRef::in_default)
        .transpose()
        .map_err(|e| invalid("namespace", e.reason))?;
    let target = match (action.target_kind(), &namespace, params.tenant.as_deref()) {
        (TargetKind::Namespace, Some(ns), _) => Target::Namespace(ns),
        (TargetKind::Namespace, None, _) => {
            return Err(invalid(
                "namespace",
                format!("{action} applies to a namespace: name it"),
            ));
        }
        (TargetKind::Tenant, _, Some(tenant)) => Target::Tenant(tenant),
        (TargetKind::Tenant, _, None) => {
            return Err(invalid(
                "tenant",
                format!("{action} applies to a tenant: name it"),
            ));
        }
        (TargetKind::Platform, _, _) => Target::Platform,
        (TargetKind::AuditLog, _, _) => Target::AuditLog,
        (TargetKind::Own, _, _) => Target::Own,
    };
    let explanation = state
        .service
        .explain(&ctx, Some(&principal), action, target)
        .await?;
    Ok(Json(explanation).into_response())
}
