//! Text no field may hold (NUL and other control characters) in a body, a query or a path:
//! 400 in the one error body naming where it was, nothing changed, and the refusal in the
//! audit log with the path escaped. Before, Postgres refused the NUL later and the answer was
//! a 503 blaming the database.

use crate::support::{PUBLIC_URL, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use control::audit::AuditFilter;
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts `answer` is the 400 for unreadable text at `field`.
fn unreadable(answer: &crate::support::Answer, field: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let body = parse(&answer.body);
    assert_eq!(body["error"], "bad_request", "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("control character U+")),
        "{body}"
    );
}

#[tokio::test]
async fn control_characters_anywhere_in_a_request_are_a_400_that_changes_nothing() {
    let env = TestEnv::start_with_cluster("hostile-bytes").await;
    let alice = env.bearer("alice");

    // A create whose values hold a NUL: refused before the handler, so no deployment.
    let create = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": "nul", "namespace": "team-a", "packageId": "x",
                "values": { "auth": { "password": "a\u{0}b" } } }),
        )
        .await;
    unreadable(&create, "values.auth.password");
    let listed = env
        .get_bearer("/o2dms/v1/deployments?namespace=team-a", &alice)
        .await;
    assert!(!listed.body.contains("\"nul\""), "{}", listed.body);

    // Bulk, whose reason went to the audit log and came back as a 503.
    let bulk = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/bulk",
            &alice,
            json!({ "ids": ["default~team-a~HelmRelease~podinfo"],
                "action": { "action": "suspend", "reason": "x\u{0}y" } }),
        )
        .await;
    unreadable(&bulk, "action.reason");
    let podinfo = parse(
        &env.get_bearer("/o2dms/v1/deployments/team-a/podinfo", &alice)
            .await
            .body,
    );
    assert_ne!(podinfo["suspended"], true, "{podinfo}");

    // A query parameter and a path segment.
    unreadable(
        &env.get_bearer("/o2dms/v1/deployments?text=a%1Bb", &alice)
            .await,
        "text",
    );
    unreadable(
        &env.get_bearer("/o2dms/v1/deployments/team-a/pod%00info", &alice)
            .await,
        "path",
    );

    // A server function's form body, as the pages post it.
    let cookie = env.login("alice").await;
    let form = env
        .call(
            Request::post("/api/delete_deployment")
                .header(header::COOKIE, &cookie)
                .header("origin", PUBLIC_URL)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(
                    "id=default~team-a~HelmRelease~podinfo&confirm=pod%00info",
                ))
                .expect("request"),
        )
        .await;
    unreadable(&form, "confirm");

    // Tab and newlines are text: a values document may hold them.
    let text = env
        .get_bearer("/o2dms/v1/deployments?text=a%0Ab", &alice)
        .await;
    assert_eq!(text.status, StatusCode::OK, "{}", text.body);

    // Each refusal is audited, naming where the text was, with the path escaped.
    let rows = env
        .service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                action: Some(control::service::UNREADABLE_REQUEST.into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events;
    assert_eq!(rows.len(), 5, "{rows:#?}");
    assert!(rows.iter().all(|r| r.event.actor.subject == "alice"));
    let path = rows
        .iter()
        .find(|r| r.event.parameters["field"] == "path")
        .expect("the path refusal");
    assert_eq!(
        path.event.parameters["path"], "/o2dms/v1/deployments/team-a/pod%00info",
        "the path as sent, still percent-encoded"
    );
    env.assert_audit_chain_intact().await;
}

/// Requests axum itself cannot read (a query of the wrong shape, a path that is not an id)
/// answer in the one documented error body too, never in plain text.
#[tokio::test]
async fn requests_that_cannot_be_read_answer_in_the_documented_error_body() {
    let env = TestEnv::start_with_cluster("unreadable-requests").await;
    let admin = env.bearer("admin");
    for (path, status) in [
        (
            "/o2dms/v1/audit/events?outcome=AAA",
            StatusCode::BAD_REQUEST,
        ),
        ("/o2dms/v1/audit/events?limit=-1", StatusCode::BAD_REQUEST),
        ("/o2dms/v1/deployments?limit=many", StatusCode::BAD_REQUEST),
        ("/o2dms/v1/deployments?offset=-3", StatusCode::BAD_REQUEST),
    ] {
        let answer = env.get_bearer(path, &admin).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert_eq!(
            answer
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{path}"
        );
        let body = parse(&answer.body);
        assert_eq!(body["error"], "bad_request", "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
}
