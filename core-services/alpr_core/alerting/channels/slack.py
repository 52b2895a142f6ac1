"""Slack incoming webhook with a Block Kit message (header, fields, match context, fallback text)."""

from __future__ import annotations

from typing import Any

import httpx

from ..alert import Alert
from ..config import ActionSpec, SlackSettings
from .base import ChannelError, Delivery, post

SEVERITY_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def slack_message(alert: Alert) -> dict[str, Any]:
    e = alert.explanation
    fields = [
        ("Plate", f"`{alert.plate}` ({alert.confidence:.2f})"),
        ("Camera", alert.camera_id),
        ("Site", alert.site or "-"),
        ("Seen at", alert.captured_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]
    match = f"*Match:* `{e.candidate}` vs `{e.entry}` ({e.match_type}, score {e.score:g})"
    if e.operations:
        match += "\n" + ", ".join(e.operations)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.headline()[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}:*\n{v}"} for k, v in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": match}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{SEVERITY_EMOJI[alert.severity]} rule `{alert.rule_name}` · "
                    f"event `{alert.event_id}`",
                }
            ],
        },
    ]
    return {"text": alert.headline(), "blocks": blocks}


class SlackChannel:
    name = "slack"

    def __init__(self, settings: SlackSettings, timeout_s: float = 10.0, client: httpx.Client | None = None):
        self._url = settings.webhook_url.get_secret_value() if settings.webhook_url else ""
        self._client = client or httpx.Client(timeout=timeout_s)

    def send(self, alert: Alert, action: ActionSpec) -> Delivery:
        url = action.url or self._url
        if not url:
            raise ChannelError("slack: no webhook_url configured", retryable=False)
        return post(self._client, self.name, "POST", url, json=slack_message(alert))

    def close(self) -> None:
        self._client.close()
