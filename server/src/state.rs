//! The one `AppState` built at start-up and shared by routes and server functions.

use crate::auth::guard::AuthSettings;
use crate::auth::{AuthError, Oidc};
use crate::config::Config;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

/// Everything a request handler may need, built once at start-up.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Where the site's assets are and what the bundle is called.
    pub leptos_options: LeptosOptions,
    /// The Postgres pool.
    pub pool: PgPool,
    /// The control plane: every operation goes through it.
    pub service: control::Service,
    /// The OpenID Connect relying party.
    pub oidc: Arc<Oidc>,
    /// Settings for the authentication gate.
    pub auth: AuthSettings,
    /// Whether the session cookie may travel over plain HTTP (the demo only).
    pub insecure_cookie: bool,
    /// Whether the public URL is https (responses then carry HSTS).
    pub public_url_is_https: bool,
    /// Minutes of inactivity after which a session ends.
    pub idle_timeout_minutes: u32,
    /// The banner shown above every page, e.g. for the sandbox cluster.
    pub cluster_banner: Option<String>,
    /// Cancelled when shutdown begins: event streams end with it.
    pub streams_end: tokio_util::sync::CancellationToken,
    /// `/metrics` is served on the main listener (no `server.metricsListen`).
    pub metrics_here: bool,
    /// Whether this replica leads (`serve` starts the election; alone it always leads).
    pub leadership: control::leader::Leadership,
    /// Cancelled when shutdown begins, before anything else: `/readyz` fails from then on.
    pub draining: tokio_util::sync::CancellationToken,
    /// What an uploaded chart archive may be: `helm.maxPackageBytes`, within the upload limit.
    pub package_limits: model::source::PackageLimits,
}

impl AppState {
    /// Builds the state from the configuration and an opened pool.
    pub fn new(
        config: &Config,
        pool: PgPool,
        clusters: control::adapters::registry::ClusterRegistry,
    ) -> Result<Self, AuthError> {
        // `cargo xtask build` fingerprints the assets and writes hash.txt beside pkg/; Leptos
        // joins the file's name to the binary's directory, which an absolute path overrides.
        let hash_file = std::path::absolute(config.server.site_root.join("hash.txt"))
            .unwrap_or_else(|_| config.server.site_root.join("hash.txt"));
        let leptos_options = LeptosOptions::builder()
            .output_name(app::OUTPUT_NAME)
            .site_root(config.server.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(config.server.listen)
            .hash_files(hash_file.exists())
            .hash_file(std::sync::Arc::from(hash_file.to_string_lossy().as_ref()))
            .build();
        let public_origin = origin_of(&config.server.public_url);
        Ok(Self {
            leptos_options,
            service: control::Service::new(pool.clone())
                .with_registry(clusters)
                .with_token_lifetime(config.tokens.max_lifetime_days)
                .with_token_cap(config.tokens.max_live_per_user)
                .with_reserved_namespaces(config.reserved_namespaces())
                .with_rate_limits(config.limits.clone())
                .with_links(config.ui.links.clone()),
            pool,
            oidc: Arc::new(Oidc::new(config)?),
            auth: AuthSettings {
                public_origin,
                absolute_timeout_secs: i64::from(config.session.absolute_timeout_hours) * 3600,
            },
            insecure_cookie: config.session.insecure_cookie,
            public_url_is_https: config.server.public_url.starts_with("https://"),
            idle_timeout_minutes: config.session.idle_timeout_minutes,
            cluster_banner: config.ui.cluster_banner.clone(),
            streams_end: Default::default(),
            metrics_here: config.server.metrics_listen.is_none(),
            leadership: control::leader::Leadership::sole("this replica"),
            draining: Default::default(),
            package_limits: config.package_limits(),
        })
    }
}

/// `scheme://host[:port]` of a URL, as browsers send it in the Origin header.
fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => url.trim_end_matches('/').to_owned(),
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
