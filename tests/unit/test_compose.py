"""Structure of docker-compose.yml: ports, healthchecks, build contexts, documented variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _host_port(mapping: str | int) -> str:
    parts = str(mapping).split(":")
    return parts[-2] if len(parts) >= 2 else parts[0]


def _one_shot(svc: dict) -> bool:
    return str((svc.get("labels") or {}).get("alpr.one-shot", "")).lower() == "true"


def test_required_services_exist(compose: dict) -> None:
    required = {"kafka", "schema-registry", "kafka-ui", "timescaledb", "minio", "minio-init", "opensearch",
                "prometheus", "grafana", "loki", "promtail", "cadvisor", "metabase", "db-init", "topics-init",
                "schemas-init"}
    assert required <= set(compose["services"])
    assert "zookeeper" not in compose["services"]


def test_host_ports_are_unique(compose: dict) -> None:
    seen: dict[str, str] = {}
    for name, svc in compose["services"].items():
        for mapping in svc.get("ports", []):
            port = _host_port(mapping)
            assert port not in seen, f"host port {port} used by {seen.get(port)} and {name}"
            seen[port] = name


def test_design_ports(compose: dict) -> None:
    expected = {"kafka": "9092", "schema-registry": "8081", "kafka-ui": "8080", "timescaledb": "5432",
                "minio": "9000", "opensearch": "9200", "prometheus": "9090", "grafana": "3000",
                "metabase": "3001", "loki": "3100", "cadvisor": "8082"}
    for name, port in expected.items():
        assert port in [_host_port(m) for m in compose["services"][name].get("ports", [])], name


def test_every_service_has_a_healthcheck_or_is_one_shot(compose: dict) -> None:
    for name, svc in compose["services"].items():
        if _one_shot(svc):
            assert svc.get("restart") == "no", f"one-shot {name} must not restart"
            continue
        hc = svc.get("healthcheck") or {}
        assert hc.get("test") and not hc.get("disable"), f"{name} has no healthcheck"


def test_depends_on_waits_for_health_or_completion(compose: dict) -> None:
    services = compose["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on must use conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            want = "service_completed_successfully" if _one_shot(services[dep]) else "service_healthy"
            assert spec.get("condition") == want, f"{name} -> {dep} should wait for {want}"


def test_build_contexts_exist(compose: dict) -> None:
    for name, svc in compose["services"].items():
        build = svc.get("build")
        if not build:
            continue
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert context.is_dir(), f"{name}: build context {context} missing"
        if isinstance(build, dict) and build.get("dockerfile"):
            assert (context / build["dockerfile"]).is_file(), f"{name}: Dockerfile missing"


def test_bind_mounts_exist(compose: dict) -> None:
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = str(vol).split(":")[0]
            if src.startswith("./"):
                assert (ROOT / src).exists(), f"{name}: mounted {src} missing"


def test_every_variable_is_documented_and_secrets_are_required() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    used = set(VAR.findall(text))
    assert used, "compose uses no variables"
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    for secret in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert f"${{{secret}:?" in text, f"{secret} must be required (${{VAR:?}})"


def test_named_volumes_are_declared(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = str(vol).split(":")[0]
            if not src.startswith(("/", ".")):
                assert src in declared, f"{name}: volume {src} not declared"
