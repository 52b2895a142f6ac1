"""ByteTrack on synthetic trajectories (table-driven)."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.config import TrackingSettings
from alpr_edge.trackers import ByteTracker, TrackState, build_tracker
from alpr_edge.trackers.matching import iou_matrix, linear_assignment
from alpr_edge.types import Detection


def det(cx: float, cy: float, w: float = 80, h: float = 60, score: float = 0.9) -> Detection:
    return Detection((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), score, 2, "car")


def run(tracker: ByteTracker, frames: list[list[Detection]]) -> list[dict[int, tuple[float, float]]]:
    """Feed frames (numbered from 1); per frame, {detection index: track id} of the matched tracks."""
    out = []
    for n, dets in enumerate(frames, start=1):
        result = tracker.update(dets, n)
        out.append({t.detection_index: t.track_id for t in result.tracks})
    return out


def test_iou_and_assignment() -> None:
    iou = iou_matrix([(0, 0, 10, 10)], [(0, 0, 10, 10), (5, 0, 15, 10), (20, 20, 30, 30)])
    assert iou[0, 0] == pytest.approx(1.0) and iou[0, 1] == pytest.approx(1 / 3) and iou[0, 2] == 0
    matches, rows, cols = linear_assignment(np.array([[0.1, 0.9], [0.2, 0.95]]), thresh=0.8)
    assert matches == [(0, 0)] and rows == [1] and cols == [1]


@pytest.mark.parametrize(("name", "speed_a", "speed_b", "dy"), [
    ("opposite directions, offset rows", 8.0, -8.0, 25.0),
    ("fast opposite", 15.0, -15.0, 30.0),
    ("one parked, one passing", 0.0, -10.0, 30.0),
])
def test_crossing_objects_keep_their_ids(name: str, speed_a: float, speed_b: float, dy: float) -> None:
    tracker = ByteTracker(TrackingSettings())
    start_b = 600.0 if speed_b else 300.0
    frames = [[det(100 + speed_a * k if speed_a else 300, 200), det(start_b + speed_b * k, 200 + dy, h=70)]
              for k in range(60)]
    ids = run(tracker, frames)
    assert ids[0] == {0: 1, 1: 2}, name
    for k, frame_ids in enumerate(ids):
        assert frame_ids.get(0, 1) == 1 and frame_ids.get(1, 2) == 2, f"{name}: swap at frame {k + 1}"
    assert sum(len(f) for f in ids) >= 2 * 60 - 4, name


@pytest.mark.parametrize(("name", "speed", "gap_frames"), [
    ("parked car hidden for 20 frames", 0.0, 20),
    ("slow car hidden for 20 frames", 2.0, 20),
    ("car hidden for 29 frames (inside the 30-frame buffer)", 1.0, 29),
])
def test_occluded_object_keeps_its_id(name: str, speed: float, gap_frames: int) -> None:
    tracker = ByteTracker(TrackingSettings(track_buffer=30))
    frames = [[det(300 + speed * k, 300)] for k in range(10)]
    frames += [[] for _ in range(gap_frames)]
    frames += [[det(300 + speed * k, 300)] for k in range(10 + gap_frames, 20 + gap_frames)]
    ids = run(tracker, frames)
    assert ids[0] == {0: 1}
    assert ids[-1] == {0: 1}, name
    after = tracker.update([det(300 + speed * (20 + gap_frames), 300)], len(frames) + 1)
    assert after.tracks[0].track_id == 1


@pytest.mark.parametrize(("track_buffer", "frame_rate"), [(30, 30.0), (10, 30.0), (30, 15.0)])
def test_track_removed_after_the_buffer(track_buffer: int, frame_rate: float) -> None:
    tracker = ByteTracker(TrackingSettings(track_buffer=track_buffer, frame_rate=frame_rate))
    buffer = tracker.max_time_lost
    for n in range(1, 6):
        tracker.update([det(300, 300)], n)
    removed_at = None
    for n in range(6, 6 + buffer + 5):
        result = tracker.update([], n)
        if result.lost:
            assert result.lost[0].state == TrackState.LOST
        if result.removed:
            removed_at = n
            assert result.removed[0].track_id == 1 and result.removed[0].state == TrackState.REMOVED
            break
    assert removed_at == 5 + buffer + 1
    assert tracker.update([det(300, 300)], 100).tracks == ()  # a new, unconfirmed track, not the old one


def test_low_score_boxes_continue_tracks_but_do_not_start_them() -> None:
    tracker = ByteTracker(TrackingSettings())
    ids = run(tracker, [[det(300, 300)], [det(300, 300, score=0.3)], [det(302, 300, score=0.3)],
                        [det(303, 300), det(800, 300, score=0.3)], [det(304, 300), det(800, 300, score=0.3)]])
    assert ids == [{0: 1}, {0: 1}, {0: 1}, {0: 1}, {0: 1}]


def test_new_track_confirmed_on_second_frame_and_ids_per_instance() -> None:
    cam_a, cam_b = build_tracker(camera_id="a"), build_tracker(camera_id="b")
    assert run(cam_a, [[det(100, 100)], [det(100, 100), det(500, 500)], [det(100, 100), det(500, 500)]]) == [
        {0: 1}, {0: 1}, {0: 1, 1: 2}]
    assert run(cam_b, [[det(500, 500)]]) == [{0: 1}]


def test_small_boxes_are_ignored() -> None:
    tracker = ByteTracker(TrackingSettings(min_box_area=100))
    assert tracker.update([det(50, 50, w=5, h=5)], 1).tracks == ()
