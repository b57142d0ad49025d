//! The one `AppState` every handler receives: the database pool, the object store, the `api`
//! settings and what is derived from them. Registered once in `startup`.

use std::sync::Arc;

use common::storage::Storage;
use deadpool_postgres::Pool;
use tokio::sync::Semaphore;

use crate::settings::{ApiSettings, WebhookSettings};

pub struct AppState {
    pub pool: Pool,
    pub storage: Storage,
    pub api: ApiSettings,
    pub webhooks: WebhookSettings,
    /// The cover lab's Content-Security-Policy (`routes::lab`), made once from the settings.
    pub lab_policy: String,
    /// Slots for streaming cover images from the store (`api.cover_fetch_concurrency`).
    pub cover_fetches: Arc<Semaphore>,
}
