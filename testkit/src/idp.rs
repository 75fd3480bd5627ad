//! The demo OpenID provider (`idp/server.mjs`, the certified `oidc-provider`) as a child
//! process on a free port, for the demo and the tests. Its Node packages must be installed
//! (`cargo xtask setup` does that).

use crate::ports::free_port;
use crate::process::CommandError;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A demo user: login name (also the OIDC subject), password and claims.
#[derive(Debug, Clone)]
pub struct DemoUser {
    /// Login name and subject.
    pub login: String,
    /// Password for the login form.
    pub password: String,
    /// The groups claim.
    pub groups: Vec<String>,
}

/// How to start the provider.
#[derive(Debug, Clone)]
pub struct IdpOptions {
    /// The client's id.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: String,
    /// Allowed redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URIs.
    pub logout_uris: Vec<String>,
    /// The users who may sign in.
    pub users: Vec<DemoUser>,
    /// ID token lifetime in seconds.
    pub id_token_ttl_secs: u64,
    /// Where to write its private signing key, for minting test tokens.
    pub key_file: Option<PathBuf>,
    /// A fixed port (to restart a provider with new keys at the same issuer); free when None.
    pub port: Option<u16>,
}

/// Why the provider could not be started.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// Node or the provider's packages are missing.
    #[error(
        "cannot start the demo identity provider ({0}); install Node.js 20+ and run `cargo xtask setup`"
    )]
    Missing(String),
    /// It did not answer discovery in time.
    #[error("the demo identity provider did not answer on port {0} within 20 s")]
    NotReady(u16),
    /// A command failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// A running provider; it is stopped when dropped.
#[derive(Debug)]
pub struct DemoIdp {
    child: Child,
    port: u16,
    key_file: Option<PathBuf>,
}

impl DemoIdp {
    /// The `idp/` directory of this workspace.
    pub fn dir() -> PathBuf {
        let testkit = Path::new(env!("CARGO_MANIFEST_DIR"));
        testkit.parent().unwrap_or(testkit).join("idp")
    }

    /// Starts the provider on a free port and waits for its discovery document.
    pub fn start(options: &IdpOptions) -> Result<Self, IdpError> {
        let dir = Self::dir();
        if !dir.join("node_modules").join("oidc-provider").is_dir() {
            return Err(IdpError::Missing(format!(
                "{}/node_modules is not installed",
                dir.display()
            )));
        }
        let port = match options.port {
            Some(port) => port,
            None => free_port().map_err(|e| IdpError::Missing(e.to_string()))?,
        };
        let users: Vec<String> = options
            .users
            .iter()
            .map(|u| {
                format!(
                    "{}:{{\"password\":{},\"groups\":[{}]}}",
                    json_string(&u.login),
                    json_string(&u.password),
                    u.groups
                        .iter()
                        .map(|g| json_string(g))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
            .collect();
        let mut cmd = Command::new("node");
        cmd.arg("server.mjs")
            .current_dir(&dir)
            .env("IDP_PORT", port.to_string())
            .env("IDP_CLIENT_ID", &options.client_id)
            .env("IDP_CLIENT_SECRET", &options.client_secret)
            .env("IDP_REDIRECT_URIS", options.redirect_uris.join(","))
            .env("IDP_LOGOUT_URIS", options.logout_uris.join(","))
            .env("IDP_USERS", format!("{{{}}}", users.join(",")))
            .env("IDP_ID_TOKEN_TTL", options.id_token_ttl_secs.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(key_file) = &options.key_file {
            cmd.env("IDP_KEY_FILE", key_file);
        }
        let child = cmd
            .spawn()
            .map_err(|e| IdpError::Missing(format!("node: {e}")))?;
        let mut idp = Self {
            child,
            port,
            key_file: options.key_file.clone(),
        };
        idp.wait_ready()?;
        Ok(idp)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The issuer URL.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Signs `claims` (a JSON object) with the provider's own key, for tests.
    pub fn mint(&self, claims: &str) -> Result<String, IdpError> {
        let key_file = self
            .key_file
            .as_ref()
            .ok_or_else(|| IdpError::Missing("no key file was requested".into()))?;
        let out = crate::process::run_captured(
            Command::new("node")
                .arg("mint.mjs")
                .arg(key_file)
                .arg(claims)
                .current_dir(Self::dir()),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn wait_ready(&mut self) -> Result<(), IdpError> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(IdpError::Missing(format!("it exited with {status}")));
            }
            if discovery_answers(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(IdpError::NotReady(self.port))
    }
}

impl DemoIdp {
    /// Stops the provider (also done on drop).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DemoIdp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn discovery_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
