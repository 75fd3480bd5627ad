//! The configuration file the Helm chart renders into its ConfigMap is one the server reads:
//! with the default values and with the full example, every section parses (unknown fields
//! are refused) and says what the values asked for.

use server::config::Config;
use std::path::Path;
use std::process::Command;

/// The `config.yaml` of the rendered ConfigMap, read as the server reads it.
fn rendered_config(args: &[&str]) -> Config {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let chart = deploy.join("helm/pilothouse");
    let out = Command::new(testkit::helm::binary())
        .args(["template", "demo"])
        .arg(&chart)
        .args([
            "--namespace",
            "ops",
            "--show-only",
            "templates/configmap.yaml",
        ])
        .args(args)
        .output()
        .expect("helm");
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let map: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).expect("a ConfigMap");
    let text = map["data"]["config.yaml"].as_str().expect("config.yaml");
    Config::from_yaml(text).unwrap_or_else(|e| panic!("the server refuses {text}: {e}"))
}

#[test]
fn the_charts_config_is_one_the_server_reads() {
    let config = rendered_config(&["--set", "oidc.issuer=https://login.example.com"]);
    assert_eq!(config.server.listen.port(), 8080);
    assert_eq!(
        config.oidc.issuer.as_deref(),
        Some("https://login.example.com")
    );
    assert_eq!(
        config.leader.namespace, "ops",
        "the Lease lives in the release's namespace"
    );
    assert_eq!(config.leader.lease_name, "demo-pilothouse-leader");
    assert!(
        config.server.drain_delay_seconds > 0,
        "readiness fails before the drain"
    );
    assert_eq!(
        config.server.metrics_listen.map(|a| a.port()),
        Some(9090),
        "metrics stay off the UI's port and so off its Ingress"
    );

    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/helm/full-values.yaml");
    let config = rendered_config(&["-f", full.to_str().expect("path")]);
    assert_eq!(config.audit.retention_days, Some(400));
}
