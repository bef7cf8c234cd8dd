"""What only the SQLite back end has: files, pragmas, application id, file locks.

The transaction contract both back ends share is tested in test_transactions.py.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safeshare.errors import StorageError, UsageError
from safeshare.storage import ReplayCache, Store, open_store
from safeshare.storage.sqlite import APPLICATION_ID, SQLiteBackend

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """SQLite only (overrides the two-back-end ``store`` of conftest.py)."""
    with open_store(db_path) as s:
        yield s


@pytest.fixture
def odd_umask(db_path: Path) -> Iterator[None]:
    """A umask that would leave a new file read-only (set after tmp_path exists)."""
    old = os.umask(0o277)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _raw(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """An independent connection, as another process would have."""
    return contextlib.closing(sqlite3.connect(path, isolation_level=None))


def _make_table(store: Store) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", ("a", 1))


def _rows(store: Store) -> list[tuple[object, ...]]:
    with store.transaction(write=False) as cur:
        return cur.execute("SELECT k, v FROM t ORDER BY k")


# -- creating and opening ------------------------------------------------------


@pytest.mark.usefixtures("odd_umask")
def test_new_file_is_exactly_0600_whatever_the_umask(db_path: Path) -> None:
    with open_store(db_path) as store:
        ReplayCache(store).check_and_record("XA", "j1", "d", LATER, now=NOW)
        assert _mode(db_path) == 0o600
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.exists()
        assert _mode(wal) == 0o600


def test_existing_file_mode_is_left_alone(db_path: Path) -> None:
    db_path.touch(mode=0o640)
    os.chmod(db_path, 0o640)
    with open_store(db_path):
        pass
    assert _mode(db_path) == 0o640


def test_durability_pragmas_are_in_effect(store: Store, db_path: Path) -> None:
    with store.transaction(write=False) as cur:
        assert cur.execute("PRAGMA journal_mode") == [("wal",)]
        assert cur.execute("PRAGMA synchronous") == [(2,)]  # FULL
        assert cur.execute("PRAGMA foreign_keys") == [(1,)]
        assert cur.execute("PRAGMA trusted_schema") == [(0,)]
        assert cur.execute("PRAGMA busy_timeout") == [(10_000,)]
        assert cur.execute("PRAGMA application_id") == [(APPLICATION_ID,)]
    # WAL is a property of the file: another connection sees it too.
    with _raw(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchall() == [("wal",)]


def test_every_pooled_connection_is_configured(store: Store) -> None:
    """A second, concurrent transaction gets a new connection: same pragmas."""

    def other_thread() -> list[list[tuple[object, ...]]]:
        with store.transaction(write=False) as cur:
            return [cur.execute("PRAGMA synchronous"), cur.execute("PRAGMA foreign_keys")]

    with store.transaction(write=False) as cur, ThreadPoolExecutor(max_workers=1) as pool:
        assert cur.execute("PRAGMA synchronous") == [(2,)]
        # runs while this thread's transaction still holds its connection
        assert pool.submit(other_thread).result(timeout=30) == [[(2,)], [(1,)]]


def test_reopening_keeps_the_data(db_path: Path) -> None:
    with open_store(db_path) as store:
        _make_table(store)
    with open_store(db_path) as store:
        assert _rows(store) == [("a", 1)]
        with store.transaction(write=False) as cur:
            assert cur.execute("PRAGMA application_id") == [(APPLICATION_ID,)]


def test_an_existing_empty_file_becomes_a_database(db_path: Path) -> None:
    db_path.write_bytes(b"")
    with open_store(db_path) as store:
        _make_table(store)
        assert _rows(store) == [("a", 1)]


def test_random_bytes_are_not_a_database(db_path: Path) -> None:
    junk = os.urandom(8192)
    db_path.write_bytes(junk)
    with pytest.raises(StorageError, match="is not a safeshare database") as info:
        open_store(db_path)
    assert str(db_path) in info.value.message
    assert info.value.hint
    assert db_path.read_bytes() == junk  # not touched


def test_database_of_another_application_is_refused(db_path: Path) -> None:
    with _raw(db_path) as other:
        other.execute("PRAGMA application_id = 1234")
        other.execute("CREATE TABLE theirs (x)")
    with pytest.raises(StorageError, match="another application"):
        open_store(db_path)
    with _raw(db_path) as other:  # its journal mode was not changed
        assert other.execute("PRAGMA journal_mode").fetchall() == [("delete",)]


def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(StorageError, match="does not exist") as info:
        open_store(path)
    assert str(path.parent) in info.value.message
    assert not path.parent.exists()


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not a regular file"):
        open_store(tmp_path)


@pytest.mark.parametrize("bad", ["", ":memory:", "file:x.db?mode=memory"])
def test_non_file_locations_are_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="not a database file path"):
        SQLiteBackend(bad)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "10"])
def test_bad_busy_timeout(db_path: Path, bad: object) -> None:
    with pytest.raises(UsageError, match="busy_timeout"):
        SQLiteBackend(db_path, busy_timeout=bad)  # type: ignore[arg-type]
    assert not db_path.exists()


def test_bytes_path_is_refused(db_path: Path) -> None:
    with pytest.raises(UsageError, match="text"):
        SQLiteBackend(os.fsencode(db_path))  # type: ignore[arg-type]


def test_too_old_sqlite_is_refused(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 23, 9))
    with pytest.raises(StorageError, match=r"needs 3\.24\.0 or newer"):
        SQLiteBackend(db_path)


# -- file locks (as another process holds them) ------------------------------


def test_write_transaction_takes_the_write_lock_at_begin(store: Store, db_path: Path) -> None:
    with store.transaction(write=True), _raw(db_path) as other:
        other.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    with _raw(db_path) as other:  # released by the commit
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


def test_read_transaction_takes_no_write_lock(store: Store, db_path: Path) -> None:
    with store.transaction(write=False), _raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


def test_locked_database_is_a_storage_error(db_path: Path) -> None:
    with open_store(db_path, busy_timeout=0.05) as store:
        cache = ReplayCache(store)
        with _raw(db_path) as other:
            other.execute("BEGIN IMMEDIATE")
            try:
                with pytest.raises(StorageError, match="is locked by another") as info:
                    cache.check_and_record("XA", "j1", "d", LATER, now=NOW)
                assert "0.05 s" in info.value.message
                assert isinstance(info.value.__cause__, sqlite3.OperationalError)
                # WAL: readers are not blocked by the writer.
                assert not cache.contains("XA", "j1")
            finally:
                other.execute("ROLLBACK")
        cache.check_and_record("XA", "j1", "d", LATER, now=NOW)
        assert cache.contains("XA", "j1")


def test_opening_while_locked_is_a_storage_error(db_path: Path) -> None:
    with open_store(db_path):
        pass
    with _raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StorageError, match="is locked by another"):
                open_store(db_path, busy_timeout=0)
        finally:
            other.execute("ROLLBACK")
