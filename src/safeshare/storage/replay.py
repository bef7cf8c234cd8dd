"""The replay cache: each (issuer, ``jti``) is accepted at most once.

An envelope's ``jti`` (JWT ID, RFC 7519 section 4.1.7) is recorded when the
envelope is opened, together with a digest of its content and the time until
which the entry must be kept (after the envelope's expiry plus clock leeway,
an expired envelope is refused anyway, so the entry can go).

Guarantees:

* **Exactly once.** Recording is a single ``INSERT ... ON CONFLICT DO
  NOTHING`` against the primary key ``(iss, jti)``; the database's unique
  index decides. Two threads or two processes opening the same envelope at
  the same moment: one is accepted, the other gets
  :class:`~safeshare.errors.ReplayError`.
* **Durable before accepted.** :meth:`ReplayCache.check_and_record` returns
  only after the commit succeeded; if it raises
  :class:`~safeshare.errors.StorageError`, nothing was recorded and the
  envelope must not be accepted.
* **Never forgotten early.** An entry is kept at least until its
  ``keep_until`` (stored rounded *up* to the second; :meth:`purge_expired`
  compares with ``now`` rounded *down*). An existing entry is never
  overwritten, even when it is past ``keep_until`` and not yet purged.
* **Bounded work.** Every operation is an index lookup or an index range
  scan; nothing scans the whole table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final, NoReturn

from safeshare._internal.clock import require_aware
from safeshare.errors import MalformedInputError, OversizedInputError, ReplayError, UsageError
from safeshare.storage._backend import Cursor, Migration, Row, Schema
from safeshare.storage._store import Store

__all__ = ["MAX_ID_LENGTH", "REPLAY_SCHEMA", "ReplayCache"]

#: Longest ``iss`` or ``jti`` accepted, in characters.
MAX_ID_LENGTH: Final = 256
#: Longest content digest accepted, in characters.
MAX_DIGEST_LENGTH: Final = 256

REPLAY_SCHEMA: Final = Schema(
    component="replay",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                "CREATE TABLE safeshare_replay ("
                "iss TEXT NOT NULL, "
                "jti TEXT NOT NULL, "
                "content_digest TEXT NOT NULL, "
                "keep_until INTEGER NOT NULL, "
                "PRIMARY KEY (iss, jti)"
                ") WITHOUT ROWID",
                "CREATE INDEX safeshare_replay_keep_until ON safeshare_replay (keep_until)",
            ),
            postgresql=(
                "CREATE TABLE safeshare_replay ("
                'iss TEXT COLLATE "C" NOT NULL, '
                'jti TEXT COLLATE "C" NOT NULL, '
                "content_digest TEXT NOT NULL, "
                "keep_until BIGINT NOT NULL, "
                "PRIMARY KEY (iss, jti))",
                "CREATE INDEX safeshare_replay_keep_until ON safeshare_replay (keep_until)",
            ),
        ),
    ),
)

#: What _check_text calls control characters: C0 (below U+0020) and DEL.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)

_INSERT: Final = (
    "INSERT INTO safeshare_replay (iss, jti, content_digest, keep_until) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (iss, jti) DO NOTHING"
)
_LOOKUP: Final = "SELECT content_digest FROM safeshare_replay WHERE iss = ? AND jti = ?"
_PURGE_BATCH: Final = (
    "DELETE FROM safeshare_replay WHERE (iss, jti) IN ("
    "SELECT iss, jti FROM safeshare_replay WHERE keep_until < ? ORDER BY keep_until LIMIT ?)"
)


class ReplayCache:
    """Remembers which (issuer, ``jti``) pairs were accepted, in a :class:`Store`.

    Creating one applies the replay tables to the store if needed. The cache
    holds no state of its own: any number of caches, in any number of
    threads and processes, may share one database.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise UsageError("ReplayCache() takes a safeshare.storage.Store")
        store.ensure_schema(REPLAY_SCHEMA)
        self._store = store

    @property
    def store(self) -> Store:
        """The store holding the cache."""
        return self._store

    def check_and_record(
        self,
        iss: str,
        jti: str,
        content_digest: str,
        keep_until: datetime,
        *,
        now: datetime,
    ) -> None:
        """Accept (iss, *jti*) once: record it, or raise :class:`ReplayError`.

        Atomic and durable: when this returns, the entry is committed and
        every later or concurrent call with the same (iss, jti), in any thread
        or process using the same database, raises
        :class:`~safeshare.errors.ReplayError`:

        * "this envelope was already opened" when *content_digest* matches the
          recorded one (a replay, or the same envelope delivered twice);
        * "jti reused with different content" when it does not (an issuer
          bug, or a forgery attempt).

        *keep_until* (timezone-aware, not before *now*) is how long the entry
        must be remembered: at least until the envelope can no longer pass
        its expiry check. *iss* and *jti* come from the envelope and must be
        non-empty strings of at most :data:`MAX_ID_LENGTH` characters without
        control characters, else :class:`~safeshare.errors.MalformedInputError`.
        Raises :class:`~safeshare.errors.StorageError` if the database fails;
        then nothing was recorded.
        """
        keep_seconds = _checked(iss, jti, content_digest, keep_until, now)
        with self._store.transaction(write=True) as cur:
            existing = _insert(cur, iss, jti, content_digest, keep_seconds)
        if existing is not None:
            _refuse(iss, jti, content_digest, existing)

    def check_and_record_in(
        self,
        cursor: Cursor,
        iss: str,
        jti: str,
        content_digest: str,
        keep_until: datetime,
        *,
        now: datetime,
    ) -> None:
        """:meth:`check_and_record` inside a write transaction the caller runs.

        *cursor* is that of a write transaction of this cache's store (for
        example the one :meth:`safeshare.audit.log.AuditLog.append` runs
        *before* in, so that the entry and the audit record commit together).
        The entry is recorded when, and only if, that transaction commits;
        the same arguments are checked and the same errors raised (a
        :class:`~safeshare.errors.ReplayError` has written nothing).
        """
        keep_seconds = _checked(iss, jti, content_digest, keep_until, now)
        existing = _insert(cursor, iss, jti, content_digest, keep_seconds)
        if existing is not None:
            _refuse(iss, jti, content_digest, existing)

    def contains(self, iss: str, jti: str) -> bool:
        """Whether (iss, *jti*) is recorded (for tests and inspection)."""
        _check_id(iss, "iss")
        _check_id(jti, "jti")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(
                "SELECT 1 FROM safeshare_replay WHERE iss = ? AND jti = ?", (iss, jti)
            )
        return bool(rows)

    def purge_expired(self, *, now: datetime, batch_size: int = 10_000) -> int:
        """Delete entries whose ``keep_until`` is before *now*; return how many.

        Walks the ``keep_until`` index and deletes in batches of *batch_size*,
        each batch its own short write transaction, so concurrent
        :meth:`check_and_record` calls are not held up for long. Every batch
        that returned is committed; if a batch fails
        (:class:`~safeshare.errors.StorageError`) the earlier ones stay done
        and calling again continues. An entry is never deleted before its
        ``keep_until`` has passed.
        """
        cutoff = _floor_seconds(require_aware(now, "now"))
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError("batch_size must be a positive integer")
        total = 0
        while True:
            with self._store.transaction(write=True) as cur:
                cur.execute(_PURGE_BATCH, (cutoff, batch_size))
                deleted = max(cur.rowcount, 0)
            total += deleted
            if deleted < batch_size:
                return total


def _checked(iss: str, jti: str, content_digest: str, keep_until: datetime, now: datetime) -> int:
    """Check the arguments of a recording; return ``keep_until`` in whole seconds."""
    _check_id(iss, "iss")
    _check_id(jti, "jti")
    if (
        not isinstance(content_digest, str)
        or not content_digest
        or len(content_digest) > MAX_DIGEST_LENGTH
    ):
        raise UsageError(
            f"content_digest must be a non-empty string of at most {MAX_DIGEST_LENGTH} characters"
        )
    _check_text(content_digest, "content_digest", UsageError)
    now_utc = require_aware(now, "now")
    keep_utc = require_aware(keep_until, "keep_until")
    if keep_utc < now_utc:
        raise UsageError(
            "keep_until is before now: the entry could be purged at once and the "
            "envelope would not be protected against replay (check expiry first)"
        )
    return _ceil_seconds(keep_utc)


def _insert(
    cur: Cursor, iss: str, jti: str, content_digest: str, keep_seconds: int
) -> list[Row] | None:
    """Insert the entry; ``None`` if it was new, else the existing entry's digest row(s)."""
    cur.execute(_INSERT, (iss, jti, content_digest, keep_seconds))
    if cur.rowcount == 1:
        return None
    return cur.execute(_LOOKUP, (iss, jti))


def _refuse(iss: str, jti: str, content_digest: str, rows: list[Row]) -> NoReturn:
    if rows and rows[0][0] != content_digest:
        raise ReplayError(
            f"jti reused with different content: issuer {iss!r} already used jti {jti!r} "
            "for an envelope with a different content digest",
            hint="refuse the envelope; the issuer reuses ids or someone forged one, "
            "report it to the issuing agency",
        )
    raise ReplayError(
        f"this envelope was already opened (issuer {iss!r}, jti {jti!r}); "
        "a replayed envelope is refused",
        hint="if it was delivered twice on purpose, use the result of the first opening",
    )


def _check_id(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise MalformedInputError(f"{name} must be a string, not {type(value).__name__}")
    if not value:
        raise MalformedInputError(f"{name} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise OversizedInputError(
            f"{name} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}"
        )
    _check_text(value, name, MalformedInputError)


def _check_text(value: str, name: str, error: type[MalformedInputError | UsageError]) -> None:
    # Control characters (NUL above all: PostgreSQL text cannot hold it) and
    # lone surrogates (not encodable as UTF-8) would make the same id behave
    # differently per back end; refuse them everywhere. One regex search in C
    # instead of a Python-level loop over the characters; an ASCII string
    # cannot hold a surrogate, so only other strings are test-encoded.
    if _CONTROL.search(value) is not None:
        raise error(f"{name} contains control characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise error(f"{name} is not valid Unicode text (lone surrogate)") from None


def _floor_seconds(value: datetime) -> int:
    return (value - _EPOCH) // _SECOND


def _ceil_seconds(value: datetime) -> int:
    return -((_EPOCH - value) // _SECOND)
