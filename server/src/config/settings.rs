//! Every setting, written once: its YAML key, the flag and environment variable that
//! override it, its default and meaning. The flags are built from this table, the overrides
//! are applied to the file's YAML by key, and docs/configuration.md's table is generated
//! from it (a test fails when they differ).

use clap::{Arg, ArgAction, ArgMatches};
use serde_yaml::{Mapping, Value};

/// How a setting's flag and environment variable are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text (addresses, paths and names included), shown in help as this placeholder.
    Text(&'static str),
    /// Text whose value is never shown (help hides the environment's value).
    Secret(&'static str),
    /// A whole number.
    Number(&'static str),
    /// A flag without a value: present (or the variable true) turns the setting on.
    Switch,
    /// Only the YAML file sets it.
    FileOnly,
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The YAML key, dotted (`server.listen`).
    pub key: &'static str,
    /// The flag without its dashes; the environment variable is `PILOTHOUSE_` and the flag
    /// in upper case.
    pub flag: Option<&'static str>,
    /// How the flag's value is read.
    pub kind: Kind,
    /// The default, as the table shows it.
    pub default: &'static str,
    /// What it does, as the table shows it.
    pub meaning: &'static str,
    /// A valid YAML value, for the test that every key is one the configuration reads.
    pub sample: &'static str,
    /// With `plugins.dms`, the adapter types whose `config` the flag sets instead.
    pub adapters: &'static [&'static str],
}

impl Setting {
    /// The environment variable that overrides it.
    pub fn env(&self) -> Option<String> {
        self.flag
            .map(|flag| format!("PILOTHOUSE_{}", flag.to_uppercase().replace('-', "_")))
    }
}

/// The environment variable naming the configuration file (the flag is `--config`).
pub const CONFIG_ENV: &str = "PILOTHOUSE_CONFIG";

/// Every setting, in the order the table lists them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "server.listen",
        flag: Some("listen"),
        kind: Kind::Text("ADDR"),
        default: "`127.0.0.1:3000`",
        meaning: "address and port to serve HTTP on",
        sample: "\"127.0.0.1:3001\"",
        adapters: &[],
    },
    Setting {
        key: "server.siteRoot",
        flag: Some("site-root"),
        kind: Kind::Text("DIR"),
        default: "`target/site`",
        meaning: "directory with `pkg/` (wasm bundle, JS, CSS)",
        sample: "\"site\"",
        adapters: &[],
    },
    Setting {
        key: "database.url",
        flag: Some("database-url"),
        kind: Kind::Secret("URL"),
        default: "none (required)",
        meaning: "Postgres URL; its password is never logged",
        sample: "\"postgres://db/ph\"",
        adapters: &[],
    },
    Setting {
        key: "database.maxConnections",
        flag: Some("database-max-connections"),
        kind: Kind::Number("N"),
        default: "`10`",
        meaning: "pool size",
        sample: "4",
        adapters: &[],
    },
    Setting {
        key: "log.format",
        flag: Some("log-format"),
        kind: Kind::Text("pretty|json"),
        default: "`pretty`",
        meaning: "`pretty` for people, `json` for log pipelines",
        sample: "json",
        adapters: &[],
    },
    Setting {
        key: "log.filter",
        flag: Some("log"),
        kind: Kind::Text("FILTER"),
        default: "`info,sqlx=warn`",
        meaning: "tracing EnvFilter, e.g. `info,server=debug`; `RUST_LOG` wins when set",
        sample: "debug",
        adapters: &[],
    },
    Setting {
        key: "server.publicUrl",
        flag: Some("public-url"),
        kind: Kind::Text("URL"),
        default: "`http://127.0.0.1:3000`",
        meaning: "the URL users reach Pilothouse at; redirect URIs (`/auth/callback`, `/auth/signed-out`) and the CSRF origin check derive from it",
        sample: "\"https://ph.example\"",
        adapters: &[],
    },
    Setting {
        key: "oidc.issuer",
        flag: Some("oidc-issuer"),
        kind: Kind::Text("URL"),
        default: "none (required to serve)",
        meaning: "the OpenID provider; discovered on first sign-in",
        sample: "\"https://idp.example\"",
        adapters: &[],
    },
    Setting {
        key: "oidc.clientId",
        flag: Some("oidc-client-id"),
        kind: Kind::Text("ID"),
        default: "`pilothouse`",
        meaning: "OAuth client id",
        sample: "ph",
        adapters: &[],
    },
    Setting {
        key: "oidc.clientSecret",
        flag: Some("oidc-client-secret"),
        kind: Kind::Secret("SECRET"),
        default: "none",
        meaning: "OAuth client secret; never logged",
        sample: "s3cret",
        adapters: &[],
    },
    Setting {
        key: "oidc.scopes",
        flag: None,
        kind: Kind::FileOnly,
        default: "`[openid, email, profile, groups]`",
        meaning: "scopes asked for at sign-in",
        sample: "[openid]",
        adapters: &[],
    },
    Setting {
        key: "oidc.groupsClaim",
        flag: None,
        kind: Kind::FileOnly,
        default: "`groups`",
        meaning: "the claim holding the user's groups (ID token, userinfo, bearer tokens)",
        sample: "roles",
        adapters: &[],
    },
    Setting {
        key: "oidc.userinfo",
        flag: None,
        kind: Kind::FileOnly,
        default: "`false`",
        meaning: "also read email, name and groups from the userinfo endpoint",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "oidc.audience",
        flag: None,
        kind: Kind::FileOnly,
        default: "the client id",
        meaning: "the `aud` bearer tokens must carry",
        sample: "api",
        adapters: &[],
    },
    Setting {
        key: "session.insecureCookie",
        flag: Some("insecure-cookie"),
        kind: Kind::Switch,
        default: "`false`",
        meaning: "drop `Secure` from the session cookie (only for plain-HTTP demos)",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "session.idleTimeoutMinutes",
        flag: None,
        kind: Kind::FileOnly,
        default: "`60`",
        meaning: "sign out after this long without a request",
        sample: "30",
        adapters: &[],
    },
    Setting {
        key: "session.absoluteTimeoutHours",
        flag: None,
        kind: Kind::FileOnly,
        default: "`12`",
        meaning: "sign out this long after sign-in, active or not",
        sample: "8",
        adapters: &[],
    },
    Setting {
        key: "access.bootstrapAdmin",
        flag: Some("bootstrap-admin"),
        kind: Kind::Text("SUBJECT"),
        default: "none",
        meaning: "OIDC subject made platform-admin at start-up (audited, idempotent)",
        sample: "admin",
        adapters: &[],
    },
    Setting {
        key: "access.bootstrapAdminGroup",
        flag: Some("bootstrap-admin-group"),
        kind: Kind::Text("GROUP"),
        default: "none",
        meaning: "OIDC group made platform-admin at start-up",
        sample: "admins",
        adapters: &[],
    },
    Setting {
        key: "audit.retentionDays",
        flag: Some("audit-retention-days"),
        kind: Kind::Number("DAYS"),
        default: "none (keep all)",
        meaning: "once a day, archive audit rows older than this",
        sample: "90",
        adapters: &[],
    },
    Setting {
        key: "audit.archiveDir",
        flag: Some("audit-archive-dir"),
        kind: Kind::Text("DIR"),
        default: "`audit-archive`",
        meaning: "where archives (JSON Lines) are written",
        sample: "/archive",
        adapters: &[],
    },
    Setting {
        key: "ui.clusterBanner",
        flag: Some("cluster-banner"),
        kind: Kind::Text("TEXT"),
        default: "none",
        meaning: "a banner above every page (the demo uses it to say the cluster is the sandbox)",
        sample: "Staging",
        adapters: &[],
    },
    Setting {
        key: "ui.links",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "links to other tools on each deployment's page: `title`, `url` (`https://` or `http://`, with `{{cluster}}`, `{{namespace}}`, `{{name}}`, `{{kind}}`, `{{label:KEY}}`, each value URL-encoded), and optionally `kinds` and `labels` it is for; checked at start",
        sample: "[{title: Grafana, url: 'https://grafana.example/d/app?var-namespace={{namespace}}&var-app={{name}}'}]",
        adapters: &[],
    },
    Setting {
        key: "flux.kubeconfig",
        flag: Some("kubeconfig"),
        kind: Kind::Text("FILE"),
        default: "none",
        meaning: "kubeconfig for both adapters; without one `KUBECONFIG` or the in-cluster service account is used, and with none of them deployments are unavailable",
        sample: "/kubeconfig",
        adapters: &["flux", "helm"],
    },
    Setting {
        key: "flux.namespace",
        flag: None,
        kind: Kind::FileOnly,
        default: "`flux-system`",
        meaning: "where the Flux controllers run (their logs are read there)",
        sample: "gitops",
        adapters: &[],
    },
    Setting {
        key: "flux.sourceNamespace",
        flag: None,
        kind: Kind::FileOnly,
        default: "the deployment's namespace",
        meaning: "namespace of sources named without one (Flux's multi-tenancy lockdown refuses cross-namespace refs, hence the default)",
        sample: "flux-system",
        adapters: &[],
    },
    Setting {
        key: "flux.reconcileTimeout",
        flag: None,
        kind: Kind::FileOnly,
        default: "`10m`",
        meaning: "how long a reconcile waits for the controller's outcome",
        sample: "2m",
        adapters: &[],
    },
    Setting {
        key: "flux.interval",
        flag: None,
        kind: Kind::FileOnly,
        default: "`5m`",
        meaning: "`spec.interval` of objects Pilothouse creates",
        sample: "10m",
        adapters: &[],
    },
    Setting {
        key: "flux.suspend",
        flag: None,
        kind: Kind::FileOnly,
        default: "`false`",
        meaning: "create objects suspended",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "flux.prune",
        flag: None,
        kind: Kind::FileOnly,
        default: "`true`",
        meaning: "`spec.prune` of Kustomizations Pilothouse creates",
        sample: "false",
        adapters: &[],
    },
    Setting {
        key: "flux.force",
        flag: None,
        kind: Kind::FileOnly,
        default: "`false`",
        meaning: "`spec.force` (Kustomization) / `spec.upgrade.force` (HelmRelease)",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "flux.targetNamespace",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "`spec.targetNamespace` when a request names none",
        sample: "apps",
        adapters: &[],
    },
    Setting {
        key: "flux.sharedSourceNamespaces",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "namespaces whose sources every tenant may reference (read-only for tenants: only platform-admins reconcile, suspend or pin them); conflicts with controllers locked down with `--no-cross-namespace-refs` (see [tenants in the cluster](access.md#tenants-in-the-cluster))",
        sample: "[shared]",
        adapters: &[],
    },
    Setting {
        key: "flux.requireControllerLockdown",
        flag: None,
        kind: Kind::FileOnly,
        default: "`false`",
        meaning: "`/readyz` fails while the Flux controllers in `flux.namespace` run without Flux's multi-tenancy lockdown flags; refused together with `flux.sharedSourceNamespaces`",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "flux.suspendedWarnAfter",
        flag: None,
        kind: Kind::FileOnly,
        default: "`168h`",
        meaning: "the Flux check (Admin → Flux, `GET /o2dms/v1/flux/check`) lists objects suspended for longer than this",
        sample: "24h",
        adapters: &[],
    },
    Setting {
        key: "helm.binary",
        flag: Some("helm-binary"),
        kind: Kind::Text("FILE"),
        default: "`helm`",
        meaning: "the helm binary (3.14 or later; `cargo xtask setup` installs 4.1.4)",
        sample: "/usr/bin/helm",
        adapters: &["helm"],
    },
    Setting {
        key: "helm.kubeconfig",
        flag: None,
        kind: Kind::FileOnly,
        default: "`flux.kubeconfig`",
        meaning: "kubeconfig helm uses",
        sample: "/k",
        adapters: &[],
    },
    Setting {
        key: "helm.namespace",
        flag: None,
        kind: Kind::FileOnly,
        default: "`default`",
        meaning: "namespace for releases that name none",
        sample: "apps",
        adapters: &[],
    },
    Setting {
        key: "helm.repositoryUrl",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "chart repository (`https://…` index, or `oci://…`) that `helm.chart` names charts in",
        sample: "\"https://charts.example\"",
        adapters: &[],
    },
    Setting {
        key: "helm.repositoryUsername",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "its user name",
        sample: "ci",
        adapters: &[],
    },
    Setting {
        key: "helm.repositoryPassword",
        flag: Some("helm-repository-password"),
        kind: Kind::Secret("TEXT"),
        default: "none",
        meaning: "its password: written only to a private Helm home (mode 0600), never to argv or logs",
        sample: "pw",
        adapters: &["helm"],
    },
    Setting {
        key: "helm.timeout",
        flag: None,
        kind: Kind::FileOnly,
        default: "`10m`",
        meaning: "install, upgrade, rollback and uninstall wait (and roll back on failure) within this",
        sample: "5m",
        adapters: &[],
    },
    Setting {
        key: "helm.maxHistory",
        flag: None,
        kind: Kind::FileOnly,
        default: "`10`",
        meaning: "revisions kept per release",
        sample: "5",
        adapters: &[],
    },
    Setting {
        key: "helm.debug",
        flag: None,
        kind: Kind::FileOnly,
        default: "`false`",
        meaning: "helm's verbose output in the server log (debug level)",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "helm.maxPackageBytes",
        flag: None,
        kind: Kind::FileOnly,
        default: "`10485760` (10 MiB)",
        meaning: "the largest chart archive an upload may be; it can be lowered, not raised above 10 MiB (the request body limit)",
        sample: "1048576",
        adapters: &[],
    },
    Setting {
        key: "helm.allowedRegistries",
        flag: None,
        kind: Kind::FileOnly,
        default: "none (any public host)",
        meaning: "the only registries an `oci://` chart, or a Flux HelmRepository rendered for a preview, may come from (`host`, `host:port`, `*.domain`); listing an internal host is how to allow one (also when its name resolves to an internal address)",
        sample: "[ghcr.io]",
        adapters: &[],
    },
    Setting {
        key: "helm.plainHttpRegistries",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "registries helm reaches over plain HTTP (`--plain-http`, or an `http://` HelmRepository); every other one is HTTPS",
        sample: "[\"registry:5000\"]",
        adapters: &[],
    },
    Setting {
        key: "plugins.dms",
        flag: None,
        kind: Kind::FileOnly,
        default: "the `flux` and `helm` sections as adapters `flux` (default) and `helm`",
        meaning: "the adapter registry of reference 001: a list of `name`, `type` (`flux` or `helm`), `enabled` (default `true`), `default` and `config` (that type's settings above, without the prefix); see [the adapter registry](adapters.md#the-adapter-registry)",
        sample: "[]",
        adapters: &[],
    },
    Setting {
        key: "server.tls.cert",
        flag: None,
        kind: Kind::FileOnly,
        default: "none (plain HTTP)",
        meaning: "PEM certificate chain: Pilothouse serves HTTPS itself (rustls)",
        sample: "/tls.crt",
        adapters: &[],
    },
    Setting {
        key: "server.tls.key",
        flag: None,
        kind: Kind::FileOnly,
        default: "none (plain HTTP)",
        meaning: "PEM key of that certificate",
        sample: "/tls.key",
        adapters: &[],
    },
    Setting {
        key: "server.tls.clientCa",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "PEM authorities whose client certificates sign callers in (as `x509:<CA>/<CN>`, groups `x509:<CA>/<O>`)",
        sample: "/ca.crt",
        adapters: &[],
    },
    Setting {
        key: "server.tls.requireClientCert",
        flag: None,
        kind: Kind::FileOnly,
        default: "`false`",
        meaning: "with `clientCa`, refuse connections that offer no certificate (otherwise they sign in as usual)",
        sample: "true",
        adapters: &[],
    },
    Setting {
        key: "tokens.maxLifetimeDays",
        flag: None,
        kind: Kind::FileOnly,
        default: "`90`",
        meaning: "the longest lifetime an API token may have (and the default)",
        sample: "30",
        adapters: &[],
    },
    Setting {
        key: "tokens.maxLivePerUser",
        flag: None,
        kind: Kind::FileOnly,
        default: "`20`",
        meaning: "live (unrevoked, unexpired) API tokens one user or service principal may hold; the next is refused with 409",
        sample: "5",
        adapters: &[],
    },
    Setting {
        key: "tenancy.namespace",
        flag: None,
        kind: Kind::FileOnly,
        default: "`pilothouse`",
        meaning: "Pilothouse's own namespace: the Flux writer accounts live there (the chart sets the release's)",
        sample: "ph",
        adapters: &[],
    },
    Setting {
        key: "tenancy.clusterRolePrefix",
        flag: None,
        kind: Kind::FileOnly,
        default: "`pilothouse`",
        meaning: "Pilothouse's ClusterRoles are this, `<prefix>-tenant` (what tenant content is applied as) and `<prefix>-flux-writer`; the chart sets its release's full name, so two installs in one cluster do not collide",
        sample: "staging-pilothouse",
        adapters: &[],
    },
    Setting {
        key: "tenancy.reservedNamespaces",
        flag: None,
        kind: Kind::FileOnly,
        default: "none",
        meaning: "namespaces no tenant may be given, besides `kube-system`, `kube-public`, `kube-node-lease`, `tenancy.namespace` and every Flux adapter's `flux.namespace` (all refused with 422)",
        sample: "[infra]",
        adapters: &[],
    },
    Setting {
        key: "limits.changesPerMinute",
        flag: None,
        kind: Kind::FileOnly,
        default: "`120`",
        meaning: "per person (a user's API tokens share the user's budgets): changes (creates, updates, scale, rollback, administration, tokens) a minute, with bursts up to that many; more get 429 with `Retry-After`",
        sample: "60",
        adapters: &[],
    },
    Setting {
        key: "limits.expensiveReadsPerMinute",
        flag: None,
        kind: Kind::FileOnly,
        default: "`20`",
        meaning: "per person: audit exports, controller-log reads and values previews a minute",
        sample: "10",
        adapters: &[],
    },
    Setting {
        key: "server.metricsListen",
        flag: None,
        kind: Kind::FileOnly,
        default: "none (on `server.listen`, for platform-admins only)",
        meaning: "serve `/metrics` on this address instead, plain HTTP without sign-in (keep it off the public network: the chart's NetworkPolicy does)",
        sample: "\"127.0.0.1:9090\"",
        adapters: &[],
    },
    Setting {
        key: "server.drainDelaySeconds",
        flag: None,
        kind: Kind::FileOnly,
        default: "`0` (the chart sets `5`)",
        meaning: "at shutdown, how long `/readyz` fails before the listener closes",
        sample: "5",
        adapters: &[],
    },
    Setting {
        key: "server.drainTimeoutSeconds",
        flag: None,
        kind: Kind::FileOnly,
        default: "`30`",
        meaning: "at shutdown, how long in-flight requests may take",
        sample: "10",
        adapters: &[],
    },
    Setting {
        key: "leader.namespace",
        flag: None,
        kind: Kind::FileOnly,
        default: "`pilothouse`",
        meaning: "namespace of the leader Lease (the chart sets the release's)",
        sample: "ph",
        adapters: &[],
    },
    Setting {
        key: "leader.leaseName",
        flag: None,
        kind: Kind::FileOnly,
        default: "`pilothouse-leader`",
        meaning: "the Lease's name",
        sample: "lead",
        adapters: &[],
    },
    Setting {
        key: "leader.identity",
        flag: None,
        kind: Kind::FileOnly,
        default: "`POD_NAME` (else the host name) and a random suffix",
        meaning: "this replica's identity in the Lease",
        sample: "one",
        adapters: &[],
    },
    Setting {
        key: "leader.leaseDurationSeconds",
        flag: None,
        kind: Kind::FileOnly,
        default: "`15`",
        meaning: "how long an unrenewed Lease stays with its holder; renewals come five times as often",
        sample: "20",
        adapters: &[],
    },
];

/// The flags of every setting that has one, each also reading its environment variable.
pub fn args() -> Vec<Arg> {
    SETTINGS
        .iter()
        .filter_map(|setting| {
            let (flag, env) = (setting.flag?, setting.env()?);
            let help = format!("{} ({})", plain(setting.meaning), setting.key);
            let arg = Arg::new(flag).long(flag).env(env).help(help);
            Some(match setting.kind {
                Kind::Switch => arg.action(ArgAction::SetTrue),
                Kind::Secret(name) => arg.value_name(name).hide_env_values(true),
                Kind::Text(name) | Kind::Number(name) => arg.value_name(name),
                Kind::FileOnly => return None,
            })
        })
        .collect()
}

/// The settings the flags and environment gave, with their values as text.
pub fn overrides(matches: &ArgMatches) -> Vec<(&'static Setting, String)> {
    SETTINGS
        .iter()
        .filter_map(|setting| {
            let flag = setting.flag?;
            match setting.kind {
                Kind::Switch => matches.get_flag(flag).then(|| (setting, "true".to_owned())),
                Kind::FileOnly => None,
                _ => matches
                    .get_one::<String>(flag)
                    .map(|value| (setting, value.clone())),
            }
        })
        .collect()
}

/// Writes each override into the configuration's YAML, by key: the file's own value is
/// replaced. A flag for adapters goes, with `plugins.dms`, into each adapter of its types.
pub fn apply(root: &mut Value, overrides: &[(&'static Setting, String)]) -> Result<(), String> {
    for (setting, text) in overrides {
        let value =
            match setting.kind {
                Kind::Number(_) => text.trim().parse::<u64>().map(Value::from).map_err(|_| {
                    format!("{}: {text:?} is not a whole number", describe(setting))
                })?,
                Kind::Switch => Value::Bool(true),
                _ => Value::String(text.clone()),
            };
        let adapters = plugin_configs(root, setting.adapters);
        if adapters.is_empty() {
            set(root, setting.key, value);
        } else {
            let field = setting.key.rsplit('.').next().unwrap_or(setting.key);
            for config in adapters {
                set(config, field, value.clone());
            }
        }
    }
    Ok(())
}

/// `--flag` / `PILOTHOUSE_FLAG`, for messages.
pub fn describe(setting: &Setting) -> String {
    match (setting.flag, setting.env()) {
        (Some(flag), Some(env)) => format!("--{flag} / {env}"),
        _ => setting.key.to_owned(),
    }
}

/// The `config` mappings of the `plugins.dms` entries of `types` (none without `plugins.dms`).
fn plugin_configs<'a>(root: &'a mut Value, types: &[&str]) -> Vec<&'a mut Value> {
    if types.is_empty() {
        return Vec::new();
    }
    let Some(Value::Sequence(plugins)) = root.get_mut("plugins").and_then(|p| p.get_mut("dms"))
    else {
        return Vec::new();
    };
    plugins
        .iter_mut()
        .filter(|plugin| {
            plugin
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| types.contains(&t))
        })
        .filter_map(|plugin| {
            let Value::Mapping(entry) = plugin else {
                return None;
            };
            Some(
                entry
                    .entry(Value::from("config"))
                    .or_insert_with(|| Value::Mapping(Mapping::new())),
            )
        })
        .collect()
}

/// Sets the dotted `key` in `root`, making the mappings on the way.
pub(super) fn set(root: &mut Value, key: &str, value: Value) {
    let mut node = root;
    for part in key.split('.') {
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(map) = node else {
            return;
        };
        node = map
            .entry(Value::from(part))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
    }
    *node = value;
}

/// Markdown without its backticks, for `--help`.
fn plain(text: &str) -> String {
    text.replace('`', "")
}

/// The configuration table as Markdown, for docs/configuration.md.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| YAML key | environment variable | flag | default | meaning |\n|---|---|---|---|---|\n",
    );
    out.push_str(&format!(
        "| — | `{CONFIG_ENV}` | `--config`, `-c` | none | the YAML file to read |\n"
    ));
    for setting in SETTINGS {
        let (env, flag) = match (setting.env(), setting.flag) {
            (Some(env), Some(flag)) => (format!("`{env}`"), format!("`--{flag}`")),
            _ => ("—".to_owned(), "—".to_owned()),
        };
        out.push_str(&format!(
            "| `{}` | {env} | {flag} | {} | {} |\n",
            setting.key, setting.default, setting.meaning
        ));
    }
    out
}
