//! Logging through `tracing`: pretty for people, JSON for machines.

use crate::config::{LogConfig, LogFormat};
use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// kube's HTTP layer logs an ERROR for every failed request: hundreds a second while an API
/// server restarts, beside the one warning (and the one line when it is back) each watch
/// cache writes. Every caller gets the error anyway, so those lines are off unless the
/// filter names `kube_client` itself.
const QUIET_KUBE_CLIENT: &str = "kube_client::client::builder=off";

/// The filter for `directives` (`RUST_LOG` or `log.filter`), with kube's per-request error
/// lines off unless the directives say something about `kube_client`.
pub fn filter(directives: &str) -> anyhow::Result<EnvFilter> {
    let mut filter = EnvFilter::try_new(directives).context("invalid log filter")?;
    if !directives.contains("kube_client") {
        filter = filter.add_directive(QUIET_KUBE_CLIENT.parse().context("invalid log filter")?);
    }
    Ok(filter)
}

/// Installs the global subscriber; `RUST_LOG` wins over the configured filter when set.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => filter(&from_env),
        _ => filter(&config.filter),
    }?;
    // Logs go to stderr so that command output on stdout stays machine-readable.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    result.map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubes_per_request_errors_are_off_unless_asked_for() {
        let quiet = filter("info,sqlx=warn").unwrap().to_string();
        assert!(quiet.contains(QUIET_KUBE_CLIENT), "{quiet}");
        let asked = filter("info,kube_client=debug").unwrap().to_string();
        assert!(
            !asked.contains("kube_client::client::builder=off"),
            "{asked}"
        );
        assert!(filter("info,[").is_err());
    }
}
