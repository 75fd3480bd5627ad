//! The sandbox cluster for the demo: the `sandbox` binary with the genuine Flux CRDs, the demo
//! tenants' Flux objects and the simulated Flux controllers, plus a kubeconfig for it.

use crate::{http_probe, paths, step};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// What the UI says about the sandbox, so nobody mistakes it for a real cluster.
pub const BANNER: &str = "Sandbox cluster: an in-memory Kubernetes API with SIMULATED Flux controllers, not a real cluster";

/// A running sandbox; it is stopped when dropped.
#[derive(Debug)]
pub struct Cluster {
    child: Child,
    /// The kubeconfig that points at it.
    pub kubeconfig: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its administrator's token (system:masters), for the harness only: the server's
    /// kubeconfig has none.
    pub admin_token: String,
}

impl Cluster {
    /// The server settings that point Pilothouse at this cluster.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KUBECONFIG", self.kubeconfig.display().to_string()),
            ("PILOTHOUSE_CLUSTER_BANNER", BANNER.to_owned()),
        ]
    }
}

impl Cluster {
    /// Starts `binary` with the Flux CRDs vendored in `deploy/crds/` and the demo data.
    pub fn start_demo(binary: &Path, name: &str) -> anyhow::Result<Self> {
        Self::start(binary, name, "--demo", crate::identity::random_hex(16)?)
    }

    /// Starts `binary` with the benchmark's fleet, which is still being written when this
    /// returns.
    pub fn start_fleet(binary: &Path, name: &str) -> anyhow::Result<Self> {
        Self::start(binary, name, "--fleet", crate::identity::random_hex(16)?)
    }

    fn start(
        binary: &Path,
        name: &str,
        contents: &str,
        admin_token: String,
    ) -> anyhow::Result<Self> {
        let crds = paths::root().join("deploy/crds");
        if !crds.is_dir() {
            bail!(
                "the Flux CRDs are missing: expected them vendored in {}",
                crds.display()
            );
        }
        let port = testkit::ports::free_port()?;
        let kubeconfig = paths::root().join("target").join(name).join("kubeconfig");
        step(&format!("starting the sandbox cluster on port {port}"));
        // As in a real cluster: Pilothouse acts as its own service account, which RBAC
        // (deploy/rbac.yaml) limits to reading, provisioning and impersonating tenants. The
        // kubeconfig carries no credentials (client-go sends none over plain HTTP), so the
        // sandbox takes credential-less requests as that account.
        let child = Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                contents,
                "--token",
                &admin_token,
            ])
            .arg("--crds")
            .arg(&crds)
            .arg("--manifest")
            .arg(paths::root().join("deploy/rbac.yaml"))
            .arg("--anonymous-as")
            .arg("system:serviceaccount:pilothouse:pilothouse")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut cluster = Self {
            child,
            kubeconfig,
            port,
            admin_token,
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = cluster.child.try_wait()? {
                bail!("the sandbox cluster exited during start-up ({status}); its log is above");
            }
            if http_probe::status(port, "/version") == Some(200) && cluster.kubeconfig.exists() {
                eprintln!("    kubeconfig {}", cluster.kubeconfig.display());
                return Ok(cluster);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the sandbox cluster did not answer on port {port} within 30 s")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
