#!/usr/bin/env python3
"""Plates of other countries through the whole still reader: synthetic plates pasted into real photos.

``scripts/benchmark_synth_scenes.py DIR [DIR...] --layouts config/plate_layouts/eu.yaml [--seed 1000] [--config PATH]``

There are no European photos here, so this is the proxy for them. For every labelled dev photo (openalpr
format, as ``benchmark_accuracy.py``) a plate of a ``--layouts`` layout is rendered (``alpr_training.synth``,
without the crop augmentations), scaled to the size that plate would have on that car (its width in mm over
the photo's own plate width: US 305 mm, BR 400 mm), matched to the brightness of the plate it covers and
pasted where it was (the old plate inpainted away first).
``PlateReader`` (``alpr-read``'s code: detector, vehicle-crop pass, verifier, voting, format packs) reads the
scene; ``--naive`` reads it with the plate detector on the whole image and the recogniser on each box instead
(the baseline the issue compares with). Metrics: detected (a read's box IoU > 0.4 with the pasted plate),
top1 (its text is the rendered label), region (the country of the pack it matched is the layout's country),
unknown (no pack matched).

Caveat: ``cct_xs_v1_alpr_ft`` was trained on this renderer's plates (seed 0, clean and augmented); use another
seed (default 1000) and read its figure as an upper bound. Real photos decide (``benchmark_accuracy.py``).
A progress line goes to stderr; the last stdout line is ``detected=.. top1=.. region=.. unknown=.. n=..``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from benchmark_accuracy import Label, load_labels, normalize, primary_read

import _bootstrap  # noqa: F401
from alpr_common.config import add_config_args, load_or_exit
from alpr_edge.config import EdgeConfig
from alpr_edge.detectors import build_plate_detector
from alpr_edge.models import ModelError
from alpr_edge.ocr import build_recognizer
from alpr_edge.plates import FormatPrior
from alpr_edge.still import PlateReader, StillRead
from alpr_training.synth import PlateLayout, load_layouts
from alpr_training.synth.render import render_plate
from alpr_training.synth.text import generate_text

PLATE_WIDTH_MM = {"us": 305.0, "br": 400.0}  # the dev photos' own plates


def country_of(layout: PlateLayout) -> str:
    """``eu_de`` -> DE, ``gb_rear`` -> GB, ``br_mercosul`` -> BR, ``us_ca`` -> US."""
    head, _, tail = layout.name.partition("_")
    return (tail if head == "eu" else head).split("_")[0].upper()


def erase(image: np.ndarray, box: tuple[float, ...], margin: float = 0.08) -> np.ndarray:
    """``image`` with the labelled plate (and a margin) inpainted from its surroundings."""
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.rectangle(mask, (int(x0 - mx), int(y0 - my)), (int(x1 + mx), int(y1 + my)), 255, -1)
    return cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA)


def paste(image: np.ndarray, plate_rgba: np.ndarray, box: tuple[float, ...], width_px: float,
          ) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """``image`` with the plate centred on ``box``, ``width_px`` wide; None if it would leave the image."""
    h_img, w_img = image.shape[:2]
    ph, pw = plate_rgba.shape[:2]
    w = max(8, round(width_px))
    h = max(4, round(w * ph / pw))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    if x0 < 0 or y0 < 0 or x0 + w > w_img or y0 + h > h_img:
        return None
    small = cv2.resize(plate_rgba, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    region = image[y0:y0 + h, x0:x0 + w].astype(np.float32)
    light = float(np.clip(region.mean() / 150.0, 0.45, 1.1))  # the photo's lighting on the old plate
    out = erase(image, box)
    region = out[y0:y0 + h, x0:x0 + w].astype(np.float32)
    rgb, alpha = small[..., 2::-1] * light, small[..., 3:4] / 255.0
    out[y0:y0 + h, x0:x0 + w] = np.clip(rgb * alpha + region * (1 - alpha), 0, 255).astype(np.uint8)
    out[y0:y0 + h, x0:x0 + w] = cv2.GaussianBlur(out[y0:y0 + h, x0:x0 + w], (3, 3), 0.6)
    return out, (float(x0), float(y0), float(x0 + w), float(y0 + h))


def scene(label: Label, layouts: list[PlateLayout], seed: int, index: int, confusable_p: float):
    rng = np.random.default_rng([seed, index])
    layout = layouts[int(rng.integers(len(layouts)))]
    text = generate_text(layout.patterns, layout.letters, rng, confusable_p)
    plate = render_plate(layout, text, rng, px_per_mm=2.0)
    own_mm = PLATE_WIDTH_MM.get(label.image.parent.name, 305.0)
    width_px = (label.box[2] - label.box[0]) * layout.width_mm / own_mm
    image = cv2.imread(str(label.image))
    pasted = paste(image, plate, label.box, width_px) if image is not None else None
    return (None if pasted is None else (*pasted, text.label, layout))


class NaiveReader:
    """The issue's naive pipeline: plate detector on the whole image, OCR on each box, nothing else."""

    def __init__(self, cfg: EdgeConfig):
        self.plates = build_plate_detector(cfg)
        self.ocr = build_recognizer(cfg)
        self.label = FormatPrior(cfg.plate_formats, "none").label

    def read(self, image: np.ndarray) -> list[StillRead]:
        out = []
        for det in sorted(self.plates.detect(image), key=lambda d: -d.score):
            x1, y1, x2, y2 = (max(0, round(v)) for v in det.xyxy)
            result = self.ocr.read(image[y1:y2, x1:x2])
            aspect = (x2 - x1) / max(1, y2 - y1)
            out.append(StillRead(result.text, result.confidence, det.xyxy, result.candidates,
                                 region=self.label(result.text, aspect), detection_score=det.score))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="openalpr-format folders (the scenes)")
    parser.add_argument("--layouts", type=Path, required=True, help="a plate_layouts YAML file or folder")
    parser.add_argument("--seed", type=int, default=1000, help="render seed (training used 0)")
    parser.add_argument("--confusable-p", type=float, default=0.35, help="share of O/0, I/1... characters")
    parser.add_argument("--details", type=Path, help="write one JSON line per scene here")
    parser.add_argument("--save-dir", type=Path, help="write the composed scenes here (JPEG)")
    parser.add_argument("--naive", action="store_true",
                        help="baseline instead of PlateReader: the plate detector on the whole image at its own "
                             "size, the recogniser on each box (no crops, voting, verifier or format packs)")
    add_config_args(parser)
    args = parser.parse_args(argv)
    cfg = load_or_exit(EdgeConfig, args)
    try:
        reader = PlateReader.from_config(cfg)
        read_scene = NaiveReader(cfg).read if args.naive else reader.read
    except ModelError as exc:
        print(f"cannot load the reader: {exc}", file=sys.stderr)
        return 2
    layouts = load_layouts(args.layouts)
    countries = {p.id: p.country.upper() for p in reader.prior.packs}
    labels = [lab for folder in args.dirs for lab in load_labels(folder)]
    counts: Counter[str] = Counter()
    details = args.details.open("w", encoding="utf-8") if args.details else None
    for i, label in enumerate(labels):
        made = scene(label, layouts, args.seed, i, args.confusable_p)
        if made is None:
            counts["skipped"] += 1
            continue
        image, box, truth, layout = made
        if args.save_dir:
            args.save_dir.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.save_dir / f"{i:04d}_{truth}.jpg"), image)
        read, detected = primary_read(read_scene(image), box)
        text = normalize(read.text) if read else ""
        region = (read.region or "unknown") if read else "unknown"
        counts.update(n=1, detected=detected, top1=text == truth,
                      region=countries.get(region) == country_of(layout), unknown=region == "unknown")
        if details:
            details.write(json.dumps({"file": str(label.image), "layout": layout.name, "label": truth,
                                      "read": text, "region": region, "detected": detected}) + "\n")
        print(f"\r[{i + 1}/{len(labels)}] top1={counts['top1'] / counts['n']:.3f}", end="", file=sys.stderr,
              flush=True)
    print(file=sys.stderr)
    if details:
        details.close()
    n = counts["n"]
    if not n:
        print("no scene could be made (every pasted plate would leave its photo)", file=sys.stderr)
        return 2
    rate = {k: counts[k] / n for k in ("detected", "top1", "region", "unknown")}
    print(f"detected={rate['detected']:.3f} top1={rate['top1']:.3f} region={rate['region']:.3f} "
          f"unknown={rate['unknown']:.3f} n={n} skipped={counts['skipped']} seed={args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
