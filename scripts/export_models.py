#!/usr/bin/env python3
"""Export Ultralytics weights to ONNX and TensorRT FP16 engines, and derive CPU-friendly ONNX variants.

Needs ``pip install ultralytics`` (torch) for ``.pt`` exports and TensorRT + a CUDA GPU for ``--engine``;
neither is installed on the 2-core CPU dev boxes, where only ``--derive`` (the ``onnx`` package) runs.

Examples::

    # ONNX (static 640, no NMS: what alpr_edge.detectors.OnnxYoloDetector decodes), then FP16 TensorRT
    scripts/export_models.py yolo11n.pt --imgsz 640 --onnx --engine --out models/
    # int8 dynamic quantisation of an ONNX export for CPUs (ConvInteger)
    scripts/export_models.py models/yolo11n.onnx --quantize-int8
    # fp32 variants of a static fp16 export at smaller inputs (what detector imgsz does lazily)
    scripts/export_models.py platedet_yolov8s-seg_plate_640_fp16.onnx --derive 320x192 640x384

Exported files are never committed; add their sha256 to models/manifest.yaml when they become defaults.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in (ROOT, ROOT / "edge-services"):
    if str(sub) not in sys.path:
        sys.path.insert(0, str(sub))

logger = logging.getLogger("export_models")


def export_ultralytics(weights: Path, imgsz: int, fmt: str, half: bool, out: Path) -> Path:
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise SystemExit("ultralytics is not installed: pip install ultralytics (needs torch)") from exc
    kwargs = {"format": fmt, "imgsz": imgsz, "half": half, "simplify": True, "dynamic": False}
    if fmt == "engine":
        kwargs["device"] = 0
    else:
        kwargs["opset"] = 17
    produced = Path(YOLO(str(weights)).export(**kwargs))
    target = out / produced.name
    if produced.resolve() != target.resolve():
        shutil.move(str(produced), target)
    logger.info("exported %s", target)
    return target


def quantize_int8(model: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = model.with_name(f"{model.stem}_int8.onnx")
    quantize_dynamic(str(model), str(target), weight_type=QuantType.QUInt8)
    logger.info("quantised %s", target)
    return target


def derive(model: Path, shapes: list[str]) -> None:
    from alpr_edge.detectors.derive import derive_yolo_onnx

    for shape in shapes:
        w, h = (int(v) for v in shape.lower().split("x"))
        logger.info("derived %s", derive_yolo_onnx(model, (h, w)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="Ultralytics .pt weights or an ONNX export")
    parser.add_argument("--imgsz", type=int, default=640, help="export input size (square)")
    parser.add_argument("--onnx", action="store_true", help="export ONNX (fp32)")
    parser.add_argument("--engine", action="store_true", help="export a TensorRT FP16 engine (GPU)")
    parser.add_argument("--quantize-int8", action="store_true", help="dynamic int8 quantisation of an ONNX")
    parser.add_argument("--derive", nargs="*", default=[], metavar="WxH", help="fp32 variants at WxH inputs")
    parser.add_argument("--out", type=Path, default=Path("models"), help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_model = args.model if args.model.suffix == ".onnx" else None
    if args.onnx:
        onnx_model = export_ultralytics(args.model, args.imgsz, "onnx", False, args.out)
    if args.engine:
        export_ultralytics(args.model, args.imgsz, "engine", True, args.out)
    if args.quantize_int8 and onnx_model:
        quantize_int8(onnx_model)
    if args.derive and onnx_model:
        derive(onnx_model, args.derive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
