//! A TCP server on a fixed local port that can be switched off and on again, to test how
//! clients behave while a dependency is down and after it comes back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Serves one accepted connection until it ends.
pub(crate) type Handler = Arc<dyn Fn(TcpStream) -> BoxFuture<'static, ()> + Send + Sync>;

pub(crate) struct Switchable {
    addr: SocketAddr,
    handler: Handler,
    server: Option<JoinHandle<()>>,
}

impl Switchable {
    /// Listens on a free port of 127.0.0.1.
    pub(crate) async fn start(handler: Handler) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind a test server")?;
        let addr = listener.local_addr()?;
        let server = Some(tokio::spawn(serve(listener, handler.clone())));
        Ok(Self {
            addr,
            handler,
            server,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener and every open connection: clients get "connection refused"
    /// and keep-alive connections break at once, as when the real service goes down.
    pub(crate) fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Serves again on the same port.
    pub(crate) async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        // The aborted task releases the port once the runtime has dropped it; retry briefly.
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => return Err(error).context("Failed to rebind a test server"),
            }
        };
        self.server = Some(tokio::spawn(serve(listener, self.handler.clone())));
        Ok(())
    }
}

impl Drop for Switchable {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accepts connections until aborted; aborting drops the JoinSet, which aborts every
/// connection task too.
async fn serve(listener: TcpListener, handler: Handler) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(handler(socket));
    }
}
