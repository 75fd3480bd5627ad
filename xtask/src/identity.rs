//! The demo identity provider for the demo and the end-to-end suite, and the server settings
//! that point Pilothouse at it.

use crate::step;
use anyhow::Context;
use std::io::Read;
use testkit::idp::{DemoIdp, DemoUser, IdpOptions};

/// The demo users, as the README lists them.
pub const DEMO_USERS: [(&str, &str); 5] = [
    ("admin", "platform-admin"),
    ("alice", "operator of team-a"),
    ("bob", "viewer of team-a and team-b"),
    ("carol", "auditor"),
    ("dave", "admin of team-b"),
];

/// A provider started for one Pilothouse at `public_url`.
#[derive(Debug)]
pub struct Identity {
    /// The running provider.
    pub idp: DemoIdp,
    /// Each demo user's password for this run.
    pub passwords: Vec<(String, String)>,
    client_secret: String,
    public_url: String,
}

impl Identity {
    /// Starts the provider with fresh random passwords for the demo users.
    pub fn start(public_url: &str) -> anyhow::Result<Self> {
        step("starting the demo identity provider");
        let passwords: Vec<(String, String)> = DEMO_USERS
            .iter()
            .map(|(login, _)| Ok(((*login).to_owned(), random_hex(9)?)))
            .collect::<anyhow::Result<_>>()?;
        let client_secret = random_hex(24)?;
        let users = passwords
            .iter()
            .map(|(login, password)| DemoUser {
                login: login.clone(),
                password: password.clone(),
                groups: vec!["demo".into()],
            })
            .collect();
        let idp = DemoIdp::start(&IdpOptions {
            client_id: "pilothouse".into(),
            client_secret: client_secret.clone(),
            redirect_uris: vec![format!("{public_url}/auth/callback")],
            logout_uris: vec![format!("{public_url}/auth/signed-out")],
            users,
            id_token_ttl_secs: 3600,
            key_file: None,
            port: None,
        })?;
        eprintln!("    issuer {}", idp.issuer());
        Ok(Self {
            idp,
            passwords,
            client_secret,
            public_url: public_url.to_owned(),
        })
    }

    /// The environment that points the server at this provider.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PILOTHOUSE_PUBLIC_URL", self.public_url.clone()),
            ("PILOTHOUSE_OIDC_ISSUER", self.idp.issuer()),
            ("PILOTHOUSE_OIDC_CLIENT_ID", "pilothouse".into()),
            ("PILOTHOUSE_OIDC_CLIENT_SECRET", self.client_secret.clone()),
            ("PILOTHOUSE_BOOTSTRAP_ADMIN", "admin".into()),
            // The demo serves plain HTTP on loopback; production keeps Secure cookies.
            ("PILOTHOUSE_INSECURE_COOKIE", "true".into()),
        ]
    }

    /// `login`'s password for this run.
    pub fn password(&self, login: &str) -> Option<&str> {
        self.passwords
            .iter()
            .find(|(l, _)| l == login)
            .map(|(_, p)| p.as_str())
    }
}

/// `bytes` random bytes as hex, from /dev/urandom.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0_u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("cannot read /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
