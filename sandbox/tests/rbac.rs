//! RBAC in the sandbox behaves as kube-apiserver's: bindings decide, by verb, resource,
//! subresource, resourceName and namespace; impersonation needs `impersonate`; refusals are
//! 403 Status bodies worded as the API server words them; bindings cannot escalate.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions, SandboxUser};
use serde_json::json;
use support::api_error;

const PILOTHOUSE: &str = "system:serviceaccount:pilothouse:pilothouse";
const TENANT_A: &str = "system:serviceaccount:team-a:pilothouse-tenant";

async fn cluster() -> Sandbox {
    Sandbox::start(SandboxOptions {
        token: Some("admin".into()),
        users: vec![SandboxUser {
            token: "pilothouse".into(),
            name: PILOTHOUSE.into(),
            groups: vec![],
        }],
        manifests: vec![sandbox::deploy_rbac()],
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

fn client(sandbox: &Sandbox, token: &str, impersonate: Option<&str>) -> Client {
    let mut config = Config::new(sandbox.url().parse().unwrap());
    config.auth_info.token = Some(token.to_owned().into());
    config.auth_info.impersonate = impersonate.map(str::to_owned);
    Client::try_from(config).unwrap()
}

fn secret(name: &str) -> Secret {
    serde_json::from_value(json!({ "metadata": { "name": name }, "stringData": { "k": "v" } }))
        .unwrap()
}

async fn namespaces(admin: &Client, names: &[&str]) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(admin.clone());
    for name in names {
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap(),
        )
        .await
        .unwrap();
    }
}

/// The binding Pilothouse makes for a tenant namespace.
fn tenant_binding(namespace: &str) -> RoleBinding {
    serde_json::from_value(json!({
        "metadata": { "name": "pilothouse-tenant" },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pilothouse-tenant" },
        "subjects": [{ "kind": "ServiceAccount", "name": "pilothouse-tenant", "namespace": namespace }],
    }))
    .unwrap()
}

#[tokio::test]
async fn pilothouse_reads_everywhere_and_writes_no_secret_or_workload() {
    let sandbox = cluster().await;
    let admin = client(&sandbox, "admin", None);
    namespaces(&admin, &["team-a"]).await;
    Api::<Secret>::namespaced(admin.clone(), "team-a")
        .create(&PostParams::default(), &secret("db"))
        .await
        .unwrap();
    let pilothouse = client(&sandbox, "pilothouse", None);
    let listed = Api::<Secret>::all(pilothouse.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "the release cache reads Secrets");
    let refused = api_error(
        Api::<Secret>::namespaced(pilothouse.clone(), "team-a")
            .create(&PostParams::default(), &secret("planted"))
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert_eq!(refused.reason, "Forbidden");
    assert_eq!(
        refused.message,
        format!(
            "secrets is forbidden: User \"{PILOTHOUSE}\" cannot create resource \"secrets\" in API group \"\" in the namespace \"team-a\""
        )
    );
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "selector": { "matchLabels": { "app": "web" } }, "template": { "metadata": { "labels": { "app": "web" } }, "spec": { "containers": [{ "name": "web", "image": "nginx" }] } } }
    }))
    .unwrap();
    let refused = api_error(
        Api::<Deployment>::namespaced(pilothouse.clone(), "team-a")
            .create(&PostParams::default(), &deployment)
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains("in API group \"apps\""),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn impersonation_needs_the_verb_and_the_tenant_is_held_to_its_namespace() {
    let sandbox = cluster().await;
    let admin = client(&sandbox, "admin", None);
    namespaces(&admin, &["team-a", "team-b"]).await;
    let pilothouse = client(&sandbox, "pilothouse", None);
    // Provisioning as Pilothouse: the account, and a binding it may make only through `bind`.
    let account: ServiceAccount =
        serde_json::from_value(json!({ "metadata": { "name": "pilothouse-tenant" } })).unwrap();
    Api::<ServiceAccount>::namespaced(pilothouse.clone(), "team-a")
        .create(&PostParams::default(), &account)
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(pilothouse.clone(), "team-a")
        .create(&PostParams::default(), &tenant_binding("team-a"))
        .await
        .unwrap();
    let mut to_admin = tenant_binding("team-a");
    to_admin.metadata.name = Some("escalate".into());
    to_admin.role_ref.name = "cluster-admin".into();
    let refused = api_error(
        Api::<RoleBinding>::namespaced(pilothouse.clone(), "team-a")
            .create(&PostParams::default(), &to_admin)
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert!(
        refused
            .message
            .contains("attempting to grant RBAC permissions not currently held"),
        "{}",
        refused.message
    );

    let tenant = client(&sandbox, "pilothouse", Some(TENANT_A));
    Api::<Secret>::namespaced(tenant.clone(), "team-a")
        .create(&PostParams::default(), &secret("release"))
        .await
        .expect("the tenant writes in its namespace");
    let refused = api_error(
        Api::<Secret>::namespaced(tenant.clone(), "team-b")
            .get("anything")
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.message,
        format!(
            "secrets \"anything\" is forbidden: User \"{TENANT_A}\" cannot get resource \"secrets\" in API group \"\" in the namespace \"team-b\""
        )
    );
    let refused = api_error(
        Api::<ConfigMap>::all(tenant)
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert!(
        refused.message.ends_with("at the cluster scope"),
        "{}",
        refused.message
    );

    // Only the tenant accounts may be impersonated, never a user or another account.
    for other in ["alice", "system:serviceaccount:kube-system:default"] {
        let refused = api_error(
            Api::<ConfigMap>::namespaced(client(&sandbox, "pilothouse", Some(other)), "team-a")
                .list(&ListParams::default())
                .await
                .unwrap_err(),
        );
        assert_eq!(refused.code, 403, "{other}");
        assert!(
            refused.message.contains("cannot impersonate"),
            "{}",
            refused.message
        );
    }
    assert_eq!(
        sandbox.impersonations().last().map(|i| i.user.as_str()),
        Some("system:serviceaccount:kube-system:default")
    );
}

#[tokio::test]
async fn resource_names_and_subresources_narrow_a_rule() {
    let sandbox = cluster().await;
    let admin = client(&sandbox, "admin", None);
    namespaces(&admin, &["team-a"]).await;
    let pilothouse = client(&sandbox, "pilothouse", None);
    let accounts = Api::<ServiceAccount>::namespaced(pilothouse.clone(), "team-a");
    for name in ["pilothouse-tenant", "other"] {
        accounts
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap(),
            )
            .await
            .unwrap();
    }
    accounts
        .delete("pilothouse-tenant", &Default::default())
        .await
        .expect("deletes are limited to the tenant account's name");
    let refused = api_error(
        accounts
            .delete("other", &Default::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    let status = sandbox::rbac::allows(
        sandbox.store(),
        &sandbox::rbac::UserInfo::service_account("flux-system", "pilothouse"),
        &sandbox::rbac::Attributes {
            verb: "get",
            group: "",
            resource: "pods",
            subresource: Some("log"),
            namespace: Some("flux-system"),
            name: Some("x"),
        },
    );
    assert!(!status, "only pilothouse:pilothouse is bound to read logs");
    let logs = sandbox::rbac::Attributes {
        verb: "get",
        group: "",
        resource: "pods",
        subresource: Some("log"),
        namespace: Some("flux-system"),
        name: Some("helm-controller-0"),
    };
    let user = sandbox::rbac::UserInfo::user(PILOTHOUSE, &[]);
    assert!(sandbox::rbac::allows(sandbox.store(), &user, &logs));
    let elsewhere = sandbox::rbac::Attributes {
        namespace: Some("team-a"),
        ..logs
    };
    assert!(!sandbox::rbac::allows(sandbox.store(), &user, &elsewhere));
}
