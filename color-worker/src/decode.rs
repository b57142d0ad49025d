//! Bytes to pixels, once per cover, bounded: the header's dimensions are checked before any
//! pixel buffer exists; JPEGs are decoded by libjpeg-turbo, scaled down while decoding
//! (`jpeg.rs`), everything else by `image` under its limits and then reduced (`other.rs`,
//! `crate::resize`); then the EXIF orientation and the embedded ICC profile are applied
//! (`metadata.rs`), so the image is upright and sRGB. [`decode`] gives both what the
//! renditions are made from and the small working copy the palette and the BlurHash are
//! computed on; [`decode_working`] only the working copy, decoded no larger than it needs;
//! [`memory_needed`] says from the header alone what [`decode`] will take (`memory.rs`).

mod jpeg;
mod memory;
mod metadata;
mod other;
mod webp;

pub use memory::memory_needed;

use common::renditions::RenditionSize;
use image::{DynamicImage, ImageFormat};

use crate::resize::{self, ResizeError};

/// Longest side of the working copy the palette and the BlurHash are computed on. The palette
/// is judged against a 256-px copy; 192 px keeps every region of more than ~0.03% of the image.
/// Palette quality hardly depends on it (128–224 px all measured 4.06–4.18), but the working
/// copy's pixels are what NeuQuant and the binning walk, and 256 px made extraction 20% slower.
pub const WORKING_SIZE: u32 = 192;

/// A cover is decoded (JPEG: at the smallest DCT scale) or reduced (the rest) to a shorter side
/// this large, so the largest rendition is never made from an upscaled or blurrier copy.
const DECODE_SIDE: u32 = RenditionSize::Large.nominal_side();

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

impl From<ResizeError> for ExtractError {
    fn from(error: ResizeError) -> Self {
        ExtractError::Corrupt(error.to_string())
    }
}

/// A decoded cover.
pub struct Decoded {
    /// Upright and sRGB, 8-bit gray, RGB or RGBA, with its shorter side at least
    /// [`DECODE_SIDE`] when the original's is, and less than twice that: what the renditions
    /// are made from.
    pub image: DynamicImage,
    /// `image` shrunk to fit [`WORKING_SIZE`]: what the palette and the BlurHash are computed
    /// on.
    pub working: DynamicImage,
}

/// Decodes an encoded image (JPEG, PNG, WebP, GIF) into what colors, BlurHash and renditions
/// need.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, ExtractError> {
    let (image, metadata) = match image_format(bytes)? {
        ImageFormat::Jpeg => (
            jpeg::decode(bytes, limits, DECODE_SIDE)?,
            jpeg::metadata(bytes),
        ),
        format => {
            let (image, metadata) = other::decode(bytes, format, limits)?;
            (resize::reduce(image, DECODE_SIDE)?, metadata)
        }
    };
    let image = metadata.apply(image);
    let working = resize::working_copy(&image, WORKING_SIZE)?;
    Ok(Decoded { image, working })
}

/// Decodes an encoded image into the working copy alone, for colors and BlurHash without
/// renditions: a JPEG at the smallest DCT scale whose shorter side is still
/// [`WORKING_SIZE`] (what Pillow's draft mode does), anything else box-filtered straight from
/// its decoded size. The pixels differ a little from [`decode`]'s working copy (another
/// path to the same size), so the colors can too; the worker always uses [`decode`].
pub fn decode_working(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, ExtractError> {
    let (image, metadata) = match image_format(bytes)? {
        ImageFormat::Jpeg => (
            jpeg::decode(bytes, limits, WORKING_SIZE)?,
            jpeg::metadata(bytes),
        ),
        format => other::decode(bytes, format, limits)?,
    };
    let working = resize::working_copy(&image, WORKING_SIZE)?;
    Ok(metadata.apply(working))
}

/// The format of `bytes`, if it is one the worker decodes.
fn image_format(bytes: &[u8]) -> Result<ImageFormat, ExtractError> {
    match image::guess_format(bytes) {
        Ok(
            format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif),
        ) => Ok(format),
        _ => Err(ExtractError::UnsupportedFormat),
    }
}

/// Refuses dimensions over the limits, with our own message, before any pixel buffer exists.
fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), ExtractError> {
    if width > limits.max_dimension
        || height > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ExtractError::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
            max_dimension: limits.max_dimension,
        });
    }
    Ok(())
}
