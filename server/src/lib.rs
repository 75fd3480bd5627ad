//! The Pilothouse server: configuration, start-up, routes and the Leptos renderer.

pub mod admin_cli;
pub mod assets;
pub mod audit_cli;
pub mod auth;
pub mod config;
pub mod demo_seed;
pub mod health;
pub mod identities;
pub mod input;
pub mod metrics;
pub mod rest;
pub mod retention;
pub mod routes;
pub mod security;
pub mod shutdown;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod upload;

use anyhow::Context;
use config::Config;
use control::access::Grantee;
use sqlx::PgPool;
use state::AppState;
use std::time::Duration;
use tower_sessions::ExpiredDeletion;
use tower_sessions_sqlx_store::PostgresStore;

/// Opens the pool without touching the schema (maintenance commands).
pub fn open(config: &Config) -> anyhow::Result<PgPool> {
    let database_url = config.database.url.as_deref().context(
        "no database configured: set database.url in the configuration file, \
         PILOTHOUSE_DATABASE_URL, or --database-url",
    )?;
    control::store::pool(database_url, config.database.max_connections)
        .context("invalid database URL")
}

/// Opens the pool and applies migrations; start-up fails when they cannot be applied.
pub async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    // The recorder comes first: the caches' first lists are reported as they happen.
    metrics::handle();
    let database_url = config.database.url.as_deref().unwrap_or_default();
    let pool = open(config)?;
    tracing::info!(database = %config::redacted_url(database_url), "applying database migrations");
    control::store::migrate(&pool)
        .await
        .context("start-up failed: the database migrations could not be applied")?;
    PostgresStore::new(pool.clone())
        .migrate()
        .await
        .context("start-up failed: the session table could not be created")?;
    Ok(pool)
}

/// Makes the configured subject and group platform-admins (idempotent, audited).
pub async fn bootstrap(service: &control::Service, config: &Config) -> anyhow::Result<()> {
    let access = &config.access;
    let grantees = [
        access.bootstrap_admin.clone().map(Grantee::User),
        access.bootstrap_admin_group.clone().map(Grantee::Group),
    ];
    for grantee in grantees.into_iter().flatten() {
        service
            .bootstrap_platform_admin(&grantee)
            .await
            .with_context(|| format!("cannot make {grantee} platform-admin"))?;
        tracing::info!(%grantee, "bootstrap platform-admin in place");
    }
    Ok(())
}

/// The deployment adapters: Flux and Helm when a cluster is configured (a kubeconfig,
/// `KUBECONFIG`, or the in-cluster service account). Without one Pilothouse still serves
/// tenancy and audit, and the deployment pages say that no cluster is configured.
pub async fn clusters(
    config: &Config,
    pool: &PgPool,
) -> anyhow::Result<control::adapters::registry::ClusterRegistry> {
    let plugins = config.plugins()?;
    let configured = plugins
        .iter()
        .any(|p| p.enabled && p.settings.kubeconfig().is_some())
        || std::env::var_os("KUBECONFIG").is_some()
        || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    if !configured {
        tracing::warn!(
            "no Kubernetes cluster configured (a kubeconfig in flux.kubeconfig or plugins.dms, KUBECONFIG, or in-cluster); deployments are unavailable"
        );
        return Ok(control::adapters::registry::ClusterRegistry::unconnected(
            &plugins,
        ));
    }
    let registry = control::adapters::registry::ClusterRegistry::connect(
        &plugins,
        pool,
        helm_home()?,
        &control::adapters::registry::Home {
            namespace: config.tenancy.namespace.clone(),
            roles: control::adapters::identity::ClusterRoles::new(
                &config.tenancy.cluster_role_prefix,
            ),
        },
    )
    .await
    .context("cannot start the deployment adapters")?;
    for adapter in registry.adapters() {
        if let Err(error) = adapter.health().await {
            // Keep serving: the caches retry, and /readyz reports the adapter until it recovers.
            tracing::error!(%error, adapter = adapter.name(), "a deployment adapter is not healthy yet");
        }
    }
    Ok(registry)
}

/// A directory only this process's user can read, for helm's configuration (repository
/// credentials), cache and temporary values files. Each registry gets its own: a Helm adapter
/// removes its home when dropped, which must not take another registry's files with it (two
/// servers in one process, as the integration tests run them).
fn helm_home() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "pilothouse-helm-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    Ok(dir)
}

/// Builds the state, applies migrations and serves until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let pool = connect(&config).await?;
    let clusters = clusters(&config, &pool).await?;
    let leadership = control::leader::Leadership::start(&clusters, config.leader.election());
    let mut state = AppState::new(&config, pool.clone(), clusters)?;
    state.leadership = leadership.clone();
    anyhow::ensure!(
        state.oidc.is_configured(),
        "no identity provider configured: set oidc.issuer (PILOTHOUSE_OIDC_ISSUER); Pilothouse never serves without sign-in"
    );
    bootstrap(&state.service, &config).await?;
    state.service.watch_access_changes();
    state.service.start_live_feed();
    state.service.watch_abandoned_operations();
    retention::spawn(state.service.clone(), &config.audit, &leadership);
    identities::spawn(state.service.clone(), &leadership);
    tokio::spawn(
        PostgresStore::new(pool).continuously_delete_expired(std::time::Duration::from_secs(600)),
    );

    // Shutdown: /readyz fails first and stays failing for the drain delay, so load balancers
    // stop sending; then event streams end, so draining the other requests is not held up;
    // the Lease goes last, once nothing runs any more.
    let (draining, streams_end) = (state.draining.clone(), state.streams_end.clone());
    let delay = Duration::from_secs(u64::from(config.server.drain_delay_seconds));
    let drain_timeout = Duration::from_secs(u64::from(config.server.drain_timeout_seconds));
    let signal = async move {
        shutdown::signal().await;
        draining.cancel();
        tokio::time::sleep(delay).await;
        streams_end.cancel();
    };
    let drained = {
        let closing = state.streams_end.clone();
        async move {
            closing.cancelled().await;
            tokio::time::sleep(drain_timeout).await;
            tracing::warn!(
                seconds = drain_timeout.as_secs(),
                "requests still running after the drain timeout; stopping anyway"
            );
        }
    };
    let router = routes::router(state);
    if let Some(address) = config.server.metrics_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} (server.metricsListen)"))?;
        tracing::info!(%address, "metrics are served at /metrics");
        tokio::spawn(async move {
            if let Err(error) = metrics::serve(listener).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    if let Some(tls) = &config.server.tls {
        let acceptor = tls::acceptor(tls)?;
        tracing::info!(address = %tls::describe(tls, config.server.listen), "Pilothouse is listening");
        tokio::select! {
            served = tls::serve(listener, acceptor, router, signal) => served?,
            () = drained => {}
        }
    } else {
        tracing::info!(address = %config.server.listen, "Pilothouse is listening");
        use axum::serve::ListenerExt as _;
        let listener = listener.tap_io(no_delay);
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        tokio::select! {
            served = serve => served.context("server error")?,
            () = drained => {}
        }
    }
    // An API server that does not answer must not hold the exit: the Lease then expires.
    if tokio::time::timeout(Duration::from_secs(5), leadership.release())
        .await
        .is_err()
    {
        tracing::warn!("the Lease could not be released in time; it expires by itself");
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Sends each write at once. Pages stream in several writes (the shell, then each resource
/// as it resolves); with Nagle's algorithm the second write waited for the client's delayed
/// ACK, about 40 ms on Linux, which was most of a server-rendered page's time.
pub(crate) fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
    }
}
