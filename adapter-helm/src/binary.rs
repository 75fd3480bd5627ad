//! Running the helm binary: directly (never through a shell), with arguments that were checked
//! one by one, values and archives in private temporary files, a private Helm home holding the
//! repository credentials (so they never appear in argv or logs), and a time limit. helm's
//! stderr is summarised into the reference adapter's error texts.

use control_core::adapters::context::RunAs;
use control_core::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// What helm is asked to do, for errors and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `helm install`.
    Install,
    /// `helm upgrade`.
    Upgrade,
    /// `helm rollback`.
    Rollback,
    /// `helm uninstall`.
    Uninstall,
    /// `helm template` (previews).
    Template,
    /// `helm repo update`, `helm version`.
    Other,
}

impl Operation {
    /// Its name in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Upgrade => "upgrade",
            Self::Rollback => "rollback",
            Self::Uninstall => "uninstall",
            Self::Template => "template",
            Self::Other => "other",
        }
    }
}

/// The helm binary and the private home it runs in.
#[derive(Debug, Clone)]
pub struct HelmBinary {
    path: PathBuf,
    kubeconfig: Option<PathBuf>,
    home: PathBuf,
    debug: bool,
}

/// A file that is removed when dropped: values and chart archives handed to helm.
#[derive(Debug)]
pub struct TempFile(PathBuf);

impl TempFile {
    /// Writes `bytes` to a new file only the service's user can read.
    pub fn write(dir: &Path, suffix: &str, bytes: &[u8]) -> Result<Self> {
        use std::io::Write;
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            what: "helm's work directory",
            source,
        })?;
        let path = dir.join(format!("{}{suffix}", uuid::Uuid::new_v4()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|source| Error::Write {
            what: "a temporary file for helm",
            source,
        })?;
        file.write_all(bytes).map_err(|source| Error::Write {
            what: "a temporary file for helm",
            source,
        })?;
        Ok(Self(path))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl HelmBinary {
    /// helm at `path`, talking to the cluster in `kubeconfig` (or the environment's), with its
    /// configuration, cache and data under `home`.
    pub fn new(path: PathBuf, kubeconfig: Option<PathBuf>, home: PathBuf, debug: bool) -> Self {
        Self {
            path,
            kubeconfig,
            home,
            debug,
        }
    }

    /// The private Helm home.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Where temporary files for helm go.
    pub fn work_dir(&self) -> PathBuf {
        self.home.join("work")
    }

    /// Writes the repository (with its credentials) into the private Helm home under the name
    /// `pilothouse`, readable only by the service's user.
    pub fn configure_repository(
        &self,
        url: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<()> {
        let config = self.home.join("config");
        std::fs::create_dir_all(&config).map_err(|source| Error::Write {
            what: "helm's configuration",
            source,
        })?;
        let mut entry = serde_json::json!({ "name": "pilothouse", "url": url });
        if let Some(username) = username {
            entry["username"] = username.into();
        }
        if let Some(password) = password {
            entry["password"] = password.into();
        }
        let file = serde_json::json!({ "apiVersion": "", "generated": "0001-01-01T00:00:00Z", "repositories": [entry] });
        let text = serde_yaml::to_string(&file)
            .map_err(|e| Error::invalid("helm.repositoryUrl", e.to_string()))?;
        let path = config.join("repositories.yaml");
        let _ = std::fs::remove_file(&path);
        let written = TempFile::write(&config, ".yaml", text.as_bytes())?;
        std::fs::rename(written.path(), &path).map_err(|source| Error::Write {
            what: "helm's repositories.yaml",
            source,
        })?;
        Ok(())
    }

    /// Runs helm with `args` (already checked) and returns its stdout; `subject` names the
    /// release or chart in errors.
    /// `run_as` is the identity the API server sees (`--kube-as-user`); the API server adds
    /// a service account's groups itself.
    pub async fn run(
        &self,
        operation: Operation,
        subject: &str,
        args: &[OsString],
        run_as: &RunAs,
        limit: Duration,
    ) -> Result<Vec<u8>> {
        // One replica runs a bounded number of helm processes; past its queue, 429.
        let _turn = super::gate::REPLICA.turn().await?;
        let started = std::time::Instant::now();
        let out = self
            .run_unmetered(operation, subject, args, run_as, limit)
            .await;
        control_core::metrics::helm_invocation(
            operation.label(),
            control_core::metrics::outcome(&out),
            started.elapsed(),
        );
        out
    }

    async fn run_unmetered(
        &self,
        operation: Operation,
        subject: &str,
        args: &[OsString],
        run_as: &RunAs,
        limit: Duration,
    ) -> Result<Vec<u8>> {
        let mut command = Command::new(&self.path);
        command.args(args);
        if let Some(user) = run_as.user_name() {
            command.arg("--kube-as-user").arg(user);
        }
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .env(
                "HELM_REGISTRY_CONFIG",
                self.home.join("config").join("registry.json"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match &self.kubeconfig {
            Some(path) => {
                command.env("KUBECONFIG", path);
            }
            None => {
                for key in [
                    "KUBECONFIG",
                    "KUBERNETES_SERVICE_HOST",
                    "KUBERNETES_SERVICE_PORT",
                ] {
                    if let Some(value) = std::env::var_os(key) {
                        command.env(key, value);
                    }
                }
            }
        }
        if self.debug {
            command.arg("--debug");
        }
        tracing::debug!(?operation, %subject, args = ?args, "running helm");
        let child = command.spawn().map_err(|e| {
            Error::AdapterUnhealthy(format!(
                "helm adapter not healthy: cannot run {}: {e}",
                self.path.display()
            ))
        })?;
        // A cancelled operation stops helm as Ctrl-C would (SIGTERM): helm ends its wait and
        // applies its own rollback-on-failure, and its answer is still read below.
        let cancel = control_core::adapters::context::CANCEL
            .try_with(Clone::clone)
            .ok();
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(nix::unistd::Pid::from_raw);
        let terminate = async {
            if let (Some(cancel), Some(pid)) = (&cancel, pid) {
                cancel.cancelled().await;
                tracing::info!(%subject, "operation cancelled; stopping helm");
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
            std::future::pending::<()>().await;
        };
        // helm enforces its own --timeout; this only catches a helm that hangs beyond it.
        let waited = tokio::select! {
            waited = tokio::time::timeout(limit + Duration::from_secs(30), child.wait_with_output()) => waited,
            // `terminate` only signals; it never ends on its own.
            () = terminate => return Err(Error::Cancelled("helm was stopped".into())),
        };
        let output = waited
            .map_err(|_| {
                Error::Helm(format!(
                    "helm did not finish within {} s and was stopped",
                    limit.as_secs() + 30
                ))
            })?
            .map_err(|e| Error::Helm(format!("helm could not be run: {e}")))?;
        if self.debug {
            tracing::debug!(stderr = %String::from_utf8_lossy(&output.stderr), "helm said");
        }
        if output.status.success() {
            return Ok(output.stdout);
        }
        let error = classify(operation, subject, &String::from_utf8_lossy(&output.stderr));
        if cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled(format!(
                "cancelled; helm stopped: {error}"
            )));
        }
        Err(error)
    }

    /// `helm version`: e.g. `v4.1.4`.
    pub async fn version(&self) -> Result<String> {
        let args: Vec<OsString> = ["version", "--template", "{{.Version}}"]
            .map(OsString::from)
            .to_vec();
        let out = self
            .run(
                Operation::Other,
                "version",
                &args,
                &RunAs::Pilothouse,
                Duration::from_secs(20),
            )
            .await?;
        Ok(String::from_utf8_lossy(&out).trim().to_owned())
    }
}

/// Whether helm `version` (`v3.14.0`, `v4.1.4`) is one Pilothouse supports: 3.14 or later.
pub fn supported(version: &str) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 3 || (major == 3 && minor >= 14)
}

/// helm's error as the reference adapter words it, from the last line helm printed.
pub fn classify(operation: Operation, subject: &str, stderr: &str) -> Error {
    let summary: String = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("helm failed without saying why")
        .trim_start_matches("Error: ")
        .chars()
        .take(600)
        .collect();
    let lower = summary.to_lowercase();
    if lower.contains("cannot re-use a name that is still in use") {
        return Error::AlreadyExists {
            kind: "release",
            name: subject.to_owned(),
        };
    }
    if lower.contains("release: not found") || lower.contains("has no deployed releases") {
        return Error::not_found("deployment", subject);
    }
    if lower.contains(" is forbidden: user ") {
        // The API server refused the tenant's identity (RBAC): a refusal, not a helm failure.
        return Error::ClusterForbidden(summary);
    }
    if let Some(at) = stderr.find("meet the specifications of the schema") {
        // helm names the chart, then one line per problem; all of them are the user's to fix.
        let problems: Vec<&str> = stderr[at..]
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| l.starts_with('-'))
            .take(20)
            .collect();
        return Error::invalid(
            "values",
            format!(
                "the chart's values.schema.json rejects the values: {}",
                problems.join(" ").chars().take(600).collect::<String>()
            ),
        );
    }
    if operation == Operation::Rollback {
        return Error::Helm(format!("rollback failed: {summary}"));
    }
    if lower.contains("not a valid chart repository or cannot be reached")
        || lower.contains("could not find protocol handler")
        || lower.contains("no such host")
        || lower.contains("connection refused") && lower.contains("chart")
        || lower.contains("failed to fetch") && lower.contains("index.yaml")
    {
        return Error::Helm(format!("failed to locate chart: {summary}"));
    }
    if (lower.contains("chart") && lower.contains("not found"))
        || lower.contains("no chart version found")
        || lower.contains("no chart name found")
    {
        return Error::NotFound {
            kind: "chart",
            name: subject.to_owned(),
        };
    }
    let verb = match operation {
        Operation::Install => "helm install failed",
        Operation::Upgrade => "helm upgrade failed",
        Operation::Uninstall => "helm uninstall failed",
        Operation::Template => "helm template failed",
        Operation::Rollback | Operation::Other => "helm failed",
    };
    Error::Helm(format!("{verb}: {summary}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_errors_read_as_the_reference_table() {
        let cases = [
            (
                Operation::Install,
                "Error: INSTALLATION FAILED: cannot re-use a name that is still in use",
                "release already exists: web",
            ),
            (
                Operation::Upgrade,
                "Error: UPGRADE FAILED: \"web\" has no deployed releases",
                "deployment not found: web",
            ),
            (
                Operation::Rollback,
                "Error: release has no 9 version",
                "rollback failed: release has no 9 version",
            ),
            (
                Operation::Install,
                "Error: INSTALLATION FAILED: chart \"nope\" version \"1.0\" not found in https://charts.example.com repository",
                "chart not found: web",
            ),
            (
                Operation::Install,
                "Error: INSTALLATION FAILED: looks like \"https://x\" is not a valid chart repository or cannot be reached: 404",
                "failed to locate chart: INSTALLATION FAILED: looks like \"https://x\" is not a valid chart repository or cannot be reached: 404",
            ),
            (
                Operation::Install,
                "warning: x\nError: INSTALLATION FAILED: namespaces \"q\" not found",
                "helm install failed: INSTALLATION FAILED: namespaces \"q\" not found",
            ),
            (
                Operation::Template,
                "Error: values don't meet the specifications of the schema(s) in the following chart(s):\ngreet:\n- at '/greeting': got number, want string\n",
                "invalid values: the chart's values.schema.json rejects the values: - at '/greeting': got number, want string",
            ),
        ];
        for (operation, stderr, expected) in cases {
            assert_eq!(classify(operation, "web", stderr).to_string(), expected);
        }
        assert!(
            supported("v4.1.4")
                && supported("v3.14.0")
                && !supported("v3.13.2")
                && !supported("garbage")
        );
    }
}
