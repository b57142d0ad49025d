//! The palette of a working copy: NeuQuant picks the starting colors, a few population-weighted
//! k-means iterations in OKLab move them to the centres of the regions they stand for (NeuQuant
//! alone leaves them where its learning schedule stopped, which is why its palettes look washed
//! out), then near-duplicates are merged and each color's share of the pixels is counted.
//!
//! The refinement runs over bins of similar pixels rather than over pixels, and measures
//! distance in OKLab with its chroma axes stretched (see [`CHROMA_WEIGHT`]).

use color_quant::NeuQuant;
use palette::{FromColor, LinSrgb, Oklab, Srgb};

/// At most this many colors per cover (the API contract).
pub(super) const MAX_COLORS: usize = 8;

/// NeuQuant learns from every sixth pixel: it only seeds the refinement, and learning from all
/// of them cost more than the whole refinement. Palette quality depends on the seeds only as
/// noise: over working sizes 128–224 px and sample factors 2–8 on the bench set it stayed
/// within 4.057–4.183 (4.060 here), and it drifts past 4.2 from about 15.
const NEUQUANT_SAMPLE_FACTOR: i32 = 6;

/// k-means rounds. From NeuQuant's seeds the squared error stops improving measurably after
/// about eight; the loop also ends early once no bin changes centre.
const MEAN_ITERATIONS: usize = 10;

/// Then Weiszfeld rounds (k-medians): each centre moves to the point minimising the *sum* of
/// distances of its pixels rather than of squared distances. The palette is judged by the mean
/// distance of pixels to it, which k-means over-weights towards outliers; a few rounds bring
/// most of the gain.
const MEDIAN_ITERATIONS: usize = 10;

/// A round that moves no centre further than this (a just-noticeable difference is about 0.02)
/// ends the refinement: later rounds change the palette invisibly.
const CONVERGED: f32 = 1e-3;

/// Floor on a pixel's distance in a Weiszfeld round, so a pixel sitting on its centre gets a
/// large but finite weight (well under one 8-bit step in OKLab).
const MEDIAN_EPSILON: f32 = 1e-3;

/// Two colors closer than this are one color to the eye (a just-noticeable difference is about
/// 0.02), so they are merged rather than listed twice.
const MERGE_DISTANCE: f32 = 0.02;

/// Bits of each sRGB channel that pick a pixel's bin (see [`binned_colors`]).
const BIN_BITS: u32 = 5;

/// Factor on OKLab's a and b axes in every distance the palette is built with. Plain OKLab
/// counts a change of chroma or hue for less than CIEDE2000 (the standard color difference, and
/// the palette's quality measure) does against a change of lightness, so k-means spent colors
/// on shades of one hue. Measured on the bench set with `scripts/palette-quality` (at NeuQuant
/// sample factor 3): factor 1 gives 4.198, 1.5 gives 4.139, 2 gives 4.080, 2.5 gives 4.080.
const CHROMA_WEIGHT: f32 = 2.0;

/// One palette entry: its color and the share of the opaque pixels nearest to it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Swatch {
    pub rgb: [u8; 3],
    pub oklab: Oklab,
    pub area: f32,
}

#[cfg(test)]
impl Swatch {
    /// A swatch of `rgb` covering `area`, for tests of what is made of palettes.
    pub(super) fn of(rgb: [u8; 3], area: f32) -> Self {
        Self {
            rgb,
            oklab: to_oklab(rgb),
            area,
        }
    }
}

/// Builds at most [`MAX_COLORS`] swatches from `pixels` (not empty), sorted by area, largest
/// first; their areas sum to 1.
pub(super) fn palette(pixels: &[[u8; 3]]) -> Vec<Swatch> {
    let (points, weights) = binned_colors(pixels);
    let mut centres: Vec<[f32; 3]> = neuquant_seeds(pixels)
        .into_iter()
        .map(|rgb| point(to_oklab(rgb)))
        .collect();
    let mut nearest = vec![0usize; points.len()];
    for round in 0..MEAN_ITERATIONS {
        let changed = assign(&points, &centres, &mut nearest);
        if (round > 0 && !changed)
            || recentre(&points, &weights, &nearest, &mut centres, Centre::Mean) < CONVERGED
        {
            break;
        }
    }
    for _ in 0..MEDIAN_ITERATIONS {
        assign(&points, &centres, &mut nearest);
        if recentre(&points, &weights, &nearest, &mut centres, Centre::Median) < CONVERGED {
            break;
        }
    }
    assign(&points, &centres, &mut nearest);
    let mut clusters: Vec<Cluster> = centres
        .iter()
        .enumerate()
        .map(|(i, &mean)| Cluster {
            mean,
            count: nearest
                .iter()
                .zip(&weights)
                .filter(|&(&n, _)| n == i)
                .map(|(_, &w)| w as usize)
                .sum(),
        })
        .collect();
    merge_near_duplicates(&mut clusters);

    let total = pixels.len() as f32;
    let mut swatches: Vec<Swatch> = clusters
        .into_iter()
        .filter(|cluster| cluster.count > 0)
        .map(|cluster| {
            let oklab = from_point(cluster.mean);
            Swatch {
                rgb: to_rgb(oklab),
                oklab,
                area: cluster.count as f32 / total,
            }
        })
        .collect();
    swatches.sort_by(|a, b| b.area.total_cmp(&a.area));
    swatches
}

/// The pixels grouped into bins of 8×8×8 sRGB levels (5 bits per channel), each bin one point
/// at the mean color of its pixels, weighted by their count. Every refinement pass then costs
/// per occupied bin rather than per pixel, and a bin is far smaller than any cluster an
/// 8-color palette can draw: on the bench set, binning moved palette quality from 4.174 (every
/// distinct color a point) to 4.194, while 4-bit bins cost 0.1.
fn binned_colors(pixels: &[[u8; 3]]) -> (Vec<[f32; 3]>, Vec<u32>) {
    // Per bin: the sums of red, green and blue, and the pixel count. A working copy has at
    // most WORKING_SIZE² pixels, so no sum comes near u32::MAX.
    let mut bins = vec![[0u32; 4]; 1 << (3 * BIN_BITS)];
    for &[red, green, blue] in pixels {
        let bin = &mut bins[bin_index(red, green, blue)];
        bin[0] += u32::from(red);
        bin[1] += u32::from(green);
        bin[2] += u32::from(blue);
        bin[3] += 1;
    }
    bins.iter()
        .filter(|bin| bin[3] > 0)
        .map(|&[red, green, blue, count]| {
            let mean = [red, green, blue].map(|sum| sum as f32 / (255.0 * count as f32));
            let oklab = Oklab::from_color(Srgb::new(mean[0], mean[1], mean[2]).into_linear());
            (point(oklab), count)
        })
        .unzip()
}

fn bin_index(red: u8, green: u8, blue: u8) -> usize {
    let drop = 8 - BIN_BITS;
    (usize::from(red >> drop) << (2 * BIN_BITS))
        | (usize::from(green >> drop) << BIN_BITS)
        | usize::from(blue >> drop)
}

fn neuquant_seeds(pixels: &[[u8; 3]]) -> Vec<[u8; 3]> {
    let rgba: Vec<u8> = pixels
        .iter()
        .flat_map(|&[r, g, b]| [r, g, b, 255])
        .collect();
    let quant = NeuQuant::new(NEUQUANT_SAMPLE_FACTOR, MAX_COLORS, &rgba);
    quant
        .color_map_rgb()
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect()
}

pub(super) fn to_oklab(rgb: [u8; 3]) -> Oklab {
    Oklab::from_color(Srgb::from(rgb).into_linear::<f32>())
}

pub(super) fn to_rgb(oklab: Oklab) -> [u8; 3] {
    let linear = LinSrgb::from_color(oklab);
    let clamped = LinSrgb::new(
        linear.red.clamp(0.0, 1.0),
        linear.green.clamp(0.0, 1.0),
        linear.blue.clamp(0.0, 1.0),
    );
    Srgb::<u8>::from_linear(clamped).into()
}

/// A color as a point of the space the palette is built in.
fn point(oklab: Oklab) -> [f32; 3] {
    [oklab.l, oklab.a * CHROMA_WEIGHT, oklab.b * CHROMA_WEIGHT]
}

fn from_point([l, a, b]: [f32; 3]) -> Oklab {
    Oklab::new(l, a / CHROMA_WEIGHT, b / CHROMA_WEIGHT)
}

fn distance_squared(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Points every bin at its nearest centre; returns whether any bin changed centre.
fn assign(points: &[[f32; 3]], centres: &[[f32; 3]], nearest: &mut [usize]) -> bool {
    let mut changed = false;
    for (point, slot) in points.iter().zip(nearest.iter_mut()) {
        let mut best = (f32::INFINITY, 0);
        for (i, centre) in centres.iter().enumerate() {
            let distance = distance_squared(point, centre);
            if distance < best.0 {
                best = (distance, i);
            }
        }
        changed |= *slot != best.1;
        *slot = best.1;
    }
    changed
}

struct Cluster {
    mean: [f32; 3],
    count: usize,
}

#[derive(Clone, Copy)]
enum Centre {
    Mean,
    Median,
}

/// Each cluster's pixel count and its new centre: the plain mean, or one Weiszfeld step towards
/// the geometric median (a mean weighted by 1 / distance to the current centre).
fn clusters(
    points: &[[f32; 3]],
    pixel_counts: &[u32],
    nearest: &[usize],
    centres: &[[f32; 3]],
    centre: Centre,
) -> Vec<Cluster> {
    let k = centres.len();
    let mut sums = vec![[0f64; 3]; k];
    let mut weights = vec![0f64; k];
    let mut counts = vec![0usize; k];
    for ((point, &cluster), &pixels) in points.iter().zip(nearest).zip(pixel_counts) {
        let weight = f64::from(pixels)
            * match centre {
                Centre::Mean => 1.0,
                Centre::Median => {
                    let distance = distance_squared(point, &centres[cluster]).sqrt();
                    1.0 / f64::from(distance.max(MEDIAN_EPSILON))
                }
            };
        for axis in 0..3 {
            sums[cluster][axis] += weight * f64::from(point[axis]);
        }
        weights[cluster] += weight;
        counts[cluster] += pixels as usize;
    }
    (0..k)
        .map(|i| Cluster {
            mean: if counts[i] > 0 {
                sums[i].map(|s| (s / weights[i]) as f32)
            } else {
                centres[i]
            },
            count: counts[i],
        })
        .collect()
}

/// Moves every centre to the mean (or towards the median) of its bins' pixels; a centre that
/// lost all its pixels jumps to the bin worst served by the palette, so all colors keep earning
/// their place. Returns
/// how far the furthest centre moved (infinite for a jump).
fn recentre(
    points: &[[f32; 3]],
    pixel_counts: &[u32],
    nearest: &[usize],
    centres: &mut [[f32; 3]],
    centre: Centre,
) -> f32 {
    let mut moved = 0f32;
    let means = clusters(points, pixel_counts, nearest, centres, centre);
    let empty = means.iter().position(|cluster| cluster.count == 0);
    for (centre, cluster) in centres.iter_mut().zip(means) {
        if cluster.count > 0 {
            moved = moved.max(distance_squared(centre, &cluster.mean).sqrt());
            *centre = cluster.mean;
        }
    }
    let Some(empty) = empty else {
        return moved;
    };
    let worst = points
        .iter()
        .zip(nearest)
        .map(|(point, &i)| (distance_squared(point, &centres[i]), point))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((worst_distance, worst_point)) = worst
        && worst_distance > MERGE_DISTANCE * MERGE_DISTANCE
    {
        centres[empty] = *worst_point;
        moved = f32::INFINITY;
    }
    moved
}

/// Merges, pair by pair, clusters whose means are closer than [`MERGE_DISTANCE`].
fn merge_near_duplicates(clusters: &mut Vec<Cluster>) {
    clusters.retain(|cluster| cluster.count > 0);
    while let Some((i, j)) = closest_pair(clusters) {
        let (a, b) = (&clusters[i], &clusters[j]);
        let count = a.count + b.count;
        let mean = [0, 1, 2].map(|axis| {
            (a.mean[axis] * a.count as f32 + b.mean[axis] * b.count as f32) / count as f32
        });
        clusters[i] = Cluster { mean, count };
        clusters.swap_remove(j);
    }
}

fn closest_pair(clusters: &[Cluster]) -> Option<(usize, usize)> {
    let mut best: Option<(f32, usize, usize)> = None;
    for i in 0..clusters.len() {
        for j in i + 1..clusters.len() {
            let d = distance_squared(&clusters[i].mean, &clusters[j].mean);
            if d < MERGE_DISTANCE * MERGE_DISTANCE && best.is_none_or(|(b, _, _)| d < b) {
                best = Some((d, i, j));
            }
        }
    }
    best.map(|(_, i, j)| (i, j))
}
