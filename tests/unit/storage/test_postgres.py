"""What only the PostgreSQL back end has: URLs, the server's errors, its locks.

The transaction contract both back ends share is tested in test_transactions.py
(and the replay cache and schemas in their own files), on a real server.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

import tests.pg
from safeshare.errors import SafeShareError, StorageError, UsageError
from safeshare.storage import ReplayCache, Store, open_store
from safeshare.storage._store import SCHEMA_LOCK_KEY
from safeshare.storage.postgres import (
    MAX_IDLE_CONNECTIONS,
    WRITE_LOCK_KEY,
    PostgresBackend,
)
from tests.pg import PostgresServer, free_port, search_path_of

SECRET = "Hunter2-not-really"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEEP = NOW + timedelta(minutes=10)


@pytest.fixture
def store(fresh_postgres_url: str) -> Iterator[Store]:
    """PostgreSQL only (overrides the two-back-end ``store`` of conftest.py)."""
    with open_store(fresh_postgres_url) as s:
        yield s


def _everything_said(error: SafeShareError) -> str:
    """Every text the error exposes, including what a traceback would print."""
    parts = [error.message, error.hint or "", error.diagnostics(), str(error), repr(error)]
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            parts.append(repr(linked))
            parts.append(repr(vars(linked)) if hasattr(linked, "__dict__") else "")
    return "\n".join(parts)


def _backends(server: PostgresServer) -> int:
    """How many connections safeshare has open to the test's database."""
    rows = server.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = 'safeshare' AND datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    return int(rows[0][0])


def _activity(server: PostgresServer) -> list[tuple[Any, ...]]:
    return server.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'safeshare' "
        "AND datname = current_database()"
    )


# -- opening -------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_gives_a_postgresql_store(
    fresh_postgres_url: str, postgres_server: PostgresServer, scheme: str
) -> None:
    url = scheme + fresh_postgres_url.removeprefix("postgresql")
    with open_store(url) as store:
        assert store.dialect == "postgresql"
        parts = urlsplit(fresh_postgres_url)
        assert (
            store.location
            == f"postgresql://{parts.username}@{parts.netloc.rpartition('@')[2]}{parts.path}"
        )
        assert "options" not in store.location
        with store.transaction(write=False) as cur:
            assert cur.execute("SELECT current_schema()") == [(search_path_of(fresh_postgres_url),)]


def test_the_password_never_shows(postgres_server: PostgresServer) -> None:
    role = postgres_server.password_role
    if role is None:
        pytest.skip("the server named by SAFESHARE_TEST_POSTGRES_URL has no password role")
    user, password = role
    url = postgres_server.url_for(
        postgres_server.url.rsplit("/", 1)[1], user=user, password=password
    )
    with open_store(url) as store:
        with store.transaction(write=False) as cur:
            assert cur.execute("SELECT current_user") == [(user,)]
        assert password not in store.location
        assert password not in repr(store)
        assert store.location.startswith(f"postgresql://{user}@")


def test_wrong_password(postgres_server: PostgresServer) -> None:
    role = postgres_server.password_role
    if role is None:
        pytest.skip("the server named by SAFESHARE_TEST_POSTGRES_URL has no password role")
    user = role[0]
    url = postgres_server.url_for("postgres", user=user, password=SECRET)
    with pytest.raises(StorageError, match=f"refused the login of user '{user}'") as info:
        open_store(url)
    assert "wrong password" in info.value.message
    assert info.value.hint
    assert "password" in info.value.hint
    assert SECRET not in _everything_said(info.value)
    assert info.value.__cause__ is None  # psycopg's exception holds the password


def test_wrong_port(postgres_server: PostgresServer) -> None:
    port = free_port()
    url = f"postgresql://someone:{SECRET}@127.0.0.1:{port}/safeshare"
    with pytest.raises(StorageError) as info:
        open_store(url)
    assert info.value.message == (
        f"cannot reach PostgreSQL at 127.0.0.1:{port} (is the server running?)"
    )
    assert info.value.hint
    assert SECRET not in _everything_said(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None


def test_missing_database(postgres_server: PostgresServer) -> None:
    url = postgres_server.url_for("no_such_db_here")
    with pytest.raises(StorageError, match="database 'no_such_db_here' does not exist") as info:
        open_store(url)
    assert info.value.hint
    assert "createdb" in info.value.hint


def test_missing_user(postgres_server: PostgresServer) -> None:
    if not postgres_server.managed:
        pytest.skip("another server may answer a missing user with a password failure")
    url = postgres_server.url_for("postgres", user="nobody_here", password=SECRET)
    with pytest.raises(StorageError, match="has no user 'nobody_here'") as info:
        open_store(url)
    assert SECRET not in _everything_said(info.value)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://u:{SECRET}@127.0.0.1/db?unknown_option=1",
        f"postgresql://u@127.0.0.1/db?password={SECRET}&unknown_option=1",
    ],
)
def test_bad_url_is_a_usage_error_without_the_password(url: str) -> None:
    with pytest.raises(UsageError, match="invalid PostgreSQL URL") as info:
        open_store(url)
    assert "unknown_option" in info.value.message
    assert SECRET not in _everything_said(info.value)


def test_non_utf8_database_is_refused(postgres_server: PostgresServer) -> None:
    name = "safeshare_ascii_test"
    postgres_server.execute(f"DROP DATABASE IF EXISTS {name}")
    postgres_server.execute(
        f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'SQL_ASCII' "
        "LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    try:
        with pytest.raises(StorageError, match="SQL_ASCII encoding") as info:
            open_store(postgres_server.url_for(name))
        assert info.value.hint
        assert "UTF8" in info.value.hint
    finally:
        postgres_server.execute(f"DROP DATABASE {name}")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "10"])
def test_bad_busy_timeout(fresh_postgres_url: str, bad: object) -> None:
    with pytest.raises(UsageError, match="busy_timeout"):
        PostgresBackend(fresh_postgres_url, busy_timeout=bad)  # type: ignore[arg-type]


def test_url_must_be_text() -> None:
    with pytest.raises(UsageError, match="URL string"):
        PostgresBackend(b"postgresql://x/y")  # type: ignore[arg-type]


def test_missing_psycopg_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    monkeypatch.delitem(sys.modules, "safeshare.storage.postgres")
    with pytest.raises(UsageError, match=r"pip install 'safeshare\[postgres\]'") as info:
        open_store(f"postgresql://u:{SECRET}@127.0.0.1/db")
    assert SECRET not in _everything_said(info.value)


# -- transactions ------------------------------------------------------------------


def test_isolation_levels(store: Store) -> None:
    with store.transaction(write=True) as cur:
        assert cur.execute("SHOW transaction_isolation") == [("read committed",)]
        assert cur.execute("SHOW transaction_read_only") == [("off",)]
    with store.transaction(write=False) as cur:
        assert cur.execute("SHOW transaction_isolation") == [("repeatable read",)]
        assert cur.execute("SHOW transaction_read_only") == [("on",)]


def _advisory_locks(server: PostgresServer) -> set[int]:
    """Keys of the advisory locks granted in the session database (bigint keys)."""
    rows = server.execute(
        "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return {int(r[0]) for r in rows}


def test_write_transactions_hold_the_write_lock_reads_do_not(
    store: Store, postgres_server: PostgresServer
) -> None:
    with store.transaction(write=True):
        assert WRITE_LOCK_KEY in _advisory_locks(postgres_server)
    assert WRITE_LOCK_KEY not in _advisory_locks(postgres_server)
    with store.transaction(write=False):
        assert WRITE_LOCK_KEY not in _advisory_locks(postgres_server)
    assert WRITE_LOCK_KEY != SCHEMA_LOCK_KEY
    assert -(2**63) <= WRITE_LOCK_KEY < 2**63


def _carry_on_after_a_failure(store: Store) -> None:
    with store.transaction(write=True) as cur:
        with contextlib.suppress(StorageError):
            cur.execute("SELECT * FROM nope")
        cur.execute("SELECT 1")


def test_statement_after_a_failed_one_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="earlier statement") as info:
        _carry_on_after_a_failure(store)
    assert isinstance(info.value.__cause__, psycopg.errors.InFailedSqlTransaction)
    with store.transaction(write=False) as cur:  # the connection was rolled back and reused
        assert cur.execute("SELECT 1") == [(1,)]


def _eventually(server: PostgresServer, expected: int) -> int:
    """The number of safeshare connections, once it settles at *expected* (or after 5 s):
    a closed connection's server process exits shortly after the client left."""
    deadline = time.monotonic() + 5
    while (count := _backends(server)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def _swallow_a_failure(store: Store) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("INSERT INTO t (k) VALUES (?)", ("a",))
        with contextlib.suppress(StorageError):
            cur.execute("INSERT INTO t (k) VALUES (?)", ("a",))


def test_a_caught_failure_never_looks_committed(store: Store) -> None:
    """PostgreSQL's COMMIT of an aborted transaction is a silent ROLLBACK."""
    with store.transaction(write=True) as cur:
        cur.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    with pytest.raises(UsageError, match="nothing was committed"):
        _swallow_a_failure(store)
    with store.transaction(write=False) as cur:
        assert cur.execute("SELECT k FROM t") == []


def test_close_closes_every_connection(
    fresh_postgres_url: str, postgres_server: PostgresServer
) -> None:
    store = open_store(fresh_postgres_url)
    try:
        n = MAX_IDLE_CONNECTIONS + 4
        barrier = threading.Barrier(n)

        def work() -> None:
            with store.transaction(write=False) as cur:
                barrier.wait(timeout=30)  # all n transactions open at once
                cur.execute("SELECT 1")

        threads = [threading.Thread(target=work) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert _eventually(postgres_server, MAX_IDLE_CONNECTIONS) == MAX_IDLE_CONNECTIONS
    finally:
        store.close()
    assert _eventually(postgres_server, 0) == 0


# -- the server goes away ------------------------------------------------------------


def test_a_dropped_idle_connection_is_replaced(
    store: Store, postgres_server: PostgresServer
) -> None:
    cache = ReplayCache(store)
    pids = [int(r[0]) for r in _activity(postgres_server)]
    assert pids
    for pid in pids:  # as a server restart or an idle timeout would
        postgres_server.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert not cache.contains("XA", "j")  # reconnects transparently


def _lose_the_connection_mid_transaction(store: Store, server: PostgresServer) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("INSERT INTO t (k) VALUES (?)", ("a",))
        (pid,) = cur.execute("SELECT pg_backend_pid()")[0]
        server.execute("SELECT pg_terminate_backend(%s)", (pid,))
        cur.execute("INSERT INTO t (k) VALUES (?)", ("b",))


def test_connection_lost_inside_a_transaction(
    store: Store, postgres_server: PostgresServer
) -> None:
    with store.transaction(write=True) as cur:
        cur.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    with pytest.raises(StorageError, match="lost the connection") as info:
        _lose_the_connection_mid_transaction(store, postgres_server)
    assert "was not committed" in info.value.message
    with store.transaction(write=False) as cur:  # a new connection; nothing was kept
        assert cur.execute("SELECT k FROM t") == []


def test_server_stopped_then_started(
    fresh_postgres_url: str, postgres_server: PostgresServer
) -> None:
    if not postgres_server.managed:
        pytest.skip("the tests do not stop a server named by SAFESHARE_TEST_POSTGRES_URL")
    port = postgres_server.address.rsplit(":", 1)[1]
    expected = f"cannot reach PostgreSQL at 127.0.0.1:{port} (is the server running?)"
    with open_store(fresh_postgres_url) as store:
        cache = ReplayCache(store)
        cache.check_and_record("XA", "j1", "d", KEEP, now=NOW)
        postgres_server.stop()
        try:
            with pytest.raises(StorageError) as info:
                cache.check_and_record("XA", "j2", "d", KEEP, now=NOW)
            assert info.value.message == expected
            with pytest.raises(StorageError) as info:
                open_store(fresh_postgres_url)
            assert info.value.message == expected
        finally:
            postgres_server.start()
        # the same store works again once the server is back; nothing was lost
        assert cache.contains("XA", "j1")
        assert not cache.contains("XA", "j2")
        cache.check_and_record("XA", "j2", "d", KEEP, now=NOW)


# -- the test fixture itself -----------------------------------------------------------


@pytest.mark.parametrize(("required", "outcome"), [("", "skip"), ("1", "fail")])
def test_without_postgresql_the_tests_skip_unless_required(
    monkeypatch: pytest.MonkeyPatch, required: str, outcome: str
) -> None:
    monkeypatch.setattr(tests.pg, "find_bindir", lambda: None)
    monkeypatch.delenv(tests.pg.ENV_URL, raising=False)
    monkeypatch.setenv(tests.pg.ENV_REQUIRE, required)
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception
    with pytest.raises(expected, match="PostgreSQL is not installed"):
        next(tests.pg.postgres_server_for_session())


def test_search_path_urls() -> None:
    url = tests.pg.with_search_path("postgresql://u:p@h:1/db?sslmode=disable&options=x", "s_1")
    assert url == "postgresql://u:p@h:1/db?sslmode=disable&options=-c%20search_path%3Ds_1"
    assert tests.pg.search_path_of(url) == "s_1"
