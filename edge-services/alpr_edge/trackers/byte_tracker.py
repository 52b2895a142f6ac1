"""ByteTrack (Zhang et al., ECCV 2022): associate every detection box, high scores first, then low.

1. High-score boxes (>= track_thresh) match tracked and lost tracks by IoU (score-fused), Kalman-predicted.
2. Low-score boxes (low_thresh..track_thresh) match the remaining tracked tracks (occlusion, blur).
3. Unconfirmed tracks (seen once) match what is left of the high boxes, else they are removed.
4. Unmatched high boxes >= new_track_thresh start tracks; lost tracks older than the buffer are removed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..config import TrackingSettings
from ..types import Detection
from .base import Track, TrackerResult, TrackState
from .kalman import BoxKalman
from .matching import fuse_score, iou_distance, linear_assignment

logger = logging.getLogger(__name__)

DUPLICATE_IOU_DISTANCE = 0.15


class _STrack:
    def __init__(self, det: Detection, frame: int):
        self.kalman = BoxKalman(det.xyxy)
        self.track_id = 0
        self.state = TrackState.NEW
        self.activated = False
        self.start_frame = self.last_frame = frame
        self.hits = 1
        self.score, self.label, self.class_id = det.score, det.label, det.class_id
        self.det_index: int | None = None

    def update(self, det: Detection, index: int, frame: int) -> None:
        self.kalman.update(det.xyxy)
        self.score, self.label, self.class_id = det.score, det.label, det.class_id
        self.state, self.activated = TrackState.TRACKED, True
        self.last_frame, self.det_index = frame, index
        self.hits += 1

    def snapshot(self) -> Track:
        return Track(self.track_id, self.kalman.box, self.score, self.label, self.class_id, self.state,
                     self.start_frame, self.last_frame, self.hits, self.det_index)


class ByteTracker:
    """One instance per camera; track ids count from 1 per instance."""

    def __init__(self, settings: TrackingSettings | None = None, camera_id: str = ""):
        self.settings = settings or TrackingSettings()
        self.camera_id = camera_id
        self.max_time_lost = max(1, round(self.settings.frame_rate / 30.0 * self.settings.track_buffer))
        self._tracked: list[_STrack] = []
        self._lost: list[_STrack] = []
        self._next_id = 1
        self._updates = 0

    def update(self, detections: Sequence[Detection], frame_number: int) -> TrackerResult:
        s = self.settings
        self._updates += 1
        dets = [(i, d) for i, d in enumerate(detections)
                if _area(d) >= s.min_box_area and d.score > s.low_thresh]
        high = [(i, d) for i, d in dets if d.score >= s.track_thresh]
        low = [(i, d) for i, d in dets if d.score < s.track_thresh]
        for t in self._tracked + self._lost:
            t.det_index = None
            t.kalman.predict(freeze_height_velocity=t.state != TrackState.TRACKED)
        confirmed = [t for t in self._tracked if t.activated]
        unconfirmed = [t for t in self._tracked if not t.activated]
        pool = confirmed + self._lost
        left_tracks, high_left = self._associate(pool, high, s.match_thresh, s.fuse_score, frame_number)
        still_tracked = [t for t in left_tracks if t.state == TrackState.TRACKED]
        newly_lost, _ = self._associate(still_tracked, low, s.second_match_thresh, False, frame_number)
        for t in newly_lost:
            t.state = TrackState.LOST
        stale, high_left = self._associate(unconfirmed, high_left, s.unconfirmed_match_thresh, s.fuse_score,
                                           frame_number)
        removed = stale
        for t in stale:
            t.state = TrackState.REMOVED
        started = self._start_tracks(high_left, frame_number)
        removed += self._expire(frame_number)
        self._rebuild_lists(pool + unconfirmed + started)
        return TrackerResult(
            tracks=tuple(t.snapshot() for t in self._tracked if t.activated and t.last_frame == frame_number),
            lost=tuple(t.snapshot() for t in self._lost),
            removed=tuple(t.snapshot() for t in removed if t.activated))

    def _associate(self, tracks: list[_STrack], dets: list[tuple[int, Detection]], thresh: float, fuse: bool,
                   frame: int) -> tuple[list[_STrack], list[tuple[int, Detection]]]:
        """Match ``tracks`` to ``dets``; update the matched; return unmatched tracks and detections."""
        cost = iou_distance([t.kalman.box for t in tracks], [d.xyxy for _, d in dets])
        if fuse:
            cost = fuse_score(cost, [d.score for _, d in dets])
        matches, left_t, left_d = linear_assignment(cost, thresh)
        for ti, di in matches:
            index, det = dets[di]
            tracks[ti].update(det, index, frame)
        return [tracks[i] for i in left_t], [dets[i] for i in left_d]

    def _start_tracks(self, dets: list[tuple[int, Detection]], frame: int) -> list[_STrack]:
        started = []
        for index, det in dets:
            if det.score < self.settings.new_track_thresh:
                continue
            track = _STrack(det, frame)
            track.track_id, self._next_id = self._next_id, self._next_id + 1
            track.det_index = index
            if self._updates == 1:  # tracks of the very first frame are confirmed at once (ByteTrack)
                track.activated = True
                track.state = TrackState.TRACKED
            started.append(track)
            logger.debug("camera=%s track=%s started frame=%s", self.camera_id, track.track_id, frame)
        return started

    def _expire(self, frame: int) -> list[_STrack]:
        expired = []
        for t in self._lost:
            if t.state == TrackState.LOST and frame - t.last_frame > self.max_time_lost:
                t.state = TrackState.REMOVED
                expired.append(t)
                logger.debug("camera=%s track=%s removed after %s lost frames", self.camera_id, t.track_id,
                             frame - t.last_frame)
        return expired

    def _rebuild_lists(self, candidates: list[_STrack]) -> None:
        tracked = [t for t in candidates if t.state in (TrackState.TRACKED, TrackState.NEW)]
        lost = [t for t in candidates if t.state == TrackState.LOST]
        tracked, lost = _remove_duplicates(tracked, lost)
        self._tracked, self._lost = tracked, lost


def _remove_duplicates(tracked: list[_STrack], lost: list[_STrack]) -> tuple[list[_STrack], list[_STrack]]:
    """A lost track overlapping a tracked one almost exactly is the same object: keep the older one."""
    if not tracked or not lost:
        return tracked, lost
    dist = iou_distance([t.kalman.box for t in tracked], [t.kalman.box for t in lost])
    drop_t, drop_l = set(), set()
    for i, j in zip(*(dist < DUPLICATE_IOU_DISTANCE).nonzero(), strict=True):
        age_t = tracked[i].last_frame - tracked[i].start_frame
        age_l = lost[j].last_frame - lost[j].start_frame
        if age_t > age_l:
            drop_l.add(j)
        else:
            drop_t.add(i)
    return ([t for i, t in enumerate(tracked) if i not in drop_t],
            [t for j, t in enumerate(lost) if j not in drop_l])


def _area(det: Detection) -> float:
    x1, y1, x2, y2 = det.xyxy
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)
