//! `/v1/cover_upload/{id}`: following an upload from handle to applied colors.

pub mod get;
