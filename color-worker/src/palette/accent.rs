//! The accent (`player_color`) of a palette and its readable variants: the most vivid color
//! weighted by area, then the same hue darkened or lightened until WCAG 2.1 contrast against
//! white (`player_color_light`) or black (`player_color_dark`) reaches 4.5:1 — the move the
//! theme (`theme.rs`) makes for every role.

use common::theme::contrast_ratio;
use palette::{FromColor, Hsl, Oklch, Srgb};

use super::quantize::Swatch;

pub(super) const WHITE: [u8; 3] = [255, 255, 255];
pub(super) const BLACK: [u8; 3] = [0, 0, 0];

/// Below this OKLCh chroma a color reads as gray: muted photos still offer 0.05–0.1, while JPEG
/// noise on a gray image stays under 0.03.
pub(super) const MIN_VIVID_CHROMA: f32 = 0.04;

/// OKLab lightness outside this range is near-black or near-white whatever its chroma, and an
/// accent there would look like a text color rather than a theme.
const VIVID_LIGHTNESS: std::ops::RangeInclusive<f32> = 0.25..=0.92;

/// Index of the swatch a music player should use as its accent. Vivid colors compete on
/// chroma × √area (vividness counts more than size, so a small red ladybird beats a large dull
/// lawn, yet a tiny speck does not beat a large vivid field); if none is vivid, the largest color
/// that is neither near-black nor near-white wins, else simply the largest.
pub(super) fn choose(swatches: &[Swatch]) -> usize {
    let in_range = |i: &usize| VIVID_LIGHTNESS.contains(&Oklch::from_color(swatches[*i].oklab).l);
    // Swatches are sorted by area, so the first match is the largest.
    most_vivid(swatches, None)
        .or_else(|| (0..swatches.len()).find(in_range))
        .unwrap_or(0)
}

/// Index of the vivid swatch with the best score, leaving out `except`; `None` when the
/// palette (but `except`) has no vivid color.
pub(super) fn most_vivid(swatches: &[Swatch], except: Option<usize>) -> Option<usize> {
    let lch: Vec<Oklch> = swatches
        .iter()
        .map(|s| Oklch::from_color(s.oklab))
        .collect();
    (0..swatches.len())
        .filter(|&i| Some(i) != except)
        .filter(|&i| VIVID_LIGHTNESS.contains(&lch[i].l) && lch[i].chroma >= MIN_VIVID_CHROMA)
        .max_by(|&i, &j| score(&lch[i], &swatches[i]).total_cmp(&score(&lch[j], &swatches[j])))
}

fn score(lch: &Oklch, swatch: &Swatch) -> f32 {
    lch.chroma * swatch.area.sqrt()
}

pub(super) fn srgb(rgb: [u8; 3]) -> Srgb<f32> {
    Srgb::from(rgb).into_format()
}

/// `rgb` with its HSL hue and saturation kept and its lightness moved away from `background`
/// just far enough for a contrast of `target`; `rgb` itself when it already contrasts enough.
/// Any target up to 4.58 (√21, what the better of black and white reaches on the worst
/// background) is always reached; a higher one where the background leaves room.
pub(super) fn with_contrast(rgb: [u8; 3], background: [u8; 3], target: f32) -> [u8; 3] {
    if contrast_ratio(rgb, background) >= target {
        return rgb;
    }
    let hsl = Hsl::from_color(srgb(rgb));
    let at = |lightness: f32| -> [u8; 3] {
        Srgb::from_color(Hsl::new(hsl.hue, hsl.saturation, lightness))
            .into_format::<u8>()
            .into()
    };
    // Luminance rises with HSL lightness at fixed hue and saturation, so bisect between the
    // extreme away from the background (the better of black and white) and the current
    // lightness (too little contrast). When even the extreme falls short of `target`, the
    // extreme is kept: the most there is.
    let extreme = if is_dark(background) { 1.0 } else { 0.0 };
    at(bisect(extreme, hsl.lightness, |lightness| {
        contrast_ratio(at(lightness), background) >= target
    }))
}

/// True where white contrasts more than black: light things go on it.
pub(super) fn is_dark(rgb: [u8; 3]) -> bool {
    contrast_ratio(rgb, WHITE) >= contrast_ratio(rgb, BLACK)
}

/// The point of `passing..failing` nearest `failing` at which `passes` still holds, for a
/// `passes` true at `passing` and monotone along the way; `passing` itself when nothing
/// nearer passes. 16 halvings resolve 1/65536 of the range, finer than one step of an 8-bit
/// channel.
pub(super) fn bisect(mut passing: f32, mut failing: f32, passes: impl Fn(f32) -> bool) -> f32 {
    for _ in 0..16 {
        let middle = (passing + failing) / 2.0;
        if passes(middle) {
            passing = middle;
        } else {
            failing = middle;
        }
    }
    passing
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::theme::TEXT_CONTRAST;
    use proptest::prelude::*;

    fn swatch(rgb: [u8; 3], area: f32) -> Swatch {
        Swatch::of(rgb, area)
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
        assert_eq!(
            with_contrast([0, 0, 128], [255, 255, 255], TEXT_CONTRAST),
            [0, 0, 128]
        );
    }

    proptest! {
        #[test]
        fn variants_reach_the_contrast_target(r: u8, g: u8, b: u8) {
            for background in [[255, 255, 255], [0, 0, 0]] {
                let variant = with_contrast([r, g, b], background, TEXT_CONTRAST);
                prop_assert!(contrast_ratio(variant, background) >= TEXT_CONTRAST);
            }
        }

        #[test]
        fn variants_keep_the_hue(r: u8, g: u8, b: u8) {
            let original = Hsl::from_color(srgb([r, g, b]));
            // Hue is only meaningful (and survives 8-bit rounding) for clearly colored pixels.
            prop_assume!(original.saturation > 0.5 && (0.2..0.8).contains(&original.lightness));
            for background in [[255, 255, 255], [0, 0, 0]] {
                let variant = with_contrast([r, g, b], background, TEXT_CONTRAST);
                let variant = Hsl::from_color(srgb(variant));
                let delta = (variant.hue - original.hue).into_degrees().abs();
                prop_assert!(delta < 6.0, "hue moved {delta}° for {background:?}");
            }
        }
    }
}
