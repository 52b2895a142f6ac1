"""OpenCV-backed sources: video files, RTSP/HTTP streams (FFmpeg or GStreamer/NVDEC), USB devices."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np

from .base import SourceError, redact_url
from .gstreamer import build_rtsp_pipeline, gstreamer_available, is_jetson

logger = logging.getLogger(__name__)


class _CaptureSource:
    live = False

    def __init__(self) -> None:
        self._cap: cv2.VideoCapture | None = None
        self.fps: float | None = None

    def _open_capture(self, cap: cv2.VideoCapture, what: str) -> None:
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {what}")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else None
        self._cap = cap

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        return image if ok and image is not None else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource(_CaptureSource):
    """A video file; ``loop`` restarts it at the end."""

    def __init__(self, path: str, loop: bool = False):
        super().__init__()
        self.path, self.loop = path, loop

    def open(self) -> None:
        if not Path(self.path).is_file():
            raise SourceError(f"video file not found: {self.path}")
        self._open_capture(cv2.VideoCapture(self.path), f"video file {self.path} (unsupported or corrupt)")
        probe = super().read()
        if probe is None:
            self.close()
            raise SourceError(f"video file {self.path} has no readable frames (corrupt?)")
        assert self._cap is not None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def read(self) -> np.ndarray | None:
        image = super().read()
        if image is None and self.loop and self._cap is not None:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            image = super().read()
        return image


class RtspSource(_CaptureSource):
    """An RTSP (or HTTP) stream over TCP.

    ``decoder``: cpu (FFmpeg), nvdec (GStreamer nvv4l2decoder), auto (nvdec on a Jetson with GStreamer).
    Without GStreamer in OpenCV, nvdec falls back to FFmpeg CPU decoding with a warning.
    """

    live = True

    def __init__(self, url: str, decoder: str = "auto", codec: str = "h264", latency_ms: int = 200,
                 open_timeout_s: float = 10.0, read_timeout_s: float = 5.0):
        super().__init__()
        self.url, self.decoder, self.codec, self.latency_ms = url, decoder, codec, latency_ms
        self.open_timeout_s, self.read_timeout_s = open_timeout_s, read_timeout_s

    def use_gstreamer(self) -> bool:
        if self.decoder == "nvdec" and not gstreamer_available():
            logger.warning("stream=%s decoder=nvdec but OpenCV lacks GStreamer: FFmpeg CPU decoding",
                           redact_url(self.url))
            return False
        return self.decoder == "nvdec" or (self.decoder == "auto" and is_jetson() and gstreamer_available())

    def open(self) -> None:
        if self.use_gstreamer():
            pipeline = build_rtsp_pipeline(self.url, self.codec, self.latency_ms, nvdec=True)
            cap = cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)
            self._open_capture(cap, f"stream {redact_url(self.url)} (GStreamer)")
            return
        # FFmpeg reads this once per open: TCP transport (no UDP loss), also when other options are set.
        options = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS", "")
        if "rtsp_transport" not in options:
            os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "|".join(filter(None, [options, "rtsp_transport;tcp"]))
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)]
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._open_capture(cap, f"stream {redact_url(self.url)}")

    def read(self) -> np.ndarray | None:
        """A frame, or None on a drop. A read that hit the read timeout (stalled server) is a drop too:
        OpenCV would otherwise return the decoder's delayed, stale frames, one per timeout."""
        started = time.monotonic()
        image = super().read()
        waited = time.monotonic() - started
        if image is not None and waited >= self.read_timeout_s:
            logger.warning("stream=%s stalled: read took %.1f s (timeout %.1f s)",
                           redact_url(self.url), waited, self.read_timeout_s)
            return None
        return image


class UsbSource(_CaptureSource):
    """A V4L2 device: ``/dev/video0`` or an index such as ``0``."""

    live = True

    def __init__(self, device: str):
        super().__init__()
        self.device = device

    def open(self) -> None:
        target: int | str = int(self.device) if self.device.isdigit() else self.device
        if isinstance(target, str) and not Path(target).exists():
            raise SourceError(f"USB device not found: {target}")
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._open_capture(cap, f"USB device {self.device}")
