//! A player theme, as the worker stores it (`theme`, jsonb) and the API returns it: three
//! color schemes (the cover's own, light and dark), each with five roles and the WCAG 2.1
//! contrast of every role against what it is drawn on, computed from the hex values as sent.

use palette::Srgb;
use palette::color_difference::Wcag21RelativeContrast;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// WCAG 2.1 AA for body text (1.4.3): `text`, `text_secondary` and `on_accent`.
pub const TEXT_CONTRAST: f32 = 4.5;
/// WCAG 2.1 non-text contrast (1.4.11), for UI components: `accent` on `background`.
pub const ACCENT_CONTRAST: f32 = 3.0;

/// The three schemes of a cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Theme {
    /// Painted from the artwork: `background` is a large color of the cover, favouring its
    /// edges, so the art blends into the player.
    pub cover: Scheme,
    /// A light page tinted toward the cover's hue (relative luminance ≥ 0.75).
    pub light: Scheme,
    /// A dark page tinted toward the cover's hue (relative luminance ≤ 0.04).
    pub dark: Scheme,
}

/// One scheme: five `#rrggbb` roles and their contrast ratios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Scheme {
    #[schema(pattern = "^#[0-9a-f]{6}$", example = "#1d395e")]
    pub background: String,
    /// Body text on `background` (≥ 4.5:1).
    #[schema(pattern = "^#[0-9a-f]{6}$", example = "#f2f5fa")]
    pub text: String,
    /// Text of lower emphasis on `background` (≥ 4.5:1, less than `text`'s where room allows).
    #[schema(pattern = "^#[0-9a-f]{6}$", example = "#b9c6da")]
    pub text_secondary: String,
    /// Controls and highlights on `background` (≥ 3:1), from the cover's vivid colors.
    #[schema(pattern = "^#[0-9a-f]{6}$", example = "#e8a33d")]
    pub accent: String,
    /// Icons and text on `accent`, such as a play button's (≥ 4.5:1).
    #[schema(pattern = "^#[0-9a-f]{6}$", example = "#1a1206")]
    pub on_accent: String,
    pub contrast: Contrast,
}

/// WCAG 2.1 contrast ratios, rounded down to 0.01 so that none is overstated (by more than
/// float error: black on white is 21, not 20.99).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contrast {
    /// `text` on `background`.
    pub text: f64,
    /// `text_secondary` on `background`.
    pub text_secondary: f64,
    /// `accent` on `background`.
    pub accent: f64,
    /// `on_accent` on `accent`.
    pub on_accent: f64,
}

/// The roles of one scheme, as colors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub background: [u8; 3],
    pub text: [u8; 3],
    pub text_secondary: [u8; 3],
    pub accent: [u8; 3],
    pub on_accent: [u8; 3],
}

impl Scheme {
    /// The scheme of `roles`, with the ratios of the colors exactly as the hex values say.
    pub fn new(roles: &Roles) -> Self {
        // In f64, so that every serializer prints the two decimals (4.51, not 4.510000228…).
        let ratio = |a, b| (f64::from(contrast_ratio(a, b)) * 100.0 + 1e-3).floor() / 100.0;
        Self {
            background: hex(roles.background),
            text: hex(roles.text),
            text_secondary: hex(roles.text_secondary),
            accent: hex(roles.accent),
            on_accent: hex(roles.on_accent),
            contrast: Contrast {
                text: ratio(roles.text, roles.background),
                text_secondary: ratio(roles.text_secondary, roles.background),
                accent: ratio(roles.accent, roles.background),
                on_accent: ratio(roles.on_accent, roles.accent),
            },
        }
    }
}

/// WCAG 2.1 contrast ratio of two sRGB colors, from 1 (same luminance) to 21 (black on white).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f32 {
    srgb(a).relative_contrast(srgb(b))
}

fn srgb(rgb: [u8; 3]) -> Srgb<f32> {
    Srgb::from(rgb).into_format()
}

/// `#rrggbb`, lowercase.
pub fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The color of a `#rrggbb` value (either case); `None` for anything else.
pub fn parse_hex(value: &str) -> Option<[u8; 3]> {
    if !crate::colors::is_hex_color(value) {
        return None;
    }
    let channel = |at: usize| u8::from_str_radix(&value[at..at + 2], 16).ok();
    Some([channel(1)?, channel(3)?, channel(5)?])
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reported_ratios_never_overstate_the_colors_sent() {
        let roles = Roles {
            background: [255, 255, 255],
            text: [0x76, 0x76, 0x76],
            text_secondary: [0x77, 0x77, 0x77],
            accent: [0, 0, 0],
            on_accent: [255, 255, 255],
        };
        let scheme = Scheme::new(&roles);
        assert_eq!(scheme.text_secondary, "#777777");
        assert_eq!(scheme.contrast.text, 4.54);
        assert_eq!(scheme.contrast.text_secondary, 4.47);
        assert_eq!(scheme.contrast.on_accent, 21.0);
        let parsed = parse_hex(&scheme.text).unwrap();
        assert_eq!(parsed, roles.text);
    }
}
