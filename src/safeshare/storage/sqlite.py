"""The embedded SQLite back end (standard library :mod:`sqlite3`).

Guarantees:

* **Durability.** The database runs in WAL journal mode with
  ``synchronous=FULL``: every commit fsyncs the write-ahead log before
  :meth:`SQLiteBackend.transaction` returns, so an acknowledged change
  survives a crash or power loss (on storage that honours fsync). A newly
  created database file and its directory entry are fsynced too.
* **Atomicity and isolation.** Transactions are explicit (the driver's
  implicit transactions are off). A write transaction starts with ``BEGIN
  IMMEDIATE``, taking the write lock up front, so concurrent writers, in
  threads or in other processes, queue for the lock (up to the busy timeout)
  instead of failing when a read would have to be upgraded to a write. Any
  exception inside the block rolls the whole transaction back. Read
  transactions see a snapshot and are ``query_only``.
* **Concurrency.** One backend may be shared by many threads: each
  transaction borrows its own connection from a small pool. Several processes
  may open the same file (WAL needs a local file system, not NFS/SMB).
* **Errors.** Every :class:`sqlite3.Error` and :class:`OSError` is translated
  to :class:`~safeshare.errors.StorageError` with a message saying what to
  do; none escapes.
* **Files.** A new database file is created with mode ``0600`` (SQLite gives
  the ``-wal`` and ``-shm`` files the same mode) and is stamped with
  safeshare's ``application_id``; a file of another application is refused.

``foreign_keys`` and ``fullfsync`` (macOS: flush the drive's cache too) are
on and ``trusted_schema`` off on every connection.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Sequence
from typing import ClassVar, Final, Literal

from safeshare._internal import fs
from safeshare.errors import StorageError, UsageError
from safeshare.storage._backend import Row, SQLParam
from safeshare.storage._pool import _PooledBackend, check_busy_timeout

__all__ = ["APPLICATION_ID", "DEFAULT_BUSY_TIMEOUT", "SQLiteBackend"]

#: ``PRAGMA application_id`` of a safeshare database ("SfSh").
APPLICATION_ID: Final = 0x53665368
#: Seconds a transaction waits for another writer before giving up.
DEFAULT_BUSY_TIMEOUT: Final = 10.0
#: The oldest SQLite with ``INSERT ... ON CONFLICT`` (upsert).
MIN_SQLITE_VERSION: Final = (3, 24, 0)

# Primary result codes (https://www.sqlite.org/rescode.html).
_PERM = 3
_BUSY = 5
_LOCKED = 6
_NOMEM = 7
_READONLY = 8
_IOERR = 10
_CORRUPT = 11
_FULL = 13
_CANTOPEN = 14
_AUTH = 23
_NOTADB = 26


class _Conn:
    __slots__ = ("query_only", "raw")

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.query_only = False


class _SQLiteCursor:
    """The :class:`~safeshare.storage.Cursor` of one SQLite transaction."""

    __slots__ = ("_backend", "_conn", "_open", "_rowcount", "_write")

    def __init__(self, backend: SQLiteBackend, conn: sqlite3.Connection, write: bool) -> None:
        self._backend = backend
        self._conn = conn
        self._write = write
        self._open = True
        self._rowcount = -1

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def execute(self, sql: str, params: Sequence[SQLParam] = ()) -> list[Row]:
        self._check_open()
        try:
            cur = self._conn.execute(sql, tuple(params))
            try:
                rows = cur.fetchall()
                self._rowcount = cur.rowcount
            finally:
                cur.close()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return rows

    def executemany(self, sql: str, params_seq: Iterable[Sequence[SQLParam]]) -> None:
        self._check_open()
        try:
            cur = self._conn.executemany(sql, (tuple(p) for p in params_seq))
            self._rowcount = cur.rowcount
            cur.close()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: sqlite3.Error) -> StorageError | UsageError:
        if not self._write and _primary_code(exc) == _READONLY:
            return UsageError(
                "a statement tried to write inside a read-only transaction; "
                "use transaction(write=True)"
            )
        return self._backend._translate(exc, "running a statement")

    def _check_open(self) -> None:
        if not self._open:
            raise UsageError("this cursor's transaction has ended; use it only inside its block")

    def _end(self) -> None:
        self._open = False


class SQLiteBackend(_PooledBackend[_Conn, _SQLiteCursor]):
    """A safeshare database in one SQLite file.

    Opening creates the file (mode ``0600``) if it does not exist, switches it
    to WAL mode and checks that it is a safeshare database, so a wrong path
    fails here rather than on first use. See the module docstring for the
    durability, atomicity and concurrency guarantees.

    *busy_timeout* is how long (seconds) a transaction waits for a lock held
    by another connection or process before raising
    :class:`~safeshare.errors.StorageError`.
    """

    dialect: Final[Literal["sqlite"]] = "sqlite"
    _commit_errors: ClassVar[tuple[type[Exception], ...]] = (StorageError,)

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise StorageError(
                f"the SQLite library is version {sqlite3.sqlite_version}; safeshare needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or newer",
                hint="use a Python built against a newer SQLite",
            )
        seconds = check_busy_timeout(busy_timeout)
        try:
            raw = os.fspath(path)
        except TypeError:
            raise UsageError("the database path must be a str or os.PathLike") from None
        if not isinstance(raw, str):
            raise UsageError("the database path must be text, not bytes")
        if raw in ("", ":memory:") or raw.startswith("file:"):
            raise UsageError(
                f"{raw!r} is not a database file path; safeshare needs a file so that "
                "its records survive a restart"
            )
        self._path = os.path.abspath(raw)
        self._init_pool(self._path, seconds)

        self._create_file()
        self._pool_first(self._connect(first=True), self._stamp)

    @property
    def location(self) -> str:
        """The absolute path of the database file."""
        return self._path

    def _begin(self, write: bool) -> _Conn:
        """Borrow a connection and begin; on failure release it and raise."""
        conn, _ = self._acquire()
        healthy = False
        try:
            query_only = not write
            if conn.query_only != query_only:
                self._run(
                    conn.raw, f"PRAGMA query_only = {int(query_only)}", "starting a transaction"
                )
                conn.query_only = query_only
            try:
                self._run(
                    conn.raw, "BEGIN IMMEDIATE" if write else "BEGIN", "starting a transaction"
                )
            except StorageError:  # typically: locked; the connection itself is fine
                healthy = not conn.raw.in_transaction
                raise
        except BaseException:
            self._release(conn, healthy=healthy)
            raise
        return conn

    def _cursor(self, conn: _Conn, write: bool) -> _SQLiteCursor:
        return _SQLiteCursor(self, conn.raw, write)

    def _commit(self, conn: _Conn) -> bool:
        self._run(conn.raw, "COMMIT", "committing")
        return True

    # -- connections ---------------------------------------------------------

    def _create_file(self) -> None:
        directory = os.path.dirname(self._path)
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            pass
        except FileNotFoundError:
            raise StorageError(
                f"cannot create database {self._path}: directory {directory} does not exist",
                hint="create the directory first (safeshare does not create directories)",
            ) from None
        except OSError as exc:
            raise StorageError(
                f"cannot create database {self._path}: {exc.strerror or exc}",
                hint="check that the directory exists and is writable by this user",
            ) from None
        else:
            try:
                os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
                os.fsync(fd)
            except OSError as exc:
                raise StorageError(
                    f"cannot create database {self._path}: {exc.strerror or exc}"
                ) from None
            finally:
                os.close(fd)
            try:
                dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            except OSError as exc:
                raise StorageError(
                    f"cannot make the new database {self._path} durable: {exc.strerror or exc}"
                ) from None
        try:
            mode = os.stat(self._path).st_mode
        except OSError as exc:
            raise StorageError(
                f"cannot open database {self._path}: {exc.strerror or exc}"
            ) from None
        if not stat.S_ISREG(mode):
            raise StorageError(
                f"cannot open database {self._path}: it is not a regular file",
                hint="give the path of a database file, not of a directory or device",
            )

    def _connect(self, *, first: bool = False) -> _Conn:
        try:
            raw = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,  # the pool hands a connection to one thread at a time
            )
        except sqlite3.Error as exc:
            raise self._translate(exc, "opening the database") from exc
        conn = _Conn(raw)
        try:
            if first:  # refuse a foreign file before changing its journal mode
                self._check_application_id(raw, stamp=False)
            mode = self._run(raw, "PRAGMA journal_mode", "opening the database")
            if not mode or str(mode[0][0]).lower() != "wal":
                mode = self._switch_to_wal(raw)
            if not mode or str(mode[0][0]).lower() != "wal":
                raise StorageError(
                    f"database {self._path} cannot use WAL journal mode "
                    f"(SQLite chose {mode[0][0] if mode else 'nothing'!r})",
                    hint="put the database on a local file system that supports shared memory",
                )
            for pragma in (
                f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}",
                "PRAGMA synchronous = FULL",
                "PRAGMA fullfsync = ON",  # macOS: a real flush to the platter; no-op elsewhere
                "PRAGMA foreign_keys = ON",
                "PRAGMA trusted_schema = OFF",
            ):
                self._run(raw, pragma, "configuring the connection")
        except BaseException:
            self._discard(conn)
            raise
        return conn

    def _switch_to_wal(self, raw: sqlite3.Connection) -> list[Row]:
        """Switch a fresh database to WAL, once, even when several processes race.

        The switch needs an exclusive lock, and SQLite answers "busy" at once
        (without waiting) when two connections would otherwise deadlock over
        it. So the switch is serialised with an advisory lock on a side file
        (``<db>.setup-lock``), the mode is re-read under it, and a transient
        "busy" is retried until the busy timeout.
        """
        deadline = time.monotonic() + self._busy_timeout
        with fs.exclusive_lock(self._path + ".setup-lock"):
            while True:
                try:
                    mode = self._run(raw, "PRAGMA journal_mode", "opening the database")
                    if mode and str(mode[0][0]).lower() == "wal":
                        return mode
                    return self._run(raw, "PRAGMA journal_mode = WAL", "switching to WAL mode")
                except StorageError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)

    def _stamp(self, conn: _Conn) -> None:
        """Set safeshare's application_id on an empty database (once, atomically)."""
        raw = conn.raw
        self._run(raw, "BEGIN IMMEDIATE", "opening the database")
        try:
            self._check_application_id(raw, stamp=True)
            self._run(raw, "COMMIT", "opening the database")
        except BaseException:
            self._rollback(conn)
            raise

    def _check_application_id(self, raw: sqlite3.Connection, *, stamp: bool) -> None:
        app_id = int(self._run(raw, "PRAGMA application_id", "opening the database")[0][0])
        if app_id not in (0, APPLICATION_ID):
            raise StorageError(
                f"file {self._path} is an SQLite database of another application "
                f"(application_id {app_id:#010x}), not a safeshare database",
                hint="give safeshare a database file of its own",
            )
        if stamp and app_id == 0:
            # An empty file becomes ours; a non-empty one without an id (a database
            # made by hand, or by an older tool) is used as it is.
            rows = self._run(raw, "SELECT count(*) FROM sqlite_master", "opening the database")
            if int(rows[0][0]) == 0:
                self._run(raw, f"PRAGMA application_id = {APPLICATION_ID}", "opening the database")

    def _discard(self, conn: _Conn) -> None:
        with contextlib.suppress(sqlite3.Error):
            conn.raw.close()

    def _rollback(self, conn: _Conn) -> bool:
        """Roll back; return whether the connection is fit for reuse."""
        raw = conn.raw
        try:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
        except sqlite3.Error:
            return False
        return not raw.in_transaction

    def _run(self, raw: sqlite3.Connection, sql: str, action: str) -> list[Row]:
        try:
            cur = raw.execute(sql)
            try:
                return cur.fetchall()
            finally:
                cur.close()
        except sqlite3.Error as exc:
            raise self._translate(exc, action) from exc

    # -- errors --------------------------------------------------------------

    def _translate(self, exc: sqlite3.Error, action: str) -> StorageError:
        path = self._path
        code = _primary_code(exc)
        if code in (_BUSY, _LOCKED):
            return StorageError(
                f"database {path} is locked by another connection or process "
                f"for more than {self._busy_timeout:g} s (while {action})",
                hint="another safeshare process or a tool holds a long write transaction; "
                "retry later, or find it (for example with `fuser` on the file)",
            )
        if code == _NOTADB:
            return StorageError(
                f"file {path} is not a safeshare database (or is damaged)",
                hint="check the path; restore the database from a backup if it was damaged",
            )
        if code == _CORRUPT:
            return StorageError(
                f"database {path} is damaged ({exc})",
                hint="restore it from a backup; do not keep writing to it",
            )
        if code == _READONLY:
            return StorageError(
                f"database {path} is read-only (while {action})",
                hint="safeshare needs write access to the file and to its directory "
                "(for the -wal and -shm files)",
            )
        if code in (_CANTOPEN, _PERM, _AUTH):
            return StorageError(
                f"cannot open database {path} ({exc})",
                hint="check that the file and its directory exist and are readable and "
                "writable by this user",
            )
        if code == _FULL:
            return StorageError(
                f"the disk holding database {path} is full; the change was not saved",
                hint="free space on that file system",
            )
        if code == _IOERR:
            return StorageError(
                f"I/O error on database {path} while {action} ({exc}); the change was not saved",
                hint="check the disk and the file system",
            )
        if code == _NOMEM:
            return StorageError(f"out of memory while {action} on database {path}")
        return StorageError(f"database error on {path} while {action}: {exc}")


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None
