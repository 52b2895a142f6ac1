"""Configuration loading: YAML + environment, readable errors, --validate-config exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alpr_common.config import ConfigError, load_config
from alpr_core.config import CoreConfig
from alpr_edge.config import EdgeConfig

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_config_is_valid() -> None:
    edge = load_config(EdgeConfig, [ROOT / "config"])
    assert edge.tracking.track_buffer == 30 and edge.tracking.track_thresh == 0.5
    assert edge.kafka.topics.plates.name == "alpr.events.plates"
    core = load_config(CoreConfig, [ROOT / "config"])
    assert core.storage_consumer.metrics_port == 8002


def test_environment_overrides_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPR_KAFKA__BOOTSTRAP_SERVERS", "kafka:29092")
    monkeypatch.setenv("ALPR_TRACKING__TRACK_BUFFER", "45")
    monkeypatch.setenv("ALPR_MODEL_DIR", "/opt/models")
    cfg = load_config(EdgeConfig, [ROOT / "config"])
    assert cfg.kafka.bootstrap_servers == "kafka:29092"
    assert cfg.tracking.track_buffer == 45
    assert cfg.tracking.match_thresh == 0.8  # the rest of the section still comes from YAML
    assert str(cfg.model_dir) == "/opt/models"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("tracking:\n  trak_buffer: 3\n", "tracking.trak_buffer: unknown key"),
        ("tracking:\n  track_thresh: 1.5\n", "tracking.track_thresh: Input should be less than or equal to 1"),
        ("cameras:\n  - id: 'bad id!'\n    source: x.mp4\n", "cameras.0.id"),
        ("cameras:\n  - id: cam\n", "cameras.0.source: Field required"),
        ("kafka: [1, 2]\n", "kafka: Input should be a valid dictionary"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("tracking: {track_buffer: [\n", "not valid YAML"),
    ],
)
def test_errors_name_the_path_and_file(tmp_path: Path, yaml_text: str, expected: str) -> None:
    bad = _write(tmp_path, "bad.yaml", yaml_text)
    with pytest.raises(ConfigError) as info:
        load_config(EdgeConfig, [ROOT / "config", bad])
    text = str(info.value)
    assert expected in text
    assert "bad.yaml" in text


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config"):
        load_config(EdgeConfig, [tmp_path / "nope"])


ENTRY_POINTS = [
    [sys.executable, str(ROOT / "pilot.py")],
    [sys.executable, "-c", "import sys; from alpr_core.cli import storage_main as m; sys.exit(m())"],
    [sys.executable, "-c", "import sys; from alpr_core.cli import api_main as m; sys.exit(m())"],
]


@pytest.mark.parametrize("cmd", ENTRY_POINTS)
def test_validate_config_exit_codes(tmp_path: Path, cmd: list[str]) -> None:
    ok = subprocess.run([*cmd, "--validate-config"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "configuration OK" in ok.stdout
    bad = _write(tmp_path, "broken.yaml", "kafka:\n  bootstrap_servers: ''\n  use_avro: maybe\n")
    res = subprocess.run([*cmd, "--config", "config", "--config", str(bad), "--validate-config"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert "kafka.use_avro" in res.stderr and "broken.yaml" in res.stderr
    assert "Traceback" not in res.stderr
