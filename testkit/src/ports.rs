//! Free loopback ports for servers started by tests and the demo.

use std::net::{Ipv4Addr, TcpListener};

/// A loopback TCP port that was free a moment ago (the OS picks it).
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
