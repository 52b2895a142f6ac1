#!/usr/bin/env python3
"""Accuracy benchmark of the still-image reader on openalpr-format folders.

``scripts/benchmark_accuracy.py DIR [DIR...] [--split validation|training|all] [--config PATH] [--details out.jsonl]``

``--split`` keeps the photos of one split of ``alpr_training.splits`` (keyed on the plate text, see
docs/training.md); models are chosen on ``validation`` only, and ``training`` photos may have been trained on.

Each ``IMAGE.txt`` holds ``file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>PLATE``. Per image the primary read is the
read whose box overlaps the label most (IoU > 0.4), else the first (most plate-like) read. Metrics:
detected (a read's box IoU > 0.4 with the label), top1 (primary text equals the label), topN (label among
the primary read's candidates), first1 (the first, most plate-like read's text equals the label: what
``alpr-read`` lists first), ms_median (median wall time of PlateReader.read per image, decode excluded).
A line before it gives the median process CPU time per image (all threads), which other load on the
machine disturbs much less than wall time.
The last line ends with ``read_cpu_ms_per_1k=..``: CPU milliseconds of this process (all threads, from
/proc) per 1,000 images over the whole loop (image decoding included).
A progress line goes to stderr; the last stdout line is
``detected=.. top1=.. topN=.. ms_median=.. n=.. split=..``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in (ROOT, ROOT / "edge-services", ROOT / "training"):
    if str(sub) not in sys.path:
        sys.path.insert(0, str(sub))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from _cpu import CpuMeter, cpu_keys, self_group  # noqa: E402
from alpr_common.config import add_config_args, load_or_exit  # noqa: E402
from alpr_edge.config import EdgeConfig  # noqa: E402
from alpr_edge.detectors.geometry import iou_matrix  # noqa: E402
from alpr_edge.models import ModelError  # noqa: E402
from alpr_edge.still import PlateReader, StillRead  # noqa: E402
from alpr_training.splits import SPLIT_CHOICES, in_split  # noqa: E402

IOU_DETECTED = 0.4


@dataclass(frozen=True)
class Label:
    image: Path
    box: tuple[float, float, float, float]
    plate: str


@dataclass(frozen=True)
class Outcome:
    detected: bool
    top1: bool
    topn: bool
    ms: float
    text: str
    cpu_ms: float = 0.0
    first: str = ""  # text of the first (most plate-like) read, what alpr-read lists first


def normalize(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def load_labels(folder: Path) -> list[Label]:
    labels = []
    for txt in sorted(folder.glob("*.txt")):
        parts = txt.read_text(encoding="utf-8").strip().split("\t")
        if len(parts) < 6:
            continue
        x, y, w, h = (float(v) for v in parts[1:5])
        labels.append(Label(txt.parent / parts[0], (x, y, x + w, y + h), normalize(parts[5])))
    return labels


def primary_read(reads: list[StillRead], box: tuple[float, ...]) -> tuple[StillRead | None, bool]:
    if not reads:
        return None, False
    ious = iou_matrix(np.array([r.bbox for r in reads]), np.array([box]))[:, 0]
    best = int(ious.argmax())
    if ious[best] > IOU_DETECTED:
        return reads[best], True
    return reads[0], False


def evaluate(reader: PlateReader, label: Label) -> Outcome:
    image = cv2.imread(str(label.image))
    start, cpu_start = time.perf_counter(), time.process_time()
    reads = reader.read(image)
    ms = (time.perf_counter() - start) * 1000
    cpu_ms = (time.process_time() - cpu_start) * 1000
    read, detected = primary_read(reads, label.box)
    if read is None:
        return Outcome(False, False, False, ms, "", cpu_ms)
    texts = {normalize(c.text) for c in read.candidates} | {normalize(read.text)}
    return Outcome(detected, normalize(read.text) == label.plate, label.plate in texts, ms, read.text, cpu_ms,
                   normalize(reads[0].text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="openalpr-format folders")
    parser.add_argument("--details", type=Path, help="write one JSON line per image here")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="all",
                        help="score only this split of the photos (docs/training.md); choose models on validation")
    add_config_args(parser)
    args = parser.parse_args(argv)
    cfg = load_or_exit(EdgeConfig, args)
    try:
        reader = PlateReader.from_config(cfg)
    except ModelError as exc:
        print(f"cannot load the reader: {exc}", file=sys.stderr)
        return 2
    labels = [lab for folder in args.dirs for lab in load_labels(folder) if in_split(lab.plate, args.split)]
    if not labels:
        print(f"no labelled images of split {args.split} in {', '.join(map(str, args.dirs))}", file=sys.stderr)
        return 2
    outcomes: list[Outcome] = []
    details = args.details.open("w", encoding="utf-8") if args.details else None
    meter = CpuMeter([self_group()])
    cpu_before = meter.snapshot()
    for i, label in enumerate(labels, 1):
        out = evaluate(reader, label)
        outcomes.append(out)
        if details:
            details.write(json.dumps({"file": str(label.image), "label": label.plate, "read": out.text,
                                      "detected": out.detected, "top1": out.top1, "topN": out.topn,
                                      "first": out.first,
                                      "ms": round(out.ms, 1)}) + "\n")
        top1 = sum(o.top1 for o in outcomes) / i
        print(f"\r[{i}/{len(labels)}] top1={top1:.3f} last={out.ms:.0f}ms", end="", file=sys.stderr,
              flush=True)
    print(file=sys.stderr)
    costs = meter.snapshot().delta_ms_per_1k(cpu_before, len(outcomes))
    if details:
        details.close()
    n = len(outcomes)
    rate = {key: sum(getattr(o, key) for o in outcomes) / n for key in ("detected", "top1", "topn")}
    ms_median = statistics.median(o.ms for o in outcomes)
    first1 = sum(o.first == lab.plate for o, lab in zip(outcomes, labels, strict=True)) / n
    print(f"cpu_ms_median={statistics.median(o.cpu_ms for o in outcomes):.1f} (process CPU time per image, "
          f"all threads; less sensitive to other load than wall time)")
    print(f"detected={rate['detected']:.3f} top1={rate['top1']:.3f} topN={rate['topn']:.3f} "
          f"ms_median={ms_median:.1f} n={n} split={args.split} {cpu_keys('read', costs)} first1={first1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
