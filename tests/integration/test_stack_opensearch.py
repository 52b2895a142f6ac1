"""OpenSearch of the local stack (scripts/stack up opensearch). Skipped when port 9200 is closed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def temp_index(opensearch_client) -> Iterator[str]:
    name = f"it-stack-{uuid.uuid4().hex[:12]}"
    yield name
    opensearch_client.indices.delete(index=name, ignore_unavailable=True)


def test_cluster_health_green_or_yellow(opensearch_client) -> None:
    health = opensearch_client.cluster.health()
    assert health["status"] in ("green", "yellow")
    assert health["number_of_nodes"] == 1
    assert opensearch_client.info()["version"]["distribution"] == "opensearch"


def test_index_with_refresh_and_search_back(opensearch_client, temp_index: str) -> None:
    event_id = str(uuid.uuid4())
    doc = {"event_id": event_id, "camera_id": "cam-1", "plate": {"normalized_text": "AB123CD"},
           "captured_at": "2026-01-01T12:00:00Z"}
    res = opensearch_client.index(index=temp_index, id=event_id, body=doc, refresh=True)
    assert res["result"] == "created"

    hits = opensearch_client.search(index=temp_index,
                                    body={"query": {"term": {"event_id.keyword": event_id}}})["hits"]
    assert hits["total"]["value"] == 1
    assert hits["hits"][0]["_source"]["plate"]["normalized_text"] == "AB123CD"

    # the same id again is an update, not a second document (idempotent sink on event_id)
    res = opensearch_client.index(index=temp_index, id=event_id, body=doc, refresh=True)
    assert res["result"] == "updated"
    assert opensearch_client.count(index=temp_index)["count"] == 1
