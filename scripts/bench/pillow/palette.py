"""The Pillow side of scripts/bench-colors: the fastest palette pipeline Pillow offers, the
way a Pillow user in a hurry would write it. Per file: JPEG draft decode (libjpeg's DCT
scaling, to at least 256 px), a 256-px thumbnail, 8 colors by fast octree. One JSON line per
file on stdout: {"file", "colors": ["#rrggbb", ...]} or {"file", "error"}.

    python palette.py FILE...
"""

import json
import sys

from PIL import Image

SIDE = 256
COLORS = 8


def palette(path):
    with Image.open(path) as image:
        image.draft("RGB", (SIDE, SIDE))  # JPEG only; a no-op for the other formats
        if image.mode.startswith("I"):  # 16-bit gray, which thumbnail() cannot take
            image = image.point(lambda value: value / 256).convert("L")
        image.thumbnail((SIDE, SIDE))
        rgb = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info
                            else "RGB")
    quantized = rgb.quantize(COLORS, method=Image.Quantize.FASTOCTREE)
    flat = quantized.getpalette()[: 3 * COLORS]
    by_count = sorted(quantized.getcolors(COLORS), reverse=True)
    return [
        "#%02x%02x%02x" % tuple(flat[3 * index: 3 * index + 3]) for _, index in by_count
    ]


def main():
    ok = True
    for path in sys.argv[1:]:
        try:
            line = {"file": path, "colors": palette(path)}
        except Exception as error:  # noqa: BLE001 - reported per file, like the worker
            line = {"file": path, "error": str(error)}
            ok = False
        print(json.dumps(line), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
