//! The one `AppState` every handler receives: the database pool, the object store, the `api`
//! settings and what is derived from them. Registered once in `startup`.

use common::storage::Storage;
use deadpool_postgres::Pool;

use crate::settings::ApiSettings;

pub struct AppState {
    pub pool: Pool,
    pub storage: Storage,
    pub api: ApiSettings,
    /// The cover lab's Content-Security-Policy (`routes::lab`), made once from the settings.
    pub lab_policy: String,
}
