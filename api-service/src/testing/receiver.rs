//! A webhook receiver for tests: records every request it is sent and answers with the
//! status, after the delay, the test sets; it can be taken down (connections refused) and
//! brought back on the same port.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
    /// When it arrived.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
    /// Requests whose `webhook-id` hashes to 0 modulo this are answered after `delay_ms`
    /// (0: every request).
    slow_one_in: AtomicU64,
}

pub struct Receiver {
    pub url: String,
    address: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<ServerHandle>>,
}

impl Receiver {
    /// Listens on a free loopback port, answering 200 until told otherwise.
    pub fn start() -> Self {
        let shared = Arc::new(Shared {
            status: AtomicU16::new(200),
            ..Shared::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().unwrap();
        let server = serve(listener, &shared);
        Self {
            url: format!("http://{address}/hook"),
            address,
            shared,
            server: Mutex::new(Some(server)),
        }
    }

    /// Stops listening: connections are refused until [`Receiver::restart`].
    pub async fn stop(&self) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            server.stop(false).await;
        }
    }

    /// Listens again on the same port.
    pub fn restart(&self) {
        let listener = TcpListener::bind(self.address).expect("the receiver's port");
        *self.server.lock().unwrap() = Some(serve(listener, &self.shared));
    }

    /// Answers about one request in `n` (chosen by `webhook-id`) only after `delay`.
    pub fn slow_one_in(&self, n: u64, delay: Duration) {
        self.shared.slow_one_in.store(n, Ordering::SeqCst);
        self.delay(delay);
    }

    /// Answers every later request with `status`.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Answers every later request only after `delay`.
    pub fn delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(millis, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        common::testing::wait_until(
            &format!("{count} webhook requests"),
            async || self.received(),
            |received| received.len() >= count,
        )
        .await
    }
}

fn serve(listener: TcpListener, shared: &Arc<Shared>) -> ServerHandle {
    let data = web::Data::from(Arc::clone(shared));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(receive))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("receiver listening")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    handle
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let slow_one_in = shared.slow_one_in.load(Ordering::SeqCst);
    let slow = slow_one_in == 0 || {
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        hasher.finish().is_multiple_of(slow_one_in)
    };
    shared.received.lock().unwrap().push(Received {
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: chrono::Utc::now(),
    });
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 && slow {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = actix_web::http::StatusCode::from_u16(shared.status.load(Ordering::SeqCst))
        .unwrap_or(actix_web::http::StatusCode::OK);
    HttpResponse::build(status).finish()
}
