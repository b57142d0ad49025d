//! `GET /v1/cover_image/{cover_upload_id}/{size}` (and `HEAD`): a rendition's bytes from the
//! object store, for `<img src>`. No API key: the unguessable upload id is the capability, as
//! on the vendor's CDN. A rendition of an upload never changes, so it is cached for a year,
//! and `If-None-Match` is answered 304 without touching the store.

use actix_web::http::header::{
    CACHE_CONTROL, ETAG, EntityTag, Header, IfNoneMatch, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{HttpRequest, HttpResponse, web};
use common::renditions::RenditionSize;
use common::storage::StorageError;
use common::uploads;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The four sizes as the OpenAPI document names them (parsed as `RenditionSize`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
pub enum SizeName {
    Icon,
    Small,
    Regular,
    Large,
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[utoipa::path(get, operation_id = "get_cover_image", path = "/v1/cover_image/{cover_upload_id}/{size}", tag = "covers",
    params(
        ("cover_upload_id" = Uuid, Path, description = "An applied cover upload"),
        ("size" = SizeName, Path, description = "`icon` (80 px), `small` (200), `regular` (400) or `large` (800)"),
    ),
    responses(
        (status = 200, description = "The rendition: `image/jpeg`, or `image/webp` for covers with transparency",
            content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "Not one of the four sizes", body = ErrorBody),
        (status = 404, description = "No such upload, not applied (yet), of a deleted target, or a malformed id", body = ErrorBody),
        (status = 503, description = "`database_unavailable` or `storage_unavailable`: try again later", body = ErrorBody),
    ))]
pub async fn handler(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    serve(state, request, path).await
}

/// `HEAD`: the headers `GET` would send (actix leaves the body out).
#[utoipa::path(head, operation_id = "head_cover_image", path = "/v1/cover_image/{cover_upload_id}/{size}", tag = "covers",
    params(
        ("cover_upload_id" = Uuid, Path, description = "An applied cover upload"),
        ("size" = SizeName, Path, description = "`icon`, `small`, `regular` or `large`"),
    ),
    responses(
        (status = 200, description = "The rendition's headers, without its bytes"),
        (status = 304, description = "`If-None-Match` names the current ETag"),
        (status = 400, description = "Not one of the four sizes"),
        (status = 404, description = "No such upload, not applied (yet), of a deleted target, or a malformed id"),
        (status = 503, description = "`database_unavailable` or `storage_unavailable`: try again later"),
    ))]
pub async fn head(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    serve(state, request, path).await
}

async fn serve(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, raw_size) = path.into_inner();
    let size: RenditionSize = raw_size.parse().map_err(|error| {
        ApiError::bad_request("invalid_size", format!("size {raw_size:?}: {error}"))
    })?;
    // Unknown and malformed ids look alike: neither names an image.
    let id = raw_id
        .parse()
        .map_err(|_| ApiError::NotFound("cover image"))?;
    let client = state.pool.get().await?;
    let rendition = uploads::served_rendition(&client, id, size)
        .await?
        .ok_or(ApiError::NotFound("cover image"))?;
    drop(client);
    let etag = EntityTag::new_strong(rendition.etag.trim_matches('"').to_owned());
    let cached = match IfNoneMatch::parse(&request) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&etag)),
        Err(_) => false,
    };
    if cached {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .insert_header((CACHE_CONTROL, IMMUTABLE))
            .finish());
    }
    let bytes = match state.storage.fetch(&size.key(id)).await {
        Ok(bytes) => bytes,
        // Deleted by the retention sweep after this upload stopped being served.
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("cover image")),
        Err(error) => return Err(ApiError::StorageUnavailable(error.into())),
    };
    Ok(HttpResponse::Ok()
        .content_type(rendition.content_type)
        .insert_header((ETAG, etag))
        .insert_header((CACHE_CONTROL, IMMUTABLE))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}
