"""The back-end contract, on SQLite and on PostgreSQL alike.

Every test here runs once per back end (``[sqlite]``, ``[postgresql]``): the
components built on :class:`~safeshare.storage.Store` may rely on exactly
these properties, whichever database they are given.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from safeshare.errors import StorageError, UsageError
from safeshare.storage import ReplayCache, Store
from tests.pg import StoreFactory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEEP = NOW + timedelta(minutes=10)
DIGEST = "a" * 64


def _make_table(store: Store) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("a", 1))


def _rows(store: Store) -> list[tuple[object, ...]]:
    with store.transaction(write=False) as cur:
        return cur.execute("SELECT k, v FROM t ORDER BY k")


class BoomError(Exception):
    pass


# -- commit and rollback -------------------------------------------------------


def test_commit_is_visible_to_another_store(store_factory: StoreFactory) -> None:
    """Another store is another connection (as another process would have)."""
    first, second = store_factory(), store_factory()
    _make_table(first)
    assert _rows(second) == [("a", 1)]


def test_reopening_keeps_the_data(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        _make_table(store)
    with store_factory() as store:
        assert _rows(store) == [("a", 1)]


def _change_then_fail(store: Store) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("UPDATE t SET v = ? WHERE k = ?", (2, "a"))
        assert cur.rowcount == 1
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 3))
        cur.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [("c", 4), ("d", 5)])
        assert cur.rowcount == 2
        assert len(cur.execute("SELECT k FROM t")) == 4  # visible inside the block
        raise BoomError


def test_exception_in_block_rolls_everything_back(store: Store) -> None:
    _make_table(store)
    with pytest.raises(BoomError):
        _change_then_fail(store)
    assert _rows(store) == [("a", 1)]
    with store.transaction(write=True) as cur:  # the connection is still usable
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 2))
    assert _rows(store) == [("a", 1), ("b", 2)]


def _insert_then_violate(store: Store) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 2))
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("a", 9))


def test_failed_statement_rolls_back_the_whole_block(store: Store) -> None:
    _make_table(store)
    with pytest.raises(StorageError, match=r"UNIQUE|duplicate key"):
        _insert_then_violate(store)
    assert _rows(store) == [("a", 1)]
    with store.transaction(write=True) as cur:
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 2))
    assert _rows(store) == [("a", 1), ("b", 2)]


def test_sql_errors_are_storage_errors(store: Store) -> None:
    with (
        pytest.raises(StorageError, match="nope") as info,
        store.transaction(write=False) as cur,
    ):
        cur.execute("SELECT * FROM nope")
    expected = sqlite3.Error if store.dialect == "sqlite" else psycopg.Error
    assert isinstance(info.value.__cause__, expected)


def test_rowcount_counts_changed_rows_only(store: Store) -> None:
    _make_table(store)
    with store.transaction(write=True) as cur:
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING", ("a", 5))
        assert cur.rowcount == 0
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING", ("b", 5))
        assert cur.rowcount == 1
        cur.execute("SELECT k FROM t")
        assert cur.rowcount == -1
        cur.execute("DELETE FROM t WHERE v > ?", (0,))
        assert cur.rowcount == 2


def test_values_round_trip(store: Store) -> None:
    """int (64-bit), str (non-ASCII), bytes, None; ``%`` and ``?`` in literals."""
    blob = "BLOB" if store.dialect == "sqlite" else "BYTEA"
    with store.transaction(write=True) as cur:
        cur.execute(f"CREATE TABLE v (i BIGINT, s TEXT, b {blob}, n TEXT)")
        cur.execute(
            "INSERT INTO v (i, s, b, n) VALUES (?, ?, ?, ?)",
            (2**63 - 1, "é €", b"\x00\xff", None),
        )
        cur.execute("INSERT INTO v (i, s, b, n) VALUES (-1, '100% sure?', NULL, NULL)")
    with store.transaction(write=False) as cur:
        assert cur.execute("SELECT i, s, b, n FROM v WHERE s LIKE '%€' AND i > ?", (0,)) == [
            (2**63 - 1, "é €", b"\x00\xff", None)
        ]
        assert cur.execute("SELECT s FROM v WHERE s LIKE '100%'") == [("100% sure?",)]


# -- read-only transactions ------------------------------------------------------


def test_read_transaction_cannot_write(store: Store) -> None:
    _make_table(store)
    with (
        pytest.raises(UsageError, match="read-only transaction"),
        store.transaction(write=False) as cur,
    ):
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 2))
    assert _rows(store) == [("a", 1)]
    with store.transaction(write=True) as cur:  # the same connection writes again
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 2))
    assert _rows(store) == [("a", 1), ("b", 2)]


def test_read_transaction_sees_one_snapshot(store_factory: StoreFactory) -> None:
    reader, writer = store_factory(), store_factory()
    _make_table(writer)
    with reader.transaction(write=False) as cur:
        assert cur.execute("SELECT v FROM t") == [(1,)]
        with writer.transaction(write=True) as wcur:  # another connection commits
            wcur.execute("UPDATE t SET v = ?", (2,))
        assert cur.execute("SELECT v FROM t") == [(1,)]
    assert _rows(reader) == [("a", 2)]


# -- locking ---------------------------------------------------------------------


def test_write_transaction_takes_the_write_lock_at_begin(store_factory: StoreFactory) -> None:
    holder, other = store_factory(), store_factory(busy_timeout=0)
    with holder.transaction(write=True):
        with (
            pytest.raises(StorageError, match="is locked by another"),
            other.transaction(write=True),
        ):
            pass
        with other.transaction(write=False) as cur:  # readers are not blocked
            cur.execute("SELECT 1")
    with other.transaction(write=True):  # released by the commit
        pass


def test_read_transaction_takes_no_write_lock(store_factory: StoreFactory) -> None:
    reader, writer = store_factory(), store_factory(busy_timeout=0)
    with reader.transaction(write=False), writer.transaction(write=True):
        pass


def test_locked_database_is_a_storage_error(store_factory: StoreFactory) -> None:
    store = store_factory(busy_timeout=0.05)
    cache = ReplayCache(store)
    holder = store_factory()
    with holder.transaction(write=True):
        started = time.monotonic()
        with pytest.raises(StorageError, match="is locked by another") as info:
            cache.check_and_record("XA", "j1", DIGEST, KEEP, now=NOW)
        assert time.monotonic() - started < 5
        assert "0.05 s" in info.value.message
        assert info.value.hint
        assert not cache.contains("XA", "j1")  # readers are not blocked by the writer
    cache.check_and_record("XA", "j1", DIGEST, KEEP, now=NOW)  # and the store recovers
    assert cache.contains("XA", "j1")


def test_a_waiting_writer_proceeds_when_the_lock_is_released(
    store_factory: StoreFactory,
) -> None:
    holder, waiter = store_factory(), store_factory()
    _make_table(holder)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with holder.transaction(write=True) as cur:
            cur.execute("UPDATE t SET v = ?", (10,))
            holding.set()
            release.wait(timeout=30)

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(hold)
        assert holding.wait(timeout=30)
        threading.Timer(0.2, release.set).start()
        with waiter.transaction(write=True) as cur:  # waits, then sees the commit
            (value,) = cur.execute("SELECT v FROM t WHERE k = ?", ("a",))[0]
            cur.execute("UPDATE t SET v = ? WHERE k = ?", (value + 1, "a"))
        future.result(timeout=30)
    assert _rows(holder) == [("a", 11)]


def test_concurrent_read_modify_write_loses_no_update(store: Store) -> None:
    _make_table(store)
    n = 8
    barrier = threading.Barrier(n)

    def increment() -> None:
        barrier.wait(timeout=30)
        with store.transaction(write=True) as cur:
            (value,) = cur.execute("SELECT v FROM t WHERE k = ?", ("a",))[0]
            cur.execute("UPDATE t SET v = ? WHERE k = ?", (value + 1, "a"))

    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(increment) for _ in range(n)]:
            future.result(timeout=60)
    assert _rows(store) == [("a", 1 + n)]


# -- misuse ----------------------------------------------------------------------


def test_transactions_do_not_nest(store: Store) -> None:
    with (
        store.transaction(write=False),
        pytest.raises(UsageError, match="do not nest"),
        store.transaction(write=True),
    ):
        pass


def test_cursor_is_dead_after_its_block(store: Store) -> None:
    with store.transaction(write=False) as cur:
        pass
    with pytest.raises(UsageError, match="transaction has ended"):
        cur.execute("SELECT 1")
    with pytest.raises(UsageError, match="transaction has ended"):
        cur.executemany("SELECT ?", [(1,)])


def test_write_flag_must_be_a_bool(store: Store) -> None:
    with pytest.raises(UsageError), store.transaction(write=1):  # type: ignore[arg-type]
        pass


def test_closed_store_refuses_work(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.close()
    store.close()  # idempotent
    assert store.closed
    assert "closed" in repr(store)
    with pytest.raises(UsageError, match="closed"), store.transaction(write=False):
        pass


def test_close_inside_a_transaction_lets_it_finish(store_factory: StoreFactory) -> None:
    store = store_factory()
    _make_table(store)
    with store.transaction(write=True) as cur:
        store.close()
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("b", 2))
    assert _rows(store_factory()) == [("a", 1), ("b", 2)]


def test_store_is_refused_after_fork(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real_pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real_pid + 1)
    with pytest.raises(UsageError, match="another process"), store.transaction(write=False):
        pass
