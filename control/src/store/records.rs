//! The adapters' own tables: the values Flux HelmReleases were given (for rollbacks) and
//! where each Helm release's chart came from (for upgrades). The adapters reach them through
//! the traits of `control_core::adapters::records`.

use crate::Result;
use crate::adapters::records::{AppliedSpecs, ChartSources, HelmRecords, RememberedChart};
use crate::store::packages::PackageStore;
use serde_json::{Map, Value};
use sqlx::PgPool;
use std::sync::Arc;

/// The Helm adapter's records in `pool`'s database.
pub fn helm_records(pool: &PgPool) -> HelmRecords {
    HelmRecords {
        packages: Arc::new(PackageStore::new(pool.clone())),
        charts: Arc::new(ChartSourceStore { pool: pool.clone() }),
    }
}

/// The Flux adapter's record of applied values in `pool`'s database.
pub fn spec_record(pool: &PgPool) -> crate::adapters::flux::record::SpecRecord {
    crate::adapters::flux::record::SpecRecord::new(Arc::new(AppliedSpecStore {
        pool: pool.clone(),
    }))
}

/// Table `helm_chart_sources`.
#[derive(Debug, Clone)]
struct ChartSourceStore {
    pool: PgPool,
}

#[async_trait::async_trait]
impl ChartSources for ChartSourceStore {
    async fn get(&self, namespace: &str, release: &str) -> Result<Option<RememberedChart>> {
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT kind, reference, version FROM helm_chart_sources WHERE namespace = $1 AND release = $2",
        )
        .bind(namespace)
        .bind(release)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(kind, reference, version)| RememberedChart {
            kind,
            reference,
            version,
        }))
    }

    async fn remember(
        &self,
        namespace: &str,
        release: &str,
        chart: &RememberedChart,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO helm_chart_sources (namespace, release, kind, reference, version) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (cluster, namespace, release) DO UPDATE SET kind = $3, reference = $4, version = $5",
        )
        .bind(namespace)
        .bind(release)
        .bind(&chart.kind)
        .bind(&chart.reference)
        .bind(&chart.version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn forget(&self, namespace: &str, release: &str) -> Result<()> {
        sqlx::query("DELETE FROM helm_chart_sources WHERE namespace = $1 AND release = $2")
            .bind(namespace)
            .bind(release)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Table `applied_specs`.
#[derive(Debug, Clone)]
struct AppliedSpecStore {
    pool: PgPool,
}

#[async_trait::async_trait]
impl AppliedSpecs for AppliedSpecStore {
    async fn remember(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
        chart_version: Option<&str>,
        values: &Map<String, Value>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO applied_specs (namespace, name, config_digest, chart_version, values)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(namespace)
        .bind(name)
        .bind(digest)
        .bind(chart_version)
        .bind(Value::Object(values.clone()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn values_for(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
    ) -> Result<Option<Map<String, Value>>> {
        let found: Option<Value> = sqlx::query_scalar(
            "SELECT values FROM applied_specs WHERE namespace = $1 AND name = $2 AND config_digest = $3
             ORDER BY applied_at DESC LIMIT 1",
        )
        .bind(namespace)
        .bind(name)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        }))
    }
}
