//! Still WebP images through libwebp (already linked for the WebP renditions), the reference
//! decoder: several times faster than `image`'s own on lossy covers. Animated WebPs, and files
//! libwebp refuses, go to `image` (first frame; its error messages), as before.

use image::{DynamicImage, ImageBuffer};

/// The still image in `bytes`, RGB or RGBA as stored, or `None` for `image` to try.
pub(super) fn decode(bytes: &[u8]) -> Option<DynamicImage> {
    let decoded = ::webp::Decoder::new(bytes).decode()?;
    let (width, height, pixels) = (decoded.width(), decoded.height(), decoded.to_vec());
    Some(if decoded.is_alpha() {
        DynamicImage::ImageRgba8(ImageBuffer::from_raw(width, height, pixels)?)
    } else {
        DynamicImage::ImageRgb8(ImageBuffer::from_raw(width, height, pixels)?)
    })
}
