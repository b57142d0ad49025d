//! Pure analysis of a cover: bounded decode → downscale → NeuQuant palette refined in OKLab →
//! population per color → near-duplicates merged → `player_color` and its WCAG variants, and
//! the BlurHash of the same working copy. No I/O: bytes in, [`Analysis`] out (with the decoded
//! image the renditions are made from, see `crate::renditions`), so the worker calls it from a
//! blocking thread and the `extract` subcommand, tests and benchmarks call exactly what
//! production runs.
//!
//! Transparent pixels (alpha < 128) are ignored everywhere; an image with no opaque pixel at all
//! is refused with [`ExtractError::NoOpaquePixels`] (rather than an empty palette) because a cover
//! without a single visible color has nothing to theme a player with, and a person reading the
//! upload's `error` learns why.

mod accent;
mod decode;
mod quantize;
mod theme;

pub use common::theme::contrast_ratio;
pub use decode::WORKING_SIZE;

use accent::{BLACK, WHITE};
use common::colors::{CoverColors, ImageColor};
use common::theme::{TEXT_CONTRAST, hex};
use image::DynamicImage;
use palette::{FromColor, Hsl, Srgb};

/// BlurHash components across and down: the 4×3 the API promises.
const BLURHASH_COMPONENTS: (u32, u32) = (4, 3);

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
            // 50 MP covers any real cover art (a 7000×7000 print master) while a decoded RGBA
            // copy of it (200 MB) still fits the worker's memory budget.
            max_pixels: 50_000_000,
            // Stops absurd strips (1×50,000,000) that pass the pixel cap but not a sanity check.
            max_dimension: 20_000,
            // The decoders' own buffers; with `max_pixels` this bounds one job's peak memory.
            max_alloc_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Why an image cannot get colors; the message is stored as the upload's `error`, so it is
/// written for a person. Every variant is permanent: retrying the same bytes cannot succeed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("not a supported image (JPEG, PNG, WebP or GIF expected)")]
    UnsupportedFormat,
    #[error("image uses a feature the decoder does not support: {0}")]
    UnsupportedFeature(String),
    #[error("image is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error(
        "image is {width}x{height} pixels, over the limit of {max_pixels} pixels \
         and {max_dimension} pixels per side"
    )]
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
        max_dimension: u32,
    },
    #[error("decoding the image needs more memory than the {max_alloc_bytes}-byte limit")]
    OverMemoryLimit { max_alloc_bytes: u64 },
    #[error("image has no opaque pixels (it is fully transparent)")]
    NoOpaquePixels,
}

/// Everything one decode of a cover gives.
pub struct Analysis {
    pub colors: CoverColors,
    /// BlurHash of the cover's centre square (what the renditions show), 4×3 components.
    pub blurhash: String,
    /// The cover, upright and sRGB, 8-bit gray, RGB or RGBA, with its shorter side at least
    /// the largest rendition's when the original's is: what the renditions are made from.
    pub image: DynamicImage,
}

/// Decodes an encoded image (JPEG, PNG, WebP, GIF) once and analyses it: its palette and
/// accent colors and its BlurHash, computed on the same working copy.
pub fn analyse(bytes: &[u8], limits: &Limits) -> Result<Analysis, ExtractError> {
    let image = decode::decode(bytes, limits)?;
    let working = decode::working_copy(&image)?;
    let colors = colors(&working)?;
    Ok(Analysis {
        colors,
        blurhash: blurhash(&working)?,
        image,
    })
}

/// The palette and accent colors of an encoded image; [`analyse`] without the rest.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<CoverColors, ExtractError> {
    analyse(bytes, limits).map(|analysis| analysis.colors)
}

/// BlurHash of the centre square of the working copy, the part the square renditions show.
fn blurhash(working: &DynamicImage) -> Result<String, ExtractError> {
    let (left, top, side) = crate::renditions::centre_square(working.width(), working.height());
    let square = working.crop_imm(left, top, side, side).into_rgba8();
    let (x, y) = BLURHASH_COMPONENTS;
    blurhash::encode(x, y, side, side, square.as_raw())
        .map_err(|error| ExtractError::Corrupt(format!("no BlurHash: {error}")))
}

fn colors(working: &DynamicImage) -> Result<CoverColors, ExtractError> {
    let pixels = decode::opaque_pixels(working);
    if pixels.is_empty() {
        return Err(ExtractError::NoOpaquePixels);
    }
    let swatches = quantize::palette(&pixels);
    let accent = accent::choose(&swatches);
    let player = swatches[accent].rgb;
    let light = accent::with_contrast(player, WHITE, TEXT_CONTRAST);
    let dark = accent::with_contrast(player, BLACK, TEXT_CONTRAST);
    let edges = theme::edge_shares(working, &swatches);
    let image_colors = swatches
        .iter()
        .enumerate()
        .map(|(index, swatch)| image_color(swatch.rgb, swatch.area, index == accent))
        .collect();
    Ok(CoverColors {
        image_colors,
        player_color: hex(player),
        player_color_light: hex(light),
        player_color_dark: hex(dark),
        theme: theme::theme(&swatches, &edges, accent, light, dark),
    })
}

/// Bytes that decoding `bytes` allocates at its peak, from the header alone, so a caller can
/// budget memory before decoding; fails as [`extract`] would on an image over the limits.
pub fn memory_needed(bytes: &[u8], limits: &Limits) -> Result<u64, ExtractError> {
    decode::memory_needed(bytes, limits)
}

fn image_color(rgb: [u8; 3], area: f32, active: bool) -> ImageColor {
    let hsl = Hsl::from_color(Srgb::from(rgb).into_format::<f32>());
    ImageColor {
        hex: hex(rgb),
        red: rgb[0],
        green: rgb[1],
        blue: rgb[2],
        hue: hsl.hue.into_positive_degrees(),
        saturation: hsl.saturation,
        lightness: hsl.lightness,
        area,
        active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_zero_padded() {
        assert_eq!(hex([0x0a, 0xbc, 0xff]), "#0abcff");
    }

    #[test]
    fn image_color_hsl_matches_known_values() {
        let orange = image_color([255, 128, 0], 0.5, true);
        assert!((orange.hue - 30.1).abs() < 0.2, "{}", orange.hue);
        assert!((orange.saturation - 1.0).abs() < 1e-4);
        assert!((orange.lightness - 0.5).abs() < 1e-2);
        let gray = image_color([128, 128, 128], 0.5, false);
        assert_eq!(gray.saturation, 0.0);
        assert!((0.0..=360.0).contains(&gray.hue));
    }
}
