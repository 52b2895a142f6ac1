"""Generic webhook: the alert as JSON (POST or PUT), an auth header and an HMAC-SHA256 signature.

The signature header carries ``sha256=<hex>`` of the exact body bytes keyed with ``hmac_secret``, and
``X-ALPR-Timestamp`` the send time; receivers recompute it over the raw body to authenticate the call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from ..alert import Alert
from ..config import ActionSpec, WebhookSettings
from .base import ChannelError, Delivery, post


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookChannel:
    name = "webhook"

    def __init__(
        self, settings: WebhookSettings, timeout_s: float = 10.0, client: httpx.Client | None = None
    ):
        self._s = settings
        self._client = client or httpx.Client(timeout=timeout_s)

    def send(self, alert: Alert, action: ActionSpec) -> Delivery:
        url = action.url or self._s.url
        if not url:
            raise ChannelError("webhook: no url configured", retryable=False)
        body = json.dumps(alert.to_payload(), separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "X-ALPR-Alert-Id": alert.alert_id,
            "X-ALPR-Timestamp": str(int(time.time())),
        }
        auth = self._s.auth_value.get_secret_value() if self._s.auth_value else ""
        if auth:
            headers[self._s.auth_header] = auth
        secret = self._s.hmac_secret.get_secret_value() if self._s.hmac_secret else ""
        if secret:
            headers[self._s.signature_header] = sign(secret.encode(), body)
        return post(self._client, self.name, self._s.method, url, content=body, headers=headers)

    def close(self) -> None:
        self._client.close()
