//! The color types stored on collections, tracks and cover uploads and returned by the API.

use serde::{Deserialize, Serialize};

/// One palette entry of a cover, as stored in `image_colors` (jsonb) and returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageColor {
    /// `#rrggbb`, lowercase.
    pub hex: String,
    pub red: u8,
    pub green: u8,
    pub blue: u8,
    /// HSL hue in degrees, 0–360.
    pub hue: f32,
    /// HSL saturation, 0–1.
    pub saturation: f32,
    /// HSL lightness, 0–1.
    pub lightness: f32,
    /// Share of the image's opaque pixels closest to this color, 0–1.
    pub area: f32,
    /// True for the color chosen as `player_color`.
    pub active: bool,
}

/// What a cover gives its collection or track: the palette and the accent colors, exactly as
/// the worker stores them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverColors {
    pub image_colors: Vec<ImageColor>,
    /// The accent a music player would use.
    pub player_color: String,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against white.
    pub player_color_light: String,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against black.
    pub player_color_dark: String,
    /// The player theme: three schemes, every contrast met and reported.
    pub theme: crate::theme::Theme,
}

/// True for `#RRGGBB` (either case), the only form `player_color` fields accept.
pub fn is_hex_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}
