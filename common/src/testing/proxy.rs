//! A TCP proxy in front of a real local service (Postgres, RabbitMQ) that a test can cut and
//! restore, simulating that service going down for this test only: stopping the real server
//! would break every other test running at the same time.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::FutureExt;
use tokio::net::TcpStream;

use super::switchable::Switchable;

pub struct TcpProxy {
    server: Switchable,
}

impl TcpProxy {
    /// Forwards connections on a free local port to `upstream`, e.g. `127.0.0.1:5672`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let server = Switchable::start(Arc::new(move |mut client: TcpStream| {
            async move {
                // An upstream that is down looks like an outage to the client, as it should.
                if let Ok(mut service) = TcpStream::connect(upstream).await {
                    let _closed = tokio::io::copy_bidirectional(&mut client, &mut service).await;
                }
            }
            .boxed()
        }))
        .await?;
        Ok(Self { server })
    }

    /// The address clients should connect to instead of the upstream's.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Drops every proxied connection and refuses new ones.
    pub fn cut(&mut self) {
        self.server.stop();
    }

    /// Accepts and forwards connections again, on the same port.
    pub async fn restore(&mut self) -> anyhow::Result<()> {
        self.server.restart().await
    }
}
