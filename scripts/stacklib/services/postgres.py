"""PostgreSQL 15 (TimescaleDB where the extension is installed) on 127.0.0.1:5432.

Binaries come from the Debian packages (scripts/system_deps.sh installs ``postgresql-15`` and
``postgresql-contrib``); nothing is downloaded here. The cluster lives in ``.stack/postgres/data``,
owned by a non-root user because PostgreSQL refuses to run as root: when the stack runs as root the
server is started through ``setpriv`` as ``postgres`` (override with ``ALPR_STACK_PG_USER``), otherwise
as the current user. The unix socket sits in ``.stack/postgres/run`` (mode 0700, trust auth there);
TCP on 127.0.0.1 uses scram-sha-256.

``post_start`` creates role ``alpr`` (password ``$ALPR_DATABASE__PASSWORD`` or ``alpr``) and database
``alpr_db`` owned by it, creates the extensions as superuser, then applies ``scripts/init_db.sql`` as
``alpr`` so the application owns its tables. Every step is idempotent.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..base import HOST, ROOT, Service, StackError, port_open, run
from ._checks import ensure_startable

PG_MAJOR = "15"
DATABASE = "alpr_db"
ROLE = "alpr"


def _pg_bindir() -> Path:
    """The PostgreSQL 15 binaries: $ALPR_STACK_PG_BINDIR, the Debian layout, or pg_config's answer."""
    env = os.environ.get("ALPR_STACK_PG_BINDIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            candidates.append(Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                                  check=True).stdout.strip()))
    for c in candidates:
        if (c / "postgres").is_file() and (c / "initdb").is_file():
            return c
    raise StackError("PostgreSQL 15 server binaries not found (looked in "
                     f"{', '.join(map(str, candidates))}); run: sudo bash scripts/system_deps.sh")


@dataclass
class Postgres(Service):
    name: str = "postgres"
    port: int = 5432
    memory_mb: int = 200
    start_timeout_s: float = 60.0

    # -- paths ----------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def run_user(self) -> str | None:
        """The OS user the server runs as when we are root; None = the current (non-root) user."""
        if os.geteuid() != 0:
            return None
        return os.environ.get("ALPR_STACK_PG_USER", "postgres")

    @property
    def password(self) -> str:
        return os.environ.get("ALPR_DATABASE__PASSWORD", "alpr")

    def _as_user(self, argv: list[str]) -> list[str]:
        user = self.run_user
        if user is None:
            return argv
        return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv]

    def _chown(self, path: Path) -> None:
        user = self.run_user
        if user is None:
            return
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)

    def _timescaledb_available(self) -> bool:
        try:
            libdir = subprocess.run([str(_pg_bindir() / "pg_config"), "--pkglibdir"], capture_output=True,
                                    text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError, StackError):
            return False
        return bool(glob.glob(os.path.join(libdir, "timescaledb*.so")))

    # -- Service --------------------------------------------------------------------------------
    def install(self) -> None:
        _pg_bindir()  # Debian packages; fails with a hint when absent
        user = self.run_user
        if user is not None:
            try:
                pwd.getpwnam(user)
            except KeyError as exc:
                raise StackError(f"user {user!r} (runs PostgreSQL, which refuses root) does not exist; "
                                 "install postgresql-15 (creates it) or set ALPR_STACK_PG_USER") from exc
            if shutil.which("setpriv") is None:
                raise StackError("setpriv (util-linux) is needed to start PostgreSQL as a non-root user")

    def prepare(self) -> None:
        ensure_startable(self, [self.port], "a system PostgreSQL? ss -ltnp | grep 5432")
        self.home.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.socket_dir, 0o700)
        self._chown(self.socket_dir)
        if (self.data_dir / "PG_VERSION").is_file():
            return
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # a half-finished initdb
        self.data_dir.mkdir(parents=True)
        self._chown(self.data_dir)
        # The server user must be able to traverse down to .stack/postgres.
        for parent in (self.home, self.home.parent):
            mode = parent.stat().st_mode
            if mode & 0o001 == 0:
                os.chmod(parent, mode | 0o001)
        probe = self._as_user(["test", "-w", str(self.data_dir)])
        if self.run_user is not None and subprocess.run(probe).returncode != 0:
            raise StackError(f"user {self.run_user} cannot reach {self.data_dir} (a parent directory without "
                             "o+x, e.g. a repository under /root); set ALPR_STACK_DIR to a directory it can "
                             "reach, e.g. ALPR_STACK_DIR=/var/tmp/alpr-stack")
        run(self._as_user([str(_pg_bindir() / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                           "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                           "--auth-host=scram-sha-256"]), cwd=self.home)

    def command(self) -> list[str]:
        settings = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "unix_socket_permissions": "0700",
            "max_connections": "100",
            "shared_buffers": "256MB",
            "wal_buffers": "32MB",
            "work_mem": "8MB",
            "maintenance_work_mem": "64MB",
            "effective_cache_size": "512MB",
            "fsync": "on",
            "synchronous_commit": "on",
            "max_wal_size": "4GB",
            "checkpoint_timeout": "15min",
            "wal_compression": "lz4",
            "password_encryption": "scram-sha-256",
            "logging_collector": "off",
            "log_min_duration_statement": "1000",
            "timezone": "UTC",
        }
        if self._timescaledb_available():
            settings["shared_preload_libraries"] = "timescaledb"
            settings["timescaledb.telemetry_level"] = "off"
        argv = [str(_pg_bindir() / "postgres"), "-D", str(self.data_dir)]
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        return self._as_user(argv)

    def stop_signal(self) -> int:
        return signal.SIGINT  # "fast" shutdown: roll back open transactions, checkpoint, exit

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            res = subprocess.run([str(_pg_bindir() / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port),
                                  "-t", "2"], capture_output=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired, StackError):
            return False
        return res.returncode == 0

    # -- post_start: role, database, extensions, schema ----------------------------------------
    def psql(self, sql: str | None = None, *, database: str = "postgres", file: Path | None = None,
             as_app: bool = False) -> str:
        """Run SQL with psql: as superuser over the unix socket, or as ``alpr`` over TCP (as_app)."""
        argv = [str(_pg_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", database]
        env = {"PGCONNECT_TIMEOUT": "5", "PGOPTIONS": "--client-min-messages=warning"}
        if as_app:
            argv += ["-h", HOST, "-p", str(self.port), "-U", ROLE]
            env["PGPASSWORD"] = self.password
        else:
            argv += ["-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres"]
        if file is not None:
            argv += ["-f", str(file)]
        else:
            argv += ["-c", sql or ""]
        return run(argv, env=env)

    def post_start(self) -> None:
        pw = self.password.replace("'", "''")
        exists = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'").strip()
        verb = "ALTER" if exists == "1" else "CREATE"
        self.psql(f"{verb} ROLE {ROLE} WITH LOGIN PASSWORD '{pw}'")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'").strip() != "1":
            self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE} ENCODING 'UTF8'")
        # Extensions need a superuser (timescaledb is not a trusted extension); init_db.sql repeats
        # CREATE EXTENSION IF NOT EXISTS, which is then a no-op for the application role.
        self.psql("CREATE EXTENSION IF NOT EXISTS pg_trgm", database=DATABASE)
        if self.psql("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'",
                     database=DATABASE).strip() == "1":
            self.psql("CREATE EXTENSION IF NOT EXISTS timescaledb", database=DATABASE)
        self.psql(file=ROOT / "scripts" / "init_db.sql", database=DATABASE, as_app=True)
