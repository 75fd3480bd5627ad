//! Running the built server as a child process, and stopping it the way an orchestrator does.

use crate::http_probe;
use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running `pilothouse` process; it is stopped (SIGTERM) when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts the binary on `127.0.0.1:port` against `database_url` with `env` on top, and
    /// waits for `/healthz`.
    pub fn start(
        binary: &Path,
        port: u16,
        database_url: &str,
        site_root: &Path,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let child = Command::new(binary)
            .env("PILOTHOUSE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PILOTHOUSE_DATABASE_URL", database_url)
            .env("PILOTHOUSE_SITE_ROOT", site_root)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self { child, port };
        server.wait_healthy(Duration::from_secs(60))?;
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits until the process exits by itself (e.g. after Ctrl-C).
    pub fn wait(&mut self) -> anyhow::Result<()> {
        let status = self.child.wait().context("cannot wait for the server")?;
        eprintln!("    server exited: {status}");
        Ok(())
    }

    /// Sends SIGTERM and waits for the graceful shutdown.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("cannot run kill")?;
        if !status.success() {
            self.child.kill()?;
        }
        self.child.wait()?;
        Ok(())
    }

    fn wait_healthy(&mut self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start-up ({status}); its log is above");
            }
            if http_probe::status(self.port, "/healthz") == Some(200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "the server did not answer /healthz on port {} within {} s",
            self.port,
            limit.as_secs()
        )
    }
}

/// Runs `pilothouse seed-demo` with the same settings the server will get.
pub fn seed_demo(binary: &Path, database_url: &str, env: &[(&str, String)]) -> anyhow::Result<()> {
    crate::site::run(
        Command::new(binary)
            .arg("seed-demo")
            .env("PILOTHOUSE_DATABASE_URL", database_url)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str()))),
        "pilothouse seed-demo",
    )
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
