//! Starting a sandbox: the HTTP server on 127.0.0.1, its kubeconfig, and CRDs loaded at start.

use crate::handlers::{self, Ctx};
use crate::identity::{Impersonation, SandboxUser, Tokens};
use crate::outage::{Outages, RequestCounts};
use crate::store::{Store, WriteOptions};
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How to start a sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1; a free one when 0.
    pub port: u16,
    /// Where to write a kubeconfig for it.
    pub kubeconfig: Option<PathBuf>,
    /// A bearer token clients must send.
    pub token: Option<String>,
    /// A second token that may only read (get, list, watch); its writes answer 403 Forbidden,
    /// as RBAC would for a viewer.
    pub read_only_token: Option<String>,
    /// Users known by their tokens, whose requests RBAC decides.
    pub users: Vec<SandboxUser>,
    /// Whom requests without credentials act as, subject to RBAC. client-go (helm, kubectl)
    /// sends no credentials over plain HTTP, so a sandbox that enforces RBAC for such clients
    /// names their identity here, as an authenticating proxy in front of an API server would.
    pub anonymous: Option<String>,
    /// Files or directories of CustomResourceDefinition YAML to create at start.
    pub crds: Vec<PathBuf>,
    /// YAML files of other objects to create at start, after the CRDs (RBAC, namespaces).
    pub manifests: Vec<PathBuf>,
    /// How many changes watches can resume from (older ones answer 410); 10,000 when 0.
    pub history: usize,
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port.
        port: u16,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// A running sandbox; it stops when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    store: Arc<Store>,
    impersonations: Arc<Mutex<Vec<Impersonation>>>,
    outages: Arc<Outages>,
    shutdown: watch::Sender<bool>,
}

impl Sandbox {
    /// Starts serving in the current tokio runtime.
    pub async fn start(options: SandboxOptions) -> Result<Self, StartError> {
        let store = Arc::new(Store::new(if options.history == 0 {
            10_000
        } else {
            options.history
        }));
        for path in &options.crds {
            load_crds(&store, path)?;
        }
        for path in &options.manifests {
            load_manifest(&store, path)?;
        }
        let impersonations = Arc::new(Mutex::new(Vec::new()));
        let outages = Arc::new(Outages::default());
        let ctx = Ctx {
            store: store.clone(),
            tokens: Arc::new(Tokens {
                admin: options.token.clone(),
                read_only: options.read_only_token.clone(),
                users: options.users.clone(),
                anonymous: options.anonymous.clone(),
            }),
            impersonations: impersonations.clone(),
            outages: outages.clone(),
        };
        let app = Router::new().fallback(handlers::handle).with_state(ctx);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| StartError::Bind {
                port: options.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            port: options.port,
            source,
        })?;
        let (shutdown, stopped) = watch::channel(false);
        tokio::spawn(serve(listener, addr, app, stopped, outages.clone()));
        let sandbox = Self {
            addr,
            store,
            impersonations,
            outages,
            shutdown,
        };
        if let Some(path) = &options.kubeconfig {
            // With an anonymous identity the kubeconfig is for that identity: no token.
            let token = options
                .token
                .as_deref()
                .filter(|_| options.anonymous.is_none());
            crate::kubeconfig::write(path, &sandbox.url(), token).map_err(|e| {
                StartError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }
            })?;
        }
        Ok(sandbox)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The cluster's state, for seeding and simulated controllers.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Simulates an API server restart: every watch ends, connections are refused for
    /// `down`, and with `compact` watches must re-list.
    pub fn restart(&self, down: std::time::Duration, compact: bool) {
        self.outages.restart(&self.store, down, compact);
    }

    /// LIST and WATCH requests served so far.
    pub fn request_counts(&self) -> RequestCounts {
        self.outages.counts()
    }

    /// Every `Impersonate-*` header set seen so far.
    pub fn impersonations(&self) -> Vec<Impersonation> {
        self.impersonations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// Creates every CRD in a YAML file, or in every .yaml file of a directory.
fn load_crds(store: &Store, path: &Path) -> Result<(), StartError> {
    let file_error = |message: String| StartError::File {
        path: path.display().to_string(),
        message,
    };
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| file_error(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        entries.sort();
        for entry in entries {
            load_crds(store, &entry)?;
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let rt = store
        .resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .map_err(|e| file_error(e.to_string()))?;
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value: Value =
            serde::Deserialize::deserialize(document).map_err(|e| file_error(e.to_string()))?;
        if value.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let options = WriteOptions::by("sandbox");
        store
            .create(&rt, None, value, options)
            .map_err(|e| file_error(e.to_string()))?;
    }
    Ok(())
}

/// Creates every object of a multi-document YAML file, each in its own namespace when it names
/// one; kinds the sandbox does not serve are an error.
fn load_manifest(store: &Store, path: &Path) -> Result<(), StartError> {
    let file_error = |message: String| StartError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value: Value =
            serde::Deserialize::deserialize(document).map_err(|e| file_error(e.to_string()))?;
        let (Some(api_version), Some(kind)) = (
            value.get("apiVersion").and_then(Value::as_str),
            value.get("kind").and_then(Value::as_str),
        ) else {
            continue;
        };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let rt = store
            .resources()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .ok_or_else(|| {
                file_error(format!("the sandbox does not serve {api_version} {kind}"))
            })?;
        let namespace = value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(namespace) = &namespace {
            ensure_namespace(store, namespace).map_err(|e| file_error(e.to_string()))?;
        }
        store
            .create(
                &rt,
                namespace.as_deref(),
                value,
                WriteOptions::by("sandbox"),
            )
            .map_err(|e| file_error(e.to_string()))?;
    }
    Ok(())
}

fn ensure_namespace(store: &Store, name: &str) -> Result<(), crate::error::ApiError> {
    let rt = store.resource("", "v1", "namespaces")?;
    if store.get(&rt, None, name).is_ok() {
        return Ok(());
    }
    let namespace = serde_json::json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } });
    store
        .create(&rt, None, namespace, WriteOptions::by("sandbox"))
        .map(|_| ())
}

/// Serves until `stopped`; a simulated restart closes the listener and every connection (once
/// their requests are done: the restart ends the watches), stays down for the outage, and
/// listens on the same address again, so clients see refused connections as in a real one.
async fn serve(
    mut listener: tokio::net::TcpListener,
    addr: SocketAddr,
    app: Router,
    mut stopped: watch::Receiver<bool>,
    outages: Arc<Outages>,
) {
    loop {
        let restarted = outages.next_restart();
        let (why, stopping) = tokio::sync::oneshot::channel::<bool>();
        let mut stop = stopped.clone();
        let serve = axum::serve(listener, app.clone()).with_graceful_shutdown(async move {
            let stop = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => true,
                () = restarted => false,
            };
            let _ = why.send(stop);
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "sandbox server failed");
            return;
        }
        if stopping.await.unwrap_or(true) || *stopped.borrow_and_update() {
            return;
        }
        tokio::time::sleep(outages.down_for()).await;
        listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(error) => {
                    tracing::warn!(%error, "sandbox: cannot listen again yet");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        };
    }
}
