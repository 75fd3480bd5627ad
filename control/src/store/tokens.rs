//! API tokens in Postgres: made with a random secret of which only a SHA-256 hash is kept,
//! looked up by that hash, listed and revoked.

use crate::access::principal::{Narrowing, Principal};
use crate::access::scope::Visible;
use crate::{Error, Result};
use base64::Engine;
use chrono::{DateTime, Utc};
use model::tokens::{ApiToken, SECRET_PREFIX};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// What a new token row holds.
#[derive(Debug, Clone)]
pub struct TokenRow<'a> {
    /// The principal it acts as.
    pub subject: &'a str,
    /// The tenant whose service principal it is.
    pub service_of: Option<&'a str>,
    /// What it is for.
    pub name: &'a str,
    /// The narrowing.
    pub tenant: Option<&'a str>,
    /// Reads only.
    pub read_only: bool,
    /// Who makes it.
    pub created_by: &'a str,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A fresh secret: the prefix and 256 random bits.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn hash(secret: &str) -> Vec<u8> {
    secret_hash(secret).to_vec()
}

/// The SHA-256 of a secret: what Postgres stores and what caches are keyed by.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Stores a token for `secret`, unless its subject already holds `max_live` live tokens (the
/// count and the insert are serialized per subject, so concurrent requests cannot pass it).
pub async fn insert(
    pool: &PgPool,
    row: &TokenRow<'_>,
    secret: &str,
    max_live: u32,
) -> Result<ApiToken> {
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
        .bind(row.subject)
        .execute(&mut *tx)
        .await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_tokens WHERE subject = $1 AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(row.subject)
    .fetch_one(&mut *tx)
    .await?;
    if live >= i64::from(max_live) {
        return Err(Error::Conflict(format!(
            "{} already holds {live} live API tokens, the most allowed (tokens.maxLivePerUser); revoke one first",
            row.subject
        )));
    }
    let inserted: TokenRecord = sqlx::query_as(&format!(
        "INSERT INTO api_tokens (id, subject, service_of, name, secret_hash, tenant, read_only, created_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(row.subject)
    .bind(row.service_of)
    .bind(row.name)
    .bind(hash(secret))
    .bind(row.tenant)
    .bind(row.read_only)
    .bind(row.created_by)
    .bind(row.expires_at)
    .fetch_one(&mut *tx)
    .await
    .map_err(|error| match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::not_found("tenant", row.tenant.or(row.service_of).unwrap_or_default())
        }
        _ => Error::from(error),
    })?;
    tx.commit().await?;
    Ok(inserted.into())
}

/// Why token `id` no longer stands (revoked, expired, gone), or None while it does.
pub async fn lapsed(pool: &PgPool, id: Uuid) -> Result<Option<String>> {
    let row: Option<(Option<DateTime<Utc>>, DateTime<Utc>)> =
        sqlx::query_as("SELECT revoked_at, expires_at FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        None => Some("the API token no longer exists".to_owned()),
        Some((Some(at), _)) => Some(format!("the API token was revoked at {}", at.to_rfc3339())),
        Some((None, at)) if at <= Utc::now() => {
            Some(format!("the API token expired at {}", at.to_rfc3339()))
        }
        Some(_) => None,
    })
}

/// The principal a presented secret stands for, or why it does not stand for one. Marks the
/// token used.
pub async fn authenticate(
    pool: &PgPool,
    issuer_prefix: &str,
    secret: &str,
) -> Result<(Principal, DateTime<Utc>)> {
    let found: Option<TokenRecord> = sqlx::query_as(&format!(
        "UPDATE api_tokens SET last_used_at = now() \
         WHERE secret_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING {COLUMNS}"
    ))
    .bind(hash(secret))
    .fetch_optional(pool)
    .await?;
    if let Some(token) = found {
        let principal = Principal {
            issuer: format!("{issuer_prefix}{}", token.id),
            subject: token.subject,
            email: None,
            name: Some(format!("API token {}", token.name)),
            groups: Vec::new(),
            narrowing: Some(Narrowing {
                tenant: token.tenant,
                read_only: token.read_only,
            }),
        };
        return Ok((principal, token.expires_at));
    }
    let refused: Option<(Option<DateTime<Utc>>, DateTime<Utc>)> =
        sqlx::query_as("SELECT revoked_at, expires_at FROM api_tokens WHERE secret_hash = $1")
            .bind(hash(secret))
            .fetch_optional(pool)
            .await?;
    Err(Error::Unauthenticated(match refused {
        Some((Some(at), _)) => format!("the API token was revoked at {}", at.to_rfc3339()),
        Some((None, at)) => format!(
            "the API token expired at {}; make a new one",
            at.to_rfc3339()
        ),
        None => "unknown API token".to_owned(),
    }))
}

/// Tokens acting as `subject` (one's own), newest first.
pub async fn list_own(pool: &PgPool, subject: &str) -> Result<Vec<ApiToken>> {
    let rows: Vec<TokenRecord> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE subject = $1 AND service_of IS NULL ORDER BY created_at DESC"
    ))
    .bind(subject)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Service tokens of the `visible` tenants, newest first.
pub async fn list_service(pool: &PgPool, visible: &Visible) -> Result<Vec<ApiToken>> {
    let only: Option<Vec<String>> = match visible {
        Visible::All => None,
        Visible::Only(tenants) => Some(tenants.iter().cloned().collect()),
    };
    let rows: Vec<TokenRecord> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE service_of IS NOT NULL \
         AND ($1::text[] IS NULL OR service_of = ANY($1)) ORDER BY created_at DESC"
    ))
    .bind(only)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// One token by id.
pub async fn get(pool: &PgPool, id: &str) -> Result<ApiToken> {
    let not_found = || Error::not_found("API token", id);
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let row: Option<TokenRecord> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(Into::into).ok_or_else(not_found)
}

/// Revokes a token; revoking it again changes nothing.
pub async fn revoke(pool: &PgPool, id: &str) -> Result<()> {
    let id = Uuid::parse_str(id).map_err(|_| Error::not_found("API token", id))?;
    sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

const COLUMNS: &str = "id, subject, service_of, name, tenant, read_only, created_by, created_at, expires_at, revoked_at, last_used_at";

#[derive(sqlx::FromRow)]
struct TokenRecord {
    id: Uuid,
    subject: String,
    service_of: Option<String>,
    name: String,
    tenant: Option<String>,
    read_only: bool,
    created_by: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for ApiToken {
    fn from(row: TokenRecord) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name,
            subject: row.subject,
            service_of: row.service_of,
            tenant: row.tenant,
            read_only: row.read_only,
            created_by: row.created_by,
            created_at: row.created_at.to_rfc3339(),
            expires_at: row.expires_at.to_rfc3339(),
            revoked_at: row.revoked_at.map(|t| t.to_rfc3339()),
            last_used_at: row.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}
