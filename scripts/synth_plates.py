#!/usr/bin/env python3
"""Render synthetic licence plate crops from the layouts in ``config/plate_layouts``.

``scripts/synth_plates.py --layouts config/plate_layouts --n 1000 --seed 0 --out DIR [--clean]``

Writes ``DIR/images/NNNNNN.png`` and ``DIR/labels.csv`` (``image_path,plate_text,layout``, the
fast-plate-ocr CSV format plus the layout name). Deterministic: the same ``--seed`` gives the same files.
A progress line goes to stderr; the last stdout line is ``n=.. layouts=.. seed=.. ms_per_plate=.. out=..``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

import cv2

import _bootstrap  # noqa: F401
from alpr_training.synth import LayoutError, PlateSynth, load_layouts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", type=Path, default=Path("config/plate_layouts"), help="layout file or folder")
    parser.add_argument("--n", type=int, default=1000, help="number of plates")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same images)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--confusable-p", type=float, default=0.35,
                        help="chance that a letter/digit is drawn from the confusable set (O/0, I/1, B/8, ...)")
    parser.add_argument("--clean", action="store_true", help="no camera augmentation (clean renders)")
    args = parser.parse_args(argv)
    try:
        synth = PlateSynth(load_layouts(args.layouts), args.seed, confusable_p=args.confusable_p, clean=args.clean)
    except LayoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    images = args.out / "images"
    images.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    with (args.out / "labels.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image_path", "plate_text", "layout"])
        for i in range(args.n):
            plate = synth.sample(i)
            name = f"images/{i:06d}.png"
            cv2.imwrite(str(args.out / name), plate.image)
            writer.writerow([name, plate.label, plate.layout])
            counts[plate.layout] += 1
            if (i + 1) % 50 == 0 or i + 1 == args.n:
                print(f"\r[{i + 1}/{args.n}] {(time.perf_counter() - start) / (i + 1) * 1000:.0f} ms/plate",
                      end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    ms = (time.perf_counter() - start) / max(1, args.n) * 1000
    print("per layout: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"n={args.n} layouts={len(synth.layouts)} seed={args.seed} ms_per_plate={ms:.1f} out={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
