"""Camera ingestion: files, folders, RTSP failures and reconnects, GStreamer strings, buffers."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from alpr_edge.config import CameraSettings
from alpr_edge.pipeline_config import SourceSettings
from alpr_edge.sources import (
    CameraState,
    FrameBuffer,
    ImageFolderSource,
    RtspSource,
    SourceError,
    VideoFileSource,
    build_rtsp_pipeline,
    build_source,
    guess_kind,
    redact_url,
    start_camera,
)
from alpr_edge.sources.camera import CameraThread
from alpr_edge.types import Frame
from tests.waiting import HANG_S, wait_until

FAST = SourceSettings(as_fast_as_possible=True, reconnect_initial_backoff_s=0.05, reconnect_max_backoff_s=0.2,
                      open_timeout_s=1.0, read_timeout_s=1.0)


def write_video(path: Path, frames: int = 12, fps: float = 25.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 10 % 255, np.uint8))
    writer.release()
    return path


def drain(camera, timeout_s: float = HANG_S) -> list[Frame]:
    """Frames until the camera's buffer closes (or ``timeout_s``, a hang), then stop the camera."""
    frames, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame = camera.buffer.get(timeout_s=0.2)
        if frame is None and camera.buffer.closed and not len(camera.buffer):
            break
        if frame is not None:
            frames.append(frame)
    camera.stop()
    camera.join(timeout=HANG_S)
    return frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("source", "kind"), [
    ("rtsp://cam/stream", "rtsp"), ("RTSP://user:pw@10.0.0.2:554/h264", "rtsp"), ("http://x/mjpg", "rtsp"),
    ("/dev/video0", "usb"), ("0", "usb"), ("clip.mp4", "file"), (".", "images"),
])
def test_guess_kind(source: str, kind: str) -> None:
    assert guess_kind(source) == kind


def test_video_file_fast_reads_every_frame_in_order(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", frames=12)
    camera = start_camera(CameraSettings(id="cam-a", source=str(video)), FAST)
    frames = drain(camera)
    assert [f.frame_number for f in frames] == list(range(1, 13))
    assert {f.camera_id for f in frames} == {"cam-a"} and frames[0].image.shape == (48, 64, 3)
    stats = camera.stats.snapshot()
    assert stats.frames_read == 12 and stats.frames_dropped == 0 and stats.state == CameraState.FINISHED


def test_video_file_paced_to_native_fps(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", frames=10, fps=20.0)
    started = time.monotonic()
    camera = start_camera(CameraSettings(id="c", source=str(video)), SourceSettings(frame_queue_size=64))
    frames = drain(camera)
    assert len(frames) == 10
    assert time.monotonic() - started >= 0.4  # 10 frames at 20 fps


def test_video_file_loops(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", frames=5)
    camera = start_camera(CameraSettings(id="c", source=str(video), loop=True), FAST)
    got = [camera.buffer.get(timeout_s=HANG_S) for _ in range(12)]
    drain(camera, timeout_s=0.5)
    assert all(f is not None for f in got)


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_unreadable_video_fails_cleanly(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(SourceError):
        VideoFileSource(str(bad)).open()
    camera = start_camera(CameraSettings(id="bad", source=str(bad)), FAST)
    assert drain(camera) == []
    stats = camera.stats.snapshot()
    assert stats.state == CameraState.FAILED and "bad.mp4" in (stats.last_error or "")


def test_missing_file_fails_cleanly(tmp_path: Path) -> None:
    camera = start_camera(CameraSettings(id="gone", source=str(tmp_path / "nope.mp4")), FAST)
    assert drain(camera) == [] and camera.stats.snapshot().state == CameraState.FAILED


def test_image_folder_skips_corrupt_images(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((20, 30, 3), i, np.uint8))
    (tmp_path / "1b.jpg").write_bytes(b"\xff\xd8garbage")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageFolderSource(str(tmp_path))
    source.open()
    images = [source.read() for _ in range(4)]
    assert [None if im is None else int(im[0, 0, 0]) for im in images] == [0, 1, 2, None]
    assert source.read_errors == 1
    frames = drain(start_camera(CameraSettings(id="folder", source=str(tmp_path)), FAST))
    assert len(frames) == 3


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images"):
        ImageFolderSource(str(tmp_path)).open()


def test_unreachable_rtsp_goes_offline_and_retries_without_hurting_other_cameras(tmp_path: Path) -> None:
    url = f"rtsp://user:secret@127.0.0.1:{free_port()}/stream"
    dead = start_camera(CameraSettings(id="dead", source=url, decoder="cpu"), FAST)
    good = start_camera(CameraSettings(id="good", source=str(write_video(tmp_path / "v.avi", 8))), FAST)
    assert len(drain(good)) == 8
    # a never-opened stream retries open (reconnects counts drops only): wait for the first failed open
    stats = wait_until(lambda: (st := dead.stats.snapshot()).last_error and st, what="the first failed open")
    assert stats.state == CameraState.OFFLINE and stats.frames_read == 0
    assert "secret" not in (stats.last_error or "") and "127.0.0.1" in (stats.last_error or "")
    assert dead.is_alive()
    drain(dead, timeout_s=0.1)
    assert not dead.is_alive() and dead.stats.snapshot().state == CameraState.STOPPED


class FlakyLiveSource:
    """Live source: opens fail twice, then it serves 3 frames and drops; then it serves a frozen image."""

    live, fps = True, None

    def __init__(self) -> None:
        self.opens = self.failures = 0
        self.left = 0

    def open(self) -> None:
        self.opens += 1
        if self.opens <= 2:
            raise SourceError("connection refused")
        self.left = 3 if self.opens == 3 else 10**12  # then a frozen stream that never ends

    def read(self) -> np.ndarray | None:
        if self.left <= 0:
            return None
        self.left -= 1
        value = self.left if self.opens == 3 else 7
        return np.full((8, 8, 3), value, np.uint8)

    def close(self) -> None:
        pass


def test_live_source_backoff_reconnect_and_frozen_stream() -> None:
    settings = SourceSettings(reconnect_initial_backoff_s=0.01, reconnect_max_backoff_s=0.02,
                              frozen_stream_timeout_s=0.2)
    source = FlakyLiveSource()
    camera = start_camera(CameraSettings(id="flaky", source="rtsp://x"), settings, source=source)
    # keep draining frames while waiting: 2 failed opens, a drop after 3 frames, frozen-stream reconnects
    try:
        wait_until(lambda: (camera.buffer.get(timeout_s=0.05), source.opens >= 5)[1], what="five opens")
    finally:
        camera.stop()
        camera.join(timeout=HANG_S)
    stats = camera.stats.snapshot()
    assert source.opens >= 5  # 2 failed opens, a drop after 3 frames, then frozen-stream reconnects
    assert stats.reconnects >= 2 and stats.frames_read >= 4
    assert "frozen" in (stats.last_error or "")


@pytest.mark.parametrize(("codec", "nvdec", "parts"), [
    ("h264", True, ["rtspsrc location=\"rtsp://cam/1\" protocols=tcp latency=200", "rtph264depay",
                    "h264parse", "nvv4l2decoder", "nvvidconv", "appsink drop=true max-buffers=1 sync=false"]),
    ("h265", True, ["rtph265depay", "h265parse", "nvv4l2decoder"]),
    ("h264", False, ["rtph264depay", "avdec_h264 ! videoconvert", "format=BGR"]),
])
def test_gstreamer_pipeline_strings(codec: str, nvdec: bool, parts: list[str]) -> None:
    pipeline = build_rtsp_pipeline("rtsp://cam/1", codec=codec, latency_ms=200, nvdec=nvdec)
    for part in parts:
        assert part in pipeline
    assert ("nvv4l2decoder" in pipeline) is nvdec
    assert pipeline.index("depay") < pipeline.index("parse") < pipeline.index("appsink")
    with pytest.raises(ValueError):
        build_rtsp_pipeline("rtsp://x", codec="vp9")


def test_nvdec_falls_back_to_cpu_without_gstreamer(monkeypatch: pytest.MonkeyPatch) -> None:
    import alpr_edge.sources.video as video

    monkeypatch.setattr(video, "gstreamer_available", lambda: False)
    source = build_source(CameraSettings(id="c", source="rtsp://cam/1", decoder="nvdec"))
    assert source.use_gstreamer() is False


def test_redact_url() -> None:
    assert redact_url("rtsp://admin:pw@10.0.0.1:554/x") == "rtsp://***@10.0.0.1:554/x"
    assert redact_url("rtsp://10.0.0.1/x") == "rtsp://10.0.0.1/x"


def test_frame_buffer_drop_oldest_and_blocking() -> None:
    frame = [Frame("c", np.zeros((1, 1, 3), np.uint8), i, 0.0) for i in range(3)]
    latest = FrameBuffer(maxsize=1, drop_oldest=True)
    assert [latest.put(f) for f in frame] == [0, 1, 1]
    assert latest.get(timeout_s=0).frame_number == 2
    blocking = FrameBuffer(maxsize=1, drop_oldest=False)
    assert blocking.put(frame[0]) == 0
    assert blocking.put(frame[1], timeout_s=0.05) == 1  # timed out: caller retries
    blocking.close()
    assert blocking.get(timeout_s=0).frame_number == 0 and blocking.get(timeout_s=0) is None


def test_missing_usb_device_is_offline_and_retried() -> None:
    camera = start_camera(CameraSettings(id="usb", source="/dev/video99"), FAST)
    wait_until(lambda: camera.stats.snapshot().state == CameraState.OFFLINE, what="the camera to go offline")
    assert camera.is_alive()
    assert "/dev/video99" in (camera.stats.snapshot().last_error or "")
    drain(camera, timeout_s=0.1)
    assert not camera.is_alive()


def test_reconnect_backoff_is_exponential_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Down:
        live, fps = True, None

        def __init__(self) -> None:
            self.times: list[float] = []

        def open(self) -> None:
            self.times.append(time.monotonic())
            raise SourceError("connection refused")

        def read(self):
            return None

        def close(self) -> None:
            pass

    # The schedule is checked on the waits the camera asks for (exact), the measured gaps only from below:
    # a loaded machine may wake a thread late, never early.
    waits: list[float] = []
    real_wait = CameraThread._wait

    def recording_wait(self: CameraThread, seconds: float) -> None:
        if self.camera_id == "down":
            waits.append(seconds)
        real_wait(self, seconds)

    monkeypatch.setattr(CameraThread, "_wait", recording_wait)
    source = Down()
    settings = SourceSettings(reconnect_initial_backoff_s=0.05, reconnect_max_backoff_s=0.4)
    camera = start_camera(CameraSettings(id="down", source="rtsp://x"), settings, source=source)
    try:
        wait_until(lambda: len(source.times) >= 6, what="six open attempts")
    finally:
        camera.stop()
        camera.join(timeout=HANG_S)
    assert waits[:5] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.4])  # doubling, capped at 0.4
    gaps = [b - a for a, b in zip(source.times, source.times[1:], strict=False)]
    assert all(gap >= wait * 0.95 for gap, wait in zip(gaps[:5], waits, strict=False))
    assert camera.stats.snapshot().state == CameraState.STOPPED


class _SlowCapture:
    """A cv2.VideoCapture stand-in whose reads take ``delay_s`` (a stalled server hitting the read timeout)."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s

    def read(self) -> tuple[bool, np.ndarray]:
        time.sleep(self.delay_s)
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self) -> None:
        pass


def test_rtsp_read_that_hit_the_timeout_is_a_drop() -> None:
    """OpenCV hands out the decoder's stale delayed frames after a read timeout: treat it as a drop."""
    source = RtspSource("rtsp://x", read_timeout_s=0.5)  # far above a fast read even on a loaded machine
    source._cap = _SlowCapture(0.0)  # type: ignore[assignment]
    assert source.read() is not None
    source._cap = _SlowCapture(0.55)  # type: ignore[assignment]
    assert source.read() is None


def test_rtsp_forces_tcp_even_with_other_ffmpeg_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "stimeout;5000000")
    with pytest.raises(SourceError):
        RtspSource(f"rtsp://127.0.0.1:{free_port()}/x", decoder="cpu", open_timeout_s=1.0).open()
    assert os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] == "stimeout;5000000|rtsp_transport;tcp"
