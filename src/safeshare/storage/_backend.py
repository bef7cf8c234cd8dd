"""The contract between safeshare components and a database back end.

Components (the replay cache, and later consent records, retained records and
the audit log) never talk to a database driver. They use a
:class:`~safeshare.storage.Store`, which hands out transactions from a
:class:`Backend`:

* ``backend.transaction(write=...)`` is a context manager yielding a
  :class:`Cursor`. Leaving the block normally commits; leaving it with an
  exception rolls back and re-raises. The block returns only after ``COMMIT``
  succeeded, so a change is acknowledged only once it is durable (as durable
  as the back end makes a commit: SQLite with ``synchronous=FULL`` in WAL mode
  fsyncs the log on every commit).
* A write transaction takes the database's write lock when it *starts*, so
  two writers serialize instead of one failing half-way (SQLite ``BEGIN
  IMMEDIATE``; PostgreSQL a transaction-scoped advisory lock taken right
  after ``BEGIN ... READ COMMITTED``, see :mod:`safeshare.storage.postgres`).
  A read transaction sees one consistent snapshot and may not write.
* A statement that fails inside a block raises; let it leave the block (on
  PostgreSQL the transaction is aborted by then and can only roll back).
* SQL is written once, with ``?`` placeholders, in the common subset of
  SQLite and PostgreSQL (``INSERT ... ON CONFLICT ... DO NOTHING`` /
  ``DO UPDATE``, row values, ``LIMIT``). A PostgreSQL back end rewrites the
  placeholders with :func:`qmark_to_pyformat`. Where the dialects differ
  (types in DDL), a component writes one statement per dialect.
* Every driver error is translated to :class:`~safeshare.errors.StorageError`
  (with a message that says what to do) before it leaves the back end.

Schemas are versioned per component (:class:`Schema`, :class:`Migration`);
:class:`~safeshare.storage.Store` applies them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

from safeshare.errors import UsageError

__all__ = [
    "Backend",
    "Cursor",
    "Dialect",
    "Migration",
    "Row",
    "SQLParam",
    "Schema",
    "qmark_to_pyformat",
]

Dialect: TypeAlias = Literal["sqlite", "postgresql"]
#: A value bound to a ``?`` placeholder. Times are integer Unix seconds.
SQLParam: TypeAlias = int | str | bytes | None
#: A result row, as the driver returns it.
Row: TypeAlias = tuple[Any, ...]

_COMPONENT = re.compile(r"[a-z][a-z0-9_]{0,62}")


class Cursor(Protocol):
    """What a transaction block gets: run statements, read rows.

    Valid only inside its ``transaction()`` block; using it afterwards raises
    :class:`~safeshare.errors.UsageError`.
    """

    @property
    def rowcount(self) -> int:
        """Rows changed by the last ``INSERT``/``UPDATE``/``DELETE`` (else -1)."""
        ...

    def execute(self, sql: str, params: Sequence[SQLParam] = ()) -> list[Row]:
        """Run one statement with ``?`` placeholders; return all result rows."""
        ...

    def executemany(self, sql: str, params_seq: Iterable[Sequence[SQLParam]]) -> None:
        """Run one statement once per parameter sequence."""
        ...


class Backend(Protocol):
    """A database driver adapter (SQLite, PostgreSQL).

    Implementations must be safe to share between threads, must translate
    every driver error to :class:`~safeshare.errors.StorageError`, and must
    only return from a write block after the commit succeeded.
    """

    @property
    def dialect(self) -> Dialect:
        """Which SQL dialect the component must speak."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives, for messages (no passwords)."""
        ...

    def transaction(self, *, write: bool) -> AbstractContextManager[Cursor]:
        """Begin a transaction; commit on normal exit, roll back on exception."""
        ...

    def close(self) -> None:
        """Release every connection; idempotent."""
        ...


@dataclass(frozen=True, slots=True)
class Migration:
    """The statements that bring one component's tables to ``version``.

    Migration *n* runs on a database at version *n - 1*, inside the same
    transaction that records version *n*, so it is applied completely or not
    at all. Each dialect gets its own statements; the statements take no
    parameters. Migrations, once released, never change: add a new one.
    """

    version: int
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        """The statements for *dialect*."""
        return self.sqlite if dialect == "sqlite" else self.postgresql


@dataclass(frozen=True, slots=True)
class Schema:
    """The versioned tables of one component (for example ``"replay"``).

    ``migrations`` are numbered 1, 2, ... without gaps; the schema's version is
    the last one's. Tables should be named ``safeshare_<component>...``.
    """

    component: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.component, str) or not _COMPONENT.fullmatch(self.component):
            raise UsageError(
                f"schema component {self.component!r} must be 1-63 characters a-z, 0-9, _ "
                "starting with a letter"
            )
        if not self.migrations:
            raise UsageError(f"schema {self.component!r} has no migrations")
        for expected, migration in enumerate(self.migrations, start=1):
            if migration.version != expected:
                raise UsageError(
                    f"schema {self.component!r}: migration number {migration.version} found "
                    f"where {expected} was expected (versions are 1, 2, ... without gaps)"
                )
            if not migration.sqlite or not migration.postgresql:
                raise UsageError(
                    f"schema {self.component!r}: migration {expected} needs statements "
                    "for both SQLite and PostgreSQL"
                )

    @property
    def version(self) -> int:
        """The newest version this code knows."""
        return len(self.migrations)


@functools.lru_cache(maxsize=512)  # statements are a small fixed set; ~60 us saved each
def qmark_to_pyformat(sql: str) -> str:
    """Rewrite ``?`` placeholders as ``%s`` for psycopg; double literal ``%``.

    ``?`` inside quoted strings, quoted identifiers and comments is left
    alone. (psycopg reads ``%`` everywhere in a query that has parameters,
    including inside string literals, so every ``%`` is doubled.) PostgreSQL's
    ``?``-named JSON operators cannot be written in this SQL; use the
    equivalent functions (``jsonb_exists``) instead.
    """
    out: list[str] = []
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # '' or "" escape
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)
