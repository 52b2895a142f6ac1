"""CPU time of the processes a benchmark involves, read from /proc, as milliseconds per 1,000 events.

On a shared machine the wall-clock rate of a benchmark mostly measures the other processes; the CPU
time each process spends per event does not. A :class:`CpuMeter` holds named process groups (the
benchmark process itself, a consumer it started, the stack's servers found through their pid files in
``.stack/run/NAME.pid`` or, failing that, through the owner of their listening port). Each
:meth:`CpuMeter.snapshot` sums, per group, ``utime + stime`` (all threads, exited ones included) of
every live process of the group's trees, plus ``cutime + cstime`` (children that exited and were
reaped), so a PostgreSQL server counts the postmaster, every backend and its auxiliary processes.

    meter = CpuMeter([self_group(), stack_group("pg", "postgres", 5432), stack_group("kafka", "kafka", 9092)])
    before = meter.snapshot()
    ...                                   # the measured work: n events
    costs = meter.snapshot().delta_ms_per_1k(before, n)   # {"cpu": 41.2, "pg": 0.0, "kafka": 12.9}
    print(cpu_keys("publish", costs))     # publish_cpu_ms_per_1k=41.2 publish_kafka_cpu_ms_per_1k=12.9 ...

A group whose processes cannot be found in a snapshot is missing from it and reported as ``nan``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SELF = "cpu"  # group name of the benchmark process itself: key ``<prefix>_cpu_ms_per_1k``
_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


@dataclass(frozen=True)
class ProcStat:
    """The fields of ``/proc/PID/stat`` used here; times in clock ticks."""

    pid: int
    comm: str
    ppid: int
    ticks: int  # utime + stime: the process's own CPU time, all its threads
    child_ticks: int  # cutime + cstime: children that exited and were waited for


def parse_stat(text: str) -> ProcStat:
    """Parse one ``/proc/PID/stat`` line. ``comm`` may hold spaces and parentheses: it ends at the last ')'."""
    head, sep, tail = text.rpartition(")")
    pid_text, open_paren, comm = head.partition(" (")
    fields = tail.split()
    if not sep or not open_paren or len(fields) < 15:
        raise ValueError(f"not a /proc/PID/stat line: {text[:80]!r}")
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
    return ProcStat(int(pid_text), comm, int(fields[1]), int(fields[11]) + int(fields[12]),
                    int(fields[13]) + int(fields[14]))


def read_stat(pid: int, proc: Path = PROC) -> ProcStat | None:
    """The stat of a live process, or None when it is gone (or unreadable)."""
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError):
        return None


def all_stats(proc: Path = PROC) -> dict[int, ProcStat]:
    """Every process visible in ``proc`` by pid (processes that exit while listed are skipped)."""
    out: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name), proc)
            if stat is not None:
                out[stat.pid] = stat
    return out


def tree_pids(roots: Iterable[int], stats: Mapping[int, ProcStat]) -> set[int]:
    """``roots`` (those alive) and all their descendants."""
    children: dict[int, list[int]] = {}
    for st in stats.values():
        children.setdefault(st.ppid, []).append(st.pid)
    found: set[int] = set()
    todo = [p for p in roots if p in stats]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def group_ticks(roots: Sequence[int], stats: Mapping[int, ProcStat], tree: bool = True) -> int | None:
    """CPU ticks of the roots (with their descendants when ``tree``); None when none of them is alive."""
    pids = tree_pids(roots, stats) if tree else {p for p in roots if p in stats}
    if not pids:
        return None
    if tree:
        return sum(stats[p].ticks + stats[p].child_ticks for p in pids)
    return sum(stats[p].ticks for p in pids)


# -- finding the processes ------------------------------------------------------------------------------
def stack_dir() -> Path:
    """The local stack's directory (``ALPR_STACK_DIR``, as scripts/stacklib reads it, else ``.stack``)."""
    return Path(os.environ.get("ALPR_STACK_DIR", ROOT / ".stack"))


def pid_from_file(path: Path) -> int | None:
    """The pid a stack pid file names, when that process is alive."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if (PROC / str(pid)).exists() else None


def listening_inodes(port: int, proc: Path = PROC) -> set[str]:
    """Socket inodes listening on TCP ``port`` (IPv4 and IPv6)."""
    inodes: set[str] = set()
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (proc / "net" / name).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == _LISTEN and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    return inodes


def port_owner(port: int, proc: Path = PROC) -> int | None:
    """The lowest pid holding a socket that listens on ``port`` (None: none, or not visible to us)."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port, proc)}
    if not wanted:
        return None
    owners: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                owners.append(int(entry.name))
    return min(owners) if owners else None


@dataclass(frozen=True)
class Group:
    """A named set of processes: ``find`` returns its root pids at snapshot time (empty: not running)."""

    name: str
    find: Callable[[], Sequence[int]]
    tree: bool = True  # include descendants (a server's workers, a consumer's children)


def self_group(name: str = SELF) -> Group:
    """This process alone (all its threads; not its children, which get groups of their own)."""
    pid = os.getpid()
    return Group(name, lambda: [pid], tree=False)


def pid_group(name: str, pid: Callable[[], int | None]) -> Group:
    """A process this benchmark started (and its children); ``pid`` is asked at each snapshot."""
    return Group(name, lambda: [p] if (p := pid()) is not None else [])


def stack_group(name: str, service: str, port: int) -> Group:
    """A server of the local stack: the pid in ``.stack/run/<service>.pid``, else the owner of ``port``
    (a stack started from another checkout), with all its descendants (PostgreSQL's backends...)."""

    def find() -> list[int]:
        pid = pid_from_file(stack_dir() / "run" / f"{service}.pid") or port_owner(port)
        return [pid] if pid is not None else []

    return Group(name, find)


def stack_groups(*names: str) -> list[Group]:
    """Groups for the named stack servers: ``pg``, ``kafka``, ``registry``, ``opensearch``, ``minio``."""
    known = {"pg": ("postgres", 5432), "kafka": ("kafka", 9092), "registry": ("schema-registry", 8081),
             "opensearch": ("opensearch", 9200), "minio": ("minio", 9000)}
    return [stack_group(n, *known[n]) for n in names]


# -- snapshots ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CpuSnapshot:
    """CPU clock ticks per group at ``taken_s`` (monotonic); a group not running is absent."""

    taken_s: float
    ticks: Mapping[str, int] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    def delta_s(self, earlier: CpuSnapshot) -> dict[str, float]:
        """CPU seconds per group since ``earlier``; ``nan`` for a group missing from either snapshot."""
        return {
            n: (self.ticks[n] - earlier.ticks[n]) / CLK_TCK if n in self.ticks and n in earlier.ticks
            else math.nan
            for n in self.names
        }

    def delta_ms_per_1k(self, earlier: CpuSnapshot, events: float) -> dict[str, float]:
        """CPU milliseconds per 1,000 events, per group, since ``earlier`` (``nan`` if ``events`` <= 0)."""
        if events <= 0:
            return dict.fromkeys(self.names, math.nan)
        return {n: s * 1e6 / events for n, s in self.delta_s(earlier).items()}


class CpuMeter:
    """``snapshot()`` of the CPU ticks of each group, all read from one pass over /proc."""

    def __init__(self, groups: Sequence[Group], proc: Path = PROC):
        self.groups, self.proc = tuple(groups), proc

    def snapshot(self) -> CpuSnapshot:
        stats = all_stats(self.proc)
        ticks = {}
        for g in self.groups:
            found = group_ticks(g.find(), stats, g.tree)
            if found is not None:
                ticks[g.name] = found
        return CpuSnapshot(time.monotonic(), ticks, tuple(g.name for g in self.groups))


def cpu_keys(prefix: str, costs: Mapping[str, float]) -> str:
    """``<prefix>_cpu_ms_per_1k=..`` for the benchmark's own group, ``<prefix>_<group>_cpu_ms_per_1k=..``
    for the others, in the order given (one decimal; ``nan`` when a group was not found)."""
    parts = []
    for name, value in costs.items():
        key = f"{prefix}_cpu_ms_per_1k" if name == SELF else f"{prefix}_{name}_cpu_ms_per_1k"
        parts.append(f"{key}={value:.1f}")
    return " ".join(parts)


def median_costs(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per-key median over runs (keys of the first run; ``nan`` values ignored, all-``nan`` stays ``nan``)."""
    import statistics

    if not runs:
        return {}
    out = {}
    for key in runs[0]:
        values = [r[key] for r in runs if key in r and not math.isnan(r[key])]
        out[key] = statistics.median(values) if values else math.nan
    return out
