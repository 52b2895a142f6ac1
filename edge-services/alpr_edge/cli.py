"""pilot.py command line: argparse -> EdgeConfig -> models -> EdgeRunner (cameras, tracking, reading)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
from pathlib import Path

from alpr_common.config import add_config_args, load_or_exit

from .config import CameraSettings, EdgeConfig

logger = logging.getLogger(__name__)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pilot.py", description="OVR-ALPR edge pipeline: cameras -> plate reads")
    add_config_args(p)
    p.add_argument("--source", action="append", metavar="URI",
                   help="camera source replacing config/cameras.yaml (file, rtsp://, /dev/videoN, folder);"
                        " repeatable")
    display = p.add_mutually_exclusive_group()
    display.add_argument("--no-display", dest="display", action="store_false", default=None,
                         help="never open a window (default when $DISPLAY is unset)")
    display.add_argument("--display", dest="display", action="store_true", help="show annotated frames")
    p.add_argument("--no-ocr", action="store_true", help="detect, track and keep best plate shots; no OCR")
    p.add_argument("--no-publish", action="store_true",
                   help="log and CSV only: no event processor, outbox, Kafka, MinIO or :8001 metrics")
    p.add_argument("--skip-frames", type=_count, metavar="N",
                   help="process one frame, then skip N (pipeline.skip_frames)")
    p.add_argument("--model", metavar="FILE", help="vehicle detector model (models.vehicle_model)")
    p.add_argument("--plate-model", metavar="FILE", help="plate detector model (models.plate_model)")
    p.add_argument("--as-fast-as-possible", action="store_true",
                   help="read files without pacing or frame drops (benchmarks)")
    p.add_argument("--save-video", type=Path, metavar="PATH", help="write the annotated video here (.mp4)")
    p.add_argument("--max-frames", type=_count, metavar="N", help="stop each camera after N frames")
    p.add_argument("--output", type=Path, metavar="CSV",
                   help="CSV log of reads (output.csv_path); crops go to a crops/ folder beside it")
    return p


def camera_id_for(source: str, index: int) -> str:
    if "://" not in source and not source.startswith("/dev/"):
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(source).stem).strip("-.")[:64]
        if stem:
            return stem
    return f"cam-{index:02d}"


def apply_overrides(cfg: EdgeConfig, args: argparse.Namespace) -> EdgeConfig:
    if args.source:
        cfg.cameras = [CameraSettings(id=camera_id_for(s, i), source=s) for i, s in enumerate(args.source, 1)]
    if args.skip_frames is not None:
        cfg.pipeline.skip_frames = args.skip_frames
    if args.model:
        cfg.models.vehicle_model = args.model
    if args.plate_model:
        cfg.models.plate_model = args.plate_model
    if args.as_fast_as_possible:
        cfg.sources.as_fast_as_possible = True
    if args.output:
        cfg.output.csv_path = args.output
        if cfg.output.crops_dir is not None:
            cfg.output.crops_dir = args.output.parent / "crops"
    return cfg


def setup_logging(cfg: EdgeConfig) -> None:
    from alpr_common.logs import configure_logging

    configure_logging(cfg.logging)


def build_sink(cfg: EdgeConfig, publish: bool = True):
    from .sinks import CsvSink, FanOutSink, LogSink

    sinks: list = [LogSink()]
    if cfg.output.csv_path:
        sinks.append(CsvSink(cfg.output.csv_path, cfg.output.crops_dir))
    if publish:
        from .publishing import build_sink as build_delivery_sink

        sinks.append(build_delivery_sink(cfg))  # processor -> outbox -> Kafka, crops -> MinIO, :8001
    return FanOutSink(sinks)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = apply_overrides(load_or_exit(EdgeConfig, args), args)
    setup_logging(cfg)
    from .models import ModelError
    from .pipeline import load_models
    from .pipeline_runner import EdgeRunner, RunOptions

    try:
        models = load_models(cfg, with_ocr=not args.no_ocr)
    except ModelError as exc:
        logger.error("cannot load models: %s", exc)
        return 1
    display = bool(os.environ.get("DISPLAY")) if args.display is None else args.display
    options = RunOptions(display=display, max_frames=args.max_frames, save_video=args.save_video)
    sink = build_sink(cfg, publish=not args.no_publish)
    runner = EdgeRunner(cfg, models, sink, options)
    delivery_metrics = [s.metrics for s in sink.sinks if hasattr(s, "metrics")]
    if delivery_metrics:
        from .telemetry import attach

        attach(runner, delivery_metrics[0])
    previous = {sig: signal.signal(sig, lambda *_: runner.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = runner.run()
    finally:
        sink.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    fps = summary.frames_processed / summary.elapsed_s if summary.elapsed_s else 0.0
    logger.info("done: %d frames in %.1f s (%.1f fps), %d reads, %d OCR calls, %d reading tasks dropped,"
                " median ms per stage %s", summary.frames_processed, summary.elapsed_s, fps,
                sum(c.reads for c in summary.cameras), summary.ocr_calls, summary.tasks_dropped,
                summary.timings_ms)
    return 0
