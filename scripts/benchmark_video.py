#!/usr/bin/env python3
"""Video benchmark of the full edge pipeline, as fast as possible.

    python scripts/benchmark_video.py ../shared/data/video/parkpow_cars.mp4 [--runs 3] [--config DIR]

Vehicle detection on every frame, ByteTrack, plate detection on tracked vehicle crops when the per-track
logic asks, OCR on the worker queue, voting. Decoding runs in the camera thread as in pilot.py.
Prints progress, reads, fps, median ms per stage and peak RSS; the last line is ``fps=.. peak_rss_mb=..``
(with --runs N: the median fps of the runs) followed by ``video_cpu_ms_per_1k=..``: CPU milliseconds of
this process (all threads, from /proc) per 1,000 frames, median of the runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in ("", "edge-services"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

from _cpu import CpuMeter, cpu_keys, median_costs, self_group  # noqa: E402
from alpr_common.config import add_config_args, load_or_exit  # noqa: E402
from alpr_edge.config import CameraSettings, EdgeConfig  # noqa: E402
from alpr_edge.pipeline import Models, StageTimings, build_camera_pipeline, load_models  # noqa: E402
from alpr_edge.reading.worker import ReadWorker  # noqa: E402
from alpr_edge.sinks import describe_read  # noqa: E402
from alpr_edge.sources import VideoFileSource, start_camera  # noqa: E402

PROGRESS_EVERY = 50


class TimedSource(VideoFileSource):
    """A video file source that records decode time per frame."""

    def __init__(self, path: str, timings: StageTimings):
        super().__init__(path)
        self.timings = timings

    def read(self):
        started = time.perf_counter()
        image = super().read()
        if image is not None:
            self.timings.add("decode", time.perf_counter() - started)
        return image


@dataclass(frozen=True)
class RunResult:
    fps: float
    cpu_ms_per_frame: float  # process CPU time (all threads) per frame: less sensitive to other load
    timings: StageTimings
    reads: list
    plate_detector_calls: int
    cpu_ms_per_1k: dict[str, float]  # from /proc: {"cpu": ms per 1,000 frames}


def run_once(video: str, cfg: EdgeConfig, models: Models, quiet: bool) -> RunResult:
    timings = StageTimings()
    worker = ReadWorker(cfg.pipeline.read_queue_size)
    pipe = build_camera_pipeline("bench", cfg, models, worker, timings)
    camera = start_camera(CameraSettings(id="bench", source=video), cfg.sources, TimedSource(video, timings))
    meter = CpuMeter([self_group()])
    before = meter.snapshot()
    reads, frames, started, cpu_started = [], 0, time.perf_counter(), time.process_time()
    while (frame := camera.buffer.get(timeout_s=30)) is not None:
        reads += pipe.process(frame).reads
        frames += 1
        if not quiet and frames % PROGRESS_EVERY == 0:
            print(f"  frame {frames}: {frames / (time.perf_counter() - started):.1f} fps, "
                  f"{pipe.reader.active_tracks} tracks, {len(reads)} reads", flush=True)
    reads += pipe.flush()
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    costs = meter.snapshot().delta_ms_per_1k(before, frames)
    camera.join()
    worker.close()
    if worker.dropped:
        print(f"  reading tasks dropped (queue full): {worker.dropped}")
    return RunResult(frames / elapsed, 1000 * cpu_s / max(frames, 1), timings, reads,
                     pipe.reader.plate_detections, costs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median fps")
    parser.add_argument("--no-ocr", action="store_true")
    parser.add_argument("--threads", type=int,
                        help="ONNX Runtime intra-op threads per model (pipeline.model_threads, default 1)")
    add_config_args(parser)
    args = parser.parse_args(argv)
    cfg = load_or_exit(EdgeConfig, args)
    cfg.sources.as_fast_as_possible = True
    if args.threads is not None:
        cfg.pipeline.model_threads = args.threads
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not Path(args.video).is_file():
        print(f"no such video: {args.video}", file=sys.stderr)
        return 2
    models = load_models(cfg, with_ocr=not args.no_ocr)
    results: list[RunResult] = []
    for run in range(1, args.runs + 1):
        print(f"run {run}/{args.runs}: {args.video}", flush=True)
        result = run_once(args.video, cfg, models, quiet=run > 1)
        results.append(result)
        for read in result.reads:
            print(f"  read: {describe_read(read)}")
        print(f"  run fps={result.fps:.2f} cpu_ms_per_frame={result.cpu_ms_per_frame:.1f} "
              f"load_avg_1m={os.getloadavg()[0]:.1f} median_ms_per_stage={result.timings.medians_ms()} "
              f"plate_detector_calls={result.plate_detector_calls} "
              f"ocr_calls={len(result.timings.stages.get('ocr', []))}", flush=True)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fps = [r.fps for r in results]
    cpu = statistics.median(r.cpu_ms_per_frame for r in results)
    if len(results) > 1:
        print(f"fps per run: {[round(f, 2) for f in fps]}")
    print(f"median cpu_ms_per_frame={cpu:.1f} (with {os.cpu_count()} idle cores: at most "
          f"{1000 * (os.cpu_count() or 1) / cpu:.1f} fps, if the stages overlap perfectly)")
    costs = median_costs([r.cpu_ms_per_1k for r in results])
    print(f"fps={statistics.median(fps):.2f} peak_rss_mb={peak_rss_mb:.0f} {cpu_keys('video', costs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
