//! The one `AppState` every handler receives: the database pool, the object store and the
//! `api` settings. Registered once in `startup`.

use common::storage::Storage;
use deadpool_postgres::Pool;

use crate::settings::ApiSettings;

pub struct AppState {
    pub pool: Pool,
    pub storage: Storage,
    pub api: ApiSettings,
}
