"""Rules compiled from alert_rules.yaml (+ database watchlists) and the engine that evaluates them.

A rule fires when every condition holds (camera, site, days, time windows, confidence, direction)
and its plate condition does: some candidate matches one of its patterns/lists, or, for an
``allowlist`` rule, none does. Rules that watch the same lists with the same match settings share one
:class:`WatchlistIndex`, and one event looks each index up once whatever the number of rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .config import ActionSpec, Conditions, PatternSpec, RuleSet, RuleSpec
from .fuzzy import ConfusableCosts
from .watchlist import Hit, WatchEntry, WatchlistIndex, make_entry, normalize_plate

logger = logging.getLogger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class EventView:
    """The fields of a plate event the rules look at."""

    event_id: str
    camera_id: str
    site: str | None
    captured_at: datetime
    plate: str
    confidence: float
    candidates: tuple[str, ...]
    direction: str | None
    plate_image_url: str | None
    preview: bool = False
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> EventView:
        plate = rec["plate"]
        main = normalize_plate(plate.get("normalized_text") or plate["text"])
        texts = [main] + [normalize_plate(c["text"]) for c in plate.get("candidates") or []]
        captured = rec["captured_at"]
        if isinstance(captured, (int, float)):
            captured = datetime.fromtimestamp(captured / 1000, tz=timezone.utc)
        return cls(
            event_id=str(rec["event_id"]),
            camera_id=rec["camera_id"],
            site=(rec.get("node") or {}).get("site"),
            captured_at=captured,
            plate=main,
            confidence=float(plate.get("confidence") or 0.0),
            candidates=tuple(dict.fromkeys(t for t in texts if t)),
            direction=(rec.get("extras") or {}).get("direction"),
            plate_image_url=(rec.get("images") or {}).get("plate_url"),
            preview=bool(rec.get("preview", False)),
            record=rec,
        )


@dataclass(frozen=True)
class Explanation:
    """Why a rule matched (the alert_event ``explanation`` record, plus list metadata for the database)."""

    candidate: str
    entry: str
    match_type: str
    operations: tuple[str, ...] = ()
    score: float = 0.0
    list_name: str | None = None
    entry_id: int | None = None
    reason: str | None = None

    def to_avro(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "entry": self.entry,
            "match_type": self.match_type,
            "operations": list(self.operations),
            "score": float(self.score),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.to_avro(),
            "list_name": self.list_name,
            "entry_id": self.entry_id,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RuleMatch:
    rule: CompiledRule
    event: EventView
    explanation: Explanation

    @property
    def cooldown_key(self) -> tuple[str, str]:
        """Per rule and plate: the watched entry for a list match (OCR variants share it), else the plate."""
        kind = self.explanation.match_type
        return self.rule.name, self.explanation.entry if kind not in (
            "allowlist",
            "any",
        ) else self.event.plate


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    index: WatchlistIndex | None
    tz: ZoneInfo

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def actions(self) -> list[ActionSpec]:
        return self.spec.actions

    checks: tuple[Callable[[EventView], bool], ...] = ()

    def context_holds(self, ev: EventView) -> bool:
        for check in self.checks:  # noqa: SIM110 - a plain loop is ~2x faster than all(<genexpr>) here
            if not check(ev):
                return False
        return True


def _context_checks(spec: RuleSpec, tz: ZoneInfo) -> tuple[Callable[[EventView], bool], ...]:
    """Only the conditions a rule sets, as small predicates (evaluated for every event and rule)."""
    c = spec.conditions
    checks: list[Callable[[EventView], bool]] = []
    if c.cameras:
        cameras = frozenset(c.cameras)
        checks.append(lambda ev: ev.camera_id in cameras)
    if c.sites:
        sites = frozenset(c.sites)
        checks.append(lambda ev: ev.site in sites)
    if c.min_confidence > 0:
        checks.append(lambda ev: ev.confidence >= c.min_confidence)
    if c.directions:
        directions = frozenset(c.directions)
        unknown_ok = c.unknown_direction_matches
        checks.append(lambda ev: ev.direction in directions or (unknown_ok and ev.direction is None))
    if c.days or c.time_windows:
        checks.append(lambda ev: _time_holds(c, tz, ev.captured_at))
    return tuple(checks)


def _time_holds(c: Conditions, tz: ZoneInfo, at: datetime) -> bool:
    local = at.astimezone(tz)
    if c.days and DAYS[local.weekday()] not in c.days:
        return False
    t = local.time().replace(tzinfo=None)
    return not c.time_windows or any(
        (w.start <= t < w.end) if w.start <= w.end else (t >= w.start or t < w.end) for w in c.time_windows
    )


class RuleEngine:
    """Evaluates every enabled rule against an event; ``evaluate`` is the one main method."""

    def __init__(self, rules: Sequence[CompiledRule]):
        self.rules = list(rules)

    def evaluate(self, ev: EventView, now: datetime | None = None) -> list[RuleMatch]:
        now = now or datetime.now(timezone.utc)
        memo: dict[tuple[int, float, bool], Hit | None] = {}
        out: list[RuleMatch] = []
        for rule in self.rules:
            if not rule.context_holds(ev):
                continue
            expl = self._plate_condition(rule, ev, now, memo)
            if expl is not None:
                out.append(RuleMatch(rule, ev, expl))
        return out

    @staticmethod
    def _plate_condition(
        rule: CompiledRule, ev: EventView, now: datetime, memo: dict[tuple[int, float, bool], Hit | None]
    ) -> Explanation | None:
        c = rule.spec.conditions
        if rule.index is None:
            return Explanation(candidate=ev.plate, entry="*", match_type="any")
        key = (id(rule.index), c.max_cost, c.use_candidates)
        if key not in memo:
            cands = ev.candidates if c.use_candidates else ev.candidates[:1]
            memo[key] = rule.index.lookup(cands, now, c.max_cost)
        hit = memo[key]
        if rule.spec.allowlist:
            if hit is not None:
                return None
            lists = ",".join(c.watchlists) or "inline"
            return Explanation(
                candidate=ev.plate,
                entry=lists,
                match_type="allowlist",
                operations=(f"not on allowlist {lists}",),
            )
        if hit is None:
            return None
        e = hit.entry
        return Explanation(
            candidate=hit.candidate,
            entry=e.pattern,
            match_type=hit.match_type,
            operations=hit.operations,
            score=hit.score,
            list_name=e.list_name,
            entry_id=e.entry_id,
            reason=e.reason,
        )


def _spec_entries(specs: Iterable[PatternSpec | str], list_name: str, default: str) -> list[WatchEntry]:
    out = []
    for spec in specs:
        pattern, match = (spec.pattern, spec.match) if isinstance(spec, PatternSpec) else (spec, None)
        entry = make_entry(pattern, match, default, list_name=list_name)
        if default == "fuzzy" and match is None and entry.match_type == "exact":
            entry = make_entry(pattern, "fuzzy", list_name=list_name)
        out.append(entry)
    return out


def _upgrade(entries: Iterable[WatchEntry], default: str) -> list[WatchEntry]:
    """A rule with ``match: fuzzy`` compares the exact entries of its database lists fuzzily."""
    if default != "fuzzy":
        return list(entries)
    return [
        WatchEntry(e.pattern, "fuzzy", e.core, e.list_name, e.entry_id, e.reason, e.expires_at)
        if e.match_type == "exact"
        else e
        for e in entries
    ]


def compile_rules(
    ruleset: RuleSet, db_lists: Mapping[str, Sequence[WatchEntry]], costs: ConfusableCosts
) -> RuleEngine:
    """Build the engine; rules with identical plate conditions share one index."""
    cache: dict[tuple[Any, ...], WatchlistIndex] = {}
    compiled = []
    for spec in ruleset.rules:
        if not spec.enabled:
            continue
        c = spec.conditions
        index = None
        if c.watchlists or c.plates:
            key = (tuple(sorted(c.watchlists)), repr(c.plates), c.match)
            if key not in cache:
                entries = _spec_entries(c.plates, "inline", c.match)
                for name in c.watchlists:
                    entries += _spec_entries(ruleset.lists.get(name, []), name, c.match)
                    entries += _upgrade(db_lists.get(name, []), c.match)
                    if name not in ruleset.lists and name not in db_lists:
                        logger.warning("rule %s: watchlist %r is empty or unknown", spec.name, name)
                cache[key] = WatchlistIndex(entries, costs, max(2, costs.max_plain_edits(c.max_cost)))
            index = cache[key]
        tz = ZoneInfo(c.timezone)
        compiled.append(CompiledRule(spec, index, tz, _context_checks(spec, tz)))
    logger.info("compiled %d rules over %d indexes", len(compiled), len(cache))
    return RuleEngine(compiled)
