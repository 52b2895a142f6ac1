"""alert_rules.yaml: the shipped file is valid, rules reload on change, bad edits keep the old rules."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from alpr_common.config import ConfigError, load_config
from alpr_core.alerting.config import AlertEngineConfig, RuleSet
from alpr_core.alerting.fuzzy import ConfusableCosts
from alpr_core.alerting.rules import EventView
from alpr_core.alerting.service import rules_path
from alpr_core.alerting.sources import RuleProvider, RulesFile
from alpr_core.alerting.watchlist import WatchEntry, make_entry
from tests.factories import plate_event

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_shipped_config_is_valid() -> None:
    cfg = load_config(AlertEngineConfig, [ROOT / "config"])
    assert cfg.alert_engine.metrics_port == 8003
    assert cfg.alerting.retry.delays_s == [5, 10, 20]
    assert {r.name for r in cfg.alerting.rules} >= {"stolen-vehicles", "gate-unknown-vehicle"}
    assert rules_path([ROOT / "config"]) == ROOT / "config" / "alert_rules.yaml"


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPR_ALERTING__CHANNELS__SMS__AUTH_TOKEN", "tok")
    monkeypatch.setenv("ALPR_ALERTING__CHANNELS__SLACK__WEBHOOK_URL", "http://127.0.0.1:1/hook")
    cfg = load_config(AlertEngineConfig, [ROOT / "config"])
    assert cfg.alerting.channels.sms.auth_token is not None
    assert cfg.alerting.channels.sms.auth_token.get_secret_value() == "tok"
    assert cfg.alerting.channels.email.host == "localhost"  # the rest still from YAML


def test_bad_rule_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "alert_rules.yaml"
    bad.write_text("alerting:\n  rules:\n    - name: x\n      cooldown_s: -1\n")
    with pytest.raises(ConfigError, match=r"alerting.rules.0.cooldown_s"):
        load_config(AlertEngineConfig, [ROOT / "config", bad])


def _write(path: Path, plate: str) -> None:
    path.write_text(f"alerting:\n  rules:\n    - name: r\n      conditions: {{plates: [{plate}]}}\n")
    stamp = time.time() + 1 + (path.stat().st_mtime if path.exists() else 0) % 1
    os.utime(path, (stamp, stamp))


def _fires(provider: RuleProvider, plate: str) -> bool:
    return bool(provider.refresh().evaluate(EventView.from_record(plate_event(plate))))


def test_rules_reload_on_change_and_survive_bad_edits(tmp_path: Path) -> None:
    path, clock = tmp_path / "alert_rules.yaml", Clock()
    _write(path, "AAA111")
    initial = RulesFile(path).poll()
    assert initial is not None
    provider = RuleProvider(initial, ConfusableCosts(), RulesFile(path), reload_interval_s=5, clock=clock)
    assert _fires(provider, "AAA111") and not _fires(provider, "BBB222")
    _write(path, "BBB222")
    assert _fires(provider, "AAA111")  # not re-read before reload_interval_s
    clock.t = 6
    assert _fires(provider, "BBB222") and not _fires(provider, "AAA111")
    path.write_text("alerting:\n  rules:\n    - name: r\n      cooldown_s: [\n")
    clock.t = 12
    assert _fires(provider, "BBB222")  # invalid YAML: previous rules kept


class Lists:
    def __init__(self) -> None:
        self.lists: dict[str, list[WatchEntry]] = {}
        self.fail = False

    def load(self) -> dict[str, list[WatchEntry]]:
        if self.fail:
            raise ConnectionError("db down")
        return self.lists


def test_database_watchlists_refresh(tmp_path: Path) -> None:
    clock, source = Clock(), Lists()
    ruleset = RuleSet.model_validate({"rules": [{"name": "db", "conditions": {"watchlists": ["wanted"]}}]})
    provider = RuleProvider(ruleset, ConfusableCosts(), None, source, watchlist_refresh_s=30, clock=clock)
    assert not _fires(provider, "DBX001")
    source.lists = {"wanted": [make_entry("DBX00*", None, list_name="wanted", entry_id=1)]}
    clock.t = 31
    assert _fires(provider, "DBX001")
    source.fail = True
    clock.t = 62
    assert _fires(provider, "DBX001")  # database away: the last lists stay
