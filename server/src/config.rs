//! Configuration: a YAML file, overridden by `PILOTHOUSE_*` environment variables, overridden
//! by flags. Every option is listed in docs/configuration.md.

use anyhow::Context;
use clap::{Parser, ValueEnum};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Command-line flags. Each flag also reads the environment variable named in its help.
#[derive(Debug, Default, Parser)]
#[command(
    name = "pilothouse",
    version,
    about = "Pilothouse: a web control plane for Flux CD and Helm"
)]
pub struct Cli {
    /// YAML configuration file; without one, built-in defaults apply.
    #[arg(long, short = 'c', env = "PILOTHOUSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on (server.listen).
    #[arg(long, env = "PILOTHOUSE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory holding the built site: pkg/ with the wasm bundle and stylesheet (server.siteRoot).
    #[arg(long, env = "PILOTHOUSE_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<PathBuf>,
    /// Postgres connection URL (database.url).
    #[arg(
        long,
        env = "PILOTHOUSE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Largest number of pooled Postgres connections (database.maxConnections).
    #[arg(long, env = "PILOTHOUSE_DATABASE_MAX_CONNECTIONS", value_name = "N")]
    pub database_max_connections: Option<u32>,
    /// Log format: pretty or json (log.format).
    #[arg(long, env = "PILOTHOUSE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter in tracing's EnvFilter syntax, e.g. `info,server=debug` (log.filter).
    #[arg(long, env = "PILOTHOUSE_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// OIDC subject made platform-admin at start-up (access.bootstrapAdmin).
    #[arg(long, env = "PILOTHOUSE_BOOTSTRAP_ADMIN", value_name = "SUBJECT")]
    pub bootstrap_admin: Option<String>,
    /// OIDC group made platform-admin at start-up (access.bootstrapAdminGroup).
    #[arg(long, env = "PILOTHOUSE_BOOTSTRAP_ADMIN_GROUP", value_name = "GROUP")]
    pub bootstrap_admin_group: Option<String>,
    /// Archive audit rows older than this many days (audit.retentionDays); unset keeps all.
    #[arg(long, env = "PILOTHOUSE_AUDIT_RETENTION_DAYS", value_name = "DAYS")]
    pub audit_retention_days: Option<u32>,
    /// Directory for audit archives (audit.archiveDir).
    #[arg(long, env = "PILOTHOUSE_AUDIT_ARCHIVE_DIR", value_name = "DIR")]
    pub audit_archive_dir: Option<PathBuf>,
    /// The URL users reach Pilothouse at, for redirects and origin checks (server.publicUrl).
    #[arg(long, env = "PILOTHOUSE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// OpenID provider's issuer URL (oidc.issuer).
    #[arg(long, env = "PILOTHOUSE_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// OAuth client id (oidc.clientId).
    #[arg(long, env = "PILOTHOUSE_OIDC_CLIENT_ID", value_name = "ID")]
    pub oidc_client_id: Option<String>,
    /// OAuth client secret (oidc.clientSecret).
    #[arg(
        long,
        env = "PILOTHOUSE_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,
    /// Send the session cookie over plain HTTP too; only for the local demo (session.insecureCookie).
    #[arg(long, env = "PILOTHOUSE_INSECURE_COOKIE")]
    pub insecure_cookie: bool,
    /// A banner above every page, e.g. "Sandbox cluster: simulated Flux" (ui.clusterBanner).
    #[arg(long, env = "PILOTHOUSE_CLUSTER_BANNER", value_name = "TEXT")]
    pub cluster_banner: Option<String>,
    /// Kubeconfig for the Flux adapter (flux.kubeconfig); without one, `KUBECONFIG` or the
    /// in-cluster service account is used when present.
    #[arg(long, env = "PILOTHOUSE_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The helm binary for the Helm adapter (helm.binary).
    #[arg(long, env = "PILOTHOUSE_HELM_BINARY", value_name = "FILE")]
    pub helm_binary: Option<PathBuf>,
    /// The Helm adapter's chart repository password (helm.repositoryPassword); kept out of
    /// files and command lines.
    #[arg(
        long,
        env = "PILOTHOUSE_HELM_REPOSITORY_PASSWORD",
        value_name = "TEXT",
        hide_env_values = true
    )]
    pub helm_repository_password: Option<String>,
    /// What to do; without a command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The binary's commands besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Serve the UI and the API (the default).
    Serve,
    /// Work with the audit log directly in the database.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Administer tenants, namespaces, memberships and global roles (audited, channel cli).
    Admin(crate::admin_cli::AdminArgs),
    /// Create the demo's tenants, namespaces and memberships (used by `cargo xtask demo`).
    #[command(hide = true)]
    SeedDemo,
}

/// Audit log maintenance from the command line.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exits 1 and names the first broken row if it is broken.
    Verify,
    /// Move rows older than the retention period to a JSON Lines archive behind a checkpoint.
    Archive {
        /// Archive rows older than this many days (default: audit.retentionDays).
        #[arg(long, value_name = "DAYS")]
        older_than_days: Option<u32>,
        /// The archive file to write (default: a new file in audit.archiveDir).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// The whole configuration after file, environment and flags are merged.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// HTTP listener and site assets.
    pub server: ServerConfig,
    /// The Postgres database.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// Who administers Pilothouse from the start.
    pub access: AccessConfig,
    /// Audit log retention.
    pub audit: AuditConfig,
    /// Sign-in through OpenID Connect.
    pub oidc: OidcConfig,
    /// Browser sessions.
    pub session: SessionConfig,
    /// What every page shows.
    pub ui: UiConfig,
    /// The Flux adapter (reference 000's settings).
    pub flux: control::adapters::flux::FluxConfig,
    /// The Helm adapter and the package store (reference 001's settings).
    pub helm: control::adapters::helm::HelmConfig,
    /// The deployment adapters (reference 001's `plugins.dms`); without it, `flux` and `helm`.
    pub plugins: PluginsConfig,
    /// API tokens for automation.
    pub tokens: TokensConfig,
    /// Per-principal request rates.
    pub limits: control::service::RateLimits,
    /// Leader election among replicas.
    pub leader: LeaderConfig,
    /// Where the tenant identities live.
    pub tenancy: TenancyConfig,
}

/// Where Pilothouse keeps the identities it provisions for tenant namespaces.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TenancyConfig {
    /// Pilothouse's own namespace: the Flux writer accounts (`flux-writer-<namespace>`) live
    /// here, where no tenant pod can mount them (the chart sets the release namespace).
    pub namespace: String,
    /// Namespaces no tenant may be given, besides those always refused (kube-system,
    /// kube-public, kube-node-lease, Pilothouse's own and the Flux controllers').
    pub reserved_namespaces: Vec<String>,
}

impl Default for TenancyConfig {
    fn default() -> Self {
        Self {
            namespace: control::adapters::identity::DEFAULT_HOME_NAMESPACE.into(),
            reserved_namespaces: Vec::new(),
        }
    }
}

impl Config {
    /// Every namespace no tenant may be given: Kubernetes' own, Pilothouse's, the Flux
    /// controllers' (of every Flux adapter) and `tenancy.reservedNamespaces`.
    pub fn reserved_namespaces(&self) -> Vec<String> {
        let mut reserved: Vec<String> = ["kube-system", "kube-public", "kube-node-lease"]
            .map(str::to_owned)
            .into();
        reserved.push(self.tenancy.namespace.clone());
        for plugin in self.plugins().unwrap_or_default() {
            if let control::adapters::plugins::PluginSettings::Flux(flux) = &plugin.settings {
                reserved.push(flux.namespace.clone());
            }
        }
        reserved.extend(self.tenancy.reserved_namespaces.iter().cloned());
        reserved.sort();
        reserved.dedup();
        reserved
    }
}

/// Leader election among replicas: the Lease that decides which one runs the work that must
/// happen once (audit retention, tenancy drift repair).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LeaderConfig {
    /// The Lease's namespace: Pilothouse's own (the chart sets the release namespace).
    pub namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's identity; default: the pod name (`POD_NAME`, else the host name) and
    /// a random suffix.
    pub identity: Option<String>,
    /// How long a Lease not renewed stays with its holder; renewals come five times as often.
    pub lease_duration_seconds: u32,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        Self {
            namespace: "pilothouse".into(),
            lease_name: "pilothouse-leader".into(),
            identity: None,
            lease_duration_seconds: 15,
        }
    }
}

impl LeaderConfig {
    /// The election's settings, with this replica's identity.
    pub fn election(&self) -> control::leader::LeaderConfig {
        let identity = self.identity.clone().unwrap_or_else(|| {
            let host = std::env::var("POD_NAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| "pilothouse".into());
            let suffix = uuid::Uuid::new_v4().simple().to_string();
            format!("{host}-{}", &suffix[..8])
        });
        control::leader::LeaderConfig {
            namespace: self.namespace.clone(),
            name: self.lease_name.clone(),
            identity,
            lease_duration: std::time::Duration::from_secs(u64::from(
                self.lease_duration_seconds.max(1),
            )),
        }
    }
}

/// The adapter registry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginsConfig {
    /// The deployment adapters, each with a name, type, enabled, default and config.
    pub dms: Vec<control::adapters::plugins::PluginConfig>,
}

/// API tokens for automation.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TokensConfig {
    /// The longest lifetime a token may have, in days.
    pub max_lifetime_days: u32,
    /// How many live tokens one user (or service principal) may hold at once.
    pub max_live_per_user: u32,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            max_lifetime_days: control::service::DEFAULT_MAX_LIFETIME_DAYS,
            max_live_per_user: control::service::DEFAULT_MAX_LIVE_TOKENS,
        }
    }
}

/// What every page shows.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct UiConfig {
    /// A banner above every page, e.g. to say the cluster is a simulation.
    pub cluster_banner: Option<String>,
}

/// Sign-in through OpenID Connect.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct OidcConfig {
    /// The provider's issuer URL; required to serve.
    pub issuer: Option<String>,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: Option<String>,
    /// Scopes asked for at login.
    pub scopes: Vec<String>,
    /// The claim holding the user's groups.
    pub groups_claim: String,
    /// Also read claims from the userinfo endpoint.
    pub userinfo: bool,
    /// Audience bearer tokens must carry; the client id when unset.
    pub audience: Option<String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: "pilothouse".into(),
            client_secret: None,
            scopes: ["openid", "email", "profile", "groups"]
                .map(String::from)
                .to_vec(),
            groups_claim: "groups".into(),
            userinfo: false,
            audience: None,
        }
    }
}

/// Browser sessions.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionConfig {
    /// Send the cookie over plain HTTP too (the local demo only); Secure otherwise.
    pub insecure_cookie: bool,
    /// Sign out after this many minutes without a request.
    pub idle_timeout_minutes: u32,
    /// Sign out this many hours after login, active or not.
    pub absolute_timeout_hours: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            insecure_cookie: false,
            idle_timeout_minutes: 60,
            absolute_timeout_hours: 12,
        }
    }
}

/// Who administers Pilothouse from the start.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessConfig {
    /// An OIDC subject made platform-admin at start-up.
    pub bootstrap_admin: Option<String>,
    /// An OIDC group made platform-admin at start-up.
    pub bootstrap_admin_group: Option<String>,
}

/// Audit log retention.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditConfig {
    /// Rows older than this many days are archived daily; None keeps every row.
    pub retention_days: Option<u32>,
    /// Where archives are written.
    pub archive_dir: PathBuf,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: None,
            archive_dir: "audit-archive".into(),
        }
    }
}

/// HTTP listener and site assets.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Directory holding the built site.
    pub site_root: PathBuf,
    /// The URL users reach Pilothouse at (scheme, host, port), without a trailing slash.
    pub public_url: String,
    /// Serve HTTPS (and verify client certificates) instead of plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Serve `/metrics` on this address only (plain HTTP, no sign-in) instead of on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// At shutdown, how long `/readyz` fails before the listener closes, so load balancers
    /// stop sending new requests first.
    pub drain_delay_seconds: u32,
    /// At shutdown, how long in-flight requests may take to finish.
    pub drain_timeout_seconds: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: "target/site".into(),
            public_url: "http://127.0.0.1:3000".into(),
            tls: None,
            metrics_listen: None,
            drain_delay_seconds: 0,
            drain_timeout_seconds: 30,
        }
    }
}

/// HTTPS served by Pilothouse itself; with `client_ca`, client certificates are verified and
/// sign callers in (CN → subject, O → groups).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsConfig {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM certificates of the authorities whose client certificates are accepted.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Refuse connections that offer no client certificate (with `clientCa`); otherwise
    /// such callers sign in as usual (OIDC or a bearer token).
    #[serde(default)]
    pub require_client_cert: bool,
}

/// The Postgres database.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseConfig {
    /// Connection URL; required.
    pub url: Option<String>,
    /// Largest number of pooled connections.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// Filter in tracing's EnvFilter syntax; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info,sqlx=warn".into(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// Reads the file named by the flags (if any) and applies environment and flag overrides.
    pub fn load(cli: &Cli) -> anyhow::Result<Self> {
        let mut config = match &cli.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply(cli);
        Ok(config)
    }

    /// Parses a YAML configuration file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        Self::from_yaml(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))
    }

    /// Parses YAML configuration text; unknown keys are errors so typos do not pass silently.
    pub fn from_yaml(text: &str) -> Result<Self, serde_yaml::Error> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(text)
    }

    /// The adapters to start: `plugins.dms`, or the `flux` and `helm` sections' two.
    pub fn plugins(&self) -> anyhow::Result<Vec<control::adapters::plugins::PluginConfig>> {
        if self.plugins.dms.is_empty() {
            return Ok(control::adapters::plugins::PluginConfig::shorthand(
                &self.flux, &self.helm,
            ));
        }
        anyhow::ensure!(
            self.flux == Default::default() && self.helm == Default::default(),
            "plugins.dms and the flux or helm section are both set: move those settings into the adapters' config"
        );
        Ok(self.plugins.dms.clone())
    }

    /// The kubeconfig, helm binary and repository password flags: for the `flux` and `helm`
    /// sections, or, with `plugins.dms`, for every adapter they concern.
    fn apply_adapter_flags(&mut self, cli: &Cli) {
        use control::adapters::plugins::PluginSettings;
        if self.plugins.dms.is_empty() {
            if let Some(path) = &cli.kubeconfig {
                self.flux.kubeconfig = Some(path.clone());
            }
            if let Some(path) = &cli.helm_binary {
                self.helm.binary = path.clone();
            }
            if let Some(password) = &cli.helm_repository_password {
                self.helm.repository_password = Some(password.clone());
            }
            return;
        }
        for plugin in &mut self.plugins.dms {
            match &mut plugin.settings {
                PluginSettings::Flux(flux) => {
                    if let Some(path) = &cli.kubeconfig {
                        flux.kubeconfig = Some(path.clone());
                    }
                }
                PluginSettings::Helm(helm) => {
                    if let Some(path) = &cli.kubeconfig {
                        helm.kubeconfig = Some(path.clone());
                    }
                    if let Some(path) = &cli.helm_binary {
                        helm.binary = path.clone();
                    }
                    if let Some(password) = &cli.helm_repository_password {
                        helm.repository_password = Some(password.clone());
                    }
                }
            }
        }
    }

    fn apply(&mut self, cli: &Cli) {
        self.apply_adapter_flags(cli);
        if let Some(listen) = cli.listen {
            self.server.listen = listen;
        }
        if let Some(site_root) = &cli.site_root {
            self.server.site_root.clone_from(site_root);
        }
        if let Some(url) = &cli.database_url {
            self.database.url = Some(url.clone());
        }
        if let Some(max) = cli.database_max_connections {
            self.database.max_connections = max;
        }
        if let Some(format) = cli.log_format {
            self.log.format = format;
        }
        if let Some(filter) = &cli.log {
            self.log.filter.clone_from(filter);
        }
        if let Some(subject) = &cli.bootstrap_admin {
            self.access.bootstrap_admin = Some(subject.clone());
        }
        if let Some(group) = &cli.bootstrap_admin_group {
            self.access.bootstrap_admin_group = Some(group.clone());
        }
        if let Some(days) = cli.audit_retention_days {
            self.audit.retention_days = Some(days);
        }
        if let Some(dir) = &cli.audit_archive_dir {
            self.audit.archive_dir.clone_from(dir);
        }
        if let Some(url) = &cli.public_url {
            self.server.public_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(issuer) = &cli.oidc_issuer {
            self.oidc.issuer = Some(issuer.clone());
        }
        if let Some(id) = &cli.oidc_client_id {
            self.oidc.client_id.clone_from(id);
        }
        if let Some(secret) = &cli.oidc_client_secret {
            self.oidc.client_secret = Some(secret.clone());
        }
        if cli.insecure_cookie {
            self.session.insecure_cookie = true;
        }
        if let Some(banner) = &cli.cluster_banner {
            self.ui.cluster_banner = Some(banner.clone());
        }
    }
}

/// The URL with any password replaced, for logs.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable URL>".to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => {
                format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
