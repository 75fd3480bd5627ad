//! `pilothouse admin …`, run as the real binary against a private Postgres: each command
//! changes what it says, each refusal exits non-zero with the reason and changes nothing, and
//! every change is audited with channel `cli` under the acting subject.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use control::audit::{AuditFilter, Channel, Outcome};
use std::process::{Command, Output};
use testkit::postgres::PrivatePostgres;

struct Cli {
    url: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pilothouse"))
            .env("PILOTHOUSE_DATABASE_URL", &self.url)
            .env("PILOTHOUSE_BOOTSTRAP_ADMIN", "admin")
            .env("PILOTHOUSE_LOG", "warn")
            .arg("admin")
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must work; returns its JSON output (null when it prints none).
    fn ok(&self, args: &[&str]) -> serde_json::Value {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        if output.stdout.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Runs a command that must be refused; returns what it printed on stderr.
    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "{args:?} should fail: {output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

#[tokio::test]
async fn administration_from_the_command_line() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-cli-pg");
    let pg = PrivatePostgres::start(&dir, true).unwrap();
    pg.ensure_database("pilothouse").unwrap();
    let cli = Cli {
        url: pg.url("pilothouse"),
    };

    let created = cli.ok(&["tenant", "create", "team-x", "--name", "Team X"]);
    assert_eq!(created["displayName"], "Team X");
    cli.ok(&["tenant", "create", "team-y"]);
    cli.ok(&["namespace", "assign", "x-prod", "--tenant", "team-x"]);
    cli.ok(&[
        "member", "add", "team-x", "--user", "erin", "--role", "viewer",
    ]);
    cli.ok(&[
        "member", "add", "team-x", "--group", "x-ops", "--role", "operator",
    ]);
    cli.ok(&["role", "grant", "auditor", "--group", "auditors"]);
    let members = cli.ok(&["member", "list", "team-x"]);
    assert_eq!(members.as_array().map(Vec::len), Some(2), "{members}");
    let tenants = cli.ok(&["tenant", "list"]);
    assert_eq!(
        tenants[0]["namespaces"],
        serde_json::json!(["x-prod"]),
        "{tenants}"
    );

    let refusals = [
        (
            &["tenant", "create", "team-x"][..],
            "tenant already exists: team-x",
        ),
        (&["tenant", "create", "Bad_Slug"][..], "Bad_Slug"),
        (
            &["tenant", "delete", "team-x"][..],
            "tenant team-x still owns namespaces x-prod",
        ),
        (
            &["namespace", "assign", "x-prod", "--tenant", "team-y"][..],
            "already belongs to tenant team-x",
        ),
        (
            &["role", "revoke", "platform-admin", "--user", "admin"][..],
            "the last platform-admin",
        ),
        (
            &["--as", "mallory", "tenant", "create", "mine"][..],
            "platform-admin",
        ),
        (
            &[
                "member", "add", "team-x", "--user", "erin", "--group", "g", "--role", "viewer",
            ][..],
            "cannot be used with",
        ),
        (
            &[
                "member", "add", "team-x", "--user", "erin", "--role", "root",
            ][..],
            "unknown role",
        ),
    ];
    for (args, says) in refusals {
        let stderr = cli.refused(args);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let tenants = cli.ok(&["tenant", "list"]);
    assert_eq!(
        tenants.as_array().map(Vec::len),
        Some(2),
        "refusals changed nothing: {tenants}"
    );

    cli.ok(&[
        "namespace",
        "assign",
        "x-prod",
        "--tenant",
        "team-y",
        "--move",
    ]);
    cli.ok(&["tenant", "delete", "team-x"]);
    let tenants = cli.ok(&["tenant", "list"]);
    assert_eq!(
        tenants,
        serde_json::json!([{ "slug": "team-y", "displayName": "team-y", "namespaces": ["x-prod"], "nestedFlux": false }])
    );
    // Nested Flux objects for a tenant, from the command line too (audited as any change).
    let allowed = cli.ok(&["tenant", "nested-flux", "team-y", "on"]);
    assert_eq!(allowed["nestedFlux"], true, "{allowed}");
    let forbidden = cli.ok(&["tenant", "nested-flux", "team-y", "off"]);
    assert_eq!(forbidden["nestedFlux"], false, "{forbidden}");

    let mut config = server::config::Config::default();
    config.database.url = Some(cli.url.clone());
    let service = control::Service::new(server::connect(&config).await.unwrap());
    let auditor = server::admin_cli::cli_context(&config, "admin");
    let rows = service
        .query_audit(
            &auditor,
            &AuditFilter {
                actor: Some("admin".into()),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .events;
    let outcome = |action: &str, outcome: Outcome| {
        rows.iter().any(|r| {
            r.event.action == action
                && r.event.outcome == Some(outcome)
                && r.event.channel == Channel::Cli
        })
    };
    assert!(outcome("tenant.create", Outcome::Success));
    assert!(outcome("namespace.move", Outcome::Success));
    assert!(
        outcome("tenant.delete", Outcome::Failure),
        "the refused delete is on record"
    );
    assert!(outcome("global-role.revoke", Outcome::Failure));
    let mallory = service
        .query_audit(
            &auditor,
            &AuditFilter {
                actor: Some("mallory".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .events;
    assert!(
        mallory
            .iter()
            .any(|r| r.event.outcome == Some(Outcome::Denied) && r.event.channel == Channel::Cli)
    );

    // A script's token, made without a browser: it signs its caller in, narrowed as asked.
    let issued = cli.ok(&[
        "--as",
        "erin",
        "token",
        "create",
        "nightly report",
        "--read-only",
        "--days",
        "7",
    ]);
    assert_eq!(issued["token"]["readOnly"], true, "{issued}");
    let secret = issued["secret"].as_str().unwrap();
    let principal = service.authenticate_token(secret).await.unwrap();
    assert_eq!(principal.subject, "erin");
    let stderr = cli.refused(&["token", "create", "forever", "--days", "100000"]);
    assert!(stderr.contains("expires in days"), "{stderr}");
}
