"""The append-only audit log: an RFC 9162 Merkle tree on the shared storage layer.

:class:`AuditLog` keeps every :class:`~safeshare.audit.entry.AuditEntry` of
an agency in a :class:`~safeshare.storage.Store` (SQLite or PostgreSQL) and
proves things about them to partners and oversight bodies.

Storage (schema component ``"audit"``, :data:`AUDIT_SCHEMA`):

* ``safeshare_audit_entries(idx, data, leaf)``: entry *idx*'s canonical
  bytes and its leaf hash ``SHA-256(0x00 || data)``;
* ``safeshare_audit_nodes(level, idx, hash)``: the hash of every *complete*
  subtree: ``2**level`` leaves starting at leaf ``idx * 2**level``. Such a
  subtree never changes, so each is written once, in the transaction that
  appends its last leaf (at most 1 + log2(n) rows per entry, fewer than 2n
  in all). Any root or proof then needs O(log n) of these rows, fetched by
  primary key in one query: proof generation never reads the log itself;
* ``safeshare_audit_meta(name, value)``: the log's ``origin``, so one
  database is never published under two names;
* ``safeshare_audit_checkpoints(seq, size, root_hash, name, kid, signed_at,
  note)`` (schema version 2): every checkpoint the log signed
  (:meth:`AuditLog.sign_checkpoint`), in signing order, with the signed
  note exactly as it was returned;
* schema component ``"audit_subjects"`` (:data:`AUDIT_SUBJECTS_SCHEMA`), the
  **blind index** of data subjects: ``safeshare_audit_subjects(token, idx)``
  holds one row per blind-index token in an entry's ``subjects``, written in
  the transaction that appends the entry (so the index never lacks a
  committed entry's tokens, nor holds an uncommitted one), and
  ``safeshare_audit_subjects_since(since)`` the log size when the index was
  created: entries below it (written before the index existed) are found by
  a scan instead. :meth:`AuditLog.subject_entries` answers "which entries
  concern this token" from the two. The index holds keyed tokens only, never
  an identifier; it is not covered by the Merkle tree, so every entry it
  points to is re-read, checked against the Merkle tree (see *Verified
  reads* below) and against its own ``subjects`` (a planted row is
  detected); a deleted row is detected only by
  ``subject_entries(token, scan=True)``, which reads the whole log.

Guarantees:

* **Durable before acknowledged.** :meth:`AuditLog.append` returns an index
  only after the transaction holding the entry *and its tree nodes*
  committed (SQLite: WAL, ``synchronous=FULL``). A failure raises and writes
  nothing of the batch; the log is left exactly as it was.
* **Group commit.** Concurrent :meth:`~AuditLog.append` calls in one process
  share transactions: a caller queues its entry; if no commit is running it
  becomes the *leader* and commits everything queued, in one transaction and
  one fsync, otherwise it waits for a leader. Each caller returns (or
  raises) only once the commit containing its entry succeeded (or failed:
  then every caller of that batch gets the error and none of the batch is
  written). A caller may pass statements to run in that same transaction
  with its entry (``append(entry, before=...)``, e.g. the replay-cache
  insert of an envelope open: one commit for both); they run in a
  savepoint, so one caller's refusal fails that caller only.
* **One history across processes.** Indexes are assigned inside the write
  transaction, under the database's write lock (SQLite ``BEGIN IMMEDIATE``;
  PostgreSQL: the back end's write lock, plus ``pg_advisory_xact_lock`` on
  :data:`APPEND_LOCK_KEY` taken here, so the log does not depend on how the
  back end serializes other writers; both need write transactions at READ
  COMMITTED isolation, so that the size is read after the lock is granted).
  The primary keys of both tables back this up: two writers can never both
  store index *i*; a conflict fails the append instead of forking the log.
* **Fail-stop on damage.** An append that finds the stored tree
  inconsistent with the entries (a missing frontier node, a node for an
  entry that does not exist) raises
  :class:`~safeshare.errors.AuditIntegrityError` and writes nothing.
* **Verified reads.** The ``leaf`` column stored next to an entry proves
  nothing on its own: whoever can rewrite the entry can rewrite it too. So
  every read that returns entries checks them against the *tree*:
  :meth:`AuditLog.verified_entries` (and :meth:`AuditLog.entries`, the same
  pass) recomputes each leaf hash from the entry bytes (RFC 9162 section
  2.1.1), folds the leaves into a frontier, compares every complete subtree
  with its stored tree node (the entry's own level-0 node first), and links
  the recomputed tree to the log's latest stored checkpoint and to a
  checkpoint the caller holds by RFC 9162 consistency proofs, before it
  yields any entry of a chunk. :meth:`AuditLog.entry`,
  :meth:`AuditLog.leaf_hash` and the blind-index path of
  :meth:`AuditLog.subject_entries` read single entries: each is compared
  with its level-0 node and proven by RFC 9162 inclusion proofs (O(log n)
  stored nodes) in the current tree and in the latest stored checkpoint that
  covers it. An entry rewritten with its stored leaf hash, but not the tree
  above it, is therefore refused (``AuditIntegrityError`` naming its index)
  by every read. What a read cannot see is a *consistent* rewrite of an
  entry and its whole path of tree nodes after the latest checkpoint that
  covers it (or one with the stored checkpoints too): pass the checkpoint
  you hold to :meth:`AuditLog.verified_entries`.
* **Full re-verification.** :meth:`AuditLog.verify` recomputes every leaf
  from the entry data and every stored node from the leaves, streaming in
  chunks (memory stays small for millions of entries), and names the first
  bad index of an edited, deleted, reordered, duplicated or truncated row.
  What it cannot see alone is a *consistent* rewrite (entries and every
  node recomputed) or a truncation of entries and nodes together: signed
  checkpoints and witnesses exist for those.
* **No two inconsistent checkpoints.** :meth:`AuditLog.sign_checkpoint`
  signs the current size and root only after checking, in the same write
  transaction (so no append and no other signer can come in between, in
  any process), that the size did not go down since the latest stored
  checkpoint, that the root recomputed from stored nodes at that
  checkpoint's size is the signed root, and that an RFC 9162 consistency
  proof built from stored nodes links the signed root to the new one.
  Otherwise it raises :class:`~safeshare.errors.AuditIntegrityError` and
  signs and stores nothing. :meth:`AuditLog.verify_with_checkpoints`
  re-derives the tree from the entries and checks every stored checkpoint
  against it (and its signature): a consistent rewrite or truncation that
  :meth:`AuditLog.verify` alone cannot see shows there.

Do not call :meth:`AuditLog.append` while the calling thread has a
transaction of the same store open (store transactions do not nest).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NoReturn, TypeVar

from safeshare._internal.clock import from_unix, resolve_now, to_unix
from safeshare.audit import checkpoint as _checkpoint
from safeshare.audit import entry as _entry
from safeshare.audit import merkle
from safeshare.audit.checkpoint import Checkpoint
from safeshare.audit.entry import AuditEntry
from safeshare.audit.note import NoteVerifier, check_key_name, open_note
from safeshare.errors import (
    AuditIntegrityError,
    MalformedInputError,
    SafeShareError,
    StorageError,
    UsageError,
)
from safeshare.keys import SigningKey, VerifyKey
from safeshare.storage import Cursor, Migration, Row, Schema, Store

__all__ = [
    "APPEND_LOCK_KEY",
    "AUDIT_SCHEMA",
    "AUDIT_SUBJECTS_SCHEMA",
    "AuditLog",
    "Progress",
    "StoredCheckpoint",
    "Verification",
    "VerifiedEntries",
]

_T = TypeVar("_T")

#: ``progress(done, total)``: called while :meth:`AuditLog.verify` runs.
Progress = Callable[[int, int], object]

AUDIT_SCHEMA: Final = Schema(
    component="audit",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                # INTEGER PRIMARY KEY: the rowid itself, a 64-bit integer.
                "CREATE TABLE safeshare_audit_entries ("
                "idx INTEGER PRIMARY KEY, "
                "data BLOB NOT NULL, "
                "leaf BLOB NOT NULL)",
                "CREATE TABLE safeshare_audit_nodes ("
                "level INTEGER NOT NULL, "
                "idx INTEGER NOT NULL, "
                "hash BLOB NOT NULL, "
                "PRIMARY KEY (level, idx)"
                ") WITHOUT ROWID",
                "CREATE TABLE safeshare_audit_meta ("
                "name TEXT NOT NULL PRIMARY KEY, "
                "value TEXT NOT NULL"
                ") WITHOUT ROWID",
            ),
            postgresql=(
                "CREATE TABLE safeshare_audit_entries ("
                "idx BIGINT PRIMARY KEY, "
                "data BYTEA NOT NULL, "
                "leaf BYTEA NOT NULL)",
                "CREATE TABLE safeshare_audit_nodes ("
                "level INTEGER NOT NULL, "
                "idx BIGINT NOT NULL, "
                "hash BYTEA NOT NULL, "
                "PRIMARY KEY (level, idx))",
                "CREATE TABLE safeshare_audit_meta ("
                'name TEXT COLLATE "C" NOT NULL PRIMARY KEY, '
                "value TEXT NOT NULL)",
            ),
        ),
        Migration(
            version=2,
            sqlite=(
                # seq: signing order, assigned under the write lock (max + 1).
                "CREATE TABLE safeshare_audit_checkpoints ("
                "seq INTEGER PRIMARY KEY, "
                "size INTEGER NOT NULL CHECK (size >= 0), "
                "root_hash BLOB NOT NULL, "
                "name TEXT NOT NULL, "
                "kid TEXT NOT NULL, "
                "signed_at INTEGER NOT NULL, "
                "note TEXT NOT NULL)",
                "CREATE INDEX safeshare_audit_checkpoints_size "
                "ON safeshare_audit_checkpoints (size, seq)",
            ),
            postgresql=(
                "CREATE TABLE safeshare_audit_checkpoints ("
                "seq BIGINT PRIMARY KEY, "
                "size BIGINT NOT NULL CHECK (size >= 0), "
                "root_hash BYTEA NOT NULL, "
                'name TEXT COLLATE "C" NOT NULL, '
                'kid TEXT COLLATE "C" NOT NULL, '
                "signed_at BIGINT NOT NULL, "
                "note TEXT NOT NULL)",
                "CREATE INDEX safeshare_audit_checkpoints_size "
                "ON safeshare_audit_checkpoints (size, seq)",
            ),
        ),
    ),
)

#: The blind index of the entries' ``subjects`` (a component of its own, so that the
#: audit tables keep their version). Migration 1 creates the index, empty, and records
#: the log's size then: older entries are scanned (see :meth:`AuditLog.subject_entries`).
AUDIT_SUBJECTS_SCHEMA: Final = Schema(
    component="audit_subjects",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                "CREATE TABLE safeshare_audit_subjects ("
                "token TEXT NOT NULL, "
                "idx INTEGER NOT NULL, "
                "PRIMARY KEY (token, idx)"
                ") WITHOUT ROWID",
                "CREATE TABLE safeshare_audit_subjects_since ("
                "id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), "
                "since INTEGER NOT NULL CHECK (since >= 0))",
                "INSERT INTO safeshare_audit_subjects_since (id, since) "
                "SELECT 1, COALESCE(max(idx) + 1, 0) FROM safeshare_audit_entries",
            ),
            postgresql=(
                "CREATE TABLE safeshare_audit_subjects ("
                'token TEXT COLLATE "C" NOT NULL, '
                "idx BIGINT NOT NULL, "
                "PRIMARY KEY (token, idx))",
                "CREATE TABLE safeshare_audit_subjects_since ("
                "id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), "
                "since BIGINT NOT NULL CHECK (since >= 0))",
                "INSERT INTO safeshare_audit_subjects_since (id, since) "
                "SELECT 1, COALESCE(max(idx) + 1, 0) FROM safeshare_audit_entries",
            ),
        ),
    ),
)

#: Key of the PostgreSQL advisory lock that serializes appends
#: (``int.from_bytes(b"ssaudit1", "big") >> 1``, fits a signed bigint).
APPEND_LOCK_KEY: Final = int.from_bytes(b"ssaudit1", "big") >> 1
#: Largest log size: indexes are signed 64-bit integers in storage.
MAX_LOG_SIZE: Final = 2**63 - 1
#: Entries read per query by :meth:`AuditLog.verify`.
VERIFY_CHUNK: Final = 8192

_ORIGIN: Final = re.compile(r"[^\s+\x00-\x1f\x7f]{1,255}")
_MAX_NODE_TERMS: Final = 128  # (level, idx) pairs per node query

_SIZE: Final = "SELECT max(idx) FROM safeshare_audit_entries"
_INSERT_ENTRY: Final = "INSERT INTO safeshare_audit_entries (idx, data, leaf) VALUES (?, ?, ?)"
_INSERT_NODE: Final = "INSERT INTO safeshare_audit_nodes (level, idx, hash) VALUES (?, ?, ?)"
_INSERT_SUBJECT: Final = "INSERT INTO safeshare_audit_subjects (token, idx) VALUES (?, ?)"
_SUBJECTS_SINCE: Final = "SELECT since FROM safeshare_audit_subjects_since WHERE id = 1"
_SUBJECT_ENTRIES: Final = (
    "SELECT s.idx, e.data, e.leaf FROM safeshare_audit_subjects s "
    "LEFT JOIN safeshare_audit_entries e ON e.idx = s.idx "
    "WHERE s.token = ? AND s.idx >= ? AND s.idx < ? ORDER BY s.idx"
)
# Blind-index tokens, as AuditEntry.subjects holds them.
_SUBJECT_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
_GET_ENTRY: Final = "SELECT data, leaf FROM safeshare_audit_entries WHERE idx = ?"
_GET_ORIGIN: Final = "SELECT value FROM safeshare_audit_meta WHERE name = 'origin'"
_SET_ORIGIN: Final = (
    "INSERT INTO safeshare_audit_meta (name, value) VALUES ('origin', ?) "
    "ON CONFLICT (name) DO NOTHING"
)
_ENTRIES_FIRST: Final = "SELECT idx, data, leaf FROM safeshare_audit_entries ORDER BY idx LIMIT ?"
_ENTRIES_NEXT: Final = (
    "SELECT idx, data, leaf FROM safeshare_audit_entries WHERE idx > ? ORDER BY idx LIMIT ?"
)
_LEVEL_FIRST: Final = (
    "SELECT idx, hash FROM safeshare_audit_nodes WHERE level = ? ORDER BY idx LIMIT ?"
)
_LEVEL_NEXT: Final = (
    "SELECT idx, hash FROM safeshare_audit_nodes WHERE level = ? AND idx > ? ORDER BY idx LIMIT ?"
)
_BAD_LEVELS: Final = (
    "SELECT level, idx FROM safeshare_audit_nodes WHERE level < 0 OR level > 63 "
    "ORDER BY level, idx LIMIT 1"
)
_ENTRY_RANGE: Final = (
    "SELECT idx, data, leaf FROM safeshare_audit_entries WHERE idx >= ? AND idx < ? "
    "ORDER BY idx LIMIT ?"
)
_HAS_META_SQLITE: Final = (
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'safeshare_audit_meta'"
)
_HAS_META_POSTGRES: Final = (
    "SELECT CASE WHEN to_regclass('safeshare_audit_meta') IS NULL THEN 0 ELSE 1 END"
)
_LATEST_CHECKPOINT: Final = (
    "SELECT seq, size, root_hash, name, kid, signed_at, note FROM safeshare_audit_checkpoints "
    "WHERE seq = (SELECT max(seq) FROM safeshare_audit_checkpoints)"
)
_CHECKPOINTS_AFTER: Final = (
    "SELECT seq, size, root_hash, name, kid, signed_at, note FROM safeshare_audit_checkpoints "
    "WHERE seq > ? ORDER BY seq LIMIT ?"
)
_CHECKPOINT_AT_SIZE: Final = (
    "SELECT seq, size, root_hash, name, kid, signed_at, note FROM safeshare_audit_checkpoints "
    "WHERE size = ? ORDER BY seq DESC LIMIT 1"
)
_CHECKPOINT_SIZES: Final = "SELECT DISTINCT size FROM safeshare_audit_checkpoints ORDER BY size"
_CHECKPOINT_AT_MOST: Final = (
    "SELECT seq, size, root_hash, name, kid, signed_at, note FROM safeshare_audit_checkpoints "
    "WHERE size <= ? ORDER BY size DESC, seq DESC LIMIT 1"
)
_MAX_CHECKPOINT_SIZE: Final = "SELECT max(size) FROM safeshare_audit_checkpoints"
#: Per level, the first stored node that is not inside the tree of the first N entries.
#: Only "?" placeholders are joined in; every value is a bound parameter.
_NODES_BEYOND: Final = (
    "SELECT level, min(idx) FROM safeshare_audit_nodes WHERE "  # noqa: S608
    + " OR ".join(["(level = ? AND idx >= ?)"] * 64)
    + " GROUP BY level"
)
_INSERT_CHECKPOINT: Final = (
    "INSERT INTO safeshare_audit_checkpoints "
    "(seq, size, root_hash, name, kid, signed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
#: Entries read per query (and verified before any is yielded) by
#: :meth:`AuditLog.verified_entries`; checkpoints per query.
READ_CHUNK: Final = 4096


@functools.lru_cache(maxsize=_MAX_NODE_TERMS)
def _nodes_query(terms: int) -> str:
    where = " OR ".join(["(level = ? AND idx = ?)"] * terms)
    # Only "?" placeholders are interpolated; every value is a bound parameter.
    return f"SELECT level, idx, hash FROM safeshare_audit_nodes WHERE {where}"  # noqa: S608


@functools.lru_cache(maxsize=64)
def _ranges_query(terms: int) -> str:
    where = " OR ".join(["(level = ? AND idx >= ? AND idx < ?)"] * terms)
    # Only "?" placeholders are interpolated; every value is a bound parameter.
    return f"SELECT level, idx, hash FROM safeshare_audit_nodes WHERE {where}"  # noqa: S608


_MIN_SEQ: Final = -(2**63)  # below every stored checkpoint number
_RESTORE: Final = "run `safeshare audit verify` and restore the database from a backup"


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint the log signed, as stored (see :meth:`AuditLog.checkpoints`)."""

    seq: int
    """Signing order: 1 for the log's first checkpoint, then 2, 3, ..."""
    checkpoint: Checkpoint
    note: str
    """The signed note exactly as :meth:`AuditLog.sign_checkpoint` returned it."""
    name: str
    """The key name of the signature (the log's origin unless another was given)."""
    kid: str
    """The JWK ``kid`` (RFC 7638 thumbprint) of the signing key."""
    signed_at: datetime

    @property
    def size(self) -> int:
        """The tree size the checkpoint commits to."""
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        """The root hash the checkpoint commits to."""
        return self.checkpoint.root_hash


@dataclass(frozen=True, slots=True)
class Verification:
    """What :meth:`AuditLog.verify_with_checkpoints` established."""

    size: int
    """Entries verified: the whole log."""
    root_hash: bytes
    """The root recomputed from the entries."""
    checkpoints: int
    """Stored checkpoints checked against the recomputed tree."""
    signatures_checked: bool
    """Whether their signatures were verified (keys were given)."""
    latest_checkpoint: StoredCheckpoint | None


#: Runs inside the write transaction of a group commit, before its caller's entry
#: is written (see :meth:`AuditLog.append`).
Before = Callable[[Cursor], object]

_SAVEPOINT: Final = "SAVEPOINT safeshare_append_before"
_ROLLBACK_TO: Final = "ROLLBACK TO SAVEPOINT safeshare_append_before"
_RELEASE: Final = "RELEASE SAVEPOINT safeshare_append_before"


class _Request:
    """One caller's entries waiting for a group commit."""

    __slots__ = ("before", "datas", "done", "error", "first", "refusal", "subjects")

    def __init__(
        self,
        datas: list[bytes],
        subjects: list[tuple[str, ...]],
        before: Before | None = None,
    ) -> None:
        self.datas = datas
        self.subjects = subjects  # each entry's blind-index tokens, for the subject index
        self.before = before
        self.done = False
        self.first = -1
        self.error: BaseException | None = None  # the batch failed
        self.refusal: Exception | None = None  # this caller's *before* raised

    def indexes(self) -> list[int]:
        return list(range(self.first, self.first + len(self.datas)))


class AuditLog:
    """The tamper-evident audit log of one agency, in a :class:`Store`.

    *origin* names the log in its checkpoints (C2SP tlog-checkpoint origin
    line, e.g. ``"audit.xa-npol.example/log"``: 1-255 characters, no
    whitespace, no ``+``). The first :class:`AuditLog` on a database records
    its origin; opening the same database under another origin raises
    :class:`~safeshare.errors.UsageError` (one log per store).

    Creating one applies :data:`AUDIT_SCHEMA` to the store if needed. Safe to
    share between threads (appends from threads are group-committed); any
    number of processes may open the same database (see the module
    docstring). The log does not own the store: close the store yourself.
    """

    def __init__(self, store: Store, *, origin: str) -> None:
        if not isinstance(store, Store):
            raise UsageError("AuditLog() takes a safeshare.storage.Store")
        if not isinstance(origin, str) or _ORIGIN.fullmatch(origin) is None:
            raise UsageError(
                "the log origin must be 1-255 characters without whitespace, control "
                "characters or '+' (a C2SP checkpoint origin, e.g. 'audit.example/log')"
            )
        store.ensure_schema(AUDIT_SCHEMA)
        store.ensure_schema(AUDIT_SUBJECTS_SCHEMA)
        self._store = store
        self._origin = origin
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Request] = []
        self._leader = False
        self._claim_origin()

    @property
    def origin(self) -> str:
        """The log's name in its checkpoints."""
        return self._origin

    @property
    def store(self) -> Store:
        """The store holding the log."""
        return self._store

    def __repr__(self) -> str:
        return f"<AuditLog {self._origin!r} in {self._store.location!r}>"

    @classmethod
    def open(cls, store: Store, *, origin: str | None = None) -> AuditLog:
        """The audit log already in *store*, under the origin it records.

        Unlike the constructor, this never creates a log: a database without
        one raises :class:`~safeshare.errors.UsageError` and is left as it
        was. With *origin*, the recorded origin must be that one.
        """
        if not isinstance(store, Store):
            raise UsageError("AuditLog.open() takes a safeshare.storage.Store")
        stored = cls.stored_origin(store)
        if stored is None:
            raise UsageError(
                f"database {store.location} holds no audit log",
                hint="check the database location (a file path or a postgresql:// URL)",
            )
        return cls(store, origin=stored if origin is None else origin)

    @staticmethod
    def stored_origin(store: Store) -> str | None:
        """The origin of the audit log in *store*, or ``None`` if it holds none.

        Reads only; creates no table.
        """
        if not isinstance(store, Store):
            raise UsageError("stored_origin() takes a safeshare.storage.Store")
        probe = _HAS_META_SQLITE if store.dialect == "sqlite" else _HAS_META_POSTGRES
        with store.transaction(write=False) as cur:
            if not int(cur.execute(probe)[0][0]):
                return None
            rows = cur.execute(_GET_ORIGIN)
        return str(rows[0][0]) if rows else None

    def _claim_origin(self) -> None:
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_GET_ORIGIN)
        if not rows:
            with self._store.transaction(write=True) as cur:
                cur.execute(_SET_ORIGIN, (self._origin,))
                rows = cur.execute(_GET_ORIGIN)
        stored = str(rows[0][0])
        if stored != self._origin:
            raise UsageError(
                f"database {self._store.location} holds the audit log {stored!r}, "
                f"not {self._origin!r}",
                hint="open the log under its own origin; use another database for another log",
            )

    # -- appending -----------------------------------------------------------------

    def append(self, entry: AuditEntry, *, before: Before | None = None) -> int:
        """Record *entry*; return its index once it is durably committed.

        Concurrent calls from several threads share one transaction (group
        commit). Raises :class:`~safeshare.errors.StorageError` (or
        :class:`~safeshare.errors.AuditIntegrityError` if the stored tree is
        damaged) when the commit fails; then the entry was not recorded and
        the caller must not go on as if it had been (for example: must not
        release the data whose access it records).

        *before*: a callable ``before(cursor)`` run inside the write
        transaction that appends *entry* (possibly in another thread: that of
        the group commit's leader), to write other rows of the same store
        atomically with the entry (e.g.
        :meth:`~safeshare.storage.ReplayCache.check_and_record_in`). It runs
        in a savepoint: if it raises an :class:`Exception`, its statements
        are rolled back, *entry* is not appended and this call raises that
        exception; the other callers of the batch are not affected. If the
        batch's commit fails, nothing of it is written (the statements of
        *before* neither) and every caller gets the error. *before* runs once
        and must not open a transaction of its own.
        """
        if before is not None and not callable(before):
            raise UsageError("before must be a callable before(cursor) or None")
        return self._submit([_encode(entry)], [entry.subjects], before)[0]

    def append_many(self, entries: Iterable[AuditEntry]) -> list[int]:
        """Record several entries in one transaction; return their indexes.

        All or nothing: either every entry is committed, with consecutive
        indexes in the given order, or none is. An empty iterable writes
        nothing and returns ``[]``.
        """
        if isinstance(entries, AuditEntry):
            raise UsageError("append_many() takes an iterable of entries; use append()")
        listed = list(entries)
        datas = [_encode(e) for e in listed]
        if not datas:
            return []
        return self._submit(datas, [e.subjects for e in listed])

    def _submit(
        self, datas: list[bytes], subjects: list[tuple[str, ...]], before: Before | None = None
    ) -> list[int]:
        request = _Request(datas, subjects, before)
        with self._cond:
            self._queue.append(request)
            while self._leader and not request.done:
                self._cond.wait()
            if request.done:  # a leader committed (or failed) our batch
                if request.error is not None:
                    raise _for_follower(request.error) from request.error
                if request.refusal is not None:
                    raise request.refusal
                return request.indexes()
            self._leader = True
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        except BaseException as exc:
            self._finish(batch, error=exc)
            raise
        self._finish(batch, error=None)
        if request.refusal is not None:
            raise request.refusal
        return request.indexes()

    def _finish(self, batch: list[_Request], *, error: BaseException | None) -> None:
        with self._cond:
            for r in batch:
                if error is not None:
                    r.error = error
                    r.first = -1
                r.done = True
            self._leader = False
            self._cond.notify_all()

    def _lock(self, cur: Cursor) -> None:
        """Serialize with every append and checkpoint (see the module docstring)."""
        if self._store.dialect == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(?)", (APPEND_LOCK_KEY,))

    def _commit(self, batch: list[_Request]) -> None:
        """Append the entries of *batch* in one write transaction; set each request's
        ``first`` index (or its ``refusal``, when its *before* raised)."""
        # hashed before taking the lock
        leaves = [[merkle.leaf_hash(d) for d in r.datas] for r in batch]
        with self._store.transaction(write=True) as cur:
            self._lock(cur)
            size = _size(cur)
            accepted: list[tuple[_Request, list[bytes]]] = []
            for r, hashes in zip(batch, leaves, strict=True):
                r.first, r.refusal = -1, None
                if r.before is None or self._run_before(cur, r, r.before):
                    accepted.append((r, hashes))
            count = sum(len(r.datas) for r, _ in accepted)
            if size + count > MAX_LOG_SIZE:
                raise StorageError(f"the audit log {self._origin} is full ({size} entries)")
            frontier = self._frontier(cur, size)
            entry_rows: list[tuple[int, bytes, bytes]] = []
            node_rows: list[tuple[int, int, bytes]] = []
            subject_rows: list[tuple[str, int]] = []
            for r, hashes in accepted:
                r.first = size + len(entry_rows)
                for data, leaf, tokens in zip(r.datas, hashes, r.subjects, strict=True):
                    idx = size + len(entry_rows)
                    entry_rows.append((idx, data, leaf))
                    subject_rows.extend((token, idx) for token in tokens)
                    node_rows.extend(frontier.append(leaf))
            if entry_rows:
                cur.executemany(_INSERT_ENTRY, entry_rows)
                cur.executemany(_INSERT_NODE, node_rows)
            if subject_rows:  # the blind index, in the same transaction as its entries
                cur.executemany(_INSERT_SUBJECT, subject_rows)

    @staticmethod
    def _run_before(cur: Cursor, request: _Request, before: Before) -> bool:
        """Run *request*'s ``before`` in a savepoint; whether it succeeded.

        When it raises an :class:`Exception`, its statements are rolled back
        and the exception is kept for its caller only; a failure of the
        savepoint statements themselves fails the whole batch.
        """
        cur.execute(_SAVEPOINT)
        try:
            before(cur)
        except Exception as exc:  # noqa: BLE001 - delivered to its caller only
            cur.execute(_ROLLBACK_TO)
            cur.execute(_RELEASE)
            request.refusal = exc
            return False
        cur.execute(_RELEASE)
        return True

    def _frontier(self, cur: Cursor, size: int) -> merkle.Frontier:
        """Load the nodes needed to extend the tree, checking no later node exists."""
        addresses = merkle.Frontier.addresses(size)
        found = _fetch_nodes(cur, [*addresses, (0, size)])
        if (0, size) in found:
            raise AuditIntegrityError(
                f"the audit log is damaged: a tree node exists for entry {size}, which is "
                f"not stored (first bad index {size}); nothing was appended",
                hint="run `safeshare audit verify` and restore the database from a backup",
            )
        return merkle.Frontier.load(size, _lookup(found))

    # -- checkpoints ---------------------------------------------------------------

    def sign_checkpoint(
        self, name: str | None, key: SigningKey, *, now: datetime | None = None
    ) -> str:
        """Sign a checkpoint of the current size and root, store it, return the note.

        The checkpoint (C2SP tlog-checkpoint) has the log's origin; it is
        signed as a C2SP signed note by *key* under the key name *name*
        (``None``: the origin, as :mod:`safeshare.audit.checkpoint`
        recommends and every safeshare verifier expects). *now* is recorded
        as the signing time (it is not part of the signed text).

        In one write transaction, serialized with every append and every
        other signer (in any process), before signing: the size must not be
        below that of the latest stored checkpoint; the root recomputed from
        the stored nodes at that checkpoint's size must be its signed root;
        an RFC 9162 consistency proof built from the stored nodes must link
        that root to the new one; and no tree node may exist for an entry
        beyond the current size. If any check fails this raises
        :class:`~safeshare.errors.AuditIntegrityError` and signs and stores
        nothing, so the log never signs two checkpoints that are
        inconsistent with each other. The note is returned only after it is
        durably stored.
        """
        signed_at = to_unix(resolve_now(now))
        key_name = self._origin if name is None else check_key_name(name, error=UsageError)
        if not isinstance(key, SigningKey):
            raise UsageError("sign_checkpoint() needs a safeshare.keys.SigningKey")
        with self._store.transaction(write=True) as cur:
            self._lock(cur)
            size = _size(cur)
            rows = cur.execute(_LATEST_CHECKPOINT)
            previous = self._stored(rows[0]) if rows else None
            root = _checked_root(cur, size, previous)
            note = _checkpoint.sign_checkpoint(Checkpoint(self._origin, size, root), key_name, key)
            seq = 1 if previous is None else previous.seq + 1
            cur.execute(
                _INSERT_CHECKPOINT, (seq, size, root, key_name, key.public.kid, signed_at, note)
            )
        return note

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint the log signed, in signing order (see :meth:`iter_checkpoints`)."""
        return list(self.iter_checkpoints())

    def iter_checkpoints(self) -> Iterator[StoredCheckpoint]:
        """The stored checkpoints in signing order, read in chunks.

        Each is checked to agree with its own note (a stored row whose
        columns differ from its signed text raises
        :class:`~safeshare.errors.AuditIntegrityError`); signatures are not
        verified here (:meth:`verify_with_checkpoints` does).
        """
        after = _MIN_SEQ
        while True:
            with self._store.transaction(write=False) as cur:
                rows = cur.execute(_CHECKPOINTS_AFTER, (after, READ_CHUNK))
            for row in rows:
                yield self._stored(row)
            if len(rows) < READ_CHUNK:
                return
            after = int(rows[-1][0])

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint the log signed last, or ``None`` if it signed none."""
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_LATEST_CHECKPOINT)
        return self._stored(rows[0]) if rows else None

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        """The latest checkpoint the log signed at tree size *size*, if any."""
        _check_int(size, "size")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_CHECKPOINT_AT_SIZE, (size,))
        return self._stored(rows[0]) if rows else None

    def _stored(self, row: Row) -> StoredCheckpoint:
        """A stored checkpoint row, checked against its own signed note."""
        seq, size, root, name, kid, signed_at, note = row
        where = f"stored checkpoint {seq} of the audit log"
        text = note if isinstance(note, str) else ""
        split = text.rfind("\n\n")
        try:
            if split < 0:
                raise MalformedInputError("it is not a signed note")
            cp = Checkpoint.parse(text[: split + 1])
        except MalformedInputError as exc:
            raise AuditIntegrityError(f"{where} is damaged: {exc.message}", hint=_RESTORE) from None
        if cp.origin != self._origin:
            raise AuditIntegrityError(
                f"{where} is for the log {cp.origin[:200]!r}, not {self._origin!r}",
                hint=_RESTORE,
            )
        if cp.size != size or cp.root_hash != _as_bytes(root):
            raise AuditIntegrityError(
                f"{where} is damaged: its stored size and root differ from its signed note "
                f"(size {cp.size})",
                hint=_RESTORE,
            )
        try:
            when = from_unix(int(signed_at))
        except (OverflowError, ValueError, OSError, TypeError):
            raise AuditIntegrityError(f"{where} has an invalid signing time") from None
        return StoredCheckpoint(
            seq=int(seq), checkpoint=cp, note=text, name=str(name), kid=str(kid), signed_at=when
        )

    # -- reading -----------------------------------------------------------------

    def verified_entries(
        self,
        start: int = 0,
        stop: int | None = None,
        *,
        checkpoint: Checkpoint | None = None,
        cursor: Cursor | None = None,
    ) -> VerifiedEntries:
        """``(index, entry)`` for entries *start* to *stop*, each verified against the tree.

        The tree verified against has the log's current size, or, with
        *checkpoint* (a :class:`~safeshare.audit.checkpoint.Checkpoint` of
        this log you trust, e.g. from
        :func:`~safeshare.audit.checkpoint.verify_checkpoint` or
        :func:`~safeshare.audit.witness.verify_cosigned`), that checkpoint's
        size; *stop* defaults to that size and may not exceed it. Both are
        fixed when this is called.

        Entries are read :data:`READ_CHUNK` at a time. Before any entry of a
        chunk is yielded, the whole chunk is checked: indexes without gaps;
        each leaf hash recomputed from the entry bytes (RFC 9162 section
        2.1.1) and equal to the leaf stored next to it; the leaves folded
        into a Merkle frontier, and every complete subtree that gains
        compared with its stored tree node (its level-0 node first: an
        entry rewritten together with its stored leaf, but not the tree
        above it, stops the pass at its index); the entry decoded strictly;
        and the recomputed tree linked to each *anchor*: the log's latest
        stored checkpoint within the tree, and *checkpoint* if given. An
        anchor the pass has reached must have the recomputed root at its
        size; one beyond the chunk must be consistent with the recomputed
        tree by an RFC 9162 consistency proof built from the stored nodes
        (section 2.1.4.2). The last chunk is also checked for signs of
        lost entries (tree nodes or stored checkpoints beyond the log's
        last entry). Any difference raises
        :class:`~safeshare.errors.AuditIntegrityError` naming the first bad
        index (or, where only a checkpoint's root disagrees, the range it
        lies in); no entry of that chunk is yielded.

        Entries before *start* are not read: the pass starts from the
        stored frontier at *start* (one node per set bit of *start*), which
        the anchors' consistency proofs and the subtree comparisons check
        as the pass goes. A yielded entry is thus at its index in the tree
        of the anchor (collision resistance of SHA-256), whatever the stored
        nodes hold. Cost: reading and hashing the entries of the range
        (about two hashes per entry), the stored nodes they complete (fewer
        than two per entry), and O(log n) nodes per chunk for the anchors.

        Without *cursor*, the anchors are read in one read transaction and
        each chunk in one of its own, closed before its entries are
        yielded: the caller may use the store while iterating. With
        *cursor* (a read transaction of this log's store the caller holds
        open), everything is read in that one snapshot, and the caller must
        hold it open until the iteration ends.

        Raises :class:`~safeshare.errors.UsageError` for bad arguments (a
        checkpoint of another log, *stop* beyond the tree, *start* beyond
        *stop*) and :class:`~safeshare.errors.AuditIntegrityError` at once
        if *checkpoint* covers more entries than the log holds.
        """
        _check_int(start, "start")
        if stop is not None:
            _check_int(stop, "stop")
        if checkpoint is not None:
            if not isinstance(checkpoint, Checkpoint):
                raise UsageError(
                    "checkpoint must be a safeshare.audit.Checkpoint (from verify_checkpoint())"
                )
            if checkpoint.origin != self._origin:
                raise UsageError(
                    f"the checkpoint is for the log {checkpoint.origin[:200]!r}, not for "
                    f"{self._origin!r}",
                    hint="pass a checkpoint of the log being read",
                )
        return VerifiedEntries(self, start, stop, checkpoint, cursor)

    def entries(self, start: int = 0, stop: int | None = None) -> VerifiedEntries:
        """``(index, entry)`` for the entries from *start* to *stop* (default: the size).

        The same verified pass as :meth:`verified_entries` (no checkpoint
        given: the log's latest stored checkpoint is the anchor). There is
        no unverified way to read entries.
        """
        return self.verified_entries(start, stop)

    def subject_entries(
        self, token: str, *, stop: int | None = None, scan: bool = False
    ) -> list[tuple[int, AuditEntry]]:
        """``(index, entry)`` of every entry below *stop* whose ``subjects`` hold *token*.

        *token* is a blind-index token (a keyed hash, see
        :mod:`safeshare.privacy.blind_index`); *stop* defaults to the
        current size. Everything is read in one read snapshot.

        Entries appended since the blind index was created are found through
        it (one query); each one it points to is read back, its leaf hash
        recomputed and compared with the stored leaf and its stored level-0
        tree node, and proven by RFC 9162 inclusion proofs (built from
        stored nodes, O(log n) per entry) in the current tree and in the
        log's latest stored checkpoint if that covers it; it is decoded
        strictly and must list *token* itself: an index row that points to
        a missing entry or to one without the token raises
        :class:`~safeshare.errors.AuditIntegrityError` (the index, which the
        Merkle tree does not cover, was changed). Older entries, and with
        *scan* every entry below *stop* (the index is not used at all), are
        read by the verified pass of :meth:`verified_entries`: slower
        (linear in the log), but it also finds entries whose index rows were
        deleted. Either way, an entry rewritten together with its stored
        leaf hash raises :class:`~safeshare.errors.AuditIntegrityError`
        naming its index instead of being returned.
        """
        if not isinstance(token, str) or _SUBJECT_TOKEN.fullmatch(token) is None:
            raise UsageError("a subject token is 16-128 base64url characters (a blind-index token)")
        if not isinstance(scan, bool):
            raise UsageError("scan must be True or False")
        with self._store.transaction(write=False) as cur:
            end = _resolve_size(cur, stop, "stop")
            since = end
            rows: list[Row] = []
            if not scan:
                stored = cur.execute(_SUBJECTS_SINCE)
                if not stored:
                    raise AuditIntegrityError(
                        "the blind index of the audit log is damaged: its start "
                        "(safeshare_audit_subjects_since) is missing",
                        hint="look the subject up with a full scan (scan=True, --scan)",
                    )
                since = min(int(stored[0][0]), end)
                rows = cur.execute(_SUBJECT_ENTRIES, (token, since, end))
            scanned = VerifiedEntries(self, 0, since, None, cur)
            found = [(i, e) for i, e in scanned if token in e.subjects]
            if rows:
                found.extend(self._indexed(cur, token, rows, scanned))
        return found

    def _indexed(
        self, cur: Cursor, token: str, rows: Sequence[Row], scanned: VerifiedEntries
    ) -> list[tuple[int, AuditEntry]]:
        """The entries the blind index points to, each verified (see :meth:`subject_entries`)."""
        anchor = scanned.stored_checkpoint
        prove = _entry_prover(
            cur,
            [int(row[0]) for row in rows],
            scanned.log_size,
            None if anchor is None else anchor.checkpoint,
        )
        found: list[tuple[int, AuditEntry]] = []
        for idx, raw, stored_leaf in rows:
            index = int(idx)
            if raw is None:
                raise AuditIntegrityError(
                    f"the blind index of the audit log points to entry {index}, which is not "
                    f"stored (first bad index {index})",
                    hint=_RESTORE,
                )
            data, leaf = _leaf_checked(index, raw, stored_leaf)
            prove(index, leaf)
            entry = _decoded(index, data)
            if token not in entry.subjects:
                raise AuditIntegrityError(
                    f"the blind index of the audit log lists a subject for entry {index} that "
                    "the entry does not hold: the index was changed",
                    hint="look the subject up with a full scan (scan=True, --scan)",
                )
            found.append((index, entry))
        return found

    def size(self) -> int:
        """How many entries the log holds."""
        with self._store.transaction(write=False) as cur:
            return _size(cur)

    def entry(self, index: int) -> AuditEntry:
        """Entry *index*, verified against the tree, then decoded strictly.

        In one read snapshot: the leaf hash is recomputed from the entry's
        bytes and must equal the leaf stored next to it and the entry's
        stored level-0 tree node; RFC 9162 inclusion proofs built from the
        stored nodes must prove it in the current tree (whose root is
        folded from the stored nodes) and, if the log's latest stored
        checkpoint covers *index*, in that checkpoint's tree. O(log n)
        stored nodes, one query (plus the size and the checkpoint).
        Otherwise :class:`~safeshare.errors.AuditIntegrityError` names the
        index.
        """
        return self._verified_entry(index)[0]

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash of entry *index*, verified as :meth:`entry` verifies the entry."""
        return self._verified_entry(index)[1]

    def _verified_entry(self, index: int) -> tuple[AuditEntry, bytes]:
        _check_int(index, "index")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_GET_ENTRY, (index,))
            size = _size(cur)
            if not rows:
                if index >= size:
                    raise UsageError(f"the audit log has {size} entries; there is no entry {index}")
                raise AuditIntegrityError(
                    f"entry {index} of the audit log is missing (first bad index {index})"
                )
            data, leaf = _leaf_checked(index, rows[0][0], rows[0][1])
            anchor = self._anchor(cur, size)
            prove = _entry_prover(cur, [index], size, None if anchor is None else anchor.checkpoint)
        prove(index, leaf)
        return _decoded(index, data), leaf

    def _anchor(self, cur: Cursor, size: int) -> StoredCheckpoint | None:
        """The latest stored checkpoint of at most *size* entries, checked against its note."""
        rows = cur.execute(_CHECKPOINT_AT_MOST, (size,))
        return self._stored(rows[0]) if rows else None

    def root(self, size: int | None = None) -> bytes:
        """The Merkle root of the first *size* entries (default: all)."""
        with self._store.transaction(write=False) as cur:
            n = _resolve_size(cur, size, "size")
            return _compute(cur, lambda get: merkle.root_at(n, get))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry *index* in the tree of *size*.

        *size* defaults to the current size; ``index < size`` is required.
        Reads O(log n) stored nodes. Check the proof with
        :func:`safeshare.audit.merkle.verify_inclusion`.
        """
        _check_int(index, "index")
        with self._store.transaction(write=False) as cur:
            n = _resolve_size(cur, size, "size")
            if index >= n:
                raise UsageError(f"no entry {index} in a tree of size {n}")
            return _compute(cur, lambda get: merkle.inclusion_proof(index, n, get))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The RFC 9162 consistency proof from size *size1* to *size2* (default: now).

        ``0 <= size1 <= size2 <= size()``; empty when ``size1`` is 0 or equals
        ``size2``. Reads O(log n) stored nodes. Check it with
        :func:`safeshare.audit.merkle.verify_consistency`.
        """
        _check_int(size1, "size1")
        with self._store.transaction(write=False) as cur:
            n2 = _resolve_size(cur, size2, "size2")
            if size1 > n2:
                raise UsageError(f"size1 ({size1}) is larger than size2 ({n2})")
            return _compute(cur, lambda get: merkle.consistency_proof(size1, n2, get))

    # -- full verification ------------------------------------------------------------

    def verify(self, progress: Progress | None = None) -> int:
        """Re-derive the whole tree from the entry data; return the size verified.

        In one read snapshot, streaming in chunks of :data:`VERIFY_CHUNK`
        entries: checks that indexes run from 0 without gaps, recomputes each
        leaf hash from the entry's data and compares it with the stored leaf,
        recomputes every complete-subtree node from those leaves and compares
        it with the stored node, and checks that no node exists beyond the
        entries. The first discrepancy, in index order, raises
        :class:`~safeshare.errors.AuditIntegrityError` whose message names the
        first bad index (for a node: the first entry under it). Memory use
        does not grow with the log.

        *progress*, if given, is called as ``progress(done, total)`` after
        each chunk (for a progress bar). Entries are not decoded; this checks
        that the stored tree is the tree of the stored data.
        """
        if progress is not None and not callable(progress):
            raise UsageError("progress must be a callable progress(done, total)")
        with self._store.transaction(write=False) as cur:
            return _verify(cur, progress)[0]

    def verify_with_checkpoints(
        self, progress: Progress | None = None, *, keys: Iterable[VerifyKey] | None = None
    ) -> Verification:
        """:meth:`verify`, then check every stored checkpoint against the recomputed tree.

        In one read snapshot: re-derives the whole tree from the entry data
        exactly as :meth:`verify` does, keeping the root recomputed at each
        size some stored checkpoint has; then checks every stored checkpoint,
        in signing order: its note is well formed and agrees with its stored
        size and root; with *keys* (the log's public keys; any one may have
        signed), it carries a valid signature by one of them under its key
        name; its size is not beyond the entries (else entries were removed:
        the first bad index is the log's size); it was not signed after a
        checkpoint of a larger size; and its root equals the root recomputed
        from the entries at its size (else entries below that size were
        rewritten together with their tree nodes: the message bounds the
        first bad index by the sizes of the last matching checkpoint and of
        this one).

        Raises :class:`~safeshare.errors.AuditIntegrityError` at the first
        discrepancy (naming the first bad index, or the checkpoint); returns
        a :class:`Verification` otherwise. Without *keys*, signatures are not
        checked (``signatures_checked`` is false).
        """
        if progress is not None and not callable(progress):
            raise UsageError("progress must be a callable progress(done, total)")
        trusted: list[VerifyKey] | None = None
        if keys is not None:
            if isinstance(keys, VerifyKey):
                keys = [keys]
            trusted = list(keys)
            if not trusted or not all(isinstance(k, VerifyKey) for k in trusted):
                raise UsageError("keys must be one or more safeshare.keys.VerifyKey objects")
        with self._store.transaction(write=False) as cur:
            sizes = [int(r[0]) for r in cur.execute(_CHECKPOINT_SIZES)]
            size, roots = _verify(cur, progress, sizes)
            checked = 0
            latest: StoredCheckpoint | None = None
            good = 0  # the largest size at which a checkpoint matched so far
            after = _MIN_SEQ
            while True:
                rows = cur.execute(_CHECKPOINTS_AFTER, (after, READ_CHUNK))
                for row in rows:
                    stored = self._stored(row)
                    _check_checkpoint(
                        stored, latest, size=size, roots=roots, keys=trusted, good=good
                    )
                    good = stored.size
                    latest = stored
                    checked += 1
                if len(rows) < READ_CHUNK:
                    break
                after = int(rows[-1][0])
        return Verification(
            size=size,
            root_hash=roots[size],
            checkpoints=checked,
            signatures_checked=trusted is not None,
            latest_checkpoint=latest,
        )


class _Anchor:
    """A checkpoint the pass links the recomputed tree to (see ``verified_entries``)."""

    __slots__ = ("given", "matched", "proven", "root", "size")

    def __init__(self, checkpoint: Checkpoint, *, given: bool) -> None:
        self.size = checkpoint.size
        self.root = checkpoint.root_hash
        self.given = given
        self.matched = False  # the recomputed root at its size was its root
        self.proven = 0  # the tree of this many entries is proven a prefix of its tree


class VerifiedEntries(Iterator[tuple[int, AuditEntry]]):
    """The ``(index, entry)`` pairs of :meth:`AuditLog.verified_entries`, checked as they come.

    Made by :meth:`AuditLog.verified_entries` (and :meth:`AuditLog.entries`);
    iterating it yields a chunk's entries only after the whole chunk was
    verified. Attributes, fixed when it is made:

    * ``start``, ``stop``: the entries it yields;
    * ``tree_size``: the size of the tree they are verified against (the
      given checkpoint's, else the log's size when the pass began);
    * ``log_size``: the log's size when the pass began;
    * ``checkpoint``: the checkpoint given, if any;
    * ``stored_checkpoint``: the log's latest stored checkpoint of at most
      ``tree_size`` entries (a :class:`StoredCheckpoint`), if any; it was
      checked against its own note, not its signature.
    """

    __slots__ = (
        "_anchors",
        "_cursor",
        "_frontier",
        "_gen",
        "_lost",
        "_read",
        "_record",
        "_root",
        "_roots",
        "checkpoint",
        "log_size",
        "start",
        "stop",
        "stored_checkpoint",
        "tree_size",
    )

    def __init__(
        self,
        log: AuditLog,
        start: int,
        stop: int | None,
        checkpoint: Checkpoint | None,
        cursor: Cursor | None,
    ) -> None:
        def read() -> AbstractContextManager[Cursor]:
            if cursor is not None:
                return contextlib.nullcontext(cursor)
            return log.store.transaction(write=False)

        self._read = read
        with read() as cur:
            size = _size(cur)
            tree = size
            if checkpoint is not None:
                if checkpoint.size > size:
                    raise AuditIntegrityError(
                        f"the checkpoint covers {checkpoint.size} entries but the audit log "
                        f"holds only {size}: entries from index {size} on were removed "
                        f"(first bad index {size})",
                        hint=_RESTORE,
                    )
                tree = checkpoint.size
            if stop is None:
                end = tree
            elif stop > tree:
                what = "audit log has" if checkpoint is None else "checkpoint covers"
                raise UsageError(f"the {what} {tree} entries; stop {stop} is beyond it")
            else:
                end = stop
            if start > end:
                raise UsageError(f"start ({start}) is beyond stop ({end})")
            stored = log._anchor(cur, tree)
            anchors = [] if stored is None else [_Anchor(stored.checkpoint, given=False)]
            if checkpoint is not None:
                anchors.append(_Anchor(checkpoint, given=True))
            early = [a for a in anchors if a.size <= start]

            def compute(get: merkle.GetNode) -> tuple[merkle.Frontier, list[list[bytes]]]:
                frontier = merkle.Frontier.load(start, get)
                return frontier, [merkle.consistency_proof(a.size, start, get) for a in early]

            frontier, proofs = _compute(cur, compute)
            lost = _lost_from(cur, size)
        self.start, self.stop, self.tree_size, self.log_size = start, end, tree, size
        self.checkpoint = checkpoint
        self.stored_checkpoint = stored
        self._lost = lost
        self._frontier = list(frontier.hashes)
        self._root: bytes | None = None
        self._anchors = anchors  # the stored one first
        # Anchors at or before *start*: the stored frontier must extend them.
        root = frontier.root()
        for anchor, proof in zip(early, proofs, strict=True):
            self._link(anchor, start, root, proof)
            anchor.matched = True
        self._record = {a.size for a in anchors if start < a.size <= end}
        self._roots: dict[int, bytes] = {}
        self._gen: Generator[tuple[int, AuditEntry], None, None] = self._run()

    @property
    def root_hash(self) -> bytes:
        """The root of the tree of :attr:`stop` entries, recomputed by the pass.

        Available once the last chunk was verified. With ``start == 0`` it is
        computed from the entries alone; otherwise from the stored frontier
        at :attr:`start` and the entries after it.
        """
        if self._root is None:
            raise UsageError("the root is known once the last entry was verified")
        return self._root

    def __iter__(self) -> VerifiedEntries:
        return self

    def __next__(self) -> tuple[int, AuditEntry]:
        return next(self._gen)

    def close(self) -> None:
        """Stop the pass early (nothing more is read)."""
        self._gen.close()

    def _run(self) -> Generator[tuple[int, AuditEntry], None, None]:
        # A failed consistency link may come from stored nodes beyond the chunk:
        # nothing more is yielded, but the pass goes on to name a precise first
        # bad index if the entries show one, and raises the link's error otherwise.
        failed: AuditIntegrityError | None = None
        a = self.start
        while True:
            b = min(a + READ_CHUNK, self.stop)
            links = [x for x in self._anchors if not x.matched and x.size > b]

            def compute(
                get: merkle.GetNode, b: int = b, links: list[_Anchor] = links
            ) -> list[list[bytes]]:
                return [merkle.consistency_proof(b, x.size, get) for x in links]

            with self._read() as cur:
                rows = cur.execute(_ENTRY_RANGE, (a, b, b - a)) if b > a else []
                nodes = _completed_nodes(cur, a, b)
                found = _fetch_nodes(cur, merkle.required_nodes(compute)) if links else {}
            chunk = self._check_chunk(a, b, rows, nodes)
            root = _fold(self._frontier)
            for anchor in self._anchors:
                if not anchor.matched and anchor.size <= b:
                    if self._roots[anchor.size] != anchor.root:
                        raise self._mismatch(anchor, a)
                    anchor.matched = True
            for anchor, proof in zip(links, compute(_lookup(found)), strict=True):
                try:
                    self._link(anchor, b, root, proof, a)
                except AuditIntegrityError as exc:
                    failed = failed or exc
                    continue
                anchor.proven = b
            if b == self.stop:
                if failed is not None:
                    raise failed
                if self._lost is not None:
                    raise self._lost
                self._root = root
            if failed is None:
                yield from chunk
            if b == self.stop:
                return
            a = b

    def _check_chunk(
        self, a: int, b: int, rows: Sequence[Row], nodes: dict[tuple[int, int], bytes]
    ) -> list[tuple[int, AuditEntry]]:
        """Check entries *a* to *b* (see ``verified_entries``); return them decoded.

        The loop is :meth:`merkle.Frontier.append` written inline (about two
        hashes per entry), as in ``_verify``.
        """
        sha256 = hashlib.sha256
        frontier, record, roots = self._frontier, self._record, self._roots
        out: list[tuple[int, AuditEntry]] = []
        expected = a
        for idx, raw, stored_leaf in rows:
            if idx != expected:
                _missing(expected)
            data = raw if type(raw) is bytes else _as_bytes(raw)
            if data is None:
                raise AuditIntegrityError(
                    f"entry {expected} of the audit log has data that is not bytes "
                    f"(first bad index {expected})",
                    hint=_RESTORE,
                )
            h = sha256(b"\x00" + data).digest()
            if stored_leaf != h and _as_bytes(stored_leaf) != h:
                raise AuditIntegrityError(
                    f"entry {expected} of the audit log does not match its stored leaf hash: "
                    f"the entry's data or its leaf was changed (first bad index {expected})",
                    hint=_RESTORE,
                )
            i, level = expected, 0
            while True:
                if nodes.get((level, i)) != h:
                    _subtree_error(level, i, (level, i) in nodes)
                if not i & 1:
                    break
                h = sha256(b"\x01" + frontier.pop() + h).digest()
                level += 1
                i >>= 1
            frontier.append(h)
            out.append((expected, _decoded(expected, data)))
            expected += 1
            if expected in record:
                roots[expected] = _fold(frontier)
        if expected < b:
            _missing(expected)
        return out

    def _link(
        self, anchor: _Anchor, size: int, root: bytes, proof: list[bytes], chunk: int = 0
    ) -> None:
        """Check that the tree (*size*, *root*) and *anchor*'s tree are consistent."""
        try:
            if anchor.size <= size:
                merkle.verify_consistency(anchor.size, size, proof, anchor.root, root)
            else:
                merkle.verify_consistency(size, anchor.size, proof, root, anchor.root)
        except AuditIntegrityError:
            raise self._mismatch(anchor, chunk) from None

    def _mismatch(self, anchor: _Anchor, chunk: int) -> AuditIntegrityError:
        """*anchor*'s root does not fit the tree recomputed up to the chunk at *chunk*."""
        n = anchor.size
        low = anchor.proven if chunk > self.start else 0
        if not anchor.given:
            return AuditIntegrityError(
                f"the audit log's checkpoint of size {n} does not match the tree recomputed "
                f"from its entries: entries below index {n} were rewritten together with "
                f"their tree nodes after it was signed (first bad index between {low} and "
                f"{n - 1})",
                hint=_RESTORE,
            )
        bound = f"below {n}" if low == 0 else f"between {low} and {n - 1}"
        own = next((x for x in self._anchors if not x.given), None)
        if own is not None and own.matched and low < own.size <= n:
            bound = (
                f"between {own.size} and {n - 1} if the log's own checkpoint of size "
                f"{own.size}, which matches, is genuine"
            )
        return AuditIntegrityError(
            f"the checkpoint of size {n} does not match the tree recomputed from the audit "
            "log's entries: the log no longer holds the entries that checkpoint committed to; "
            f"they were rewritten together with their tree nodes (first bad index {bound})",
            hint=_RESTORE,
        )


# -- helpers ------------------------------------------------------------------------


def _encode(entry: AuditEntry) -> bytes:
    if not isinstance(entry, AuditEntry):
        raise UsageError(f"an audit log records AuditEntry objects, not {type(entry).__name__}")
    return _entry.encode(entry)


def _leaf_checked(index: int, raw: object, stored_leaf: object) -> tuple[bytes, bytes]:
    """A stored entry row's bytes and recomputed leaf hash, which must equal the stored leaf."""
    data = _as_bytes(raw)
    if data is None:
        raise AuditIntegrityError(
            f"entry {index} of the audit log has data that is not bytes (first bad index {index})"
        )
    leaf = merkle.leaf_hash(data)
    if _as_bytes(stored_leaf) != leaf:
        raise AuditIntegrityError(
            f"entry {index} of the audit log does not match its stored leaf hash: the entry's "
            f"data or its leaf was changed (first bad index {index})"
        )
    return data, leaf


def _decoded(index: int, data: bytes) -> AuditEntry:
    """Entry *index*'s bytes, decoded strictly (canonical form only)."""
    try:
        return _entry.decode(data)
    except MalformedInputError as exc:
        raise AuditIntegrityError(
            f"entry {index} of the audit log is damaged: {exc.message} (first bad index {index})"
        ) from None


def _level0_error(index: int) -> AuditIntegrityError:
    return AuditIntegrityError(
        f"the audit log does not match its tree: the leaf hash recomputed from entry {index} "
        "differs from the stored tree node of that entry: the entry was rewritten (with the "
        f"leaf hash stored next to it) but the tree above it was not (first bad index {index})",
        hint=_RESTORE,
    )


def _entry_prover(
    cur: Cursor, indexes: Sequence[int], size: int, anchor: Checkpoint | None
) -> Callable[[int, bytes], None]:
    """Fetch what proves entries *indexes* in the tree; return ``prove(index, leaf)``.

    One node query (per 128 addresses) reads, for each index, its level-0
    node and its RFC 9162 inclusion paths in the stored tree of *size* and,
    if *anchor* covers it, in the anchor's tree; plus the root of *size*.
    ``prove(index, leaf)`` then checks that *leaf* (recomputed from the
    entry) is the level-0 node and that both paths lead from it to the
    stored root and to the anchor's signed root.
    """
    wanted = list(dict.fromkeys(indexes))

    def compute(
        get: merkle.GetNode,
    ) -> tuple[bytes, dict[int, tuple[bytes, list[bytes], list[bytes] | None]]]:
        paths: dict[int, tuple[bytes, list[bytes], list[bytes] | None]] = {}
        for i in wanted:
            signed = None
            if anchor is not None and i < anchor.size:
                signed = merkle.inclusion_proof(i, anchor.size, get)
            paths[i] = (get(0, i), merkle.inclusion_proof(i, size, get), signed)
        return merkle.root_at(size, get), paths

    root, paths = _compute(cur, compute)

    def prove(index: int, leaf: bytes) -> None:
        level0, path, signed = paths[index]
        if level0 != leaf:
            raise _level0_error(index)
        try:
            merkle.verify_inclusion(leaf, index, size, path, root)
        except AuditIntegrityError as exc:
            raise AuditIntegrityError(
                f"entry {index} of the audit log cannot be proven in the stored tree of {size} "
                f"entries ({exc.message}): the entry was rewritten together with its stored "
                f"leaf hash and level-0 node, or a tree node on its path was changed "
                f"(entry {index} or a node on its path is bad)",
                hint=_RESTORE,
            ) from None
        if anchor is not None and signed is not None:
            try:
                merkle.verify_inclusion(leaf, index, anchor.size, signed, anchor.root_hash)
            except AuditIntegrityError as exc:
                raise AuditIntegrityError(
                    f"entry {index} of the audit log cannot be proven in the log's checkpoint "
                    f"of size {anchor.size} ({exc.message}): the entry was rewritten, together "
                    "with the tree nodes above it, after the checkpoint was signed, or a tree "
                    f"node on its path was changed (entry {index} or a node on its path is bad)",
                    hint=_RESTORE,
                ) from None

    return prove


def _for_follower(error: BaseException) -> BaseException:
    """The exception a waiting caller gets when its batch failed."""
    if isinstance(error, SafeShareError):
        return copy.copy(error)
    return StorageError(
        f"the audit entry was not recorded: the commit of its batch failed "
        f"({type(error).__name__}: {error})"
    )


def _check_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be an int")
    if value < 0:
        raise UsageError(f"{name} must not be negative")
    return value


def _size(cur: Cursor) -> int:
    rows = cur.execute(_SIZE)
    last = rows[0][0] if rows else None
    return 0 if last is None else int(last) + 1


def _resolve_size(cur: Cursor, size: int | None, name: str) -> int:
    current = _size(cur)
    if size is None:
        return current
    _check_int(size, name)
    if size > current:
        raise UsageError(f"the audit log has {current} entries; {name} {size} is beyond it")
    return size


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return None


def _checked_root(cur: Cursor, size: int, previous: StoredCheckpoint | None) -> bytes:
    """The root at *size*, checked consistent with *previous* (see ``sign_checkpoint``)."""
    if previous is not None and size < previous.size:
        raise AuditIntegrityError(
            f"the audit log holds {size} entries, fewer than the {previous.size} of checkpoint "
            f"{previous.seq} it signed before: entries were removed (first bad index {size}); "
            "nothing was signed",
            hint=_RESTORE,
        )
    old = previous.checkpoint if previous is not None else None

    def compute(get: merkle.GetNode) -> tuple[bytes, bytes | None, list[bytes]]:
        new_root = merkle.root_at(size, get)
        if old is None:
            return new_root, None, []
        return (
            new_root,
            merkle.root_at(old.size, get),
            merkle.consistency_proof(old.size, size, get),
        )

    found = _fetch_nodes(cur, [*merkle.required_nodes(compute), (0, size)])
    if (0, size) in found:
        raise AuditIntegrityError(
            f"the audit log is damaged: a tree node exists for entry {size}, which is not "
            f"stored (a truncated log?) (first bad index {size}); nothing was signed",
            hint=_RESTORE,
        )
    new_root, old_root, proof = compute(_lookup(found))
    if old is not None and previous is not None:
        if old_root != old.root_hash:
            raise AuditIntegrityError(
                f"the stored tree no longer has the root that checkpoint {previous.seq} signed "
                f"at size {old.size}: entries or tree nodes below index {old.size} were "
                "changed; nothing was signed",
                hint=_RESTORE,
            )
        try:
            merkle.verify_consistency(old.size, size, proof, old.root_hash, new_root)
        except AuditIntegrityError as exc:
            raise AuditIntegrityError(
                f"the stored tree of size {size} is not consistent with checkpoint "
                f"{previous.seq} of size {old.size} ({exc.message}); nothing was signed",
                hint=_RESTORE,
            ) from None
    return new_root


def _check_checkpoint(
    stored: StoredCheckpoint,
    before: StoredCheckpoint | None,
    *,
    size: int,
    roots: dict[int, bytes],
    keys: list[VerifyKey] | None,
    good: int,
) -> None:
    """One stored checkpoint against the recomputed tree (``verify_with_checkpoints``)."""
    cp = stored.checkpoint
    where = f"checkpoint {stored.seq} (size {cp.size})"
    if keys is not None:
        try:
            open_note(stored.note, [NoteVerifier(stored.name, key) for key in keys])
        except SafeShareError as exc:
            raise AuditIntegrityError(
                f"{where} does not carry a valid signature by the given log key(s): {exc.message}"
            ) from None
    if cp.size > size:
        raise AuditIntegrityError(
            f"{where} covers {cp.size} entries but the log holds only {size}: entries from "
            f"index {size} on were removed (first bad index {size})"
        )
    if before is not None and cp.size < before.size:
        raise AuditIntegrityError(
            f"{where} is stored after checkpoint {before.seq} of the larger size "
            f"{before.size}; the log never signs a smaller size later: the stored checkpoints "
            "were edited"
        )
    if roots[cp.size] != cp.root_hash:
        raise AuditIntegrityError(
            f"{where} does not match the tree recomputed from the stored entries: entries "
            f"below index {cp.size} were rewritten, with their tree nodes, after it was "
            f"signed (first bad index between {good} and {cp.size - 1})"
        )


def _fetch_nodes(cur: Cursor, addresses: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Fetch the given nodes by primary key (one query per 128 addresses)."""
    found: dict[tuple[int, int], bytes] = {}
    unique = list(dict.fromkeys(addresses))
    for start in range(0, len(unique), _MAX_NODE_TERMS):
        part = unique[start : start + _MAX_NODE_TERMS]
        params: list[int] = []
        for level, idx in part:
            params.extend((level, idx))
        for level, idx, h in cur.execute(_nodes_query(len(part)), params):
            value = _as_bytes(h)
            found[(int(level), int(idx))] = value if value is not None else b""
    return found


def _lookup(found: dict[tuple[int, int], bytes]) -> merkle.GetNode:
    def get_node(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            raise AuditIntegrityError(
                f"the audit log is damaged: tree node (level {level}, index {index}) is "
                f"missing (first bad index {index << level})",
                hint="run `safeshare audit verify` and restore the database from a backup",
            ) from None

    return get_node


def _compute(cur: Cursor, compute: Callable[[merkle.GetNode], _T]) -> _T:
    """Run a proof computation against nodes fetched in one query."""
    found = _fetch_nodes(cur, merkle.required_nodes(compute))
    return compute(_lookup(found))


def _node_stream(cur: Cursor, level: int) -> Iterator[tuple[int, object]]:
    """The stored nodes ``(idx, hash)`` of one level in index order, fetched in chunks."""
    chunk = max(64, VERIFY_CHUNK >> level)
    rows = cur.execute(_LEVEL_FIRST, (level, chunk))
    while rows:
        yield from rows
        if len(rows) < chunk:
            return
        rows = cur.execute(_LEVEL_NEXT, (level, rows[-1][0], chunk))


def _verify(
    cur: Cursor, progress: Progress | None, sizes: Sequence[int] = ()
) -> tuple[int, dict[int, bytes]]:
    """Stream entries and nodes, recompute, compare (see :meth:`AuditLog.verify`).

    Returns the size verified and the roots recomputed from the entries at
    that size and at each of *sizes* (ascending) that is not beyond it.

    The loop below is :meth:`merkle.Frontier.append` written inline (this is
    the hot path: about two hashes per entry): each entry's leaf is compared
    with the stored leaf and the level-0 node, then every parent it
    completes is compared with the next stored node of that level.
    """
    sha256 = hashlib.sha256
    total = _size(cur)
    if progress is not None:
        progress(0, total)
    roots: dict[int, bytes] = {}
    wanted = iter(sorted(set(sizes)))
    next_size = next(wanted, -1)
    if next_size == 0:
        roots[0] = merkle.EMPTY_ROOT
        next_size = next(wanted, -1)
    frontier: list[bytes] = []  # roots of the complete subtrees so far, largest first
    streams: list[Iterator[tuple[int, object]]] = []  # stored nodes, one stream per level
    expected = 0
    rows = cur.execute(_ENTRIES_FIRST, (VERIFY_CHUNK,))
    while rows:
        for idx, raw, stored_leaf in rows:
            if idx != expected:
                _entry_gap(int(idx), expected)
            data = raw if type(raw) is bytes else _as_bytes(raw)
            if data is None:
                raise AuditIntegrityError(
                    f"entry {idx} of the audit log has data that is not bytes "
                    f"(first bad index {idx})"
                )
            h = sha256(b"\x00" + data).digest()
            if stored_leaf != h:
                raise AuditIntegrityError(
                    f"entry {idx} of the audit log does not match its stored leaf hash: the "
                    f"entry's data or its leaf was changed (first bad index {idx})"
                )
            i, level = expected, 0
            while True:
                if level == len(streams):
                    streams.append(_node_stream(cur, level))
                stored = next(streams[level], None)
                if stored is None or stored[0] != i or stored[1] != h:
                    _node_error(level, i, stored)
                if not i & 1:
                    break
                h = sha256(b"\x01" + frontier.pop() + h).digest()
                level += 1
                i >>= 1
            frontier.append(h)
            expected += 1
            if expected == next_size:
                roots[expected] = _fold(frontier)
                next_size = next(wanted, -1)
        if progress is not None:
            progress(expected, max(total, expected))
        if len(rows) < VERIFY_CHUNK:
            break
        rows = cur.execute(_ENTRIES_NEXT, (rows[-1][0], VERIFY_CHUNK))

    # Nodes with no entries under them: a truncated log (or planted nodes).
    firsts: list[int] = []
    for level in range(64):
        stream = streams[level] if level < len(streams) else _node_stream(cur, level)
        extra = next(stream, None)
        if extra is not None:
            firsts.append(max(expected, max(int(extra[0]), 0) << level))
    odd = cur.execute(_BAD_LEVELS)
    if odd:
        level, idx = int(odd[0][0]), int(odd[0][1])
        raise AuditIntegrityError(
            f"the audit log has a tree node at the impossible level {level} (index {idx}) "
            f"(first bad index {expected})"
        )
    if firsts:
        first = min(firsts)
        raise AuditIntegrityError(
            f"the audit log holds tree nodes for entries that are not stored: entries from "
            f"index {first} on are missing (a truncated log?) (first bad index {first})"
        )
    roots[expected] = _fold(frontier)
    return expected, roots


def _fold(frontier: list[bytes]) -> bytes:
    """The root of the tree whose complete subtrees are *frontier* (largest first)."""
    if not frontier:
        return merkle.EMPTY_ROOT
    h = frontier[-1]
    for left in reversed(frontier[:-1]):
        h = hashlib.sha256(b"\x01" + left + h).digest()
    return h


def _entry_gap(idx: int, expected: int) -> NoReturn:
    if idx < expected:
        raise AuditIntegrityError(
            f"the audit log has an entry with the invalid index {idx} (first bad index {idx})"
        )
    raise AuditIntegrityError(
        f"entry {expected} of the audit log is missing: the next stored entry is {idx} "
        f"(deleted or reordered rows; first bad index {expected})"
    )


def _node_error(level: int, index: int, stored: tuple[int, object] | None) -> NoReturn:
    first = index << level
    if stored is None or stored[0] > index:
        raise AuditIntegrityError(
            f"tree node (level {level}, index {index}) is missing from the audit log "
            f"(first bad index {first})"
        )
    if stored[0] < index:  # only a negative index can come before the expected one
        raise AuditIntegrityError(
            f"the audit log has a tree node with the invalid index {stored[0]} at level "
            f"{level} (first bad index {first})"
        )
    raise AuditIntegrityError(
        f"tree node (level {level}, index {index}) of the audit log does not match the "
        f"hash recomputed from entries {first} to {first + (1 << level) - 1} "
        f"(first bad index {first})"
    )


def _missing(index: int) -> NoReturn:
    raise AuditIntegrityError(
        f"entry {index} of the audit log is missing (deleted or moved rows; first bad index "
        f"{index})",
        hint=_RESTORE,
    )


def _subtree_error(level: int, index: int, stored: bool) -> NoReturn:
    """A complete subtree of the recomputed tree is not the stored node (``verified_entries``)."""
    first = index << level
    last = first + (1 << level) - 1
    if not stored:
        raise AuditIntegrityError(
            f"tree node (level {level}, index {index}) of the audit log is missing, so entries "
            f"{first} to {last} are not in the stored tree: an entry was added, or a node "
            f"removed, behind the log's back (first bad index {first})",
            hint=_RESTORE,
        )
    if level == 0:
        raise _level0_error(index)
    raise AuditIntegrityError(
        f"the audit log does not match its tree: the hash computed for entries {first} to "
        f"{last} differs from the stored tree node (level {level}, index {index}): entries or "
        f"tree nodes were changed (first bad index {first})",
        hint=_RESTORE,
    )


def _completed_nodes(cur: Cursor, a: int, b: int) -> dict[tuple[int, int], bytes]:
    """The stored nodes that appending leaves *a* to *b* - 1 completes, in one query.

    Leaf ``j`` completes node ``(level, i)`` when ``j = (i + 1) * 2**level - 1``,
    so the nodes of *level* completed in ``[a, b)`` are those with
    ``a >> level <= i < b >> level``: one index range per level.
    """
    params: list[int] = []
    level = 0
    while a >> level < b >> level:
        params.extend((level, a >> level, b >> level))
        level += 1
    if not params:
        return {}
    found: dict[tuple[int, int], bytes] = {}
    for lv, idx, h in cur.execute(_ranges_query(level), params):  # about 2 rows per entry
        value = h if type(h) is bytes else (_as_bytes(h) or b"")
        found[(lv, idx) if type(lv) is int and type(idx) is int else (int(lv), int(idx))] = value
    return found


def _lost_from(cur: Cursor, size: int) -> AuditIntegrityError | None:
    """The error for signs of entries lost at the end of a log of *size*, if any.

    A stored tree node covering an index at or beyond *size*, or a stored
    checkpoint larger than *size* (``O(1)`` indexed queries).
    """
    params: list[int] = []
    for level in range(64):
        params.extend((level, size >> level))
    firsts = [
        max(size, int(idx) << int(level)) for level, idx in cur.execute(_NODES_BEYOND, params)
    ]
    if firsts:
        first = min(firsts)
        return AuditIntegrityError(
            f"the audit log holds tree nodes for entries that are not stored: entries from "
            f"index {first} on were removed (first bad index {first})",
            hint=_RESTORE,
        )
    rows = cur.execute(_MAX_CHECKPOINT_SIZE)
    signed = rows[0][0] if rows else None
    if signed is not None and int(signed) > size:
        return AuditIntegrityError(
            f"the audit log signed a checkpoint of {int(signed)} entries but holds only "
            f"{size}: entries from index {size} on were removed (first bad index {size})",
            hint=_RESTORE,
        )
    return None
