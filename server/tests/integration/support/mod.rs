//! A whole Pilothouse for tests: private Postgres, the demo OpenID provider, the router in
//! process, and a browser-like client that signs in through the provider's real login form.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

pub mod instances;
pub mod sse;
pub mod tokens;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use control::access::{Grantee, TenantRole};
use control::testing::{TenantSeed, seed};
use server::config::Config;
use server::state::AppState;
use std::path::PathBuf;
use testkit::idp::{DemoIdp, DemoUser, IdpOptions};
use testkit::postgres::PrivatePostgres;
use tower::ServiceExt;

/// Where the server pretends to live; the router is called in process, never over the network.
pub const PUBLIC_URL: &str = "http://127.0.0.1:9";
/// Every demo user's password in tests.
pub const PASSWORD: &str = "correct horse battery staple";
/// The sandbox administrator's token (system:masters), for tests that look at the cluster as
/// it is rather than as Pilothouse sees it.
pub const SANDBOX_ADMIN_TOKEN: &str = "sandbox-admin";

/// A running test installation.
pub struct TestEnv {
    pub router: axum::Router,
    pub idp: DemoIdp,
    pub service: control::Service,
    pub config: Config,
    /// Cancelled at shutdown, ending the event streams (as `server::run` does).
    pub streams_end: tokio_util::sync::CancellationToken,
    pg: PrivatePostgres,
    dir: PathBuf,
    /// The sandbox cluster, for environments started with one.
    pub cluster: Option<sandbox::Sandbox>,
}

/// The provider every test uses: admin, alice and bob with one password.
fn idp_options(dir: &std::path::Path, port: Option<u16>) -> IdpOptions {
    let users = ["admin", "alice", "bob"]
        .map(|login| DemoUser {
            login: login.into(),
            password: PASSWORD.into(),
            groups: vec!["demo".into()],
        })
        .to_vec();
    IdpOptions {
        client_id: "pilothouse".into(),
        client_secret: "test-secret".into(),
        redirect_uris: vec![format!("{PUBLIC_URL}/auth/callback")],
        logout_uris: vec![format!("{PUBLIC_URL}/auth/signed-out")],
        users,
        id_token_ttl_secs: 300,
        key_file: Some(dir.join("idp-key.json")),
        port,
    }
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The Location header.
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The session cookie this response sets, as `name=value`.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.starts_with("pilothouse_session=")
                    .then(|| v.split(';').next().unwrap_or_default().to_owned())
            })
    }

    /// The full Set-Cookie header for the session cookie.
    pub fn session_cookie_header(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("pilothouse_session="))
            .map(str::to_owned)
    }
}

impl TestEnv {
    /// Starts everything; `name` keeps each test's Postgres directory apart.
    pub async fn start(name: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_inner(name, tweak, false).await
    }

    /// Starts everything plus the demo sandbox cluster with simulated Flux controllers, the
    /// server reaching it through a kubeconfig as in production; namespace team-a belongs to
    /// tenant team-a.
    pub async fn start_with_cluster(name: &str) -> Self {
        Self::start_inner(name, |_| {}, true).await
    }

    /// As [`Self::start_with_cluster`], with `tweak` applied to the finished configuration
    /// (its `flux` and `helm` sections already point at the sandbox).
    pub async fn start_with_cluster_and(name: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_inner(name, tweak, true).await
    }

    async fn start_inner(name: &str, tweak: impl FnOnce(&mut Config), with_cluster: bool) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let pg = PrivatePostgres::start(&dir.join("pg"), true).expect("postgres");
        pg.ensure_database("pilothouse").expect("database");
        let idp = DemoIdp::start(&idp_options(&dir, None)).expect("identity provider");

        let mut config = Config::default();
        config.database.url = Some(pg.url("pilothouse"));
        config.server.public_url = PUBLIC_URL.into();
        config.oidc.issuer = Some(idp.issuer());
        config.oidc.client_secret = Some("test-secret".into());
        config.access.bootstrap_admin = Some("admin".into());

        let cluster = if with_cluster {
            let crds = sandbox::vendored_crds();
            let kubeconfig = dir.join("kubeconfig");
            // Pilothouse acts as its own service account, held by deploy/rbac.yaml to reading,
            // provisioning tenant identities and impersonating them. Its kubeconfig carries no
            // credentials (helm sends none over plain HTTP): the sandbox takes such requests
            // as that account.
            let sandbox = sandbox::Sandbox::start(sandbox::SandboxOptions {
                crds: vec![crds],
                manifests: vec![sandbox::deploy_rbac()],
                token: Some(SANDBOX_ADMIN_TOKEN.into()),
                anonymous: Some("system:serviceaccount:pilothouse:pilothouse".into()),
                kubeconfig: Some(kubeconfig.clone()),
                ..sandbox::SandboxOptions::default()
            })
            .await
            .expect("sandbox");
            sandbox::demo::seed_and_settle(sandbox.store(), 3).expect("demo data");
            sandbox::flux::spawn(
                sandbox.store().clone(),
                std::time::Duration::from_millis(50),
            );
            config.flux.kubeconfig = Some(kubeconfig);
            config.helm.binary = testkit::helm::binary();
            config.helm.timeout = "60s".into();
            Some(sandbox)
        } else {
            None
        };
        tweak(&mut config);
        let pool = server::connect(&config).await.expect("connect");
        let clusters = if with_cluster {
            server::clusters(&config, &pool).await.expect("clusters")
        } else {
            Default::default()
        };
        for adapter in clusters.adapters() {
            adapter
                .wait_until_ready(std::time::Duration::from_secs(10))
                .await
                .expect("caches sync");
        }
        let state = AppState::new(&config, pool, clusters).expect("state");
        // As in production: grants are kept in memory and dropped on every access change.
        state.service.watch_access_changes();
        state.service.start_live_feed();
        let streams_end = state.streams_end.clone();
        let service = state.service.clone();
        server::bootstrap(&service, &config)
            .await
            .expect("bootstrap");
        let admin = admin_context(&idp.issuer());
        let team_a = TenantSeed {
            slug: "team-a",
            display_name: "Team A",
            namespaces: if with_cluster { &["team-a"] } else { &[] },
            members: vec![(Grantee::User("alice".into()), TenantRole::Operator)],
        };
        seed(&service, &admin, &[team_a]).await.expect("team-a");
        let router = server::routes::router(state);
        Self {
            router,
            idp,
            service,
            config,
            streams_end,
            pg,
            dir,
            cluster,
        }
    }

    /// Sends a request to the router.
    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("router");
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 1 << 24).await.expect("body");
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// GET `path`, with a cookie when given.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.call(request.body(Body::empty()).expect("request"))
            .await
    }

    /// Sends `method path` with a bearer token and a JSON body, waiting for the final answer
    /// of a long change (`Prefer: wait`) as a script that wants it would.
    pub async fn send_bearer(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> Answer {
        self.send_bearer_preferring(method, path, token, body, Some("wait=300"))
            .await
    }

    /// As [`Self::send_bearer`], with the `Prefer` header given (none: long changes answer
    /// 202 at once).
    pub async fn send_bearer_preferring(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: serde_json::Value,
        prefer: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(prefer) = prefer {
            request = request.header("prefer", prefer);
        }
        self.call(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    /// Sends `method path` with a bearer token and a raw body.
    pub async fn send_bytes(&self, method: &str, path: &str, token: &str, body: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/gzip")
            .body(Body::from(body))
            .expect("request");
        self.call(request).await
    }

    /// GET `path` with a bearer token.
    pub async fn get_bearer(&self, path: &str, token: &str) -> Answer {
        let request = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        self.call(request.body(Body::empty()).expect("request"))
            .await
    }

    /// Starts a login at Pilothouse: returns the session cookie and the provider URL.
    pub async fn start_login(&self, return_to: &str) -> (String, String) {
        let answer = self
            .get(
                &format!("/auth/login?return_to={}", urlencode(return_to)),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        (
            answer.session_cookie().expect("a session cookie"),
            answer.location(),
        )
    }

    /// Goes through the provider's login and consent pages; returns the callback URL it sends
    /// the browser back to (path and query on Pilothouse).
    pub async fn sign_in_at_provider(
        &self,
        authorize_url: &str,
        login: &str,
        password: &str,
    ) -> Result<String, Answer> {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut url = authorize_url.to_owned();
        let mut posted = false;
        for _ in 0..12 {
            if let Some(callback) = url.strip_prefix(PUBLIC_URL) {
                return Ok(callback.to_owned());
            }
            let response = browser.get(&url).send().await.expect("provider");
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(next) = location {
                url = absolute(&self.idp.issuer(), &next);
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            if posted || !body.contains("name=\"password\"") {
                return Err(Answer {
                    status: StatusCode::from_u16(status.as_u16()).expect("status"),
                    headers: HeaderMap::new(),
                    body,
                });
            }
            let action = body
                .split("action=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("form action");
            let response = browser
                .post(absolute(&self.idp.issuer(), action))
                .form(&[("login", login), ("password", password)])
                .send()
                .await
                .expect("login post");
            posted = true;
            match response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
            {
                Some(next) => url = absolute(&self.idp.issuer(), next),
                None => {
                    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
                    return Err(Answer {
                        status,
                        headers: HeaderMap::new(),
                        body: response.text().await.unwrap_or_default(),
                    });
                }
            }
        }
        panic!("too many redirects at the provider");
    }

    /// Signs `login` in; returns the session cookie of the signed-in session.
    pub async fn login(&self, login: &str) -> String {
        let (cookie, authorize) = self.start_login("/").await;
        let callback = self
            .sign_in_at_provider(&authorize, login, PASSWORD)
            .await
            .unwrap_or_else(|a| panic!("{}", a.body));
        let answer = self.get(&callback, Some(&cookie)).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answer.session_cookie().expect("a rotated session cookie")
    }

    /// A bearer token for `subject`, valid for five minutes, as the provider would issue it.
    pub fn bearer(&self, subject: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        self.mint(
            serde_json::json!({ "iss": self.idp.issuer(), "aud": "pilothouse",
            "sub": subject, "iat": now, "exp": now + 300 }),
        )
    }

    /// The bootstrap platform-admin, for setting up what a test needs through `Service`.
    pub fn admin(&self) -> control::RequestContext {
        admin_context(&self.idp.issuer())
    }

    /// Gives `user` `role` on `tenant`, as the platform-admin would.
    pub async fn grant(&self, tenant: &str, user: &str, role: TenantRole) {
        self.service
            .add_membership(&self.admin(), tenant, &Grantee::User(user.into()), role)
            .await
            .unwrap_or_else(|e| panic!("{user} as {role:?} of {tenant}: {e}"));
    }

    /// Asserts that the audit chain verifies from its first row to its last.
    pub async fn assert_audit_chain_intact(&self) {
        let verified = self
            .service
            .verify_audit(&self.admin())
            .await
            .expect("verify");
        assert!(verified.is_valid(), "{verified:?}");
    }

    /// A token signed with the provider's real key, with these claims.
    pub fn mint(&self, claims: serde_json::Value) -> String {
        self.idp.mint(&claims.to_string()).expect("mint")
    }

    /// Restarts the provider at the same issuer with a new signing key (a key rotation).
    pub fn rotate_provider_keys(&mut self) {
        let port = self.idp.port();
        self.idp.stop();
        self.idp = DemoIdp::start(&idp_options(&self.dir, Some(port)))
            .expect("restarted identity provider");
    }

    /// Stops Postgres (for tests that need it gone).
    pub fn stop_postgres(&mut self) {
        self.pg.stop().expect("stop");
    }
}

fn admin_context(issuer: &str) -> control::RequestContext {
    control::RequestContext {
        principal: control::access::Principal {
            issuer: issuer.to_owned(),
            subject: "admin".into(),
            email: None,
            name: None,
            groups: vec![],
            narrowing: None,
        },
        ..control::RequestContext::system()
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{base}{location}")
    }
}

/// Polls until `check` holds; fails the test when `limit` passes first. The limit is a
/// generous bound on a condition, never the thing tested.
pub async fn until<F: AsyncFn() -> bool>(limit: std::time::Duration, what: &str, check: F) {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} within {limit:?}");
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Writes `object` into the sandbox as its administrator would (a kubectl apply outside
/// Pilothouse).
pub fn plant(store: &sandbox::store::Store, group: &str, plural: &str, object: serde_json::Value) {
    let rt = store
        .resources()
        .into_iter()
        .find(|r| r.group == group && r.plural == plural)
        .expect("resource");
    let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
    store
        .create(
            &rt,
            namespace.as_deref(),
            object,
            sandbox::store::WriteOptions::by("kubectl"),
        )
        .expect("plant");
}
