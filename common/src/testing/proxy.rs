//! The one way a test cuts a dependency: a TCP proxy in front of a real service (Postgres, the
//! test's S3 server) that the code under test connects through. Cutting it looks to that
//! code like the service going down — connections refused, open ones broken at once — while
//! the service itself stays up for the test's own checks and for every other test.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct TcpProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Forwards connections on a free port of 127.0.0.1 to `upstream`, e.g. `127.0.0.1:5432`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind a test proxy")?;
        let addr = listener.local_addr()?;
        Ok(Self {
            addr,
            upstream,
            server: Some(tokio::spawn(forward(listener, upstream))),
        })
    }

    /// The address clients should connect to instead of the upstream's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (a database URL, an S3 endpoint) with the upstream's address replaced by the
    /// proxy's: the same service, reached through this proxy.
    pub fn route(&self, url: &str) -> String {
        let upstream = self.upstream.to_string();
        assert!(url.contains(&upstream), "{url} does not lead to {upstream}");
        url.replace(&upstream, &self.addr.to_string())
    }

    /// Closes the listener and every proxied connection: clients get "connection refused"
    /// and keep-alive connections break at once, as when the real service goes down.
    pub fn cut(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Accepts and forwards connections again, on the same port.
    pub async fn restore(&mut self) -> anyhow::Result<()> {
        self.cut();
        // The aborted task releases the port once the runtime has dropped it; retry briefly.
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => return Err(error).context("Failed to rebind a test proxy"),
            }
        };
        self.server = Some(tokio::spawn(forward(listener, self.upstream)));
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn forward(listener: TcpListener, upstream: SocketAddr) {
    super::serve(listener, move |mut client: TcpStream| async move {
        // An upstream that is down looks like an outage to the client, as it should.
        if let Ok(mut service) = TcpStream::connect(upstream).await {
            let _closed = tokio::io::copy_bidirectional(&mut client, &mut service).await;
        }
    })
    .await;
}
