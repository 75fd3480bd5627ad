//! Sign-in against the real OpenID provider: the full flow, the refusals, bearer tokens,
//! CSRF, logout and timeouts.

use crate::support::{PASSWORD, PUBLIC_URL, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_full_login_shows_the_user_and_logout_ends_the_session() {
    let env = TestEnv::start("oidc-full", |_| {}).await;

    // Not signed in: pages redirect to sign-in with the way back, the API answers 401.
    let page = env.get("/audit?x=1", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/auth/login?return_to=%2Faudit%3Fx%3D1");
    let api = env.get("/o2dms/v1/me", None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);

    let (pre_login_cookie, authorize) = env.start_login("/audit?x=1").await;
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(
        authorize.contains("nonce=") && authorize.contains("state="),
        "{authorize}"
    );
    let callback = env
        .sign_in_at_provider(&authorize, "alice", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.body));
    let signed_in = env.get(&callback, Some(&pre_login_cookie)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(
        signed_in.location(),
        "/audit?x=1",
        "back where the user started"
    );
    let cookie = signed_in.session_cookie().unwrap();
    assert_ne!(
        cookie, pre_login_cookie,
        "the session id is rotated at login"
    );
    let attributes = signed_in.session_cookie_header().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(attributes.contains(attribute), "{attributes}");
    }

    let home = env.get("/", Some(&cookie)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.body.contains("operator of team-a"),
        "the header shows the roles"
    );
    let me = env.get("/o2dms/v1/me", Some(&cookie)).await;
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(
        (me["subject"].as_str(), me["issuer"].as_str()),
        (Some("alice"), Some(env.idp.issuer().as_str()))
    );
    assert_eq!(me["groups"], json!(["demo"]));

    // Logout: CSRF-checked, ends the session, and sends the browser to the provider's logout.
    let forged = Request::post("/auth/logout")
        .header(header::COOKIE, &cookie)
        .header("origin", "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    assert_eq!(env.call(forged).await.status, StatusCode::FORBIDDEN);
    let logout = Request::post("/auth/logout")
        .header(header::COOKIE, &cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let out = env.call(logout).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.location()
            .starts_with(&format!("{}/session/end", env.idp.issuer())),
        "{}",
        out.location()
    );
    assert!(out.location().contains("id_token_hint="));
    let after = env.get("/", Some(&cookie)).await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer signs anyone in"
    );
}

#[tokio::test]
async fn callbacks_that_do_not_match_the_login_are_refused() {
    let env = TestEnv::start("oidc-refusals", |_| {}).await;

    // Wrong state.
    let (cookie, authorize) = env.start_login("/").await;
    let callback = env
        .sign_in_at_provider(&authorize, "alice", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.body));
    let tampered = callback.replace("state=", "state=x");
    let refused = env.get(&tampered, Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("state mismatch"), "{}", refused.body);

    // Replay: a callback (code, state, nonce) is good once only, with either cookie.
    let (cookie, authorize) = env.start_login("/").await;
    let callback = env
        .sign_in_at_provider(&authorize, "alice", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.body));
    let first = env.get(&callback, Some(&cookie)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let replay = env.get(&callback, Some(&cookie)).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(
        replay.body.contains("expired or was already used"),
        "{}",
        replay.body
    );
    let replay = env
        .get(&callback, Some(&first.session_cookie().unwrap()))
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);

    // A callback in a browser that never started a login.
    let stranger = env.get(&callback, None).await;
    assert_eq!(stranger.status, StatusCode::BAD_REQUEST);

    // Without PKCE the provider refuses, and Pilothouse shows its refusal.
    let (cookie, authorize) = env.start_login("/").await;
    let without_pkce: String = {
        let mut url = url::Url::parse(&authorize).unwrap();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.starts_with("code_challenge"))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
        url.into()
    };
    let callback = env
        .sign_in_at_provider(&without_pkce, "alice", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.body));
    assert!(callback.contains("error=invalid_request"), "{callback}");
    let refused = env.get(&callback, Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("refused the sign-in"),
        "{}",
        refused.body
    );

    // A wrong password stays at the provider.
    let (_, authorize) = env.start_login("/").await;
    let wrong = env
        .sign_in_at_provider(&authorize, "alice", "wrong")
        .await
        .err()
        .unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bearer_tokens_get_the_same_principal_and_policy() {
    let env = TestEnv::start("oidc-bearer", |_| {}).await;
    let issuer = env.idp.issuer();
    let good = |sub: &str| json!({ "iss": issuer, "aud": "pilothouse", "sub": sub, "iat": now(), "exp": now() + 300, "groups": ["ops"] });

    let alice = env.mint(good("alice"));
    let me = env.get_bearer("/o2dms/v1/me", &alice).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(
        (me["subject"].as_str(), me["groups"].clone()),
        (Some("alice"), json!(["ops"]))
    );
    let tenants = env.get_bearer("/o2dms/v1/tenants", &alice).await;
    assert!(tenants.body.contains("team-a"), "{}", tenants.body);
    // The same policy as in the browser: alice is no auditor.
    let verify = env.get_bearer("/o2dms/v1/audit/verify", &alice).await;
    assert_eq!(verify.status, StatusCode::FORBIDDEN, "{}", verify.body);
    assert!(verify.body.contains("needs auditor"), "{}", verify.body);
    let verify = env
        .get_bearer("/o2dms/v1/audit/verify", &env.mint(good("admin")))
        .await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.body);
    let export = env
        .get_bearer(
            "/o2dms/v1/audit/export?format=csv",
            &env.mint(good("admin")),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.body.starts_with("seq,occurred_at"));

    let mut refusals = vec![
        ("wrong issuer", env.mint(json!({ "iss": "http://127.0.0.1:1", "aud": "pilothouse", "sub": "alice", "iat": now(), "exp": now() + 300 }))),
        ("wrong audience", env.mint(json!({ "iss": issuer, "aud": "someone-else", "sub": "alice", "iat": now(), "exp": now() + 300 }))),
        ("expired", env.mint(json!({ "iss": issuer, "aud": "pilothouse", "sub": "alice", "iat": now() - 600, "exp": now() - 300 }))),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    let parts: Vec<&str> = alice.split('.').collect();
    let forged_payload = base64_url(&json!({ "iss": issuer, "aud": "pilothouse", "sub": "admin", "iat": now(), "exp": now() + 300 }).to_string());
    refusals.push((
        "tampered signature",
        format!("{}.{forged_payload}.{}", parts[0], parts[2]),
    ));
    refusals.push((
        "alg none",
        format!(
            "{}.{forged_payload}.",
            base64_url(r#"{"alg":"none","typ":"JWT"}"#)
        ),
    ));
    for (what, token) in refusals {
        let answer = env.get_bearer("/o2dms/v1/me", &token).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            answer.body
        );
        assert!(
            answer.body.contains("invalid token"),
            "{what}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn state_changing_requests_need_our_origin_or_token() {
    let env = TestEnv::start("oidc-csrf", |_| {}).await;
    let cookie = env.login("alice").await;
    let post = |origin: Option<&str>| {
        let mut request = Request::post("/api/whoami").header(header::COOKIE, &cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap()
    };
    let refused = env.call(post(None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The one error body, as every JSON surface answers.
    let body: serde_json::Value = serde_json::from_str(&refused.body).expect("JSON");
    assert_eq!(body["error"], "forbidden", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("cross-site request refused")),
        "{body}"
    );
    assert_eq!(
        env.call(post(Some("https://evil.example"))).await.status,
        StatusCode::FORBIDDEN
    );
    let ok = env.call(post(Some(PUBLIC_URL))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains("operator of team-a"), "{}", ok.body);
}

#[tokio::test]
async fn sessions_end_after_the_absolute_timeout() {
    let env = TestEnv::start("oidc-timeout", |config| {
        config.session.absolute_timeout_hours = 0
    })
    .await;
    let cookie = env.login("bob").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = env.get("/", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/auth/login"));
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_when_its_key_id_first_appears() {
    let mut env = TestEnv::start("oidc-rotation", |_| {}).await;
    let claims = |issuer: &str| json!({ "iss": issuer, "aud": "pilothouse", "sub": "alice", "iat": now(), "exp": now() + 300 });
    let before = env.mint(claims(&env.idp.issuer()));
    assert_eq!(
        env.get_bearer("/o2dms/v1/me", &before).await.status,
        StatusCode::OK
    );

    env.rotate_provider_keys();
    let after = env.mint(claims(&env.idp.issuer()));
    let answer = env.get_bearer("/o2dms/v1/me", &after).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "the new key was fetched: {}",
        answer.body
    );
    let stale = env.get_bearer("/o2dms/v1/me", &before).await;
    assert_eq!(
        stale.status,
        StatusCode::UNAUTHORIZED,
        "the retired key is gone"
    );
}

#[tokio::test]
async fn userinfo_is_read_when_configured() {
    let env = TestEnv::start("oidc-userinfo", |config| config.oidc.userinfo = true).await;
    let cookie = env.login("bob").await;
    let me = env.get("/o2dms/v1/me", Some(&cookie)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(
        (me["subject"].as_str(), me["email"].as_str()),
        (Some("bob"), Some("bob@demo.pilothouse"))
    );
    assert_eq!(me["groups"], json!(["demo"]));
}
