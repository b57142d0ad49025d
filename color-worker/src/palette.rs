//! Pure color extraction: decode (bounded) → downscale → NeuQuant → colors → accent. No I/O.
//! (Placeholder: being written; the signatures below are the contract the worker uses.)

use common::colors::ImageColor;

/// Bounds that keep a hostile image from exhausting memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest width × height accepted; checked from the header before pixels are allocated.
    pub max_pixels: u64,
    /// Largest width or height accepted.
    pub max_dimension: u32,
    /// Cap on the decoder's own allocations.
    pub max_alloc_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pixels: 50_000_000,
            max_dimension: 20_000,
            max_alloc_bytes: 512 * 1024 * 1024,
        }
    }
}

/// What a cover gets: its palette and accent colors, exactly as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Extracted {
    pub image_colors: Vec<ImageColor>,
    pub player_color: String,
    pub player_color_light: String,
    pub player_color_dark: String,
}

/// Why an image cannot get colors; the message is stored as the upload's `error`.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("not a supported image (JPEG, PNG, WebP or GIF expected)")]
    UnsupportedFormat,
    #[error("image is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("image is {width}x{height} pixels, over the limit of {max_pixels} pixels")]
    TooLarge { width: u32, height: u32, max_pixels: u64 },
    #[error("image has no opaque pixels")]
    NoOpaquePixels,
}

pub fn extract(_bytes: &[u8], _limits: &Limits) -> Result<Extracted, ExtractError> {
    unimplemented!("being written")
}
