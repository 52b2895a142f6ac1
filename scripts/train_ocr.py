#!/usr/bin/env python3
"""Fine-tune the plate recogniser (fast-plate-ocr ONNX) on synthetic plates + the dev photos' training split.

``scripts/train_ocr.py --config training/configs/ocr_default.yaml [--set key=value ...]``

Needs the training venv (``requirements-training.txt``: torch, onnx2torch). Run it niced on a shared
machine (``nice -n 19``); ``threads`` in the config caps torch's CPU threads. Progress lines go to
stderr; the last stdout line is ``model=.. sha256=.. seconds=.. synth=.. real=.. val_crop_before=..
val_crop_after=.. val_n=..`` (validation crops read by the recogniser alone, no priors; choose models with
``scripts/benchmark_accuracy.py --split validation``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

import _bootstrap  # noqa: F401
from alpr_training.ocr.train import OcrTrainConfig, train


def load_config(path: Path, overrides: list[str]) -> OcrTrainConfig:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in overrides:
        key, _, value = item.partition("=")
        data[key] = yaml.safe_load(value)
    return OcrTrainConfig.model_validate(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("training/configs/ocr_default.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    cfg = load_config(args.config, args.set)
    res = train(cfg)
    print(f"model={res.model} sha256={res.sha256} seconds={res.seconds:.0f} synth={res.synth_n} real={res.real_n} "
          f"val_crop_before={res.val_before:.3f} val_crop_after={res.val_after:.3f} val_n={res.val_n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
