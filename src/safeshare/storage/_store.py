"""The :class:`Store` every persistent safeshare component is built on."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Final, Self
from urllib.parse import unquote, urlsplit

from safeshare.errors import StorageError, UsageError
from safeshare.storage._backend import Backend, Cursor, Dialect, Schema
from safeshare.storage.sqlite import DEFAULT_BUSY_TIMEOUT, SQLiteBackend

__all__ = ["Store", "open_store"]

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

#: Key of the PostgreSQL advisory lock that serializes schema changes
#: (``int.from_bytes(b"safeshar", "big") >> 1``, fits a signed bigint).
SCHEMA_LOCK_KEY: Final = int.from_bytes(b"safeshar", "big") >> 1

_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS safeshare_schema ("
    "component TEXT NOT NULL PRIMARY KEY, "
    "version INTEGER NOT NULL)"
)


class Store:
    """A database shared by safeshare's persistent components.

    Safe to share between threads; several processes may open the same
    database. Components run their SQL through :meth:`transaction` and
    declare their tables with :meth:`ensure_schema`. Obtain one with
    :func:`open_store`, or wrap a back end directly (``Store(backend)``).

    A store belongs to the process that opened it: after ``fork()``, open a
    new one in the child (using the parent's raises
    :class:`~safeshare.errors.UsageError`, because carrying a database
    connection across ``fork()`` can corrupt the database).
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._pid = os.getpid()
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._applied: dict[str, int] = {}
        self._closed = False

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of the back end (``"sqlite"`` or ``"postgresql"``)."""
        return self._backend.dialect

    @property
    def location(self) -> str:
        """Where the data lives (a file path, or a URL without password)."""
        return self._backend.location

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Cursor]:
        """Run a block as one atomic transaction; yield a :class:`Cursor`.

        The block's statements take effect together or not at all: an
        exception inside the block rolls everything back and propagates
        unchanged. On normal exit the transaction commits, and the ``with``
        statement returns only after the commit succeeded (a failed commit
        raises :class:`~safeshare.errors.StorageError` and nothing is kept).

        ``write=True`` takes the write lock at the start, so concurrent
        writers queue (up to the back end's busy timeout, then
        :class:`~safeshare.errors.StorageError`) instead of conflicting later.
        ``write=False`` gives a consistent read-only snapshot; writing in it
        raises :class:`~safeshare.errors.UsageError`.

        Transactions do not nest: opening one inside another in the same
        thread raises :class:`~safeshare.errors.UsageError`.
        """
        if not isinstance(write, bool):
            raise UsageError("transaction(write=...) takes True or False")
        self._check_usable()
        if getattr(self._local, "active", False):
            raise UsageError(
                "a transaction is already open in this thread; transactions do not nest"
            )
        self._local.active = True
        try:
            with self._backend.transaction(write=write) as cursor:
                yield cursor
        finally:
            self._local.active = False

    def ensure_schema(self, schema: Schema) -> None:
        """Bring *schema*'s tables up to date; cheap after the first call.

        Runs the migrations the database lacks, each with the bump of its
        version in ``safeshare_schema``, in one write transaction: a crash or
        error leaves the previous version intact. Idempotent, and safe when
        several processes open a fresh database at the same time (the write
        lock serializes them; the later ones find the work done). A database
        written by a newer safeshare (a higher version) is refused with
        :class:`~safeshare.errors.StorageError`; it is never downgraded.
        """
        if not isinstance(schema, Schema):
            raise UsageError("ensure_schema() takes a safeshare.storage.Schema")
        with self._schema_lock:
            if self._applied.get(schema.component) == schema.version:
                return
            dialect = self.dialect
            with self.transaction(write=True) as cur:
                if dialect == "postgresql":
                    # CREATE TABLE IF NOT EXISTS races in PostgreSQL; serialize it.
                    cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
                cur.execute(_SCHEMA_TABLE)
                rows = cur.execute(
                    "SELECT version FROM safeshare_schema WHERE component = ?",
                    (schema.component,),
                )
                current = int(rows[0][0]) if rows else 0
                if current > schema.version:
                    raise StorageError(
                        f"database {self.location} holds version {current} of the "
                        f"{schema.component!r} tables; this safeshare knows only up to "
                        f"version {schema.version}",
                        hint="it was written by a newer safeshare: upgrade safeshare",
                    )
                for migration in schema.migrations[current:]:
                    for statement in migration.statements(dialect):
                        cur.execute(statement)
                if current < schema.version:
                    cur.execute(
                        "INSERT INTO safeshare_schema (component, version) VALUES (?, ?) "
                        "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                        (schema.component, schema.version),
                    )
            self._applied[schema.component] = schema.version

    def close(self) -> None:
        """Close the store's connections; idempotent.

        A transaction still running in another thread finishes normally and
        its connection is closed when it ends. Later calls raise
        :class:`~safeshare.errors.UsageError`.
        """
        if self._closed:
            return
        self._closed = True
        if os.getpid() == self._pid:
            self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Store {self.dialect} {self.location!r} {state}>"

    def _check_usable(self) -> None:
        if self._closed:
            raise UsageError(f"the store at {self.location} is closed")
        if os.getpid() != self._pid:
            raise UsageError(
                "this store was opened in another process (before fork()); "
                "open a new store in this process"
            )


def open_store(
    location: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> Store:
    """Open (creating if needed) the database at *location*.

    *location* is one of

    * a file path (``str`` or :class:`os.PathLike`), or ``sqlite:///abs/path``
      (percent-encoding allowed): an SQLite database, see
      :class:`~safeshare.storage.sqlite.SQLiteBackend` for its durability and
      concurrency guarantees;
    * ``postgresql://user:password@host:port/dbname`` (or ``postgres://``):
      a database on a PostgreSQL server, see
      :class:`~safeshare.storage.postgres.PostgresBackend`. It needs psycopg 3
      (``pip install 'safeshare[postgres]'``; without it this raises
      :class:`~safeshare.errors.UsageError` saying so), which is imported
      only here. The database must exist (safeshare creates tables, not
      databases).

    *busy_timeout* is how many seconds a transaction waits for a lock held by
    another connection or process before failing with
    :class:`~safeshare.errors.StorageError`.

    The returned store is ready: the file exists, it is in WAL mode and it is
    a safeshare database, or the PostgreSQL server answered and the database
    is usable. Close it with :meth:`Store.close` (or ``with``).
    """
    if isinstance(location, os.PathLike):
        return Store(SQLiteBackend(location, busy_timeout=busy_timeout))
    if not isinstance(location, str):
        raise UsageError("the store location must be a path or a URL string")
    if not _URL.match(location):
        return Store(SQLiteBackend(location, busy_timeout=busy_timeout))
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc or parts.query or parts.fragment or not parts.path.startswith("/"):
            raise UsageError(
                f"SQLite URL {location!r} must look like sqlite:///absolute/path "
                "(no host, query or fragment)"
            )
        return Store(SQLiteBackend(unquote(parts.path), busy_timeout=busy_timeout))
    if scheme in ("postgresql", "postgres"):
        return Store(_postgres_backend(location, busy_timeout=busy_timeout))
    raise UsageError(
        f"unknown store URL scheme {parts.scheme!r}; use a file path, sqlite:///path "
        "or postgresql://..."
    )


def _postgres_backend(url: str, *, busy_timeout: float) -> Backend:
    """Import the PostgreSQL back end (and so psycopg) only when it is asked for."""
    try:
        from safeshare.storage.postgres import PostgresBackend  # noqa: PLC0415
    except ImportError as exc:
        name = getattr(exc, "name", None) or ""
        if not (name.startswith("psycopg") or "libpq" in str(exc) or "pq wrapper" in str(exc)):
            raise
        raise UsageError(
            "PostgreSQL support needs psycopg 3, which cannot be imported here "
            f"({exc}): pip install 'safeshare[postgres]'",
            hint="or use an SQLite file (a path) as the store location",
        ) from None
    return PostgresBackend(url, busy_timeout=busy_timeout)
