//! What the API returns besides the `common::db` rows themselves: the success envelope and
//! the upload handle.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `{"ok": true, "api_request_id", …body}`: the success envelope of every endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    ok: bool,
    api_request_id: Uuid,
    #[serde(flatten)]
    body: T,
}

impl<T: Serialize> Envelope<T> {
    pub fn new(body: T) -> Self {
        Self {
            ok: true,
            api_request_id: crate::request_id::current(),
            body,
        }
    }
}

impl<T: Serialize> actix_web::Responder for Envelope<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok().json(self)
    }
}

/// An upload handle: POST `multipart/form-data` to `upload_url` with every entry of `fields`,
/// a `Content-Type` field starting with `image/`, and the image last, in `file_field`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadHandle {
    /// Always `POST`.
    pub method: &'static str,
    pub upload_url: String,
    /// Seconds the handle stays valid.
    pub ttl: u32,
    pub expires_at: DateTime<Utc>,
    /// The cover upload id, for `GET /v1/cover_upload/{id}`.
    pub id: Uuid,
    /// S3 POST-policy form fields, to send verbatim.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Always `file`.
    pub file_field: &'static str,
    pub max_bytes: u32,
}
