//! PNG, WebP and GIF through the `image` crate, under `image::Limits`, after the header's
//! dimensions were checked (read with `png` directly for PNG: `image` also wants the first data
//! chunk, which a bomb need not have); still WebPs' pixels through libwebp (`webp.rs`).

use std::io::Cursor;

use image::{DynamicImage, ImageError, ImageFormat, ImageReader};

use super::metadata::Metadata;
use super::webp;
use super::{ExtractError, Limits, check_dimensions};

pub(super) fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(DynamicImage, Metadata), ExtractError> {
    checked_dimensions(bytes, format, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_dimension);
    image_limits.max_image_height = Some(limits.max_dimension);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(e, limits))?;
    let metadata = Metadata::of(&mut decoder);
    if format == ImageFormat::WebP
        && let Some(image) = webp::decode(bytes)
    {
        return Ok((image, metadata));
    }
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, limits))?;
    // One of the three layouts the rest handles: 8-bit gray, RGB or RGBA.
    let image = match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            image
        }
        image if image.color().has_alpha() => DynamicImage::ImageRgba8(image.into_rgba8()),
        image if image.color().has_color() => DynamicImage::ImageRgb8(image.into_rgb8()),
        image => DynamicImage::ImageLuma8(image.into_luma8()),
    };
    Ok((image, metadata))
}

/// The image's dimensions from its header alone, refusing an oversized image with our own
/// message before any pixel buffer is allocated. Read without `image::Limits`: the decoder's
/// own dimension check would report a bomb as a vague memory error. PNG's header is read with
/// `png` directly, because `image` also wants the first data chunk, which a bomb need not have.
pub(super) fn checked_dimensions(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(u32, u32), ExtractError> {
    let (width, height) = if format == ImageFormat::Png {
        let info = png_header(bytes)?;
        (info.width, info.height)
    } else {
        ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| image_error(e, limits))?
    };
    check_dimensions(width, height, limits)?;
    Ok((width, height))
}

fn image_error(error: ImageError, limits: &Limits) -> ExtractError {
    match error {
        ImageError::Limits(_) => ExtractError::OverMemoryLimit {
            max_alloc_bytes: limits.max_alloc_bytes,
        },
        ImageError::Unsupported(unsupported) => {
            ExtractError::UnsupportedFeature(unsupported.to_string())
        }
        ImageError::IoError(_) => ExtractError::Corrupt("the image data ends early".into()),
        other => ExtractError::Corrupt(other.to_string()),
    }
}

pub(super) fn png_header(bytes: &[u8]) -> Result<png::Info<'static>, ExtractError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let info = decoder
        .read_header_info()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    Ok(info.clone())
}
