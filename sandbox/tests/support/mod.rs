//! Shared fixtures: a sandbox with a kube client, and small object builders.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::path::Path;
use std::process::Command;

pub fn flux_crds() -> std::path::PathBuf {
    sandbox::vendored_crds()
}

pub async fn start(options: SandboxOptions) -> (Sandbox, Client) {
    let sandbox = Sandbox::start(options).await.unwrap();
    let mut config = Config::new(sandbox.url().parse().unwrap());
    config.default_namespace = "default".into();
    (sandbox, Client::try_from(config).unwrap())
}

pub fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({ "metadata": { "name": name, "labels": labels }, "data": { "k": "v" } }),
    )
    .unwrap()
}

pub fn api_error(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(response) => *response,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The helm under test, which must be installed.
pub fn helm_binary() -> std::path::PathBuf {
    let helm = testkit::helm::binary();
    assert!(
        helm.exists(),
        "helm is not installed at {}: run `cargo xtask setup` (or set PILOTHOUSE_HELM)",
        helm.display()
    );
    helm
}

/// Runs helm against the sandbox `kubeconfig` names, in `default`; its output, or a panic
/// with helm's error.
pub fn helm(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(helm_binary())
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--namespace", "default"])
        .env("HELM_CACHE_HOME", kubeconfig.with_file_name("helm-cache"))
        .env("HELM_CONFIG_HOME", kubeconfig.with_file_name("helm-config"))
        .env("HELM_DATA_HOME", kubeconfig.with_file_name("helm-data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
