"""Apicurio Registry 3.0 as the Schema Registry on 127.0.0.1:8081 (server name ``schema-registry``).

Maven Central carries the packaged Quarkus application of 3.0.x as
``io.apicurio:apicurio-registry-app:3.0.9:zip:all`` (``apicurio-registry-app-3.0.9-runner.jar`` + ``lib/``).
It is fetched alone with ``maven-dependency-plugin:2.8:get`` (its parent POM is missing from Central,
so it cannot be resolved as a dependency) and unpacked into ``.stack/cache/apicurio-registry-3.0.9``;
the server runs as ``java -jar apicurio-registry-app-3.0.9-runner.jar``.
(3.3.x publishes only the plain, not yet Quarkus-built jar on Central, so 3.0.9 is the newest runnable 3.x.)

Storage is Apicurio's default SQL storage on H2, but in a file
(``.stack/schema-registry/h2/registry.mv.db``) rather than in memory: schema ids survive ``down``/``up``
like the Kafka messages that carry them. ``ALPR_STACK_APICURIO_STORAGE=mem`` selects the in-memory
database (lost on ``down``). The Confluent-compatible API that
``confluent_kafka.schema_registry.SchemaRegistryClient`` speaks is ``http://localhost:8081/apis/ccompat/v7``.
Deletes are enabled (tests clean up their subjects). ``post_start`` sets the global compatibility to
BACKWARD (DESIGN.md), so an incompatible new version is refused with HTTP 409 even where a subject has no
own config. Heap: ``$APICURIO_HEAP_OPTS`` or ``-Xms64m -Xmx384m``. AppCDS archive: see ``base.cds_flags``.

Healthy = ``GET /apis/ccompat/v7/subjects`` answers 200.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..base import (
    HOST,
    MAVEN_DIR,
    Service,
    SingleInstance,
    StackError,
    cds_flags,
    http_ok,
    maven_fetch,
    stamp_ok,
)

APICURIO_VERSION = "3.0.9"
RUNNER_JAR = f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"


@dataclass
class Apicurio(SingleInstance, Service):
    name: str = "schema-registry"
    port: int = 8081
    memory_mb: int = 220
    start_timeout_s: float = 180.0

    @property
    def dist(self) -> Path:
        return self.cache / f"apicurio-registry-{APICURIO_VERSION}"

    @property
    def pom(self) -> Path:
        return MAVEN_DIR / "apicurio" / "pom.xml"

    @property
    def ccompat_url(self) -> str:
        return f"http://{HOST}:{self.port}/apis/ccompat/v7"

    def install(self) -> None:
        marker = self.dist / ".installed"
        stamp = hashlib.sha256(APICURIO_VERSION.encode() + self.pom.read_bytes()).hexdigest()
        if stamp_ok(marker, stamp) and (self.dist / RUNNER_JAR).is_file():
            return
        shutil.rmtree(self.dist, ignore_errors=True)
        archive = maven_fetch("io.apicurio", "apicurio-registry-app", APICURIO_VERSION, ext="zip",
                              classifier="all", pom=self.pom)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(self.dist)
        if not (self.dist / RUNNER_JAR).is_file():
            raise StackError(f"schema-registry: {RUNNER_JAR} missing from the unpacked zip in {self.dist}")
        marker.write_text(stamp + "\n")

    def command(self) -> list[str]:
        heap = os.environ.get("APICURIO_HEAP_OPTS", "-Xms64m -Xmx384m").split()
        props = {
            "quarkus.http.host": HOST,
            "quarkus.http.port": str(self.port),
            "quarkus.http.non-application-root-path": "/q",
            "apicurio.datasource.url": self.datasource_url,
            "apicurio.rest.deletion.group.enabled": "true",
            "apicurio.rest.deletion.artifact.enabled": "true",
            "apicurio.rest.deletion.artifact-version.enabled": "true",
        }
        cds = cds_flags(self.name, f"apicurio-{APICURIO_VERSION}:{self.dist}")
        return self.locked(["java", *heap, *cds, "-XX:+UseSerialGC", "-Djava.awt.headless=true",
                            *(f"-D{k}={v}" for k, v in props.items()), "-jar", str(self.dist / RUNNER_JAR)])

    @property
    def datasource_url(self) -> str:
        if os.environ.get("ALPR_STACK_APICURIO_STORAGE", "file") == "mem":
            return "jdbc:h2:mem:registry"
        return f"jdbc:h2:file:{self.home / 'h2' / 'registry'}"

    def healthy(self) -> bool:
        return http_ok(f"{self.ccompat_url}/subjects")

    def post_start(self) -> None:
        req = urllib.request.Request(f"{self.ccompat_url}/config", method="PUT",
                                     data=json.dumps({"compatibility": "BACKWARD"}).encode(),
                                     headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise StackError(f"schema-registry: could not set global compatibility BACKWARD: {exc}; "
                             f"see its log: {self.log_file}") from exc
