"""Event processor: checks, normalisation, region formats, fuzzy dedup, enrichment (table-driven)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from alpr_common.serde import RecordSerde
from alpr_common.settings import NodeSettings
from alpr_edge.events import (
    ACCEPTED,
    DEDUPLICATED,
    REJECTED,
    Deduplicator,
    EventProcessor,
    EventSettings,
    normalise,
)
from alpr_edge.types import PlateCandidate, PlateRead

NOW = 1_795_000_000.0


def read(text: str = "ABC1234", camera: str = "cam-01", track: int = 1, conf: float = 0.93,
         at: float = NOW, **kw) -> PlateRead:
    base = PlateRead(camera_id=camera, track_id=track, text=text, confidence=conf,
                     char_confidences=(0.9,) * len(text or ""), candidates=(PlateCandidate(text, conf),),
                     plate_bbox=(1.0, 2.0, 30.0, 12.0), first_seen_s=at - 2, last_seen_s=at, frame_number=42,
                     read_count=3, quality_score=0.8, vehicle_type="car")
    return replace(base, **kw)


class Formats:
    """A FormatMatcher of two layouts (the interface alpr_edge.plates.FormatPrior implements)."""

    def region_of(self, text: str) -> str | None:
        if len(text) == 7 and text[:3].isalpha() and text[3:].isdigit():
            return "us-tx"
        if len(text) == 7 and text[0].isdigit() and text[1:4].isalpha() and text[4:].isdigit():
            return "us-ca"
        return None


def processor(**settings) -> EventProcessor:
    node = NodeSettings(site="site-a", host="edge-1")
    return EventProcessor(EventSettings(**settings), node, Formats(), clock=lambda: NOW + 0.25)


def test_seed_defaults() -> None:
    s = EventSettings()
    assert s.min_confidence == 0.70
    assert (s.dedup_similarity_threshold, s.dedup_time_window_seconds) == (0.85, 300.0)


@pytest.mark.parametrize(("raw", "expected"), [
    ("abc 123", "ABC123"), ("AB-C.12/3", "ABC123"), ("ab·c123", "ABC123"), ("  7xyz-001 ", "7XYZ001"),
    ("--", ""),
])
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"text": ""}, "empty_text"),
    ({"text": "   "}, "empty_text"),
    ({"text": "--.."}, "empty_text"),
    ({"text": "X" * 500}, "oversize_text"),
    ({"text": "ABCDEFGHIJK1"}, "too_long"),
    ({"text": "A1"}, "too_short"),
    ({"confidence": math.nan}, "invalid_confidence"),
    ({"confidence": math.inf}, "invalid_confidence"),
    ({"confidence": 1.5}, "invalid_confidence"),
    ({"confidence": 0.69}, "low_confidence"),
    ({"camera_id": ""}, "missing_camera"),
    ({"last_seen_s": math.nan}, "invalid_timestamp"),
    ({"plate_bbox": (1.0, math.nan, 3.0, 4.0)}, "invalid_bbox"),
    ({"text": None}, "empty_text"),
    ({"char_confidences": None}, "malformed"),
])
def test_malformed_reads_are_rejected_with_a_counted_reason(overrides: dict, reason: str) -> None:
    proc = processor()
    result = proc.process(read(**overrides))
    assert (result.outcome, result.reason, result.record) == (REJECTED, reason, None)
    assert proc.counts[f"rejected:{reason}"] == 1


def test_accepted_record_is_enriched_and_fits_the_schema() -> None:
    result = processor().process(read("abc-1234", track=9, direction="in"))
    assert result.outcome == ACCEPTED and result.record is not None
    rec = result.record
    RecordSerde("plate_event", use_avro=False).validate(rec)
    assert rec["plate"]["normalized_text"] == "ABC1234" and rec["plate"]["text"] == "abc-1234"
    assert (rec["plate"]["region"], rec["plate"]["matches_format"]) == ("us-tx", True)
    assert rec["camera_id"] == "cam-01" and rec["track_id"] == 9
    assert rec["node"] == {"site": "site-a", "host": "edge-1"}
    assert rec["latency_ms"] == 250
    assert rec["captured_at"].timestamp() == NOW - 2
    assert rec["extras"] == {"roi": None, "direction": "in", "quality_score": 0.8, "frame_number": 42,
                             "read_count": 3}
    assert rec["vehicle"]["type"] == "car"


@pytest.mark.parametrize(("reject", "outcome", "matches"), [(False, ACCEPTED, False), (True, REJECTED, None)])
def test_format_mismatch_kept_unless_configured(reject: bool, outcome: str, matches: bool | None) -> None:
    result = processor(reject_format_mismatch=reject).process(read("12AB"))
    assert result.outcome == outcome
    if matches is not None:
        assert result.record is not None and result.record["plate"]["matches_format"] is matches
        assert result.record["plate"]["region"] == "unknown"  # formats known, none fits
    else:
        assert result.reason == "format_mismatch"


@pytest.mark.parametrize(("first", "second", "camera2", "dt_s", "outcome"), [
    ("ABC1234", "ABC1234", "cam-01", 10, DEDUPLICATED),    # same plate again
    ("ABC1234", "ABC1235", "cam-01", 10, DEDUPLICATED),    # one char off in 7: 0.857 >= 0.85
    ("ABC1234", "A8C1234", "cam-01", 10, DEDUPLICATED),    # confusable B/8
    ("ABC1234", "A8C1235", "cam-01", 10, DEDUPLICATED),    # confusable + one edit
    ("ABC1234", "ABC1299", "cam-01", 10, ACCEPTED),        # two edits: 0.71
    ("ABC1234", "ABC1234", "cam-02", 10, ACCEPTED),        # another camera
    ("ABC1234", "ABC1234", "cam-01", 301, ACCEPTED),       # outside the 300 s window
    ("ABC123", "ABC124", "cam-01", 10, ACCEPTED),          # one edit in 6: 0.83 < 0.85
])
def test_fuzzy_dedup(first: str, second: str, camera2: str, dt_s: float, outcome: str) -> None:
    proc = processor()
    assert proc.process(read(first, track=1)).outcome == ACCEPTED
    assert proc.process(read(second, camera=camera2, track=2, at=NOW + dt_s)).outcome == outcome


def test_final_read_after_a_preview_is_not_a_duplicate() -> None:
    proc = processor()
    assert proc.process(read("ABC1234", track=5, preview=True)).outcome == ACCEPTED
    assert proc.process(read("ABC1234", track=5, at=NOW + 3)).outcome == ACCEPTED
    assert proc.process(read("ABC1234", track=6, at=NOW + 4)).outcome == DEDUPLICATED


@pytest.mark.parametrize("threshold", [0.85, 0.6])  # deletion index, full scan
def test_dedup_memory_is_bounded_and_expires(threshold: float) -> None:
    dedup = Deduplicator(threshold=threshold, window_s=300, max_entries_per_camera=50, max_cameras=3)
    for i in range(500):
        dedup.check(f"cam-{i % 5}", f"Q{i:07d}"[::-1], NOW + i * 0.001, i, f"e{i}")
    assert dedup.size() <= 3 * 50
    assert dedup.check("cam-x", "ZZZ999", NOW, 1, "a") is None
    assert dedup.check("cam-x", "ZZZ999", NOW + 299, 2, "b") is not None
    assert dedup.check("cam-x", "ZZZ999", NOW + 900, 3, "c") is None  # expired


def test_event_ids_are_rfc4122_version4_and_unique() -> None:
    import uuid

    from alpr_edge.events.processor import EventIds

    ids = EventIds()
    out = [ids() for _ in range(3000)]  # crosses several 4 KiB refills
    assert len(set(out)) == len(out)
    for s in out:
        u = uuid.UUID(s)
        assert (u.version, u.variant) == (4, uuid.RFC_4122) and str(u) == s
    assert {s[19] for s in out} == set("89ab")  # all four variant nibbles occur
    assert {s[14] for s in out} == {"4"} and len({s[15] for s in out}) == 16  # version, then random


def test_event_ids_differ_between_a_forked_child_and_its_parent() -> None:
    import os

    from alpr_edge.events.processor import EventIds

    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    ids = EventIds()
    ids()  # the buffer is filled before the fork
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next ids and leave at once
        os.close(rfd)
        os.write(wfd, " ".join(ids() for _ in range(4)).encode())
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        child = set(r.read().split())
    os.waitpid(pid, 0)
    parent = {ids() for _ in range(4)}
    assert len(child) == 4 and not child & parent
