//! The API's queries, one module per table group (collections, tracks, API keys,
//! organizations), built on `common::db::query`'s statement helpers, and the plain rows they
//! return; the JSON views of those rows are in `views`. The pool, the migrations and the
//! `cover_uploads` state machine, which the worker shares, live in `common`.

pub mod api_keys;
pub mod collections;
pub mod organizations;
pub mod tracks;
pub mod webhooks;

use common::colors::ImageColor;
use common::renditions::StoredRendition;
use common::theme::Theme;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::bodies::{ImageColorInput, ThemeInput};

/// The colors of a collection or a track: set when a cover is applied (or by a client's PUT),
/// null until then.
#[derive(Debug, Clone)]
pub struct Colors {
    pub image_colors: Option<Vec<ImageColor>>,
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub theme: Option<Theme>,
}

impl Colors {
    /// Reads `image_colors` (jsonb) from column `image_colors`, the three player colors from
    /// `player_color` and the two columns after it, and `theme` (jsonb) from column `theme`.
    fn read(row: &Row, image_colors: usize, player_color: usize, theme: usize) -> Self {
        Self {
            image_colors: row
                .get::<_, Option<Json<Vec<ImageColor>>>>(image_colors)
                .map(|json| json.0),
            player_color: row.get(player_color),
            player_color_light: row.get(player_color + 1),
            player_color_dark: row.get(player_color + 2),
            theme: row.get::<_, Option<Json<Theme>>>(theme).map(|json| json.0),
        }
    }
}

/// The cover a collection or track shows: the upload and what the worker recorded for it,
/// read from the `jsonb` object the statements build (hence `Deserialize`).
#[derive(Debug, Clone, Deserialize)]
pub struct ShownCover {
    pub upload_id: Uuid,
    /// The claim generation its renditions were stored under (0: before generations).
    pub generation: i32,
    pub renditions: Vec<StoredRendition>,
    pub blurhash: Option<String>,
}

impl ShownCover {
    /// The cover in column `column`; `None` while none is shown.
    fn read(row: &Row, column: usize) -> Option<Self> {
        row.get::<_, Option<Json<Self>>>(column).map(|json| json.0)
    }
}

/// A request body's `metadata`, `image_colors` and `theme` as statement parameters, in the
/// forms they are stored in (the colors and the theme as the worker writes them).
struct Stored<'a> {
    metadata: Option<Json<&'a RawValue>>,
    image_colors: Option<Json<Vec<ImageColor>>>,
    theme: Option<Json<Theme>>,
}

impl<'a> Stored<'a> {
    fn of(
        metadata: Option<&'a RawValue>,
        image_colors: Option<&[ImageColorInput]>,
        theme: Option<&ThemeInput>,
    ) -> Self {
        Self {
            metadata: metadata.map(Json),
            image_colors: image_colors
                .map(|colors| Json(colors.iter().map(ImageColor::from).collect())),
            theme: theme.map(|theme| Json(theme.to_theme())),
        }
    }
}
