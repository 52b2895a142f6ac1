"""Passage-level scoring of a video run: the finished events of the edge against labelled vehicle passages.

    passages = load_passages(csv_path)
    result = score(events, passages)        # PassageScore: per-passage results and the false events
    print(result.summary())                 # passages=.. read=.. recall=.. false_events=..

Rules (docs/benchmarks.md, "Video passages"):

* An event *falls within* a passage when its track's frames ``first_frame..last_frame`` lie inside the
  passage's frames, widened by ``slack_frames`` at each end (labels are approximate to a frame or two),
  and both are in the same clip: an event whose frames cross a cut between spliced clips falls within no
  passage, whatever it reads.
* It is a *correct* event of that passage when its normalised plate is the passage's ``plate_normalized``
  or one of the ``alt_text=`` values of its notes (the likely plate, or a number painted on the vehicle).
* A ``readable=yes`` passage is *read* when exactly one correct event falls within it; two or more are a
  *duplicate* (not read); none is *missed*, or *wrong plate* when an event within its frames carries a
  text at least ``WRONG_PLATE_SIMILARITY`` similar to its plate.
* Every event that is not a correct event of some passage is a *false event*: a wrong plate on a readable
  vehicle, a garbage read of an unreadable one, a read outside every passage, a track across a cut. An
  operator cannot tell a garbage plate of a blurred truck from any other wrong plate in the database.
  A correct read of a ``readable=no`` vehicle (its ``alt_text``) is neither required nor false.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from .labels import Passage, segment_cuts

DEFAULT_SLACK_FRAMES = 2
WRONG_PLATE_SIMILARITY = 0.5  # 1 - levenshtein / longer length: at most half the characters differ

READ, MISSED, DUPLICATE, WRONG_PLATE = "read", "missed", "duplicate", "wrong plate"
NOT_REQUIRED, READ_ANYWAY = "not required", "read (not required)"


@dataclass(frozen=True)
class FinishedEvent:
    """One finished plate event of a run; frames are 0-based ``cap.read()`` indices, both ends inclusive."""

    track_id: int
    plate: str  # normalised text
    first_frame: int
    last_frame: int
    best_frame: int | None = None
    confidence: float | None = None
    event_id: str = ""

    def describe(self) -> str:
        conf = f" conf={self.confidence:.2f}" if self.confidence is not None else ""
        return f"track {self.track_id} {self.plate} frames {self.first_frame}-{self.last_frame}{conf}"


@dataclass(frozen=True)
class PassageResult:
    passage: Passage
    status: str  # read, missed, duplicate, wrong plate; not required / read (not required) when unreadable
    events: tuple[FinishedEvent, ...] = ()  # correct events of this passage
    wrong: tuple[FinishedEvent, ...] = ()  # events within its frames with a near-miss plate (false events)


@dataclass(frozen=True)
class FalseEvent:
    event: FinishedEvent
    reason: str


@dataclass(frozen=True)
class PassageScore:
    passages: tuple[PassageResult, ...]
    false_events: tuple[FalseEvent, ...]
    cuts: tuple[int, ...] = ()

    @property
    def readable(self) -> int:
        return sum(1 for r in self.passages if r.passage.readable)

    @property
    def read(self) -> int:
        return sum(1 for r in self.passages if r.status == READ)

    @property
    def recall(self) -> float:
        return self.read / self.readable if self.readable else 0.0

    def summary(self) -> str:
        return (f"passages={self.readable} read={self.read} recall={self.recall:.3f} "
                f"false_events={len(self.false_events)}")


@dataclass(frozen=True)
class _Verdict:
    passage: Passage | None
    correct: bool
    reason: str = ""


def score(events: Iterable[FinishedEvent], passages: Sequence[Passage], cuts: Sequence[int] | None = None,
          slack_frames: int = DEFAULT_SLACK_FRAMES) -> PassageScore:
    """Score ``events`` against ``passages``; ``cuts`` defaults to the labels' segments (``segment=``)."""
    cut_frames = segment_cuts(passages) if cuts is None else tuple(sorted(cuts))
    correct: dict[str, list[FinishedEvent]] = {p.vehicle_id: [] for p in passages}
    wrong: dict[str, list[FinishedEvent]] = {p.vehicle_id: [] for p in passages}
    false: list[FalseEvent] = []
    for event in sorted(events, key=lambda e: (e.first_frame, e.last_frame, e.track_id)):
        verdict = _judge(event, passages, cut_frames, slack_frames)
        if verdict.correct and verdict.passage is not None:
            correct[verdict.passage.vehicle_id].append(event)
            continue
        if verdict.passage is not None:
            wrong[verdict.passage.vehicle_id].append(event)
        false.append(FalseEvent(event, verdict.reason))
    results = tuple(PassageResult(p, _status(p, len(correct[p.vehicle_id]), bool(wrong[p.vehicle_id])),
                                  tuple(correct[p.vehicle_id]), tuple(wrong[p.vehicle_id]))
                    for p in passages)
    return PassageScore(results, tuple(false), cut_frames)


def _status(passage: Passage, n_correct: int, any_wrong: bool) -> str:
    if not passage.readable:
        return READ_ANYWAY if n_correct else NOT_REQUIRED
    if n_correct == 1:
        return READ
    if n_correct > 1:
        return DUPLICATE
    return WRONG_PLATE if any_wrong else MISSED


def _judge(event: FinishedEvent, passages: Sequence[Passage], cuts: tuple[int, ...], slack: int) -> _Verdict:
    crossed = next((c for c in cuts if event.first_frame < c <= event.last_frame), None)
    if crossed is not None:
        return _Verdict(None, False, f"its track crosses the cut at frame {crossed} (two clips, one track)")
    inside = [p for p in passages if _within(event, p, cuts, slack)]
    for passage in sorted(inside, key=lambda p: not p.readable):
        if event.plate in passage.accepted_texts:
            return _Verdict(passage, True)
    if not inside:
        return _Verdict(None, False, "outside the frames of every labelled passage")
    near = max(((Levenshtein.normalized_similarity(event.plate, p.plate), p) for p in inside if p.readable),
               key=lambda sp: sp[0], default=None)
    if near is not None and near[0] >= WRONG_PLATE_SIMILARITY:
        return _Verdict(near[1], False, f"wrong plate for {near[1].vehicle_id} ({near[1].plate})")
    ids = ", ".join(p.vehicle_id for p in inside)
    return _Verdict(None, False, f"no plate of the vehicles in its frames ({ids})")


def _within(event: FinishedEvent, passage: Passage, cuts: tuple[int, ...], slack: int) -> bool:
    same_clip = bisect.bisect_right(cuts, event.first_frame) == bisect.bisect_right(cuts, passage.first_frame)
    return (same_clip and passage.first_frame - slack <= event.first_frame
            and event.last_frame <= passage.last_frame + slack)


def table_lines(result: PassageScore) -> list[str]:
    """The per-passage table and the false events, one line each (what the benchmark prints)."""
    lines = [f"{'passage':<8} {'frames':<9} {'type':<11} {'readable':<8} {'plate':<10} {'status':<20} events"]
    for r in result.passages:
        p = r.passage
        events = "; ".join([e.describe() for e in r.events] + [f"WRONG {e.describe()}" for e in r.wrong])
        lines.append(f"{p.vehicle_id:<8} {f'{p.first_frame}-{p.last_frame}':<9} {p.vehicle_type:<11} "
                     f"{'yes' if p.readable else 'no':<8} {p.plate or '-':<10} {r.status:<20} {events or '-'}")
    if result.cuts:
        lines.append(f"cuts between clips at frame(s) {', '.join(map(str, result.cuts))}")
    lines += [f"false event: {f.event.describe()}: {f.reason}" for f in result.false_events]
    return lines
