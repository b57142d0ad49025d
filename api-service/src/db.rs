//! The API's queries, one module per table group (collections, tracks, API keys,
//! organizations), built on `common::db::query`'s statement helpers. The pool, the migrations
//! and the `cover_uploads` state machine, which the worker shares, live in `common`.

pub mod api_keys;
pub mod collections;
pub mod organizations;
pub mod tracks;

use common::colors::ImageColor;
use tokio_postgres::types::Json;

use crate::body_fields::ImageColorInput;

/// A request body's `image_colors` as a statement parameter, in the form the worker stores.
fn stored_colors(colors: Option<&[ImageColorInput]>) -> Option<Json<Vec<ImageColor>>> {
    colors.map(|colors| Json(colors.iter().map(ImageColor::from).collect()))
}
