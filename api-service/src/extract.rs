//! Request input with precise errors: JSON bodies, path ids and list paging. Serde's own
//! messages rarely name the field at fault ("invalid type: string, expected i32 at line 1
//! column 9"), so deserialization goes through `serde_path_to_error` and every message starts
//! with the field's path.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body of type `T` (which should `deny_unknown_fields`), at most
/// `api.json_body_limit` bytes (the app's `PayloadConfig`).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|essence| essence.trim().to_ascii_lowercase())
            .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"));
        // Same value as the app's PayloadConfig, which `Bytes` enforces; kept for the message.
        let limit = request
            .app_data::<actix_web::web::Data<AppState>>()
            .map_or(0, |state| state.api.json_body_limit);
        let bytes = Bytes::from_request(request, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = bytes
                .await
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(limit),
                    _ => ApiError::bad_request(
                        "invalid_body",
                        format!("could not read the request body: {error}"),
                    ),
                })?;
            parse_json(&bytes).map(Body)
        })
    }
}

/// Parses a JSON document, naming the field at fault in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(
                "invalid_json",
                format!("request body is not valid JSON: {inner}"),
            )
        } else if path == "." {
            ApiError::bad_request("invalid_field", format!("invalid request body: {inner}"))
        } else {
            ApiError::bad_request(
                "invalid_field",
                format!("invalid value for `{path}`: {inner}"),
            )
        }
    })
}

/// Parses a path segment that must be a UUID; `name` is the parameter's documented name.
pub fn id(name: &str, raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("`{name}` in the path must be a UUID"))
    })
}

/// Checks what serde cannot: the three `player_color*` fields are `#RRGGBB` and `metadata`
/// is an object.
pub fn theme_fields(
    colors: [(&str, Option<&String>); 3],
    metadata: Option<&serde_json::Value>,
) -> Result<(), ApiError> {
    for (name, value) in colors {
        if value.is_some_and(|value| !common::colors::is_hex_color(value)) {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("`{name}` must be a color of the form #RRGGBB"),
            ));
        }
    }
    if metadata.is_some_and(|metadata| !metadata.is_object()) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "`metadata` must be a JSON object",
        ));
    }
    Ok(())
}

/// `limit` and `offset` of list endpoints.
#[derive(Debug, Clone, Copy, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Items per page, 1–200.
    #[param(default = 50, minimum = 1, maximum = 200)]
    pub limit: i64,
    /// Items to skip, ≥ 0.
    #[param(default = 0, minimum = 0)]
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
        }
    }
}

impl Page {
    pub const MAX_LIMIT: i64 = 200;

    /// Parses and range-checks the query string. Parsed by hand rather than through serde
    /// because serde_urlencoded's errors ("invalid digit found in string") never name the
    /// parameter.
    pub fn from_query(query: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|error| {
            ApiError::bad_request("invalid_query", format!("malformed query string: {error}"))
        })?;
        let mut page = Self::default();
        for (name, value) in pairs {
            let number = value.parse::<i64>();
            match name.as_str() {
                "limit" => match number {
                    Ok(limit) if (1..=Self::MAX_LIMIT).contains(&limit) => page.limit = limit,
                    _ => {
                        return Err(ApiError::bad_request(
                            "invalid_query",
                            format!(
                                "`limit` must be an integer between 1 and {}",
                                Self::MAX_LIMIT
                            ),
                        ));
                    }
                },
                "offset" => match number {
                    Ok(offset) if offset >= 0 => page.offset = offset,
                    _ => {
                        return Err(ApiError::bad_request(
                            "invalid_query",
                            "`offset` must be an integer, 0 or greater",
                        ));
                    }
                },
                other => {
                    return Err(ApiError::bad_request(
                        "invalid_query",
                        format!("unknown query parameter `{other}`"),
                    ));
                }
            }
        }
        Ok(page)
    }
}

impl FromRequest for Page {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::from_query(request.query_string()))
    }
}
