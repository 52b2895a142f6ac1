#!/usr/bin/env python3
"""Passage-level scoring of the full edge pipeline on a labelled video.

    python scripts/benchmark_events.py VIDEO [--labels CSV] [--config DIR] [--slack-frames N] [--cut FRAME]

Runs pilot.py's own code path (EdgeRunner: camera thread, vehicle detection on every frame, ByteTrack,
per-track plate reading on the worker, voting) as fast as possible, with pilot's delivery sink (event
processor, fuzzy dedup, SQLite outbox in a temporary folder; no Kafka producer, no crop uploads, no :8001),
and scores the finished events against the passage labels (alpr_edge.evaluation; rules in
docs/benchmarks.md, "Video passages"). ``--labels`` defaults to ``VIDEO`` with ``_gt.csv`` for ``.mp4``
(the sample video's labels are ``$ALPR_SHARED_DIR/data/video/parkpow_cars_gt.csv``).

Prints a progress line while running, the events, a table per labelled passage (read / missed / duplicate /
wrong plate) and the false events; the last line is
``passages=.. read=.. recall=.. false_events=.. fps=..`` (passages: the readable ones, that must be read).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import _bootstrap  # noqa: F401  (makes the repository's packages importable)
from alpr_common.config import add_config_args, load_or_exit
from alpr_edge.cli import camera_id_for
from alpr_edge.config import CameraSettings, EdgeConfig
from alpr_edge.evaluation import (
    EventCapture,
    LabelError,
    load_passages,
    offline_delivery_config,
    score,
    table_lines,
)
from alpr_edge.evaluation.passages import DEFAULT_SLACK_FRAMES
from alpr_edge.models import ModelError
from alpr_edge.pipeline import load_models
from alpr_edge.pipeline_runner import EdgeRunner, RunOptions, RunSummary
from alpr_edge.publishing import build_sink
from alpr_edge.sinks import FanOutSink, LogSink

PROGRESS_EVERY_S = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--labels", type=Path, help="passage labels CSV (default: VIDEO stem + _gt.csv)")
    parser.add_argument("--slack-frames", type=int, default=DEFAULT_SLACK_FRAMES,
                        help="frames an event may reach past either end of a passage (labels are approximate)")
    parser.add_argument("--cut", type=int, action="append", metavar="FRAME",
                        help="first frame of a spliced clip (repeatable); default: the labels' segment= notes")
    parser.add_argument("--verbose", action="store_true",
                        help="log the track reader (reads dropped below its thresholds) and the tracker")
    add_config_args(parser)
    return parser.parse_args(argv)


def progress(runner: EdgeRunner, capture: EventCapture, started: float, done: threading.Event) -> None:
    while not done.wait(PROGRESS_EVERY_S):
        frames = sum(r.processed for r in runner.runs)
        print(f"  frame {frames}: {frames / (time.perf_counter() - started):.1f} fps, "
              f"{len(capture.events)} events", flush=True)


def run(video: Path, cfg: EdgeConfig, workdir: Path) -> tuple[EventCapture, RunSummary, float, int]:
    """Captured events, the runner's summary, process CPU seconds and plate detector calls of one run."""
    cfg = offline_delivery_config(cfg, workdir)
    cfg.cameras = [CameraSettings(id=camera_id_for(str(video), 1), source=str(video))]
    cfg.sources.as_fast_as_possible = True  # every frame, none dropped: frame numbers = cap.read() order
    cfg.output.csv_path = None
    models = load_models(cfg)
    capture = EventCapture(build_sink(cfg, serve_metrics=False))
    sink = FanOutSink([LogSink(), capture])
    runner = EdgeRunner(cfg, models, sink, RunOptions(stats_interval_s=3600))
    done = threading.Event()
    started, cpu_started = time.perf_counter(), time.process_time()
    ticker = threading.Thread(target=progress, args=(runner, capture, started, done), daemon=True)
    ticker.start()
    try:
        summary = runner.run()
    finally:
        done.set()
        sink.close()
    plate_calls = sum(r.pipeline.reader.plate_detections for r in runner.runs)
    return capture, summary, time.process_time() - cpu_started, plate_calls


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_or_exit(EdgeConfig, args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("alpr_edge.reading").setLevel(logging.INFO)
    labels = args.labels or args.video.with_name(f"{args.video.stem}_gt.csv")
    if not args.video.is_file():
        print(f"no such video: {args.video}", file=sys.stderr)
        return 2
    try:
        passages = load_passages(labels)
    except (LabelError, OSError) as exc:
        print(f"cannot use the labels: {exc}", file=sys.stderr)
        return 2
    print(f"{args.video}: {len(passages)} labelled passages, "
          f"{sum(p.readable for p in passages)} readable ({labels})", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="alpr-events-") as tmp:
            capture, summary, cpu_s, plate_calls = run(args.video, cfg, Path(tmp))
    except ModelError as exc:
        print(f"cannot load models: {exc}", file=sys.stderr)
        return 1
    for line in capture.log:
        print(f"  read: {line}")
    result = score(capture.events, passages, cuts=args.cut, slack_frames=args.slack_frames)
    for line in table_lines(result):
        print(line)
    frames, elapsed_s = summary.frames_processed, summary.elapsed_s
    print(f"frames={frames} wall_s={elapsed_s:.2f} cpu_ms_per_frame={1000 * cpu_s / max(frames, 1):.1f} "
          f"plate_detector_calls={plate_calls} ocr_calls={summary.ocr_calls} "
          f"reading_tasks_dropped={summary.tasks_dropped} load_avg_1m={os.getloadavg()[0]:.1f} "
          f"processor={dict(capture.outcomes)}")
    print(f"{result.summary()} fps={frames / elapsed_s if elapsed_s else 0.0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
