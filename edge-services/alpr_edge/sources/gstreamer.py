"""GStreamer pipeline strings for RTSP: NVDEC (nvv4l2decoder, Jetson) or CPU (avdec) decoding."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2

_DEPAY = {
    "h264": ("rtph264depay", "h264parse", "avdec_h264"),
    "h265": ("rtph265depay", "h265parse", "avdec_h265"),
}


def build_rtsp_pipeline(url: str, codec: str = "h264", latency_ms: int = 200, nvdec: bool = True) -> str:
    """An ``appsink`` pipeline for ``cv2.VideoCapture(..., cv2.CAP_GSTREAMER)`` delivering BGR frames.

    TCP transport, latest-frame appsink (drop=true max-buffers=1 sync=false).
    """
    try:
        depay, parse, cpu_decoder = _DEPAY[codec]
    except KeyError:
        raise ValueError(f"unsupported codec {codec!r}; known: {sorted(_DEPAY)}") from None
    source = f'rtspsrc location="{url}" protocols=tcp latency={latency_ms} drop-on-latency=true'
    if nvdec:
        decode = "nvv4l2decoder ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert"
    else:
        decode = f"{cpu_decoder} ! videoconvert"
    sink = "video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"
    return f"{source} ! {depay} ! {parse} ! {decode} ! {sink}"


@functools.cache
def gstreamer_available() -> bool:
    """True when this OpenCV build has the GStreamer backend."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line
    return False


def is_jetson() -> bool:
    return Path("/etc/nv_tegra_release").exists()
