"""Persistent state: one small storage layer for every safeshare component.

The replay cache lives here now; consent records, retained records and the
audit log (Merkle tree nodes, checkpoints) will use the same :class:`Store`.

* :func:`open_store` opens a database: a file path or ``sqlite:///abs/path``
  gives the embedded SQLite back end (:mod:`safeshare.storage.sqlite`);
  ``postgresql://user:password@host:port/dbname`` gives the PostgreSQL back
  end (:mod:`safeshare.storage.postgres`, psycopg 3 from the ``postgres``
  extra, imported only then) for several instances sharing one database.
  Components see the same contract on both.
* :meth:`Store.transaction` runs a block atomically: commit on success (the
  block returns only after the commit is durable), rollback on any exception.
  Write transactions take the write lock up front, so concurrent writers in
  threads and processes serialize.
* A component declares its tables as a versioned :class:`Schema` of
  :class:`Migration` steps (SQL per dialect) and calls
  :meth:`Store.ensure_schema`; the applied versions are recorded in the
  ``safeshare_schema`` table.
* :class:`ReplayCache` accepts each (issuer, ``jti``) exactly once.

Every database or file-system failure is raised as
:class:`~safeshare.errors.StorageError`; the operation was then not carried
out.
"""

from safeshare.storage._backend import (
    Backend,
    Cursor,
    Dialect,
    Migration,
    Row,
    Schema,
    SQLParam,
)
from safeshare.storage._store import Store, open_store
from safeshare.storage.replay import ReplayCache

__all__ = [
    "Backend",
    "Cursor",
    "Dialect",
    "Migration",
    "ReplayCache",
    "Row",
    "SQLParam",
    "Schema",
    "Store",
    "open_store",
]
