//! HTTPS served by Pilothouse itself (`server.tls`), and with `clientCa`, client certificates:
//! a certificate the configured authorities signed, in its validity period, signs its caller
//! in as `x509:<issuer CN>/<CN>`, in the groups `x509:<issuer CN>/<O>`. Certificate identities
//! live in their own namespace, so no certificate, whatever it names, is an OIDC user or
//! group: grants name certificate identities explicitly.

use crate::config::TlsConfig;
use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use control::access::Principal;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use x509_cert::der::Decode;
use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use x509_cert::name::Name;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections may finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The caller a verified client certificate names and when the certificate ends, attached to
/// each request of its connection (the gate reads it).
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Result<(Principal, chrono::DateTime<chrono::Utc>), String>);

/// The TLS settings: the server's certificate and key, and with `client_ca` a verifier that
/// checks client certificates when they are offered (and, with `require_client_cert`,
/// refuses connections without one).
pub fn acceptor(config: &TlsConfig) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_file_iter(&config.cert)
        .with_context(|| format!("cannot read server.tls.cert {}", config.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("server.tls.cert {} is not PEM", config.cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "server.tls.cert {} holds no certificate",
        config.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&config.key).with_context(|| {
        format!(
            "cannot read a private key from server.tls.key {}",
            config.key.display()
        )
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("no TLS protocol versions")?;
    let builder = match &config.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read server.tls.clientCa {}", path.display()))?
            {
                let ca = ca.with_context(|| {
                    format!("server.tls.clientCa {} is not PEM", path.display())
                })?;
                roots.add(ca).with_context(|| {
                    format!(
                        "server.tls.clientCa {} holds an unusable certificate",
                        path.display()
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if config.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .context("server.tls.clientCa cannot verify client certificates")?,
            )
        }
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .context("server.tls.cert and server.tls.key do not make a usable pair")?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// What every certificate identity (issuer, subject and groups) starts with; nothing an
/// OpenID provider vouches for may (the OIDC sign-in refuses such subjects and drops such
/// groups).
pub use control::access::X509_PREFIX;

/// The principal a client certificate (DER) names, and the end of its validity.
pub fn principal_of(
    certificate: &[u8],
) -> Result<(Principal, chrono::DateTime<chrono::Utc>), String> {
    let certificate = x509_cert::Certificate::from_der(certificate)
        .map_err(|e| format!("the client certificate cannot be read: {e}"))?;
    let tbs = &certificate.tbs_certificate;
    let subject = attribute(&tbs.subject, x509_cert::der::oid::db::rfc4519::CN)
        .into_iter()
        .next()
        .ok_or("the client certificate has no CN: issue it with the CN of the user it signs in")?;
    let groups = attribute(&tbs.subject, x509_cert::der::oid::db::rfc4519::O);
    let authority = attribute(&tbs.issuer, x509_cert::der::oid::db::rfc4519::CN)
        .into_iter()
        .next()
        .unwrap_or_else(|| tbs.issuer.to_string());
    let seconds = tbs.validity.not_after.to_unix_duration().as_secs();
    let not_after = i64::try_from(seconds)
        .ok()
        .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let principal = Principal {
        issuer: format!("{X509_PREFIX}{authority}"),
        subject: format!("{X509_PREFIX}{authority}/{subject}"),
        email: None,
        name: Some(subject),
        groups: groups
            .into_iter()
            .map(|group| format!("{X509_PREFIX}{authority}/{group}"))
            .collect(),
        narrowing: None,
    };
    Ok((principal, not_after))
}

/// Every value of one attribute in a distinguished name, as text.
fn attribute(name: &Name, oid: x509_cert::der::oid::ObjectIdentifier) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|attribute| attribute.oid == oid)
        .filter_map(|attribute| {
            let value = &attribute.value;
            value
                .decode_as::<Utf8StringRef<'_>>()
                .map(|s| s.as_str().to_owned())
                .or_else(|_| {
                    value
                        .decode_as::<PrintableStringRef<'_>>()
                        .map(|s| s.as_str().to_owned())
                })
                .or_else(|_| {
                    value
                        .decode_as::<Ia5StringRef<'_>>()
                        .map(|s| s.as_str().to_owned())
                })
                .ok()
        })
        .collect()
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then lets open
/// connections finish (up to [`DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        crate::no_delay(&mut stream);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::info!(%error, %peer, "TLS handshake refused");
                        return;
                    }
                    Err(_) => {
                        tracing::info!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| ClientCertificate(principal_of(leaf)));
            let service =
                router.map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    if let Some(certificate) = &certificate {
                        request.extensions_mut().insert(certificate.clone());
                    }
                    request
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HANDSHAKE_TIMEOUT)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// The address a TLS listener reports, for logs.
pub fn describe(config: &TlsConfig, listen: SocketAddr) -> String {
    match (&config.client_ca, config.require_client_cert) {
        (None, _) => format!("https://{listen}"),
        (Some(_), false) => format!("https://{listen} (client certificates accepted)"),
        (Some(_), true) => format!("https://{listen} (client certificates required)"),
    }
}
