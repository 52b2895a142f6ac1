"""search-consumer sink: plate events into OpenSearch monthly indices with the bulk helper.

The first write installs the index template and the ISM retention policy (idempotent). A batch is
sent as bulk requests (``max_chunk_bytes`` each); documents refused with 429 are retried inside the
helper (``max_429_retries``, exponential backoff) and, if still refused, the whole batch is retried by
the runtime with the partitions paused: 429 is back-pressure, never a reason to drop or dead-letter.
Connection errors and 5xx are transient too; a 4xx other than 429 (a document OpenSearch can never
index) is permanent for that document only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError as OsConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from alpr_common.settings import SearchSettings

from ..config import SearchSinkSettings
from ..runtime import PermanentRecordError, Record, TransientSinkError
from .documents import bulk_action, index_template, ism_policy

logger = logging.getLogger(__name__)


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
        except (OsConnectionError, ConnectionError, TimeoutError) as exc:
            raise TransientSinkError(f"OpenSearch unreachable: {exc}") from exc
        except TransportError as exc:
            if _transient_status(exc.status_code):
                raise TransientSinkError(f"OpenSearch {exc.status_code}: {exc.error}") from exc
            raise

    def _bulk(self, batch: list[Record]) -> None:
        by_id = {rec.value["event_id"]: rec for rec in batch if rec.value}
        actions = [bulk_action(self._prefix, rec.value) for rec in batch if rec.value]
        failed = [
            item
            for ok, item in helpers.streaming_bulk(
                self._client,
                actions,
                chunk_size=max(1, len(actions)),
                max_chunk_bytes=self._settings.max_chunk_bytes,
                max_retries=self._settings.max_429_retries,
                initial_backoff=1,
                max_backoff=8,
                raise_on_error=False,
                raise_on_exception=True,
                yield_ok=False,
            )
            if not ok
        ]
        raise_for_failures(failed, by_id)

    def close(self) -> None:
        self._client.close()
