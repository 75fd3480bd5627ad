//! What a tenant learns of others: refusals read alike whoever owns the namespace, counts
//! and in-use checks cover only the caller's namespaces, and viewers read no secrets (an
//! operator's reveal is recorded).

use super::*;

/// What one tenant learns about others from Pilothouse's answers: a source in another tenant's
/// namespace is refused the same whether it exists or not, a refusal names no other tenant and
/// reads the same for a namespace nobody owns, and the overview counts only the caller's.
#[tokio::test]
async fn refusals_and_counts_tell_a_tenant_nothing_of_others() {
    let env = TestEnv::start_with_cluster("escapes-oracles").await;
    let alice = env.bearer("alice");
    env.service
        .create_tenant(&env.admin(), "team-b", "B")
        .await
        .expect("tenant");
    env.service
        .assign_namespace(&env.admin(), "team-b", "team-b")
        .await
        .expect("namespace");
    let create = |source: &str| {
        json!({ "name": "probe", "namespace": "team-a", "extensions": {
            "flux.type": "helmrelease", "flux.chart": "x", "flux.sourceRef": source, "flux.sourceNamespace": "team-b" } })
    };
    let existing = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, create("bitnami"))
        .await;
    let missing = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            create("no-such-repo"),
        )
        .await;
    assert_eq!(existing.status, StatusCode::FORBIDDEN, "{}", existing.body);
    assert_eq!(missing.status, existing.status, "{}", missing.body);
    assert_eq!(
        missing.body.replace("no-such-repo", "bitnami"),
        existing.body,
        "the same answer whether the source exists or not"
    );

    // A namespace of another tenant and a namespace of none read the same to alice, and
    // neither names a tenant.
    let owned = env
        .get_bearer(
            "/o2dms/v1/deployments/default~team-b~Kustomization~billing",
            &alice,
        )
        .await;
    let unowned = env
        .get_bearer(
            "/o2dms/v1/deployments/default~team-c~Kustomization~billing",
            &alice,
        )
        .await;
    assert_eq!(owned.status, StatusCode::FORBIDDEN, "{}", owned.body);
    assert_eq!(unowned.status, owned.status, "{}", unowned.body);
    assert_eq!(owned.body.replace("team-b", "team-c"), unowned.body);
    assert!(!owned.body.contains("tenant team-b"), "{}", owned.body);
    assert!(
        !unowned.body.contains("belongs to no tenant"),
        "{}",
        unowned.body
    );

    // A package in use only in another tenant's namespace is deleted without a word about
    // that tenant's release.
    let root = env.bearer("admin");
    for namespace in ["team-a", "team-b"] {
        let upload = env
            .send_bytes(
                "POST",
                &format!("/o2dms/v1/packages?namespace={namespace}"),
                &root,
                charts::demo_chart("shared-name", "1.0.0"),
            )
            .await;
        assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    }
    let installed = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &root,
            json!({ "name": "theirs", "namespace": "team-b", "packageId": "shared-name-1.0.0" }),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    env.grant("team-a", "erin", control::access::TenantRole::Admin)
        .await;
    let erin = env.bearer("erin");
    let deleted = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/packages/team-a/shared-name-1.0.0",
            &erin,
            json!({}),
        )
        .await;
    assert_eq!(
        deleted.status,
        StatusCode::NO_CONTENT,
        "nothing in team-a uses it, and team-b's release is not mentioned: {}",
        deleted.body
    );

    // The overview's counts are alice's namespaces', not the fleet's.
    let as_alice = control::RequestContext {
        principal: control::access::Principal {
            issuer: env.idp.issuer(),
            subject: "alice".into(),
            email: None,
            name: None,
            groups: vec![],
            narrowing: None,
        },
        ..control::RequestContext::system()
    };
    let hers = env.service.overview(&as_alice).await.expect("overview");
    let all = env.service.overview(&env.admin()).await.expect("overview");
    let held = |o: &model::overview::Overview| o.adapters.iter().map(|a| a.objects).sum::<usize>();
    let visible = env
        .get_bearer("/o2dms/v1/deployments?namespace=team-a&limit=1000", &alice)
        .await;
    let listed = parse(&visible.body)["total"].as_u64().unwrap_or_default() as usize;
    assert!(
        held(&all) > held(&hers),
        "{} vs {}",
        held(&all),
        held(&hers)
    );
    assert!(
        held(&hers) <= listed && held(&hers) > 0,
        "alice's count {} is within her {listed} deployments",
        held(&hers)
    );
}

/// What viewers read of a Helm release carries no secrets: its rendered Secret's data is
/// replaced by its size and secret-looking values by `[REDACTED]`. Operators see them whole
/// only when they ask (`reveal=true`), and the asking is recorded; viewers may not ask.
#[tokio::test]
async fn viewers_read_no_secrets_and_reveals_are_recorded() {
    let env = TestEnv::start_with_cluster("escapes-secrets").await;
    let root = env.bearer("admin");
    let alice = env.bearer("alice");
    env.grant("team-a", "bob", control::access::TenantRole::Viewer)
        .await;
    let bob = env.bearer("bob");
    let template = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\ndata:\n  password: {{ .Values.db.password | b64enc | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  host: {{ .Values.db.host | quote }}\n";
    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &root,
            chart("creds", template),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    let installed = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": "creds", "namespace": "team-a", "packageId": "creds-1.0.0",
                    "values": { "db": { "password": "hunter2-and-more", "host": "db.team-a" } } }),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let base = "/o2dms/v1/deployments/default~team-a~Release~creds";

    let yaml = env.get_bearer(&format!("{base}/yaml"), &bob).await;
    assert_eq!(yaml.status, StatusCode::OK, "{}", yaml.body);
    assert!(yaml.body.contains("[REDACTED: 16 bytes]"), "{}", yaml.body);
    assert!(
        yaml.body.contains("db.team-a"),
        "what is not secret stays: {}",
        yaml.body
    );
    let encoded = "aHVudGVyMi1hbmQtbW9yZQ==";
    assert!(
        !yaml.body.contains(encoded) && !yaml.body.contains("hunter2"),
        "{}",
        yaml.body
    );
    let values = env.get_bearer(&format!("{base}/values"), &bob).await;
    assert_eq!(values.status, StatusCode::OK, "{}", values.body);
    assert_eq!(parse(&values.body)["db"]["password"], "[REDACTED]");
    assert_eq!(parse(&values.body)["db"]["host"], "db.team-a");

    // Viewers may not reveal; operators may, recorded.
    for path in ["yaml", "values"] {
        let refused = env
            .get_bearer(&format!("{base}/{path}?reveal=true"), &bob)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let revealed = env
        .get_bearer(&format!("{base}/yaml?reveal=true"), &alice)
        .await;
    assert_eq!(revealed.status, StatusCode::OK, "{}", revealed.body);
    assert!(revealed.body.contains(encoded), "{}", revealed.body);
    let revealed = env
        .get_bearer(&format!("{base}/values?reveal=true"), &alice)
        .await;
    assert_eq!(parse(&revealed.body)["db"]["password"], "hunter2-and-more");
    let bad = env
        .get_bearer(&format!("{base}/values?reveal=maybe"), &alice)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let recorded = succeeded(&env, "deployment.reveal").await;
    assert_eq!(recorded.len(), 2, "each reveal is recorded: {recorded:?}");
    assert!(recorded.iter().all(|r| r.event.actor.subject == "alice"));

    // An edit made from the redacted values keeps the secret it did not touch.
    let edited = env
        .send_bearer(
            "PATCH",
            base,
            &alice,
            json!({ "values": { "db": { "password": "[REDACTED]", "host": "db2.team-a" } } }),
        )
        .await;
    assert!(edited.status.is_success(), "{}", edited.body);
    let revealed = env
        .get_bearer(&format!("{base}/values?reveal=true"), &alice)
        .await;
    assert_eq!(parse(&revealed.body)["db"]["password"], "hunter2-and-more");
    assert_eq!(parse(&revealed.body)["db"]["host"], "db2.team-a");
}
