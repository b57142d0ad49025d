//! One cover, bytes to everything the API shows of it: decoded once (`crate::decode`), its
//! colors (`crate::palette`) and BlurHash from the working copy, and on request its four
//! renditions (`crate::renditions`). Pure, no I/O: the worker calls it from a blocking thread,
//! and the `extract` subcommand, tests and benchmarks call exactly what production runs.

use common::colors::CoverColors;
use image::DynamicImage;

use crate::decode::{self, ExtractError, Limits};
use crate::palette;
use crate::renditions::{self, Rendition, RenditionError};

/// BlurHash components across and down: the 4×3 the API promises.
const BLURHASH_COMPONENTS: (u32, u32) = (4, 3);

/// What [`process`] makes of a cover.
pub struct Cover {
    pub colors: CoverColors,
    /// BlurHash of the cover's centre square (what the renditions show), 4×3 components.
    pub blurhash: String,
    /// Largest first; empty when none were asked for.
    pub renditions: Vec<Rendition>,
}

#[derive(Debug, thiserror::Error)]
pub enum CoverError {
    /// The image cannot be decoded or has no colors.
    #[error(transparent)]
    Image(#[from] ExtractError),
    #[error(transparent)]
    Rendition(#[from] RenditionError),
}

/// Decodes `bytes` (JPEG, PNG, WebP, GIF) once and makes its colors, its BlurHash and, with a
/// `rendition_quality` (the encoders' 1–100), its four renditions.
pub fn process(
    bytes: &[u8],
    limits: &Limits,
    rendition_quality: Option<u8>,
) -> Result<Cover, CoverError> {
    let decoded = decode::decode(bytes, limits)?;
    let colors = palette::colors(&decoded.working)?;
    let blurhash = blurhash(&decoded.working)?;
    let renditions = match rendition_quality {
        Some(quality) => renditions::render(&decoded.image, quality)?,
        None => Vec::new(),
    };
    Ok(Cover {
        colors,
        blurhash,
        renditions,
    })
}

/// Colors and BlurHash from a cover decoded only as large as they need
/// (`decode::decode_working`, like Pillow's draft mode): faster, most on large progressive
/// JPEGs, but the colors can differ slightly from what [`process`], and so the worker, gives.
pub fn draft(bytes: &[u8], limits: &Limits) -> Result<Cover, CoverError> {
    let working = decode::decode_working(bytes, limits)?;
    Ok(Cover {
        colors: palette::colors(&working)?,
        blurhash: blurhash(&working)?,
        renditions: Vec::new(),
    })
}

/// The palette, accent colors and theme of an encoded image, and nothing else.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<CoverColors, ExtractError> {
    palette::colors(&decode::decode(bytes, limits)?.working)
}

/// BlurHash of the centre square of the working copy, the part the square renditions show.
fn blurhash(working: &DynamicImage) -> Result<String, ExtractError> {
    let (left, top, side) = renditions::centre_square(working.width(), working.height());
    let square = working.crop_imm(left, top, side, side).into_rgba8();
    let (x, y) = BLURHASH_COMPONENTS;
    blurhash::encode(x, y, side, side, square.as_raw())
        .map_err(|error| ExtractError::Corrupt(format!("no BlurHash: {error}")))
}
