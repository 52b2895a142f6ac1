"""search documents: monthly index names, _id = event_id, template and ISM policy bodies."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from alpr_core.runtime import PermanentRecordError, Record, TransientSinkError
from alpr_core.search import (
    bulk_action,
    bulk_lines,
    event_document,
    index_name,
    index_template,
    ism_policy,
    raise_for_failures,
)
from tests.factories import plate_event


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc), "alpr-events-2026.11"),
        (datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), "alpr-events-2026.11"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc), "alpr-events-2027.01"),
    ],
)
def test_index_name_is_monthly_in_utc(when: datetime, expected: str) -> None:
    assert index_name("alpr-events", when) == expected


def test_bulk_action_uses_event_id() -> None:
    event = plate_event(plate="XY99ZZ")
    action = bulk_action("alpr-events", event)
    assert action["_id"] == event["event_id"] and action["_op_type"] == "index"
    assert action["_source"]["plate"]["normalized_text"] == "XY99ZZ"
    assert action["_source"]["captured_at"].endswith("+00:00")


def test_bulk_lines_are_the_action_as_ndjson_with_non_finite_numbers_null() -> None:
    event = plate_event(plate="XY99ZZ")
    event["plate"]["confidence"] = math.nan
    event["bbox"]["x1"] = math.inf
    data = bulk_lines("alpr-events", event)
    assert data.endswith(b"\n") and data.count(b"\n") == 2
    header, source = (json.loads(line) for line in data.splitlines())
    action = bulk_action("alpr-events", event)
    assert header == {"index": {"_index": action["_index"], "_id": event["event_id"]}}
    assert source["plate"]["confidence"] is None and source["bbox"]["x1"] is None
    assert {**source, "plate": None, "bbox": None} == {**action["_source"], "plate": None, "bbox": None}


def test_document_flattens_node_and_candidates() -> None:
    doc = event_document(plate_event(plate="AB1"))
    assert (doc["site"], doc["host"]) == ("site-a", "edge-1")
    assert doc["plate"]["candidates"] == ["AB1", "AB8"]
    assert doc["location"] is None


def test_template_has_alias_ngrams_and_keywords() -> None:
    body = index_template("alpr-x", shards=2, replicas=0, refresh_interval_s=5)
    assert body["index_patterns"] == ["alpr-x-*"] and "alpr-x" in body["template"]["aliases"]
    props = body["template"]["mappings"]["properties"]
    plate = props["plate"]["properties"]["normalized_text"]
    assert plate["type"] == "keyword" and plate["fields"]["prefix"]["analyzer"] == "plate_edge_ngram"
    assert props["camera_id"]["type"] == props["site"]["type"] == "keyword"
    assert props["captured_at"]["type"] == "date" and props["location"]["type"] == "geo_point"
    assert body["template"]["settings"]["number_of_shards"] == 2


@pytest.mark.parametrize(("days", "age"), [(90, "121d"), (30, "61d")])
def test_ism_policy_deletes_after_retention(days: int, age: str) -> None:
    policy = ism_policy("alpr-events", days)["policy"]
    hot, delete = policy["states"]
    assert hot["transitions"][0]["conditions"]["min_index_age"] == age
    assert delete["actions"] == [{"delete": {}}]
    assert policy["ism_template"][0]["index_patterns"] == ["alpr-events-*"]


def _rec(event_id: str) -> Record:
    return Record("t", 0, 0, None, None, b"", {"event_id": event_id})


def _item(doc_id: str, status: object) -> dict:
    return {"index": {"_id": doc_id, "status": status, "error": {"type": "x"}}}


@pytest.mark.parametrize(
    ("items", "raised", "rejected"),
    [
        ([], None, []),
        ([_item("a", 429)], TransientSinkError, []),
        ([_item("a", 503), _item("b", 400)], TransientSinkError, []),
        ([_item("a", "N/A")], TransientSinkError, []),
        ([_item("a", 400), _item("b", 409)], PermanentRecordError, ["a", "b"]),
        ([_item("zz", 400)], TransientSinkError, []),
    ],
    ids=["none", "429", "5xx-wins", "no-status", "4xx", "unknown-id"],
)
def test_bulk_failures_are_classified(
    items: list, raised: type[Exception] | None, rejected: list[str]
) -> None:
    by_id = {i: _rec(i) for i in ("a", "b")}
    if raised is None:
        raise_for_failures(items, by_id)
        return
    with pytest.raises(raised) as info:
        raise_for_failures(items, by_id)
    if rejected:
        assert [rec.value["event_id"] for rec, _ in info.value.failures] == rejected
