//! The API's queries, one module per table group (collections, tracks, API keys,
//! organizations), built on `common::db::query`'s statement helpers. The pool, the migrations
//! and the `cover_uploads` state machine, which the worker shares, live in `common`.

pub mod api_keys;
pub mod collections;
pub mod organizations;
pub mod tracks;

use common::colors::ImageColor;
use serde_json::value::RawValue;
use tokio_postgres::types::Json;

use crate::body_fields::ImageColorInput;

/// A request body's `metadata` and `image_colors` as statement parameters, in the forms they
/// are stored in (the colors as the worker writes them).
struct Stored<'a> {
    metadata: Option<Json<&'a RawValue>>,
    image_colors: Option<Json<Vec<ImageColor>>>,
}

impl<'a> Stored<'a> {
    fn of(metadata: Option<&'a RawValue>, image_colors: Option<&[ImageColorInput]>) -> Self {
        Self {
            metadata: metadata.map(Json),
            image_colors: image_colors
                .map(|colors| Json(colors.iter().map(ImageColor::from).collect())),
        }
    }
}
