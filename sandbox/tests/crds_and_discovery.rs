//! CRDs and discovery: the genuine Flux CRDs served and enforced, aggregated discovery, bearer
//! tokens and impersonation.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use support::{api_error, flux_crds, start};

#[tokio::test]
async fn flux_crds_are_served_and_their_schemas_enforced() {
    let (_sandbox, client) = start(SandboxOptions {
        crds: vec![flux_crds()],
        ..SandboxOptions::default()
    })
    .await;
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let group = discovery
        .groups()
        .find(|g| g.name() == "helm.toolkit.fluxcd.io")
        .expect("the Flux helm group is served");
    assert!(group.recommended_kind("HelmRelease").is_some());

    let gvk = GroupVersionKind::gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
    let releases: Api<DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "helmreleases"),
    );
    let valid: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": { "name": "podinfo" },
        "spec": { "interval": "5m", "chart": { "spec": { "chart": "podinfo", "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } },
                  "values": { "replicaCount": 2 } }
    }))
    .unwrap();
    let created = releases
        .create(&PostParams::default(), &valid)
        .await
        .unwrap();
    assert_eq!(
        created.data["spec"]["values"]["replicaCount"], 2,
        "values are preserved"
    );

    let invalid: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": { "name": "broken" },
        "spec": { "interval": 300, "chart": { "spec": { "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } } }
    }))
    .unwrap();
    let refused = api_error(
        releases
            .create(&PostParams::default(), &invalid)
            .await
            .unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(
        refused.message.contains("spec.interval"),
        "{}",
        refused.message
    );
    assert!(
        refused
            .message
            .contains("spec.chart.spec.chart: Required value"),
        "{}",
        refused.message
    );

    let strict = PostParams {
        field_manager: None,
        dry_run: false,
    };
    let mut unknown = valid.clone();
    unknown.metadata.name = Some("extra".into());
    unknown.data["spec"]["notAField"] = json!(true);
    let pruned = releases.create(&strict, &unknown).await.unwrap();
    assert!(
        pruned.data["spec"].get("notAField").is_none(),
        "unknown fields are pruned"
    );
}

#[tokio::test]
async fn tokens_are_required_when_set_and_impersonation_is_recorded() {
    let sandbox = Sandbox::start(SandboxOptions {
        token: Some("s3cret".into()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let mut config = Config::new(sandbox.url().parse().unwrap());
    let anonymous = Client::try_from(config.clone()).unwrap();
    let refused = api_error(
        Api::<ConfigMap>::namespaced(anonymous, "default")
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 401);

    config.auth_info.token = Some("s3cret".to_owned().into());
    let admin = Client::try_from(config.clone()).unwrap();
    config.auth_info.impersonate = Some("alice".into());
    config.auth_info.impersonate_groups = Some(vec!["team-a".into()]);
    let client = Client::try_from(config).unwrap();
    let configmaps = Api::<ConfigMap>::namespaced(client, "default");
    let refused = api_error(configmaps.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(refused.code, 403, "alice holds no role yet");
    assert!(
        refused.message.contains("User \"alice\" cannot list"),
        "{}",
        refused.message
    );
    // A Role bound to alice's group lets her list, as RBAC would.
    let roles: Api<kube::api::DynamicObject> = Api::namespaced_with(
        admin.clone(),
        "default",
        &kube::discovery::ApiResource::erase::<k8s_openapi::api::rbac::v1::Role>(&()),
    );
    roles
        .create(
            &kube::api::PostParams::default(),
            &serde_json::from_value(
                json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": { "name": "reader" },
                "rules": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"] }] }),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let bindings: Api<k8s_openapi::api::rbac::v1::RoleBinding> = Api::namespaced(admin, "default");
    bindings
        .create(
            &kube::api::PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "readers" },
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader" },
                "subjects": [{ "kind": "Group", "name": "team-a" }] }))
            .unwrap(),
        )
        .await
        .unwrap();
    configmaps.list(&ListParams::default()).await.unwrap();
    let seen = sandbox.impersonations();
    assert_eq!(
        seen.last().map(|i| (i.user.as_str(), i.groups.clone())),
        Some(("alice", vec!["team-a".to_owned()]))
    );
}

#[tokio::test]
async fn aggregated_discovery_lists_groups_and_resources() {
    let (_sandbox, client) = start(SandboxOptions {
        crds: vec![flux_crds()],
        ..SandboxOptions::default()
    })
    .await;
    let request = |path: &str| {
        http::Request::get(path)
            .header("accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
            .body(Vec::new())
            .unwrap()
    };
    let apis: serde_json::Value = client.request(request("/apis")).await.unwrap();
    assert_eq!(apis["kind"], "APIGroupDiscoveryList");
    let helm = apis["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "helm.toolkit.fluxcd.io")
        .unwrap();
    let resource = &helm["versions"][0]["resources"][0];
    assert_eq!(
        (resource["resource"].as_str(), resource["scope"].as_str()),
        (Some("helmreleases"), Some("Namespaced"))
    );
    assert_eq!(resource["subresources"][0]["subresource"], "status");
    let core: serde_json::Value = client.request(request("/api")).await.unwrap();
    let core_resources = core["items"][0]["versions"][0]["resources"]
        .as_array()
        .unwrap();
    assert!(core_resources.iter().any(|r| r["resource"] == "secrets"));
    // Without the aggregated Accept header, the legacy documents.
    let legacy: serde_json::Value = client
        .request(http::Request::get("/apis").body(Vec::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(legacy["kind"], "APIGroupList");
}

#[tokio::test]
async fn a_read_only_token_is_forbidden_to_write() {
    let options = SandboxOptions {
        token: Some("admin".into()),
        read_only_token: Some("viewer".into()),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(options).await.unwrap();
    let mut config = Config::new(sandbox.url().parse().unwrap());
    config.auth_info.token = Some("viewer".to_owned().into());
    let viewer: Api<ConfigMap> = Api::namespaced(Client::try_from(config).unwrap(), "default");
    viewer.list(&ListParams::default()).await.unwrap();
    let cm: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "x" } })).unwrap();
    let refused = api_error(
        viewer
            .create(&PostParams::default(), &cm)
            .await
            .unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));
}
