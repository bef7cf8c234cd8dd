"""The PostgreSQL back end (psycopg 3), for several instances sharing one database.

Open it with ``open_store("postgresql://user:password@host:port/dbname")``
(``postgres://`` works too; any libpq URL parameter, such as ``sslmode``, may
be added). It needs the ``postgres`` extra: ``pip install 'safeshare[postgres]'``.
This module imports :mod:`psycopg`; :func:`~safeshare.storage.open_store`
imports it only when it is given a PostgreSQL URL.

Guarantees (the same :class:`~safeshare.storage.Backend` contract as SQLite):

* **Durability.** A write block returns only after ``COMMIT`` succeeded; the
  server's ``synchronous_commit`` (``on`` by default) decides how durable a
  commit is: keep it ``on`` (or ``remote_apply`` with a standby).
* **Writers serialize, readers do not wait.** A write transaction starts with
  ``BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE`` and at once takes the
  transaction-scoped advisory lock :data:`WRITE_LOCK_KEY`
  (``pg_advisory_xact_lock``), released by the commit or rollback. This is
  what ``BEGIN IMMEDIATE`` does for SQLite: concurrent writers, in threads,
  processes or other machines, queue (up to the busy timeout, PostgreSQL's
  ``lock_timeout``) and a read-modify-write in a write block never loses an
  update. Because the lock is taken *before* the block's first statement
  and ``READ COMMITTED`` gives every statement a fresh snapshot, each write
  block sees everything committed before it, exactly as on SQLite (a
  ``REPEATABLE READ`` snapshot would be taken before the lock wait ends and
  could miss the previous writer's commit, so the weaker-sounding level is
  the right one here; ``INSERT ... ON CONFLICT`` and unique indexes behave
  the same under it). Read transactions are ``REPEATABLE READ, READ ONLY``:
  one consistent snapshot for the whole block, never blocked by writers, and
  a write in them raises :class:`~safeshare.errors.UsageError`. The write
  lock is per *database*: stores in different schemas of one database
  (``?options=-c search_path=...``) share it. Writes are thus one at a time,
  as on SQLite; each is a short transaction, so this bounds throughput at
  roughly one commit round trip per write, which suits safeshare's volumes.
* **Atomicity.** Any exception inside the block rolls back. On PostgreSQL a
  failed statement aborts the whole transaction: catching its
  :class:`~safeshare.errors.StorageError` inside the block and carrying on is
  refused (:class:`~safeshare.errors.UsageError`); let it leave the block.
* **Concurrency.** One backend may be shared by many threads: each
  transaction borrows its own connection from a small pool (at most
  :data:`MAX_IDLE_CONNECTIONS` are kept idle). A pooled connection that the
  server dropped (restart, idle timeout) is noticed when its transaction
  begins and replaced, before any statement of the block has run.
* **Errors.** Every :class:`psycopg.Error` becomes a
  :class:`~safeshare.errors.StorageError` whose message says what to do
  (server not reachable, login refused, database missing, locked, ...). The
  password in the URL never appears in a message, in
  :attr:`PostgresBackend.location`, or in an exception chained to the error.
* **Database.** The server must be PostgreSQL :data:`MIN_SERVER_VERSION` or
  newer and the database must use the ``UTF8`` encoding.

Each connection runs with ``lock_timeout`` set to the busy timeout and
``application_name`` ``safeshare`` (unless the URL sets one); connecting
gives up after ``connect_timeout`` seconds (10 unless the URL sets it).

For component authors (SQL that runs on both back ends):

* Types in DDL differ, so a :class:`~safeshare.storage.Migration` has one
  list per dialect: ``BLOB`` is ``BYTEA``; integers that may exceed 2**31
  (times, sizes, indexes) must be ``BIGINT`` (SQLite's ``INTEGER`` is 64-bit,
  PostgreSQL's is 32-bit); ``WITHOUT ROWID`` and ``AUTOINCREMENT`` are
  SQLite-only (use ``BIGINT GENERATED ALWAYS AS IDENTITY`` or, better, your
  own counter under the write lock); compare identifiers byte-wise with
  ``COLLATE "C"`` on ``TEXT`` keys.
* Values come back as the same Python types (``int``, ``str``, ``bytes``,
  ``None``) with two exceptions to avoid: ``sum()`` / ``avg()`` over
  ``BIGINT`` give :class:`decimal.Decimal` on PostgreSQL (cast:
  ``CAST(sum(x) AS BIGINT)``), and comparisons/``BOOLEAN`` columns give
  ``bool`` (store flags as ``INTEGER``/``SMALLINT`` 0/1).
* ``?`` placeholders only (no ``?``-named JSON operators); a literal ``%`` is
  fine. ``INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE``, row values
  and ``LIMIT`` work on both; ``INSERT OR IGNORE`` / ``REPLACE`` do not.
* ``cursor.rowcount`` counts rows changed by ``INSERT``/``UPDATE``/``DELETE``
  (``-1`` after a ``SELECT``), summed over ``executemany``, on both.
* Serialization beyond the write lock is never needed; other advisory lock
  keys are free for components (avoid :data:`WRITE_LOCK_KEY` and the schema
  lock key).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final, Literal, TypeAlias
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from safeshare.errors import StorageError, UsageError
from safeshare.storage._backend import Row, SQLParam, qmark_to_pyformat
from safeshare.storage._pool import MAX_IDLE_CONNECTIONS, _PooledBackend, check_busy_timeout
from safeshare.storage.sqlite import DEFAULT_BUSY_TIMEOUT

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "MAX_IDLE_CONNECTIONS",
    "MIN_SERVER_VERSION",
    "WRITE_LOCK_KEY",
    "PostgresBackend",
]

#: Key of the transaction-scoped advisory lock every write transaction takes
#: (``int.from_bytes(b"safeshwr", "big") >> 1``, a signed bigint). It differs
#: from the schema lock key; other applications must not use either.
WRITE_LOCK_KEY: Final = int.from_bytes(b"safeshwr", "big") >> 1
#: Oldest server accepted (``server_version_num``): PostgreSQL 12.
MIN_SERVER_VERSION: Final = 120000
#: Seconds to wait for a connection unless the URL sets ``connect_timeout``.
DEFAULT_CONNECT_TIMEOUT: Final = 10

_Connection: TypeAlias = "psycopg.Connection[tuple[Any, ...]]"

_BEGIN_WRITE: Final = (
    "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE; "
    f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"
)
_BEGIN_READ: Final = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_COUNTED: Final = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})

_UNREACHABLE: Final = (
    "connection refused",
    "could not connect",
    "no such file or directory",
    "timeout expired",
    "could not translate host name",
    "name or service not known",
    "network is unreachable",
    "no route to host",
    "connection timed out",
    "server closed the connection unexpectedly",
)
_ROLE_MISSING = re.compile(r'role "((?:[^"]|"")*)" does not exist')
_DB_MISSING = re.compile(r'database "((?:[^"]|"")*)" does not exist')


class _PostgresCursor:
    """The :class:`~safeshare.storage.Cursor` of one PostgreSQL transaction."""

    __slots__ = ("_backend", "_conn", "_cur", "_open", "_rowcount", "_write")

    def __init__(self, backend: PostgresBackend, conn: _Connection, write: bool) -> None:
        self._backend = backend
        self._conn = conn
        self._cur = conn.cursor()
        self._write = write
        self._open = True
        self._rowcount = -1

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def execute(self, sql: str, params: Sequence[SQLParam] = ()) -> list[Row]:
        self._check_open()
        cur = self._cur
        try:
            # Always pass a tuple (even empty): psycopg then reads the doubled
            # ``%%`` that qmark_to_pyformat wrote as one ``%``.
            cur.execute(qmark_to_pyformat(sql), tuple(params))
            rows = cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise self._translate(exc) from exc
        self._rowcount = _rowcount(cur)
        return rows

    def executemany(self, sql: str, params_seq: Iterable[Sequence[SQLParam]]) -> None:
        self._check_open()
        cur = self._cur
        try:
            cur.executemany(qmark_to_pyformat(sql), [tuple(p) for p in params_seq])
        except psycopg.Error as exc:
            raise self._translate(exc) from exc
        self._rowcount = _rowcount(cur)  # psycopg sums the rows over all executions

    def _translate(self, exc: psycopg.Error) -> StorageError | UsageError:
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction) and not self._write:
            return UsageError(
                "a statement tried to write inside a read-only transaction; "
                "use transaction(write=True)"
            )
        if isinstance(exc, psycopg.errors.InFailedSqlTransaction):
            return UsageError(
                "a statement ran after an earlier statement of the same transaction "
                "failed; on PostgreSQL the transaction is then aborted: let the first "
                "error leave the transaction block instead of catching it inside"
            )
        return self._backend._translate(exc, "running a statement", broken=self._conn.broken)

    def _check_open(self) -> None:
        if not self._open:
            raise UsageError("this cursor's transaction has ended; use it only inside its block")

    def _end(self) -> None:
        self._open = False
        with contextlib.suppress(psycopg.Error):
            self._cur.close()


class PostgresBackend(_PooledBackend[_Connection, _PostgresCursor]):
    """A safeshare database on a PostgreSQL server.

    *url* is a libpq URL (``postgresql://user:password@host:port/dbname``).
    Opening connects once, so an unreachable server, a refused login, a
    missing database, a too old server or a non-UTF8 database fails here
    (:class:`~safeshare.errors.StorageError`) rather than on first use. See
    the module docstring for the transaction, locking and error guarantees.

    *busy_timeout* is how long (seconds) a write transaction waits for the
    write lock (and any statement for a row or table lock) before raising
    :class:`~safeshare.errors.StorageError`; ``0`` means "hardly at all"
    (one millisecond: PostgreSQL reads a zero ``lock_timeout`` as "forever").
    """

    dialect: Final[Literal["postgresql"]] = "postgresql"
    _commit_errors: ClassVar[tuple[type[Exception], ...]] = (StorageError, UsageError)

    def __init__(self, url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        if not isinstance(url, str):
            raise UsageError("the PostgreSQL location must be a postgresql:// URL string")
        seconds = check_busy_timeout(busy_timeout)
        self._secrets = _url_secrets(url)
        self._url = url
        params: dict[str, Any] | None = None
        detail = ""
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            detail = self._redact(_first_line(exc))
        if params is None:  # raised outside the handler: libpq's message may quote the URL
            raise UsageError(
                f"invalid PostgreSQL URL {self._redact(_redact_url(url))!r}: {detail}",
                hint="write it as postgresql://user:password@host:port/dbname "
                "(percent-encode special characters in the password)",
            )
        password = params.get("password")
        if isinstance(password, str) and password:
            self._secrets.add(password)
        self._lock_timeout_ms = max(1, round(seconds * 1000))
        self._connect_kwargs: dict[str, Any] = {}
        if not params.get("connect_timeout"):
            self._connect_kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
        if not params.get("application_name"):
            self._connect_kwargs["application_name"] = "safeshare"
        self._server = _server_of(params)
        self._user = str(params.get("user") or "")
        self._dbname = str(params.get("dbname") or "")
        self._init_pool(_location_of(params), seconds)

        self._pool_first(self._connect(), self._check_server)

    @property
    def location(self) -> str:
        """``postgresql://user@host:port/dbname``: the URL without password or options."""
        return self._location

    def _cursor(self, conn: _Connection, write: bool) -> _PostgresCursor:
        return _PostgresCursor(self, conn, write)

    def _commit(self, conn: _Connection) -> bool:
        if conn.info.transaction_status == TransactionStatus.INERROR:
            # COMMIT would quietly roll back: a failed statement's error was
            # caught inside the block. Never let that look like success.
            raise UsageError(
                "a statement of this transaction failed and its error was caught inside "
                "the transaction block; on PostgreSQL that aborts the whole transaction, "
                "so nothing was committed (let the error leave the block)"
            )
        try:
            status = conn.execute("COMMIT").statusmessage
        except psycopg.Error as exc:
            raise self._translate(exc, "committing", broken=conn.broken, committing=True) from exc
        if status != "COMMIT":
            raise StorageError(
                f"PostgreSQL at {self._server} did not commit the transaction "
                f"(it answered {status!r}); nothing was saved"
            )
        return conn.info.transaction_status == TransactionStatus.IDLE

    # -- connections ---------------------------------------------------------

    def _connect(self) -> _Connection:
        failure: str | None = None
        try:
            conn = psycopg.connect(self._url, autocommit=True, **self._connect_kwargs)
        except psycopg.Error as exc:
            # The exception (its ``pgconn``) holds the password: keep only words.
            failure = self._redact(str(exc))
        if failure is not None:
            raise self._connect_error(failure)
        try:
            conn.execute(f"SET lock_timeout = {self._lock_timeout_ms}")
        except psycopg.Error as exc:
            self._discard(conn)
            raise self._translate(exc, "configuring the connection", broken=conn.broken) from exc
        except BaseException:
            self._discard(conn)
            raise
        return conn

    def _check_server(self, conn: _Connection) -> None:
        version = conn.info.server_version
        if version < MIN_SERVER_VERSION:
            raise StorageError(
                f"PostgreSQL at {self._server} is version {_version_text(version)}; safeshare "
                f"needs {_version_text(MIN_SERVER_VERSION)} or newer",
                hint="upgrade the server",
            )
        encoding = conn.info.parameter_status("server_encoding")
        if encoding is None or encoding.upper() not in ("UTF8", "UTF-8"):
            shown = encoding or "unknown"
            raise StorageError(
                f"database {self._location} uses the {shown} encoding; "
                "safeshare needs a UTF8 database",
                hint=f"create it with CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0 "
                f"(database {self._dbname or 'of the URL'})",
            )

    def _begin(self, write: bool) -> _Connection:
        """Borrow a connection and begin; replace pooled connections the server dropped."""
        sql = _BEGIN_WRITE if write else _BEGIN_READ
        while True:
            conn, pooled = self._acquire()
            try:
                conn.execute(sql)
            except psycopg.Error as exc:
                if pooled and conn.broken:
                    self._discard(conn)  # dropped while idle: nothing ran; try another
                    continue
                error = self._translate(exc, "starting a transaction", broken=conn.broken)
                self._release(conn, healthy=self._rollback(conn))
                raise error from exc
            except BaseException:
                self._discard(conn)
                raise
            return conn

    def _reusable(self, conn: _Connection) -> bool:
        return not conn.broken

    def _discard(self, conn: _Connection) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.close()

    def _rollback(self, conn: _Connection) -> bool:
        """Roll back; return whether the connection is fit for reuse."""
        if conn.broken or conn.closed:
            return False
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            return False
        return conn.info.transaction_status == TransactionStatus.IDLE

    # -- errors --------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _connect_error(self, text: str) -> StorageError:
        """A message for a failed connection attempt (libpq gives no SQLSTATE then)."""
        lower = text.lower()
        server = self._server
        user = self._user or "(the default user)"
        if (
            "password authentication failed" in lower
            or "no password supplied" in lower
            or "authentication failed" in lower
        ):
            return StorageError(
                f"PostgreSQL at {server} refused the login of user {user!r}: "
                "wrong password (or user name)",
                hint="check the user and password in the URL (or PGPASSWORD, ~/.pgpass)",
            )
        if match := _ROLE_MISSING.search(text):
            return StorageError(
                f"PostgreSQL at {server} has no user {match.group(1)!r}",
                hint="check the user name in the URL, or create the role (CREATE ROLE ... LOGIN)",
            )
        if match := _DB_MISSING.search(text):
            name = match.group(1)
            return StorageError(
                f"database {name!r} does not exist on PostgreSQL at {server}",
                hint=f"create it (createdb -h HOST -p PORT -E UTF8 {name}) or fix the database "
                "name in the URL",
            )
        if "pg_hba.conf" in lower:
            return StorageError(
                f"PostgreSQL at {server} does not accept connections from this host "
                f"for user {user!r} (no pg_hba.conf entry)",
                hint="ask the database administrator to allow this client in pg_hba.conf, "
                "or check sslmode in the URL",
            )
        if "starting up" in lower or "shutting down" in lower or "recovery mode" in lower:
            return StorageError(
                f"PostgreSQL at {server} is starting up or shutting down",
                hint="retry in a moment",
            )
        if "too many clients" in lower or "connection slots" in lower:
            return StorageError(
                f"PostgreSQL at {server} has no free connection slot",
                hint="raise max_connections on the server or use fewer safeshare processes",
            )
        if any(phrase in lower for phrase in _UNREACHABLE):
            return StorageError(
                f"cannot reach PostgreSQL at {server} (is the server running?)",
                hint="check the host and port in the URL, that the server runs and that it "
                "listens there (listen_addresses, firewall)",
            )
        return StorageError(
            f"cannot connect to PostgreSQL at {server}: {_first_line_of(text)}",
            hint="check the URL and the server's log",
        )

    def _translate(
        self, exc: psycopg.Error, action: str, *, broken: bool, committing: bool = False
    ) -> StorageError:
        where = self._location
        detail = self._redact(_first_line(exc))
        state = exc.sqlstate or ""
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return StorageError(
                f"database {where} is locked by another connection or process "
                f"for more than {self._busy_timeout:g} s (while {action})",
                hint="another safeshare instance or a tool holds a long write transaction; "
                "retry later, or look for it in pg_stat_activity",
            )
        if state in ("40001", "40P01"):
            return StorageError(
                f"a concurrent transaction on {where} conflicted with this one "
                f"(while {action}: {detail}); nothing was saved",
                hint="retry the operation",
            )
        if state.startswith("23"):
            return StorageError(
                f"constraint violated on {where} while {action}: {detail} (SQLSTATE {state})"
            )
        if state == "53100":
            return StorageError(
                f"the disk of the PostgreSQL server at {self._server} is full; "
                "the change was not saved",
                hint="free space on the server",
            )
        if state.startswith("53"):
            return StorageError(
                f"PostgreSQL at {self._server} is out of resources while {action}: {detail}",
                hint="check the server's memory and connection limits",
            )
        if broken or state.startswith("08") or state in ("57P01", "57P02", "57P03"):
            outcome = (
                "the commit may or may not have taken effect"
                if committing
                else "the transaction was not committed"
            )
            return StorageError(
                f"lost the connection to PostgreSQL at {self._server} while {action} "
                f"({detail}); {outcome}",
                hint="check that the server is running; safeshare reconnects on the next "
                "transaction",
            )
        if state:
            return StorageError(
                f"database error on {where} while {action}: {detail} (SQLSTATE {state})"
            )
        return StorageError(f"database error on {where} while {action}: {detail}")


# -- helpers -------------------------------------------------------------------


def _rowcount(cur: psycopg.Cursor[Any]) -> int:
    """Rows changed by INSERT/UPDATE/DELETE/MERGE; -1 otherwise (as sqlite3 does)."""
    status = cur.statusmessage or ""
    return cur.rowcount if status.split(" ", 1)[0] in _COUNTED else -1


def _first_line(exc: BaseException) -> str:
    return _first_line_of(str(exc))


def _first_line_of(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _url_secrets(url: str) -> set[str]:
    """The password as it may appear in messages: raw, percent-decoded, re-encoded."""
    found: set[str] = set()
    try:
        raw = urlsplit(url).password
    except ValueError:
        raw = None
    for value in (raw, *re.findall(r"[?&]password=([^&#]*)", url)):
        if value:
            found.update({value, unquote(value), quote(unquote(value), safe="")})
    return {s for s in found if s}


def _redact_url(url: str) -> str:
    """*url* with any password replaced by ``***``."""
    out = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)
    try:
        parts = urlsplit(out)
        has_password = parts.password is not None
    except ValueError:
        has_password = False
    if has_password:
        userinfo, _, hostinfo = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        out = parts._replace(netloc=f"{user}:***@{hostinfo}").geturl()
    return out


def _server_of(params: dict[str, Any]) -> str:
    host = str(params.get("host") or params.get("hostaddr") or "localhost (Unix socket)")
    port = str(params.get("port") or "5432")
    if "," in host or "," in port:
        return f"{host} (port {port})"
    return f"{host}:{port}"


def _location_of(params: dict[str, Any]) -> str:
    user = str(params.get("user") or "")
    host = str(params.get("host") or params.get("hostaddr") or "")
    port = str(params.get("port") or "")
    dbname = str(params.get("dbname") or "")
    userinfo = f"{quote(user, safe='')}@" if user else ""
    if host.startswith("/"):
        hostinfo = ""  # a Unix-socket directory: shown as the host query parameter
        query = f"?host={quote(host, safe='/')}"
    else:
        hostinfo = f"[{host}]" if ":" in host and "," not in host else host
        query = ""
    if port:
        hostinfo += f":{port}"
    return f"postgresql://{userinfo}{hostinfo}/{quote(dbname, safe='')}{query}"


def _version_text(number: int) -> str:
    major = number // 10000
    return f"{major}.{number % 10000}" if major >= 10 else f"{major}.{number // 100 % 100}"
