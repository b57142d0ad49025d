//! What both services share: configuration, telemetry, the database pool and queries,
//! the object-store wrapper, the MinIO event contract and the color types.

pub mod colors;
pub mod db;
pub mod events;
pub mod settings;
pub mod storage;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
