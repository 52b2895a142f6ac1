"""A tiny RTSP server for the tests: serves one H.264 MP4 in a loop on rtsp://127.0.0.1:PORT/PATH.

    /usr/bin/python3 tests/integration/rtsp_server.py VIDEO --port 8554 --path cam1

Runs with the system Python (PyGObject + GstRtspServer from Debian: python3-gi,
gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good/-bad); the project's venv has no ``gi``.
No re-encoding: ``qtdemux ! h264parse ! rtph264pay``. Each client gets its own pipeline (not shared),
which loops the file with non-flushing segment seeks, so timestamps keep increasing. TCP transport only.
Prints ``READY rtsp://...`` on stdout once it listens and ``SETUP transport=...`` per SETUP request;
stops on SIGTERM/SIGINT. ``--check`` only checks that gi and the GStreamer elements are there.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

SEGMENT_SEEK = Gst.SeekFlags.SEGMENT


def _restart(element: Gst.Element, flags: Gst.SeekFlags) -> bool:
    """Seek ``element`` (the payloader; the seek goes upstream to qtdemux) back to 0 as a segment seek."""
    element.seek_simple(Gst.Format.TIME, flags | SEGMENT_SEEK, 0)
    return False  # GLib: run once


def _on_event(pad: Gst.Pad, info: Gst.PadProbeInfo, pay: Gst.Element) -> Gst.PadProbeReturn:
    event = info.get_event()
    if event.type == Gst.EventType.SEGMENT_DONE:  # end of the file within a segment seek: loop
        GLib.idle_add(_restart, pay, Gst.SeekFlags.NONE)
    return Gst.PadProbeReturn.OK


def _on_media(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
    pay = media.get_element().get_by_name("pay0")
    pay.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, _on_event, pay)
    media.connect("prepared", lambda _m: GLib.idle_add(_restart, pay, Gst.SeekFlags.FLUSH))


def _on_setup(_client: GstRtspServer.RTSPClient, ctx: GstRtspServer.RTSPContext) -> None:
    _, transport = ctx.request.get_header(GstRtsp.RTSPHeaderField.TRANSPORT, 0)
    print(f"SETUP transport={transport}", flush=True)  # the tests check the client asked for TCP


def _on_client(_server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> None:
    client.connect("setup-request", _on_setup)


def missing_elements() -> list[str]:
    return [name for name in ("filesrc", "qtdemux", "h264parse", "rtph264pay")
            if Gst.ElementFactory.find(name) is None]


def build_server(video: str, port: int, path: str) -> GstRtspServer.RTSPServer:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f'( filesrc location="{video}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 '
                       "config-interval=1 )")
    factory.set_shared(False)
    factory.connect("media-configure", _on_media)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    server.get_mount_points().add_factory(f"/{path}", factory)
    server.connect("client-connected", _on_client)
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", help="an MP4 file with an H.264 video track")
    parser.add_argument("--check", action="store_true", help="only check the GStreamer elements; exit 0 when present")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="cam")
    args = parser.parse_args()
    Gst.init(None)
    if args.check or not args.video:
        missing = missing_elements()
        print(f"missing GStreamer elements: {' '.join(missing)}" if missing else "ok", flush=True)
        return 1 if missing or not args.check else 0
    server = build_server(args.video, args.port, args.path)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{args.port}/{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
