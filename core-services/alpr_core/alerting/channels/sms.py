"""SMS through Twilio's Messages API: POST {api_base}/Accounts/{sid}/Messages.json, form To/From/Body,
HTTP basic auth (Account SID, auth token). One message per recipient."""

from __future__ import annotations

import threading

import httpx

from ..alert import Alert
from ..config import ActionSpec, SmsSettings
from .base import ChannelError, Delivery, post

MAX_BODY_CHARS = 320
MAX_TRACKED_ALERTS = 10_000


def sms_body(alert: Alert) -> str:
    e = alert.explanation
    text = (
        f"ALPR {alert.severity.upper()} {alert.rule_name}: {alert.plate} at {alert.camera_id} "
        f"{alert.captured_at.strftime('%H:%M:%S')}Z (match {e.entry}, {e.match_type} {e.score:g})"
    )
    return text[:MAX_BODY_CHARS]


class SmsChannel:
    name = "sms"

    def __init__(self, settings: SmsSettings, timeout_s: float = 10.0, client: httpx.Client | None = None):
        self._s = settings
        self._client = client or httpx.Client(timeout=timeout_s)
        self._sent: dict[str, set[str]] = {}  # alert_id -> recipients delivered, while retries may come
        self._lock = threading.Lock()

    def send(self, alert: Alert, action: ActionSpec) -> Delivery:
        s = self._s
        if not (s.account_sid and s.auth_token and s.sender):
            raise ChannelError("sms: account_sid, auth_token and sender are required", retryable=False)
        recipients = action.to or s.to
        if not recipients:
            raise ChannelError("sms: no recipients", retryable=False)
        url = f"{s.api_base.rstrip('/')}/Accounts/{s.account_sid}/Messages.json"
        auth = (s.account_sid, s.auth_token.get_secret_value())
        with self._lock:  # a retry skips the recipients already served
            done = self._sent.setdefault(alert.alert_id, set())
            if len(self._sent) > MAX_TRACKED_ALERTS:
                self._sent.pop(next(iter(self._sent)))
        for to in recipients:
            if to not in done:
                data = {"To": to, "From": s.sender, "Body": sms_body(alert)}
                post(self._client, self.name, "POST", url, data=data, auth=auth)
                done.add(to)
        with self._lock:
            self._sent.pop(alert.alert_id, None)
        return Delivery(self.name, f"{len(recipients)} message(s)")

    def close(self) -> None:
        self._client.close()
