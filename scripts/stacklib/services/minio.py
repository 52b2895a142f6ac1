"""MinIO (S3 API on 127.0.0.1:9000, console on 9001), built from source with ``go install``.

MinIO publishes no semver tags (its releases are ``RELEASE.<date>`` tags), so the module is pinned
to a pseudo-version of its master branch, resolved through the Go module proxy. The whole Go
workspace (GOPATH, GOMODCACHE, GOCACHE, GOBIN) lives under ``.stack/cache/go`` and
``.stack/cache/minio/<version>`` so CI can cache it: the first build compiles ~1,500 packages
(about 10-20 minutes on 2 cores), later runs find the binary and skip the build.

Needs Go >= 1.24 (MinIO's go.mod). ``go`` is looked up in $ALPR_STACK_GO, $PATH, /usr/local/go/bin
and the Debian /usr/lib/go-1.2x/bin directories; see scripts/system_deps.sh. ``ALPR_STACK_MINIO_BIN``
may point at a prebuilt binary instead. ``ALPR_STACK_GO_CLEAN=1`` deletes the Go module and build
caches (~2 GB) after a successful build, leaving only the binary (what CI needs to cache).

Data lives in ``.stack/minio/data``; credentials are ``$MINIO_ROOT_USER`` / ``$MINIO_ROOT_PASSWORD``
(default minioadmin/minioadmin). ``post_start`` creates the private bucket ``alpr-plate-images``
with a hand-signed (AWS SigV4) S3 PUT Bucket request, since scripts/stack is stdlib only.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..base import HOST, Service, StackError, http_ok
from ._checks import ensure_startable

MINIO_MODULE = "github.com/minio/minio"
# master of 2026-02-12 (go.mod: go 1.24.0); builds with Go 1.24 .. 1.26.
MINIO_VERSION = os.environ.get("ALPR_STACK_MINIO_VERSION", "v0.0.0-20260212201848-7aac2a2c5b7c")
BUCKET = "alpr-plate-images"
INIT_TIMEOUT_S = 120.0  # MinIO answers 503 while it initialises after the health/live probe says up
MIN_GO = (1, 24)


def _go_version(go: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([go, "version"], capture_output=True, text=True, timeout=30,
                             env={**os.environ, "GOTOOLCHAIN": "local"}).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"go(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def find_go() -> tuple[str, tuple[int, int]]:
    """The newest usable ``go``; raises StackError with the install hint when there is none."""
    candidates = [os.environ.get("ALPR_STACK_GO", ""), shutil.which("go") or "", "/usr/local/go/bin/go",
                  *sorted(glob.glob("/usr/lib/go-1.*/bin/go"), reverse=True)]
    best: tuple[str, tuple[int, int]] | None = None
    for go in filter(None, candidates):
        if not os.access(go, os.X_OK):
            continue
        ver = _go_version(go)
        if ver and (best is None or ver > best[1]):
            best = (go, ver)
    if best is None or best[1] < (1, 21):
        raise StackError("Go >= 1.21 not found (MinIO needs Go >= 1.24; older 1.21+ fetch it through the "
                         "module proxy); run: sudo bash scripts/system_deps.sh")
    return best


def sigv4_headers(method: str, host: str, path: str, access_key: str, secret_key: str,
                  body: bytes = b"", region: str = "us-east-1", query: str = "",
                  now: dt.datetime | None = None) -> dict[str, str]:
    """Headers that sign an S3 request with AWS Signature Version 4 (path-style, no extra headers).

    ``path`` must already be URI-encoded; ``query`` is the canonical (sorted, encoded) query string.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join([method, path, query,
                           f"host:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n",
                           signed, payload_hash])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def _h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = _h(_h(_h(_h(f"AWS4{secret_key}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
                         f"Signature={signature}",
    }


@dataclass
class MinIO(Service):
    name: str = "minio"
    port: int = 9000
    console_port: int = 9001
    memory_mb: int = 150
    start_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        self.env.setdefault("MINIO_ROOT_USER", self.access_key)
        self.env.setdefault("MINIO_ROOT_PASSWORD", self.secret_key)
        self.env.setdefault("MINIO_PROMETHEUS_AUTH_TYPE", "public")  # scraped by the local Prometheus
        self.env.setdefault("MINIO_UPDATE", "off")
        self.env.setdefault("MINIO_CI_CD", "on")  # data dir on the root drive is fine here
        self.env.setdefault("GOMEMLIMIT", "512MiB")

    @property
    def access_key(self) -> str:
        return os.environ.get("MINIO_ROOT_USER", "minioadmin")

    @property
    def secret_key(self) -> str:
        return os.environ.get("MINIO_ROOT_PASSWORD", "minioadmin")

    @property
    def bin_dir(self) -> Path:
        return self.cache / "minio" / MINIO_VERSION

    @property
    def binary(self) -> Path:
        override = os.environ.get("ALPR_STACK_MINIO_BIN")
        return Path(override) if override else self.bin_dir / "minio"

    @property
    def install_log(self) -> Path:
        return self.log_file.with_name("minio-install.log")

    def go_env(self) -> dict[str, str]:
        gopath = self.cache / "go"
        return {
            "GOPATH": str(gopath),
            "GOMODCACHE": str(gopath / "pkg" / "mod"),
            "GOCACHE": str(gopath / "build-cache"),
            "GOBIN": str(self.bin_dir),
            "GOFLAGS": "-modcacherw",
            "CGO_ENABLED": "0",
            # A Go older than MinIO's go.mod fetches the needed toolchain from the module proxy.
            "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "auto"),
        }

    # -- Service --------------------------------------------------------------------------------
    def install(self) -> None:
        marker = self.bin_dir / ".installed"
        if os.environ.get("ALPR_STACK_MINIO_BIN"):
            if not os.access(self.binary, os.X_OK):
                raise StackError(f"ALPR_STACK_MINIO_BIN={self.binary} is not an executable")
            return
        if marker.is_file() and os.access(self.binary, os.X_OK):
            return
        go, ver = find_go()
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.install_log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [go, "install", "-v", "-trimpath", "-ldflags", "-s -w", f"{MINIO_MODULE}@{MINIO_VERSION}"]
        print(f"{self.name:<16} go install {MINIO_MODULE}@{MINIO_VERSION} with go{ver[0]}.{ver[1]} "
              f"(first build compiles ~1,500 packages, 5-15 min on 2 cores; log {self.install_log})",
              flush=True)
        t0 = time.monotonic()
        with open(self.install_log, "ab") as log:
            log.write(f"\n=== {time.strftime('%F %T')} {' '.join(cmd)}\n".encode())
            log.flush()
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **self.go_env()}, cwd=self.cache)
            last = t0
            while proc.poll() is None:
                time.sleep(2)
                if time.monotonic() - last >= 30:
                    last = time.monotonic()
                    print(f"{self.name:<16} still building ({last - t0:.0f}s): {self._progress()}",
                          flush=True)
        if proc.returncode != 0 or not os.access(self.binary, os.X_OK):
            tail = self.install_log.read_text(errors="replace")[-3000:]
            raise StackError(f"go install of MinIO failed (rc {proc.returncode}); "
                             f"log {self.install_log}\n{tail}")
        marker.write_text(f"{MINIO_MODULE}@{MINIO_VERSION}\n")
        if os.environ.get("ALPR_STACK_GO_CLEAN") == "1":  # CI: keep only the binary (saves ~2 GB)
            for sub in ("build-cache", "pkg"):
                shutil.rmtree(self.cache / "go" / sub, ignore_errors=True)
        print(f"{self.name:<16} built in {time.monotonic() - t0:.0f}s: {self.binary}", flush=True)

    def _progress(self) -> str:
        try:
            lines = self.install_log.read_text(errors="replace").splitlines()
        except OSError:
            return "?"
        start = max((i for i, s in enumerate(lines) if s.startswith("=== ")), default=0)
        built = [s for s in lines[start + 1:] if s and not s.startswith("go: ")]
        return f"{len(built)} packages compiled, last {built[-1] if built else '-'}"

    def prepare(self) -> None:
        ensure_startable(self, [self.port, self.console_port], "ss -ltnp | grep ':900[01]'")
        (self.home / "data").mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [str(self.binary), "server", str(self.home / "data"), "--address", f"{HOST}:{self.port}",
                "--console-address", f"{HOST}:{self.console_port}", "--quiet", "--anonymous"]

    def healthy(self) -> bool:
        return http_ok(f"http://{HOST}:{self.port}/minio/health/live")

    # -- post_start: the private bucket --------------------------------------------------------
    def _head_bucket(self, timeout_s: float = INIT_TIMEOUT_S) -> int:
        """HEAD the bucket; 503 (server still initialising: "live" comes before "ready", seen on a cold
        first start) is retried until ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.s3("HEAD", f"/{BUCKET}")
            if status != 503 or time.monotonic() > deadline:
                return status
            time.sleep(0.5)

    def s3(self, method: str, path: str, body: bytes = b"") -> int:
        """Send a signed S3 request; returns the HTTP status."""
        host = f"{HOST}:{self.port}"
        headers = sigv4_headers(method, host, path, self.access_key, self.secret_key, body)
        req = urllib.request.Request(f"http://{host}{path}", data=body if method == "PUT" else None,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # loopback only
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def post_start(self) -> None:
        status = self._head_bucket()
        if status == 200:
            return
        if status != 404:
            raise StackError(f"HEAD bucket {BUCKET} answered {status} (credentials?); log {self.log_file}")
        status = self.s3("PUT", f"/{BUCKET}")
        if status not in (200, 409):  # 409 BucketAlreadyOwnedByYou: created concurrently
            raise StackError(f"PUT bucket {BUCKET} answered {status}; log {self.log_file}")
