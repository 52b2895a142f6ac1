"""Rule evaluation: match types, '*' patterns, context conditions, allowlists, expiry, explanations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alpr_core.alerting.config import RuleSet
from alpr_core.alerting.fuzzy import ConfusableCosts
from alpr_core.alerting.rules import EventView, compile_rules
from alpr_core.alerting.watchlist import make_entry
from tests.factories import plate_event

COSTS = ConfusableCosts()
# Sunday 2026-11-22 23:30 UTC
NIGHT = datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc)


def _event(plate: str, candidates: list[str] | None = None, **kw: Any) -> EventView:
    rec = plate_event(plate, **{k: v for k, v in kw.items() if k in ("camera_id",)})
    rec["captured_at"] = kw.get("at", NIGHT)
    rec["plate"]["confidence"] = kw.get("confidence", 0.9)
    rec["plate"]["candidates"] = [{"text": c, "confidence": 0.1} for c in (candidates or [plate])]
    rec["node"]["site"] = kw.get("site", "site-a")
    rec["extras"]["direction"] = kw.get("direction")
    return EventView.from_record(rec)


def _fired(
    rules: list[dict[str, Any]],
    ev: EventView,
    lists: dict[str, Any] | None = None,
    db: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    engine = compile_rules(RuleSet.model_validate({"rules": rules, "lists": lists or {}}), db or {}, COSTS)
    return {m.rule.name: m.explanation for m in engine.evaluate(ev, now or NIGHT)}


@pytest.mark.parametrize(
    ("plates", "match", "plate", "fires", "kind"),
    [
        (["ABC123"], "exact", "ABC123", True, "exact"),
        (["ABC123"], "exact", "ABC124", False, None),
        (["ABC*"], "exact", "ABC999", True, "prefix"),
        (["ABC*"], "exact", "XABC99", False, None),
        (["*999"], "exact", "ABC999", True, "suffix"),
        (["*C9*"], "exact", "ABC999", True, "contains"),
        (["A*9"], "exact", "ABC999", True, "regex"),
        (["A*9"], "exact", "XABC999", False, None),
        ([{"pattern": "^AB[0-9]{4}$", "match": "regex"}], "exact", "AB1234", True, "regex"),
        ([{"pattern": "^AB[0-9]{4}$", "match": "regex"}], "exact", "ABC234", False, None),
        (["AB-C 123"], "exact", "ABC123", True, "exact"),
        (["ABC"], "prefix", "ABC777", True, "prefix"),
        (["777"], "suffix", "ABC777", True, "suffix"),
        (["C7"], "contains", "ABC777", True, "contains"),
        (["ABC123"], "fuzzy", "ABC1Z3", True, "fuzzy"),
        (["ABC123"], "fuzzy", "XYZ789", False, None),
    ],
)
def test_match_types(plates: list[Any], match: str, plate: str, fires: bool, kind: str | None) -> None:
    rule = {"name": "r", "conditions": {"plates": plates, "match": match}}
    out = _fired([rule], _event(plate, [plate]))
    assert ("r" in out) is fires
    if fires:
        assert out["r"].match_type == kind


def test_fuzzy_explanation_names_candidate_entry_operations_and_score() -> None:
    rule = {"name": "stolen", "conditions": {"watchlists": ["stolen"], "match": "fuzzy", "max_cost": 1.0}}
    ev = _event("ABC1Z3", ["ABC1Z3", "A8C1Z3"])
    e = _fired([rule], ev, lists={"stolen": ["ABC123", "QQQ111"]})["stolen"]
    assert (e.candidate, e.entry, e.match_type) == ("ABC1Z3", "ABC123", "fuzzy")
    assert e.operations == ("sub Z->2 @4 (confusable)",) and e.score == pytest.approx(0.25)
    assert e.list_name == "stolen"


def test_fuzzy_uses_every_candidate_and_the_per_rule_maximum() -> None:
    # The voted text is far off; the second candidate is one confusion away.
    ev = _event("XBC1X3", ["XBC1X3", "ABC1Z3"])
    loose = {"name": "loose", "conditions": {"plates": ["ABC123"], "match": "fuzzy", "max_cost": 1.0}}
    tight = {"name": "tight", "conditions": {"plates": ["ABC123"], "match": "fuzzy", "max_cost": 0.2}}
    primary = {
        "name": "primary",
        "conditions": {"plates": ["ABC123"], "match": "fuzzy", "use_candidates": False},
    }
    out = _fired([loose, tight, primary], ev)
    assert set(out) == {"loose"} and out["loose"].candidate == "ABC1Z3"


@pytest.mark.parametrize(
    ("conditions", "event_kw", "fires"),
    [
        ({"cameras": ["cam-01"]}, {}, True),
        ({"cameras": ["cam-02"]}, {}, False),
        ({"sites": ["site-a"]}, {}, True),
        ({"sites": ["site-b"]}, {}, False),
        ({"min_confidence": 0.95}, {"confidence": 0.9}, False),
        ({"min_confidence": 0.5}, {"confidence": 0.9}, True),
        ({"directions": ["in"]}, {"direction": "in"}, True),
        ({"directions": ["in"]}, {"direction": "out"}, False),
        ({"directions": ["in"]}, {"direction": None}, False),
        ({"directions": ["in"], "unknown_direction_matches": True}, {"direction": None}, True),
        ({"directions": ["in"], "unknown_direction_matches": True}, {"direction": "out"}, False),
        ({"days": ["sun"]}, {}, True),
        ({"days": ["mon", "tue"]}, {}, False),
        ({"time_windows": [{"start": "22:00", "end": "06:00"}]}, {}, True),
        ({"time_windows": [{"start": "22:00", "end": "06:00"}]}, {"at": NIGHT - timedelta(hours=12)}, False),
        ({"time_windows": [{"start": "08:00", "end": "18:00"}]}, {"at": NIGHT - timedelta(hours=12)}, True),
        # 23:30 UTC is 00:30 Monday in Paris
        ({"days": ["mon"], "timezone": "Europe/Paris"}, {}, True),
    ],
)
def test_context_conditions(conditions: dict[str, Any], event_kw: dict[str, Any], fires: bool) -> None:
    rule = {"name": "r", "conditions": {"plates": ["ABC123"], **conditions}}
    assert ("r" in _fired([rule], _event("ABC123", **event_kw))) is fires


def test_rule_without_plate_condition_fires_on_any_plate() -> None:
    rule = {"name": "any", "conditions": {"cameras": ["cam-01"]}}
    e = _fired([rule], _event("ZZZ999"))["any"]
    assert (e.match_type, e.entry, e.candidate) == ("any", "*", "ZZZ999")


@pytest.mark.parametrize(("plate", "fires"), [("STAFF01", False), ("FLEET77", False), ("VISIT01", True)])
def test_allowlist_alerts_when_not_on_the_list(plate: str, fires: bool) -> None:
    rule = {"name": "gate", "allowlist": True, "conditions": {"watchlists": ["staff"]}}
    out = _fired([rule], _event(plate, [plate]), lists={"staff": ["STAFF01", "FLEET*"]})
    assert ("gate" in out) is fires
    if fires:
        assert out["gate"].match_type == "allowlist"


def test_disabled_rules_do_not_fire() -> None:
    rule = {"name": "off", "enabled": False, "conditions": {"plates": ["ABC123"]}}
    assert _fired([rule], _event("ABC123")) == {}


def test_database_entries_expire_and_carry_their_id() -> None:
    expiry = NIGHT + timedelta(minutes=5)
    db = {
        "wanted": [
            make_entry("ABC123", "exact", list_name="wanted", entry_id=42, reason="case 9", expires_at=expiry)
        ]
    }
    rule = {"name": "wanted", "conditions": {"watchlists": ["wanted"], "match": "fuzzy"}}
    e = _fired([rule], _event("ABC123"), db=db, now=NIGHT)["wanted"]
    assert (e.entry_id, e.reason, e.score) == (42, "case 9", 0.0)
    assert _fired([rule], _event("ABC123"), db=db, now=expiry + timedelta(seconds=1)) == {}


def test_invalid_database_regex_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid regex"):
        make_entry("AB([", "regex", list_name="db")


def test_rules_sharing_lists_share_one_index() -> None:
    rules = [{"name": f"r{i}", "conditions": {"watchlists": ["stolen"], "match": "fuzzy"}} for i in range(5)]
    engine = compile_rules(
        RuleSet.model_validate({"rules": rules, "lists": {"stolen": ["ABC123"]}}), {}, COSTS
    )
    assert len({id(r.index) for r in engine.rules}) == 1
    assert len(engine.evaluate(_event("ABC1Z3"), NIGHT)) == 5


@pytest.mark.parametrize(
    ("ruleset", "message"),
    [
        ({"rules": [{"name": "a"}, {"name": "a"}]}, "duplicate rule names"),
        ({"rules": [{"name": "a", "allowlist": True}]}, "allowlist rule needs"),
        ({"rules": [{"name": "a", "conditions": {"match": "soundex"}}]}, "conditions.match"),
        ({"rules": [{"name": "a", "conditions": {"timezone": "Mars/Olympus"}}]}, "timezone"),
        ({"rules": [{"name": "a", "cooldown": 5}]}, "cooldown"),
        ({"rules": [{"name": "a", "actions": [{"channel": "pigeon"}]}]}, "channel"),
        (
            {"rules": [{"name": "a", "conditions": {"plates": [{"pattern": "AB([", "match": "regex"}]}}]},
            "invalid regex",
        ),
    ],
)
def test_invalid_rules_are_refused(ruleset: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RuleSet.model_validate(ruleset)
