"""The alert engine end to end on the local stack: plate events on Kafka (Avro through the registry)
-> consumer runtime -> rules -> `alerts` table + alpr.alerts + the four channels' local receivers;
failing notifications -> the DLQ topic. Topics, consumer group, rule and list names carry a uuid."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

pytestmark = pytest.mark.integration

psycopg = pytest.importorskip("psycopg")
from confluent_kafka import Consumer, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from alpr_common.config import load_config  # noqa: E402
from alpr_common.serde import RecordSerde, registry_client  # noqa: E402
from alpr_core.alerting.alert import Alert  # noqa: E402
from alpr_core.alerting.config import AlertEngineConfig, AlertingSettings  # noqa: E402
from alpr_core.alerting.receivers import HttpReceiver  # noqa: E402
from alpr_core.alerting.service import build_engine, make_runner  # noqa: E402
from alpr_core.runtime import ConsumerMetrics  # noqa: E402
from tests.factories import plate_event  # noqa: E402
from tests.integration.conftest import SCHEMA_REGISTRY_PORT, port_open  # noqa: E402
from tests.integration.test_alert_channels import Mailbox, _free_port, _self_signed  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "1" * 32


@dataclass
class Stack:
    cfg: AlertEngineConfig
    producer: Producer
    serde: RecordSerde
    registry: CollectorRegistry
    receivers: dict[str, HttpReceiver]
    mailbox: Mailbox
    pg_dsn: str
    tag: str
    wanted_id: int

    def send(self, plate: str, **kw: Any) -> str:
        rec = plate_event(plate, **kw)
        topic = self.cfg.kafka.topics.plates.name
        self.producer.produce(topic, key=rec["camera_id"].encode(), value=self.serde.serialize(rec, topic))
        assert self.producer.flush(10) == 0
        return str(rec["event_id"])

    def alerts(self, event_id: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.pg_dsn) as conn:
            return conn.execute(
                "SELECT rule_name, plate, explanation, channel_outcomes, watchlist_id FROM alerts "
                "WHERE event_id = %s",
                (event_id,),
            ).fetchall()

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.registry.get_sample_value(name, labels or {}) or 0.0


def _wait(cond: Any, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())


def _rules(tag: str, rx: dict[str, str]) -> dict[str, Any]:
    every = [{"channel": "webhook"}, {"channel": "slack"}, {"channel": "sms"}, {"channel": "email"}]
    return {
        "lists": {f"stolen-{tag}": ["ABC123", "CHN456", "CDN777"]},
        "rules": [
            {
                "name": f"stolen-{tag}",
                "severity": "critical",
                "cooldown_s": 60,
                "conditions": {"watchlists": [f"stolen-{tag}"], "match": "fuzzy", "max_cost": 1.0},
                "actions": every,
            },
            {
                "name": f"dead-{tag}",
                "conditions": {"plates": ["DLQ999"]},
                "actions": [{"channel": "webhook", "url": rx["failing"]}],
            },
            {
                "name": f"flaky-{tag}",
                "conditions": {"plates": ["FLK100"]},
                "actions": [{"channel": "webhook", "url": rx["flaky"]}],
            },
            {
                "name": f"db-{tag}",
                "conditions": {"watchlists": [f"wanted-{tag}"]},
                "actions": [{"channel": "webhook"}],
            },
        ],
    }


def _config(
    tag: str, rx: dict[str, str], smtp_port: int, cert: Path, kafka: str, sr: str | None, pg_dsn: str
) -> AlertEngineConfig:
    cfg = load_config(AlertEngineConfig, [ROOT / "config"])
    cfg.kafka.bootstrap_servers = kafka
    cfg.kafka.use_avro = (
        sr is not None
    )  # Avro through the registry when it runs, else the same records as JSON
    cfg.kafka.schema_registry_url = sr or cfg.kafka.schema_registry_url
    for role in ("plates", "alerts", "dlq"):
        getattr(cfg.kafka.topics, role).name = f"it.alerts.{role}.{tag}"
    cfg.alert_engine.group_id = f"it-alerts-{tag}"
    cfg.database.host = "127.0.0.1"
    cfg.alerting = AlertingSettings.model_validate(
        {
            **_rules(tag, rx),
            "reload_interval_s": 3600,
            "watchlist_refresh_s": 3600,
            "retry": {"delays_s": [0.05, 0.1, 0.2], "timeout_s": 5},
            "channels": {
                "email": {
                    "host": "localhost",
                    "port": smtp_port,
                    "ca_file": str(cert),
                    "to": ["duty@test.local"],
                },
                "slack": {"webhook_url": rx["slack"] + "/services/T/B/X"},
                "webhook": {"url": rx["webhook"] + "/alpr", "hmac_secret": "k"},
                "sms": {
                    "api_base": rx["twilio"] + "/2010-04-01",
                    "account_sid": SID,
                    "auth_token": "t",
                    "sender": "+15550000001",
                    "to": ["+15550000002"],
                },
            },
        }
    )
    return cfg


def _topics(kafka: str, cfg: AlertEngineConfig, create: bool) -> None:
    admin = AdminClient({"bootstrap.servers": kafka})
    names = [cfg.kafka.topics.plates.name, cfg.kafka.topics.alerts.name, cfg.kafka.topics.dlq.name]
    if create:
        futures = admin.create_topics(
            [NewTopic(n, num_partitions=1, replication_factor=1) for n in names], operation_timeout=30
        )
    else:
        futures = admin.delete_topics(names, operation_timeout=30)
    for f in futures.values():
        with contextlib.suppress(KafkaException):
            f.result(timeout=30)


@contextlib.contextmanager
def _smtp(tmp: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    from aiosmtpd.controller import Controller

    cert, key = _self_signed(tmp)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    box, port = Mailbox(), _free_port()
    ctrl = Controller(
        box,
        hostname="localhost",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        loop=asyncio.new_event_loop(),
    )
    ctrl.start()
    try:
        yield box, port, cert
    finally:
        ctrl.stop()


def _watchlist_rows(pg_dsn: str, tag: str) -> int:
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "INSERT INTO watchlists (plate_pattern, match_type, list_name, reason, expires_at) "
            "VALUES ('EXP111', 'exact', %s, 'expired', %s)",
            (f"wanted-{tag}", past),
        )
        row = conn.execute(
            "INSERT INTO watchlists (plate_pattern, match_type, list_name, reason) "
            "VALUES ('DBW22*', 'prefix', %s, 'case 42') RETURNING id",
            (f"wanted-{tag}",),
        ).fetchone()
        assert row is not None
        return int(row[0])


def _registry_url() -> str | None:
    if not port_open(SCHEMA_REGISTRY_PORT):
        return None
    return os.environ.get(
        "ALPR_KAFKA__SCHEMA_REGISTRY_URL", f"http://127.0.0.1:{SCHEMA_REGISTRY_PORT}/apis/ccompat/v7"
    )


def _serde(name: str, cfg: AlertEngineConfig, register: bool = False) -> RecordSerde:
    client = registry_client(cfg.kafka.schema_registry_url) if cfg.kafka.use_avro else None
    return RecordSerde(name, client, use_avro=cfg.kafka.use_avro, auto_register=register)


def _cleanup(cfg: AlertEngineConfig, pg_dsn: str, tag: str) -> None:
    _topics(cfg.kafka.bootstrap_servers, cfg, create=False)
    _drop_subjects(cfg)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("DELETE FROM alerts WHERE rule_name LIKE %s", (f"%-{tag}",))
        conn.execute("DELETE FROM watchlists WHERE list_name = %s", (f"wanted-{tag}",))


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    schema_registry_url = _registry_url()
    tag = uuid.uuid4().hex[:10]
    wanted_id = _watchlist_rows(pg_dsn, tag)
    statuses = {"failing": [500], "flaky": [503, 503, 200]}
    with contextlib.ExitStack() as es:
        rx = {
            n: es.enter_context(HttpReceiver(statuses=statuses.get(n, [200])))
            for n in ("webhook", "slack", "twilio", "failing", "flaky")
        }
        box, smtp_port, cert = es.enter_context(_smtp(tmp_path_factory.mktemp("smtp")))
        urls = {n: r.url for n, r in rx.items()}
        cfg = _config(tag, urls, smtp_port, cert, kafka_bootstrap, schema_registry_url, pg_dsn)
        _topics(kafka_bootstrap, cfg, create=True)
        metrics = ConsumerMetrics("alerts")
        engine = build_engine(cfg, None, registry=metrics.registry)
        runner: Any = make_runner(cfg, engine, metrics)
        thread = threading.Thread(target=runner.run, name="alert-engine", daemon=True)
        thread.start()
        serde = _serde("plate_event", cfg, register=True)
        try:
            producer = Producer({"bootstrap.servers": kafka_bootstrap})
            yield Stack(cfg, producer, serde, metrics.registry, rx, box, pg_dsn, tag, wanted_id)
        finally:
            runner.stop()
            thread.join(30)
            _cleanup(cfg, pg_dsn, tag)


def _drop_subjects(cfg: AlertEngineConfig) -> None:
    if not cfg.kafka.use_avro:
        return
    client = registry_client(cfg.kafka.schema_registry_url)
    for topic in (cfg.kafka.topics.plates.name, cfg.kafka.topics.alerts.name):
        with contextlib.suppress(Exception):
            client.delete_subject(f"{topic}-value")
            client.delete_subject(f"{topic}-value", permanent=True)


def _for_plate(rx: HttpReceiver, plate: str) -> list[Any]:
    return [r for r in rx.accepted if plate in r.body.decode(errors="replace")]


def _alert_events(stack: Stack, event_id: str) -> list[dict[str, Any]]:
    topic = stack.cfg.kafka.topics.alerts.name
    consumer = Consumer(
        {
            "bootstrap.servers": stack.cfg.kafka.bootstrap_servers,
            "group.id": f"it-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    serde = _serde("alert_event", stack.cfg)
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    try:
        while not found and time.monotonic() < deadline:
            for msg in consumer.consume(100, 1.0):
                if msg.error() is None:
                    rec = serde.deserialize(msg.value(), topic)
                    found += [rec] if rec["event_id"] == event_id else []
    finally:
        consumer.close()
    return found


def test_fuzzy_match_alerts_with_explanation_and_unrelated_plate_does_not(stack: Stack) -> None:
    hit, miss = stack.send("ABC1Z3"), stack.send("XYZ789")
    assert stack.receivers["webhook"].wait_for(1, 60)
    rows = stack.alerts(hit)
    assert [r[0] for r in rows] == [f"stolen-{stack.tag}"]
    expl = rows[0][2]
    assert (expl["candidate"], expl["entry"], expl["match_type"]) == ("ABC1Z3", "ABC123", "fuzzy")
    assert expl["operations"] == ["sub Z->2 @4 (confusable)"] and expl["score"] == pytest.approx(0.25)
    assert _wait(lambda: stack.metric("alpr_alert_events_processed_total") >= 2)
    assert stack.alerts(miss) == []
    published = _alert_events(stack, hit)
    assert len(published) == 1 and published[0]["explanation"]["entry"] == "ABC123"
    assert published[0]["channels"] == ["webhook", "slack", "sms", "email"]


def test_all_four_channels_deliver(stack: Stack) -> None:
    event_id = stack.send("CHN4S6")  # S/5 confusion of CHN456
    rx = stack.receivers
    assert _wait(lambda: all(_for_plate(rx[n], "CHN4S6") for n in ("webhook", "slack", "twilio")), 60)
    assert _wait(
        lambda: any(m["Subject"].endswith("plate CHN4S6 at cam-01") for m, _, _ in stack.mailbox.messages)
    )
    hook = _for_plate(rx["webhook"], "CHN4S6")[0]
    assert hook.json()["event_id"] == event_id and hook.headers["X-ALPR-Signature"].startswith("sha256=")
    assert _for_plate(rx["slack"], "CHN4S6")[0].json()["blocks"][0]["type"] == "header"
    assert _for_plate(rx["twilio"], "CHN4S6")[0].form()["To"] == "+15550000002"
    mail = next(m for m, tls, _ in stack.mailbox.messages if "CHN4S6" in m["Subject"] and tls)
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}
    assert _wait(lambda: all(o.get("status") == "sent" for o in stack.alerts(event_id)[0][3].values()))


def test_same_plate_five_times_in_a_minute_alerts_once(stack: Stack) -> None:
    before = stack.metric("alpr_alert_events_processed_total")
    ids = [stack.send("CDN777") for _ in range(5)]
    assert _wait(lambda: stack.metric("alpr_alert_events_processed_total") >= before + 5)
    assert stack.receivers["webhook"].wait_for(1, 60)
    time.sleep(0.5)
    assert sum(len(stack.alerts(i)) for i in ids) == 1
    assert len(_for_plate(stack.receivers["webhook"], "CDN777")) == 1
    assert stack.metric("alpr_alerts_suppressed_total", {"reason": "cooldown"}) >= 4


def test_always_failing_receiver_ends_in_the_dlq(stack: Stack) -> None:
    event_id = stack.send("DLQ999")
    failing = stack.receivers["failing"]
    assert _wait(lambda: stack.metric("alpr_notifications_failed_total", {"channel": "webhook"}) >= 1, 60)
    assert len(failing.requests) == 4 and failing.accepted == []  # 1 try + 3 retries
    consumer = Consumer(
        {
            "bootstrap.servers": stack.cfg.kafka.bootstrap_servers,
            "group.id": f"it-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([stack.cfg.kafka.topics.dlq.name])
    letters: list[dict[str, str]] = []
    deadline = time.monotonic() + 60
    while not letters and time.monotonic() < deadline:
        letters += [
            {k: v.decode() for k, v in m.headers() or []}
            for m in consumer.consume(10, 1.0)
            if m.error() is None
        ]
    consumer.close()
    mine = [h for h in letters if h.get("alpr.event_id") == event_id]
    assert mine and mine[0]["dlq.error.class"] == "NotificationError"
    assert "HTTP 500" in mine[0]["dlq.error.message"]
    outcome = stack.alerts(event_id)[0][3]["webhook"]
    assert (outcome["status"], outcome["attempts"]) == ("failed", 4)


def test_receiver_failing_twice_then_succeeding_gets_exactly_one_delivery(stack: Stack) -> None:
    event_id = stack.send("FLK100")
    flaky = stack.receivers["flaky"]
    assert flaky.wait_for(1, 60)
    assert _wait(lambda: stack.alerts(event_id)[0][3]["webhook"].get("status") == "sent")
    time.sleep(0.5)  # nothing more may arrive
    assert [r.status for r in flaky.requests] == [503, 503, 200] and len(flaky.accepted) == 1
    assert flaky.accepted[0].json()["event_id"] == event_id
    assert stack.alerts(event_id)[0][3]["webhook"]["attempts"] == 3


def test_database_watchlist_entries_match_until_they_expire(stack: Stack) -> None:
    active, expired = stack.send("DBW229"), stack.send("EXP111")
    assert _wait(lambda: bool(stack.alerts(active)), 60)
    rule, plate, expl, _, watchlist_id = stack.alerts(active)[0]
    assert (rule, plate, watchlist_id) == (f"db-{stack.tag}", "DBW229", stack.wanted_id)
    assert (expl["match_type"], expl["entry"], expl["reason"]) == ("prefix", "DBW22*", "case 42")
    assert stack.alerts(expired) == []


def test_alert_rows_are_idempotent_on_event_and_rule(stack: Stack) -> None:
    from alpr_core.alerting.history import AlertStore
    from tests.integration.test_alert_channels import fuzzy_alert

    store = AlertStore(stack.pg_dsn)
    published: list[int] = []
    first = fuzzy_alert()
    first = Alert(**{**first.__dict__, "rule_name": f"idem-{stack.tag}"})
    again = Alert(**{**first.__dict__, "alert_id": str(uuid.uuid4())})  # the same event redelivered
    try:
        assert store.insert([first], before_commit=lambda new: published.append(len(new))) == [first]
        assert store.insert([again], before_commit=lambda new: published.append(len(new))) == []
        assert published == [1] and len(stack.alerts(first.event_id)) == 1
    finally:
        store.close()


def test_cooldowns_survive_a_restart_through_the_alerts_table(stack: Stack) -> None:
    from alpr_core.alerting.history import AlertStore
    from alpr_core.alerting.ratelimit import Cooldowns
    from alpr_core.alerting.service import seed_cooldowns

    rule = f"stolen-{stack.tag}"

    def alerted() -> bool:  # by this event, or by the first test's ABC1Z3 (same entry, in cooldown)
        with psycopg.connect(stack.pg_dsn) as conn:
            sql = "SELECT count(*) FROM alerts WHERE rule_name = %s AND explanation->>'entry' = 'ABC123'"
            row = conn.execute(sql, (rule,)).fetchone()
        return bool(row and row[0])

    stack.send("ABC12Z")  # ABC123 with a Z/2 confusion
    assert _wait(alerted, 60)
    store = AlertStore(stack.pg_dsn)
    try:
        restarted = Cooldowns()
        seed_cooldowns(restarted, store, stack.cfg)
    finally:
        store.close()
    assert not restarted.allow((rule, "ABC123"), 60)  # alerted less than 60 s before the "restart"
    assert restarted.allow((rule, "ZZZ999"), 60)


def test_rules_file_changes_apply_to_the_running_engine(stack: Stack, tmp_path: Path) -> None:
    from alpr_core.alerting.channels import WebhookChannel
    from alpr_core.alerting.config import WebhookSettings
    from tests.integration.test_alert_channels import Letters

    rules = tmp_path / "alert_rules.yaml"
    rules.write_text("alerting:\n  rules: []\n")
    cfg = stack.cfg.model_copy(deep=True)
    cfg.alerting = AlertingSettings.model_validate({"reload_interval_s": 0.1, "db_watchlists": False})
    with HttpReceiver() as rx:
        channels: Any = {"webhook": WebhookChannel(WebhookSettings(url=rx.url))}
        engine = build_engine(
            cfg, rules, use_db=False, registry=CollectorRegistry(), channels=channels, dead_letters=Letters()
        )
        try:
            assert engine.processor.process([plate_event("RLD001")]) == []
            rules.write_text(
                f"alerting:\n  rules:\n    - name: reload-{stack.tag}\n"
                "      conditions: {plates: ['RLD*']}\n      actions: [{channel: webhook}]\n"
            )
            time.sleep(0.3)
            raised = engine.processor.process([plate_event("RLD001")])
            assert [a.rule_name for a in raised] == [f"reload-{stack.tag}"]
            assert raised[0].explanation.match_type == "prefix"
            assert rx.wait_for(1, 60)
        finally:
            engine.sink.close()
