//! The colors of a cover, from the small working copy `crate::decode` makes: NeuQuant palette
//! refined in OKLab → population per color → near-duplicates merged → `player_color` and its
//! WCAG variants → the player theme. Colors only: no decoding, no I/O.
//!
//! Transparent pixels (alpha < 128) are ignored everywhere; an image with no opaque pixel at all
//! is refused with [`ExtractError::NoOpaquePixels`] (rather than an empty palette) because a cover
//! without a single visible color has nothing to theme a player with, and a person reading the
//! upload's `error` learns why.

mod accent;
mod quantize;
mod theme;

pub use common::theme::contrast_ratio;

use accent::{BLACK, WHITE};
use common::colors::{CoverColors, ImageColor};
use common::theme::{TEXT_CONTRAST, hex};
use image::DynamicImage;
use palette::{FromColor, Hsl, Srgb};

use crate::decode::ExtractError;

/// Pixels with alpha below this are transparent and ignored (the contract's "alpha < 128").
pub(crate) const OPAQUE_ALPHA: u8 = 128;

/// The palette, accent colors and theme of a cover's working copy.
pub fn colors(working: &DynamicImage) -> Result<CoverColors, ExtractError> {
    let pixels = opaque_pixels(working);
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

/// The opaque pixels of a working copy, as RGB.
fn opaque_pixels(image: &DynamicImage) -> Vec<[u8; 3]> {
    match image {
        DynamicImage::ImageLuma8(gray) => gray.as_raw().iter().map(|&l| [l, l, l]).collect(),
        DynamicImage::ImageRgba8(rgba) => rgba
            .as_raw()
            .chunks_exact(4)
            .filter(|p| p[3] >= OPAQUE_ALPHA)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
        other => other
            .to_rgb8()
            .as_raw()
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
    }
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
