#!/usr/bin/env python3
"""Builds the broad benchmark image set from benches/broad-set.tsv (run by scripts/bench-set).

For each image row of the manifest: opens the source file (inside the extracted package under
CACHE/src/), applies the row's transform steps in order, saves with the row's encoder options,
and writes OUT/FILE (through a temporary file, so a failure leaves no half-written image).
Needs the pinned Pillow of scripts/bench-set (its bundled libjpeg-turbo, libwebp and lcms2 make
the bytes reproducible); PNG deflate comes from the system zlib that Pillow's wheel loads.

    bench-set.py --manifest M --cache DIR --out DIR [--update-hashes] [FILE...]

FILE...: build only these rows (default: all). --update-hashes: write each built file's
sha256 into the manifest's last column. Progress on stderr. The grammar of the transform and
encoder columns is in the manifest's header comment.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import os
import re
import struct
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageCms, features

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp")
COLUMNS = ("file", "source", "path", "licence", "transform", "encoder", "kind", "sha256")

# What Pillow's exif_transpose does for each orientation; the builder stores the inverse.
EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
INVERSE = {
    Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
    Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
}
INTENTS = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative": ImageCms.Intent.RELATIVE_COLORIMETRIC,
    "saturation": ImageCms.Intent.SATURATION,
    "absolute": ImageCms.Intent.ABSOLUTE_COLORIMETRIC,
}


def log(msg: str) -> None:
    print(f"    {msg}", file=sys.stderr, flush=True)


@dataclass
class Row:
    line: int
    file: str
    source: str
    path: str
    licence: str
    transform: str
    encoder: str
    kind: str
    sha256: str


@dataclass
class Work:
    """The image being built: frames (one unless animated), or float bands after resize-float."""

    frames: list[Image.Image]
    icc: bytes | None = None  # profile to embed
    source_icc: bytes | None = None  # profile the source came with (input of icc-convert)
    exif: bytes | None = None
    float_bands: list[Image.Image] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def image(self) -> Image.Image:
        if len(self.frames) != 1:
            raise ValueError("this step needs a single-frame image")
        return self.frames[0]

    @image.setter
    def image(self, im: Image.Image) -> None:
        self.frames = [im]


def read_manifest(path: Path) -> list[Row]:
    rows = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#") or raw.startswith("@archive\t"):
            continue
        fields = raw.split("\t")
        if fields[0] == "file":  # the column header
            continue
        if len(fields) != len(COLUMNS):
            sys.exit(f"{path}:{number}: {len(fields)} tab-separated fields, want {len(COLUMNS)}")
        row = Row(number, *fields)
        if not row.file.lower().endswith(IMAGE_EXTENSIONS) or "/" in row.file:
            sys.exit(f"{path}:{number}: bad output file name {row.file!r}")
        rows.append(row)
    names = [r.file for r in rows]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        sys.exit(f"{path}: duplicate output names: {', '.join(sorted(duplicates))}")
    return rows


def source_dir(cache: Path, source: str) -> Path:
    # Same naming as scripts/bench-set: deb:PKG=VER / pypi:PKG==VER, ':' and '=' made '_'.
    return cache / "src" / re.sub(r"[:=]+", "_", source)


def source_files(cache: Path, source: str, path: str) -> list[Path]:
    base = source_dir(cache, source)
    if not base.is_dir():
        sys.exit(f"source {source} is not extracted at {base}")
    if any(c in path for c in "*?["):
        parent = (base / path).parent
        matches = sorted(p for p in parent.iterdir() if fnmatch.fnmatch(p.name, Path(path).name))
        if not matches:
            sys.exit(f"{source}: nothing matches {path}")
        return matches
    file = base / path
    if not file.is_file():
        sys.exit(f"{source}: no file {path}")
    if not file.resolve().is_relative_to(base.resolve()):
        sys.exit(f"{source}: {path} is a link out of the package")
    return [file]


def open_source(file: Path) -> tuple[Image.Image, bytes | None]:
    im = Image.open(file)
    icc = im.info.get("icc_profile")
    im.load()
    # Nothing of the source's metadata reaches the output unless a step asks for it.
    im.info = {}
    return im, icc


def parse_size(arg: str, im: Image.Image) -> tuple[int, int]:
    if arg == "max":
        side = min(im.size)
        return side, side
    if "x" in arg:
        w, h = arg.split("x")
        return int(w), int(h)
    return int(arg), int(arg)


def crop_center(im: Image.Image, arg: str) -> Image.Image:
    w, h = parse_size(arg, im)
    if w > im.width or h > im.height:
        raise ValueError(f"crop-center {arg}: source is only {im.width}x{im.height}")
    left = (im.width - w) // 2
    top = (im.height - h) // 2
    return im.crop((left, top, left + w, top + h))


def resize(im: Image.Image, arg: str) -> Image.Image:
    size = parse_size(arg, im)
    if im.mode == "P":
        raise ValueError("resize of a palette image: convert it first")
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=None)


def pad_square(im: Image.Image) -> Image.Image:
    side = max(im.size)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(im.convert("RGBA"), ((side - im.width) // 2, (side - im.height) // 2))
    return canvas


def options(words: list[str]) -> dict[str, str]:
    out = {}
    for word in words:
        key, _, value = word.partition("=")
        out[key] = value
    return out


def apply_steps(row: Row, work: Work, cache: Path) -> None:
    if row.transform.strip() in ("", "none", "copy"):
        return
    for step in (s.strip() for s in row.transform.split(";")):
        name, *args = step.split()
        if name == "crop-center":
            work.frames = [crop_center(f, args[0]) for f in work.frames]
        elif name == "resize":
            work.frames = [resize(f, args[0]) for f in work.frames]
        elif name == "pad-square":
            work.frames = [pad_square(f) for f in work.frames]
        elif name == "convert":
            work.frames = [f.convert(args[0]) for f in work.frames]
        elif name == "quantize":
            colours = int(args[0])
            work.frames = [
                f.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                for f in work.frames
            ]
        elif name == "icc-keep":
            if not work.source_icc:
                raise ValueError("icc-keep: the source has no ICC profile")
            work.icc = work.source_icc
        elif name == "icc-convert":
            # icc-convert SOURCE PATH [intent=NAME]: pixels converted from the source's profile
            # (sRGB when it has none) to the profile file, which is then embedded.
            source, path, *rest = args
            intent = INTENTS[options(rest).get("intent", "relative")]
            (profile_file,) = source_files(cache, source, path)
            data = profile_file.read_bytes()
            out_profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
            in_profile = (
                ImageCms.ImageCmsProfile(io.BytesIO(work.source_icc))
                if work.source_icc
                else ImageCms.createProfile("sRGB")
            )
            space = out_profile.profile.xcolor_space.strip()
            mode = {"RGB": "RGB", "CMYK": "CMYK", "GRAY": "L"}[space]
            work.image = ImageCms.profileToProfile(
                work.image.convert("RGB"),
                in_profile,
                out_profile,
                renderingIntent=intent,
                outputMode=mode,
            )
            work.icc = data
        elif name == "exif-orientation":
            orientation = int(args[0])
            method = EXIF_TRANSPOSE[orientation]
            work.image = work.image.transpose(INVERSE.get(method, method))
            exif = Image.Exif()
            exif[0x0112] = orientation
            work.exif = exif.tobytes()
        elif name == "resize-float":
            # Per channel in 32-bit float, for 16-bit output with real sub-8-bit gradations.
            im = work.image
            size = parse_size(args[0], im)
            work.float_bands = [
                band.convert("F").resize(size, Image.Resampling.LANCZOS, reducing_gap=None)
                for band in im.split()
            ]
        else:
            raise ValueError(f"unknown transform step {step!r}")


def to_uint16(band: Image.Image) -> bytes:
    """An 8-bit-scaled float band (0..255, may overshoot) as big-endian 16-bit samples."""
    scaled = band.point(lambda v: v * 257.0 + 0.5)  # noqa: linear, so Pillow evaluates it in C
    return scaled.convert("I").convert("I;16").tobytes("raw", "I;16B")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def deflate_rows_with_pillow(rows: bytes, row_bytes: int, height: int, level: int) -> bytes:
    """A zlib stream of `rows`, each prefixed with PNG filter type 0, compressed by Pillow.

    Pillow writes palette images unfiltered (filter byte 0 on each row), so an 8-bit palette PNG
    of width row_bytes holding these bytes has exactly the IDAT stream a PNG of the real format
    needs; it is lifted out of that PNG.
    """
    carrier = Image.frombytes("P", (row_bytes, height), rows)
    buffer = io.BytesIO()
    carrier.save(buffer, "PNG", bits=8, compress_level=level, optimize=False)
    data = buffer.getvalue()
    pos, idat = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(idat)


def save_png16(work: Work, fp: io.BufferedWriter, opts: dict[str, str]) -> None:
    bands = work.float_bands
    if not bands:
        raise ValueError("png16 needs a resize-float step")
    width, height = bands[0].size
    level = int(opts.get("compress", "6"))
    if len(bands) == 1:
        # Grayscale: Pillow's own 16-bit PNG writer (adaptive row filters).
        gray = Image.frombytes("I;16", (width, height), to_uint16(bands[0]), "raw", "I;16B")
        gray.save(fp, "PNG", compress_level=level, optimize=False)
        return
    if len(bands) != 3:
        raise ValueError("png16 writes grayscale or RGB")
    samples = [to_uint16(b) for b in bands]
    interleaved = bytearray(width * height * 6)
    for channel, data in enumerate(samples):
        interleaved[channel * 2 :: 6] = data[0::2]
        interleaved[channel * 2 + 1 :: 6] = data[1::2]
    idat = deflate_rows_with_pillow(bytes(interleaved), width * 6, height, level)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    fp.write(b"\x89PNG\r\n\x1a\n")
    fp.write(png_chunk(b"IHDR", ihdr))
    fp.write(png_chunk(b"IDAT", idat))
    fp.write(png_chunk(b"IEND", b""))


def gif_frame(im: Image.Image, threshold: int) -> tuple[Image.Image, bool]:
    """A frame for GIF: palette image, index 255 transparent where alpha < threshold."""
    if im.mode == "P":
        return im, False
    if im.mode != "RGBA":
        return im.convert("RGB").quantize(
            256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        ), False
    alpha = im.getchannel("A")
    p = im.convert("RGB").quantize(255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = p.getpalette() or []
    palette = (palette + [0] * 768)[:768]
    p.putpalette(palette)
    p.paste(255, mask=alpha.point(lambda a: 255 if a < threshold else 0))
    return p, True


def encode(row: Row, work: Work, fp: io.BufferedWriter) -> None:
    name, *words = row.encoder.split()
    opts = options(words)
    if name == "jpeg":
        params = dict(quality=int(opts["q"]), optimize="optimize" in opts)
        if "progressive" in opts:
            params["progressive"] = True
        if "subsampling" in opts:
            params["subsampling"] = opts["subsampling"]
        if "restart-rows" in opts:
            params["restart_marker_rows"] = int(opts["restart-rows"])
        if work.icc:
            params["icc_profile"] = work.icc
        if work.exif:
            params["exif"] = work.exif
        work.image.save(fp, "JPEG", **params)
    elif name == "png":
        params = dict(compress_level=int(opts.get("compress", "6")), optimize=False)
        if work.icc:
            params["icc_profile"] = work.icc
        if work.exif:
            params["exif"] = work.exif
        work.image.save(fp, "PNG", **params)
    elif name == "png16":
        save_png16(work, fp, opts)
    elif name == "gif":
        threshold = int(opts.get("alpha-threshold", "128"))
        frames = [gif_frame(f, threshold) for f in work.frames]
        params = dict(optimize=False)
        if any(t for _, t in frames):
            params.update(transparency=255, disposal=2)
        if len(frames) > 1:
            params.update(
                save_all=True,
                append_images=[f for f, _ in frames[1:]],
                duration=int(opts.get("duration", "100")),
                loop=int(opts.get("loop", "0")),
            )
        frames[0][0].save(fp, "GIF", **params)
    elif name == "webp":
        params = dict(quality=int(opts.get("q", "80")), method=int(opts.get("method", "4")))
        if "lossless" in opts:
            params["lossless"] = True
        if "alpha-q" in opts:
            params["alpha_quality"] = int(opts["alpha-q"])
        if work.icc:
            params["icc_profile"] = work.icc
        if work.exif:
            params["exif"] = work.exif
        work.image.save(fp, "WEBP", **params)
    else:
        raise ValueError(f"unknown encoder {name!r}")


def build(row: Row, cache: Path, out: Path) -> str:
    files = source_files(cache, row.source, row.path)
    target = out / row.file
    fd, tmp_name = tempfile.mkstemp(prefix=f".{row.file}.", dir=out)
    try:
        with os.fdopen(fd, "wb") as fp:
            if row.encoder.strip() == "copy" or row.transform.strip() == "copy":
                if row.encoder.strip() != row.transform.strip():
                    raise ValueError("copy must be both the transform and the encoder")
                (file,) = files
                fp.write(file.read_bytes())
            else:
                opened = [open_source(f) for f in files]
                work = Work(frames=[im for im, _ in opened], source_icc=opened[0][1])
                apply_steps(row, work, cache)
                encode(row, work, fp)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        os.unlink(tmp_name)
        raise
    return hashlib.sha256(target.read_bytes()).hexdigest()


def describe(path: Path) -> str:
    with Image.open(path) as im:
        bits = f"{im.format} {im.mode} {im.width}x{im.height}"
        if getattr(im, "n_frames", 1) > 1:
            bits += f" {im.n_frames} frames"
    return f"{bits}, {path.stat().st_size:,} bytes"


def update_hashes(manifest: Path, hashes: dict[int, str]) -> None:
    lines = manifest.read_text(encoding="utf-8").split("\n")
    for number, digest in hashes.items():
        fields = lines[number - 1].split("\t")
        fields[-1] = digest
        lines[number - 1] = "\t".join(fields)
    tmp = manifest.with_name(manifest.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--update-hashes", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()

    rows = read_manifest(args.manifest)
    wanted = set(args.files)
    unknown = wanted - {r.file for r in rows}
    if unknown:
        sys.exit(f"not in the manifest: {', '.join(sorted(unknown))}")
    if wanted:
        rows = [r for r in rows if r.file in wanted]

    versions = {
        "Pillow": Image.__version__,
        "libjpeg-turbo": features.version("libjpeg_turbo"),
        "libwebp": features.version("webp"),
        "lcms2": features.version("littlecms2"),
        "zlib": features.version("zlib"),
    }
    log("building with " + ", ".join(f"{k} {v}" for k, v in versions.items()))

    args.out.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for row in rows:
        started = time.monotonic()
        try:
            digest = build(row, args.cache, args.out)
        except Exception as error:  # name the row, then stop
            sys.exit(f"{args.manifest}:{row.line}: {row.file}: {error}")
        hashes[row.line] = digest
        log(
            f"{row.file}: {describe(args.out / row.file)} "
            f"({time.monotonic() - started:.1f} s)"
        )
    if args.update_hashes:
        update_hashes(args.manifest, hashes)
        log(f"wrote {len(hashes)} output hashes into {args.manifest}")


if __name__ == "__main__":
    main()
