"""SQLite outbox: durable across reopen, oldest first, size bound policies, depth and age."""

from __future__ import annotations

from pathlib import Path

import pytest

from alpr_edge.publishing import NewRow, OutboxFullError, SqliteOutbox
from alpr_edge.publishing.outbox import id_ranges


def rows(n: int, prefix: str = "e") -> list[NewRow]:
    return [NewRow(f"{prefix}{i}", "t", "plate_event", b"cam", f"v{i}".encode(), True) for i in range(n)]


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_rows_survive_a_reopen_in_order(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = SqliteOutbox(path)
    box.add(rows(3, "a"))
    box.add(rows(2, "b"))
    box.close()
    box = SqliteOutbox(path)
    assert box.depth == 5
    got = box.fetch_after(0, 10)
    assert [r.event_id for r in got] == ["a0", "a1", "a2", "b0", "b1"]
    assert [r.id for r in got] == sorted(r.id for r in got)
    new = box.add(rows(1, "c"))
    assert new[0].id > got[-1].id  # ids keep growing after a restart
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_fetch_after_pages_and_delete_batches(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.sqlite3")
    stored = box.add(rows(10))
    page = box.fetch_after(stored[3].id, 4)
    assert [r.event_id for r in page] == ["e4", "e5", "e6", "e7"]
    assert box.delete([r.id for r in stored[:6]]) == 6
    assert box.depth == 4
    assert [r.event_id for r in box.fetch_after(0, 100)] == ["e6", "e7", "e8", "e9"]


@pytest.mark.parametrize(("ids", "spans"), [
    ([], []),
    ([5], [(5, 5)]),
    ([3, 1, 2], [(1, 3)]),
    ([1, 2, 4, 5, 7], [(1, 2), (4, 5), (7, 7)]),
    ([9, 3, 9, 4, 3], [(3, 4), (9, 9)]),  # duplicates count once
    (iter([2, 1, 8]), [(1, 2), (8, 8)]),  # any iterable, once
])
def test_id_ranges(ids, spans) -> None:
    assert id_ranges(ids) == spans


def test_delete_removes_exactly_the_acknowledged_rows(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.sqlite3")
    stored = box.add(rows(12))
    # acknowledged per partition: interleaved, unordered, one id twice, one already gone
    acked = [stored[i].id for i in (0, 6, 3, 9, 1, 7, 4, 10, 4)]
    assert box.delete(acked) == 8 and box.depth == 4
    assert [r.event_id for r in box.fetch_after(0, 100)] == ["e2", "e5", "e8", "e11"]
    assert box.delete([stored[0].id, stored[2].id]) == 1 and box.depth == 3
    assert box.delete([]) == 0


def test_stored_rows_read_back_with_their_types(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.sqlite3", clock=Clock(7.5))
    new = [NewRow("a", "t", "plate_event", None, b"\x00v", False), NewRow("b", "t", "s", b"k", b"w", True)]
    stored = box.add(new)
    got = box.fetch_after(0, 10)
    assert got == stored
    assert [(r.key, r.encoded, r.created_at) for r in got] == [(None, False, 7.5), (b"k", True, 7.5)]


def test_oldest_age(tmp_path: Path) -> None:
    clock = Clock()
    box = SqliteOutbox(tmp_path / "o.sqlite3", clock=clock)
    assert box.oldest_age_s() == 0.0
    box.add(rows(1))
    clock.t += 42.5
    box.add(rows(1))
    assert box.oldest_age_s() == pytest.approx(42.5)


@pytest.mark.parametrize(("policy", "kept", "dropped"), [
    ("drop_oldest", ["e2", "e3", "e4", "x0", "x1"], 2),
    ("refuse_new", ["e0", "e1", "e2", "e3", "e4"], 2),
])
def test_size_bound_policies(tmp_path: Path, policy: str, kept: list[str], dropped: int) -> None:
    box = SqliteOutbox(tmp_path / "o.sqlite3", max_events=5, full_policy=policy)
    box.add(rows(5))
    if policy == "refuse_new":
        with pytest.raises(OutboxFullError):
            box.add(rows(2, "x"))
    else:
        box.add(rows(2, "x"))
    assert [r.event_id for r in box.fetch_after(0, 100)] == kept
    assert box.dropped == dropped and box.depth == 5
