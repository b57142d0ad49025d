//! `ApiError`: every way a request can fail, mapped to a status code and the error envelope
//! `{"ok": false, "api_request_id", "message", "code"}`. Internal causes are logged with the
//! request's id and never sent to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::ALLOW;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::request_id;

/// Why a cover upload handle is refused (409 `cover_not_overridable`).
pub const COLLECTION_REFUSES_COVERS: &str =
    "the track's collection does not allow track covers (is_cover_overridable = false)";
pub const ORGANIZATION_REFUSES_COVERS: &str = "the organization does not allow covers of its \
     collections and tracks (is_cover_overridable = false)";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input; `code` says which kind (`invalid_json`, `invalid_field`, …).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("missing or malformed Authorization header, expected `Bearer <api key>`")]
    MissingKey,
    #[error("unknown or revoked API key")]
    InvalidKey,
    #[error("this API key is scoped to another collection")]
    OutOfScope,
    /// Unknown, or belonging to another organization: the two must look the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A known path asked with a method it does not serve; `allow` lists those it does.
    #[error("this path does not serve {method}; it serves {allow}")]
    MethodNotAllowed { method: String, allow: String },
    /// [`COLLECTION_REFUSES_COVERS`] or [`ORGANIZATION_REFUSES_COVERS`].
    #[error("{0}")]
    CoverNotOverridable(&'static str),
    /// The organization has `webhooks.max_endpoints` endpoints already: a well-formed request
    /// the organization's state refuses, hence 409, not 400.
    #[error("an organization may have at most {0} webhook endpoints; delete one first")]
    TooManyWebhookEndpoints(i64),
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the database is unavailable, try again later")]
    DatabaseUnavailable(#[source] anyhow::Error),
    #[error("the object store is unavailable, try again later")]
    StorageUnavailable(#[source] anyhow::Error),
    #[error("an internal error occurred")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The stable snake_case code clients can branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::MissingKey => "missing_api_key",
            Self::InvalidKey => "invalid_api_key",
            Self::OutOfScope => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::CoverNotOverridable(_) => "cover_not_overridable",
            Self::TooManyWebhookEndpoints(_) => "too_many_webhook_endpoints",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::DatabaseUnavailable(_) => "database_unavailable",
            Self::StorageUnavailable(_) => "storage_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

/// Pool checkouts fail only when no connection can be had (timeout, connect refused, database
/// not accepting connections): Postgres is unavailable, not broken.
impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::DatabaseUnavailable(
            anyhow::Error::new(error).context("Failed to get a database connection"),
        )
    }
}

/// A query error is an outage when the connection broke (no SQLSTATE), the server refuses
/// service (class 08 connection exception, 57P0x shutdown/cannot-connect, 53 resources), or
/// the statement lost a lock conflict that the next try will likely win (40P01 deadlock,
/// 40001 serialization failure, 55P03 lock timeout, as during a migration); anything else is
/// a bug or a constraint the handler did not expect.
impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        let unavailable = match error.code() {
            None => true,
            Some(state) => {
                let code = state.code();
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code.starts_with("53")
                    || ["40P01", "40001", "55P03"].contains(&code)
            }
        };
        let error = anyhow::Error::new(error).context("Failed to run a database query");
        if unavailable {
            Self::DatabaseUnavailable(error)
        } else {
            Self::Internal(error)
        }
    }
}

/// The error envelope, as documented in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub ok: bool,
    pub api_request_id: Uuid,
    pub message: String,
    /// Stable snake_case error code.
    pub code: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::MissingKey | Self::InvalidKey => StatusCode::UNAUTHORIZED,
            Self::OutOfScope => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::CoverNotOverridable(_) | Self::TooManyWebhookEndpoints(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::DatabaseUnavailable(_) | Self::StorageUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // Runs inside the request's span, so these lines carry its api_request_id.
        match self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "Request failed"),
            Self::DatabaseUnavailable(cause) => {
                tracing::warn!(error = ?cause, "Database unavailable")
            }
            Self::StorageUnavailable(cause) => {
                tracing::warn!(error = ?cause, "Object store unavailable")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Self::MethodNotAllowed { allow, .. } = self {
            response.insert_header((ALLOW, allow.as_str()));
        }
        response.json(ErrorBody {
            ok: false,
            api_request_id: request_id::current(),
            message: self.to_string(),
            code: self.code().to_owned(),
        })
    }
}
