//! Mutual TLS with a certificate authority the test makes itself: a valid client certificate
//! signs its caller in with its mapped roles (CN → subject, O → groups); a certificate from
//! an unknown authority, an expired one and none at all are refused.

use crate::support::TestEnv;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A certificate authority: its certificate and key.
struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("ca");
        Self { cert, key }
    }

    fn server(&self) -> (Certificate, KeyPair) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("server");
        (cert, key)
    }

    /// A client certificate for `cn` in `orgs` (rcgen keeps the last O of several), valid from `from` to `until` days from now.
    fn client(&self, cn: &str, orgs: &[&str], from: i64, until: i64) -> (Certificate, KeyPair) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        for org in orgs {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *org);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(from);
        params.not_after = now + time::Duration::days(until);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("client");
        (cert, key)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// A listener serving the test's router over TLS, with `require` deciding whether a
/// connection without a client certificate is refused.
async fn serve(env: &TestEnv, dir: &Path, ca: &Authority, require: bool) -> std::net::SocketAddr {
    std::fs::create_dir_all(dir).expect("dir");
    let (cert, key) = ca.server();
    let config = server::config::TlsConfig {
        cert: write(dir, "server.crt", &cert.pem()),
        key: write(dir, "server.key", &key.serialize_pem()),
        client_ca: Some(write(dir, "ca.crt", &ca.cert.pem())),
        require_client_cert: require,
    };
    let acceptor = server::tls::acceptor(&config).expect("acceptor");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(server::tls::serve(
        listener,
        acceptor,
        env.router.clone(),
        std::future::pending(),
    ));
    address
}

/// `GET path` over TLS, offering `client` if given: the status code and body, or why the
/// connection failed.
async fn get(
    address: std::net::SocketAddr,
    ca: &Authority,
    client: Option<&(Certificate, KeyPair)>,
    path: &str,
) -> Result<(u16, String), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[tokio::test]
async fn client_certificates_sign_in_and_bad_ones_are_refused() {
    let env = TestEnv::start("mtls", |_| {}).await;
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mtls-certs");
    let ca = Authority::new("Pilothouse Test CA");
    let address = serve(&env, &dir, &ca, false).await;

    // CN → subject, O → groups, each in the authority's own namespace.
    let bot = ca.client("ci-bot", &["release-managers"], -1, 30);
    let (status, body) = get(address, &ca, Some(&bot), "/o2dms/v1/me")
        .await
        .expect("a valid certificate is accepted");
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(me["subject"], "x509:Pilothouse Test CA/ci-bot");
    assert_eq!(
        me["groups"],
        json!(["x509:Pilothouse Test CA/release-managers"])
    );
    assert_eq!(me["issuer"], "x509:Pilothouse Test CA");

    // The same policy as every other principal: a group membership gives the certificate's
    // holder its role, and nothing more.
    let (status, body) = get(address, &ca, Some(&bot), "/o2dms/v1/tenants/team-a/members")
        .await
        .expect("answered");
    assert_eq!(status, 403, "no role on team-a yet: {body}");
    let admin = env.bearer("admin");
    let added = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-a/members",
            &admin,
            json!({ "group": "x509:Pilothouse Test CA/release-managers", "role": "admin" }),
        )
        .await;
    assert_eq!(added.status.as_u16(), 201, "{}", added.body);
    let (status, body) = get(address, &ca, Some(&bot), "/o2dms/v1/tenants/team-a/members")
        .await
        .expect("answered");
    assert_eq!(
        status, 200,
        "admin on team-a through O=release-managers: {body}"
    );
    let (status, _) = get(address, &ca, Some(&bot), "/o2dms/v1/global-roles")
        .await
        .expect("answered");
    assert_eq!(status, 403, "a tenant admin is not a platform-admin");

    // A certificate naming an admin's OIDC subject and the bootstrap group is neither: the
    // OIDC user `admin` and the OIDC group `platform-admins` hold roles it does not get.
    let granted = env
        .send_bearer(
            "POST",
            "/o2dms/v1/global-roles",
            &admin,
            json!({ "group": "platform-admins", "role": "platform-admin" }),
        )
        .await;
    assert_eq!(granted.status.as_u16(), 201, "{}", granted.body);
    let impostor = ca.client("admin", &["platform-admins"], -1, 30);
    for path in [
        "/o2dms/v1/global-roles",
        "/o2dms/v1/tenants/team-a/members",
        "/o2dms/v1/namespaces",
    ] {
        let (status, body) = get(address, &ca, Some(&impostor), path)
            .await
            .expect("answered");
        assert_eq!(
            status, 403,
            "{path} for CN=admin, O=platform-admins: {body}"
        );
    }
    let (_, body) = get(address, &ca, Some(&impostor), "/o2dms/v1/tenants")
        .await
        .expect("answered");
    assert_eq!(body.trim(), "[]", "no tenant is visible to it");
    // Only a grant naming the certificate identity gives it anything.
    let named = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-a/members",
            &admin,
            json!({ "user": "x509:Pilothouse Test CA/admin", "role": "viewer" }),
        )
        .await;
    assert_eq!(named.status.as_u16(), 201, "{}", named.body);
    let (_, body) = get(address, &ca, Some(&impostor), "/o2dms/v1/tenants")
        .await
        .expect("answered");
    assert!(body.contains("team-a"), "{body}");
    let (status, _) = get(address, &ca, Some(&impostor), "/o2dms/v1/global-roles")
        .await
        .expect("answered");
    assert_eq!(status, 403, "and nothing more");

    // Nor does an OpenID provider get to claim the certificate namespace.
    let issuer = env.idp.issuer();
    let now = chrono::Utc::now().timestamp();
    let claimed = env.mint(json!({ "iss": issuer, "aud": "pilothouse", "sub": "x509:Pilothouse Test CA/ci-bot", "iat": now, "exp": now + 300 }));
    let answer = env.get_bearer("/o2dms/v1/me", &claimed).await;
    assert_eq!(answer.status.as_u16(), 401, "{}", answer.body);
    let grouped = env.mint(
        json!({ "iss": issuer, "aud": "pilothouse", "sub": "mallory", "iat": now, "exp": now + 300,
        "groups": ["x509:Pilothouse Test CA/release-managers", "developers"] }),
    );
    let answer = env.get_bearer("/o2dms/v1/me", &grouped).await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    let me: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(
        me["groups"],
        json!(["developers"]),
        "the certificate group is dropped"
    );

    let stranger = Authority::new("Someone Else's CA");
    let forged = stranger.client("admin", &[], -1, 30);
    let refused = get(address, &ca, Some(&forged), "/o2dms/v1/me").await;
    assert!(
        refused.is_err(),
        "an unknown authority is refused: {refused:?}"
    );

    let expired = ca.client("ci-bot", &[], -30, -1);
    let refused = get(address, &ca, Some(&expired), "/o2dms/v1/me").await;
    assert!(
        refused.is_err(),
        "an expired certificate is refused: {refused:?}"
    );

    let (status, body) = get(address, &ca, None, "/o2dms/v1/me")
        .await
        .expect("without a certificate the connection stands");
    assert_eq!(status, 401, "but nobody is signed in: {body}");

    let strict = serve(&env, &dir.join("strict"), &ca, true).await;
    let refused = get(strict, &ca, None, "/o2dms/v1/me").await;
    assert!(
        refused.is_err(),
        "requireClientCert refuses no certificate: {refused:?}"
    );
    let (status, _) = get(strict, &ca, Some(&bot), "/o2dms/v1/me")
        .await
        .expect("and accepts a valid one");
    assert_eq!(status, 200);
}
