"""Which tracks and shots get plate work: cut-off vehicles, small plates of standing vehicles, re-reads,
and the periodic high-resolution vehicle pass (fake detectors and OCR, no models)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from alpr_edge.pipeline import CameraPipeline
from alpr_edge.pipeline_config import PipelineSettings
from alpr_edge.reading.track_reader import TrackReader, vehicle_size
from alpr_edge.reading.track_state import TrackReading
from alpr_edge.trackers import ByteTracker
from alpr_edge.types import Detection, Frame, OcrResult

IMAGE = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)  # texture: sharpness > 0


class Vehicle:
    """One box per call: ``grow_px`` taller (and wider) each call; None from ``until`` calls on."""

    def __init__(self, box: tuple[float, float, float, float], grow_px: float = 0.0, until: int = 10**9):
        self.box, self.grow_px, self.until, self.calls = box, grow_px, until, 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        if self.calls > self.until:
            return []
        x1, y1, x2, y2 = self.box
        g = self.grow_px * self.calls
        return [Detection((x1, y1, x2 + g, y2 + g), 0.9, 2, "car")]


class FixedPlate:
    """A plate ``width_px`` wide in the lower middle of any crop."""

    def __init__(self, width_px: float):
        self.width_px = width_px

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        x1 = max(0.0, w / 2 - self.width_px / 2)
        return [Detection((x1, h * 0.7, x1 + self.width_px, h * 0.7 + self.width_px / 4), 0.8, 0, "plate")]


class CountingOcr:
    def __init__(self) -> None:
        self.frames: list[int] = []
        self.current = 0

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult:
        self.frames.append(self.current)
        return OcrResult("ABC1234", 0.9, (0.9,) * 7)


def run(vehicles, plate_width_px: float, settings: PipelineSettings, n: int = 80) -> tuple[CountingOcr, list]:
    ocr = CountingOcr()
    reader = TrackReader("cam", FixedPlate(plate_width_px), ocr, settings)
    pipe = CameraPipeline("cam", vehicles, reader, ByteTracker(), settings)
    reads = []
    for i in range(1, n + 1):
        ocr.current = i
        reads += pipe.process(Frame("cam", IMAGE, i, 1000.0 + i / 10)).reads
    return ocr, reads + pipe.flush()


@pytest.mark.parametrize(("box", "size"), [
    ((100, 50, 300, 250), 200),  # inside: the width
    ((0, 50, 90, 300), 250),  # cut by the left edge: the height
    ((10, 50, 90, 300), 250),  # within 2% of the edge counts as cut
    ((560, 50, 640, 200), 150),  # right edge
    ((20, 50, 90, 300), 70),  # 20 px in from the edge: a whole, narrow box
])
def test_vehicle_size_counts_the_height_of_a_cut_off_box(box, size) -> None:
    assert vehicle_size(box, frame_width=640) == size


def heights(values: list[float], start: int = 1) -> TrackReading:
    reading = TrackReading(1, 0.0, start)
    reading.heights.extend((start + i, h) for i, h in enumerate(values))
    return reading


@pytest.mark.parametrize(("values", "approaching"), [
    ([100.0] * 10, True),  # younger than the 16-frame window: cannot tell yet
    ([100.0] * 40, False),  # standing
    ([100.0 + 8 * ((i % 6) < 2) for i in range(40)], False),  # standing, boxes jitter 8% every 6 frames
    ([100.0 * 1.006**i for i in range(40)], True),  # +10% per window: approaching
    ([200.0 - 2 * i for i in range(40)], False),  # leaving
])
def test_approaching_is_a_trend_not_two_samples(values: list[float], approaching: bool) -> None:
    reading = heights(values)
    assert reading.approaching(len(values), window_frames=16, min_growth=0.03) is approaching


@pytest.mark.parametrize(("grow_px", "plate_px", "read"), [
    (0.0, 32.0, True),  # standing, small plate: read once the window shows it is not approaching
    (3.0, 32.0, False),  # approaching, small plate: waits for a bigger one
    (3.0, 50.0, True),  # approaching, plate above min_plate_width_px: read at once
    (0.0, 20.0, False),  # below min_small_plate_width_px: never
])
def test_small_plates_are_read_only_when_the_vehicle_is_not_approaching(grow_px, plate_px, read) -> None:
    settings = PipelineSettings(plate_detect_interval_frames=1, min_plate_width_px=44, min_small_plate_width_px=28,
                                min_vehicle_width_px=50, stable_read_count=10)
    ocr, reads = run(Vehicle((100, 100, 300, 260), grow_px), plate_px, settings, n=60)
    assert bool(ocr.frames) is read
    if read and plate_px < 44:
        assert ocr.frames[0] > 16  # not before one approach window of the track's history
    assert len(reads) == (1 if read else 0)


def test_a_standing_vehicle_gets_re_reads_to_vote_on() -> None:
    settings = PipelineSettings(plate_detect_interval_frames=1, min_quality_gain=0.05, stable_read_count=3,
                                reread_interval_frames=8, min_vehicle_width_px=50)
    ocr, reads = run(Vehicle((100, 100, 300, 260)), 60.0, settings)
    assert len(ocr.frames) == 3 and all(b - a >= 8 for a, b in pairwise(ocr.frames))
    assert [r.read_count for r in reads] == [3] and reads[0].last_frame < 40  # stable: published early
    never = settings.model_copy(update={"reread_interval_frames": 1000})
    ocr, reads = run(Vehicle((100, 100, 300, 260)), 60.0, never)
    assert len(ocr.frames) == 1 and reads[0].read_count == 1  # same shot quality: one read only


class Recorder:
    """Vehicle detector that records which frames it ran on; returns ``box`` (or nothing)."""

    def __init__(self, box: tuple[float, float, float, float] | None):
        self.box, self.calls = box, 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        return [Detection(self.box, 0.9, 2, "car")] if self.box else []


def test_high_resolution_pass_runs_on_two_frames_of_every_interval() -> None:
    settings = PipelineSettings(vehicle_high_res_interval_frames=6)
    low, high = Recorder(None), Recorder(None)
    pipe = CameraPipeline("cam", low, TrackReader("cam", None, None, settings), ByteTracker(), settings,
                          vehicles_high_res=high)
    used = [pipe.vehicle_detector(i) is high for i in range(1, 14)]
    assert [i for i, h in zip(range(1, 14), used, strict=True) if h] == [1, 6, 7, 12, 13]
    for i in range(1, 25):
        pipe.process(Frame("cam", IMAGE, i, 1000.0 + i / 10))
    assert (low.calls, high.calls) == (16, 8)
    assert CameraPipeline("cam", low, TrackReader("cam", None, None, settings)).vehicle_detector(6) is low


def test_a_vehicle_only_the_high_resolution_pass_sees_keeps_one_track() -> None:
    settings = PipelineSettings(vehicle_high_res_interval_frames=6, plate_detect_interval_frames=1)
    pipe = CameraPipeline("cam", Recorder(None), TrackReader("cam", None, None, settings), ByteTracker(), settings,
                          vehicles_high_res=Recorder((100, 100, 300, 260)))
    ids = set()
    for i in range(1, 40):
        ids |= {t.track_id for t in pipe.process(Frame("cam", IMAGE, i, 1000.0 + i / 10)).tracks}
    assert len(ids) == 1  # confirmed on two consecutive high-res frames, kept through the 320 frames


class NoPlate:
    def detect(self, image: np.ndarray) -> list[Detection]:
        return []


@pytest.mark.parametrize(("plates", "max_gap"), [
    (FixedPlate(32.0), 8),  # a small plate that is growing: looked at again within 4 intervals
    (NoPlate(), 16),  # no plate: the full back-off, up to plate_miss_backoff_max_frames
])
def test_a_growing_small_plate_is_not_backed_off_like_a_miss(plates, max_gap) -> None:
    settings = PipelineSettings(plate_detect_interval_frames=2, plate_miss_backoff_max_frames=16,
                                min_plate_width_px=44, min_small_plate_width_px=28, min_vehicle_width_px=50)
    reader = TrackReader("cam", plates, CountingOcr(), settings)
    pipe = CameraPipeline("cam", Vehicle((100, 100, 300, 260), grow_px=3.0), reader, ByteTracker(), settings)
    looked = []
    for i in range(1, 71):  # the box stays inside the 640x480 image: it keeps growing
        before = reader.plate_detections
        pipe.process(Frame("cam", IMAGE, i, 1000.0 + i / 10))
        if reader.plate_detections > before:
            looked.append(i)
    gaps = [b - a for a, b in pairwise(looked)]
    assert max(gaps) == max_gap and reader.ocr_calls == 0


def test_the_high_resolution_schedule_counts_processed_frames_not_frame_numbers() -> None:
    settings = PipelineSettings(vehicle_high_res_interval_frames=4)
    low, high = Recorder(None), Recorder(None)
    pipe = CameraPipeline("cam", low, TrackReader("cam", None, None, settings), ByteTracker(), settings,
                          vehicles_high_res=high)
    ran_high = []
    for number in range(1, 33, 2):  # pilot --skip-frames 1: only odd frame numbers reach the pipeline
        before = high.calls
        pipe.process(Frame("cam", IMAGE, number, 1000.0 + number / 10))
        ran_high.append(high.calls > before)
    assert [i + 1 for i, h in enumerate(ran_high) if h] == [1, 4, 5, 8, 9, 12, 13, 16]  # pairs still consecutive
