// The sharp side of scripts/bench-renditions: the same four square renditions the worker's
// `extract --renditions` makes, from the same files, the way a sharp user would make them.
//
//   node renditions.mjs DIR FILE...      writes DIR/<stem>/<size>.jpg|webp, one JSON line per file
//   node renditions.mjs --inspect DIR    JSON: format, dimensions, bytes... of every DIR/<stem>/<file>
//   node renditions.mjs --probe FILE...  JSON: each source's dimensions and whether it is
//                                        transparent (an alpha channel with a pixel below 255)
//   node renditions.mjs --versions       JSON: sharp.versions, concurrency, cache, SIMD
//
// BENCH_SHARP_MODE picks how the four renditions of a file are built (files are taken one after
// the other either way):
//   clone      (default) one sharp(buffer) input, auto-oriented, .clone() per size, the four
//              pipelines run together (Promise.all); libvips shrinks JPEGs on load per size
//   pipelines  four independent sharp(buffer) pipelines, run together
//   sequential one input, .clone() per size, each awaited before the next
// libvips' cache and concurrency are sharp's defaults; sharp is loaded from .dev/sharp (where
// scripts/bench-renditions installs it), or from $SHARP_PREFIX.
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = process.env.SHARP_PREFIX ?? path.resolve(here, '../../../.dev/sharp');
const sharp = createRequire(path.join(prefix, 'package.json'))('sharp');

const SIZES = [
  ['icon', 80],
  ['small', 200],
  ['regular', 400],
  ['large', 800],
];
const JPEG = { quality: 80, progressive: true, chromaSubsampling: '4:2:0', mozjpeg: false };
const WEBP = { quality: 80 };

// One rendition: a centred square of side `side`, never enlarged, in sRGB, encoded by `alpha`.
function rendition(pipeline, side, alpha, file) {
  const resized = pipeline
    .resize(side, side, { fit: 'cover', position: 'centre', withoutEnlargement: true })
    .toColourspace('srgb');
  return (alpha ? resized.webp(WEBP) : resized.jpeg(JPEG)).toFile(file);
}

async function renditions(file, outDir, mode) {
  const input = await readFile(file);
  const base = sharp(input).rotate(); // EXIF orientation
  const { width, height, hasAlpha: alphaChannel } = await base.metadata(); // the header only
  // As the worker does: an alpha channel whose every pixel is opaque makes a JPEG, not a WebP.
  const hasAlpha = alphaChannel && !(await base.clone().stats()).isOpaque;
  // The shorter side is the same before and after a 90° turn, so the pre-rotation header is enough.
  const shorter = Math.min(width, height);
  const dir = path.join(outDir, path.parse(file).name);
  await mkdir(dir, { recursive: true });
  const extension = hasAlpha ? 'webp' : 'jpg';
  const jobs = SIZES.map(([name, nominal]) => ({
    name,
    side: Math.min(nominal, shorter),
    out: path.join(dir, `${name}.${extension}`),
  }));
  let infos;
  if (mode === 'sequential') {
    infos = [];
    for (const job of jobs) {
      infos.push(await rendition(base.clone(), job.side, hasAlpha, job.out));
    }
  } else {
    const pipeline = () => (mode === 'pipelines' ? sharp(input).rotate() : base.clone());
    infos = await Promise.all(jobs.map((job) => rendition(pipeline(), job.side, hasAlpha, job.out)));
  }
  return {
    file,
    renditions: jobs.map((job, i) => ({
      size: job.name,
      format: infos[i].format,
      width: infos[i].width,
      height: infos[i].height,
      bytes: infos[i].size,
    })),
  };
}

async function inspect(dir) {
  const found = [];
  for (const stem of (await readdir(dir)).sort()) {
    const stemDir = path.join(dir, stem);
    if (!(await stat(stemDir)).isDirectory()) continue;
    for (const name of (await readdir(stemDir)).sort()) {
      const file = path.join(stemDir, name);
      let meta;
      try {
        meta = await sharp(file).metadata();
      } catch (error) {
        meta = { format: `unreadable (${error.message})` }; // reported, not fatal
      }
      found.push({
        stem,
        file: name,
        format: meta.format,
        width: meta.width ?? null,
        height: meta.height ?? null,
        channels: meta.channels ?? null,
        space: meta.space ?? null,
        hasAlpha: meta.hasAlpha ?? false,
        progressive: meta.isProgressive ?? false,
        chromaSubsampling: meta.chromaSubsampling ?? null,
        bytes: (await stat(file)).size,
      });
    }
  }
  return found;
}

async function probe(files) {
  const found = [];
  for (const file of files) {
    const { format, width, height, hasAlpha: alphaChannel, orientation } = await sharp(file).metadata();
    const hasAlpha = alphaChannel && !(await sharp(file).stats()).isOpaque;
    found.push({ file, stem: path.parse(file).name, format, width, height, hasAlpha, orientation });
  }
  return found;
}

const args = process.argv.slice(2);
if (args[0] === '--versions') {
  console.log(
    JSON.stringify({
      versions: sharp.versions,
      concurrency: sharp.concurrency(),
      cache: sharp.cache(),
      simd: sharp.simd(),
    }),
  );
} else if (args[0] === '--inspect' && args.length === 2) {
  console.log(JSON.stringify(await inspect(args[1])));
} else if (args[0] === '--probe' && args.length >= 2) {
  console.log(JSON.stringify(await probe(args.slice(1))));
} else if (args.length >= 2 && !args[0].startsWith('-')) {
  const mode = process.env.BENCH_SHARP_MODE ?? 'clone';
  if (!['clone', 'pipelines', 'sequential'].includes(mode)) {
    throw new Error(`BENCH_SHARP_MODE: unknown mode ${mode}`);
  }
  const [outDir, ...files] = args;
  for (const file of files) {
    console.log(JSON.stringify(await renditions(file, outDir, mode)));
  }
} else {
  console.error('usage: renditions.mjs DIR FILE... | --inspect DIR | --probe FILE... | --versions');
  process.exit(2);
}
