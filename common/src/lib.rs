//! What both services share: configuration, telemetry, the database pool and queries,
//! the object-store wrapper, the MinIO event contract and the color types.

pub mod colors;
pub mod events;
pub mod settings;
