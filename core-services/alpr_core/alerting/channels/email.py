"""Email over SMTP with STARTTLS: a plain-text and an HTML part, the plate crop attached when available."""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from email.message import EmailMessage

from ..alert import Alert
from ..config import ActionSpec, EmailSettings
from .base import ChannelError, Delivery, ImageFetcher

logger = logging.getLogger(__name__)


def build_message(alert: Alert, sender: str, recipients: list[str], crop: bytes | None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = alert.headline()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["X-ALPR-Alert-Id"] = alert.alert_id
    lines = alert.summary_lines()
    msg.set_content("\n".join(lines) + "\n")
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v.strip())}</td></tr>"
        for k, _, v in (line.partition(":") for line in lines)
    )
    img = '<p><img src="cid:plate-crop" alt="plate crop"></p>' if crop else ""
    msg.add_alternative(
        f"<html><body><h2>{html.escape(alert.headline())}</h2><table>{rows}</table>{img}</body></html>",
        subtype="html",
    )
    if crop:
        msg.add_attachment(crop, maintype="image", subtype="jpeg", filename=f"{alert.plate}.jpg")
    return msg


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings, timeout_s: float = 10.0, images: ImageFetcher | None = None):
        self._s = settings
        self._timeout_s = timeout_s
        self._images = images

    def _crop(self, alert: Alert) -> bytes | None:
        if not (self._s.attach_crop and self._images and alert.plate_image_url):
            return None
        try:
            return self._images.fetch(alert.plate_image_url)
        except Exception as exc:  # a missing crop must not block the alert
            logger.warning("email: crop %s not attached: %s", alert.plate_image_url, exc)
            return None

    def send(self, alert: Alert, action: ActionSpec) -> Delivery:
        recipients = action.to or self._s.to
        if not recipients:
            raise ChannelError("email: no recipients", retryable=False)
        msg = build_message(alert, self._s.sender, recipients, self._crop(alert))
        try:
            with smtplib.SMTP(self._s.host, self._s.port, timeout=self._timeout_s) as smtp:
                smtp.ehlo()
                if self._s.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self._s.ca_file))
                    smtp.ehlo()
                if self._s.username and self._s.password:
                    smtp.login(self._s.username, self._s.password.get_secret_value())
                refused = smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(
                f"email: SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS: retrying will not help
            raise ChannelError(f"email: {exc}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"email: {type(exc).__name__}: {exc}", retryable=True) from exc
        if refused:
            raise ChannelError(f"email: recipients refused: {sorted(refused)}", retryable=False)
        return Delivery(self.name, f"sent to {len(recipients)} recipient(s)")

    def close(self) -> None:
        pass
