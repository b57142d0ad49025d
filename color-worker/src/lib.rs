//! The color-worker: consumes MinIO bucket notifications from RabbitMQ, extracts a cover's
//! colors and applies them to its collection or track.

pub mod budget;
pub mod cli;
pub mod consumer;
pub mod http;
pub mod metrics;
pub mod outcome;
pub mod palette;
pub mod process;
pub mod reconcile;
pub mod settings;
pub mod startup;
pub mod topology;
