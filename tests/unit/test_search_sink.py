"""search sink bulk writes against a scripted client: 429s are sent again, other refusals classified,
requests cut at max_chunk_bytes, replies read by position."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alpr_common.settings import SearchSettings
from alpr_core.config import SearchSinkSettings
from alpr_core.runtime import PermanentRecordError, Record, TransientSinkError
from alpr_core.search import OpenSearchEventSink
from alpr_core.search import sink as sink_module
from tests.factories import plate_event


class ScriptedClient:
    """Answers each bulk request with the next status per document (201 when the script ran out)."""

    def __init__(self, statuses: list[dict[str, int]]):
        self.statuses = statuses
        self.requests: list[list[str]] = []  # event ids per request
        self.indices = self  # the refresh tuner's put_settings lands here
        self.settings: list[dict[str, Any]] = []

    def put_settings(self, index: str, body: dict[str, Any]) -> None:
        self.settings.append(body)

    def bulk(self, body: bytes, filter_path: str) -> dict[str, Any]:
        assert filter_path == sink_module.BULK_FILTER
        lines = body.splitlines()
        ids = [json.loads(header)["index"]["_id"] for header in lines[::2]]
        self.requests.append(ids)
        script = self.statuses.pop(0) if self.statuses else {}
        items = [{"index": {"status": script.get(i, 201)}} for i in ids]
        for item in items:
            if item["index"]["status"] >= 300:
                item["index"]["error"] = {"type": "x"}
        errors = any(item["index"]["status"] >= 300 for item in items)
        return {"errors": errors, "items": items} if errors else {"errors": False}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(sink_module.time, "sleep", slept.append)
    return slept


def make_sink(client: ScriptedClient, **settings: Any) -> OpenSearchEventSink:
    sink = OpenSearchEventSink(SearchSettings(), SearchSinkSettings(**settings), client=client)  # type: ignore[arg-type]
    sink._ready = True  # template and policy are the integration tests' part
    return sink


def records(n: int, sink: OpenSearchEventSink) -> list[Record]:
    out = []
    for i in range(n):
        event = plate_event(plate=f"P{i}")
        out.append(Record("t", 0, i, None, None, b"", event, prepared=sink.prepare(event)))
    return out


def test_refused_with_429_are_sent_again_alone_with_backoff(no_backoff: list[float]) -> None:
    client = ScriptedClient([])
    sink = make_sink(client)
    batch = records(3, sink)
    ids = [r.value["event_id"] for r in batch]  # type: ignore[index]
    client.statuses = [{ids[1]: 429}, {ids[1]: 429}]
    sink.write(batch)
    assert client.requests == [ids, [ids[1]], [ids[1]]] and no_backoff == [1.0, 2.0]
    assert client.settings == [{"index": {"refresh_interval": "1000ms"}}]  # fresh records: live


def test_429_beyond_the_retries_is_transient(no_backoff: list[float]) -> None:
    client = ScriptedClient([])
    sink = make_sink(client, max_429_retries=2)
    batch = records(2, sink)
    client.statuses = [{batch[0].value["event_id"]: 429}] * 5  # type: ignore[index]
    with pytest.raises(TransientSinkError):
        sink.write(batch)
    assert len(client.requests) == 3 and no_backoff == [1.0, 2.0]


def test_a_400_is_permanent_for_that_document_only() -> None:
    client = ScriptedClient([])
    sink = make_sink(client)
    batch = records(4, sink)
    client.statuses = [{batch[2].value["event_id"]: 400}]  # type: ignore[index]
    with pytest.raises(PermanentRecordError) as caught:
        sink.write(batch)
    assert [rec.offset for rec, _ in caught.value.failures] == [2] and len(client.requests) == 1


def test_a_5xx_item_makes_the_batch_transient() -> None:
    client = ScriptedClient([])
    sink = make_sink(client)
    batch = records(3, sink)
    client.statuses = [{batch[0].value["event_id"]: 400, batch[1].value["event_id"]: 503}]  # type: ignore[index]
    with pytest.raises(TransientSinkError):
        sink.write(batch)


def test_requests_are_cut_at_max_chunk_bytes() -> None:
    client = ScriptedClient([])
    sink = make_sink(client, max_chunk_bytes=1024)
    batch = records(10, sink)
    per_doc = len(batch[0].prepared)  # type: ignore[arg-type]
    sink.write(batch)
    assert sum(map(len, client.requests)) == 10 and len(client.requests) > 1
    assert max(map(len, client.requests)) == max(1, 1024 // per_doc)


def test_a_reply_that_does_not_match_the_request_is_transient() -> None:
    class ShortReply(ScriptedClient):
        def bulk(self, body: bytes, filter_path: str) -> dict[str, Any]:
            return {"errors": True, "items": [{"index": {"status": 201}}]}

    sink = make_sink(ShortReply([]))
    with pytest.raises(TransientSinkError):
        sink.write(records(2, sink))


def test_an_event_without_document_fields_cannot_be_prepared() -> None:
    sink = make_sink(ScriptedClient([]))
    with pytest.raises(ValueError, match="not a plate event document"):
        sink.prepare({"event_id": "x"})
