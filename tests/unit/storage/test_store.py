"""Store: SQLite locations, versioned schemas (on both back ends), placeholders."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from safeshare.errors import StorageError, UsageError
from safeshare.storage import (
    Migration,
    ReplayCache,
    Schema,
    Store,
    open_store,
)
from safeshare.storage._backend import qmark_to_pyformat
from safeshare.storage._store import SCHEMA_LOCK_KEY
from tests.pg import StoreFactory


def _step(version: int, *statements: str) -> Migration:
    """A migration whose SQL is the same in both dialects."""
    return Migration(version=version, sqlite=statements, postgresql=statements)


#: Not idempotent on purpose: applying it twice would fail or insert twice.
COUNTER_V1 = Schema(
    "counter",
    (
        _step(
            1,
            "CREATE TABLE safeshare_counter (n INTEGER NOT NULL)",
            "INSERT INTO safeshare_counter (n) VALUES (1)",
        ),
    ),
)
COUNTER_V2 = Schema(
    "counter",
    (*COUNTER_V1.migrations, _step(2, "INSERT INTO safeshare_counter (n) VALUES (2)")),
)


def _counter(store: Store) -> list[int]:
    with store.transaction(write=False) as cur:
        return [int(r[0]) for r in cur.execute("SELECT n FROM safeshare_counter ORDER BY n")]


def _versions(store: Store) -> dict[str, int]:
    with store.transaction(write=False) as cur:
        rows = cur.execute("SELECT component, version FROM safeshare_schema")
    return {str(c): int(v) for c, v in rows}


def _table_exists(store: Store, name: str) -> bool:
    with store.transaction(write=False) as cur:
        if store.dialect == "sqlite":
            return bool(cur.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)))
        return bool(
            cur.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?",
                (name,),
            )
        )


def _indexes(store: Store, table: str) -> set[str]:
    with store.transaction(write=False) as cur:
        if store.dialect == "sqlite":
            rows = cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
            )
        else:
            rows = cur.execute(
                "SELECT indexname FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ?",
                (table,),
            )
    return {str(r[0]) for r in rows}


# -- open_store ----------------------------------------------------------------


def test_path_str_and_pathlike_open_sqlite(db_path: Path) -> None:
    with open_store(str(db_path)) as a, open_store(db_path) as b:
        assert a.dialect == b.dialect == "sqlite"
        assert a.location == b.location == str(db_path)
        assert "open" in repr(a)


def test_sqlite_url(tmp_path: Path) -> None:
    path = tmp_path / "with space.db"
    with open_store("sqlite://" + str(tmp_path) + "/with%20space.db") as store:
        assert store.location == str(path)
    assert path.exists()


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("rel.db") as store:
        assert store.location == str(tmp_path / "rel.db")


@pytest.mark.parametrize(
    "url",
    ["sqlite://host/x.db", "sqlite:///x.db?mode=ro", "sqlite:///x.db#frag", "sqlite://"],
)
def test_bad_sqlite_urls(url: str) -> None:
    with pytest.raises(UsageError, match="sqlite:///absolute/path"):
        open_store(url)


def test_unknown_scheme() -> None:
    with pytest.raises(UsageError, match="unknown store URL scheme 'mysql'"):
        open_store("mysql://db/x")


def test_location_must_be_text_or_path() -> None:
    with pytest.raises(UsageError, match="path or a URL"):
        open_store(b"/tmp/x.db")  # type: ignore[arg-type]


# -- schemas (on both back ends) ----------------------------------------------


def test_schema_is_applied_once_per_database(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        store.ensure_schema(COUNTER_V1)
        store.ensure_schema(COUNTER_V1)
        assert _counter(store) == [1]
    with store_factory() as store:  # a new store finds the work done
        store.ensure_schema(COUNTER_V1)
        assert _counter(store) == [1]
        assert _versions(store) == {"counter": 1}


def test_known_schema_needs_no_lock_again(store_factory: StoreFactory) -> None:
    """After the first call, ensure_schema costs nothing (no write lock taken)."""
    store = store_factory(busy_timeout=0)
    store.ensure_schema(COUNTER_V1)
    holder = store_factory()
    with holder.transaction(write=True):  # another connection holds the write lock
        store.ensure_schema(COUNTER_V1)
        with pytest.raises(StorageError, match="locked"):
            store.ensure_schema(COUNTER_V2)
    store.ensure_schema(COUNTER_V2)
    assert _counter(store) == [1, 2]


def test_replay_schema_is_recorded(store: Store) -> None:
    ReplayCache(store)
    ReplayCache(store)
    assert _versions(store) == {"replay": 1}
    assert "safeshare_replay_keep_until" in _indexes(store, "safeshare_replay")


def test_components_are_independent(store: Store) -> None:
    ReplayCache(store)
    store.ensure_schema(COUNTER_V1)
    assert _versions(store) == {"replay": 1, "counter": 1}


def test_upgrade_runs_only_the_missing_migrations(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        store.ensure_schema(COUNTER_V1)
    with store_factory() as store:
        store.ensure_schema(COUNTER_V2)
        assert _counter(store) == [1, 2]
        assert _versions(store) == {"counter": 2}


def test_newer_database_is_refused_not_downgraded(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        store.ensure_schema(COUNTER_V2)
    with store_factory() as store:
        with pytest.raises(StorageError, match="knows only up to version 1") as info:
            store.ensure_schema(COUNTER_V1)
        assert info.value.hint is not None
        assert "upgrade safeshare" in info.value.hint
        assert _versions(store) == {"counter": 2}


def test_failed_migration_leaves_nothing_behind(store: Store) -> None:
    store.ensure_schema(COUNTER_V1)
    broken = Schema(
        "broken",
        (
            _step(
                1,
                "CREATE TABLE safeshare_broken (x INTEGER)",
                "INSERT INTO no_such_table VALUES (1)",
            ),
        ),
    )
    with pytest.raises(StorageError, match="no_such_table"):
        store.ensure_schema(broken)
    assert not _table_exists(store, "safeshare_broken")
    assert _versions(store) == {"counter": 1}
    store.ensure_schema(COUNTER_V2)  # the store is still usable


def test_concurrent_first_opens_apply_the_schema_once(store_factory: StoreFactory) -> None:
    """Eight stores (as eight processes would) race to set up a fresh database."""
    n = 8
    barrier = threading.Barrier(n)

    def worker() -> None:
        barrier.wait(timeout=30)
        with store_factory() as store:
            store.ensure_schema(COUNTER_V1)
            ReplayCache(store)

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(worker) for _ in range(n)]
        for future in futures:
            future.result(timeout=60)  # re-raises a worker's exception
    with store_factory() as store:
        assert _counter(store) == [1]
        assert _versions(store) == {"counter": 1, "replay": 1}


def test_each_dialect_gets_its_own_ddl(store: Store) -> None:
    ReplayCache(store)
    with store.transaction(write=False) as cur:
        if store.dialect == "sqlite":
            (sql,) = cur.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", ("safeshare_replay",)
            )[0]
            assert "WITHOUT ROWID" in sql
        else:
            columns = cur.execute(
                "SELECT column_name, data_type, collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "ORDER BY ordinal_position",
                ("safeshare_replay",),
            )
            assert columns == [
                ("iss", "text", "C"),
                ("jti", "text", "C"),
                ("content_digest", "text", None),
                ("keep_until", "bigint", None),
            ]


def test_schema_lock_key_is_a_bigint() -> None:
    assert -(2**63) <= SCHEMA_LOCK_KEY < 2**63


def test_ensure_schema_takes_a_schema(store: Store) -> None:
    with pytest.raises(UsageError):
        store.ensure_schema("replay")  # type: ignore[arg-type]


@pytest.mark.parametrize("component", ["", "Replay", "1x", "with-dash", "x" * 64])
def test_component_names(component: str) -> None:
    with pytest.raises(UsageError, match="component"):
        Schema(component, (_step(1, "SELECT 1"),))


def test_migrations_are_numbered_without_gaps() -> None:
    with pytest.raises(UsageError, match="without gaps"):
        Schema("x", (_step(1, "SELECT 1"), _step(3, "SELECT 1")))
    with pytest.raises(UsageError, match="no migrations"):
        Schema("x", ())


def test_migrations_need_both_dialects() -> None:
    with pytest.raises(UsageError, match="both SQLite and PostgreSQL"):
        Schema("x", (Migration(1, sqlite=("SELECT 1",), postgresql=()),))


# -- placeholders --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
        ("SELECT '?', \"?\" FROM t WHERE x = ?", "SELECT '?', \"?\" FROM t WHERE x = %s"),
        ("SELECT 'it''s ?' WHERE x = ?", "SELECT 'it''s ?' WHERE x = %s"),
        ("SELECT 1 -- why?\nWHERE x = ?", "SELECT 1 -- why?\nWHERE x = %s"),
        ("SELECT /* ? */ ?", "SELECT /* ? */ %s"),
        ("SELECT x % 2, '100%' WHERE y LIKE ?", "SELECT x %% 2, '100%%' WHERE y LIKE %s"),
        ("SELECT 'unterminated ?", "SELECT 'unterminated ?"),
        ("", ""),
    ],
)
def test_qmark_to_pyformat(sql: str, expected: str) -> None:
    assert qmark_to_pyformat(sql) == expected
