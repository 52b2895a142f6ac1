"""Per-track reading, OCR queue, sinks and the runner, with fake detectors and OCR (no models)."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from alpr_edge.config import CameraSettings, EdgeConfig
from alpr_edge.pipeline import CameraPipeline, Models, StageTimings
from alpr_edge.pipeline_config import PipelineSettings
from alpr_edge.pipeline_runner import EdgeRunner, RunOptions
from alpr_edge.plates import FormatPrior, PlateFormatSettings
from alpr_edge.reading.track_reader import TrackReader
from alpr_edge.reading.track_state import direction_of
from alpr_edge.reading.worker import CropOcr, ReadWorker
from alpr_edge.sinks import CsvSink, FanOutSink
from alpr_edge.trackers import ByteTracker
from alpr_edge.types import Detection, Frame, OcrResult, PlateRead
from tests.waiting import HANG_S, wait_until


class FakeVehicles:
    """One car moving right and growing, present for ``frames`` calls, then nothing."""

    def __init__(self, frames: int = 20):
        self.calls, self.frames = 0, frames

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        if self.calls > self.frames:
            return []
        k = self.calls
        return [Detection((100 + 4 * k, 100, 300 + 6 * k, 260 + 2 * k), 0.9, 2, "car")]


class FakePlates:
    """A plate in the lower middle of any crop, its width a share of the crop (grows with the car)."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        return [Detection((w * 0.3, h * 0.7, w * 0.7, h * 0.85), 0.8, 0, "plate")]


class ScriptedOcr:
    def __init__(self, texts: list[str], conf: float = 0.9, delay_s: float = 0.0):
        self.texts, self.conf, self.delay_s = texts, conf, delay_s
        self.calls = 0

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult:
        time.sleep(self.delay_s)
        text = self.texts[min(self.calls, len(self.texts) - 1)]
        self.calls += 1
        return OcrResult(text, self.conf, (self.conf,) * len(text))


def frames(n: int, camera: str = "cam") -> list[Frame]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)  # texture: non-zero sharpness
    return [Frame(camera, image, i, 1000.0 + i / 10) for i in range(1, n + 1)]


def run_pipeline(ocr_texts: list[str] | None, settings: PipelineSettings, vehicle_frames: int = 20,
                 total_frames: int = 60) -> tuple[list[PlateRead], ScriptedOcr | None, TrackReader]:
    ocr_fake = ScriptedOcr(ocr_texts) if ocr_texts else None
    worker = ReadWorker(queue_size=8) if ocr_fake else None
    formats = FormatPrior(PlateFormatSettings(builtin_packs=False,
                                              packs={"us-tx": {"country": "US", "patterns": ["LLLDDDD"]}}))
    reader = TrackReader("cam", FakePlates(), ocr_fake, settings, formats, worker=worker)
    pipe = CameraPipeline("cam", FakeVehicles(vehicle_frames), reader, ByteTracker(), settings)
    reads: list[PlateRead] = []
    for frame in frames(total_frames):
        reads += pipe.process(frame).reads
        if worker:
            worker.wait_idle(5)  # deterministic: reading tasks finish before the next frame
    reads += pipe.flush()
    if worker:
        worker.close()
    return reads, ocr_fake, reader


def test_stable_read_is_published_once_while_the_track_lives() -> None:
    settings = PipelineSettings(plate_detect_interval_frames=1, stable_read_count=3, min_quality_gain=0.0)
    reads, ocr, _ = run_pipeline(["ABC1234"], settings, vehicle_frames=20, total_frames=25)
    assert len(reads) == 1
    read = reads[0]
    assert (read.camera_id, read.track_id, read.text, read.read_count) == ("cam", 1, "ABC1234", 3)
    assert read.region == "us-tx" and read.matches_format
    assert read.frame_number <= 6 and ocr is not None and ocr.calls == 3  # stable after 3 reads: no more OCR
    assert read.plate_crop is not None and read.plate_crop.size > 0 and read.vehicle_type == "car"
    x1, y1, x2, y2 = read.plate_bbox
    assert 100 < x1 < x2 < 500 and 180 < y1 < y2 < 320  # frame pixels, inside the car


def test_ocr_throttled_per_track_and_vote_on_track_end() -> None:
    settings = PipelineSettings(plate_detect_interval_frames=1, max_reads_per_track=3, stable_read_count=10,
                                min_quality_gain=0.0)
    reads, ocr, reader = run_pipeline(["ABC1234", "A8C1234", "ABC1234"], settings, vehicle_frames=15,
                                      total_frames=60)
    assert ocr is not None and ocr.calls == 3
    assert [r.text for r in reads] == ["ABC1234"] and reads[0].read_count == 3
    assert reads[0].last_seen_s < 1000 + 16 / 10  # published after the track ended (buffer), not at flush
    assert reader.plate_detections >= 3


def test_only_better_shots_are_read() -> None:
    settings = PipelineSettings(plate_detect_interval_frames=1, max_reads_per_track=50, stable_read_count=50,
                                min_quality_gain=10.0)  # nothing is ever 10x better than the first shot
    reads, ocr, _ = run_pipeline(["ABC1234"], settings, vehicle_frames=10, total_frames=50)
    assert ocr is not None and ocr.calls == 1 and len(reads) == 1


def test_no_ocr_publishes_best_shot_without_text() -> None:
    reads, _, _ = run_pipeline(None, PipelineSettings(), vehicle_frames=10, total_frames=50)
    assert len(reads) == 1 and reads[0].text == "" and reads[0].plate_crop is not None


def test_low_confidence_reads_are_dropped() -> None:
    settings = PipelineSettings(min_read_confidence=0.95, plate_detect_interval_frames=1)
    reads, _, _ = run_pipeline(["ABC1234"], settings, vehicle_frames=10, total_frames=50)
    assert reads == []


def test_plate_detection_budget_per_frame() -> None:
    class ManyVehicles:
        def detect(self, image):
            return [Detection((10 + 100 * i, 10, 90 + 100 * i, 90), 0.9, 2, "car") for i in range(6)]

    settings = PipelineSettings(max_plate_detections_per_frame=2, plate_detect_interval_frames=1,
                                min_vehicle_width_px=10)
    reader = TrackReader("cam", FakePlates(), None, settings)
    pipe = CameraPipeline("cam", ManyVehicles(), reader, ByteTracker(), settings)
    for frame in frames(5):
        before = reader.plate_detections
        pipe.process(frame)
        assert reader.plate_detections - before <= 2


def test_reading_queue_drops_when_full_and_never_blocks() -> None:
    worker = ReadWorker(queue_size=1)
    done: list[int] = []
    release = threading.Event()
    accepted: list[bool] = []
    # Every task blocks until released, so the queue stays full: a submit that blocked would never return.
    submitter = threading.Thread(target=lambda: accepted.extend(
        worker.submit(lambda i=i: (release.wait(HANG_S), done.append(i))) for i in range(5)))
    submitter.start()
    submitter.join(timeout=HANG_S)
    assert not submitter.is_alive(), "submit blocked on a full queue"
    assert accepted[0] and not all(accepted) and worker.dropped == accepted.count(False)
    release.set()
    worker.close()
    assert len(done) == accepted.count(True)


def test_reading_task_failure_is_logged_not_raised() -> None:
    worker = ReadWorker()

    def boom() -> None:
        raise RuntimeError("boom")

    worker.submit(boom, "camera=c track=1")
    worker.submit(lambda: None)
    worker.close()
    assert worker.failed == 1 and worker.done == 1


def test_reads_with_a_background_worker() -> None:
    settings = PipelineSettings(plate_detect_interval_frames=1, stable_read_count=2)
    worker = ReadWorker(queue_size=2)
    ocr = ScriptedOcr(["ABC1234"], delay_s=0.01)
    reader = TrackReader("cam", FakePlates(), ocr, settings, worker=worker)
    pipe = CameraPipeline("cam", FakeVehicles(30), reader, ByteTracker(), settings)
    reads = [r for frame in frames(40) for r in pipe.process(frame).reads] + pipe.flush()
    worker.close()
    assert [r.text for r in reads] == ["ABC1234"] and reads[0].read_count >= 1


def test_crop_ocr_adapter() -> None:
    class Recognizer:
        def read(self, crop):
            return OcrResult(f"{crop.shape[1]}x{crop.shape[0]}", 1.0)

    result = CropOcr(Recognizer(), margin=0.0).read_plate(np.zeros((100, 100, 3), np.uint8),
                                                         Detection((10, 20, 50, 40), 1, 0, "p"))
    assert result.text == "40x20"


def plate_read(text: str = "ABC1234", crop: bool = True) -> PlateRead:
    return PlateRead("cam", 7, text, 0.9, (0.9,) * len(text), (), (1.0, 2.0, 3.0, 4.0), 1000.0, 1001.0, 5, 3,
                     0.5, region="us-tx", plate_crop=np.zeros((10, 30, 3), np.uint8) if crop else None)


def test_csv_sink_and_fan_out(tmp_path: Path) -> None:
    class Broken:
        closed = False

        def publish(self, read):
            raise RuntimeError("down")

        def close(self):
            Broken.closed = True

    csv_sink = CsvSink(tmp_path / "out" / "reads.csv", tmp_path / "crops")
    fan = FanOutSink([Broken(), csv_sink])
    fan.publish(plate_read())
    fan.publish(plate_read("XYZ999", crop=False))
    fan.close()
    rows = list(csv.DictReader((tmp_path / "out" / "reads.csv").open()))
    assert [r["plate"] for r in rows] == ["ABC1234", "XYZ999"] and fan.errors == 2 and Broken.closed
    assert rows[0]["read_count"] == "3" and rows[0]["region"] == "us-tx"
    assert Path(rows[0]["crop_path"]).is_file() and rows[1]["crop_path"] == ""
    CsvSink(tmp_path / "out" / "reads.csv").close()  # reopening appends, no second header
    assert (tmp_path / "out" / "reads.csv").read_text().count("first_seen") == 1


class ListSink:
    def __init__(self):
        self.reads: list[PlateRead] = []
        self.closed = False

    def publish(self, read: PlateRead) -> None:
        self.reads.append(read)

    def close(self) -> None:
        self.closed = True


def write_video(path: Path, n: int, fps: float = 25.0) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    rng = np.random.default_rng(1)
    for _ in range(n):
        writer.write(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    writer.release()
    return str(path)


def fake_models(frames_with_car: int = 15) -> Models:
    return Models(vehicles=FakeVehicles(frames_with_car), plates=FakePlates(), ocr=ScriptedOcr(["ABC1234"]))


def test_runner_reads_a_video_and_survives_a_bad_camera(tmp_path: Path) -> None:
    cfg = EdgeConfig(cameras=[
        CameraSettings(id="good", source=write_video(tmp_path / "v.avi", 40)),
        CameraSettings(id="broken", source=str(tmp_path / "missing.mp4")),
    ])
    cfg.sources.as_fast_as_possible = True
    cfg.pipeline.plate_detect_interval_frames = 1
    sink = ListSink()
    summary = EdgeRunner(cfg, fake_models(), sink, RunOptions(save_video=tmp_path / "annotated.mp4")).run()
    assert [r.text for r in sink.reads] == ["ABC1234"] and sink.reads[0].camera_id == "good"
    by_id = {c.camera_id: c for c in summary.cameras}
    assert by_id["good"].frames_processed == 40 and by_id["good"].state == "finished"
    assert by_id["broken"].state == "failed" and by_id["broken"].frames_processed == 0
    assert (tmp_path / "annotated_good.mp4").stat().st_size > 0
    assert set(summary.timings_ms) >= {"vehicle_detect", "track", "plate_detect", "frame", "ocr"}


@pytest.mark.parametrize(("skip", "max_frames", "processed"), [(0, 10, 10), (1, None, 20), (3, 20, 5)])
def test_runner_skip_and_max_frames(tmp_path: Path, skip: int, max_frames: int | None,
                                    processed: int) -> None:
    cfg = EdgeConfig(cameras=[CameraSettings(id="c", source=write_video(tmp_path / "v.avi", 40))])
    cfg.sources.as_fast_as_possible = True
    cfg.pipeline.skip_frames = skip
    summary = EdgeRunner(cfg, fake_models(), ListSink(), RunOptions(max_frames=max_frames)).run()
    assert summary.cameras[0].frames_processed == processed


def test_runner_stop_is_clean(tmp_path: Path) -> None:
    cfg = EdgeConfig(cameras=[CameraSettings(id="c", source=write_video(tmp_path / "v.avi", 30), loop=True)])
    sink = ListSink()
    models = fake_models(frames_with_car=10_000)
    runner = EdgeRunner(cfg, models, sink, RunOptions())
    thread = threading.Thread(target=runner.run)
    thread.start()
    wait_until(lambda: models.ocr.calls >= 1, what="the first plate read of the live track")
    runner.stop()
    thread.join(timeout=HANG_S)
    assert not thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name in ("camera-c", "pipeline-c", "ocr-worker")]
    assert len(sink.reads) == 1  # the live track was flushed on stop


def test_stage_timings_medians() -> None:
    t = StageTimings()
    for v in (0.001, 0.003, 0.002):
        t.add("x", v)
    assert t.medians_ms() == {"x": 2.0}


def test_plates_on_the_whole_frame_mode() -> None:
    class FramePlates:
        def __init__(self):
            self.calls = 0

        def detect(self, image):
            self.calls += 1
            return [Detection((150, 220, 230, 245), 0.8, 0, "plate"),
                    Detection((600, 10, 630, 20), 0.9, 0, "plate")]

    settings = PipelineSettings(plate_on_vehicle_crops=False, plate_detect_interval_frames=1,
                                stable_read_count=2)
    worker = ReadWorker()
    plates = FramePlates()
    reader = TrackReader("cam", plates, ScriptedOcr(["ABC1234"]), settings, worker=worker)
    pipe = CameraPipeline("cam", FakeVehicles(8), reader, ByteTracker(), settings)
    reads = []
    for frame in frames(40):
        reads += pipe.process(frame).reads
        worker.wait_idle(5)
    reads += pipe.flush()
    worker.close()
    assert [r.text for r in reads] == ["ABC1234"]
    assert reads[0].plate_bbox == pytest.approx((150, 220, 230, 245), abs=1.0)  # the plate inside the car


def test_vehicle_type_is_the_most_frequent_label() -> None:
    class Flicker(FakeVehicles):
        def detect(self, image):
            dets = super().detect(image)
            label = "bus" if self.calls % 4 == 0 else "car"
            return [Detection(d.xyxy, d.score, d.class_id, label) for d in dets]

    settings = PipelineSettings(plate_detect_interval_frames=1)
    reader = TrackReader("cam", FakePlates(), ScriptedOcr(["ABC1234"]), settings)
    pipe = CameraPipeline("cam", Flicker(12), reader, ByteTracker(), settings)
    reads = [r for frame in frames(50) for r in pipe.process(frame).reads] + pipe.flush()
    assert [r.vehicle_type for r in reads] == ["car"]


@pytest.mark.parametrize(("first", "last", "direction"), [
    ((100, 100, 200, 200), (100, 160, 220, 280), "approaching"),
    ((100, 300, 250, 450), (120, 100, 200, 180), "receding"),
    ((100, 100, 200, 200), (102, 101, 202, 201), None),
    (None, (0, 0, 1, 1), None),
])
def test_direction_of(first, last, direction) -> None:
    assert direction_of(first, last) == direction


def test_read_carries_direction() -> None:
    reads, _, _ = run_pipeline(["ABC1234"], PipelineSettings(plate_detect_interval_frames=1), 20, 60)
    assert reads[0].direction == "approaching"  # the fake car grows and moves down
