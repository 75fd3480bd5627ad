//! The `operations` table: every change as an operation under its audit operation id, with
//! who asked, the owner replica, a heartbeat, the steps reported and the result.

use crate::adapters::context::Progress;
use crate::service::RequestContext;
use crate::service::bulk::{BULK_KIND, BulkChange};
use crate::service::change::{Change, ChangeOutcome};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use model::operation::{Operation, OperationState};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// Who runs an operation: this process, as other replicas will see it.
fn owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "pilothouse".into());
    format!("{host}:{}", std::process::id())
}

/// The `operations` table.
#[derive(Debug, Clone)]
pub struct OperationLog {
    pool: PgPool,
}

/// One row of `operations`, as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct OperationRow {
    /// The operation id (also its audit operation id).
    pub id: Uuid,
    /// The cluster it acts in.
    pub cluster: String,
    /// The namespace it acts in.
    pub namespace: String,
    /// The kind of its target.
    pub kind: Option<String>,
    /// Its target's name.
    pub name: Option<String>,
    /// The change, as stored.
    pub change: Value,
    /// Its state, as stored.
    pub state: String,
    /// The steps it reported, with their times.
    pub steps: Value,
    /// Who asked: issuer, subject, email, channel, request id.
    pub requested_by: Value,
    /// What it produced.
    pub result: Option<Value>,
    /// What went wrong.
    pub error: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, cluster, namespace, kind, name, change, state, steps, requested_by, result, error, created_at, finished_at";

impl OperationRow {
    /// The change it runs.
    pub fn change(&self) -> Result<Change> {
        serde_json::from_value(self.change.clone())
            .map_err(|e| Error::Conflict(format!("operation {} cannot be read: {e}", self.id)))
    }

    /// The bulk action it runs, when it is one.
    pub fn bulk(&self) -> Option<BulkChange> {
        (self.kind.as_deref() == Some(BULK_KIND))
            .then(|| serde_json::from_value(self.change.clone()).ok())
            .flatten()
    }

    /// Whether `principal` asked for it.
    pub fn requested_by(&self, principal: &crate::access::Principal) -> bool {
        self.requested_by.get("issuer").and_then(Value::as_str) == Some(&principal.issuer)
            && self.requested_by.get("subject").and_then(Value::as_str) == Some(&principal.subject)
    }

    /// The requester as a principal (for the audit rows written on their behalf).
    pub fn requester(&self) -> crate::access::Principal {
        let text = |key: &str| {
            self.requested_by
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        crate::access::Principal {
            issuer: text("issuer"),
            subject: text("subject"),
            email: self
                .requested_by
                .get("email")
                .and_then(Value::as_str)
                .map(str::to_owned),
            name: None,
            groups: Vec::new(),
            narrowing: None,
        }
    }

    /// The operation as the API shows it.
    pub fn to_operation(&self) -> Operation {
        let change = self.change().ok();
        let deployment = change.as_ref().and_then(Change::kind).and_then(|kind| {
            let name = self.name.clone()?;
            let namespace = model::reference::NamespaceRef::new(
                model::reference::ClusterId::new(self.cluster.clone()).ok()?,
                self.namespace.clone(),
            )
            .ok()?;
            Some(
                model::reference::DeploymentRef::new(&namespace, kind, name)
                    .ok()?
                    .to_string(),
            )
        });
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Operation {
            id: self.id.to_string(),
            action: change
                .as_ref()
                .map(|c| c.action().as_str().to_owned())
                .or_else(|| self.bulk().map(|b| b.action_name().to_owned()))
                .unwrap_or_default(),
            namespace: self.namespace.clone(),
            kind: self.kind.clone(),
            name: match self.bulk() {
                Some(bulk) if bulk.ids.len() == 1 => Some("1 deployment".into()),
                Some(bulk) => Some(format!("{} deployments", bulk.ids.len())),
                None => self.name.clone(),
            },
            deployment,
            state: OperationState::parse(&self.state).unwrap_or(OperationState::Failed),
            steps: serde_json::from_value(self.steps.clone()).unwrap_or_default(),
            result: self.result.clone(),
            error: self.error.clone(),
            requested_by: self
                .requested_by
                .get("email")
                .or_else(|| self.requested_by.get("subject"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            created_at: time(&self.created_at),
            finished_at: self.finished_at.as_ref().map(time),
        }
    }
}

impl OperationLog {
    /// The table in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records a change accepted as operation `id`, running, on behalf of `ctx`; 409 when
    /// its target has an open operation already.
    pub async fn start(&self, id: Uuid, change: &Change, ctx: &RequestContext) -> Result<()> {
        let namespace = change.namespace();
        let (kind, name) = change.target();
        let change =
            serde_json::to_value(change).map_err(|e| Error::invalid("change", e.to_string()))?;
        self.insert(
            id,
            namespace.cluster().as_str(),
            namespace.name(),
            kind,
            name,
            change,
            ctx,
        )
        .await
    }

    /// Records a bulk operation: many deployments, possibly in many namespaces, so it has no
    /// namespace of its own and its name is its id (bulk operations never block each other).
    pub async fn start_bulk(
        &self,
        id: Uuid,
        cluster: &str,
        bulk: &BulkChange,
        ctx: &RequestContext,
    ) -> Result<()> {
        let change =
            serde_json::to_value(bulk).map_err(|e| Error::invalid("change", e.to_string()))?;
        self.insert(id, cluster, "", BULK_KIND, &id.to_string(), change, ctx)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &self,
        id: Uuid,
        cluster: &str,
        namespace: &str,
        kind: &str,
        name: &str,
        change: Value,
        ctx: &RequestContext,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO operations (id, cluster, namespace, kind, name, change, state, requested_by, owner, heartbeat) \
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, now())",
        )
        .bind(id)
        .bind(cluster)
        .bind(namespace)
        .bind(kind)
        .bind(name)
        .bind(change)
        .bind(json!({
            "issuer": ctx.principal.issuer,
            "subject": ctx.principal.subject,
            "email": ctx.principal.email,
            "channel": ctx.channel.as_str(),
            "requestId": ctx.request_id,
        }))
        .bind(owner())
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db))
                if db.constraint() == Some("operations_one_per_target") =>
            {
                Err(self.busy(cluster, namespace, kind, name).await)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The 409 for a target that has an operation open.
    async fn busy(&self, cluster: &str, namespace: &str, kind: &str, name: &str) -> Error {
        let open: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT id, state FROM operations WHERE cluster = $1 AND namespace = $2 AND kind = $3 AND name = $4 \
             AND state IN ('pending', 'queued', 'running') LIMIT 1",
        )
        .bind(cluster)
        .bind(namespace)
        .bind(kind)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .ok()
        .flatten();
        let which = open.map_or_else(
            || "an operation".to_owned(),
            |(id, state)| format!("operation {id} ({state}, /o2dms/v1/operations/{id})"),
        );
        Error::Conflict(format!(
            "{kind} {namespace}/{name} has {which} in progress; one runs at a time: wait for it or cancel it"
        ))
    }

    /// Stores one more step, with its time.
    pub async fn add_step(&self, id: Uuid, step: &Progress) -> Result<()> {
        sqlx::query(
            "UPDATE operations SET steps = steps || jsonb_build_array(jsonb_build_object( \
             'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
             'percent', $2::int, 'step', $3::text)), heartbeat = now(), updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(i32::from(step.percent))
        .bind(&step.step)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Says the operation's runner is alive.
    pub async fn beat(&self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE operations SET heartbeat = now() WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records how the operation ended (`cancelled` when it stopped on request).
    pub async fn finish(
        &self,
        id: Uuid,
        outcome: &Result<ChangeOutcome>,
        cancelled: bool,
    ) -> Result<()> {
        let (state, result, error) = match outcome {
            Ok(result) => ("succeeded", serde_json::to_value(result).ok(), None),
            Err(error) if cancelled => ("cancelled", None, Some(error.to_string())),
            Err(error) => ("failed", None, Some(error.to_string())),
        };
        self.end(id, state, result, error).await
    }

    /// Records that an operation ended in `state` (a final one), with what it produced and
    /// what went wrong.
    pub async fn end(
        &self,
        id: Uuid,
        state: &str,
        result: Option<Value>,
        error: Option<String>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE operations SET state = $2, result = $3, error = $4, \
             heartbeat = now(), updated_at = now(), finished_at = now() \
             WHERE id = $1 AND state IN ('pending', 'queued', 'running')",
        )
        .bind(id)
        .bind(state)
        .bind(result)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One operation by its id.
    pub async fn get(&self, id: Uuid) -> Result<OperationRow> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM operations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found("operation", id.to_string()))
    }

    /// The latest operations, newest first: `principal`'s only, or everyone's.
    pub async fn recent(
        &self,
        principal: Option<&crate::access::Principal>,
        limit: i64,
    ) -> Result<Vec<OperationRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM operations WHERE $1::text IS NULL \
             OR (requested_by ->> 'issuer' = $1 AND requested_by ->> 'subject' = $2) \
             ORDER BY created_at DESC LIMIT $3"
        ))
        .bind(principal.map(|p| p.issuer.as_str()))
        .bind(principal.map(|p| p.subject.as_str()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Open operations nobody has said is alive for `silence`: their server stopped.
    pub async fn abandoned(&self, silence: std::time::Duration) -> Result<Vec<OperationRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM operations WHERE state IN ('pending', 'queued', 'running') \
             AND coalesce(heartbeat, updated_at) < now() - make_interval(secs => $1)"
        ))
        .bind(silence.as_secs_f64())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks an open operation interrupted, saying what is known; false when it had ended.
    pub async fn interrupt(&self, id: Uuid, error: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE operations SET state = 'interrupted', error = $2, updated_at = now(), finished_at = now() \
             WHERE id = $1 AND state IN ('pending', 'queued', 'running')",
        )
        .bind(id)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
