//! The HTTP routes: health endpoints, sign-in, the REST API, the Leptos pages and the site's
//! static files, behind the session layer and the authentication gate.

use crate::state::AppState;
use crate::{assets, auth, health, input, metrics, rest, security, upload};
use app::{App, shell};
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "pilothouse_session";

/// The whole application's router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let (api, document) = rest::api();
    let options = state.leptos_options.clone();
    let service = state.service.clone();
    let banner = app::banner::BannerText(state.cluster_banner.clone());
    let context = move || {
        provide_context(service.clone());
        provide_context(document.clone());
        provide_context(banner.clone());
        security::provide_page_nonce();
    };
    let hsts = security::Hsts(state.public_url_is_https);
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(!state.insecure_cookie)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(i64::from(
            state.idle_timeout_minutes,
        ))));
    let metrics_here = state.metrics_here;
    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if metrics_here {
        router = router.route("/metrics", get(metrics::render_signed_in));
    }
    router
        .merge(auth::routes::router())
        .merge(api)
        .route("/o2dms/{*rest}", axum::routing::any(rest::unknown_route))
        .merge(upload::router())
        .merge(assets::router(std::path::Path::new(
            &*state.leptos_options.site_root,
        )))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Inside the gate, so a refused request is recorded with who sent it.
        .layer(from_fn_with_state(state.clone(), input::screen))
        .layer(from_fn_with_state(state.clone(), auth::guard::authenticate))
        .layer(sessions)
        .layer(from_fn_with_state(hsts, security::headers))
        // HTML and JSON compressed on the fly; precompressed files and event streams as they are.
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}
