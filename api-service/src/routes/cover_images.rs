//! The cover images (renditions) of applied uploads, served without an API key.

pub mod get;
