//! Reading request input with errors that name the input at fault: JSON bodies, path ids and
//! list paging. Serde's own messages rarely name the field at fault ("invalid type: string,
//! expected i32 at line 1 column 9"), so deserialization goes through `serde_path_to_error`
//! and every message starts with the field's path. What fields may hold beyond their JSON
//! types is in `bodies`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::{self, DeserializeOwned, IgnoredAny, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};
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

/// Parses a JSON document, naming the field at fault in the error. A string or key holding
/// U+0000 is refused too, whatever the field: every body ends up in PostgreSQL `text` or
/// `jsonb`, which cannot store it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(deserializer).map_err(|error| {
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
    })?;
    // Only a valid document gets here, which the scan relies on.
    if contains_nul_escape(bytes) {
        let message = match nul_path(bytes) {
            Some(path) => format!("`{path}` contains U+0000 (NUL), which cannot be stored"),
            None => "the request body contains U+0000 (NUL), which cannot be stored".to_owned(),
        };
        return Err(ApiError::bad_request("invalid_field", message));
    }
    Ok(parsed)
}

/// True when a valid JSON document holds U+0000, which JSON can only write as the escape
/// `\u0000`: in valid JSON a backslash always starts an escape of two or six bytes, so
/// stepping over escapes tells `\u0000` from an escaped backslash followed by `u0000`.
fn contains_nul_escape(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&byte| byte == b'\\') {
        if rest[at + 1..].starts_with(b"u0000") {
            return true;
        }
        rest = &rest[(at + 2).min(rest.len())..];
    }
    false
}

/// The path of the first string or key holding U+0000, like `metadata.notes[2]`, to name it
/// in the error; `None` if the document has a number `serde_json::Value` cannot hold.
fn nul_path(bytes: &[u8]) -> Option<String> {
    fn walk(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(text) => text.contains('\0').then_some(path),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(index, item)| walk(item, format!("{path}[{index}]"))),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(key, field)| {
                let path = match path.as_str() {
                    "" => key.clone(),
                    _ => format!("{path}.{key}"),
                };
                match key.contains('\0') {
                    true => Some(path),
                    false => walk(field, path),
                }
            }),
            _ => None,
        }
    }
    walk(&serde_json::from_slice(bytes).ok()?, String::new())
}

/// Parses a path segment that must be a UUID; `name` is the parameter's documented name.
pub fn id(name: &str, raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("`{name}` in the path must be a UUID"))
    })
}

/// `deserialize_with` for a field that may not be sent at all: true when it is present, with
/// any value (even null), so the handler can refuse it with a message of its own.
pub fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The integer types of body fields, with their ranges for [`integer`]'s messages.
pub trait Integer: TryFrom<i64> {
    const MIN: i64;
    const MAX: i64;
}

impl Integer for u8 {
    const MIN: i64 = 0;
    const MAX: i64 = 255;
}

impl Integer for i32 {
    const MIN: i64 = i32::MIN as i64;
    const MAX: i64 = i32::MAX as i64;
}

/// `deserialize_with` for integer fields. JSON Schema counts `255.0` as the integer 255, so a
/// client generated from the OpenAPI document may send it; serde alone would refuse it.
pub fn integer<'de, D: Deserializer<'de>, T: Integer>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_any(IntegerVisitor(PhantomData))
}

/// [`integer`] for an optional field (with `#[serde(default)]`): null or absent is `None`.
pub fn optional_integer<'de, D: Deserializer<'de>, T: Integer>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_option(OptionalInteger(PhantomData))
}

struct IntegerVisitor<T>(PhantomData<T>);

impl<T: Integer> Visitor<'_> for IntegerVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "an integer from {} to {}", T::MIN, T::MAX)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        let unexpected = || E::invalid_value(Unexpected::Unsigned(value), &self);
        let value = i64::try_from(value).map_err(|_| unexpected())?;
        T::try_from(value).map_err(|_| unexpected())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        // Only whole numbers within range; the cast cannot saturate below 2^63.
        if value.fract() != 0.0 || value.abs() >= 2f64.powi(63) {
            return Err(E::invalid_value(Unexpected::Float(value), &self));
        }
        T::try_from(value as i64).map_err(|_| E::invalid_value(Unexpected::Float(value), &self))
    }
}

struct OptionalInteger<T>(PhantomData<T>);

impl<'de, T: Integer> Visitor<'de> for OptionalInteger<T> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(
            formatter,
            "null or an integer from {} to {}",
            T::MIN,
            T::MAX
        )
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        integer(deserializer).map(Some)
    }
}

/// `limit` and `offset` of list endpoints.
#[derive(Debug, Clone, Copy, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Items per page, 1–200.
    #[param(required = false, default = 50, minimum = 1, maximum = 200)]
    pub limit: i64,
    /// Items to skip, ≥ 0.
    #[param(
        required = false,
        default = 0,
        minimum = 0,
        maximum = 9223372036854775807_i64
    )]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_as_an_escape_and_not_in_an_escaped_backslash() {
        assert!(contains_nul_escape(br#"{"a": "x\u0000"}"#));
        assert!(contains_nul_escape(br#"{"a\\\u0000": 1}"#));
        assert!(!contains_nul_escape(br#"{"a": "x\\u0000"}"#));
        assert!(!contains_nul_escape(br#"{"a": "\\"}"#));
    }

    #[test]
    fn a_nul_is_refused_naming_where_it_is() {
        let body = br#"{"metadata": {"notes": ["ok", "a\u0000"]}}"#;
        let error = parse_json::<serde_json::Value>(body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`metadata.notes[1]` contains U+0000 (NUL), which cannot be stored"
        );
    }

    #[derive(Debug, Deserialize)]
    struct Numbers {
        #[serde(deserialize_with = "integer")]
        small: u8,
        #[serde(default, deserialize_with = "optional_integer")]
        big: Option<i32>,
    }

    #[test]
    fn integers_may_be_written_as_whole_floats_within_range() {
        let numbers: Numbers = parse_json(br#"{"small": 255.0, "big": -3e3}"#).unwrap();
        assert_eq!((numbers.small, numbers.big), (255, Some(-3000)));
        let numbers: Numbers = parse_json(br#"{"small": 0, "big": null}"#).unwrap();
        assert_eq!((numbers.small, numbers.big), (0, None));
        for body in [
            r#"{"small": 256}"#,
            r#"{"small": 1.5}"#,
            r#"{"small": -1}"#,
            r#"{"small": 1, "big": 2147483648}"#,
            r#"{"small": 1, "big": 1e300}"#,
        ] {
            let error = parse_json::<Numbers>(body.as_bytes()).unwrap_err();
            assert!(
                error.to_string().contains("an integer from"),
                "{body}: {error}"
            );
        }
    }
}
