"""Per-track plate reading for one camera: which tracks get the plate detector, which shots get OCR,
and when a track's read is final (stable vote, or the track ended).

    reader = TrackReader(camera_id, plate_detector, ocr, settings, prior, worker=ReadWorker())
    finished = reader.update(frame, tracker_result)   # list[PlateRead] ready to publish
    finished += reader.flush()                        # end of stream: wait for the worker, finish all

Plate detection on the vehicle crop and OCR of a better shot run as one task on the worker (or inline
without one), so the camera's thread only detects and tracks vehicles. The track's vote goes through the
same format prior as each read (:class:`alpr_edge.plates.FormatPrior`): it only breaks near-ties between
the reads and labels the region (``unknown`` when no pack fits).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import cv2
import numpy as np

from ..detectors.base import Detector
from ..pipeline_config import PipelineSettings
from ..plates import UNKNOWN, FormatPrior, box_aspect, slots_from_scores
from ..trackers.base import Track, TrackerResult
from ..types import BBox, Detection, Frame, OcrResult, PlateCandidate, PlateRead
from .quality import shot_quality
from .timings import StageTimings
from .track_state import TrackReading, direction_of
from .voting import VoteResult, vote
from .worker import PlateOcr, ReadWorker

logger = logging.getLogger(__name__)

ENDED_TRACK_GRACE_S = 5.0  # how long an ended track waits for its pending reading tasks
MAX_CANDIDATES = 10
SMALL_PLATE_WAIT_INTERVALS = 4  # a small plate on an approaching track: next look within 4 intervals


class TrackReader:
    def __init__(self, camera_id: str, plate_detector: Detector | None, ocr: PlateOcr | None,
                 settings: PipelineSettings | None = None, prior: FormatPrior | None = None,
                 worker: ReadWorker | None = None, timings: StageTimings | None = None):
        self.camera_id = camera_id
        self.plates, self.ocr, self.worker = plate_detector, ocr, worker
        self.settings = settings or PipelineSettings()
        self.prior = prior or FormatPrior()
        self.timings = timings if timings is not None else StageTimings()
        self._tracks: dict[int, TrackReading] = {}
        self.plate_detections = self.ocr_calls = self.tasks_dropped = 0

    def update(self, frame: Frame, result: TrackerResult) -> list[PlateRead]:
        for track in result.tracks:
            self._touch(track, frame)
        picked = self._pick_for_plates(result.tracks, frame) if self.plates is not None else []
        if self.settings.plate_on_vehicle_crops:
            for track in picked:
                self._queue_crop(track, frame)
        elif picked:
            self._look_for_plates_in_frame(picked, frame)
        for track in result.removed:
            if track.track_id in self._tracks:
                self._tracks[track.track_id].ended_at_s = time.monotonic()
        return self._collect(frame_done=False)

    def flush(self, timeout_s: float = 30.0) -> list[PlateRead]:
        """End of stream: wait for this camera's reading tasks, then finish every track."""
        deadline = time.monotonic() + timeout_s
        while any(t.jobs_pending for t in self._tracks.values()) and time.monotonic() < deadline:
            time.sleep(0.002)
        for reading in self._tracks.values():
            reading.ended_at_s = reading.ended_at_s or time.monotonic()
        return self._collect(frame_done=True)

    @property
    def active_tracks(self) -> int:
        return len(self._tracks)

    def _touch(self, track: Track, frame: Frame) -> None:
        reading = self._tracks.get(track.track_id)
        if reading is None:
            reading = self._tracks[track.track_id] = TrackReading(track.track_id, frame.timestamp_s,
                                                                  frame.frame_number)
        reading.last_seen_s, reading.last_frame = frame.timestamp_s, frame.frame_number
        reading.vehicle_bbox = track.xyxy
        reading.heights.append((frame.frame_number, track.xyxy[3] - track.xyxy[1]))
        reading.first_vehicle_bbox = reading.first_vehicle_bbox or track.xyxy
        reading.label_counts[track.label] = reading.label_counts.get(track.label, 0) + 1
        reading.vehicle_label = max(reading.label_counts, key=reading.label_counts.__getitem__)

    def _pick_for_plates(self, tracks: Sequence[Track], frame: Frame) -> list[Track]:
        s = self.settings
        wanted = []
        for track in tracks:
            reading = self._tracks[track.track_id]
            if (reading.emitted or reading.jobs_pending or reading.ocr_calls >= s.max_reads_per_track
                    or frame.frame_number < reading.next_plate_frame
                    or vehicle_size(track.xyxy, frame.image.shape[1]) < s.min_vehicle_width_px):
                continue
            wanted.append((reading.last_plate_frame, track))
        wanted.sort(key=lambda pair: pair[0])  # waiting longest first
        return [track for _, track in wanted[: s.max_plate_detections_per_frame]]

    def _queue_crop(self, track: Track, frame: Frame) -> None:
        reading = self._tracks[track.track_id]
        crop, origin = crop_region(frame.image, track.xyxy, self.settings.vehicle_crop_margin)
        if crop.size:
            self._run(reading, frame.frame_number, crop.copy(), origin, None, self._min_plate_width(reading, frame))

    def _look_for_plates_in_frame(self, tracks: Sequence[Track], frame: Frame) -> None:
        """Plate detector once on the whole frame; each track takes the best plate centred in its box."""
        plates = self._detect_plates(frame.image)
        for track in tracks:
            x1, y1, x2, y2 = track.xyxy
            inside = [p for p in plates if x1 <= (p.xyxy[0] + p.xyxy[2]) / 2 <= x2
                      and y1 <= (p.xyxy[1] + p.xyxy[3]) / 2 <= y2]
            crop, (ox, oy) = crop_region(frame.image, track.xyxy, self.settings.vehicle_crop_margin)
            min_width = self._min_plate_width(self._tracks[track.track_id], frame)
            plate = best_plate(inside, self.settings.min_plate_score, min_width)
            if plate is None or not crop.size:
                self._schedule(self._tracks[track.track_id], frame.frame_number, found=False)
                continue
            px1, py1, px2, py2 = plate.xyxy
            local = Detection((px1 - ox, py1 - oy, px2 - ox, py2 - oy), plate.score, plate.class_id,
                              plate.label)
            self._run(self._tracks[track.track_id], frame.frame_number, crop.copy(), (ox, oy), local, min_width)

    def _min_plate_width(self, reading: TrackReading, frame: Frame) -> int:
        """Small plates only on tracks that are not approaching (their plate will not grow by waiting)."""
        s = self.settings
        if reading.approaching(frame.frame_number, s.approach_window_frames, s.approach_min_growth):
            return s.min_plate_width_px
        return min(s.min_small_plate_width_px, s.min_plate_width_px)

    def _run(self, reading: TrackReading, frame_number: int, crop: np.ndarray, origin: tuple[int, int],
             plate: Detection | None, min_plate_width_px: int) -> None:
        """Run the reading task on the worker (inline without one); a full queue drops it."""
        with reading.lock:
            reading.jobs_pending += 1
        reading.last_plate_frame = frame_number
        reading.next_plate_frame = frame_number + self.settings.plate_detect_interval_frames

        def task() -> None:
            try:
                self._read_crop(reading, frame_number, crop, origin, plate, min_plate_width_px)
            finally:
                with reading.lock:
                    reading.jobs_pending -= 1

        if self.worker is None:
            task()
        elif not self.worker.submit(task, f"camera={self.camera_id} track={reading.track_id}"):
            with reading.lock:
                reading.jobs_pending -= 1
            self.tasks_dropped += 1

    def _read_crop(self, reading: TrackReading, frame_number: int, crop: np.ndarray, origin: tuple[int, int],
                   plate: Detection | None, min_plate_width_px: int) -> None:
        """Worker side: find the plate in the vehicle crop; OCR the track's best shot, or a re-read."""
        s = self.settings
        if plate is None:
            found = self._detect_plates(pad_to_square(crop))
            plate = best_plate(found, s.min_plate_score, min(min_plate_width_px, s.min_small_plate_width_px))
        growing = plate is not None and plate.xyxy[2] - plate.xyxy[0] < min_plate_width_px
        if growing:  # an approaching vehicle's small plate: look again soon, it will be read when bigger
            plate = None
        to_read = plate is not None and self._shot_to_read(reading, frame_number, crop, origin, plate)
        self._schedule(reading, frame_number, found=to_read,
                       max_wait_frames=SMALL_PLATE_WAIT_INTERVALS * s.plate_detect_interval_frames if growing else None)
        if plate is None or not to_read or self.ocr is None:
            return
        started = time.perf_counter()
        result = self.ocr.read_plate(crop, plate)
        self.timings.add("ocr", time.perf_counter() - started)
        self.ocr_calls += 1
        with reading.lock:
            reading.ocr_calls += 1
            if result.text:
                reading.reads.append(result)

    def _detect_plates(self, image: np.ndarray) -> list[Detection]:
        assert self.plates is not None
        started = time.perf_counter()
        plates = self.plates.detect(image)
        self.timings.add("plate_detect", time.perf_counter() - started)
        self.plate_detections += 1
        return plates

    def _schedule(self, reading: TrackReading, frame_number: int, found: bool,
                  max_wait_frames: int | None = None) -> None:
        """Next plate detection after the interval; after misses (no plate, or no shot worth an OCR call),
        after 2, 4, 8... intervals (capped; at ``max_wait_frames`` while a small plate grows)."""
        s = self.settings
        with reading.lock:
            reading.plate_misses = 0 if found else reading.plate_misses + 1
            wait = s.plate_detect_interval_frames * 2 ** min(reading.plate_misses, 10)
            cap = max(s.plate_miss_backoff_max_frames, s.plate_detect_interval_frames)
            cap = min(cap, max_wait_frames) if max_wait_frames else cap
            reading.next_plate_frame = max(reading.next_plate_frame, frame_number + min(wait, cap))

    def _shot_to_read(self, reading: TrackReading, frame_number: int, crop: np.ndarray,
                      origin: tuple[int, int], plate: Detection) -> bool:
        """OCR a shot that beats the track's best by ``min_quality_gain`` (kept as the best), or any shot
        ``reread_interval_frames`` after the last read while the track lacks ``stable_read_count`` reads."""
        plate_crop, _ = crop_region(crop, plate.xyxy, 0.0)
        s = self.settings
        quality = shot_quality(plate_crop, plate.score, s.sharpness_ref, s.plate_width_ref_px)
        (ox, oy), (x1, y1, x2, y2) = origin, plate.xyxy
        with reading.lock:
            if plate_crop.size == 0:
                return False
            better = quality > reading.best_quality * (1.0 + s.min_quality_gain)
            reread = (reading.best_bbox is not None and len(reading.reads) < s.stable_read_count
                      and frame_number - reading.last_ocr_frame >= s.reread_interval_frames)
            if not (better or reread):
                return False
            reading.last_ocr_frame = frame_number
            if better:
                reading.best_quality, reading.best_bbox = quality, (x1 + ox, y1 + oy, x2 + ox, y2 + oy)
                reading.best_crop, reading.best_vehicle_crop = plate_crop.copy(), crop
                reading.best_frame_number = frame_number
        return True

    def _collect(self, frame_done: bool) -> list[PlateRead]:
        """Final reads of tracks that are stable, or ended with no task pending (or past the grace time)."""
        out, now = [], time.monotonic()
        for track_id, reading in list(self._tracks.items()):
            reads = reading.snapshot_reads()
            ended = reading.ended_at_s is not None and (
                not reading.jobs_pending or frame_done or now - reading.ended_at_s > ENDED_TRACK_GRACE_S)
            if not reading.emitted and (ended or self._is_stable(reads)):
                reading.emitted = True
                read = self._finish(reading, reads)
                if read is not None:
                    out.append(read)
            if ended:
                del self._tracks[track_id]
        return out

    def _is_stable(self, reads: list[OcrResult]) -> bool:
        needed = self.settings.stable_read_count
        return len(reads) >= needed and vote(reads).support >= needed

    def _finish(self, reading: TrackReading, reads: list[OcrResult]) -> PlateRead | None:
        if reading.best_bbox is None:
            return None
        if self.ocr is None:
            return self._plate_read(reading, "", 0.0, (), (), None)
        voted = vote(reads)
        resolved = self.prior.resolve(slots_from_scores(voted.char_scores), box_aspect(reading.best_bbox))
        text = resolved.text
        confidence = voted.score(text) * voted.length_share if len(text) == len(voted.text) else 0.0
        if len(text) < self.settings.min_plate_chars or confidence < self.settings.min_read_confidence:
            logger.info("camera=%s track=%s read %r (confidence %.2f, %d reads) below thresholds: dropped",
                        self.camera_id, reading.track_id, text, confidence, len(reads))
            return None
        chars = tuple(round(p.get(c, 0.0), 4) for c, p in zip(text, voted.char_scores, strict=True))
        return self._plate_read(reading, text, confidence, chars, vote_candidates(voted, resolved.spellings, text),
                                resolved.region, read_count=len(reads))

    def _plate_read(self, reading: TrackReading, text: str, confidence: float, chars: tuple[float, ...],
                    candidates: tuple, region: str | None, read_count: int = 0) -> PlateRead:
        assert reading.best_bbox is not None
        with reading.lock:
            return PlateRead(
                camera_id=self.camera_id, track_id=reading.track_id, text=text,
                confidence=round(confidence, 4),
                char_confidences=chars, candidates=candidates, plate_bbox=reading.best_bbox,
                first_seen_s=reading.first_seen_s, last_seen_s=reading.last_seen_s,
                frame_number=reading.best_frame_number, read_count=read_count,
                first_frame=reading.first_frame, last_frame=reading.last_frame,
                quality_score=round(reading.best_quality, 4), region=region,
                matches_format=(region not in (None, UNKNOWN)) if text else None,
                vehicle_bbox=reading.vehicle_bbox, vehicle_type=reading.vehicle_label,
                direction=direction_of(reading.first_vehicle_bbox, reading.vehicle_bbox),
                plate_crop=reading.best_crop, vehicle_crop=reading.best_vehicle_crop)


def vote_candidates(voted: VoteResult, spellings: Sequence[str], text: str,
                    limit: int = MAX_CANDIDATES) -> tuple[PlateCandidate, ...]:
    """``text`` first, then the spellings the prior considered and reads of other lengths, by vote share."""
    scored = {s: voted.score(s) for s in (text, voted.text, *spellings) if s}
    for other, share in voted.other_texts:
        scored.setdefault(other, share)
    ranked = sorted(scored.items(), key=lambda kv: (kv[0] != text, -kv[1], kv[0]))
    return tuple(PlateCandidate(t, round(min(1.0, s), 4)) for t, s in ranked[:limit])


def crop_region(image: np.ndarray, box: BBox, margin: float) -> tuple[np.ndarray, tuple[int, int]]:
    """``image`` inside ``box`` grown by ``margin`` per side (clipped), and the crop's top-left corner."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    ix1, iy1 = max(0, int(x1 - dx)), max(0, int(y1 - dy))
    ix2, iy2 = min(w, round(x2 + dx)), min(h, round(y2 + dy))
    if ix2 - ix1 < 2 or iy2 - iy1 < 2:
        return image[0:0, 0:0], (ix1, iy1)
    return image[iy1:iy2, ix1:ix2], (ix1, iy1)


def pad_to_square(image: np.ndarray, value: int = 114) -> np.ndarray:
    """Pad right/bottom to a square (box coordinates unchanged): one detector input shape for every crop."""
    h, w = image.shape[:2]
    if h == w:
        return image
    side = max(h, w)
    return cv2.copyMakeBorder(image, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT, value=(value,) * 3)


def vehicle_size(box: BBox, frame_width: int, edge_px: float = 2.0, edge_share: float = 0.02) -> float:
    """The box's width; its height when the left or right image edge cuts it (the width is then a part)."""
    x1, y1, x2, y2 = box
    edge = max(edge_px, edge_share * frame_width)
    return y2 - y1 if x1 <= edge or x2 >= frame_width - edge else x2 - x1


def best_plate(plates: Sequence[Detection], min_score: float, min_width_px: float) -> Detection | None:
    ok = [p for p in plates if p.score >= min_score and p.xyxy[2] - p.xyxy[0] >= min_width_px]
    return max(ok, key=lambda p: p.score, default=None)
