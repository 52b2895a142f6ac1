"""Prometheus on 127.0.0.1:9090 from the Debian package (scripts/system_deps.sh installs it).

Config: core-services/monitoring/prometheus/prometheus.local.yml (host ports of DESIGN.md), checked
with promtool before each start. TSDB in ``.stack/prometheus/data`` with a short retention; the
lifecycle API is on so ``curl -X POST 127.0.0.1:9090/-/reload`` picks up config edits.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from ..base import HOST, ROOT, Service, StackError, http_ok, run
from ._checks import ensure_startable

CONFIG = ROOT / "core-services" / "monitoring" / "prometheus" / "prometheus.local.yml"


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path is None:
        raise StackError(f"{name} not found; run: sudo bash scripts/system_deps.sh "
                         "(Debian package prometheus)")
    return path


@dataclass
class Prometheus(Service):
    name: str = "prometheus"
    port: int = 9090
    memory_mb: int = 80
    start_timeout_s: float = 60.0
    retention: str = os.environ.get("ALPR_STACK_PROMETHEUS_RETENTION", "2d")

    @property
    def config(self) -> Path:
        return Path(os.environ.get("ALPR_STACK_PROMETHEUS_CONFIG", CONFIG))

    def install(self) -> None:
        _tool("prometheus")
        _tool("promtool")

    def prepare(self) -> None:
        ensure_startable(self, [self.port], "the Debian prometheus service? systemctl stop prometheus")
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        run([_tool("promtool"), "check", "config", str(self.config)])

    def command(self) -> list[str]:
        return [_tool("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.home / 'data'}",
                f"--storage.tsdb.retention.time={self.retention}",
                "--storage.tsdb.retention.size=512MB",
                f"--web.listen-address={HOST}:{self.port}",
                "--web.enable-lifecycle",
                "--log.level=warn"]

    def stop_signal(self) -> int:
        return signal.SIGTERM

    def healthy(self) -> bool:
        return http_ok(f"http://{HOST}:{self.port}/-/ready")
