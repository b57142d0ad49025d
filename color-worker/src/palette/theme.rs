//! The player theme of a palette: three schemes (`cover`, `light`, `dark`) whose five roles
//! always meet their contrast (text 4.5:1 and accent 3:1 on the background, the accent's own
//! text 4.5:1). Every role comes from the cover: the cover scheme's background is one of its
//! colors, the tints take its hue, the accent is its most vivid color (`player_color`);
//! a cover without hue gets a neutral theme. Colors move only in HSL lightness, with hue and
//! saturation kept ([`with_contrast`]), and only as far as a ratio needs.

use common::theme::{ACCENT_CONTRAST, Roles, Scheme, TEXT_CONTRAST, Theme, contrast_ratio};
use image::{DynamicImage, GenericImageView, Rgba};
use palette::{FromColor, Hsl, Oklch, Srgb};

use super::OPAQUE_ALPHA;
use super::accent::{
    BLACK, MIN_VIVID_CHROMA, WHITE, bisect, is_dark, most_vivid, srgb, with_contrast,
};
use super::quantize::{Swatch, to_oklab};

/// What `text` aims for (WCAG AAA for body text), so that `text_secondary` has room between it
/// and the 4.5:1 floor to look quieter.
const TEXT_TARGET: f32 = 7.0;
/// The contrast the cover scheme's background must leave white or black, moved in lightness
/// just enough where it does not: room for text clearly above `text_secondary`'s 4.5:1 while
/// staying close to the cover (a flat #777 cover's background moves by ΔE00 6.8; at 7:1, 10.9).
const BACKGROUND_ROOM: f32 = 6.0;
/// `text_secondary` aims for this share of `text`'s contrast, between 4.5:1 and 7:1.
const SECONDARY_SHARE: f32 = 0.55;
/// Light page: relative luminance ≥ 0.75, i.e. contrast with black ≥ (0.75 + 0.05) / 0.05.
const LIGHT_PAGE_CONTRAST_WITH_BLACK: f32 = 16.0;
/// Dark page: relative luminance ≤ 0.04, i.e. contrast with white ≥ 1.05 / (0.04 + 0.05).
const DARK_PAGE_CONTRAST_WITH_WHITE: f32 = 11.67;
/// HSL saturation of the tinted pages and text: enough to read as the cover's hue, little
/// enough to stay a page and a text color.
const TINT_SATURATION: f32 = 0.3;
/// The frame of the cover counted as its edges: this share of each side.
const EDGE_SHARE: u32 = 8;

/// The theme of a cover whose palette is `swatches` (sorted by area) and whose accent is
/// `swatches[accent]`, `player_color_light`/`_dark` its readable variants. `edges` is the
/// share of the cover's frame nearest to each swatch.
pub(super) fn theme(
    swatches: &[Swatch],
    edges: &[f32],
    accent: usize,
    player_color_light: [u8; 3],
    player_color_dark: [u8; 3],
) -> Theme {
    // The hue the tints take: the accent's, or none on a cover without hue.
    let tint = swatches
        .iter()
        .any(is_vivid)
        .then(|| hue_of(swatches[accent].rgb));
    let background = background(swatches, edges);
    // The cover scheme's accent stands out from its background: when the accent is the
    // background's own color, the next most vivid one, if the cover has another.
    let cover_accent = if background == accent {
        most_vivid(swatches, Some(background)).unwrap_or(accent)
    } else {
        accent
    };
    let cover_background = {
        let chosen = swatches[background].rgb;
        // Where the color leaves text too little room, move it (darker or lighter, whichever
        // it is already) just enough.
        let against = if is_dark(chosen) { WHITE } else { BLACK };
        with_contrast(chosen, against, BACKGROUND_ROOM)
    };
    let light_page = with_contrast(tinted(tint, 0.96), BLACK, LIGHT_PAGE_CONTRAST_WITH_BLACK);
    let dark_page = with_contrast(tinted(tint, 0.1), WHITE, DARK_PAGE_CONTRAST_WITH_WHITE);
    Theme {
        cover: Scheme::new(&roles(
            cover_background,
            swatches[cover_accent].rgb,
            // The background's own hue, unless it has none (a white frame): the cover's.
            if is_vivid(&swatches[background]) {
                Some(hue_of(cover_background))
            } else {
                tint
            },
        )),
        light: Scheme::new(&roles(light_page, player_color_light, tint)),
        dark: Scheme::new(&roles(dark_page, player_color_dark, tint)),
    }
}

/// The roles on `background`: text tinted toward `tint`, the accent from `accent`.
fn roles(background: [u8; 3], accent: [u8; 3], tint: Option<palette::RgbHue>) -> Roles {
    let on = |surface: [u8; 3], target: f32| {
        let start = tinted(tint, if is_dark(surface) { 0.95 } else { 0.12 });
        with_contrast(start, surface, target)
    };
    let text = on(background, TEXT_TARGET);
    let secondary_target =
        (contrast_ratio(text, background) * SECONDARY_SHARE).clamp(TEXT_CONTRAST, TEXT_TARGET);
    let accent = with_contrast(accent, background, ACCENT_CONTRAST);
    Roles {
        background,
        text,
        text_secondary: toward(text, background, secondary_target),
        accent,
        on_accent: on(accent, TEXT_CONTRAST),
    }
}

/// The swatch a player can put behind the cover: large in area, the cover's frame counting
/// double (what surrounds the art is what the background continues).
fn background(swatches: &[Swatch], edges: &[f32]) -> usize {
    let score = |i: usize| swatches[i].area + 2.0 * edges.get(i).copied().unwrap_or(0.0);
    let best = (0..swatches.len()).max_by(|&i, &j| score(i).total_cmp(&score(j)));
    best.unwrap_or(0)
}

/// The color furthest from `from` toward `to` (blended in sRGB) whose contrast on `to` is
/// still at least `target`; `from` must reach it.
fn toward(from: [u8; 3], to: [u8; 3], target: f32) -> [u8; 3] {
    let blend = |t: f32| -> [u8; 3] {
        std::array::from_fn(|c| {
            (f32::from(from[c]) + (f32::from(to[c]) - f32::from(from[c])) * t).round() as u8
        })
    };
    // Each channel moves monotonically toward `to`, and with it the contrast.
    blend(bisect(0.0, 1.0, |t| contrast_ratio(blend(t), to) >= target))
}

/// A color of HSL `lightness` with hue `tint` (neutral gray without one).
fn tinted(tint: Option<palette::RgbHue>, lightness: f32) -> [u8; 3] {
    let (hue, saturation) = tint.map_or((0.0.into(), 0.0), |hue| (hue, TINT_SATURATION));
    Srgb::from_color(Hsl::new(hue, saturation, lightness))
        .into_format::<u8>()
        .into()
}

fn hue_of(rgb: [u8; 3]) -> palette::RgbHue {
    Hsl::from_color(srgb(rgb)).hue
}

/// True for a swatch with hue enough to tint with (what the accent counts as vivid).
fn is_vivid(swatch: &Swatch) -> bool {
    Oklch::from_color(swatch.oklab).chroma >= MIN_VIVID_CHROMA
}

/// The share of the cover's frame (the outer eighth of each side, opaque pixels only) nearest
/// to each swatch, in the swatches' order. Every other pixel of every other row is plenty for
/// a share and keeps this under 1 % of an extraction.
pub(super) fn edge_shares(working: &DynamicImage, swatches: &[Swatch]) -> Vec<f32> {
    let (width, height) = (working.width(), working.height());
    let (band_x, band_y) = ((width / EDGE_SHARE).max(1), (height / EDGE_SHARE).max(1));
    let in_frame =
        |x: u32, y: u32| x < band_x || y < band_y || x >= width - band_x || y >= height - band_y;
    let mut counts = vec![0u32; swatches.len()];
    for y in (0..height).step_by(2) {
        for x in (0..width).step_by(2).filter(|&x| in_frame(x, y)) {
            let Rgba([r, g, b, alpha]) = working.get_pixel(x, y);
            if alpha < OPAQUE_ALPHA {
                continue;
            }
            let oklab = to_oklab([r, g, b]);
            let distance = |s: &Swatch| {
                let (dl, da, db) = (
                    s.oklab.l - oklab.l,
                    s.oklab.a - oklab.a,
                    s.oklab.b - oklab.b,
                );
                dl * dl + da * da + db * db
            };
            let nearest = (0..swatches.len())
                .min_by(|&i, &j| distance(&swatches[i]).total_cmp(&distance(&swatches[j])));
            if let Some(nearest) = nearest {
                counts[nearest] += 1;
            }
        }
    }
    let total = counts.iter().sum::<u32>().max(1) as f32;
    counts.iter().map(|&count| count as f32 / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::palette::accent;
    use common::theme::parse_hex;
    use proptest::prelude::*;

    fn swatch(rgb: [u8; 3], area: f32) -> Swatch {
        Swatch::of(rgb, area)
    }

    /// The theme `palette::colors` makes of these swatches (their areas as given).
    fn theme_of(swatches: &[Swatch], edges: &[f32]) -> Theme {
        let accent = accent::choose(swatches);
        let player = swatches[accent].rgb;
        theme(
            swatches,
            edges,
            accent,
            with_contrast(player, WHITE, TEXT_CONTRAST),
            with_contrast(player, BLACK, TEXT_CONTRAST),
        )
    }

    fn rgb(hex: &str) -> [u8; 3] {
        parse_hex(hex).unwrap()
    }

    /// Every ratio met, as the hex values say and as reported, and secondary text quieter.
    fn assert_readable(theme: &Theme) {
        for (name, scheme) in [
            ("cover", &theme.cover),
            ("light", &theme.light),
            ("dark", &theme.dark),
        ] {
            let background = rgb(&scheme.background);
            let text = contrast_ratio(rgb(&scheme.text), background);
            let secondary = contrast_ratio(rgb(&scheme.text_secondary), background);
            let accent = contrast_ratio(rgb(&scheme.accent), background);
            let on_accent = contrast_ratio(rgb(&scheme.on_accent), rgb(&scheme.accent));
            assert!(text >= TEXT_CONTRAST, "{name}: text {text} {scheme:?}");
            assert!(secondary >= TEXT_CONTRAST, "{name}: secondary {secondary}");
            assert!(
                secondary <= text,
                "{name}: secondary {secondary} > text {text}"
            );
            assert!(
                accent >= ACCENT_CONTRAST,
                "{name}: accent {accent} {scheme:?}"
            );
            assert!(on_accent >= TEXT_CONTRAST, "{name}: on_accent {on_accent}");
            let reported = scheme.contrast;
            let (minimum_text, minimum_accent) =
                (f64::from(TEXT_CONTRAST), f64::from(ACCENT_CONTRAST));
            assert!(reported.text >= minimum_text && reported.text <= f64::from(text) + 1e-3);
            assert!(reported.text_secondary >= minimum_text);
            assert!(reported.accent >= minimum_accent && reported.on_accent >= minimum_text);
        }
        let luminance = |hex: &str| contrast_ratio(rgb(hex), BLACK) * 0.05 - 0.05;
        assert!(luminance(&theme.light.background) >= 0.75 - 1e-4);
        assert!(luminance(&theme.dark.background) <= 0.04 + 1e-4);
    }

    fn is_gray(hex: &str) -> bool {
        let [r, g, b] = rgb(hex);
        r.abs_diff(g) <= 1 && g.abs_diff(b) <= 1 && r.abs_diff(b) <= 1
    }

    #[test]
    fn flat_and_degenerate_covers_get_every_role_readable() {
        for flat in [
            "#ffffff", "#000000", "#777777", "#808080", "#ff0000", "#00ff00", "#0000ff",
        ] {
            assert_readable(&theme_of(&[swatch(rgb(flat), 1.0)], &[1.0]));
        }
        let halves = [swatch(WHITE, 0.5), swatch(BLACK, 0.5)];
        assert_readable(&theme_of(&halves, &[0.5, 0.5]));
    }

    #[test]
    fn a_cover_without_hue_gets_a_neutral_theme() {
        let grays = [swatch([30, 30, 30], 0.6), swatch([200, 200, 200], 0.4)];
        let theme = theme_of(&grays, &[0.5, 0.5]);
        for scheme in [&theme.cover, &theme.light, &theme.dark] {
            for role in [
                &scheme.background,
                &scheme.text,
                &scheme.text_secondary,
                &scheme.accent,
                &scheme.on_accent,
            ] {
                assert!(is_gray(role), "{role} in {scheme:?}");
            }
        }
    }

    #[test]
    fn the_background_favours_the_frame_and_the_accent_the_vivid_color() {
        // A navy frame (40 % of the area, all of the edges) around a larger beige subject
        // with a small orange highlight.
        let swatches = [
            swatch([0xe8, 0xdc, 0xc8], 0.5),
            swatch([0x1d, 0x39, 0x5e], 0.4),
            swatch([0xe8, 0xa3, 0x3d], 0.1),
        ];
        let theme = theme_of(&swatches, &[0.0, 1.0, 0.0]);
        assert_eq!(theme.cover.background, "#1d395e");
        let accent = Hsl::from_color(srgb(rgb(&theme.cover.accent)));
        assert!(
            (accent.hue.into_positive_degrees() - 36.0).abs() < 6.0,
            "{accent:?}"
        );
        assert_readable(&theme);
        // Tinted toward the cover's hue: the light page is not pure white.
        assert!(!is_gray(&theme.light.background), "{:?}", theme.light);
    }

    #[test]
    fn text_on_a_hueless_frame_takes_the_covers_hue() {
        // A teal cover on a white frame (as a transparent PNG's padding often is).
        let teal = [0x2a, 0xab, 0x95];
        let theme = theme_of(&[swatch(teal, 0.9), swatch(WHITE, 0.1)], &[0.0, 1.0]);
        assert_eq!(theme.cover.background, "#ffffff");
        let hue = |hex: &str| Hsl::from_color(srgb(rgb(hex))).hue.into_positive_degrees();
        let delta = (hue(&theme.cover.text) - hue("#2aab95")).abs();
        assert!(delta < 15.0, "text {} is not teal", theme.cover.text);
        assert_readable(&theme);
    }

    #[test]
    fn the_frame_is_what_the_edge_shares_count() {
        let navy = [0x1d, 0x39, 0x5e];
        let beige = [0xe8, 0xdc, 0xc8];
        // A beige square inside a navy frame of 1/8 of the side.
        let image = image::RgbImage::from_fn(96, 64, |x, y| {
            let frame = x < 12 || y < 8 || x >= 84 || y >= 56;
            image::Rgb(if frame { navy } else { beige })
        });
        let swatches = [swatch(beige, 0.6), swatch(navy, 0.4)];
        let shares = edge_shares(&DynamicImage::ImageRgb8(image), &swatches);
        assert_eq!(shares, [0.0, 1.0]);
    }

    proptest! {
        #[test]
        fn every_role_of_every_palette_is_readable(
            // Color, area (normalized below) and share of the frame, 1 to 8 swatches.
            colors in proptest::collection::vec(
                (any::<[u8; 3]>(), 0.001f32..1.0, 0.0f32..1.0),
                1..9,
            )
        ) {
            let total: f32 = colors.iter().map(|c| c.1).sum();
            let mut swatches: Vec<Swatch> =
                colors.iter().map(|(rgb, area, _)| swatch(*rgb, area / total)).collect();
            swatches.sort_by(|a, b| b.area.total_cmp(&a.area));
            let edges: Vec<f32> = colors.iter().map(|c| c.2).collect();
            assert_readable(&theme_of(&swatches, &edges));
        }
    }
}
