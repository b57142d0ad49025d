//! The accent (`player_color`) of a palette and its readable variants: the most vivid color
//! weighted by area, then the same hue darkened or lightened until WCAG 2.1 contrast against
//! white (`player_color_light`) or black (`player_color_dark`) reaches 4.5:1.

use palette::color_difference::Wcag21RelativeContrast;
use palette::{FromColor, Hsl, Oklch, Srgb};

use super::quantize::Swatch;

/// WCAG 2.1 AA for body text: what a player's text or icons in the accent color need.
const MIN_CONTRAST: f32 = 4.5;

/// Below this OKLCh chroma a color reads as gray: muted photos still offer 0.05–0.1, while JPEG
/// noise on a gray image stays under 0.03.
const MIN_VIVID_CHROMA: f32 = 0.04;

/// OKLab lightness outside this range is near-black or near-white whatever its chroma, and an
/// accent there would look like a text color rather than a theme.
const VIVID_LIGHTNESS: std::ops::RangeInclusive<f32> = 0.25..=0.92;

/// Index of the swatch a music player should use as its accent. Vivid colors compete on
/// chroma × √area (vividness counts more than size, so a small red ladybird beats a large dull
/// lawn, yet a tiny speck does not beat a large vivid field); if none is vivid, the largest color
/// that is neither near-black nor near-white wins, else simply the largest.
pub(super) fn choose(swatches: &[Swatch]) -> usize {
    let lch: Vec<Oklch> = swatches
        .iter()
        .map(|s| Oklch::from_color(s.oklab))
        .collect();
    let in_range = |i: &usize| VIVID_LIGHTNESS.contains(&lch[*i].l);
    let best_vivid = (0..swatches.len())
        .filter(in_range)
        .filter(|&i| lch[i].chroma >= MIN_VIVID_CHROMA)
        .max_by(|&i, &j| score(&lch[i], &swatches[i]).total_cmp(&score(&lch[j], &swatches[j])));
    // Swatches are sorted by area, so the first match is the largest.
    best_vivid
        .or_else(|| (0..swatches.len()).find(in_range))
        .unwrap_or(0)
}

fn score(lch: &Oklch, swatch: &Swatch) -> f32 {
    lch.chroma * swatch.area.sqrt()
}

/// WCAG 2.1 contrast ratio of two sRGB colors, from 1 (same luminance) to 21 (black on white).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f32 {
    srgb(a).relative_contrast(srgb(b))
}

fn srgb(rgb: [u8; 3]) -> Srgb<f32> {
    Srgb::from(rgb).into_format()
}

/// `rgb` with its HSL hue and saturation kept and its lightness moved away from `background`
/// just far enough for [`MIN_CONTRAST`]; `rgb` itself when it already contrasts enough.
pub(super) fn with_contrast(rgb: [u8; 3], background: [u8; 3]) -> [u8; 3] {
    if contrast_ratio(rgb, background) >= MIN_CONTRAST {
        return rgb;
    }
    let hsl = Hsl::from_color(srgb(rgb));
    let at = |lightness: f32| -> [u8; 3] {
        Srgb::from_color(Hsl::new(hsl.hue, hsl.saturation, lightness))
            .into_format::<u8>()
            .into()
    };
    // Luminance rises with HSL lightness at fixed hue and saturation, so bisect between the
    // current lightness (too little contrast) and the extreme away from the background
    // (black against white, white against black: always ≥ 4.5:1), keeping the passing end.
    let background_is_light =
        contrast_ratio(background, [0, 0, 0]) > contrast_ratio(background, [255, 255, 255]);
    let (mut failing, mut passing) = (hsl.lightness, if background_is_light { 0.0 } else { 1.0 });
    // 16 halvings resolve lightness to 1/65536, finer than one step of an 8-bit channel.
    for _ in 0..16 {
        let middle = (failing + passing) / 2.0;
        if contrast_ratio(at(middle), background) >= MIN_CONTRAST {
            passing = middle;
        } else {
            failing = middle;
        }
    }
    at(passing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::palette::quantize::to_oklab;
    use proptest::prelude::*;

    fn swatch(rgb: [u8; 3], area: f32) -> Swatch {
        Swatch {
            rgb,
            oklab: to_oklab(rgb),
            area,
        }
    }

    #[test]
    fn contrast_of_black_on_white_is_21() {
        assert!((contrast_ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-3);
    }

    #[test]
    fn contrast_matches_published_wcag_values() {
        // Values from the WebAIM contrast checker.
        assert!((contrast_ratio([0x77, 0x77, 0x77], [255, 255, 255]) - 4.48).abs() < 0.01);
        assert!((contrast_ratio([0x76, 0x76, 0x76], [255, 255, 255]) - 4.54).abs() < 0.01);
        assert!((contrast_ratio([0xff, 0x00, 0x00], [255, 255, 255]) - 4.0).abs() < 0.01);
        assert!((contrast_ratio([0x00, 0x00, 0xff], [0, 0, 0]) - 2.44).abs() < 0.01);
    }

    #[test]
    fn contrast_is_one_for_identical_colors() {
        assert!((contrast_ratio([12, 200, 99], [12, 200, 99]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn vivid_color_wins_over_larger_gray() {
        let swatches = [swatch([128, 128, 128], 0.9), swatch([220, 30, 40], 0.1)];
        assert_eq!(choose(&swatches), 1);
    }

    #[test]
    fn larger_vivid_field_beats_tiny_slightly_more_vivid_speck() {
        let swatches = [swatch([40, 160, 60], 0.95), swatch([230, 20, 30], 0.002)];
        assert_eq!(choose(&swatches), 0);
    }

    #[test]
    fn near_black_and_near_white_lose_to_a_mid_gray() {
        let swatches = [
            swatch([5, 5, 5], 0.5),
            swatch([250, 250, 250], 0.3),
            swatch([120, 120, 120], 0.2),
        ];
        assert_eq!(choose(&swatches), 2);
    }

    #[test]
    fn black_and_white_only_image_takes_the_largest() {
        let swatches = [swatch([0, 0, 0], 0.6), swatch([255, 255, 255], 0.4)];
        assert_eq!(choose(&swatches), 0);
    }

    #[test]
    fn readable_color_is_kept_unchanged() {
        assert_eq!(with_contrast([0, 0, 128], [255, 255, 255]), [0, 0, 128]);
    }

    proptest! {
        #[test]
        fn variants_reach_the_contrast_target(r: u8, g: u8, b: u8) {
            for background in [[255, 255, 255], [0, 0, 0]] {
                let variant = with_contrast([r, g, b], background);
                prop_assert!(contrast_ratio(variant, background) >= MIN_CONTRAST);
            }
        }

        #[test]
        fn variants_keep_the_hue(r: u8, g: u8, b: u8) {
            let original = Hsl::from_color(srgb([r, g, b]));
            // Hue is only meaningful (and survives 8-bit rounding) for clearly colored pixels.
            prop_assume!(original.saturation > 0.5 && (0.2..0.8).contains(&original.lightness));
            for background in [[255, 255, 255], [0, 0, 0]] {
                let variant = Hsl::from_color(srgb(with_contrast([r, g, b], background)));
                let delta = (variant.hue - original.hue).into_degrees().abs();
                prop_assert!(delta < 6.0, "hue moved {delta}° for {background:?}");
            }
        }
    }
}
