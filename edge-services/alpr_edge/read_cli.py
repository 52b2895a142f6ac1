"""``alpr-read PATH...``: read the plates of still images (OpenALPR-style), text or ``--json`` lines."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from alpr_common.config import add_config_args, load_or_exit

from .config import EdgeConfig
from .models import ModelError
from .still import PlateReader, StillRead

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpr-read", description="Read licence plates in still images.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="image files or folders of images")
    parser.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    parser.add_argument("-n", "--top-n", type=int, default=None,
                        help="candidates per plate (default ocr.top_n)")
    parser.add_argument("--region", default=None,
                        help="format prior: auto (infer the pack), none, or a pack id, country or group "
                             "to prefer on near-ties: br, us, us-ca, de, eu... (default ocr.region)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    add_config_args(parser)
    return parser


def iter_images(paths: list[str]) -> Iterator[Path]:
    """Files as given; folders expanded to their image files, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            yield path


def load_image(path: Path) -> np.ndarray:
    """BGR image or ValueError with a reason."""
    if not path.is_file():
        raise ValueError("no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError("not a readable image (corrupt or unsupported format)")
    return image


def plate_json(read: StillRead) -> dict:
    return {"text": read.text, "confidence": round(read.confidence, 4),
            "bbox": [round(v, 1) for v in read.bbox],
            "candidates": [{"text": c.text, "confidence": round(c.confidence, 4)} for c in read.candidates],
            "region": read.region}


def format_human(path: Path, reads: list[StillRead], ms: float) -> str:
    lines = [f"{path}: {len(reads)} plate(s) in {ms:.0f} ms"]
    for i, read in enumerate(reads, 1):
        box = ", ".join(f"{v:.0f}" for v in read.bbox)
        region = f"  region {read.region}" if read.region else ""
        lines.append(f"  plate{i}: {read.text}  confidence {read.confidence:.3f}  box [{box}]{region}")
        lines.extend(f"    - {c.text:<10} {c.confidence:.3f}" for c in read.candidates)
    return "\n".join(lines)


def process(reader: PlateReader, path: Path, as_json: bool) -> bool:
    """Read one image and print its result; False (and an error line) when it cannot be read."""
    start = time.perf_counter()
    try:
        reads = reader.read(load_image(path))
    except ValueError as exc:
        msg = {"file": str(path), "error": str(exc)}
        print(json.dumps(msg) if as_json else f"{path}: error: {exc}", flush=True)
        return False
    ms = (time.perf_counter() - start) * 1000
    if as_json:
        print(json.dumps({"file": str(path), "plates": [plate_json(r) for r in reads], "ms": round(ms, 1)}),
              flush=True)
    else:
        print(format_human(path, reads, ms), flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    cfg = load_or_exit(EdgeConfig, args)
    if not args.paths:
        parser.error("give at least one image file or folder")
    if args.top_n is not None:
        cfg.ocr.top_n = args.top_n
    if args.region is not None:
        cfg.ocr.region = args.region  # checked against the format packs by PlateReader.from_config
    try:
        reader = PlateReader.from_config(cfg)
    except (ModelError, RuntimeError, ValueError) as exc:
        print(f"alpr-read: {exc}", file=sys.stderr)
        return 2
    failures = sum(not process(reader, path, args.json) for path in iter_images(args.paths))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
