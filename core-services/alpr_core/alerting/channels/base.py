"""The channel interface: ``send(alert, action)`` delivers one notification or raises ChannelError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from ..alert import Alert
from ..config import ActionSpec


class ChannelError(Exception):
    """A delivery failed; ``retryable`` says whether trying again may succeed (5xx, 429, network)."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Delivery:
    """A successful delivery: the channel's acknowledgement (status code, message id)."""

    channel: str
    detail: str


class Channel(Protocol):
    name: str

    def send(self, alert: Alert, action: ActionSpec) -> Delivery: ...

    def close(self) -> None: ...


class ImageFetcher(Protocol):
    """Reads a crop (``s3://bucket/key``) for attachments; returns None when it is not available."""

    def fetch(self, url: str) -> bytes | None: ...


def check_response(channel: str, resp: httpx.Response) -> Delivery:
    """2xx is a delivery; 408, 429 and 5xx are retryable failures; other 4xx are permanent."""
    if resp.is_success:
        return Delivery(channel, f"HTTP {resp.status_code}")
    retryable = resp.status_code in (408, 429) or resp.status_code >= 500
    raise ChannelError(f"{channel}: HTTP {resp.status_code}: {resp.text[:200]}", retryable=retryable)


def post(client: httpx.Client, channel: str, method: str, url: str, **kwargs: object) -> Delivery:
    try:
        resp = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise ChannelError(f"{channel}: {type(exc).__name__}: {exc}", retryable=True) from exc
    return check_response(channel, resp)
