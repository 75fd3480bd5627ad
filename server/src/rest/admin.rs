//! Tenancy administration over REST: tenants, their namespaces and members, global roles, the
//! clusters' namespaces, and the access check. Each handler reads its input, calls one
//! `Service` method and answers with its result (or 204).

use super::Caller;
use super::{ApiError, body_error};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use control::access::{Action, GlobalRole, Grantee, Principal, Target, TargetKind, TenantRole};
use model::reference::NamespaceRef;
use model::tenancy::{Explanation, GlobalGrant, Membership, NamespaceOwner, Tenant};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Schema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The administration routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tenants, create_tenant))
        .routes(routes!(tenant, rename_tenant, delete_tenant))
        .routes(routes!(tenant_namespaces, assign_namespace))
        .routes(routes!(unassign_namespace))
        .routes(routes!(members, add_member))
        .routes(routes!(change_member, remove_member))
        .routes(routes!(global_roles, grant_role))
        .routes(routes!(revoke_role))
        .routes(routes!(namespaces))
        .routes(routes!(check_access))
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

/// The tenants the caller may see.
#[utoipa::path(get, path = "/o2dms/v1/tenants", tag = "tenancy",
    responses((status = 200, body = Vec<Tenant>)))]
async fn tenants(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_tenants(&ctx).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewTenant {
    slug: String,
    display_name: Option<String>,
}

/// Creates a tenant (platform-admins).
#[utoipa::path(post, path = "/o2dms/v1/tenants", tag = "tenancy", request_body = NewTenant,
    responses((status = 201, body = Tenant)))]
async fn create_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    body: Result<Json<NewTenant>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let name = body.display_name.unwrap_or_else(|| body.slug.clone());
    let tenant = state.service.create_tenant(&ctx, &body.slug, &name).await?;
    Ok((StatusCode::CREATED, Json(tenant)).into_response())
}

/// One tenant with its namespaces.
#[utoipa::path(get, path = "/o2dms/v1/tenants/{slug}", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    responses((status = 200, body = Tenant)))]
async fn tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.get_tenant(&ctx, &slug).await?).into_response())
}

/// What a tenant's PATCH may change; at least one of them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TenantChange {
    /// A new display name.
    display_name: Option<String>,
    /// Whether what the tenant applies may create Flux objects itself (nested Kustomizations
    /// and HelmReleases). Off by default; see docs/access.md for the trade-off.
    nested_flux: Option<bool>,
}

/// Changes a tenant's display name, or whether its content may create Flux objects
/// (platform-admins; each change audited on its own).
#[utoipa::path(patch, path = "/o2dms/v1/tenants/{slug}", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    request_body = TenantChange, responses((status = 200, body = Tenant)))]
async fn rename_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(slug): Path<String>,
    body: Result<Json<TenantChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    if body.display_name.is_none() && body.nested_flux.is_none() {
        return Err(invalid(
            "displayName",
            "name what to change: displayName, nestedFlux or both",
        ));
    }
    if let Some(name) = &body.display_name {
        state.service.rename_tenant(&ctx, &slug, name).await?;
    }
    if let Some(allowed) = body.nested_flux {
        state.service.set_nested_flux(&ctx, &slug, allowed).await?;
    }
    Ok(Json(state.service.get_tenant(&ctx, &slug).await?).into_response())
}

/// Deletes a tenant that owns no namespaces (the refusal lists those it owns).
#[utoipa::path(delete, path = "/o2dms/v1/tenants/{slug}", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    state.service.delete_tenant(&ctx, &slug).await?;
    Ok(done())
}

/// The namespaces a tenant owns.
#[utoipa::path(get, path = "/o2dms/v1/tenants/{slug}/namespaces", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    responses((status = 200, body = Vec<String>)))]
async fn tenant_namespaces(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.get_tenant(&ctx, &slug).await?.namespaces).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Assignment {
    namespace: String,
    /// Take the namespace from the tenant that owns it now.
    #[serde(default, rename = "move")]
    take_over: bool,
}

/// Gives a namespace to the tenant (`move` takes it from its current owner).
#[utoipa::path(post, path = "/o2dms/v1/tenants/{slug}/namespaces", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    request_body = Assignment, responses((status = 201, body = Tenant)))]
async fn assign_namespace(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// Takes a namespace from the tenant.
#[utoipa::path(delete, path = "/o2dms/v1/tenants/{slug}/namespaces/{namespace}", tag = "tenancy",
    params(("slug" = String, Path, description = "The tenant's slug."), ("namespace" = String, Path)), responses((status = 204, description = "Unassigned.")))]
async fn unassign_namespace(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((slug, namespace)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state
        .service
        .unassign_namespace(&ctx, &namespace, Some(&slug))
        .await?;
    Ok(done())
}

/// A tenant's memberships.
#[utoipa::path(get, path = "/o2dms/v1/tenants/{slug}/members", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    responses((status = 200, body = Vec<Membership>)))]
async fn members(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_memberships(&ctx, &slug).await?).into_response())
}

/// A user or a group, with a role; its documented schemas are [`NewTenantMember`] and
/// [`NewGlobalGrant`].
#[derive(Debug, Deserialize)]
struct NewMember {
    #[serde(flatten)]
    grantee: GranteeBody,
    role: String,
}

/// The schema of a body naming exactly one of `user` or `group`, with one of `roles`: two
/// closed alternatives, so a client generated from the document can build either one and
/// nothing the server refuses for its shape. The name obeys what `validate::text` checks.
fn grantee_with_role(roles: &[&str]) -> RefOr<Schema> {
    let name = json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        // Some non-space character, and no control character anywhere.
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
    });
    let alternative = |key: &str, what: &str| {
        json!({
            "type": "object",
            "description": what,
            "properties": { key: name, "role": { "type": "string", "enum": roles } },
            "required": [key, "role"],
            "additionalProperties": false,
        })
    };
    let schema = json!({ "oneOf": [
        alternative("user", "A user, by OIDC subject."),
        alternative("group", "The members of an OIDC group."),
    ] });
    serde_json::from_value(schema).unwrap_or_else(|_| RefOr::T(Schema::Object(Object::new())))
}

/// A tenant membership to give (documentation only: the body is read as [`NewMember`]).
struct NewTenantMember;

impl utoipa::PartialSchema for NewTenantMember {
    fn schema() -> RefOr<Schema> {
        grantee_with_role(&TenantRole::ALL.map(TenantRole::as_str))
    }
}

impl utoipa::ToSchema for NewTenantMember {}

/// A global role to grant (documentation only: the body is read as [`NewMember`]).
struct NewGlobalGrant;

impl utoipa::PartialSchema for NewGlobalGrant {
    fn schema() -> RefOr<Schema> {
        grantee_with_role(&GlobalRole::ALL.map(GlobalRole::as_str))
    }
}

impl utoipa::ToSchema for NewGlobalGrant {}

/// Gives a user or group a role (viewer, operator, admin) on the tenant.
#[utoipa::path(post, path = "/o2dms/v1/tenants/{slug}/members", tag = "tenancy", params(("slug" = String, Path, description = "The tenant's slug.")),
    request_body = NewTenantMember, responses((status = 201, body = Vec<Membership>)))]
async fn add_member(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

/// Changes a membership's role.
#[utoipa::path(put, path = "/o2dms/v1/tenants/{slug}/members/{kind}/{name}", tag = "tenancy",
    params(("slug" = String, Path, description = "The tenant's slug."), ("kind" = String, Path, description = "user or group"), ("name" = String, Path, description = "The OIDC subject or group.")), request_body = RoleBody, responses((status = 200, body = Vec<Membership>)))]
async fn change_member(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// Takes a membership away.
#[utoipa::path(delete, path = "/o2dms/v1/tenants/{slug}/members/{kind}/{name}", tag = "tenancy",
    params(("slug" = String, Path, description = "The tenant's slug."), ("kind" = String, Path, description = "user or group"), ("name" = String, Path, description = "The OIDC subject or group.")), responses((status = 204, description = "Removed.")))]
async fn remove_member(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((slug, kind, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let grantee = grantee_at(&kind, name)?;
    state
        .service
        .remove_membership(&ctx, &slug, &grantee)
        .await?;
    Ok(done())
}

/// Global role grants (platform-admin, auditor).
#[utoipa::path(get, path = "/o2dms/v1/global-roles", tag = "tenancy",
    responses((status = 200, body = Vec<GlobalGrant>)))]
async fn global_roles(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_global_roles(&ctx).await?).into_response())
}

/// Grants platform-admin or auditor to a user or group.
#[utoipa::path(post, path = "/o2dms/v1/global-roles", tag = "tenancy", request_body = NewGlobalGrant,
    responses((status = 201, body = Vec<GlobalGrant>)))]
async fn grant_role(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// Revokes a global role; the last platform-admin stays.
#[utoipa::path(delete, path = "/o2dms/v1/global-roles/{role}/{kind}/{name}", tag = "tenancy",
    params(("role" = String, Path, description = "platform-admin or auditor"), ("kind" = String, Path, description = "user or group"), ("name" = String, Path, description = "The OIDC subject or group.")),
    responses((status = 204, description = "Revoked.")))]
async fn revoke_role(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// The cluster's namespaces with their owning tenants; unassigned ones have none.
#[utoipa::path(get, path = "/o2dms/v1/namespaces", tag = "tenancy",
    responses((status = 200, body = Vec<NamespaceOwner>)))]
async fn namespaces(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_namespaces(&ctx).await?).into_response())
}

/// `?subject=` and/or `?groups=` (comma-separated: a group alone, or the groups the user is
/// in), `action=`, and `namespace=` or `tenant=` as the action applies to.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CheckParams {
    subject: Option<String>,
    groups: Option<String>,
    action: String,
    namespace: Option<String>,
    tenant: Option<String>,
}

/// Whether a user or group may take an action on a namespace or tenant, and why, from the
/// same policy every request goes through.
#[utoipa::path(get, path = "/o2dms/v1/access/check", tag = "tenancy", params(CheckParams),
    responses((status = 200, body = Explanation)))]
async fn check_access(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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
                    "{:?} is not an action; the permission table in docs/access.md lists them",
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
