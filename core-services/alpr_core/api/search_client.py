"""A small async OpenSearch client over httpx (the API needs _search and a ping, nothing more)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from alpr_common.settings import SearchSettings

from .errors import ApiError

logger = logging.getLogger(__name__)


class SearchClient:
    def __init__(self, settings: SearchSettings, timeout_s: float):
        auth = None
        if settings.username and settings.password:
            auth = (settings.username, settings.password.get_secret_value())
        self._http = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"), auth=auth, timeout=timeout_s, verify=settings.verify_certs
        )

    async def ping(self) -> bool:
        resp = await self._http.get("/")
        return resp.status_code == 200

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await self._http.post(
            f"/{index}/_search", json=body, params={"ignore_unavailable": "true", "allow_no_indices": "true"}
        )
        if resp.status_code != 200:
            logger.error("OpenSearch answered %s: %s", resp.status_code, resp.text[:500])
            status = 503 if resp.status_code in (429, 502, 503, 504) else 500
            raise ApiError(status, "the search backend could not answer this query")
        return resp.json()

    async def close(self) -> None:
        await self._http.aclose()
