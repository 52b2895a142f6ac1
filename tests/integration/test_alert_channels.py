"""The four channels against real local servers: aiosmtpd with STARTTLS, HTTP receivers on 127.0.0.1
standing in for Slack, the webhook target and Twilio. No traffic leaves the machine."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import hashlib
import hmac
import ssl
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alpr_core.alerting.alert import Alert
from alpr_core.alerting.channels import EmailChannel, SlackChannel, SmsChannel, WebhookChannel
from alpr_core.alerting.channels.base import ChannelError
from alpr_core.alerting.config import (
    ActionSpec,
    EmailSettings,
    RetrySettings,
    RuleSet,
    SlackSettings,
    SmsSettings,
    WebhookSettings,
)
from alpr_core.alerting.dispatcher import Dispatcher
from alpr_core.alerting.fuzzy import ConfusableCosts
from alpr_core.alerting.metrics import AlertMetrics
from alpr_core.alerting.receivers import HttpReceiver
from alpr_core.alerting.rules import EventView, compile_rules
from tests.factories import plate_event

pytestmark = pytest.mark.integration
aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
CROP = b"\xff\xd8\xff\xe0fake-jpeg-crop"


def fuzzy_alert(plate: str = "ABC1Z3") -> Alert:
    rules = RuleSet.model_validate(
        {
            "rules": [
                {
                    "name": "stolen",
                    "severity": "critical",
                    "conditions": {"plates": ["ABC123"], "match": "fuzzy"},
                }
            ]
        }
    )
    ev = EventView.from_record(plate_event(plate))
    return Alert.from_match(compile_rules(rules, {}, ConfusableCosts()).evaluate(ev)[0])


# -- SMTP with STARTTLS ---------------------------------------------------------------------------
def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "smtp.crt", tmp / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class Mailbox:
    """aiosmtpd handler keeping each message and whether the session was TLS-protected."""

    def __init__(self) -> None:
        self.messages: list[tuple[Message, bool, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (email.message_from_bytes(envelope.content), session.ssl is not None, list(envelope.rcpt_tos))
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    cert, key = _self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    box = Mailbox()
    controller = aiosmtpd_controller.Controller(
        box,
        hostname="localhost",
        port=0,
        tls_context=ctx,
        require_starttls=True,
        loop=asyncio.new_event_loop(),
    )
    controller.port = _free_port()
    controller.start()
    try:
        yield box, controller.port, cert
    finally:
        controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Crops:
    def fetch(self, url: str) -> bytes | None:
        return CROP if url.startswith("s3://") else None


def test_email_starttls_text_html_and_crop(smtp_server: tuple[Mailbox, int, Path]) -> None:
    box, port, cert = smtp_server
    settings = EmailSettings(
        host="localhost", port=port, ca_file=str(cert), sender="alpr@test.local", to=["ops@test.local"]
    )
    alert = fuzzy_alert()
    EmailChannel(settings, images=Crops()).send(alert, ActionSpec(channel="email", to=["duty@test.local"]))
    assert len(box.messages) == 1
    msg, tls, rcpts = box.messages[0]
    assert tls and rcpts == ["duty@test.local"]
    assert msg["Subject"] == "[CRITICAL] stolen: plate ABC1Z3 at cam-01"
    parts = {p.get_content_type(): p for p in msg.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "candidate ABC1Z3 vs ABC123 (fuzzy, score 0.25, operations: sub Z->2 @4 (confusable))" in text
    assert (
        "<h2>[CRITICAL] stolen: plate ABC1Z3 at cam-01</h2>"
        in parts["text/html"].get_payload(decode=True).decode()
    )
    assert parts["image/jpeg"].get_payload(decode=True) == CROP
    assert parts["image/jpeg"].get_filename() == "ABC1Z3.jpg"


def test_email_refuses_an_unverified_server(smtp_server: tuple[Mailbox, int, Path]) -> None:
    box, port, _cert = smtp_server
    with pytest.raises(ChannelError, match="SSL"):
        EmailChannel(EmailSettings(host="localhost", port=port, to=["a@test.local"])).send(
            fuzzy_alert(), ActionSpec(channel="email")
        )
    assert box.messages == []


# -- HTTP channels -------------------------------------------------------------------------------
def test_webhook_json_auth_and_hmac_signature() -> None:
    settings = WebhookSettings(
        method="PUT", auth_header="X-Api-Key", auth_value="k-123", hmac_secret="s3cret"
    )
    with HttpReceiver() as rx:
        alert = fuzzy_alert()
        WebhookChannel(settings).send(alert, ActionSpec(channel="webhook", url=f"{rx.url}/hooks/alpr"))
    req = rx.requests[0]
    assert (req.method, req.path, req.headers["X-Api-Key"]) == ("PUT", "/hooks/alpr", "k-123")
    expected = "sha256=" + hmac.new(b"s3cret", req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-ALPR-Signature"] == expected
    body = req.json()
    assert body["alert_id"] == alert.alert_id and body["plate_text"] == "ABC1Z3"
    assert body["explanation"]["operations"] == ["sub Z->2 @4 (confusable)"]


def test_slack_block_kit_message() -> None:
    with HttpReceiver(response=b"ok") as rx:
        SlackChannel(SlackSettings(webhook_url=f"{rx.url}/services/T000/B000/XXX")).send(
            fuzzy_alert(), ActionSpec(channel="slack")
        )
    req = rx.requests[0]
    assert req.path == "/services/T000/B000/XXX"
    msg = req.json()
    assert msg["text"] == "[CRITICAL] stolen: plate ABC1Z3 at cam-01"
    assert [b["type"] for b in msg["blocks"]] == ["header", "section", "section", "context"]
    assert msg["blocks"][0]["text"] == {"type": "plain_text", "text": msg["text"], "emoji": True}
    assert {"type": "mrkdwn", "text": "*Camera:*\ncam-01"} in msg["blocks"][1]["fields"]
    assert "sub Z->2 @4 (confusable)" in msg["blocks"][2]["text"]["text"]


def test_twilio_messages_api() -> None:
    sid = "AC" + "0" * 32
    with HttpReceiver(statuses=[201], response=b'{"sid": "SM1", "status": "queued"}') as rx:
        settings = SmsSettings(
            api_base=f"{rx.url}/2010-04-01",
            account_sid=sid,
            auth_token="tok",
            sender="+15550001111",
            to=["+15550002222", "+15550003333"],
        )
        delivery = SmsChannel(settings).send(fuzzy_alert(), ActionSpec(channel="sms"))
    assert delivery.detail.startswith("2 message(s)")
    assert [r.path for r in rx.requests] == [f"/2010-04-01/Accounts/{sid}/Messages.json"] * 2
    req = rx.requests[0]
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(f"{sid}:tok".encode()).decode()
    form = req.form()
    assert (form["To"], form["From"]) == ("+15550002222", "+15550001111")
    assert form["Body"].startswith("ALPR CRITICAL stolen: ABC1Z3 at cam-01")


class Letters:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def send(self, alert: Alert, action: ActionSpec, error: str, attempts: int) -> None:
        self.items.append((action.channel, error))


@pytest.mark.parametrize(
    ("statuses", "accepted", "requests", "dead"),
    [([503, 503, 200], 1, 3, 0), ([500], 0, 4, 1), ([404], 0, 1, 1)],
)
def test_retries_against_a_real_receiver(
    statuses: list[int], accepted: int, requests: int, dead: int
) -> None:
    letters = Letters()
    with HttpReceiver(statuses=statuses) as rx:
        d = Dispatcher(
            {"webhook": WebhookChannel(WebhookSettings(url=rx.url))},
            RetrySettings(delays_s=[0.05, 0.1, 0.2]),
            letters,
            AlertMetrics(CollectorRegistry()),
        )
        d.dispatch(fuzzy_alert(), [ActionSpec(channel="webhook")])
        assert d.drain(10)
        d.close()
    assert (len(rx.accepted), len(rx.requests), len(letters.items)) == (accepted, requests, dead)


def test_email_attaches_the_crop_from_minio(
    smtp_server: tuple[Mailbox, int, Path], minio_client: Any
) -> None:
    import io
    import uuid

    from alpr_core.alerting.images import MinioImageFetcher

    bucket, key = "alpr-plate-images", f"it-alerts/{uuid.uuid4().hex}.jpg"
    if not minio_client.bucket_exists(bucket):
        minio_client.make_bucket(bucket)
    minio_client.put_object(bucket, key, io.BytesIO(CROP), len(CROP), content_type="image/jpeg")
    box, port, cert = smtp_server
    try:
        alert = fuzzy_alert()
        alert = Alert(**{**alert.__dict__, "plate_image_url": f"s3://{bucket}/{key}"})
        settings = EmailSettings(host="localhost", port=port, ca_file=str(cert), to=["ops@test.local"])
        EmailChannel(settings, images=MinioImageFetcher(None, client=minio_client)).send(  # type: ignore[arg-type]
            alert, ActionSpec(channel="email")
        )
    finally:
        minio_client.remove_object(bucket, key)
    parts = {p.get_content_type(): p for p in box.messages[0][0].walk()}
    assert parts["image/jpeg"].get_payload(decode=True) == CROP


def test_sms_retry_does_not_text_a_recipient_twice() -> None:
    sid = "AC" + "2" * 32
    with HttpReceiver(statuses=[201, 503, 201]) as rx:
        settings = SmsSettings(
            api_base=rx.url,
            account_sid=sid,
            auth_token="t",
            sender="+15550000001",
            to=["+15550000002", "+15550000003"],
        )
        d = Dispatcher(
            {"sms": SmsChannel(settings)},
            RetrySettings(delays_s=[0.05]),
            Letters(),
            AlertMetrics(CollectorRegistry()),
        )
        d.dispatch(fuzzy_alert(), [ActionSpec(channel="sms")])
        assert d.drain(10)
        d.close()
    assert [(r.form()["To"], r.status) for r in rx.requests] == [
        ("+15550000002", 201),
        ("+15550000003", 503),
        ("+15550000003", 201),
    ]
