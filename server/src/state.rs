//! The one `AppState` built at start-up and shared by routes and server functions.

use crate::config::Config;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

/// Everything a request handler may need, built once at start-up.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Where the site's assets are and what the bundle is called.
    pub leptos_options: LeptosOptions,
    /// The Postgres pool.
    pub pool: PgPool,
    /// The control plane: every operation goes through it.
    pub service: control::Service,
}

impl AppState {
    /// Builds the state from the configuration and an opened pool.
    pub fn new(config: &Config, pool: PgPool) -> Self {
        let leptos_options = LeptosOptions::builder()
            .output_name(app::OUTPUT_NAME)
            .site_root(config.server.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(config.server.listen)
            .build();
        Self {
            leptos_options,
            service: control::Service::new(pool.clone()),
            pool,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
