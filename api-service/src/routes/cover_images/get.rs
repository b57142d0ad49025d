//! `GET /v1/cover_image/{cover_upload_id}/{generation}/{size}` (and `HEAD`): a rendition's
//! bytes from the object store, for `<img src>` and `<canvas>`. No API key: the unguessable
//! upload id is the capability, as on the vendor's CDN. The bytes under one URL never change
//! (a re-upload gets a new generation, so new URLs), so they are cached for a year, and
//! `If-None-Match` and `HEAD` are answered from the database without touching the store.
//! The path without a generation is the URL of renditions stored before generations existed.
//!
//! One image has one URL: only the canonical lowercase, hyphenated id and a generation without
//! leading zeros are served; other spellings answer 404 (they would be cached apart, past
//! the CDN).

use std::time::Duration;

use actix_web::http::Method;
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, ETAG, EntityTag, Header, IfNoneMatch,
    X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use common::renditions::RenditionSize;
use common::storage::StorageError;
use common::uploads;
use futures::StreamExt;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A 404 may become a 200 (a cover being processed is not linked yet, but its URL can be
/// guessed by nobody): cached briefly, so a CDN absorbs repeated misses without pinning them.
const MISSING: &str = "public, max-age=60";
/// How long a request waits for a slot to stream from the store (`api.cover_fetch_concurrency`).
const FETCH_SLOT_WAIT: Duration = Duration::from_secs(5);

/// Schema of a rendition's body: the image file's bytes.
pub struct ImageBytes;

impl PartialSchema for ImageBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("binary".to_owned())))
            .description(Some("The image file's bytes"))
            .into()
    }
}

impl ToSchema for ImageBytes {}

#[utoipa::path(get, operation_id = "get_cover_image", path = "/v1/cover_image/{cover_upload_id}/{generation}/{size}", tag = "covers",
    params(
        ("cover_upload_id" = Uuid, Path, description = "A cover upload, in its canonical lowercase spelling"),
        ("generation" = i32, Path, minimum = 1, description = "The processing of that upload whose renditions these are (≥ 1), as linked"),
        ("size" = RenditionSize, Path, description = "`icon` (80 px), `small` (200), `regular` (400) or `large` (800)"),
    ),
    responses(
        (status = 200, description = "The rendition: `image/jpeg`, or `image/webp` for covers with transparency",
            content((ImageBytes = "image/jpeg"), (ImageBytes = "image/webp"))),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "Not one of the four sizes", body = ErrorBody),
        (status = 404, description = "No such rendition (never linked, deleted by the retention sweep, of a deleted target, or not the canonical spelling of its URL)", body = ErrorBody),
        (status = 503, description = "`database_unavailable` or `storage_unavailable`: try again later", body = ErrorBody),
    ))]
pub async fn handler(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (id, generation, size) = path.into_inner();
    respond(serve(&state, &request, &id, Some(&generation), &size).await)
}

/// `HEAD`: the headers `GET` would send, from the database alone.
#[utoipa::path(head, operation_id = "head_cover_image", path = "/v1/cover_image/{cover_upload_id}/{generation}/{size}", tag = "covers",
    params(
        ("cover_upload_id" = Uuid, Path, description = "A cover upload, in its canonical lowercase spelling"),
        ("generation" = i32, Path, minimum = 1, description = "The processing of that upload whose renditions these are (≥ 1), as linked"),
        ("size" = RenditionSize, Path, description = "`icon`, `small`, `regular` or `large`"),
    ),
    responses(
        (status = 200, description = "The rendition's headers, without its bytes"),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "Not one of the four sizes"),
        (status = 404, description = "No such rendition"),
        (status = 503, description = "`database_unavailable`: try again later"),
    ))]
pub async fn head(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (id, generation, size) = path.into_inner();
    respond(serve(&state, &request, &id, Some(&generation), &size).await)
}

/// The URL of renditions stored before generations existed (generation 0); URLs handed out
/// then keep working.
#[utoipa::path(get, operation_id = "get_cover_image_before_generations", path = "/v1/cover_image/{cover_upload_id}/{size}", tag = "covers",
    params(
        ("cover_upload_id" = Uuid, Path, description = "A cover upload, in its canonical lowercase spelling"),
        ("size" = RenditionSize, Path, description = "`icon`, `small`, `regular` or `large`"),
    ),
    responses(
        (status = 200, description = "The rendition",
            content((ImageBytes = "image/jpeg"), (ImageBytes = "image/webp"))),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "Not one of the four sizes", body = ErrorBody),
        (status = 404, description = "No such rendition", body = ErrorBody),
        (status = 503, description = "`database_unavailable` or `storage_unavailable`: try again later", body = ErrorBody),
    ))]
pub async fn legacy(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, size) = path.into_inner();
    respond(serve(&state, &request, &id, None, &size).await)
}

/// `HEAD` of the URL of renditions stored before generations existed.
#[utoipa::path(head, operation_id = "head_cover_image_before_generations", path = "/v1/cover_image/{cover_upload_id}/{size}", tag = "covers",
    params(
        ("cover_upload_id" = Uuid, Path, description = "A cover upload, in its canonical lowercase spelling"),
        ("size" = RenditionSize, Path, description = "`icon`, `small`, `regular` or `large`"),
    ),
    responses(
        (status = 200, description = "The rendition's headers, without its bytes"),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "Not one of the four sizes"),
        (status = 404, description = "No such rendition"),
        (status = 503, description = "`database_unavailable`: try again later"),
    ))]
pub async fn legacy_head(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    legacy(state, request, path).await
}

/// Every answer may be read by a page from any origin (drawn into a canvas, say); a miss is
/// cached briefly.
fn respond(result: Result<HttpResponse, ApiError>) -> HttpResponse {
    let mut response = result.unwrap_or_else(|error| {
        let mut response = error.error_response();
        if matches!(error, ApiError::NotFound(_)) {
            response.headers_mut().insert(
                CACHE_CONTROL,
                MISSING.parse().expect("a valid header value"),
            );
        }
        response
    });
    response.headers_mut().insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        "*".parse().expect("a valid header value"),
    );
    response
}

async fn serve(
    state: &AppState,
    request: &HttpRequest,
    raw_id: &str,
    raw_generation: Option<&str>,
    raw_size: &str,
) -> Result<HttpResponse, ApiError> {
    let size: RenditionSize = raw_size.parse().map_err(|error| {
        ApiError::bad_request("invalid_size", format!("size {raw_size:?}: {error}"))
    })?;
    // Unknown and malformed ids look alike: neither names an image.
    let not_found = || ApiError::NotFound("cover image");
    let id = canonical::<Uuid>(raw_id).ok_or_else(not_found)?;
    let generation = match raw_generation {
        None => 0,
        Some(raw) => canonical::<i32>(raw)
            .filter(|generation| *generation > 0)
            .ok_or_else(not_found)?,
    };
    let client = state.pool.get().await?;
    let rendition = uploads::served_rendition(&client, id, generation, size)
        .await?
        .ok_or_else(not_found)?;
    drop(client);
    let etag = EntityTag::new_strong(rendition.etag.trim_matches('"').to_owned());
    let cached = match IfNoneMatch::parse(request) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&etag)),
        Err(_) => false,
    };
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((ETAG, etag))
        .insert_header((CACHE_CONTROL, IMMUTABLE));
    if cached {
        return Ok(response.finish());
    }
    response
        .content_type(rendition.content_type)
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(rendition.bytes);
    if request.method() == Method::HEAD {
        // The declared length, and no bytes: the server sends no body for a HEAD.
        let nothing = futures::stream::empty::<Result<web::Bytes, StorageError>>();
        return Ok(response.streaming(nothing));
    }
    let slot =
        tokio::time::timeout(FETCH_SLOT_WAIT, state.cover_fetches.clone().acquire_owned()).await;
    let Ok(Ok(slot)) = slot else {
        return Err(ApiError::StorageUnavailable(anyhow::anyhow!(
            "all api.cover_fetch_concurrency slots stayed busy"
        )));
    };
    let body = match state.storage.stream(&size.key(id, generation)).await {
        Ok(body) => body,
        // Deleted by the retention sweep after this generation stopped being served.
        Err(StorageError::NotFound) => return Err(not_found()),
        Err(error) => return Err(ApiError::StorageUnavailable(error.into())),
    };
    // The slot is held until the last chunk is sent (or the client goes away).
    let body = body.map(move |chunk| {
        let _slot = &slot;
        chunk
    });
    Ok(response.streaming(body))
}

/// `raw` parsed, if it is the value's one canonical spelling (`Display` gives it back).
fn canonical<T: std::str::FromStr + ToString>(raw: &str) -> Option<T> {
    let value: T = raw.parse().ok()?;
    (value.to_string() == raw).then_some(value)
}
