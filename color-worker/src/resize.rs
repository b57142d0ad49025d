//! The resizes the pipeline shares (`fast_image_resize`): the reduced copy a large non-JPEG
//! cover is shrunk to right after decoding, the small working copy the palette and the BlurHash
//! are computed on, and the pixel layouts both speak with `image`.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageBuffer};

/// A resize that could not be done: the pixels are not what their dimensions say (a corrupt
/// image the decoder let through), never a matter of retrying.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ResizeError(String);

fn failed(error: impl std::fmt::Display) -> ResizeError {
    ResizeError(error.to_string())
}

/// What libjpeg-turbo's DCT scaling does for JPEGs, for the other formats: a copy whose
/// shorter side is `shorter_side` (Lanczos3), so everything after works on a small image.
/// RGBA is premultiplied in place: the resizer's own alpha handling would first copy the
/// whole source, doubling the peak memory of a large RGBA cover.
pub fn reduce(image: DynamicImage, shorter_side: u32) -> Result<DynamicImage, ResizeError> {
    let (width, height) = (image.width(), image.height());
    let shorter = width.min(height);
    if shorter <= shorter_side {
        return Ok(image);
    }
    let scale = f64::from(shorter_side) / f64::from(shorter);
    let size = |side: u32| ((f64::from(side) * scale).round() as u32).max(shorter_side);
    let (pixel_type, data) = layout(image)?;
    let mut source = Image::from_vec_u8(width, height, data, pixel_type).map_err(failed)?;
    let alpha = pixel_type == PixelType::U8x4;
    if alpha {
        MulDiv::default()
            .multiply_alpha_inplace(&mut source)
            .map_err(failed)?;
    }
    let mut reduced = Image::new(size(width), size(height), pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(false);
    Resizer::new()
        .resize(&source, &mut reduced, &options)
        .map_err(failed)?;
    drop(source);
    if alpha {
        MulDiv::default()
            .divide_alpha_inplace(&mut reduced)
            .map_err(failed)?;
    }
    from_layout(reduced)
}

/// The resizer's pixel type of an image in one of the three layouts decoding returns.
pub fn pixel_type(image: &DynamicImage) -> Option<PixelType> {
    match image {
        DynamicImage::ImageLuma8(_) => Some(PixelType::U8),
        DynamicImage::ImageRgb8(_) => Some(PixelType::U8x3),
        DynamicImage::ImageRgba8(_) => Some(PixelType::U8x4),
        _ => None,
    }
}

/// An image in one of the three layouts decoding returns (8-bit gray, RGB, RGBA), as the
/// resizer's pixel type and its bytes.
fn layout(image: DynamicImage) -> Result<(PixelType, Vec<u8>), ResizeError> {
    Ok(match image {
        DynamicImage::ImageLuma8(gray) => (PixelType::U8, gray.into_raw()),
        DynamicImage::ImageRgb8(rgb) => (PixelType::U8x3, rgb.into_raw()),
        DynamicImage::ImageRgba8(rgba) => (PixelType::U8x4, rgba.into_raw()),
        _ => return Err(failed("unexpected pixel layout")),
    })
}

/// The inverse of [`layout`], for the resizer's output.
fn from_layout(image: Image<'static>) -> Result<DynamicImage, ResizeError> {
    let (width, height, pixel_type) = (image.width(), image.height(), image.pixel_type());
    let data = image.into_vec();
    let too_short = || failed("the resizer returned too few pixels");
    Ok(match pixel_type {
        PixelType::U8 => DynamicImage::ImageLuma8(
            ImageBuffer::from_raw(width, height, data).ok_or_else(too_short)?,
        ),
        PixelType::U8x3 => DynamicImage::ImageRgb8(
            ImageBuffer::from_raw(width, height, data).ok_or_else(too_short)?,
        ),
        _ => DynamicImage::ImageRgba8(
            ImageBuffer::from_raw(width, height, data).ok_or_else(too_short)?,
        ),
    })
}

/// Shrinks a decoded image to fit a square of `size` (Box filter: it averages each source area,
/// exactly the share of each color a palette should see, and is the cheapest convolution).
/// RGBA is resized with premultiplied alpha so transparent pixels do not bleed their
/// (meaningless) color into the opaque edge.
pub fn working_copy(image: &DynamicImage, size: u32) -> Result<DynamicImage, ResizeError> {
    let (width, height) = (image.width(), image.height());
    let scale = f64::from(size) / f64::from(width.max(height));
    if scale >= 1.0 {
        return Ok(image.clone());
    }
    let small_width = ((f64::from(width) * scale).round() as u32).max(1);
    let small_height = ((f64::from(height) * scale).round() as u32).max(1);
    let pixel_type = pixel_type(image).unwrap_or(PixelType::U8x4);
    let source = ImageRef::new(width, height, image.as_bytes(), pixel_type).map_err(failed)?;
    let mut small = Image::new(small_width, small_height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
    Resizer::new()
        .resize(&source, &mut small, &options)
        .map_err(failed)?;
    from_layout(small)
}
