"""search-consumer sink: plate events into OpenSearch monthly indices with _bulk requests.

The first write installs the index template and the ISM retention policy (idempotent). Each event's
two bulk lines are serialised by orjson in the runner's poll thread (``prepare``); a batch is sent
as bulk requests of at most ``max_chunk_bytes``, whose replies are filtered down to each item's
status and error (``filter_path``: no per-item JSON to build and parse for accepted documents).
Documents refused with 429 are sent again (``max_429_retries``, backoff 1, 2, 4, 8 s) and, if still
refused, the whole batch is retried by the runtime with the partitions paused: 429 is back-pressure,
never a reason to drop or dead-letter.
Connection errors and 5xx are transient too; a 4xx other than 429 (a document OpenSearch can never
index) is permanent for that document only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OsConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from alpr_common.settings import SearchSettings

from ..config import SearchSinkSettings
from ..runtime import PermanentRecordError, Record, TransientSinkError
from .documents import bulk_lines, index_template, ism_policy
from .refresh import RefreshTuner

logger = logging.getLogger(__name__)

# Bulk replies carry only what failure handling reads; items stay in request order.
BULK_FILTER = "errors,items.*.status,items.*.error"
MAX_BACKOFF_S = 8.0


def make_client(search: SearchSettings, timeout_s: float) -> OpenSearch:
    auth = (
        (search.username, search.password.get_secret_value()) if search.username and search.password else None
    )
    return OpenSearch(
        hosts=[search.url],
        http_auth=auth,
        verify_certs=search.verify_certs,
        timeout=timeout_s,
        max_retries=0,
        retry_on_timeout=False,
        http_compress=False,
        pool_maxsize=4,  # concurrent sub-batch writes (runner sink_threads) each need a connection
    )


def _indexed(status: Any) -> bool:
    return isinstance(status, int) and status < 300


def _transient_status(status: Any) -> bool:
    return not isinstance(status, int) or status == 429 or status >= 500


def raise_for_failures(items: list[dict[str, Any]], by_id: dict[str, Record]) -> None:
    """Bulk item failures -> TransientSinkError if any is 429/5xx/unknown (the batch is retried),
    else PermanentRecordError naming the refused documents' records (they are dead-lettered)."""
    transient: list[str] = []
    permanent: list[tuple[Record, str]] = []
    for item in items:
        result = next(iter(item.values()))
        status, doc_id, reason = result.get("status"), result.get("_id"), str(result.get("error"))[:500]
        if _transient_status(status) or doc_id not in by_id:
            transient.append(f"{status}: {reason}")
        else:
            permanent.append((by_id[doc_id], f"OpenSearch refused {doc_id}: {status} {reason}"))
    if transient:
        raise TransientSinkError(
            f"{len(transient)} document(s) not indexed (back-pressure or server error), e.g. {transient[0]}"
        )
    if permanent:
        raise PermanentRecordError(permanent)


class OpenSearchEventSink:
    """``write(batch)`` indexes a batch of plate events; ``_id`` = event_id."""

    def __init__(
        self, search: SearchSettings, settings: SearchSinkSettings, client: OpenSearch | None = None
    ):
        self._prefix = search.index_prefix
        self._settings = settings
        self._client = client or make_client(search, settings.request_timeout_s)
        self._ready = False
        self._setup_lock = threading.Lock()
        self._refresh = RefreshTuner(self._client, self._prefix, settings)

    def setup(self) -> None:
        """Install the index template and the ISM policy (both idempotent)."""
        s = self._settings
        self._client.indices.put_index_template(
            name=self._prefix, body=index_template(self._prefix, s.shards, s.replicas, s.refresh_interval_s)
        )
        self._put_ism_policy()
        self._ready = True
        logger.info("search sink: template %s-* (alias %s) installed", self._prefix, self._prefix)

    def _put_ism_policy(self) -> None:
        policy_id = f"{self._prefix}-retention"
        body = ism_policy(self._prefix, self._settings.retention_days)
        params: dict[str, Any] = {}
        try:
            current = self._client.transport.perform_request("GET", f"/_plugins/_ism/policies/{policy_id}")
            if current.get("policy", {}).get("states") == body["policy"]["states"]:
                return
            params = {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
        except NotFoundError:
            pass
        except TransportError as exc:
            if exc.status_code in (400, 405):  # no ISM plugin (plain OpenSearch distribution)
                logger.warning(
                    "search sink: ISM plugin not available (%s); indices are not expired by "
                    "OpenSearch, use the retention job",
                    exc.status_code,
                )
                return
            raise
        self._client.transport.perform_request(
            "PUT", f"/_plugins/_ism/policies/{policy_id}", body=body, params=params
        )
        logger.info(
            "search sink: ISM policy %s deletes indices after %d days",
            policy_id,
            self._settings.retention_days,
        )

    def write(self, batch: list[Record]) -> None:
        try:
            if not self._ready:
                with self._setup_lock:  # concurrent sub-batch writers install the template once
                    if not self._ready:
                        self.setup()
            self._bulk(batch)
            self._refresh.observe(max((rec.timestamp_ms or 0 for rec in batch), default=None) or None)
        except (OsConnectionError, ConnectionError, TimeoutError) as exc:
            raise TransientSinkError(f"OpenSearch unreachable: {exc}") from exc
        except TransportError as exc:
            if _transient_status(exc.status_code):
                raise TransientSinkError(f"OpenSearch {exc.status_code}: {exc.error}") from exc
            raise

    def prepare(self, value: dict[str, Any]) -> bytes:
        """The event's bulk lines, made by the runner in its poll thread right after decoding; ValueError
        (the record is dead-lettered) for an event without the fields of a document."""
        try:
            return bulk_lines(self._prefix, value)
        except (KeyError, AttributeError) as exc:
            raise ValueError(f"not a plate event document: {type(exc).__name__}: {exc}") from None

    def _lines(self, rec: Record) -> bytes:
        prepared = rec.prepared
        return prepared if type(prepared) is bytes else bulk_lines(self._prefix, rec.value or {})

    def _bulk(self, batch: list[Record]) -> None:
        pending = [(rec, self._lines(rec)) for rec in batch if rec.value]
        failed: list[dict[str, Any]] = []
        for attempt in range(self._settings.max_429_retries + 1):
            if attempt:
                time.sleep(min(MAX_BACKOFF_S, 2.0 ** (attempt - 1)))
            refused: list[tuple[Record, bytes]] = []
            for chunk in self._chunks(pending):
                for (rec, lines), item in self._failed_items(chunk):
                    if item.get("status") == 429:
                        refused.append((rec, lines))
                    else:
                        failed.append({"index": {**item, "_id": rec.value["event_id"]}})  # type: ignore[index]
            pending = refused
            if not pending:
                break
        failed.extend({"index": {"_id": rec.value["event_id"], "status": 429}} for rec, _ in pending)  # type: ignore[index]
        raise_for_failures(failed, {rec.value["event_id"]: rec for rec in batch if rec.value})

    def _chunks(self, docs: list[tuple[Record, bytes]]) -> Iterator[list[tuple[Record, bytes]]]:
        """``docs`` in runs of at most ``max_chunk_bytes`` (at least one document each)."""
        chunk: list[tuple[Record, bytes]] = []
        size = 0
        for doc in docs:
            if chunk and size + len(doc[1]) > self._settings.max_chunk_bytes:
                yield chunk
                chunk, size = [], 0
            chunk.append(doc)
            size += len(doc[1])
        if chunk:
            yield chunk

    def _failed_items(self, chunk: list[tuple[Record, bytes]]) -> list[tuple[tuple[Record, bytes], dict[str, Any]]]:
        """One bulk request; the documents it did not index, each with its reply item (status, error)."""
        reply = self._client.bulk(body=b"".join(lines for _, lines in chunk), filter_path=BULK_FILTER)
        if not reply.get("errors"):
            return []
        items = [next(iter(item.values())) for item in reply.get("items", [])]
        if len(items) != len(chunk):
            raise TransientSinkError(f"bulk reply with {len(items)} items for {len(chunk)} documents")
        return [(doc, item) for doc, item in zip(chunk, items, strict=True) if not _indexed(item.get("status"))]

    def close(self) -> None:
        self._client.close()
