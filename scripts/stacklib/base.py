"""The Service interface and the process plumbing every server shares (pid files, logs, health waits)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = Path(os.environ.get("ALPR_STACK_DIR", ROOT / ".stack"))
HOST = "127.0.0.1"


class StackError(RuntimeError):
    """A server could not be installed or started; the message says which and where its log is."""


@dataclass
class Service:
    """One server of the local stack.

    Subclasses implement ``install`` (idempotent; downloads into ``self.cache``), ``command`` (argv of
    the foreground server process), ``healthy`` (True when it answers) and optionally ``prepare``
    (one-time initialisation after install, e.g. formatting storage) and ``post_start`` (create
    buckets, databases...).
    """

    name: str
    port: int
    memory_mb: int = 256
    start_timeout_s: float = 120.0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cache(self) -> Path:
        return STACK_DIR / "cache"

    @property
    def home(self) -> Path:
        """Per-server data directory (.stack/NAME)."""
        return STACK_DIR / self.name

    @property
    def pid_file(self) -> Path:
        return STACK_DIR / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return STACK_DIR / "logs" / f"{self.name}.log"

    # -- to implement ---------------------------------------------------------------------------
    def install(self) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-time initialisation after install (idempotent)."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def healthy(self) -> bool:
        return port_open(self.port)

    def post_start(self) -> None:
        """Runs after the server is healthy (idempotent)."""

    def stop_signal(self) -> int:
        return signal.SIGTERM

    # -- shared plumbing ------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def start(self) -> None:
        for d in (self.home, self.pid_file.parent, self.log_file.parent, self.cache):
            d.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        with open(self.log_file, "ab") as log:
            log.write(f"\n=== {time.strftime('%F %T')} starting {self.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=self.home, start_new_session=True, stdin=subprocess.DEVNULL)
        self.pid_file.write_text(str(proc.pid))

    def stop(self, timeout_s: float = 30.0) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, self.stop_signal())
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
            _reap(pid)
        if self.pid() is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_open(port: int, host: str = HOST, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout_s: float = 2.0, expect: tuple[int, ...] = (200,)) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return resp.status in expect
    except urllib.error.HTTPError as exc:
        return exc.code in expect
    except (OSError, ValueError):
        return False


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, quiet: bool = True) -> str:
    """Run an install/prepare command; raise StackError with its output on failure."""
    res = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stdout + res.stderr)[-3000:]
        raise StackError(f"command failed ({res.returncode}): {' '.join(cmd)}\n{tail}")
    return res.stdout


# -- install helpers shared by the JVM servers (Maven Central through the ordinary mvn client) ----------
M2_REPO = STACK_DIR / "cache" / "m2"
MAVEN_DIR = Path(__file__).resolve().parent / "maven"


def stamp_ok(marker: Path, stamp: str) -> bool:
    """True when ``marker`` records ``stamp`` (an install step already done with the same inputs)."""
    try:
        return marker.read_text().strip() == stamp
    except OSError:
        return False


def maven_copy_dependencies(pom: Path, out_dir: Path) -> None:
    """Resolve the runtime dependencies of ``pom`` from Maven Central into ``out_dir`` (flat jars/zips).

    The local repository is ``.stack/cache/m2`` so CI can cache it; needs ``mvn`` and a JDK on PATH.
    """
    import shutil

    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise StackError("mvn/java not found; install them: apt-get install -y openjdk-17-jdk-headless maven")
    out_dir.mkdir(parents=True, exist_ok=True)
    run(["mvn", "-q", "-B", f"-Dmaven.repo.local={M2_REPO}", "-f", str(pom), "dependency:copy-dependencies",
         f"-DoutputDirectory={out_dir}", "-DincludeScope=runtime", "-Dmdep.overWriteReleases=false"])


def maven_fetch(group: str, artifact: str, version: str, ext: str = "jar", classifier: str = "",
                pom: Path | None = None) -> Path:
    """Download one artifact (no transitive dependencies) into ``.stack/cache/m2``; return its path there.

    Uses maven-dependency-plugin 2.8's ``get``, which (unlike 3.x) does not need the artifact's parent POM:
    some artifacts (e.g. Apicurio's 3.0.9 zip) are on Central while their parent POM is not.
    """
    import shutil

    if shutil.which("mvn") is None:
        raise StackError("mvn not found; install it: apt-get install -y openjdk-17-jdk-headless maven")
    coords = f"{group}:{artifact}:{version}:{ext}" + (f":{classifier}" if classifier else "")
    run(["mvn", "-q", "-B", f"-Dmaven.repo.local={M2_REPO}", *(["-f", str(pom)] if pom else []),
         "org.apache.maven.plugins:maven-dependency-plugin:2.8:get", f"-Dartifact={coords}",
         "-Dtransitive=false"])
    name = f"{artifact}-{version}" + (f"-{classifier}" if classifier else "") + f".{ext}"
    path = M2_REPO.joinpath(*group.split("."), artifact, version, name)
    if not path.is_file():
        raise StackError(f"Maven did not deliver {coords} (expected {path})")
    return path


def cds_flags(name: str, key: str) -> list[str]:
    """JVM flags for application class-data sharing (AppCDS, JDK 13+): roughly halves JVM server start-up.

    The first start records the loaded classes and writes ``.stack/cache/cds/NAME.jsa`` when the JVM exits
    (``scripts/stack down``); later starts map that archive. ``key`` (classpath/version) and the JDK are
    recorded next to it, so a new version or JDK records a fresh archive. A stale or broken archive is only
    a warning in the log (the JVM then runs without it); ``rm -rf .stack/cache/cds`` resets it.
    ALPR_STACK_CDS=0 turns it off.
    """
    import hashlib
    import shutil

    if os.environ.get("ALPR_STACK_CDS", "1") == "0":
        return []
    java = Path(os.path.realpath(shutil.which("java") or "java"))
    try:
        jdk = f"{java}:{java.stat().st_mtime_ns}"
    except OSError:
        jdk = str(java)
    stamp = hashlib.sha256(f"{key}|{jdk}".encode()).hexdigest()
    cds_dir = STACK_DIR / "cache" / "cds"
    cds_dir.mkdir(parents=True, exist_ok=True)
    archive, marker = cds_dir / f"{name}.jsa", cds_dir / f"{name}.stamp"
    if stamp_ok(marker, stamp) and archive.is_file() and archive.stat().st_size > 1 << 20:
        return [f"-XX:SharedArchiveFile={archive}"]
    archive.unlink(missing_ok=True)
    marker.write_text(stamp + "\n")
    # recording: silence the per-class "skipping ..." warnings of the dump (hundreds of lines in the log)
    return [f"-XX:ArchiveClassesAtExit={archive}", "-Xlog:cds*=error"]


def ensure_ports_free(svc: Service, ports: list[int]) -> None:
    """Before starting ``svc``: raise StackError when one of ``ports`` already answers although ``svc`` has
    no live pid file, i.e. a process this stack did not start (or lost track of) holds it; a second
    instance would only die on bind. Nothing to check while ``svc``'s own process is alive."""
    if svc.pid() is not None:
        return
    busy = [p for p in ports if port_open(p)]
    if busy:
        raise StackError(f"{svc.name}: port(s) {', '.join(map(str, busy))} on {HOST} already in use by a "
                         f"process this stack did not start (no live pid in {svc.pid_file}); stop it, or "
                         "wait if another 'scripts/stack up' is starting it right now")


# A server started through ``locked_command`` holds an exclusive flock on its lock file for its whole
# life (the lock fd survives exec), so two concurrent ``scripts/stack up`` can never run twins that
# clobber each other's pid file: the second sees ``lock_held`` and leaves the first alone.
_LOCK_EXEC = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
    "try:\n"
    "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
    "except BlockingIOError:\n"
    "    sys.exit('another instance holds ' + sys.argv[1])\n"
    "os.set_inheritable(fd, True)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def locked_command(lock: Path, argv: list[str]) -> list[str]:
    """``argv`` wrapped so that the process takes ``lock`` and then execs (same pid, lock kept)."""
    import sys

    return [sys.executable, "-c", _LOCK_EXEC, str(lock), *argv]


def lock_held(lock: Path) -> bool:
    """True while a process started with ``locked_command(lock, ...)`` is alive."""
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class SingleInstance:
    """Mixin for a ``Service`` (``class X(SingleInstance, Service)``): at most one live server process.

    ``start`` does nothing while the server's own process is alive (pid file) or another ``up`` started
    it (lock held), so ``up`` then just waits for health; wrap ``command()``'s argv in ``self.locked()``.
    Otherwise it refuses to start when one of ``ports()`` is held by a foreign process.
    ``stop`` waits ``STOP_TIMEOUT_S`` (JVMs write their AppCDS archive on a clean exit).
    """

    STOP_TIMEOUT_S = 90.0

    @property
    def lock_file(self) -> Path:
        return self.pid_file.with_suffix(".lock")  # type: ignore[attr-defined]

    def locked(self, argv: list[str]) -> list[str]:
        return locked_command(self.lock_file, argv)

    def ports(self) -> list[int]:
        return [self.port]  # type: ignore[attr-defined]

    def start(self) -> None:
        if self.pid() is not None or lock_held(self.lock_file):  # type: ignore[attr-defined]
            return
        ensure_ports_free(self, self.ports())  # type: ignore[arg-type]
        super().start()  # type: ignore[misc]

    def stop(self, timeout_s: float | None = None) -> bool:
        return super().stop(self.STOP_TIMEOUT_S if timeout_s is None else timeout_s)  # type: ignore[misc]
