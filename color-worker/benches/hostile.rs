//! Legal covers that are hostile to a worker's memory (under `worker.max_pixels`, valid files,
//! but large once decoded): for `BENCH_HOSTILE=1` of the end-to-end benchmark and the chaos
//! run's poison covers (`tests/color_worker/main.rs` includes this file).

use std::io::Cursor;

/// A PNG of one color, written row by row (a 7071² 16-bit one is 400 MB decoded, ~0.4 MB
/// as a file).
pub fn flat_png(side: u32, color: png::ColorType, depth: png::BitDepth) -> Vec<u8> {
    let samples = match color {
        png::ColorType::Rgba => 4,
        _ => 3,
    };
    let sample_bytes = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let pixel: Vec<u8> = [0xc8u8, 0x1e, 0x28, 0xff]
        .iter()
        .take(samples)
        .flat_map(|&value| std::iter::repeat_n(value, sample_bytes))
        .collect();
    let row = pixel.repeat(side as usize);
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, side, side);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().expect("PNG header");
        let mut stream = writer.stream_writer().expect("PNG stream");
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).expect("PNG row");
        }
        stream.finish().expect("PNG end");
    }
    bytes
}

/// A progressive JPEG without chroma subsampling: libjpeg keeps all its coefficients (2 bytes
/// per sample) until the last scan, whatever the output scale.
pub fn progressive_444_jpeg(side: u16) -> Vec<u8> {
    let pixels: Vec<u8> = [200u8, 30, 40].repeat(usize::from(side) * usize::from(side));
    let mut bytes = Cursor::new(Vec::new());
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 80);
    encoder.set_progressive(true);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    encoder
        .encode(&pixels, side, side, jpeg_encoder::ColorType::Rgb)
        .expect("JPEG encode");
    bytes.into_inner()
}
