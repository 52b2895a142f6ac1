"""Camera ingestion: one thread per source (video file, RTSP, USB device, image folder).

    camera = start_camera(camera_settings, source_settings)   # CameraThread, already running
    frame = camera.buffer.get(timeout_s=1.0)                  # Frame or None
    camera.stats.snapshot()                                   # fps in, drops, reconnects, state
    camera.stop(); camera.join()

Source types live in :data:`SOURCE_TYPES`; ``kind: auto`` picks one from the source string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..config import CameraSettings
from ..pipeline_config import SourceSettings
from .base import CameraState, CameraStats, CameraStatsSnapshot, FrameSource, SourceError, redact_url
from .buffer import FrameBuffer
from .camera import CameraThread
from .gstreamer import build_rtsp_pipeline, gstreamer_available
from .images import ImageFolderSource
from .video import RtspSource, UsbSource, VideoFileSource

SourceFactory = Callable[[CameraSettings, SourceSettings], FrameSource]

SOURCE_TYPES: dict[str, SourceFactory] = {
    "file": lambda cam, s: VideoFileSource(cam.source, loop=cam.loop),
    "rtsp": lambda cam, s: RtspSource(
        cam.source, decoder=cam.decoder, codec=cam.codec, latency_ms=cam.latency_ms,
        open_timeout_s=s.open_timeout_s, read_timeout_s=s.read_timeout_s),
    "usb": lambda cam, s: UsbSource(cam.source),
    "images": lambda cam, s: ImageFolderSource(
        cam.source, loop=cam.loop, fps=cam.max_fps or s.image_folder_fps),
}

_NETWORK = re.compile(r"^(rtsps?|rtmp|https?)://", re.IGNORECASE)
_USB = re.compile(r"^(/dev/video\d+|\d+)$")


def guess_kind(source: str) -> str:
    if _NETWORK.match(source):
        return "rtsp"
    if _USB.match(source):
        return "usb"
    if Path(source).is_dir():
        return "images"
    return "file"


def build_source(camera: CameraSettings, settings: SourceSettings | None = None) -> FrameSource:
    kind = guess_kind(camera.source) if camera.kind == "auto" else camera.kind
    return SOURCE_TYPES[kind](camera, settings or SourceSettings())


def start_camera(camera: CameraSettings, settings: SourceSettings | None = None,
                 source: FrameSource | None = None) -> CameraThread:
    """Build the source and buffer for ``camera`` and start its thread (never raises for a bad source)."""
    settings = settings or SourceSettings()
    source = source or build_source(camera, settings)
    blocking = settings.as_fast_as_possible and not source.live
    buffer = FrameBuffer(maxsize=1 if source.live else settings.frame_queue_size, drop_oldest=not blocking)
    thread = CameraThread(camera.id, source, buffer, settings, max_fps=camera.max_fps)
    thread.start()
    return thread


__all__ = [
    "SOURCE_TYPES", "CameraState", "CameraStats", "CameraStatsSnapshot", "CameraThread", "FrameBuffer",
    "FrameSource", "ImageFolderSource", "RtspSource", "SourceError", "UsbSource", "VideoFileSource",
    "build_rtsp_pipeline", "build_source", "gstreamer_available", "guess_kind", "redact_url", "start_camera",
]
