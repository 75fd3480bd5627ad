//! A TCP proxy between one replica and Postgres that can stall chosen connections the way a
//! hung network path does: bytes stop flowing both ways and nothing is closed, so the replica
//! cannot tell (this is how the soak stalls the access NOTIFY listener).

use anyhow::Context;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct Proxy {
    /// Where the replica connects.
    pub port: u16,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// The local ports of the proxy's connections to Postgres (as `pg_stat_activity` shows
    /// them in `client_port`).
    upstream: Mutex<HashSet<u16>>,
    /// Those currently stalled.
    stalled: Mutex<HashSet<u16>>,
}

impl State {
    fn is_stalled(&self, port: u16) -> bool {
        self.stalled.lock().is_ok_and(|s| s.contains(&port))
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State::default());
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = accepting.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        forward(client, server, state).await;
                    }
                });
            }
        });
        Ok(Self { port, state })
    }

    /// Of `ports` (client ports Postgres reports), those that are this proxy's connections.
    pub fn own(&self, ports: &[u16]) -> Vec<u16> {
        let upstream = self
            .state
            .upstream
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default();
        ports
            .iter()
            .copied()
            .filter(|p| upstream.contains(p))
            .collect()
    }

    /// Stops the connections on `ports` for `duration`, then lets them flow again.
    pub async fn stall(&self, ports: &[u16], duration: Duration) -> anyhow::Result<()> {
        self.state
            .stalled
            .lock()
            .ok()
            .context("the proxy's state is poisoned")?
            .extend(ports);
        tokio::time::sleep(duration).await;
        self.state
            .stalled
            .lock()
            .ok()
            .context("the proxy's state is poisoned")?
            .clear();
        Ok(())
    }
}

async fn forward(client: TcpStream, server: TcpStream, state: Arc<State>) {
    let Ok(local) = server.local_addr() else {
        return;
    };
    let port = local.port();
    if let Ok(mut upstream) = state.upstream.lock() {
        upstream.insert(port);
    }
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        () = pump(client_read, server_write, port, &state) => {}
        () = pump(server_read, client_write, port, &state) => {}
    }
    if let Ok(mut upstream) = state.upstream.lock() {
        upstream.remove(&port);
    }
}

/// Copies one direction, holding what it read while the connection is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    port: u16,
    state: &State,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while state.is_stalled(port) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
