"""scripts/_cpu.py: /proc stat parsing, process trees, and real child processes that burn known CPU."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import _cpu
from _cpu import CLK_TCK, CpuMeter, CpuSnapshot, Group, ProcStat, cpu_keys, median_costs, parse_stat

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

# stat tail after comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
_TAIL = "S 77 1 1 0 -1 4194560 10 0 0 0 {u} {s} {cu} {cs} 20 0 1 0 5 100 10"


@pytest.mark.parametrize(
    ("comm", "u", "s", "cu", "cs"),
    [
        ("python3", 10, 5, 0, 0),
        ("my proc", 1, 2, 3, 4),  # space in comm
        ("a) S 99 (b", 7, 0, 0, 1),  # parentheses and a fake state inside comm
        ("", 0, 0, 0, 0),  # empty comm
        ("postgres: alpr alpr_db 127.0.0.1(5)", 123456789, 1, 2, 3),
    ],
)
def test_parse_stat_fields(comm, u, s, cu, cs):
    st = parse_stat(f"4242 ({comm}) " + _TAIL.format(u=u, s=s, cu=cu, cs=cs) + "\n")
    assert st == ProcStat(4242, comm, 77, u + s, cu + cs)


@pytest.mark.parametrize("bad", ["", "4242 python S 1", "4242 (python) S 1 2 3", "x (p) " + _TAIL])
def test_parse_stat_rejects_malformed(bad):
    with pytest.raises(ValueError):
        parse_stat(bad.format(u=1, s=1, cu=1, cs=1))


def test_tree_ticks_sum_descendants_and_reaped_children():
    stats = {
        1: ProcStat(1, "init", 0, 1000, 0),
        10: ProcStat(10, "postmaster", 1, 5, 40),  # 40: backends that exited and were reaped
        11: ProcStat(11, "backend", 10, 7, 0),
        12: ProcStat(12, "backend", 10, 3, 0),
        13: ProcStat(13, "worker", 12, 2, 0),  # grandchild
        20: ProcStat(20, "other", 1, 99, 0),
    }
    assert _cpu.tree_pids([10], stats) == {10, 11, 12, 13}
    assert _cpu.group_ticks([10], stats) == 5 + 40 + 7 + 3 + 2
    assert _cpu.group_ticks([10], stats, tree=False) == 5
    assert _cpu.group_ticks([999], stats) is None  # not running
    assert _cpu.group_ticks([], stats) is None


def test_snapshot_deltas_and_missing_groups():
    before = CpuSnapshot(0.0, {"cpu": 100, "pg": 50}, ("cpu", "pg", "kafka"))
    after = CpuSnapshot(1.0, {"cpu": 100 + 2 * CLK_TCK, "pg": 50 + CLK_TCK // 2}, ("cpu", "pg", "kafka"))
    costs = after.delta_ms_per_1k(before, 4000)
    assert costs["cpu"] == pytest.approx(500.0)  # 2 s for 4,000 events = 0.5 ms an event
    assert costs["pg"] == pytest.approx(125.0)
    assert math.isnan(costs["kafka"])
    assert all(math.isnan(v) for v in after.delta_ms_per_1k(before, 0).values())


def test_cpu_keys_format_and_order():
    line = cpu_keys("storage", {"cpu": 12.345, "pg": 40.0, "kafka": math.nan})
    assert line == "storage_cpu_ms_per_1k=12.3 storage_pg_cpu_ms_per_1k=40.0 storage_kafka_cpu_ms_per_1k=nan"


def test_median_costs_ignores_nan():
    runs = [{"cpu": 3.0, "pg": math.nan}, {"cpu": 1.0, "pg": 5.0}, {"cpu": 2.0, "pg": 7.0}]
    out = median_costs(runs)
    assert out["cpu"] == 2.0 and out["pg"] == 6.0
    assert math.isnan(median_costs([{"x": math.nan}])["x"])
    assert median_costs([]) == {}


_BURNER = textwrap.dedent(
    """
    import os, sys, time
    def burn(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
    if sys.argv[1] == "fork":          # a child that burns and exits, reaped by this process
        pid = os.fork()
        if pid == 0:
            sys.stdin.readline(); burn(float(sys.argv[2])); os._exit(0)
        print("ready", flush=True)
        os.waitpid(pid, 0)
        print("done", flush=True)
        sys.stdin.readline()
    else:
        print("ready", flush=True)
        sys.stdin.readline()
        burn(float(sys.argv[2]))
        print("done", flush=True)
        sys.stdin.readline()
    """
)


def _run_burner(mode: str, seconds: float) -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, "-c", _BURNER, mode, str(seconds)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        groups = [Group("tree", lambda: [proc.pid]), Group("own", lambda: [proc.pid], tree=False)]
        meter = CpuMeter(groups)
        before = meter.snapshot()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        return meter.snapshot().delta_s(before)
    finally:
        proc.stdin.write("bye\n")
        proc.stdin.close()
        proc.wait(10)


def test_child_burning_known_cpu_is_measured():
    spent = _run_burner("plain", 0.4)
    tick = 1 / CLK_TCK
    assert 0.4 - 2 * tick <= spent["own"] <= 0.4 + 0.15
    assert spent["tree"] == pytest.approx(spent["own"])


def test_reaped_grandchild_counts_in_tree_only():
    spent = _run_burner("fork", 0.3)
    assert 0.3 - 2 / CLK_TCK <= spent["tree"] <= 0.3 + 0.15  # the forked child's time, via cutime
    assert spent["own"] < 0.05  # the waiting parent itself hardly ran


def test_self_group_sees_own_work():
    meter = CpuMeter([_cpu.self_group()])
    before = meter.snapshot()
    end = os.times().user + os.times().system + 0.2
    while os.times().user + os.times().system < end:
        pass
    assert meter.snapshot().delta_s(before)["cpu"] >= 0.2 - 2 / CLK_TCK


def test_port_owner_and_stack_group_fallback(tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert _cpu.port_owner(port) == os.getpid()
        monkeypatch.setenv("ALPR_STACK_DIR", str(tmp_path))  # no pid file: found through the port
        assert _cpu.stack_group("x", "nosuch", port).find() == [os.getpid()]
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "nosuch.pid").write_text(f"{os.getppid()}\n")  # a live pid file wins
        assert _cpu.stack_group("x", "nosuch", port).find() == [os.getppid()]
    assert _cpu.port_owner(port) is None


def test_pid_file_of_dead_process_is_ignored(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    (tmp_path / "dead.pid").write_text(str(proc.pid))
    assert _cpu.pid_from_file(tmp_path / "dead.pid") is None
    (tmp_path / "junk.pid").write_text("not a pid")
    assert _cpu.pid_from_file(tmp_path / "junk.pid") is None
    assert _cpu.pid_from_file(tmp_path / "missing.pid") is None
