//! The Flux controllers' multi-tenancy lockdown as Pilothouse reports it: the sandbox's
//! simulated flux-system Deployments run with Flux's lockdown flags in the demo; taken away
//! one by one, `GET /o2dms/v1/plugins`, the overview (platform-admins only) and the Admin
//! page's banner say what is missing, and `flux.requireControllerLockdown` makes `/readyz`
//! fail until the flags are back.

use crate::support::TestEnv;
use axum::http::StatusCode;
use serde_json::Value;

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Replaces `controller`'s Deployment in flux-system with one running `locked_down` or not.
fn redeploy(env: &TestEnv, controller: &str, locked_down: bool) {
    let store = env.cluster.as_ref().expect("cluster").store();
    let rt = store
        .resource("apps", "v1", "deployments")
        .expect("deployments");
    let mut object = sandbox::controller_pods::controller_deployment(controller, locked_down);
    let current = store
        .get(&rt, Some("flux-system"), controller)
        .expect("the demo deploys the controller");
    object["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    store
        .update(
            &rt,
            Some("flux-system"),
            controller,
            object,
            sandbox::store::WriteOptions::by("kubectl"),
        )
        .expect("redeploy");
}

/// The Flux adapter's lockdown report from `GET /o2dms/v1/plugins`.
async fn reported(env: &TestEnv, token: &str) -> Value {
    let answer = env.get_bearer("/o2dms/v1/plugins", token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let plugins = parse(&answer.body);
    plugins
        .as_array()
        .and_then(|all| all.iter().find(|p| p["type"] == "flux"))
        .map(|flux| flux["health"]["lockdown"].clone())
        .unwrap_or_else(|| panic!("no flux adapter in {plugins}"))
}

fn flag(report: &Value, controller: &str, flag: &str) -> Value {
    report["controllers"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["controller"] == controller))
        .and_then(|c| c["flags"].as_array())
        .and_then(|flags| flags.iter().find(|f| f["flag"] == flag))
        .cloned()
        .unwrap_or_else(|| panic!("{controller} {flag} missing from {report}"))
}

#[tokio::test]
async fn the_controller_flags_are_reported_each_case() {
    let env = TestEnv::start_with_cluster("lockdown-report").await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");

    // The demo's controllers run locked down; image-reflector-controller is taken away to
    // see an absent controller reported as such.
    let store = env.cluster.as_ref().expect("cluster").store();
    let deployments = store
        .resource("apps", "v1", "deployments")
        .expect("deployments");
    store
        .delete(
            &deployments,
            Some("flux-system"),
            "image-reflector-controller",
        )
        .expect("the demo deploys image-reflector-controller");
    let report = reported(&env, &admin).await;
    assert_eq!(report["lockedDown"], true, "{report}");
    assert_eq!(
        flag(&report, "kustomize-controller", "--default-service-account")["actual"],
        "default"
    );
    let absent = report["controllers"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|c| c["controller"] == "image-reflector-controller")
        })
        .cloned()
        .expect("image-reflector-controller");
    assert_eq!(absent["installed"], false, "not installed: {absent}");
    let cookie = env.login("admin").await;
    let page = env.get("/admin", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-testid=\"lockdown\""),
        "the report's table"
    );
    assert!(
        !page.body.contains("lockdown-banner"),
        "no banner while locked down"
    );

    // kustomize-controller without the flags: each one reported missing, the rest intact.
    redeploy(&env, "kustomize-controller", false);
    let report = reported(&env, &admin).await;
    assert_eq!(report["lockedDown"], false, "{report}");
    for missing in [
        "--no-cross-namespace-refs",
        "--no-remote-bases",
        "--default-service-account",
    ] {
        let flag = flag(&report, "kustomize-controller", missing);
        assert_eq!(flag["ok"], false, "{flag}");
        assert_eq!(flag["actual"], Value::Null, "{flag}");
    }
    assert_eq!(
        flag(&report, "helm-controller", "--default-service-account")["ok"],
        true
    );
    let summary = report["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("kustomize-controller: --no-cross-namespace-refs, --no-remote-bases, --default-service-account")
            && summary.contains("cluster-admin"),
        "{summary}"
    );

    // The overview shows it to platform-admins only; the Admin page turns red.
    let overview = env.get("/", Some(&cookie)).await;
    assert!(
        overview.body.contains("lockdown-banner") && overview.body.contains("not locked down"),
        "the overview warns platform-admins"
    );
    let alice_cookie = env.login("alice").await;
    let theirs = env.get("/", Some(&alice_cookie)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(
        !theirs.body.contains("data-testid=\"lockdown") && !theirs.body.contains("not locked down"),
        "tenants are not shown the controllers' flags"
    );
    let page = env.get("/admin", Some(&cookie)).await;
    assert!(
        page.body.contains("lockdown-banner"),
        "the Admin page's banner"
    );
    assert!(page.body.contains("Flux is not locked down for tenants"));

    // helm-controller without an explicit value for its account counts as absent too.
    redeploy(&env, "kustomize-controller", true);
    redeploy(&env, "helm-controller", false);
    let report = reported(&env, &alice).await;
    assert_eq!(report["lockedDown"], false, "{report}");
    assert!(
        report["summary"]
            .as_str()
            .is_some_and(|s| s
                .contains("helm-controller: --no-cross-namespace-refs, --default-service-account")),
        "{report}"
    );
    redeploy(&env, "helm-controller", true);
    assert_eq!(reported(&env, &admin).await["lockedDown"], true);

    // No controllers at all: unknown, which is not locked down.
    let store = env.cluster.as_ref().expect("cluster").store();
    let rt = store
        .resource("apps", "v1", "deployments")
        .expect("deployments");
    for controller in ["kustomize-controller", "helm-controller"] {
        store
            .delete(&rt, Some("flux-system"), controller)
            .expect("delete");
    }
    let report = reported(&env, &admin).await;
    assert_eq!(report["lockedDown"], false);
    assert!(
        report["summary"]
            .as_str()
            .is_some_and(|s| s.contains("cannot be checked")),
        "{report}"
    );
}

#[tokio::test]
async fn required_lockdown_makes_readiness_fail_until_the_flags_are_back() {
    let env = TestEnv::start_with_cluster_and("lockdown-required", |config| {
        config.flux.require_controller_lockdown = true;
    })
    .await;
    let ready = env.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    redeploy(&env, "helm-controller", false);
    let ready = env.get("/readyz", None).await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.body
    );
    let body = parse(&ready.body);
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("flux.requireControllerLockdown")
                && r.contains(
                    "helm-controller: --no-cross-namespace-refs, --default-service-account"
                )),
        "{body}"
    );

    redeploy(&env, "helm-controller", true);
    let ready = env.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    // Shared source namespaces need the cross-namespace references the lockdown forbids.
    let conflict = control::adapters::flux::FluxConfig {
        require_controller_lockdown: true,
        shared_source_namespaces: vec!["flux-system".into()],
        ..control::adapters::flux::FluxConfig::default()
    };
    let error = conflict.validate().expect_err("the two settings conflict");
    assert!(
        error.to_string().contains("flux.sharedSourceNamespaces"),
        "{error}"
    );
}
