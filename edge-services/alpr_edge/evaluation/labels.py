"""Passage labels of a video: one CSV row per vehicle, validated with errors that name the line and column.

    passages = load_passages("parkpow_cars_gt.csv")   # tuple[Passage, ...]; LabelError on a bad file
    cuts = segment_cuts(passages)                      # first frames of the spliced clips after the first

Columns: ``vehicle_id,first_frame,last_frame,type,readable,plate_printed,plate_normalized,best_frame,notes``.
Frame indices are sequential ``cap.read()`` indices from 0, both ends inclusive. ``notes`` is free text of
``key=value`` items separated by ``;``: ``segment=NAME`` names the clip of a spliced video, and each
``alt_text=PLATE`` (anywhere in the notes) is a text the labeller accepts as that vehicle's number although
it is not legible as a plate (a cab-door or trailer number, the likely plate of a blurred one).
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..events.processor import normalise

COLUMNS = ("vehicle_id", "first_frame", "last_frame", "type", "readable", "plate_printed",
           "plate_normalized", "best_frame", "notes")
_ALT_TEXT = re.compile(r"\balt_text=([A-Za-z0-9.\-]*[A-Za-z0-9])")
_SEGMENT = re.compile(r"(?:^|;)\s*segment=([^;]+)")


class LabelError(ValueError):
    """A labels file that cannot be scored against: the message names the file, line and column."""


@dataclass(frozen=True)
class Passage:
    """One labelled vehicle passage (frames are 0-based ``cap.read()`` indices, both ends inclusive)."""

    vehicle_id: str
    first_frame: int
    last_frame: int
    vehicle_type: str
    readable: bool
    plate: str  # normalised (A-Z0-9), "" when not readable
    best_frame: int | None = None
    segment: str | None = None  # clip of a spliced video (notes ``segment=``)
    alt_texts: tuple[str, ...] = ()  # other texts accepted for this vehicle (notes ``alt_text=``)
    notes: str = ""

    @property
    def accepted_texts(self) -> frozenset[str]:
        """Normalised texts an event may carry to be a correct read of this vehicle."""
        return frozenset(t for t in (self.plate, *self.alt_texts) if t)


def load_passages(path: Path | str) -> tuple[Passage, ...]:
    """Read and validate a labels CSV; raises :class:`LabelError` (or OSError when it cannot be opened)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise LabelError(f"{path}:1: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
        passages = [_passage(row, f"{path}:{reader.line_num}") for row in reader]
    if not passages:
        raise LabelError(f"{path}: no passages (header only)")
    _check_unique(passages, path)
    segment_cuts(passages, where=str(path))
    return tuple(passages)


def _passage(row: dict[str, str | None], where: str) -> Passage:
    if None in row or any(row.get(c) is None for c in COLUMNS):
        raise LabelError(f"{where}: expected {len(COLUMNS)} columns, the row has a different number")
    cell = {k: (v or "").strip() for k, v in row.items() if k is not None}
    vehicle_id = cell["vehicle_id"]
    if not vehicle_id:
        raise LabelError(f"{where}: column vehicle_id: empty")
    first, last = _frame(cell, "first_frame", where), _frame(cell, "last_frame", where)
    if last < first:
        raise LabelError(f"{where}: {vehicle_id}: last_frame {last} is before first_frame {first}")
    best = _frame(cell, "best_frame", where) if cell["best_frame"] else None
    if best is not None and not first <= best <= last:
        raise LabelError(f"{where}: {vehicle_id}: best_frame {best} is outside {first}-{last}")
    readable = _readable(cell["readable"], where)
    plate = _plate(cell, readable, where)
    notes = cell["notes"]
    segment = _SEGMENT.search(notes)
    return Passage(vehicle_id, first, last, cell["type"], readable, plate, best,
                   segment.group(1).strip() if segment else None,
                   tuple(dict.fromkeys(normalise(t) for t in _ALT_TEXT.findall(notes))), notes)


def _frame(cell: dict[str, str], column: str, where: str) -> int:
    text = cell[column]
    if not text.isdigit():
        raise LabelError(f"{where}: column {column}: {text!r} is not a frame index (an integer >= 0)")
    return int(text)


def _readable(text: str, where: str) -> bool:
    value = text.lower()
    if value not in ("yes", "no"):
        raise LabelError(f"{where}: column readable: {text!r} is not yes or no")
    return value == "yes"


def _plate(cell: dict[str, str], readable: bool, where: str) -> str:
    plate, printed = cell["plate_normalized"], cell["plate_printed"]
    if plate != normalise(plate):
        raise LabelError(f"{where}: column plate_normalized: {plate!r} is not normalised "
                         f"(uppercase A-Z0-9 only: {normalise(plate)!r})")
    if printed and normalise(printed) != plate:
        raise LabelError(f"{where}: plate_printed {printed!r} normalises to {normalise(printed)!r}, "
                         f"not plate_normalized {plate!r}")
    if readable and not plate:
        raise LabelError(f"{where}: readable=yes needs plate_normalized")
    if not readable and plate:
        raise LabelError(f"{where}: readable=no with plate {plate!r}: put a likely text in notes as alt_text=")
    return plate


def _check_unique(passages: Iterable[Passage], path: Path) -> None:
    seen: set[str] = set()
    for p in passages:
        if p.vehicle_id in seen:
            raise LabelError(f"{path}: vehicle_id {p.vehicle_id} appears twice")
        seen.add(p.vehicle_id)


def segment_cuts(passages: Sequence[Passage], where: str = "labels") -> tuple[int, ...]:
    """First frames of the clips after the first one (``segment=`` in the notes); () without segments.

    A track must not cross a cut. Raises :class:`LabelError` when the segments' frame ranges overlap.
    """
    ranges: dict[str, tuple[int, int]] = {}
    for p in passages:
        if p.segment is not None:
            lo, hi = ranges.get(p.segment, (p.first_frame, p.last_frame))
            ranges[p.segment] = (min(lo, p.first_frame), max(hi, p.last_frame))
    ordered = sorted(ranges.items(), key=lambda kv: kv[1])
    for (name_a, (_, end_a)), (name_b, (start_b, _)) in itertools.pairwise(ordered):
        if start_b <= end_a:
            raise LabelError(f"{where}: segment {name_b} starts at frame {start_b}, inside segment {name_a} "
                             f"(which ends at {end_a}); a spliced video's clips cannot overlap")
    return tuple(start for _, (start, _) in ordered[1:])
