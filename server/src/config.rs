//! Configuration: a YAML file, overridden by `PILOTHOUSE_*` environment variables, overridden
//! by flags. The settings are written once, in [`settings::SETTINGS`]; docs/configuration.md
//! shows that table.

use anyhow::Context;
use clap::Parser;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod settings;

use settings::Setting;

/// Command-line flags: `--config` and the command here, one flag per setting from
/// [`settings::SETTINGS`] (each also reading its `PILOTHOUSE_*` variable).
#[derive(Debug, Default, Parser)]
#[command(
    name = "pilothouse",
    version,
    about = "Pilothouse: a web control plane for Flux CD and Helm"
)]
pub struct Cli {
    /// YAML configuration file; without one, built-in defaults apply.
    #[arg(long, short = 'c', env = settings::CONFIG_ENV, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The settings the flags and environment gave, over the file's.
    #[arg(skip)]
    pub overrides: Vec<(&'static Setting, String)>,
    /// What to do; without a command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The command line with every setting's flag.
    pub fn command_with_settings() -> clap::Command {
        <Self as clap::CommandFactory>::command().args(settings::args())
    }

    /// Reads `args` (the program name first) and the environment.
    pub fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command_with_settings().try_get_matches_from(args)?;
        let mut cli = <Self as clap::FromArgMatches>::from_arg_matches(&matches)?;
        cli.overrides = settings::overrides(&matches);
        Ok(cli)
    }

    /// Reads the process's arguments and environment; exits with clap's message on errors.
    pub fn from_args() -> Self {
        Self::try_from_args(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }
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
    /// Pilothouse's ClusterRoles are `<prefix>`, `<prefix>-tenant` and `<prefix>-flux-writer`;
    /// the chart sets its release's full name, so two installs in one cluster do not collide.
    pub cluster_role_prefix: String,
}

impl Default for TenancyConfig {
    fn default() -> Self {
        Self {
            namespace: control::adapters::identity::DEFAULT_HOME_NAMESPACE.into(),
            reserved_namespaces: Vec::new(),
            cluster_role_prefix: "pilothouse".into(),
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
    /// Links to other tools on each deployment's page (URL templates, checked when read).
    pub links: Vec<control::links::LinkTemplate>,
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
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq)]
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
        let text = match &cli.config {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read configuration file {}", path.display()))?,
            None => String::new(),
        };
        let file = Self::from_yaml(&text).with_context(|| match &cli.config {
            Some(path) => format!("invalid configuration file {}", path.display()),
            None => "invalid configuration".to_owned(),
        })?;
        if cli.overrides.is_empty() {
            return Ok(file.normalized());
        }
        let mut root: serde_yaml::Value = if text.trim().is_empty() {
            serde_yaml::Value::Mapping(Default::default())
        } else {
            serde_yaml::from_str(&text)?
        };
        settings::apply(&mut root, &cli.overrides).map_err(anyhow::Error::msg)?;
        let config: Self = serde_yaml::from_value(root).with_context(|| {
            let given: Vec<String> = cli
                .overrides
                .iter()
                .map(|(setting, _)| settings::describe(setting))
                .collect();
            format!("invalid setting among {}", given.join(", "))
        })?;
        Ok(config.normalized())
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

    /// What an uploaded chart archive may be: the Helm adapter's `maxPackageBytes` (the first
    /// Helm adapter's, with `plugins.dms`), never more than the default 10 MiB, which the
    /// request body limit is sized for.
    pub fn package_limits(&self) -> model::source::PackageLimits {
        let defaults = model::source::PackageLimits::default();
        let configured = self
            .plugins()
            .unwrap_or_default()
            .into_iter()
            .find_map(|plugin| match plugin.settings {
                control::adapters::plugins::PluginSettings::Helm(helm) => {
                    Some(helm.max_package_bytes)
                }
                control::adapters::plugins::PluginSettings::Flux(_) => None,
            });
        model::source::PackageLimits {
            archive_bytes: configured.map_or(defaults.archive_bytes, |bytes| {
                bytes.min(defaults.archive_bytes)
            }),
            ..defaults
        }
    }

    /// The public URL without a trailing slash, however it was given.
    fn normalized(mut self) -> Self {
        let trimmed = self.server.public_url.trim_end_matches('/').len();
        self.server.public_url.truncate(trimmed);
        self
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
