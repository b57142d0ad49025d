//! What both services need, or what is a contract between them: configuration, telemetry,
//! the database pool and migrations, the `cover_uploads` state machine, object keys and the
//! object-store wrapper, the MinIO event contract, the color types and the renditions' contract.

pub mod colors;
pub mod db;
pub mod events;
pub mod health;
pub mod keys;
pub mod renditions;
pub mod settings;
pub mod storage;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod theme;
pub mod uploads;
