"""Notification channels and their registry (name -> factory)."""

from __future__ import annotations

from collections.abc import Callable

from ..config import AlertingSettings
from .base import Channel, ChannelError, Delivery, ImageFetcher
from .email import EmailChannel
from .slack import SlackChannel
from .sms import SmsChannel
from .webhook import WebhookChannel

ChannelFactory = Callable[[AlertingSettings, "ImageFetcher | None"], Channel]

REGISTRY: dict[str, ChannelFactory] = {
    "email": lambda s, images: EmailChannel(s.channels.email, s.retry.timeout_s, images),
    "slack": lambda s, images: SlackChannel(s.channels.slack, s.retry.timeout_s),
    "webhook": lambda s, images: WebhookChannel(s.channels.webhook, s.retry.timeout_s),
    "sms": lambda s, images: SmsChannel(s.channels.sms, s.retry.timeout_s),
}


def build_channels(settings: AlertingSettings, images: ImageFetcher | None = None) -> dict[str, Channel]:
    return {name: factory(settings, images) for name, factory in REGISTRY.items()}


__all__ = [
    "REGISTRY",
    "Channel",
    "ChannelError",
    "Delivery",
    "EmailChannel",
    "ImageFetcher",
    "SlackChannel",
    "SmsChannel",
    "WebhookChannel",
    "build_channels",
]
