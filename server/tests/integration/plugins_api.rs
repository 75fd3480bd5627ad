//! The adapter registry (`plugins.dms`): two Helm adapters with different repository
//! settings beside a Flux adapter and a disabled one, reported by `GET /o2dms/v1/plugins`,
//! creates routed by the adapter they name or to the default, and every release listed once.

use crate::charts;
use crate::support::TestEnv;
use axum::http::StatusCode;
use control::adapters::plugins::{PluginConfig, PluginSettings};
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The sandbox's `flux` and `helm` sections turned into four `plugins.dms` entries.
fn registry(config: &mut server::config::Config) {
    let flux = std::mem::take(&mut config.flux);
    let helm = std::mem::take(&mut config.helm);
    let partner = control::adapters::helm::HelmConfig {
        kubeconfig: flux.kubeconfig.clone(),
        repository_url: Some("https://charts.partner.example".into()),
        repository_username: Some("partner".into()),
        repository_password: Some("partner-secret".into()),
        ..helm.clone()
    };
    let internal = control::adapters::helm::HelmConfig {
        kubeconfig: flux.kubeconfig.clone(),
        ..helm.clone()
    };
    let entry = |name: &str, enabled: bool, default: bool, settings| PluginConfig {
        name: name.into(),
        enabled,
        default,
        settings,
    };
    config.plugins.dms = vec![
        entry("flux-main", true, false, PluginSettings::Flux(flux)),
        entry("helm-internal", true, true, PluginSettings::Helm(internal)),
        entry(
            "helm-partner",
            true,
            false,
            PluginSettings::Helm(partner.clone()),
        ),
        entry("helm-off", false, false, PluginSettings::Helm(partner)),
    ];
}

#[tokio::test]
async fn the_registry_reports_routes_and_lists_once() {
    let env = TestEnv::start_with_cluster_and("plugins-api", registry).await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");

    let answer = env.get_bearer("/o2dms/v1/plugins", &alice).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let plugins = parse(&answer.body);
    let by_name = |name: &str| -> Value {
        plugins
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from {plugins}"))
    };
    let flux = by_name("flux-main");
    assert_eq!(flux["type"], "flux");
    assert_eq!(flux["kinds"], json!(["HelmRelease", "Kustomization"]));
    assert!(
        flux["capabilities"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("reconcile")) && c.contains(&json!("rollback"))),
        "{flux}"
    );
    assert_eq!(flux["health"]["cacheSynced"], true, "{flux}");
    assert_eq!(flux["health"]["healthy"], true, "{flux}");
    assert!(
        flux["version"]
            .as_str()
            .is_some_and(|v| v.contains("helm.toolkit.fluxcd.io/v2")),
        "{flux}"
    );
    let internal = by_name("helm-internal");
    assert_eq!(internal["default"], true);
    assert_eq!(internal["kinds"], json!(["Release"]));
    assert!(
        internal["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("helm v")),
        "{internal}"
    );
    assert!(
        internal["capabilities"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("packages"))),
        "{internal}"
    );
    assert_eq!(by_name("helm-partner")["health"]["healthy"], true);
    let off = by_name("helm-off");
    assert_eq!(off["enabled"], false);
    assert_eq!(
        off["health"],
        Value::Null,
        "a disabled adapter is not started"
    );
    assert!(
        !answer.body.contains("partner-secret"),
        "repository passwords never leave the server"
    );

    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &admin,
            charts::demo_chart("my-cnf", "1.0.0"),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    let base = "/o2dms/v1/deployments";
    // Choosing the adapter is the platform's: a tenant may not.
    let chosen_by_tenant = env
        .send_bearer(
            "POST",
            base,
            &alice,
            json!({ "name": "partner-cnf", "namespace": "team-a", "packageId": "my-cnf-1.0.0",
                "adapter": "helm-partner" }),
        )
        .await;
    assert_eq!(
        chosen_by_tenant.status,
        StatusCode::FORBIDDEN,
        "{}",
        chosen_by_tenant.body
    );
    assert!(
        chosen_by_tenant
            .body
            .contains("platform-admin to choose the adapter"),
        "{}",
        chosen_by_tenant.body
    );
    let named = env
        .send_bearer(
            "POST",
            base,
            &admin,
            json!({ "name": "partner-cnf", "namespace": "team-a", "packageId": "my-cnf-1.0.0",
                "adapter": "helm-partner" }),
        )
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{}", named.body);
    let unknown = env
        .send_bearer(
            "POST",
            base,
            &admin,
            json!({ "name": "x", "namespace": "team-a", "packageId": "my-cnf-1.0.0",
                "adapter": "helm-nowhere" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert!(
        unknown
            .body
            .contains("adapter not found: helm-nowhere (configured: "),
        "{}",
        unknown.body
    );
    let wrong_kind = env
        .send_bearer(
            "POST",
            base,
            &admin,
            json!({ "name": "y", "namespace": "team-a", "adapter": "helm-internal",
                "extensions": { "flux.type": "kustomization" } }),
        )
        .await;
    assert!(
        wrong_kind.status.is_client_error(),
        "a Helm adapter does not make Kustomizations: {}",
        wrong_kind.body
    );
    // Naming no kind, a create goes to the default adapter: a Helm release needs a chart.
    let by_default = env
        .send_bearer(
            "POST",
            base,
            &alice,
            json!({ "name": "z", "namespace": "team-a" }),
        )
        .await;
    assert_eq!(
        by_default.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        by_default.body
    );
    assert!(
        by_default.body.contains("packageId") || by_default.body.contains("helm.chart"),
        "the default Helm adapter asks for a chart: {}",
        by_default.body
    );

    let mut listed = 0;
    for _ in 0..100 {
        let list = parse(
            &env.get_bearer(&format!("{base}?namespace=team-a"), &alice)
                .await
                .body,
        );
        listed = list["items"].as_array().map_or(0, |items| {
            items.iter().filter(|d| d["name"] == "partner-cnf").count()
        });
        if listed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(listed, 1, "two Helm adapters see one release, listed once");
    let deleted = env
        .send_bearer(
            "DELETE",
            &format!("{base}/team-a/partner-cnf"),
            &alice,
            json!({}),
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
}
