"""scripts/stack helpers of the JVM servers: Kafka probe, cluster id, single-instance lock, AppCDS flags."""

from __future__ import annotations

import base64
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from stacklib import base
from stacklib.base import lock_held, locked_command
from stacklib.services.kafka import metadata_brokers, new_cluster_id
from tests.waiting import wait_until


def test_cluster_id_is_a_kafka_uuid() -> None:
    for _ in range(50):
        cid = new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def _fake_broker(reply: bytes) -> tuple[int, list[bytes]]:
    """A one-shot TCP server that records the request and answers ``reply`` (size-prefixed)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            size = struct.unpack(">i", conn.recv(4))[0]
            seen.append(conn.recv(size))
            conn.sendall(struct.pack(">i", len(reply)) + reply)
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], seen


def test_metadata_probe_counts_brokers() -> None:
    # Metadata v1 response: correlation id, brokers [node_id, host, port, rack], controller id, topics
    broker = struct.pack(">ih", 1, 9) + b"127.0.0.1" + struct.pack(">ih", 9092, -1)
    port, seen = _fake_broker(struct.pack(">ii", 4242, 1) + broker + struct.pack(">ii", 1, 0))
    assert metadata_brokers("127.0.0.1", port) == 1
    api_key, api_version, correlation = struct.unpack(">hhi", seen[0][:8])
    assert (api_key, api_version, correlation) == (3, 1, 4242)


def test_metadata_probe_fails_cleanly() -> None:
    port, _ = _fake_broker(struct.pack(">ii", 7, 1))  # wrong correlation id
    assert metadata_brokers("127.0.0.1", port) == -1
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert metadata_brokers("127.0.0.1", free, timeout_s=0.5) == -1


def test_locked_command_keeps_the_lock_across_exec(tmp_path: Path) -> None:
    lock = tmp_path / "run" / "srv.lock"
    assert not lock_held(lock)
    first = subprocess.Popen(locked_command(lock, ["sleep", "30"]))
    try:
        # The wrapper takes the lock and then execs: wait for the exec itself (same pid, now `sleep`),
        # not for the lock, which is seen held while the pid is still the python wrapper.
        comm = Path(f"/proc/{first.pid}/comm")
        wait_until(lambda: comm.read_text().strip() == "sleep", what=f"pid {first.pid} to exec sleep")
        assert lock_held(lock)  # the lock survived the exec
        twin = subprocess.run(locked_command(lock, ["sleep", "30"]), capture_output=True, text=True,
                              timeout=20)
        assert twin.returncode != 0 and "another instance holds" in twin.stderr
    finally:
        first.kill()
        first.wait()
    assert not lock_held(lock)


def test_cds_flags_record_then_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "STACK_DIR", tmp_path)
    monkeypatch.delenv("ALPR_STACK_CDS", raising=False)
    archive = tmp_path / "cache" / "cds" / "srv.jsa"
    assert base.cds_flags("srv", "v1")[0] == f"-XX:ArchiveClassesAtExit={archive}"
    archive.write_bytes(b"\0" * (2 << 20))  # what the JVM writes on a clean exit
    assert base.cds_flags("srv", "v1") == [f"-XX:SharedArchiveFile={archive}"]
    # a new version (classpath key) records afresh and drops the stale archive
    assert base.cds_flags("srv", "v2")[0] == f"-XX:ArchiveClassesAtExit={archive}"
    assert not archive.exists()
    monkeypatch.setenv("ALPR_STACK_CDS", "0")
    assert base.cds_flags("srv", "v2") == []
