//! The color-worker: consumes MinIO bucket notifications from RabbitMQ, extracts a cover's
//! colors, stores its renditions and applies both to its collection or track; deletes the
//! objects of covers nothing shows any more (`retention`).

pub mod backfill;
pub mod budget;
pub mod cli;
pub mod consumer;
pub mod cover;
pub mod decode;
pub mod http;
pub mod metrics;
pub mod outcome;
pub mod palette;
pub mod process;
pub mod reconcile;
pub mod renditions;
pub mod resize;
pub mod retention;
pub mod settings;
pub mod startup;
pub mod topology;
