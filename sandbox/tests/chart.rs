//! Pilothouse's own Helm chart (`deploy/helm/pilothouse`): it lints, renders with the default
//! and the full example values, every rendered object matches the Kubernetes schema (the
//! generated k8s-openapi types) and passes a server-side dry-run, wrong values are refused by
//! `values.schema.json`, `helm install` creates the objects, and its ClusterRole grants
//! nothing beyond `deploy/rbac.yaml`.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod support;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{helm, helm_binary};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn chart() -> String {
    deploy()
        .join("helm/pilothouse")
        .to_string_lossy()
        .into_owned()
}

/// helm, offline and without a cluster (lint, template).
fn helm_offline(args: &[&str]) -> Output {
    Command::new(helm_binary()).args(args).output().unwrap()
}

/// `helm template` with `args`: the rendered objects, as JSON.
fn render(args: &[&str]) -> Vec<Value> {
    let chart = chart();
    let mut all = vec!["template", "demo", &chart, "--namespace", "pilothouse"];
    all.extend_from_slice(args);
    let out = helm_offline(&all);
    assert!(
        out.status.success(),
        "helm template {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&String::from_utf8(out.stdout).unwrap())
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|doc| {
            let value: Value = serde::Deserialize::deserialize(doc).unwrap();
            (!value.is_null()).then_some(value)
        })
        .collect()
}

/// Reads `object` as the typed Kubernetes object and back: a field the schema does not have
/// (a typo in a template) or of the wrong type fails here.
fn typed<T: DeserializeOwned + Serialize>(object: &Value) {
    let parsed: T = serde_json::from_value(object.clone()).unwrap_or_else(|e| {
        panic!(
            "{} {} does not match its schema: {e}",
            object["kind"], object["metadata"]["name"]
        )
    });
    let back = serde_json::to_value(&parsed).unwrap();
    let lost = missing(object, &back, String::new());
    assert!(
        lost.is_empty(),
        "{} {} has fields its schema does not: {lost:?}",
        object["kind"],
        object["metadata"]["name"]
    );
}

/// The paths in `sent` that `kept` lacks.
fn missing(sent: &Value, kept: &Value, at: String) -> Vec<String> {
    match (sent, kept) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .flat_map(|(k, v)| match b.get(k) {
                Some(w) => missing(v, w, format!("{at}.{k}")),
                None if v.is_null() => vec![],
                None => vec![format!("{at}.{k}")],
            })
            .collect(),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .flat_map(|(i, (v, w))| missing(v, w, format!("{at}[{i}]")))
            .collect(),
        _ => vec![],
    }
}

fn check_schema(object: &Value) {
    use k8s_openapi::api::{admissionregistration, apps, core, networking, policy, rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    match object["kind"].as_str().unwrap_or_default() {
        "Deployment" => typed::<apps::v1::Deployment>(object),
        "Service" => typed::<core::v1::Service>(object),
        "ServiceAccount" => typed::<core::v1::ServiceAccount>(object),
        "ConfigMap" => typed::<core::v1::ConfigMap>(object),
        "Ingress" => typed::<networking::v1::Ingress>(object),
        "NetworkPolicy" => typed::<networking::v1::NetworkPolicy>(object),
        "PodDisruptionBudget" => typed::<policy::v1::PodDisruptionBudget>(object),
        "ClusterRole" => typed::<rbac::v1::ClusterRole>(object),
        "ClusterRoleBinding" => typed::<rbac::v1::ClusterRoleBinding>(object),
        "Role" => typed::<rbac::v1::Role>(object),
        "RoleBinding" => typed::<rbac::v1::RoleBinding>(object),
        "CustomResourceDefinition" => typed::<CustomResourceDefinition>(object),
        "ValidatingAdmissionPolicy" => {
            typed::<admissionregistration::v1::ValidatingAdmissionPolicy>(object);
        }
        "ValidatingAdmissionPolicyBinding" => {
            typed::<admissionregistration::v1::ValidatingAdmissionPolicyBinding>(object);
        }
        other => panic!("the chart renders a {other}, which this test does not check yet"),
    }
}

/// The API path objects of this kind are created at (namespaced ones in `namespace`).
fn collection(object: &Value, namespace: &str) -> String {
    let api_version = object["apiVersion"].as_str().unwrap();
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    let (plural, namespaced) = match object["kind"].as_str().unwrap() {
        "Deployment" => ("deployments", true),
        "Service" => ("services", true),
        "ServiceAccount" => ("serviceaccounts", true),
        "ConfigMap" => ("configmaps", true),
        "Ingress" => ("ingresses", true),
        "NetworkPolicy" => ("networkpolicies", true),
        "PodDisruptionBudget" => ("poddisruptionbudgets", true),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "CustomResourceDefinition" => ("customresourcedefinitions", false),
        "ValidatingAdmissionPolicy" => ("validatingadmissionpolicies", false),
        "ValidatingAdmissionPolicyBinding" => ("validatingadmissionpolicybindings", false),
        other => panic!("no collection known for {other}"),
    };
    let ns = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or(namespace);
    if namespaced {
        format!("{base}/namespaces/{ns}/{plural}")
    } else {
        format!("{base}/{plural}")
    }
}

/// Every (apiGroup, resource, verb) a set of rules grants.
fn grants(rules: &Value) -> BTreeSet<(String, String, String)> {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for rule in rules.as_array().into_iter().flatten() {
        for group in list(&rule["apiGroups"]) {
            for resource in list(&rule["resources"]) {
                for verb in list(&rule["verbs"]) {
                    out.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    out
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

#[test]
fn the_chart_lints_and_refuses_wrong_values() {
    let out = helm_offline(&["lint", &chart(), "--strict"]);
    assert!(
        out.status.success(),
        "helm lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (set, field) in [
        ("replicaCount=two", "replicaCount"),
        ("service.type=Magic", "service.type"),
        ("log.format=xml", "log.format"),
        ("networkPolicy.egress.database.ports[0]=not-a-port", "ports"),
    ] {
        let out = helm_offline(&["template", "demo", &chart(), "--set", set]);
        let error = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{set} was accepted");
        assert!(
            error.contains("values don't meet the specifications of the schema")
                && error.contains(field.split('.').next_back().unwrap()),
            "{set}: {error}"
        );
    }
}

/// The chart names its roles after the release's full name (`demo-pilothouse` for release
/// `demo`) where deploy/rbac.yaml says `pilothouse`.
const RELEASE_FULL_NAME: &str = "demo-pilothouse";

#[test]
fn its_cluster_role_grants_nothing_beyond_deploy_rbac() {
    let deployed = documents(&std::fs::read_to_string(deploy().join("rbac.yaml")).unwrap());
    let rendered = render(&[]);
    for (kind, suffix) in [
        ("ClusterRole", ""),
        ("ClusterRole", "-tenant"),
        ("ClusterRole", "-flux-writer"),
        ("Role", "-flux-writers"),
        ("Role", "-flux-logs"),
        ("Role", "-leader"),
    ] {
        let name = format!("pilothouse{suffix}");
        let chart_rules =
            grants(&named(&rendered, kind, &format!("{RELEASE_FULL_NAME}{suffix}"))["rules"]);
        let deploy_rules = grants(&named(&deployed, kind, &name)["rules"]);
        let beyond: Vec<_> = chart_rules.difference(&deploy_rules).collect();
        assert!(
            beyond.is_empty(),
            "the chart's {kind} {name} grants more than deploy/rbac.yaml: {beyond:?}"
        );
        let short: Vec<_> = deploy_rules.difference(&chart_rules).collect();
        assert!(
            short.is_empty(),
            "the chart's {kind} {name} lacks what deploy/rbac.yaml grants: {short:?}"
        );
    }
    // Any role the chart adds is one deploy/rbac.yaml has.
    for object in &rendered {
        if let Some(kind @ ("ClusterRole" | "Role")) = object["kind"].as_str() {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            named(
                &deployed,
                kind,
                &name.replacen(RELEASE_FULL_NAME, "pilothouse", 1),
            );
        }
    }
}

/// `helm template` as release `release` in `namespace`.
fn render_release(release: &str, namespace: &str) -> Vec<Value> {
    let chart = chart();
    let out = helm_offline(&["template", release, &chart, "--namespace", namespace]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&String::from_utf8(out.stdout).unwrap())
}

/// Where an object lives: its kind, its namespace (none when cluster-scoped) and its name.
fn place(object: &Value) -> (String, Option<String>, String) {
    (
        object["kind"].as_str().unwrap_or_default().to_owned(),
        object["metadata"]["namespace"].as_str().map(str::to_owned),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn two_releases_in_one_cluster_share_no_object_name() {
    let production = render_release("pilothouse", "pilothouse");
    let staging = render_release("staging", "pilothouse-staging");
    let taken: BTreeSet<_> = production.iter().map(place).collect();
    let clashes: Vec<_> = staging
        .iter()
        .map(place)
        .filter(|p| taken.contains(p))
        .collect();
    assert!(clashes.is_empty(), "both releases render {clashes:?}");
    // The default release keeps the readable names deploy/rbac.yaml uses.
    named(&production, "ClusterRole", "pilothouse-tenant");
    // Each instance binds tenants to its own tenant role: the configuration names it.
    let binds = |objects: &[Value], role: &str| {
        let granted = &named(objects, "ClusterRole", role)["rules"];
        granted.as_array().into_iter().flatten().any(|rule| {
            rule["verbs"] == serde_json::json!(["bind"])
                && rule["resourceNames"].as_array().is_some_and(|names| {
                    names.iter().any(|n| {
                        n.as_str()
                            .is_some_and(|n| n.ends_with("-tenant") && n.starts_with(role))
                    })
                })
        })
    };
    assert!(binds(&staging, "staging-pilothouse"));
    let config = named(&staging, "ConfigMap", "staging-pilothouse")["data"]["config.yaml"]
        .as_str()
        .unwrap()
        .to_owned();
    let config: Value = serde_yaml::from_str(&config).unwrap();
    assert_eq!(config["tenancy"]["clusterRolePrefix"], "staging-pilothouse");
    named(&staging, "ClusterRole", "staging-pilothouse-tenant");
    named(&staging, "ClusterRole", "staging-pilothouse-flux-writer");
}

#[tokio::test]
async fn rendered_objects_match_their_schemas_and_install_into_a_cluster() {
    let defaults = render(&["--set", "oidc.issuer=https://login.example.com"]);
    let full_values = deploy().join("helm/full-values.yaml");
    let full = render(&["-f", full_values.to_str().unwrap()]);
    for object in defaults.iter().chain(&full) {
        check_schema(object);
    }

    // The default install is hardened and wired as the issue asks.
    let deployment = named(&defaults, "Deployment", "demo-pilothouse");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["startupProbe"].is_object());
    assert!(
        deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .as_str()
            .is_some_and(|c| c.len() == 64),
        "a config change rolls the pods"
    );
    let kinds: BTreeSet<&str> = full.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in [
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "CustomResourceDefinition",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ] {
        assert!(
            kinds.contains(kind),
            "the full example renders a {kind}: {kinds:?}"
        );
    }
    // The admission policy is opt-in, and holds tenant namespaces to the tenant account.
    assert!(
        !defaults
            .iter()
            .any(|o| o["kind"] == "ValidatingAdmissionPolicy"),
        "off by default"
    );
    let policy = named(
        &full,
        "ValidatingAdmissionPolicy",
        "demo-pilothouse-flux-tenancy",
    );
    let expressions: Vec<&str> = policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["expression"].as_str())
        .collect();
    for field in [
        "serviceAccountName",
        "kubeConfig",
        "targetNamespace",
        "storageNamespace",
        "sourceRef.namespace",
        "dependsOn",
    ] {
        assert!(
            expressions.iter().any(|e| e.contains(field)),
            "a validation for {field}: {expressions:?}"
        );
    }
    assert_eq!(
        policy["spec"]["variables"][1]["expression"], "[\"flux-system\"]",
        "the shared source namespaces"
    );
    let binding = named(
        &full,
        "ValidatingAdmissionPolicyBinding",
        "demo-pilothouse-flux-tenancy",
    );
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
    assert_eq!(
        binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][0]["key"],
        "pilothouse.dev/tenant"
    );
    let old = helm_offline(&[
        "template",
        "demo",
        &chart(),
        "--set",
        "admissionPolicy.enabled=true",
        "--kube-version",
        "1.29.0",
    ]);
    assert!(!old.status.success(), "refused before Kubernetes 1.30");
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("needs Kubernetes 1.30"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );
    let config = named(&full, "ConfigMap", "demo-pilothouse");
    let text = config["data"]["config.yaml"].as_str().unwrap();
    assert!(text.contains("retentionDays: 400"), "{text}");

    // Server-side dry-run of every object of both renders: the API server takes them and
    // keeps none.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chart");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let sandbox = sandbox::Sandbox::start(sandbox::SandboxOptions {
        kubeconfig: Some(kubeconfig.clone()),
        ..sandbox::SandboxOptions::default()
    })
    .await
    .unwrap();
    let client = kube::Client::try_from(kube::Config::new(sandbox.url().parse().unwrap())).unwrap();
    let post = |path: String, body: &Value| {
        http::Request::post(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .unwrap()
    };
    let namespace =
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "pilothouse" } });
    client
        .request_text(post("/api/v1/namespaces".into(), &namespace))
        .await
        .unwrap();
    for object in defaults.iter().chain(&full) {
        let path = collection(object, "pilothouse");
        let answer = client
            .request_text(post(
                format!("{path}?dryRun=All&fieldValidation=Strict"),
                object,
            ))
            .await;
        assert!(
            answer.is_ok(),
            "dry-run of {} {}: {answer:?}",
            object["kind"],
            object["metadata"]["name"]
        );
    }
    let get = |path: &str| http::Request::get(path).body(Vec::new()).unwrap();
    let kept: Value = client
        .request(get("/apis/apps/v1/namespaces/pilothouse/deployments"))
        .await
        .unwrap();
    assert_eq!(
        kept["items"].as_array().map(Vec::len),
        Some(0),
        "a dry-run stores nothing"
    );

    // A real install creates them.
    let chart = chart();
    let install = tokio::task::spawn_blocking(move || {
        helm(
            &kubeconfig,
            &[
                "install",
                "demo",
                &chart,
                "--set",
                "oidc.issuer=https://login.example.com",
            ],
        )
    });
    install.await.unwrap();
    for path in [
        "/apis/apps/v1/namespaces/default/deployments/demo-pilothouse",
        "/api/v1/namespaces/default/services/demo-pilothouse",
        "/api/v1/namespaces/default/configmaps/demo-pilothouse",
        "/api/v1/namespaces/default/serviceaccounts/pilothouse",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/demo-pilothouse",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/demo-pilothouse",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/demo-pilothouse-tenant",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/demo-pilothouse",
    ] {
        let got = client.request::<Value>(get(path)).await;
        assert!(got.is_ok(), "{path} after helm install: {got:?}");
    }
}

/// Whether the chart's admission policy admits `object`, evaluated as the API server would:
/// its variables in order, then every validation; the first that fails gives its message.
fn admits(policy: &Value, object: &Value) -> Result<(), String> {
    let mut context = cel::Context::default();
    context.add_variable("object", object.clone()).unwrap();
    let mut variables = serde_json::Map::new();
    for variable in policy["spec"]["variables"].as_array().unwrap() {
        context
            .add_variable("variables", Value::Object(variables.clone()))
            .unwrap();
        let program = cel::Program::compile(variable["expression"].as_str().unwrap()).unwrap();
        let value = program.execute(&context).unwrap().json().unwrap();
        variables.insert(variable["name"].as_str().unwrap().to_owned(), value);
    }
    context
        .add_variable("variables", Value::Object(variables))
        .unwrap();
    for validation in policy["spec"]["validations"].as_array().unwrap() {
        let expression = validation["expression"].as_str().unwrap();
        let program = cel::Program::compile(expression)
            .unwrap_or_else(|e| panic!("{expression} does not compile: {e}"));
        let verdict = program
            .execute(&context)
            .unwrap_or_else(|e| panic!("{expression} fails on {object}: {e}"));
        if verdict != cel::Value::Bool(true) {
            let message = match validation["messageExpression"].as_str() {
                Some(text) => cel::Program::compile(text)
                    .unwrap()
                    .execute(&context)
                    .unwrap()
                    .json()
                    .unwrap()
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                None => validation["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            return Err(message);
        }
    }
    Ok(())
}

#[test]
fn the_admission_policy_holds_tenant_flux_objects_to_the_lockdown() {
    let full_values = deploy().join("helm/full-values.yaml");
    let full = render(&["-f", full_values.to_str().unwrap()]);
    let policy = named(
        &full,
        "ValidatingAdmissionPolicy",
        "demo-pilothouse-flux-tenancy",
    );
    let release = |spec: Value| {
        let mut object = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": { "name": "web", "namespace": "team-a" },
            "spec": { "interval": "5m", "serviceAccountName": "pilothouse-tenant",
                      "chart": { "spec": { "chart": "web", "sourceRef": { "kind": "HelmRepository", "name": "charts" } } } } });
        json_patch::merge(&mut object["spec"], &spec);
        object
    };
    let kustomization = |spec: Value| {
        let mut object = json!({ "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": "apps", "namespace": "team-a" },
            "spec": { "interval": "5m", "path": "./", "prune": true, "serviceAccountName": "pilothouse-tenant",
                      "sourceRef": { "kind": "GitRepository", "name": "apps" } } });
        json_patch::merge(&mut object["spec"], &spec);
        object
    };
    for admitted in [
        release(json!({})),
        release(json!({ "chart": { "spec": { "sourceRef": { "namespace": "flux-system" } } } })),
        release(json!({ "targetNamespace": "team-a", "dependsOn": [{ "name": "db" }] })),
        kustomization(json!({})),
        kustomization(
            json!({ "sourceRef": { "namespace": "team-a" }, "dependsOn": [{ "name": "infra", "namespace": "team-a" }] }),
        ),
    ] {
        assert_eq!(admits(policy, &admitted), Ok(()), "{admitted}");
    }
    let mut no_account = kustomization(json!({}));
    no_account["spec"]
        .as_object_mut()
        .unwrap()
        .remove("serviceAccountName");
    for (refused, says) in [
        (
            no_account,
            "spec.serviceAccountName must be pilothouse-tenant",
        ),
        (
            release(json!({ "serviceAccountName": "default" })),
            "spec.serviceAccountName must be pilothouse-tenant",
        ),
        (
            kustomization(json!({ "kubeConfig": { "secretRef": { "name": "other" } } })),
            "spec.kubeConfig",
        ),
        (
            kustomization(json!({ "targetNamespace": "kube-system" })),
            "spec.targetNamespace",
        ),
        (
            release(json!({ "storageNamespace": "team-b" })),
            "spec.storageNamespace",
        ),
        (
            kustomization(json!({ "sourceRef": { "namespace": "team-b" } })),
            "spec.sourceRef.namespace",
        ),
        (
            release(json!({ "chart": { "spec": { "sourceRef": { "namespace": "team-b" } } } })),
            "spec.chart.spec.sourceRef.namespace",
        ),
        (
            release(
                json!({ "chartRef": { "kind": "OCIRepository", "name": "web", "namespace": "team-b" } }),
            ),
            "spec.chartRef.namespace",
        ),
        (
            kustomization(
                json!({ "dependsOn": [{ "name": "ok" }, { "name": "analytics", "namespace": "team-b" }] }),
            ),
            "spec.dependsOn",
        ),
    ] {
        let verdict = admits(policy, &refused);
        assert!(
            verdict.as_ref().is_err_and(|m| m.contains(says)),
            "{refused}: {verdict:?}"
        );
    }
}
