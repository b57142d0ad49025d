//! Integration tests of the worker against the real Postgres and RabbitMQ and an in-process
//! S3 store (and of the API with it, end to end); one binary so the suite links once and
//! `support` is compiled once.

mod broker_restart;
mod chaos;
mod cli;
mod cover_images;
mod crash_safety;
mod end_to_end;
// The memory-hostile images, shared with the end-to-end benchmark.
mod generated_clients;
#[path = "../../benches/hostile.rs"]
mod hostile;
mod hostile_clients;
mod lab_browser;
mod organizations;
mod palette;
mod processing;
mod resilience;
mod support;
mod theme;
mod webhooks;
