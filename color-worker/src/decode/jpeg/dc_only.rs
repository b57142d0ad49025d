//! A progressive JPEG reduced to its DC scans, for decoding at the 1/8 DCT scale: there the
//! inverse DCT of a full-resolution component (luma; every component of a 4:4:4 file) reads
//! only each block's DC coefficient, so the pixels are the same as from the whole file, but
//! the decoder skips the Huffman decoding of its AC coefficients, most of a progressive file's
//! bytes and of its decoding time. (Pillow's and sharp's draft decodes read every scan.)
//! Subsampled components keep their AC scans: libjpeg-turbo upsamples them in a larger
//! inverse DCT (2×2 for 4:2:0 chroma), which reads AC coefficients.
//!
//! The AC scans are not simply dropped: libjpeg smooths the DC of blocks whose AC
//! coefficients never arrived (a preview of a half-loaded image), which moves pixels by up to
//! 100 levels. In their place goes one scan per component saying "every AC coefficient is
//! zero" in a few bytes (end-of-band runs), so the coefficients count as received and the
//! pixels are exactly those of the whole file.
//!
//! No crate walks a JPEG's scans (img-parts stops at the first one); the format is simple
//! (ITU T.81, B.1.1 and G.1.2.2): marker segments carry a length, and a scan's entropy-coded
//! data runs until the next marker that is neither a stuffed 0xFF nor a restart marker.

/// Start of frame, progressive with Huffman coding (the other codes from 0xC0 to 0xCF are
/// frames too, but for these three); define restart interval; start of scan; end of image.
const SOF2: u8 = 0xC2;
const DHT: u8 = 0xC4;
const JPG: u8 = 0xC8;
const DAC: u8 = 0xCC;
const DRI: u8 = 0xDD;
const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;

/// `bytes` with the AC scans of its full-resolution components replaced by empty ones; `None` for
/// anything else than a Huffman-coded progressive JPEG without restart markers that this walk
/// follows to its end-of-image marker: that file is decoded whole, and libjpeg-turbo says
/// what is wrong with it, if anything.
pub(super) fn without_ac_scans(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut kept = Vec::with_capacity(bytes.len() / 8);
    kept.extend_from_slice(&bytes[..2]);
    let mut frame = None;
    let mut at = 2;
    loop {
        // A marker: 0xFF, any number of 0xFF fill bytes, then its code.
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let mut code_at = at + 1;
        while *bytes.get(code_at)? == 0xFF {
            code_at += 1;
        }
        let code = bytes[code_at];
        if code == EOI {
            kept.extend(empty_ac_scans(&frame?));
            kept.extend_from_slice(&[0xFF, EOI]);
            return Some(kept);
        }
        // Every other marker between scans has a length, which counts itself.
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(code_at + 1)?,
            *bytes.get(code_at + 2)?,
        ]));
        let header_end = code_at + 1 + length;
        let header = bytes.get(code_at + 1..header_end)?;
        match code {
            SOF2 => frame = Some(Frame::parse(header)?),
            // Any other frame (baseline, lossless, arithmetic): stop before walking its scans.
            0xC0..=0xCF if !matches!(code, DHT | JPG | DAC) => return None,
            // Empty scans would need restart markers too; such files are rare.
            DRI if header.get(2..4)? != [0, 0] => return None,
            _ => {}
        }
        if code != SOS {
            kept.extend_from_slice(&bytes[at..header_end]);
            at = header_end;
            continue;
        }
        let scan_end = entropy_end(bytes, header_end)?;
        // SOS: length (2), component count n, n × (id, tables), then the spectral start. An
        // AC scan (spectral start > 0) has one component.
        let components = usize::from(*header.get(2)?);
        let spectral_start = *header.get(3 + 2 * components)?;
        let component = *header.get(3)?;
        if spectral_start == 0 || frame.as_ref()?.needs_ac(component) {
            kept.extend_from_slice(&bytes[at..scan_end]);
        }
        at = scan_end;
    }
}

/// What the empty scans need of the frame header.
struct Frame {
    components: Vec<Component>,
}

struct Component {
    id: u8,
    /// Blocks in a scan of this component alone.
    blocks: u32,
    /// Whether the 1/8-scale decode reads its AC coefficients.
    needs_ac: bool,
}

impl Frame {
    /// SOF: length (2), precision, height (2), width (2), count n, n × (id, h·16 + v, table).
    fn parse(header: &[u8]) -> Option<Self> {
        let height = u32::from(u16::from_be_bytes([*header.get(3)?, *header.get(4)?]));
        let width = u32::from(u16::from_be_bytes([*header.get(5)?, *header.get(6)?]));
        let count = usize::from(*header.get(7)?);
        let specs = header.get(8..8 + 3 * count)?.chunks_exact(3);
        let max_h = specs.clone().map(|c| u32::from(c[1] >> 4)).max()?;
        let max_v = specs.clone().map(|c| u32::from(c[1] & 15)).max()?;
        if max_h == 0 || max_v == 0 {
            return None;
        }
        // A component scanned alone has ceil(width · h / (max h · 8)) blocks a row (A.2.2).
        let blocks = |size: u32, factor: u32, max: u32| (size * factor).div_ceil(max * 8);
        let components = specs
            .map(|c| {
                let (h, v) = (u32::from(c[1] >> 4), u32::from(c[1] & 15));
                Component {
                    id: c[0],
                    blocks: blocks(width, h, max_h) * blocks(height, v, max_v),
                    // libjpeg-turbo's jdmaster.c doubles a component's inverse DCT size while
                    // that still divides both its sampling ratios.
                    needs_ac: max_h % (2 * h) == 0 && max_v % (2 * v) == 0,
                }
            })
            .collect();
        Some(Self { components })
    }

    fn needs_ac(&self, id: u8) -> bool {
        self.components
            .iter()
            .any(|component| component.id == id && component.needs_ac)
    }
}

/// Longest end-of-band run one symbol codes: EOB14, 2^14 plus 14 extra bits.
const MAX_RUN: u32 = (1 << 15) - 1;

/// For each component whose AC scans were left out, a Huffman table and an AC scan
/// (coefficients 1–63, full precision) that codes all its blocks as end-of-band runs of at
/// most two run lengths.
fn empty_ac_scans(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    for component in frame.components.iter().filter(|c| !c.needs_ac) {
        let (id, blocks) = (component.id, component.blocks);
        let mut runs = vec![MAX_RUN; (blocks / MAX_RUN) as usize];
        if blocks % MAX_RUN != 0 {
            runs.push(blocks % MAX_RUN);
        }
        // EOBn (symbol n·16) codes runs of 2^n to 2^(n+1) − 1 blocks with n extra bits.
        let symbol = |run: u32| (run.ilog2() as u8) << 4;
        let mut symbols: Vec<u8> = runs.iter().map(|&run| symbol(run)).collect();
        symbols.dedup();
        // One symbol gets the code 0; two get 0 and 10 (a code of all ones is not allowed).
        let mut table = vec![0xFF, 0xC4, 0, 0, 0x10];
        let mut counts = [0u8; 16];
        counts[..symbols.len()].fill(1);
        table.extend_from_slice(&counts);
        table.extend_from_slice(&symbols);
        let length = (table.len() - 2) as u16;
        table[2..4].copy_from_slice(&length.to_be_bytes());
        out.extend(table);
        out.extend_from_slice(&[0xFF, SOS, 0, 8, 1, id, 0x00, 1, 63, 0x00]);
        let mut bits = BitWriter::default();
        for run in runs {
            let extra_bits = run.ilog2();
            let (code, code_length) = if symbol(run) == symbols[0] {
                (0, 1)
            } else {
                (0b10, 2)
            };
            bits.put(code, code_length);
            bits.put(run - (1 << extra_bits), extra_bits);
        }
        out.extend(bits.finish());
    }
    out
}

/// Entropy-coded bits, most significant first, with 0xFF bytes stuffed.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    pending: u32,
    count: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, length: u32) {
        for bit in (0..length).rev() {
            self.pending = (self.pending << 1) | ((value >> bit) & 1);
            self.count += 1;
            if self.count == 8 {
                self.push_byte();
            }
        }
    }

    fn push_byte(&mut self) {
        let byte = self.pending as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
        self.pending = 0;
        self.count = 0;
    }

    /// The bytes, the last one padded with ones.
    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            let padding = 8 - self.count;
            self.pending = (self.pending << padding) | ((1 << padding) - 1);
            self.push_byte();
        }
        self.bytes
    }
}

/// Where the entropy-coded data that starts at `from` ends: at the first marker that is not
/// a stuffed zero or a restart marker.
fn entropy_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        at += bytes.get(at..)?.iter().position(|&byte| byte == 0xFF)?;
        match *bytes.get(at + 1)? {
            0x00 | 0xD0..=0xD7 => at += 2,
            _ => return Some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_progressive_files_dc_scans_and_empties_its_ac_scans() {
        // SOI, SOF2 (one component of 16×8: two blocks), a DC scan (Ss = 0) with a stuffed
        // byte and a restart marker, an AC scan (Ss = 1), EOI.
        let frame = [0xFF, SOF2, 0, 11, 8, 0, 8, 0, 16, 1, 1, 0x11, 0];
        let dc_scan = [
            0xFF, SOS, 0, 8, 1, 1, 0x00, 0, 0, 0, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56,
        ];
        let ac_scan = [0xFF, SOS, 0, 8, 1, 1, 0x00, 1, 63, 0, 0x78, 0x9A];
        let file = [&[0xFF, 0xD8][..], &frame, &dc_scan, &ac_scan, &[0xFF, EOI]].concat();

        let kept = without_ac_scans(&file).expect("a progressive file");

        // Two blocks: one run of 2 = EOB1 (symbol 0x10, code 0) and one extra bit 0,
        // padded with ones: 0b0011_1111.
        let mut empty_table = vec![0xFF, 0xC4, 0, 20, 0x10, 1];
        empty_table.extend([0; 15]);
        empty_table.push(0x10);
        let empty_scan = [0xFF, SOS, 0, 8, 1, 1, 0x00, 1, 63, 0, 0b0011_1111];
        let expected = [
            &[0xFF, 0xD8][..],
            &frame,
            &dc_scan,
            &empty_table,
            &empty_scan,
            &[0xFF, EOI],
        ]
        .concat();
        assert_eq!(kept, expected);
    }

    #[test]
    fn leaves_baseline_restart_and_unfinished_files_alone() {
        let baseline = [
            0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xFF, EOI,
        ];
        assert_eq!(without_ac_scans(&baseline), None);
        let frame = [0xFF, SOF2, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0];
        let restarts = [
            &[0xFF, 0xD8][..],
            &frame,
            &[0xFF, DRI, 0, 4, 0, 2, 0xFF, EOI],
        ]
        .concat();
        assert_eq!(without_ac_scans(&restarts), None);
        let truncated = [&[0xFF, 0xD8][..], &frame, &[0xFF, SOS, 0, 8, 1, 1, 0, 0]].concat();
        assert_eq!(without_ac_scans(&truncated), None);
        assert_eq!(without_ac_scans(b"not a jpeg"), None);
    }

    #[test]
    fn long_runs_take_two_symbols_and_ff_bytes_are_stuffed() {
        // 40000 blocks: a run of 32767 (EOB14, code 0, 14 ones) and of 7233 (EOB12, code 10,
        // 12 bits of 7233 − 4096 = 3137).
        let frame = Frame {
            components: vec![Component {
                id: 1,
                blocks: 40_000,
                needs_ac: false,
            }],
        };
        let scans = empty_ac_scans(&frame);
        let table_symbols = &scans[21..23];
        assert_eq!(table_symbols, [0xE0, 0xC0]);
        assert_eq!(&scans[5..7], [1, 1]); // two codes of lengths 1 and 2
        let entropy = &scans[23 + 10..];
        // 0 11111111111111 10 110001000001, padded with 111:
        // 01111111 11111111 01100010 00001111, 0x00 stuffed after the 0xFF.
        assert_eq!(entropy, [0x7F, 0xFF, 0x00, 0x62, 0x0F]);
    }
}
