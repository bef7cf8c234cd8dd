"""What the SQLite and PostgreSQL back ends share: a connection pool and the
skeleton of :meth:`~safeshare.storage.Backend.transaction`.

A subclass supplies the dialect: how to open a connection (``_connect``),
begin a transaction on a borrowed one (``_begin``), commit (``_commit``),
roll back (``_rollback``), close (``_discard``) and wrap it in a cursor
(``_cursor``), and translates its driver's errors itself.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Final, Generic, Protocol, TypeVar

from safeshare.errors import UsageError

#: Idle connections kept per backend; more are opened when threads need them.
MAX_IDLE_CONNECTIONS: Final = 8


class _EndableCursor(Protocol):
    def _end(self) -> None: ...


_ConnT = TypeVar("_ConnT")
_CursorT = TypeVar("_CursorT", bound=_EndableCursor)


def check_busy_timeout(busy_timeout: object) -> float:
    """*busy_timeout* as seconds, or :class:`~safeshare.errors.UsageError`."""
    if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
        raise UsageError("busy_timeout must be a number of seconds")
    if not math.isfinite(busy_timeout) or busy_timeout < 0:
        raise UsageError("busy_timeout must be a finite, non-negative number of seconds")
    return float(busy_timeout)


class _PooledBackend(ABC, Generic[_ConnT, _CursorT]):
    """A thread-safe pool of connections and the transaction skeleton."""

    #: What :meth:`_commit` raises when the commit failed: the skeleton then
    #: rolls back and keeps the connection if that left it fit for reuse.
    _commit_errors: ClassVar[tuple[type[Exception], ...]]

    def _init_pool(self, location: str, busy_timeout: float) -> None:
        self._location = location
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._idle: list[_ConnT] = []
        self._closed = False

    @property
    def location(self) -> str:
        """Where the data lives, for messages (no passwords)."""
        return self._location

    @property
    def busy_timeout(self) -> float:
        """Seconds a transaction waits for a lock."""
        return self._busy_timeout

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[_CursorT]:
        """Run a block in one transaction (see the back end's module docstring).

        Commits when the block ends normally and returns only after the
        commit succeeded; rolls back and re-raises if the block raises.
        """
        conn = self._begin(write)
        healthy = False
        try:
            cursor = self._cursor(conn, write)
            try:
                yield cursor
            except BaseException:
                cursor._end()
                healthy = self._rollback(conn)
                raise
            cursor._end()
            try:
                healthy = self._commit(conn)
            except self._commit_errors:
                healthy = self._rollback(conn)
                raise
        finally:
            self._release(conn, healthy=healthy)

    def close(self) -> None:
        """Close every idle connection now, and busy ones when their block ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)

    # -- the pool ------------------------------------------------------------

    def _acquire(self) -> tuple[_ConnT, bool]:
        """Borrow an idle connection or open one; also say whether it was pooled."""
        with self._lock:
            if self._closed:
                raise UsageError(f"the store at {self._location} is closed")
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _release(self, conn: _ConnT, *, healthy: bool) -> None:
        with self._lock:
            if (
                healthy
                and not self._closed
                and self._reusable(conn)
                and len(self._idle) < MAX_IDLE_CONNECTIONS
            ):
                self._idle.append(conn)
                return
        self._discard(conn)

    def _pool_first(self, conn: _ConnT, check: Callable[[_ConnT], None]) -> None:
        """Run *check* on the first connection, then pool it (or close it and raise)."""
        try:
            check(conn)
        except BaseException:
            self._discard(conn)
            raise
        self._release(conn, healthy=True)

    def _reusable(self, conn: _ConnT) -> bool:
        """Whether the driver still considers *conn* usable."""
        return True

    # -- the dialect ---------------------------------------------------------

    @abstractmethod
    def _connect(self) -> _ConnT:
        """Open and configure a new connection."""

    @abstractmethod
    def _discard(self, conn: _ConnT) -> None:
        """Close *conn*, ignoring driver errors."""

    @abstractmethod
    def _begin(self, write: bool) -> _ConnT:
        """Borrow a connection and begin; on failure release it and raise."""

    @abstractmethod
    def _cursor(self, conn: _ConnT, write: bool) -> _CursorT:
        """The cursor of the transaction just begun on *conn*."""

    @abstractmethod
    def _commit(self, conn: _ConnT) -> bool:
        """Commit; return whether *conn* is fit for reuse; raise on failure."""

    @abstractmethod
    def _rollback(self, conn: _ConnT) -> bool:
        """Roll back; return whether the connection is fit for reuse."""
