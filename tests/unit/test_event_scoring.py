"""Passage-level scoring of video events (alpr_edge.evaluation): labels CSV, scoring rules, event capture."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from alpr_edge.config import CameraSettings, EdgeConfig
from alpr_edge.evaluation import (
    DUPLICATE,
    MISSED,
    NOT_REQUIRED,
    READ,
    READ_ANYWAY,
    WRONG_PLATE,
    EventCapture,
    FinishedEvent,
    LabelError,
    Passage,
    load_passages,
    offline_delivery_config,
    score,
    segment_cuts,
    table_lines,
)
from alpr_edge.events import ACCEPTED, DEDUPLICATED, ProcessResult
from alpr_edge.pipeline_runner import EdgeRunner
from alpr_edge.publishing import build_sink
from alpr_edge.types import PlateCandidate, PlateRead
from tests.unit.test_pipeline import fake_models, write_video

HEADER = ["vehicle_id", "first_frame", "last_frame", "type", "readable", "plate_printed", "plate_normalized",
          "best_frame", "notes"]
# Two clips spliced at 152/153, as in the sample video's labels.
ROWS = [
    ["V01", "0", "119", "car", "yes", "34A-368.37", "34A36837", "30", "lane=ego; segment=A; leaves at 119"],
    ["V02", "0", "152", "car", "yes", "34A-231.26", "34A23126", "127", "lane=ego; segment=A; cut by the splice"],
    ["V03", "0", "59", "truck", "no", "", "", "24",
     "segment=A; likely 34C-123.23 (alt_text=34C12323); trailer paint (frames 50-52, alt_text=34R01357; x)"],
    ["V08", "153", "297", "truck", "yes", "15C-171.74", "15C17174", "236", "lane=left_adjacent; segment=B"],
    ["V10", "153", "178", "motorcycle", "no", "", "", "165", "segment=B; no front plate"],
]


def write_labels(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def passages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Passage, ...]:
    return load_passages(write_labels(tmp_path_factory.mktemp("labels") / "gt.csv", ROWS))


def ev(plate: str, first: int, last: int, track: int = 1) -> FinishedEvent:
    return FinishedEvent(track_id=track, plate=plate, first_frame=first, last_frame=last)


V01, V02, V08 = ev("34A36837", 0, 116, 1), ev("34A23126", 82, 152, 4), ev("15C17174", 160, 240, 7)

# (case, events, expected status per vehicle, read, false events, substring of the first false reason)
CASES = [
    ("all read once", [V01, V02, V08], {"V01": READ, "V02": READ, "V08": READ, "V03": NOT_REQUIRED}, 3, 0, None),
    ("missed passage", [V01, V02], {"V08": MISSED}, 2, 0, None),
    ("duplicate: two events for one passage", [V01, V02, V08, ev("15C17174", 250, 290, 9)],
     {"V08": DUPLICATE}, 2, 0, None),
    ("false event: a plate no vehicle in its frames has", [V01, V02, V08, ev("51F99999", 160, 170, 9)],
     {"V08": READ}, 3, 1, "no plate of the vehicles in its frames (V08, V10)"),
    ("false event outside every passage", [V01, V02, V08, ev("34A36837", 300, 338, 9)], {}, 3, 1,
     "outside the frames"),
    ("wrong plate", [V01, ev("34A23128", 82, 152, 4), V08], {"V02": WRONG_PLATE}, 2, 1,
     "wrong plate for V02 (34A23126)"),
    ("wrong plate beside a correct read", [V01, V02, V08, ev("15C17114", 200, 230, 9)],
     {"V08": READ}, 3, 1, "wrong plate for V08"),
    ("splice: a track across 152/153 never counts", [V01, ev("34A23126", 120, 160, 4), V08],
     {"V02": MISSED}, 2, 1, "crosses the cut at frame 153"),
    ("splice: right plate, track starts in the next clip", [V01, V02, ev("15C17174", 150, 200, 7)],
     {"V08": MISSED}, 2, 1, "crosses the cut at frame 153"),
    ("alt_text of an unreadable vehicle: neither required nor false", [V01, V02, V08, ev("34R01357", 40, 55, 3)],
     {"V03": READ_ANYWAY}, 3, 0, None),
    ("garbage read of an unreadable vehicle is false", [V01, V02, V08, ev("KK111", 30, 55, 3)],
     {"V03": NOT_REQUIRED}, 3, 1, "no plate of the vehicles"),
    ("slack: two frames past the end still count", [ev("34A36837", 0, 121, 1), V02, V08], {"V01": READ}, 3, 0, None),
    ("slack: three frames past the end do not", [ev("34A36837", 0, 122, 1), V02, V08], {"V01": MISSED}, 2, 1,
     "no plate of the vehicles"),
    ("slack never reaches across the cut", [V01, V02, V08, ev("34A23126", 153, 154, 8)], {"V02": READ}, 3, 1,
     "no plate of the vehicles in its frames (V08, V10)"),
]


@pytest.mark.parametrize(("events", "statuses", "read", "false", "reason"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_score(passages: tuple[Passage, ...], events: list[FinishedEvent], statuses: dict[str, str], read: int,
               false: int, reason: str | None) -> None:
    result = score(events, passages)
    by_id = {r.passage.vehicle_id: r.status for r in result.passages}
    assert {k: by_id[k] for k in statuses} == statuses
    assert (result.readable, result.read, len(result.false_events)) == (3, read, false)
    assert result.recall == pytest.approx(read / 3)
    if reason is not None:
        assert reason in result.false_events[0].reason
    assert result.summary() == f"passages=3 read={read} recall={read / 3:.3f} false_events={false}"


def test_table_lists_every_passage_and_false_event(passages: tuple[Passage, ...]) -> None:
    result = score([V01, ev("34A23126", 120, 160, 4), ev("34A23128", 90, 140, 5)], passages)
    lines = table_lines(result)
    assert len(lines) == 1 + len(passages) + 1 + 2  # header, passages, cuts, two false events
    v02 = next(line for line in lines if line.startswith("V02"))
    assert WRONG_PLATE in v02 and "WRONG track 5 34A23128 frames 90-140" in v02
    assert any("crosses the cut at frame 153" in line for line in lines)


def test_explicit_cuts_replace_the_segments(passages: tuple[Passage, ...]) -> None:
    across = ev("34A23126", 120, 160, 4)
    assert score([across], passages).false_events
    assert "outside the frames" in score([across], passages, cuts=[200]).false_events[0].reason
    assert score([ev("34A23126", 100, 150, 4)], passages, cuts=[120]).false_events  # a cut inside V02


def test_labels_parse_segments_alt_texts_and_cuts(passages: tuple[Passage, ...]) -> None:
    v03 = next(p for p in passages if p.vehicle_id == "V03")
    assert (v03.readable, v03.plate, v03.segment) == (False, "", "A")
    assert v03.alt_texts == ("34C12323", "34R01357")
    assert passages[0].accepted_texts == frozenset({"34A36837"}) and passages[0].best_frame == 30
    assert segment_cuts(passages) == (153,)
    assert segment_cuts([replace(p, segment=None) for p in passages]) == ()


def _row(**changes: str) -> list[str]:
    row = dict(zip(HEADER, ROWS[0], strict=True))
    row.update(changes)
    return [row[c] for c in HEADER]


BAD = [
    ("missing column", None, HEADER[:-1], "missing column(s) notes"),
    ("frame not an integer", [_row(first_frame="ten")], HEADER, ":2: column first_frame: 'ten' is not a frame"),
    ("negative frame", [_row(last_frame="-3")], HEADER, "column last_frame: '-3'"),
    ("last before first", [_row(first_frame="50", last_frame="40")], HEADER, "last_frame 40 is before first_frame 50"),
    ("best frame outside", [_row(best_frame="130")], HEADER, "best_frame 130 is outside 0-119"),
    ("readable not yes/no", [_row(readable="maybe")], HEADER, "column readable: 'maybe' is not yes or no"),
    ("readable without plate", [_row(plate_printed="", plate_normalized="")], HEADER, "readable=yes needs"),
    ("plate not normalised", [_row(plate_normalized="34A-368.37")], HEADER, "is not normalised"),
    ("printed and normalised disagree", [_row(plate_printed="34A-368.38")], HEADER, "normalises to '34A36838'"),
    ("unreadable with a plate", [_row(readable="no")], HEADER, "readable=no with plate '34A36837'"),
    ("empty vehicle id", [_row(vehicle_id="")], HEADER, "column vehicle_id: empty"),
    ("duplicate vehicle id", [ROWS[0], ROWS[0]], HEADER, "vehicle_id V01 appears twice"),
    ("too many cells", [[*ROWS[0], "extra"]], HEADER, ":2: expected 9 columns"),
    ("too few cells", [ROWS[0][:5]], HEADER, ":2: expected 9 columns"),
    ("header only", [], HEADER, "no passages"),
    ("overlapping segments", [ROWS[0], _row(vehicle_id="V09", first_frame="100", last_frame="200", best_frame="",
                                            notes="segment=B")], HEADER, "segment B starts at frame 100, inside"),
]


@pytest.mark.parametrize(("rows", "header", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_labels_give_a_clear_error(tmp_path: Path, rows: list[list[str]] | None, header: list[str],
                                       message: str) -> None:
    path = write_labels(tmp_path / "bad.csv", rows if rows is not None else [ROWS[0][:-1]], header)
    with pytest.raises(LabelError) as info:
        load_passages(path)
    assert message in str(info.value) and str(path) in str(info.value)


def plate_read(text: str, track: int, first: int, last: int, at_s: float) -> PlateRead:
    return PlateRead(camera_id="cam", track_id=track, text=text, confidence=0.95, char_confidences=(0.95,) * 8,
                     candidates=(PlateCandidate(text, 0.95),), plate_bbox=(1.0, 2.0, 60.0, 20.0),
                     first_seen_s=at_s - 1, last_seen_s=at_s, frame_number=last, read_count=3, quality_score=0.8,
                     first_frame=first, last_frame=last)


class Recording:
    """A processing sink answering from a list (the DeliverySink's publish contract)."""

    def __init__(self, results: list[ProcessResult]):
        self.results, self.closed = results, False

    def publish(self, read: PlateRead) -> ProcessResult:
        return self.results.pop(0)

    def close(self) -> None:
        self.closed = True


def test_capture_keeps_accepted_events_with_zero_based_frames() -> None:
    record = {"event_id": "e-1", "track_id": 4, "plate": {"normalized_text": "34A23126", "confidence": 0.9},
              "extras": {"frame_number": 128}}
    inner = Recording([ProcessResult(ACCEPTED, None, record), ProcessResult(DEDUPLICATED, "e-1")])
    capture = EventCapture(inner)
    capture.publish(plate_read("34A-231.26", 4, 83, 153, 10.0))
    capture.publish(plate_read("34A-231.26", 5, 160, 170, 11.0))
    capture.close()
    assert capture.events == (FinishedEvent(4, "34A23126", 82, 152, 127, 0.9, "e-1"),)
    assert capture.outcomes == {"accepted": 1, "deduplicated": 1} and inner.closed


def test_capture_through_the_real_delivery_sink_dedups_like_pilot(tmp_path: Path) -> None:
    cfg = offline_delivery_config(EdgeConfig(), tmp_path)
    assert cfg.outbox.path.parent == tmp_path and not cfg.publisher.enabled and not cfg.images.enabled
    capture = EventCapture(build_sink(cfg, serve_metrics=False))
    try:
        capture.publish(plate_read("34A23126", 4, 83, 153, 10.0))
        capture.publish(plate_read("34A23I26", 5, 154, 170, 12.0))  # a second track, one confusable apart
        capture.publish(plate_read("15C17174", 7, 160, 241, 13.0))
    finally:
        capture.close()
    assert [(e.track_id, e.plate, e.first_frame, e.last_frame) for e in capture.events] == [
        (4, "34A23126", 82, 152), (7, "15C17174", 159, 240)]
    assert capture.outcomes["deduplicated"] == 1


def test_runner_events_through_the_capture_carry_zero_based_track_frames(tmp_path: Path) -> None:
    """The benchmark's path end to end with fake models: a car on the first 15 frames is one event 0-14."""
    video = CameraSettings(id="v", source=write_video(tmp_path / "v.avi", 40))
    cfg = offline_delivery_config(EdgeConfig(cameras=[video]), tmp_path)
    cfg.sources.as_fast_as_possible = True
    cfg.pipeline.plate_detect_interval_frames = 1
    capture = EventCapture(build_sink(cfg, serve_metrics=False))
    try:
        EdgeRunner(cfg, fake_models(frames_with_car=15), capture).run()
    finally:
        capture.close()
    (event,) = capture.events
    assert (event.plate, event.first_frame) == ("ABC1234", 0) and 0 < event.last_frame <= 14
    assert score(capture.events, [Passage("P1", 0, 14, "car", True, "ABC1234")]).read == 1
    assert score(capture.events, [Passage("P1", 3, 14, "car", True, "ABC1234")]).read == 0  # 1-based would pass
