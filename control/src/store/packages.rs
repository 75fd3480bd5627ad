//! The package store: chart archives in Postgres, content-addressed, with their metadata.

use crate::adapters::helm::package::ChartInfo;
use crate::adapters::records::PackageArchives;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use model::source::Package;
use sqlx::PgPool;

/// Packages and their blobs.
#[derive(Debug, Clone)]
pub struct PackageStore {
    pool: PgPool,
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i32,
    String,
    DateTime<Utc>,
);

const COLUMNS: &str = "namespace, id, name, version, app_version, description, digest, size, uploaded_by, uploaded_at";

fn package(row: Row) -> Package {
    let (namespace, id, name, version, app_version, description, digest, size, uploaded_by, at) =
        row;
    Package {
        id,
        namespace,
        name,
        version,
        app_version,
        description,
        digest,
        size,
        uploaded_by,
        uploaded_at: at.to_rfc3339(),
        permissions: Default::default(),
    }
}

impl PackageStore {
    /// The store in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Stores a checked archive under `namespace`; the same chart version twice is refused.
    pub async fn put(
        &self,
        namespace: &str,
        info: &ChartInfo,
        archive: &[u8],
        uploader: &str,
    ) -> Result<Package> {
        let size = i32::try_from(info.size).map_err(|_| Error::invalid("package", "too large"))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO chart_blobs (digest, content, size) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING")
            .bind(&info.digest)
            .bind(archive)
            .bind(size)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query_as::<_, Row>(&format!(
            "INSERT INTO packages (namespace, id, name, version, app_version, description, digest, size, uploaded_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (cluster, namespace, id) DO NOTHING RETURNING {COLUMNS}"
        ))
        .bind(namespace)
        .bind(info.id())
        .bind(&info.name)
        .bind(&info.version)
        .bind(&info.app_version)
        .bind(&info.description)
        .bind(&info.digest)
        .bind(size)
        .bind(uploader)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::AlreadyExists { kind: "package", name: info.id() })?;
        tx.commit().await?;
        Ok(package(inserted))
    }

    /// Packages in the given namespaces (all when `None`), by name and version.
    pub async fn list(&self, namespaces: Option<&[String]>) -> Result<Vec<Package>> {
        let rows = sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM packages WHERE $1::text[] IS NULL OR namespace = ANY($1) ORDER BY namespace, name, version"
        ))
        .bind(namespaces)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(package).collect())
    }

    /// One package.
    pub async fn get(&self, namespace: &str, id: &str) -> Result<Package> {
        sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM packages WHERE namespace = $1 AND id = $2"
        ))
        .bind(namespace)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(package)
        .ok_or_else(|| Error::not_found("package", id))
    }

    /// A package's archive.
    pub async fn archive(&self, namespace: &str, id: &str) -> Result<Vec<u8>> {
        sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT b.content FROM packages p JOIN chart_blobs b ON b.digest = p.digest WHERE p.namespace = $1 AND p.id = $2",
        )
        .bind(namespace)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found("chart", id))
    }

    /// Deletes a package, and its blob when no other package shares it.
    pub async fn delete(&self, namespace: &str, id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let digest: Option<String> = sqlx::query_scalar(
            "DELETE FROM packages WHERE namespace = $1 AND id = $2 RETURNING digest",
        )
        .bind(namespace)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let digest = digest.ok_or_else(|| Error::not_found("package", id))?;
        sqlx::query("DELETE FROM chart_blobs WHERE digest = $1 AND NOT EXISTS (SELECT 1 FROM packages WHERE digest = $1)")
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl PackageArchives for PackageStore {
    async fn exists(&self, namespace: &str, id: &str) -> Result<bool> {
        match self.get(namespace, id).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn archive(&self, namespace: &str, id: &str) -> Result<Vec<u8>> {
        PackageStore::archive(self, namespace, id).await
    }
}
