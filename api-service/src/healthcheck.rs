//! `api-service healthcheck`: asks the local server's `/healthz`, for container health checks
//! in images that ship no curl. A bare HTTP/1.0 request is all it takes; no client crate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;

/// Covers a loaded server; orchestrators give the whole check a few seconds more.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Ok when `GET /healthz` on 127.0.0.1:`port` answers 200.
pub fn check(port: u16) -> anyhow::Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .with_context(|| format!("Failed to connect to {address}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .context("Failed to send the health check")?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .context("Failed to read the health check answer")?;
    // "HTTP/1.x 200"
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.") && &head[8..12] == b" 200",
        "/healthz answered {:?}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}
