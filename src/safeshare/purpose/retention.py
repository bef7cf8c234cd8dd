"""The retention store: keep opened records until their retention ends, then purge them.

Data received from another agency may be kept only as long as the
originator's conditions allow (Second Additional Protocol Art. 14(5); the
signed condition ``handling.retention``: ``max_days`` and an optional
``review_days``). :class:`RetentionStore` keeps opened envelopes
(:class:`~safeshare.envelope.OpenedEnvelope`) on the shared storage layer
(:class:`~safeshare.storage.Store`, SQLite or PostgreSQL) with the time their
retention ends, and :meth:`RetentionStore.purge` deletes what has expired and
records each deletion in the audit log.

When retention ends. ``keep(opened, now=...)`` sets ``retain_until`` to the
earliest of

* the envelope's ``iat`` + ``max_days`` (the period counts from the transfer,
  so opening an envelope late does not extend it),
* *now* (the time it is kept, normally the time it was opened) + ``max_days``,
* the caller's own, earlier limit (``until=``), for an agency whose law or
  case needs the data for less time,

rounded down to the second. ``review_at`` is ``review_days`` after the same
start (the earlier of ``iat`` and *now*), if the conditions ask for a review
and it falls before ``retain_until``. A record is never handed out once its
retention has ended (:meth:`RetentionStore.get` treats it as gone even
before it is purged), and a record whose retention has already ended cannot
be kept (:class:`~safeshare.errors.PolicyError`).

Purging. :meth:`RetentionStore.purge` walks the ``retain_until`` index in
batches. Each batch is deleted in one write transaction (the record content is
gone when it commits); then one :class:`~safeshare.audit.entry.AuditEntry`
(action ``purge``, metadata only: ``jti``, digest, the originating agency as
counterparty, the purpose) is recorded per deleted record; then the batch's
remaining metadata rows ("tombstones") are removed. So a deletion is recorded
only after it happened, and a crash or a recorder failure never loses the
record of one: the tombstones of entries not yet recorded are picked up by the
next purge (immediately after a recorder failure, which releases them; after
:data:`PURGE_LEASE` if the purging process died). Two purges running at the
same time do not record the same deletion twice (each claims its batch). The
one window for a duplicate entry is a crash between recording an entry and
removing its tombstone. ``purge`` is idempotent: a second call with the same
*now* deletes and records nothing.

Personal data at rest. A retained record *is* personal data (names,
identifiers, whatever the originator disclosed). The store keeps it as JSON
text in the database, not encrypted by safeshare:

* an SQLite database file is created with mode ``0600`` (the ``-wal`` and
  ``-shm`` files too), readable only by the owning account: keep it on a
  protected volume and do not relax the mode;
* encryption at rest (full-disk or volume encryption, PostgreSQL's storage
  encryption, encrypted backups) and access control on the database server
  are the deployment's job;
* purged records are deleted with SQL ``DELETE``; the database may keep the
  bytes in free pages or in the write-ahead log until they are reused or
  checkpointed (SQLite ``secure_delete`` / ``VACUUM``, PostgreSQL ``VACUUM``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare._internal.clock import from_unix, require_aware, resolve_now, rfc3339, to_unix
from safeshare.audit.entry import AuditEntry
from safeshare.errors import (
    MalformedInputError,
    PolicyError,
    ReplayError,
    SafeShareError,
    StorageError,
    UsageError,
)
from safeshare.purpose.conditions import HandlingConditions
from safeshare.storage import Migration, Row, Schema, Store

if TYPE_CHECKING:
    from safeshare.audit.recorder import AccessRecorder
    from safeshare.envelope import OpenedEnvelope

__all__ = [
    "DEFAULT_PURGE_BATCH",
    "PURGE_LEASE",
    "RETENTION_SCHEMA",
    "PurgedRecord",
    "RetainedRecord",
    "RetentionEntry",
    "RetentionStore",
]

#: Records deleted per purge transaction.
DEFAULT_PURGE_BATCH: Final = 500
#: After this long, a batch claimed by a purge that never finished is taken over.
PURGE_LEASE: Final = timedelta(minutes=15)
#: Largest stored record document read back (an envelope is at most 1 MiB).
MAX_STORED_BYTES: Final = 4 * 1024 * 1024
#: Format version of the stored document.
_DOC_VERSION: Final = 1

RETENTION_SCHEMA: Final = Schema(
    component="retention",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                "CREATE TABLE safeshare_retention ("
                "issuer TEXT NOT NULL, "
                "jti TEXT NOT NULL, "
                "digest TEXT NOT NULL, "
                "recipient TEXT NOT NULL, "
                "purpose TEXT NOT NULL, "
                "issued_at INTEGER NOT NULL, "
                "kept_at INTEGER NOT NULL, "
                "retain_until INTEGER NOT NULL, "
                "review_at INTEGER, "
                "content TEXT, "
                "purged_at INTEGER, "
                "purge_claim TEXT, "
                "purge_claimed_at INTEGER, "
                "PRIMARY KEY (issuer, jti))",
                "CREATE INDEX safeshare_retention_until ON safeshare_retention (retain_until)",
                "CREATE INDEX safeshare_retention_review ON safeshare_retention (review_at)",
            ),
            postgresql=(
                "CREATE TABLE safeshare_retention ("
                'issuer TEXT COLLATE "C" NOT NULL, '
                'jti TEXT COLLATE "C" NOT NULL, '
                'digest TEXT COLLATE "C" NOT NULL, '
                'recipient TEXT COLLATE "C" NOT NULL, '
                'purpose TEXT COLLATE "C" NOT NULL, '
                "issued_at BIGINT NOT NULL, "
                "kept_at BIGINT NOT NULL, "
                "retain_until BIGINT NOT NULL, "
                "review_at BIGINT, "
                "content TEXT, "
                "purged_at BIGINT, "
                'purge_claim TEXT COLLATE "C", '
                "purge_claimed_at BIGINT, "
                "PRIMARY KEY (issuer, jti))",
                "CREATE INDEX safeshare_retention_until ON safeshare_retention (retain_until)",
                "CREATE INDEX safeshare_retention_review ON safeshare_retention (review_at)",
            ),
        ),
    ),
)

# The columns a RetainedRecord is read from, in _record_from_row's order.
_SELECT_RECORD: Final = (
    "SELECT issuer, jti, digest, recipient, purpose, issued_at, kept_at, retain_until, "
    "review_at, content FROM safeshare_retention "
)
_INSERT: Final = (
    "INSERT INTO safeshare_retention (issuer, jti, digest, recipient, purpose, issued_at, "
    "kept_at, retain_until, review_at, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (issuer, jti) DO NOTHING"
)
_GET: Final = _SELECT_RECORD + "WHERE issuer = ? AND jti = ?"
_DUE_FOR_REVIEW: Final = (
    _SELECT_RECORD + "WHERE review_at <= ? AND retain_until > ? AND content IS NOT NULL "
    "ORDER BY review_at, issuer, jti"
)
_ENTRIES: Final = (
    "SELECT issuer, jti, digest, recipient, purpose, kept_at, retain_until, review_at "
    "FROM safeshare_retention WHERE content IS NOT NULL ORDER BY retain_until, issuer, jti"
)
_PURGE_SELECT: Final = (
    "SELECT issuer, jti, digest, recipient, purpose, retain_until, purged_at "
    "FROM safeshare_retention WHERE retain_until <= ? "
    "AND (purge_claim IS NULL OR purge_claimed_at <= ?) "
    "ORDER BY retain_until, issuer, jti LIMIT ?"
)
_PURGE_CLAIM: Final = (
    "UPDATE safeshare_retention SET content = NULL, purged_at = COALESCE(purged_at, ?), "
    "review_at = NULL, purge_claim = ?, purge_claimed_at = ? WHERE issuer = ? AND jti = ?"
)
_PURGE_DELETE: Final = "DELETE FROM safeshare_retention WHERE issuer = ? AND jti = ?"
_PURGE_DELETE_CLAIMED: Final = (
    "DELETE FROM safeshare_retention WHERE issuer = ? AND jti = ? AND purge_claim = ?"
)
_PURGE_RELEASE: Final = (
    "UPDATE safeshare_retention SET purge_claim = NULL, purge_claimed_at = NULL "
    "WHERE issuer = ? AND jti = ? AND purge_claim = ?"
)

_AGENCY: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")
_ID: Final = re.compile(r"[\x21-\x7e]{1,256}")


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetentionEntry:
    """What the store knows about one kept record, without its content (for listings)."""

    issuer: str
    """The originating agency (the envelope's ``iss``)."""
    jti: str
    digest: str
    """Hex SHA-256 of the envelope's issuer-signed JWT."""
    recipient: str
    """The agency that opened and keeps it (us)."""
    purpose: str
    """The purpose the envelope was sent for."""
    kept_at: datetime
    retain_until: datetime
    """When the retention ends: the record must be gone from then on."""
    review_at: datetime | None
    """When the need for the record must be reviewed, if the conditions ask for it."""

    def status(self, now: datetime) -> str:
        """``retention ended`` (awaiting purge), ``review due`` or ``kept`` at *now*."""
        now = require_aware(now, "now")
        if now >= self.retain_until:
            return "retention ended"
        if self.review_at is not None and now >= self.review_at:
            return "review due"
        return "kept"


@dataclass(frozen=True, slots=True)
class RetainedRecord:
    """A kept record: the verified content of the envelope and its retention dates.

    ``record`` is read-only (mapping proxies and tuples all the way down),
    as on :class:`~safeshare.envelope.OpenedEnvelope`.
    """

    issuer: str
    jti: str
    digest: str
    recipient: str
    purpose: str
    legal_basis: str
    case_ref: str
    message_type: str
    handling: HandlingConditions
    record: Mapping[str, Any]
    issued_at: datetime
    """The envelope's ``iat``: when the originator transferred the data."""
    kept_at: datetime
    retain_until: datetime
    review_at: datetime | None
    opened_for: str | None
    """The purpose the record was opened for, if the opened envelope said."""

    @property
    def entry(self) -> RetentionEntry:
        """The metadata of this record."""
        return RetentionEntry(
            issuer=self.issuer,
            jti=self.jti,
            digest=self.digest,
            recipient=self.recipient,
            purpose=self.purpose,
            kept_at=self.kept_at,
            retain_until=self.retain_until,
            review_at=self.review_at,
        )


@dataclass(frozen=True, slots=True)
class PurgedRecord:
    """A record :meth:`RetentionStore.purge` deleted (metadata only)."""

    issuer: str
    jti: str
    digest: str
    recipient: str
    purpose: str
    retain_until: datetime
    purged_at: datetime
    """When its content was deleted (an earlier purge's time, for one it had to finish)."""
    audit_index: int | None
    """The index of its ``purge`` entry in the audit log (None without a recorder)."""


# -- helpers ----------------------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    """Read-only deep copy: dicts become mapping proxies, lists become tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else from_unix(int(value))


def _check_opened(opened: object) -> OpenedEnvelope:
    # Imported here: safeshare.envelope imports safeshare.purpose (enforcement on open).
    from safeshare.envelope import OpenedEnvelope  # noqa: PLC0415

    if not isinstance(opened, OpenedEnvelope):
        raise UsageError("keep() takes an OpenedEnvelope (the result of open_envelope)")
    return opened


def _check_key(jti: object, issuer: object) -> tuple[str, str]:
    if not isinstance(issuer, str) or _AGENCY.fullmatch(issuer) is None:
        raise UsageError("issuer must be an agency id such as XA-NPOL")
    if not isinstance(jti, str) or _ID.fullmatch(jti) is None:
        raise UsageError("jti must be the envelope's jti (printable ASCII, no spaces)")
    return jti, issuer


def _audit_probe(actor: object, agency: object) -> None:
    """Refuse an actor or agency the audit entries would refuse, before deleting anything."""
    if not isinstance(actor, str) or not isinstance(agency, str):
        raise UsageError("purge() needs actor and agency as texts")
    try:
        AuditEntry(action="purge", time=0, actor=actor, agency=agency, outcome="success")
    except MalformedInputError as exc:
        raise UsageError(f"cannot record the purge: {exc.message}") from None


# -- the store --------------------------------------------------------------------------------


class RetentionStore:
    """Opened records kept until their retention ends, in a :class:`~safeshare.storage.Store`.

    Creating one applies :data:`RETENTION_SCHEMA` to the store if needed. The
    object holds no state of its own: any number of instances, threads and
    processes may share one database. See the module docstring for the
    retention rules and for the protection the stored personal data needs.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise UsageError("RetentionStore() takes a safeshare.storage.Store")
        store.ensure_schema(RETENTION_SCHEMA)
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    # -- keeping ------------------------------------------------------------------------------

    def keep(
        self, opened: OpenedEnvelope, *, now: datetime, until: datetime | None = None
    ) -> RetainedRecord:
        """Keep *opened* until its retention ends; return what is kept.

        *now* is the time it is kept (normally the time it was opened);
        *until* an earlier end the caller chooses (never a later one: the
        conditions cap it). Keeping the same envelope again returns the
        record already kept, with its original dates. Raises
        :class:`~safeshare.errors.PolicyError` when the retention has already
        ended (the record must not be kept at all) or the envelope was
        already kept and purged, and :class:`~safeshare.errors.ReplayError`
        when another envelope with the same issuer and ``jti`` is kept.
        """
        opened = _check_opened(opened)
        now = require_aware(now, "now")
        retention = opened.handling.retention
        start = min(opened.issued_at, now)
        ends = [start + timedelta(days=retention.max_days)]
        if until is not None:
            ends.append(require_aware(until, "until"))
        retain_until = to_unix(min(ends))
        now_s = to_unix(now)
        if retain_until <= now_s:
            raise PolicyError(
                f"the retention of envelope {opened.jti} of {opened.issuer} ended at "
                f"{rfc3339(from_unix(retain_until))} (handling condition retention: "
                f"{retention.max_days} days from {rfc3339(opened.issued_at)}); the record must "
                "not be kept (Second Additional Protocol Art. 14(5))",
                hint="delete the data; it may no longer be stored or used",
            )
        review_at: int | None = None
        if retention.review_days is not None:
            review_at = to_unix(start + timedelta(days=retention.review_days))
            if review_at >= retain_until:
                review_at = None
        opened_for = getattr(opened, "opened_for", None)
        document = {
            "v": _DOC_VERSION,
            "claims": opened.verified_claims(),
            "recipient": opened.recipient,
            "opened_for": opened_for if isinstance(opened_for, str) else None,
        }
        content = strictjson.dumps(document).decode("utf-8")
        row = (
            opened.issuer,
            opened.jti,
            opened.digest,
            opened.recipient,
            opened.purpose,
            to_unix(opened.issued_at),
            now_s,
            retain_until,
            review_at,
            content,
        )
        with self._store.transaction(write=True) as cur:
            cur.execute(_INSERT, row)
            inserted = cur.rowcount == 1
            rows = [] if inserted else cur.execute(_GET, (opened.issuer, opened.jti))
        if inserted:
            return _record_from_row(row)
        if not rows:  # pragma: no cover - the conflicting row cannot vanish inside one transaction
            raise StorageError("the retention store lost a record while keeping it")
        existing = rows[0]
        if str(existing[2]) != opened.digest:
            raise ReplayError(
                f"the retention store already keeps another envelope of {opened.issuer} with "
                f"jti {opened.jti} (a different content digest)",
                hint=f"the issuer reuses ids or someone forged one: report it to {opened.issuer}",
            )
        if existing[9] is None:
            raise PolicyError(
                f"envelope {opened.jti} of {opened.issuer} was kept before and its retention "
                "ended; it was purged and must not be kept again"
            )
        return _record_from_row(existing)

    # -- reading ------------------------------------------------------------------------------

    def get(self, jti: str, issuer: str, *, now: datetime | None = None) -> RetainedRecord | None:
        """The record kept for envelope (*issuer*, *jti*), or None.

        None too once its retention has ended at *now* (default: the current
        time), even if it has not been purged yet: it must not be used.
        """
        jti, issuer = _check_key(jti, issuer)
        now_s = to_unix(resolve_now(now))
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_GET, (issuer, jti))
        if not rows or rows[0][9] is None or int(rows[0][7]) <= now_s:
            return None
        return _record_from_row(rows[0])

    def due_for_review(self, now: datetime) -> list[RetainedRecord]:
        """The records whose review date has come at *now* (and retention has not ended)."""
        now_s = to_unix(require_aware(now, "now"))
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_DUE_FOR_REVIEW, (now_s, now_s))
        return [_record_from_row(r) for r in rows]

    def reviewed(
        self,
        jti: str,
        issuer: str,
        *,
        now: datetime,
        next_review_at: datetime | None = None,
    ) -> RetainedRecord:
        """Record that the need for the record was reviewed at *now* and it is still needed.

        Its review date becomes *next_review_at* (after *now* and before the
        end of retention), or none. The retention end never moves. Raises
        :class:`~safeshare.errors.UsageError` if the record is not kept (or
        its retention has ended).
        """
        jti, issuer = _check_key(jti, issuer)
        now_s = to_unix(require_aware(now, "now"))
        next_s = (
            None
            if next_review_at is None
            else to_unix(require_aware(next_review_at, "next_review_at"))
        )
        with self._store.transaction(write=True) as cur:
            rows = cur.execute(_GET, (issuer, jti))
            if not rows or rows[0][9] is None or int(rows[0][7]) <= now_s:
                raise UsageError(f"no record of envelope {jti} of {issuer} is kept")
            retain_until = int(rows[0][7])
            if next_s is not None and not now_s < next_s < retain_until:
                raise UsageError(
                    "next_review_at must be after now and before the retention ends "
                    f"({rfc3339(from_unix(retain_until))})"
                )
            cur.execute(
                "UPDATE safeshare_retention SET review_at = ? WHERE issuer = ? AND jti = ?",
                (next_s, issuer, jti),
            )
            rows = cur.execute(_GET, (issuer, jti))
        return _record_from_row(rows[0])

    def entries(self) -> list[RetentionEntry]:
        """Every kept record's metadata (no content), soonest retention end first.

        Includes records whose retention has ended but that are not purged
        yet (:meth:`RetentionEntry.status` says so).
        """
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_ENTRIES)
        return [
            RetentionEntry(
                issuer=str(r[0]),
                jti=str(r[1]),
                digest=str(r[2]),
                recipient=str(r[3]),
                purpose=str(r[4]),
                kept_at=from_unix(int(r[5])),
                retain_until=from_unix(int(r[6])),
                review_at=_opt_time(r[7]),
            )
            for r in rows
        ]

    # -- purging ------------------------------------------------------------------------------

    def purge(
        self,
        *,
        now: datetime,
        recorder: AccessRecorder | None,
        actor: str,
        agency: str,
        batch_size: int = DEFAULT_PURGE_BATCH,
    ) -> list[PurgedRecord]:
        """Delete every record whose retention has ended at *now*; return what was deleted.

        *actor* (the officer or system that purges) and *agency* (our agency
        id) go into one ``purge`` audit entry per deleted record, recorded
        through *recorder* after the deletion committed (see the module
        docstring for the order and the guarantees). With ``recorder=None``
        nothing is recorded (for callers that record purges themselves).
        Deletes in batches of *batch_size*, each batch one transaction. If
        the recorder fails, its error propagates: every record deleted so far
        stays deleted, and the next purge records what was not recorded.
        """
        now = require_aware(now, "now")
        _audit_probe(actor, agency)
        if recorder is not None and not callable(getattr(recorder, "record", None)):
            raise UsageError(
                "recorder must be an AccessRecorder (e.g. AuditLogRecorder(log)) or None"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError("batch_size must be a positive integer")
        now_s = to_unix(now)
        stale_s = now_s - int(PURGE_LEASE.total_seconds())
        purged: list[PurgedRecord] = []
        while True:
            claim = b64u_encode(os.urandom(16))
            with self._store.transaction(write=True) as cur:
                rows = cur.execute(_PURGE_SELECT, (now_s, stale_s, batch_size))
                keys = [(str(r[0]), str(r[1])) for r in rows]
                if recorder is None:
                    cur.executemany(_PURGE_DELETE, keys)
                else:
                    cur.executemany(
                        _PURGE_CLAIM, [(now_s, claim, now_s, iss, jti) for iss, jti in keys]
                    )
            batch = [
                PurgedRecord(
                    issuer=str(r[0]),
                    jti=str(r[1]),
                    digest=str(r[2]),
                    recipient=str(r[3]),
                    purpose=str(r[4]),
                    retain_until=from_unix(int(r[5])),
                    purged_at=now if r[6] is None else from_unix(int(r[6])),
                    audit_index=None,
                )
                for r in rows
            ]
            if recorder is not None and batch:
                batch = self._record_batch(
                    batch, recorder=recorder, claim=claim, actor=actor, agency=agency, now_s=now_s
                )
            purged += batch
            if len(rows) < batch_size:
                return purged

    def _record_batch(
        self,
        batch: list[PurgedRecord],
        *,
        recorder: AccessRecorder,
        claim: str,
        actor: str,
        agency: str,
        now_s: int,
    ) -> list[PurgedRecord]:
        """Record each deletion of a claimed batch, then remove the batch's tombstones."""
        done: list[PurgedRecord] = []
        try:
            for item in batch:
                index = recorder.record(_purge_entry(item, actor, agency, now_s))
                done.append(
                    PurgedRecord(
                        issuer=item.issuer,
                        jti=item.jti,
                        digest=item.digest,
                        recipient=item.recipient,
                        purpose=item.purpose,
                        retain_until=item.retain_until,
                        purged_at=item.purged_at,
                        audit_index=index,
                    )
                )
        except BaseException:
            # Best effort: drop the tombstones of what was recorded, release the
            # rest for the next purge; the recorder's error is what the caller sees.
            recorded = {(d.issuer, d.jti) for d in done}
            try:
                with self._store.transaction(write=True) as cur:
                    cur.executemany(
                        _PURGE_DELETE_CLAIMED, [(i, j, claim) for i, j in sorted(recorded)]
                    )
                    cur.executemany(
                        _PURGE_RELEASE,
                        [
                            (b.issuer, b.jti, claim)
                            for b in batch
                            if (b.issuer, b.jti) not in recorded
                        ],
                    )
            except SafeShareError:
                pass  # the lease hands the batch to a later purge
            raise
        with self._store.transaction(write=True) as cur:
            cur.executemany(_PURGE_DELETE_CLAIMED, [(d.issuer, d.jti, claim) for d in done])
        return done


def _purge_entry(item: PurgedRecord, actor: str, agency: str, now_s: int) -> AuditEntry:
    return AuditEntry(
        action="purge",
        time=now_s,
        actor=actor,
        agency=agency,
        counterparty=item.issuer if _AGENCY.fullmatch(item.issuer) else None,
        jti=item.jti,
        envelope_digest=item.digest,
        purpose=item.purpose,
        outcome="success",
        reason=(
            f"retention ended at {rfc3339(item.retain_until)} (handling condition retention, "
            "Second Additional Protocol Art. 14(5)); the record was deleted"
        ),
    )


def _record_from_row(row: Row) -> RetainedRecord:
    """A kept record from its row (``_SELECT_RECORD`` order)."""
    issuer, jti, digest, recipient, purpose = (str(v) for v in row[:5])
    try:
        document = strictjson.loads(str(row[9]), what="retained record", max_bytes=MAX_STORED_BYTES)
        claims = document["claims"]
        handling = HandlingConditions.model_validate(claims["handling"])
        result = RetainedRecord(
            issuer=issuer,
            jti=jti,
            digest=digest,
            recipient=recipient,
            purpose=purpose,
            legal_basis=str(claims["legal_basis"]),
            case_ref=str(claims["case_ref"]),
            message_type=str(claims["msg_type"]),
            handling=handling,
            record=_freeze(claims["record"]),
            issued_at=from_unix(int(row[5])),
            kept_at=from_unix(int(row[6])),
            retain_until=from_unix(int(row[7])),
            review_at=_opt_time(row[8]),
            opened_for=document.get("opened_for"),
        )
    except (SafeShareError, KeyError, TypeError, ValueError) as exc:
        raise StorageError(
            f"the retention store holds a damaged record (issuer {issuer}, jti {jti}): {exc}"
        ) from None
    if not isinstance(result.record, Mapping):
        raise StorageError(
            f"the retention store holds a damaged record (issuer {issuer}, jti {jti})"
        )
    return result
