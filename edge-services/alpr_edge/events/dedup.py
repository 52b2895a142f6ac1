"""Fuzzy, confusable-aware duplicate detection per camera, with bounded memory and time expiry."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

DEFAULT_CONFUSABLES = ("O0", "I1", "B8", "S5", "Z2")


def canonical_table(confusables: Iterable[str]) -> dict[int, str]:
    """str.translate table mapping each confusable pair onto one spelling (O->0, I->1, ...)."""
    table: dict[int, str] = {}
    for pair in confusables:
        if len(pair) == 2 and pair[0] != pair[1]:
            table.setdefault(ord(pair[0]), pair[1])
    return table


def deletion_keys(text: str) -> set[str]:
    """``text`` and every spelling with one character removed: two texts within one edit share a key."""
    keys = {text[:i] + text[i + 1 :] for i in range(len(text))}
    keys.add(text)
    return keys


class _Seen(NamedTuple):  # a tuple: made once per accepted read, ~4x cheaper than a frozen dataclass
    at_s: float
    canonical: str
    track_id: int
    preview: bool
    event_id: str
    keys: set[str]  # its deletion keys (never changed), kept for the index clean-up when it is forgotten


@dataclass(frozen=True)
class DedupHit:
    """The earlier event a read duplicates, and how similar it is."""

    event_id: str
    similarity: float
    age_s: float


@dataclass
class _Camera:
    seen: deque[_Seen] = field(default_factory=deque)
    index: dict[str, list[_Seen]] = field(default_factory=dict)  # deletion key -> entries


class Deduplicator:
    """``check(camera, text, at_s, track_id, event_id)``: the event a read duplicates, or None.

    Similarity is ``1 - levenshtein / len(longer)`` on texts whose confusable characters were mapped to one
    spelling, so ``8ABC123`` and ``BABC123`` are the same plate. When the threshold allows at most one edit
    (0.85 on plates up to 11 characters) a deletion index finds candidates in O(length); otherwise every
    remembered plate of the camera is scored. A final read of a previewed track is not a duplicate of its
    preview. Memory: ``max_entries_per_camera`` per camera, ``max_cameras`` cameras, entries expire.
    """

    def __init__(
        self,
        threshold: float = 0.85,
        window_s: float = 300.0,
        max_entries_per_camera: int = 2000,
        max_cameras: int = 256,
        confusables: Iterable[str] = DEFAULT_CONFUSABLES,
    ):
        self.threshold = threshold
        self.window_s = window_s
        self.max_entries = max_entries_per_camera
        self.max_cameras = max_cameras
        self._table = canonical_table(confusables)
        self._cameras: OrderedDict[str, _Camera] = OrderedDict()

    def check(
        self, camera_id: str, text: str, at_s: float, track_id: int, event_id: str, preview: bool = False
    ) -> DedupHit | None:
        cam = self._camera(camera_id)
        seen, horizon = cam.seen, at_s - self.window_s
        while seen and (seen[0].at_s < horizon or len(seen) >= self.max_entries):
            self._forget(cam, seen.popleft())
        canonical = text.translate(self._table)
        keys = deletion_keys(canonical)
        entry = _Seen(at_s, canonical, track_id, preview, event_id, keys)
        if self._one_edit(len(canonical)):
            # one pass over the index: look up each key and file the new entry under it at once; a
            # duplicate (rare) is taken out again, as it is not remembered
            index, found = cam.index, []
            for key in keys:
                bucket = index.get(key)
                if bucket is None:
                    index[key] = [entry]
                else:
                    found.append(bucket)
                    bucket.append(entry)
            hit = self._first_hit(entry, self._newest_first(found, entry)) if found else None
            if hit is not None:
                self._forget(cam, entry)
                return hit
        else:
            hit = self._first_hit(entry, self._scored(cam, canonical))
            if hit is not None:
                return hit
            for key in keys:
                cam.index.setdefault(key, []).append(entry)
        seen.append(entry)
        return None

    def _first_hit(self, new: _Seen, candidates: Iterable[_Seen]) -> DedupHit | None:
        for entry in candidates:
            if entry.track_id == new.track_id and entry.preview and not new.preview:
                continue
            similarity = Levenshtein.normalized_similarity(new.canonical, entry.canonical)
            if similarity >= self.threshold and abs(new.at_s - entry.at_s) <= self.window_s:
                return DedupHit(entry.event_id, similarity, new.at_s - entry.at_s)
        return None

    def _one_edit(self, n: int) -> bool:
        """True when the threshold lets texts of length ``n`` differ by at most one edit (deletion index)."""
        return self.threshold > 0 and (1 - self.threshold) * (n + 1) / self.threshold < 2

    @staticmethod
    def _newest_first(buckets: list[list[_Seen]], new: _Seen) -> list[_Seen]:
        found = {id(entry): entry for bucket in buckets for entry in bucket if entry is not new}
        return sorted(found.values(), key=lambda e: -e.at_s)

    def _scored(self, cam: _Camera, canonical: str) -> list[_Seen]:
        """Remembered entries of the camera at or above the threshold, best first (every one is scored:
        thresholds below the deletion index's reach)."""
        texts = [e.canonical for e in cam.seen]
        scored = process.extract(canonical, texts, scorer=Levenshtein.normalized_similarity,
                                 score_cutoff=self.threshold, limit=None)
        return [cam.seen[i] for _, _, i in scored]

    @staticmethod
    def _forget(cam: _Camera, entry: _Seen) -> None:
        index = cam.index
        for key in entry.keys:
            bucket = index.get(key)
            if bucket is not None:
                for i, other in enumerate(bucket):  # by identity: equal tuples are different entries
                    if other is entry:
                        del bucket[i]
                        break
                if not bucket:
                    del index[key]

    def size(self) -> int:
        return sum(len(cam.seen) for cam in self._cameras.values())

    def _camera(self, camera_id: str) -> _Camera:
        cam = self._cameras.get(camera_id)
        if cam is None:
            if len(self._cameras) >= self.max_cameras:
                self._cameras.popitem(last=False)
            cam = self._cameras[camera_id] = _Camera()
        else:
            self._cameras.move_to_end(camera_id)
        return cam
