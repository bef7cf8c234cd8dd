"""Keyed pseudonyms and the originator's pseudonym vault, with recorded re-identification.

When an agency pseudonymizes a record member before sealing (a telephone
number becomes ``pn_3q2...``), the recipient learns that two records of the
same envelope, or of the same case, concern the same number, but not which
number it is. Only the originator can turn the pseudonym back into the
value, on a re-identification request (message type
``reidentification_request``) that it checks and records.

Pseudonyms
----------
:meth:`PrivacySecret.pseudonym(value, issuer=, recipient=, case_ref=)
<safeshare.privacy.secret.PrivacySecret.pseudonym>` is HMAC-SHA256 (RFC 2104)
under a key derived from the agency's privacy secret with HKDF-SHA256 (RFC
5869), over a length-prefixed encoding of the **domain** (issuer, recipient,
case) and the canonical JSON of the value (RFC 8785; text, integers within
+/-(2**53 - 1), true, false, null, and arrays and objects of these: a float,
a larger integer or bytes are refused), truncated to 128 bits: ``pn_`` and
22 base64url characters. The vault keeps, and refuses, exactly the same
values.

* **Stable within a domain**: the same value sent by the same issuer to the
  same recipient in the same case always gets the same pseudonym, so the
  recipient can correlate records within its case.
* **Unlinkable across domains**: for another recipient or another case the
  pseudonym of the same value is an independent pseudo-random string; two
  recipients, or one recipient's two cases, cannot tell that their
  pseudonyms stand for the same value (HMAC is a PRF; without the secret
  the pseudonyms of different domains are indistinguishable from random).

The vault
---------
:class:`PseudonymVault` is the originator's table from pseudonym back to
value, on the shared storage layer (schema component ``"pseudonym_vault"``,
:data:`PSEUDONYM_VAULT_SCHEMA`). Each row holds ``(issuer, pseudonym,
recipient, case_ref, jti, path, purpose)`` in clear (no personal data: the
envelope's id, the record member's path and the envelope's purpose) and the
original value **encrypted** with AES-256-GCM under
:meth:`~safeshare.privacy.secret.PrivacySecret.vault_key` (a key derived from
the privacy secret, never stored), with a random 96-bit nonce per row
(NIST SP 800-38D section 8.2.2: random nonces are safe far beyond any vault's
size under one key) and every clear column, plus the secret's fingerprint,
as additional authenticated data. Consequences:

* the value is never in the database in clear;
* a row whose columns were edited (another recipient, case, envelope or
  purpose swapped in), or whose ciphertext was changed, fails authentication
  (:class:`~safeshare.errors.VerificationError`), as does a resolution with
  the wrong secret; a decrypted value must moreover recompute to the
  pseudonym (a second, independent check).

Re-identification
-----------------
:meth:`PseudonymVault.resolve` returns the value of a pseudonym to the
agency it was issued to, in the case it was issued in, for a purpose the
envelope's purpose allows, and records that (action ``reidentify``) before
it returns. In order:

1. the arguments are checked (:class:`~safeshare.errors.UsageError`);
2. the requested purpose must be a purpose code of the vocabulary;
3. the pseudonym must have been issued by us **to the requester in that
   case**: it is looked up by (issuer, pseudonym, recipient, case) together,
   so a pseudonym of another domain resolves to nothing, and the refusal
   does not say whether it exists in another domain (same message, same
   query);
4. the requested purpose must be the envelope's purpose or compatible with it
   (:meth:`~safeshare.purpose.vocabulary.Vocabulary.is_compatible`, the rule
   of :mod:`safeshare.purpose.enforce`: one step, never transitive); with
   *jti*, only that envelope's rows count;
5. the row is decrypted and checked.

A refusal at 2-4 is recorded (outcome ``denied``) and raised as
:class:`~safeshare.errors.PolicyError`; a failure at 5 is recorded (outcome
``error``) and raised as :class:`~safeshare.errors.VerificationError`. On
success the entry (outcome ``success``) is recorded and the value returned
only after the recorder returned. Audit entries never hold the value: the
pseudonym, the requester, the case and the record member's path at most.

Retention
---------
The mapping is needed only while a recipient may still hold the
pseudonymized data, i.e. until the envelope's retention ends (Second
Additional Protocol Art. 14(5)). Each row therefore has a ``keep_until``:
:func:`~safeshare.envelope.seal` records the envelope's ``iat`` plus the
``handling.retention.max_days`` it sealed with (the latest moment a
recipient's :class:`~safeshare.purpose.retention.RetentionStore` can keep
it). ``keep_until`` is part of the additional authenticated data, so moving
it in the database makes the row fail authentication.

* From ``keep_until`` on, :meth:`PseudonymVault.resolve` refuses the
  pseudonym (recorded as denied, :class:`~safeshare.errors.PolicyError`
  "... retention ended ..."), even before a purge ran; this check comes
  after step 3 and before step 4.
* :meth:`PseudonymVault.purge` deletes the rows whose ``keep_until`` has
  passed, recording one ``purge`` entry per envelope first (see there).
* Rows written before schema version 2 (which added the column) have
  ``keep_until`` NULL: their retention was never recorded, so they are kept,
  and resolve, until purged explicitly with ``purge(legacy_max_days=N)``,
  which deletes those recorded at least *N* days earlier.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safeshare._internal import strictjson
from safeshare._internal.clock import from_unix, require_aware, resolve_now, rfc3339, to_unix
from safeshare.audit.checkpoint import agency_of_log_origin
from safeshare.audit.entry import MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, AuditEntry
from safeshare.audit.recorder import AccessRecorder
from safeshare.errors import (
    MalformedInputError,
    PolicyError,
    SafeShareError,
    StorageError,
    UsageError,
    VerificationError,
)
from safeshare.privacy.secret import PSEUDONYM_PREFIX, PrivacySecret, canonical_json
from safeshare.purpose.enforce import SPECIALITY_RULE
from safeshare.purpose.vocabulary import Vocabulary, load_default
from safeshare.storage import Migration, Row, Schema, SQLParam, Store

__all__ = [
    "MAX_VALUE_BYTES",
    "PSEUDONYM_PATTERN",
    "PSEUDONYM_VAULT_SCHEMA",
    "PseudonymVault",
    "VaultEntry",
    "is_pseudonym",
]

#: A pseudonym: ``pn_`` and 22 base64url characters (128 bits).
PSEUDONYM_PATTERN: Final = r"^pn_[A-Za-z0-9_-]{22}$"
#: Largest value (canonical JSON) the vault keeps for one pseudonym.
MAX_VALUE_BYTES: Final = 64 * 1024

_PSEUDONYM: Final = re.compile(PSEUDONYM_PATTERN.strip("^$"))
_AGENCY: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")
_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_JTI: Final = re.compile(r"[A-Za-z0-9_-]{22}")
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_PATH: Final = 256
_NONCE_BYTES: Final = 12
_AAD_LABEL: Final = b"safeshare/v1/pseudonym-vault-entry"
_MAX_RETENTION_DAYS: Final = 36_500  # the largest retention max_days the conditions allow

PSEUDONYM_VAULT_SCHEMA: Final = Schema(
    component="pseudonym_vault",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                "CREATE TABLE safeshare_pseudonym_vault ("
                "issuer TEXT NOT NULL, "
                "pseudonym TEXT NOT NULL, "
                "recipient TEXT NOT NULL, "
                "case_ref TEXT NOT NULL, "
                "jti TEXT NOT NULL, "
                "path TEXT NOT NULL, "
                "purpose TEXT NOT NULL, "
                "secret_id TEXT NOT NULL, "
                "nonce BLOB NOT NULL, "
                "ciphertext BLOB NOT NULL, "
                "recorded_at INTEGER NOT NULL, "
                "PRIMARY KEY (issuer, pseudonym, recipient, case_ref, jti, path))",
                "CREATE INDEX safeshare_pseudonym_vault_jti "
                "ON safeshare_pseudonym_vault (issuer, jti)",
            ),
            postgresql=(
                "CREATE TABLE safeshare_pseudonym_vault ("
                'issuer TEXT COLLATE "C" NOT NULL, '
                'pseudonym TEXT COLLATE "C" NOT NULL, '
                'recipient TEXT COLLATE "C" NOT NULL, '
                'case_ref TEXT COLLATE "C" NOT NULL, '
                'jti TEXT COLLATE "C" NOT NULL, '
                'path TEXT COLLATE "C" NOT NULL, '
                'purpose TEXT COLLATE "C" NOT NULL, '
                'secret_id TEXT COLLATE "C" NOT NULL, '
                "nonce BYTEA NOT NULL, "
                "ciphertext BYTEA NOT NULL, "
                "recorded_at BIGINT NOT NULL, "
                "PRIMARY KEY (issuer, pseudonym, recipient, case_ref, jti, path))",
                "CREATE INDEX safeshare_pseudonym_vault_jti "
                "ON safeshare_pseudonym_vault (issuer, jti)",
            ),
        ),
        # Version 2: when each row may be deleted (the envelope's iat + retention max_days).
        # Rows written before it keep NULL: no known end (see the module docstring).
        Migration(
            version=2,
            sqlite=(
                "ALTER TABLE safeshare_pseudonym_vault ADD COLUMN keep_until INTEGER",
                "CREATE INDEX safeshare_pseudonym_vault_keep_until "
                "ON safeshare_pseudonym_vault (keep_until)",
            ),
            postgresql=(
                "ALTER TABLE safeshare_pseudonym_vault ADD COLUMN keep_until BIGINT",
                "CREATE INDEX safeshare_pseudonym_vault_keep_until "
                "ON safeshare_pseudonym_vault (keep_until)",
            ),
        ),
    ),
)

_COLUMNS: Final = (
    "issuer, pseudonym, recipient, case_ref, jti, path, purpose, secret_id, nonce, "
    "ciphertext, recorded_at, keep_until"
)
_INSERT: Final = (
    f"INSERT INTO safeshare_pseudonym_vault ({_COLUMNS}) "  # noqa: S608 - constant columns
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (issuer, pseudonym, recipient, case_ref, jti, path) DO NOTHING"
)
_FIND: Final = (
    f"SELECT {_COLUMNS} FROM safeshare_pseudonym_vault "  # noqa: S608 - constant columns
    "WHERE issuer = ? AND pseudonym = ? AND recipient = ? AND case_ref = ? "
    "ORDER BY recorded_at, jti, path"
)
_FOR_ENVELOPE: Final = (
    f"SELECT {_COLUMNS} FROM safeshare_pseudonym_vault "  # noqa: S608 - constant columns
    "WHERE issuer = ? AND jti = ? ORDER BY path, recipient, pseudonym"
)
# What a purge at time t deletes: rows whose keep_until is at or before t, and with
# legacy_max_days, rows without keep_until (written before schema version 2) recorded at
# or before t - legacy_max_days. The second parameter is NULL without legacy_max_days.
_EXPIRED_WHERE: Final = "(keep_until <= ? OR (keep_until IS NULL AND recorded_at <= ?))"
_EXPIRED: Final = (
    f"SELECT {_COLUMNS} FROM safeshare_pseudonym_vault "  # noqa: S608 - constant columns
    f"WHERE {_EXPIRED_WHERE} ORDER BY issuer, jti, path, recipient, pseudonym"
)
_DELETE_EXPIRED: Final = (
    "DELETE FROM safeshare_pseudonym_vault "  # noqa: S608 - constant condition
    "WHERE issuer = ? AND pseudonym = ? AND recipient = ? AND case_ref = ? AND jti = ? "
    f"AND path = ? AND {_EXPIRED_WHERE}"
)


def is_pseudonym(value: object) -> bool:
    """Whether *value* has the form of a pseudonym (``pn_`` and 22 base64url characters)."""
    return isinstance(value, str) and _PSEUDONYM.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """What the vault records about one pseudonym in one envelope (never the value)."""

    pseudonym: str
    issuer: str
    """The agency that issued it (the originator, whose secret keys it)."""
    recipient: str
    """The agency it was issued to: the only one that may have it resolved."""
    case_ref: str
    jti: str
    """The envelope it was sent in."""
    path: str
    """Where in the envelope's record the pseudonymized value was (e.g. a JSON Pointer)."""
    purpose: str
    """The envelope's purpose: what a re-identification may be requested for."""
    secret_id: str
    """The fingerprint of the privacy secret that keys it."""
    recorded_at: datetime
    keep_until: datetime | None = None
    """When the row may be deleted and no longer resolves: the envelope's ``iat`` plus its
    retention ``max_days``. None for a row written before the vault knew it (schema
    version 1): no known end, see :meth:`PseudonymVault.purge`."""


@dataclass(frozen=True, slots=True)
class _Row:
    entry: VaultEntry
    nonce: bytes
    ciphertext: bytes


def _frame(*parts: str) -> bytes:
    """Length-prefixed concatenation: distinct part lists never give the same bytes."""
    out = [_AAD_LABEL]
    for part in parts:
        data = part.encode("utf-8")
        out.append(len(data).to_bytes(4, "big") + data)
    return b"".join(out)


def _aad(entry: VaultEntry) -> bytes:
    """Every clear column of the row (and the secret's fingerprint): edits fail to decrypt.

    ``keep_until`` (decimal Unix seconds) is a ninth part when the row has one; a row
    written before schema version 2 has none and keeps its eight-part data.
    """
    parts = [
        entry.issuer,
        entry.recipient,
        entry.case_ref,
        entry.pseudonym,
        entry.jti,
        entry.path,
        entry.purpose,
        entry.secret_id,
    ]
    if entry.keep_until is not None:
        parts.append(str(to_unix(entry.keep_until)))
    return _frame(*parts)


class PseudonymVault:
    """The originator's pseudonym vault in a :class:`~safeshare.storage.Store`.

    Creating one applies :data:`PSEUDONYM_VAULT_SCHEMA` to the store if
    needed. Holds no state of its own: any number of instances, threads and
    processes may share one database. See the module docstring for what is
    stored and the security properties.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise UsageError("PseudonymVault() takes a safeshare.storage.Store")
        store.ensure_schema(PSEUDONYM_VAULT_SCHEMA)
        self._store = store

    # -- recording (the originator, when it seals) ------------------------------------

    def record(
        self,
        secret: PrivacySecret,
        *,
        pseudonym: str,
        value: Any,
        issuer: str,
        recipient: str,
        case_ref: str,
        jti: str,
        path: str,
        purpose: str,
        keep_until: datetime,
        now: datetime | None = None,
    ) -> bool:
        """Record that *pseudonym* stands for *value* in envelope *jti*; True if new.

        *pseudonym* must be ``secret.pseudonym(value, issuer=issuer,
        recipient=recipient, case_ref=case_ref)`` (checked:
        :class:`~safeshare.errors.UsageError` otherwise, so a wrong domain is
        never recorded). *path* names the record member (e.g. the JSON
        Pointer ``/records/0/msisdn``; 1-256 characters, no control
        characters, no personal data); *purpose* is the envelope's purpose
        code. *value* (what :meth:`PrivacySecret.pseudonym
        <safeshare.privacy.secret.PrivacySecret.pseudonym>` accepts, at most
        :data:`MAX_VALUE_BYTES` as canonical JSON, RFC 8785) is stored only
        encrypted, as that canonical JSON; :meth:`resolve` returns it as
        JSON values (a tuple comes back as a list). *keep_until* is when the
        row may be deleted and stops resolving: the envelope's ``iat`` plus
        its retention ``max_days`` (what :func:`~safeshare.envelope.seal`
        passes), later than *now*. Recording the same pseudonym for the same
        envelope and path again changes nothing (returns False; the first
        *keep_until* stays). The row is durable when this returns.
        """
        row = _new_row(
            _check_secret(secret),
            pseudonym=pseudonym,
            value=value,
            issuer=issuer,
            recipient=recipient,
            case_ref=case_ref,
            jti=jti,
            path=path,
            purpose=purpose,
            keep_until=keep_until,
            now=resolve_now(now),
        )
        with self._store.transaction(write=True) as cur:
            cur.execute(_INSERT, row)
            return cur.rowcount == 1

    def record_many(
        self,
        secret: PrivacySecret,
        items: Iterable[tuple[str | Sequence[str | int], Any, str]],
        *,
        issuer: str,
        recipient: str,
        case_ref: str,
        jti: str,
        purpose: str,
        keep_until: datetime,
        now: datetime | None = None,
    ) -> int:
        """:meth:`record` for several ``(path, value, pseudonym)`` of one envelope, in one commit.

        *items* has the shape of ``Minimized.pseudonymized`` (a *path* may be
        a string or a sequence of record member names and list indexes,
        joined with ``/`` as a JSON Pointer, RFC 6901, without escaping).
        Every item is checked before anything is written; all rows are
        written in one transaction (all or nothing), with the same
        *keep_until*. Returns how many were new.
        """
        secret = _check_secret(secret)
        moment = resolve_now(now)
        rows = [
            _new_row(
                secret,
                pseudonym=pseudonym,
                value=value,
                issuer=issuer,
                recipient=recipient,
                case_ref=case_ref,
                jti=jti,
                path=_path_text(path),
                purpose=purpose,
                keep_until=keep_until,
                now=moment,
            )
            for path, value, pseudonym in items
        ]
        if not rows:
            return 0
        new = 0
        with self._store.transaction(write=True) as cur:
            for row in rows:
                cur.execute(_INSERT, row)
                new += cur.rowcount == 1
        return new

    def pseudonymize(
        self,
        secret: PrivacySecret,
        value: Any,
        *,
        issuer: str,
        recipient: str,
        case_ref: str,
        jti: str,
        path: str,
        purpose: str,
        keep_until: datetime,
        now: datetime | None = None,
    ) -> str:
        """The pseudonym of *value* for (issuer, recipient, case), recorded in the vault.

        What a sealing originator calls for each value it pseudonymizes:
        :meth:`PrivacySecret.pseudonym
        <safeshare.privacy.secret.PrivacySecret.pseudonym>` then
        :meth:`record`. Returns only once the vault row is durable, so a
        pseudonym that leaves the agency can always be resolved.
        """
        secret = _check_secret(secret)
        pseudonym = secret.pseudonym(
            value,
            issuer=_check_agency(issuer, "issuer"),
            recipient=_check_agency(recipient, "recipient"),
            case_ref=_check_case(case_ref),
        )
        self.record(
            secret,
            pseudonym=pseudonym,
            value=value,
            issuer=issuer,
            recipient=recipient,
            case_ref=case_ref,
            jti=jti,
            path=path,
            purpose=purpose,
            keep_until=keep_until,
            now=now,
        )
        return pseudonym

    def entries_for(self, issuer: str, jti: str) -> list[VaultEntry]:
        """What the vault holds for envelope *jti* of *issuer* (metadata only, no values)."""
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_FOR_ENVELOPE, (_check_agency(issuer, "issuer"), _check_jti(jti)))
        return [_row(r).entry for r in rows]

    # -- purging (the originator, when the recipients' retention has ended) -------------------

    def purge(
        self,
        *,
        now: datetime,
        actor: str,
        recorder: AccessRecorder,
        agency: str | None = None,
        legacy_max_days: int | None = None,
    ) -> int:
        """Delete every row whose ``keep_until`` is at or before *now*; return how many.

        The rows due at *now* are read, then one ``purge`` audit entry per
        envelope (issuer, ``jti``) is recorded through *recorder* (metadata
        only: the ``jti``, the recipient as counterparty and the envelope's
        purpose when there is one of each, the number of rows and the end of
        retention; never a pseudonym, a case or a value), then those rows are
        deleted in one transaction, and the number deleted is returned. So no
        row is ever deleted without its entry: if the recorder fails, its
        error propagates and nothing is deleted; if the deletion fails after
        the entries were recorded, its error propagates, the rows stay (and
        :meth:`resolve` already refuses them), and the next purge deletes
        them and records them again. Two purges at the same time may both
        record an envelope; only one deletes its rows.

        Rows written before the vault kept ``keep_until`` (schema version 1)
        have none and are kept, and resolve, until purged explicitly: with
        *legacy_max_days* (1-36500), such rows recorded at least that many
        days before *now* are purged too (give the longest retention
        ``max_days`` the agency ever sealed with).

        *actor* is the officer or system that purges (recorded); *agency* our
        own agency id (default: from the recorder's log origin).
        """
        moment = require_aware(now, "now")
        _check_actor(actor)
        own = _own_agency(recorder, agency)
        legacy_s: int | None = None
        if legacy_max_days is not None:
            if (
                isinstance(legacy_max_days, bool)
                or not isinstance(legacy_max_days, int)
                or not 1 <= legacy_max_days <= _MAX_RETENTION_DAYS
            ):
                raise UsageError(
                    f"legacy_max_days must be a whole number of days, 1-{_MAX_RETENTION_DAYS}"
                )
            legacy_s = to_unix(moment - timedelta(days=legacy_max_days))
        now_s = to_unix(moment)
        with self._store.transaction(write=False) as cur:
            rows = [_row(r) for r in cur.execute(_EXPIRED, (now_s, legacy_s))]
        if not rows:
            return 0
        envelopes: dict[tuple[str, str], list[VaultEntry]] = {}
        for row in rows:
            envelopes.setdefault((row.entry.issuer, row.entry.jti), []).append(row.entry)
        for entries in envelopes.values():
            recorder.record(_purge_entry(entries, actor=actor, agency=own, now_s=now_s))
        deleted = 0
        with self._store.transaction(write=True) as cur:
            for row in rows:
                e = row.entry
                cur.execute(
                    _DELETE_EXPIRED,
                    (
                        e.issuer,
                        e.pseudonym,
                        e.recipient,
                        e.case_ref,
                        e.jti,
                        e.path,
                        now_s,
                        legacy_s,
                    ),
                )
                deleted += max(cur.rowcount, 0)
        return deleted

    # -- re-identification -----------------------------------------------------------------

    def resolve(
        self,
        secret: PrivacySecret,
        pseudonym: str,
        *,
        requester: str,
        case_ref: str,
        purpose: str,
        actor: str,
        recorder: AccessRecorder,
        agency: str | None = None,
        jti: str | None = None,
        vocabulary: Vocabulary | None = None,
        now: datetime | None = None,
    ) -> Any:
        """The value *pseudonym* stands for, for *requester* in *case_ref*; recorded first.

        *requester* is the agency that asks (it must be the one the
        pseudonym was issued to), *case_ref* the case it asks in (the one
        the pseudonym was issued in), *purpose* what it needs the value for
        (a purpose code the envelope's purpose allows). *actor* is who
        decides here (recorded); *recorder* records the re-identification
        (action ``reidentify``). *agency* is our own agency id, the issuer of
        the pseudonym (default: from the recorder's log origin). *jti*, if
        given (the ``original`` of a re-identification request), limits the
        resolution to that envelope. *vocabulary* defaults to
        :func:`~safeshare.purpose.vocabulary.load_default`.

        Raises :class:`~safeshare.errors.PolicyError` (recorded as denied)
        when the pseudonym was not issued to *requester* in *case_ref* by us
        (whether or not it exists in another domain), or the purpose is
        unknown or not allowed by the envelope's purpose;
        :class:`~safeshare.errors.VerificationError` (recorded as an error)
        when the vault row does not decrypt and check with *secret* (wrong
        secret, changed row). The recorder's own failure propagates, and
        then no value is returned.
        """
        secret = _check_secret(secret)
        pseudonym = _check_pseudonym(pseudonym)
        requester = _check_agency(requester, "requester")
        case_ref = _check_case(case_ref)
        purpose = _check_code(purpose, "purpose")
        _check_actor(actor)
        own = _own_agency(recorder, agency)
        if jti is not None:
            jti = _check_jti(jti)
        if vocabulary is None:
            vocabulary = load_default()
        elif not isinstance(vocabulary, Vocabulary):
            raise UsageError("vocabulary must be a safeshare.purpose.vocabulary.Vocabulary")
        moment = resolve_now(now)
        audit = _Audit(
            recorder=recorder,
            agency=own,
            actor=actor,
            now=moment,
            pseudonym=pseudonym,
            requester=requester,
            purpose=purpose,
            jti=jti,
        )

        if not vocabulary.has_purpose(purpose):
            audit.refuse(
                PolicyError(
                    f"{purpose!r} is not a purpose in this agency's vocabulary, so a "
                    "re-identification cannot be allowed for it",
                    hint="use a purpose code of the vocabulary (specs/safeshare-v1.md section 8.3)",
                ),
                f"unknown purpose code {purpose}",
            )
        with self._store.transaction(write=False) as cur:
            rows = [_row(r) for r in cur.execute(_FIND, (own, pseudonym, requester, case_ref))]
        if jti is not None:
            rows = [r for r in rows if r.entry.jti == jti]
        if not rows:
            envelope = "" if jti is None else f" in envelope {jti}"
            audit.refuse(
                PolicyError(
                    f"pseudonym {pseudonym} was not issued by {own} to {requester} in case "
                    f"{case_ref!r}{envelope}: it cannot be resolved for {requester}",
                    hint=(
                        "a pseudonym is resolved only for the agency it was sent to, in the case "
                        "it was sent in; check the pseudonym, the case and the requester"
                    ),
                ),
                f"pseudonym not issued to {requester} in this case",
            )
        live = [r for r in rows if not _expired(r.entry, moment)]
        if not live:
            ended = max(r.entry.keep_until or moment for r in rows)
            audit.refuse(
                PolicyError(
                    f"pseudonym {pseudonym} can no longer be resolved for {requester}: its "
                    f"retention ended at {rfc3339(ended)} (the envelope's iat plus its handling "
                    "condition retention max_days; Second Additional Protocol Art. 14(5)), so "
                    "the recipient may no longer hold the data it stands for",
                    hint="the vault row is deleted by the next PseudonymVault.purge()",
                ),
                f"retention ended at {rfc3339(ended)}",
            )
        rows = live
        allowed = [r for r in rows if _purpose_allows(vocabulary, r.entry.purpose, purpose)]
        if not allowed:
            sent_for = sorted({r.entry.purpose for r in rows})
            also = sorted(
                {
                    p
                    for original in sent_for
                    if vocabulary.has_purpose(original)
                    for p in vocabulary.compatible_purposes(original)
                }
            )
            audit.refuse(
                PolicyError(
                    f"{requester} may not have pseudonym {pseudonym} re-identified for "
                    f"{purpose}: the envelope was sent for {', '.join(sent_for)}, which allows "
                    f"{', '.join(also) or 'no purpose this agency knows'} "
                    f"(speciality: {SPECIALITY_RULE})",
                    hint=(
                        "ask for a purpose the envelope allows, or ask the originator for a "
                        "consent to the new purpose first"
                    ),
                ),
                f"purpose {purpose} not allowed by the envelope's purpose {', '.join(sent_for)}",
            )
        chosen = allowed[0]
        try:
            value = _decrypt(secret, chosen)
        except VerificationError as exc:
            audit.fail(exc, chosen.entry.jti)
        audit.success(chosen.entry)
        return value


def _new_row(
    secret: PrivacySecret,
    *,
    pseudonym: str,
    value: Any,
    issuer: str,
    recipient: str,
    case_ref: str,
    jti: str,
    path: str,
    purpose: str,
    keep_until: datetime,
    now: datetime,
) -> tuple[SQLParam, ...]:
    """The checked, encrypted vault row of one pseudonym (see :meth:`PseudonymVault.record`)."""
    until = _check_keep_until(keep_until, now)
    entry = VaultEntry(
        pseudonym=_check_pseudonym(pseudonym),
        issuer=_check_agency(issuer, "issuer"),
        recipient=_check_agency(recipient, "recipient"),
        case_ref=_check_case(case_ref),
        jti=_check_jti(jti),
        path=_check_path(path),
        purpose=_check_code(purpose, "purpose (the envelope's purpose)"),
        secret_id=secret.fingerprint,
        recorded_at=now,
        keep_until=until,
    )
    if entry.recipient == entry.issuer:
        raise UsageError("a pseudonym is issued to another agency, not to the issuer itself")
    plaintext = _encode_value(value)
    expected = secret.pseudonym(
        value, issuer=entry.issuer, recipient=entry.recipient, case_ref=entry.case_ref
    )
    if not hmac.compare_digest(expected, entry.pseudonym):
        raise UsageError(
            "the pseudonym is not the one this secret gives the value in this domain "
            "(issuer, recipient, case); record what PrivacySecret.pseudonym() returned",
            hint="or use PseudonymVault.pseudonymize(), which computes and records it",
        )
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(secret.vault_key()).encrypt(nonce, plaintext, _aad(entry))
    return (
        entry.issuer,
        entry.pseudonym,
        entry.recipient,
        entry.case_ref,
        entry.jti,
        entry.path,
        entry.purpose,
        entry.secret_id,
        nonce,
        ciphertext,
        to_unix(entry.recorded_at),
        to_unix(until),
    )


def _path_text(path: object) -> str:
    if isinstance(path, str):
        return path
    if isinstance(path, Sequence) and all(
        isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in path
    ):
        return "/" + "/".join(str(p) for p in path)
    raise UsageError("a path is a string or a sequence of member names and list indexes")


def _expired(entry: VaultEntry, now: datetime) -> bool:
    """Whether the row's retention has ended at *now* (never, without a keep_until)."""
    return entry.keep_until is not None and to_unix(entry.keep_until) <= to_unix(now)


def _purpose_allows(vocabulary: Vocabulary, envelope_purpose: str, purpose: str) -> bool:
    """The speciality rule of :mod:`safeshare.purpose.enforce` (unknown codes never allow)."""
    return (
        vocabulary.has_purpose(envelope_purpose)
        and vocabulary.has_purpose(purpose)
        and vocabulary.is_compatible(envelope_purpose, purpose)
    )


def _decrypt(secret: PrivacySecret, row: _Row) -> Any:
    entry = row.entry
    try:
        plaintext = AESGCM(secret.vault_key()).decrypt(row.nonce, row.ciphertext, _aad(entry))
    except (InvalidTag, ValueError):
        other = entry.secret_id != secret.fingerprint
        raise VerificationError(
            f"the vault entry of pseudonym {entry.pseudonym} (envelope {entry.jti}) does not "
            "authenticate: "
            + (
                f"it was made with another privacy secret (fingerprint {entry.secret_id})"
                if other
                else "the row was changed in the database"
            ),
            hint="use the key set the pseudonym was issued with; a changed row cannot be resolved",
        ) from None
    try:
        value = strictjson.loads(plaintext, what="vault value", max_bytes=MAX_VALUE_BYTES)
    except MalformedInputError:
        raise VerificationError(
            f"the vault entry of pseudonym {entry.pseudonym} decrypts to no JSON value"
        ) from None
    try:
        again = secret.pseudonym(
            value, issuer=entry.issuer, recipient=entry.recipient, case_ref=entry.case_ref
        )
    except UsageError:  # e.g. a float: no pseudonym is ever made of one
        raise VerificationError(
            f"the vault entry of pseudonym {entry.pseudonym} holds a value that cannot have a "
            "pseudonym"
        ) from None
    if not hmac.compare_digest(again, entry.pseudonym):
        raise VerificationError(
            f"the vault entry of pseudonym {entry.pseudonym} holds a value of another pseudonym"
        )
    return value


def _purge_entry(entries: list[VaultEntry], *, actor: str, agency: str, now_s: int) -> AuditEntry:
    """The ``purge`` entry of one envelope's deleted rows: counts and ids, never a value."""
    first = entries[0]
    recipients = {e.recipient for e in entries}
    purposes = {e.purpose for e in entries}
    ends = [e.keep_until for e in entries if e.keep_until is not None]
    legacy = len(entries) - len(ends)
    why = []
    if ends:
        why.append(
            f"retention ended at {rfc3339(max(ends))} (the envelope's iat plus its handling "
            "condition retention max_days, Second Additional Protocol Art. 14(5))"
        )
    if legacy:
        why.append(f"{legacy} written without a retention end, purged as legacy rows")
    rows = "1 row" if len(entries) == 1 else f"{len(entries)} rows"
    recipient = next(iter(recipients)) if len(recipients) == 1 else None
    return AuditEntry(
        action="purge",
        time=now_s,
        actor=actor,
        agency=agency,
        counterparty=recipient if recipient != agency else None,
        jti=first.jti,
        purpose=next(iter(purposes)) if len(purposes) == 1 else None,
        outcome="success",
        reason=_CONTROL.sub(
            " ",
            f"pseudonym vault: {rows} of envelope {first.jti} of {first.issuer} deleted "
            f"({'; '.join(why)}); the pseudonyms can no longer be resolved",
        )[:MAX_REASON_LENGTH],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Audit:
    """The audit entries of one resolution (action ``reidentify``)."""

    recorder: AccessRecorder
    agency: str
    actor: str
    now: datetime
    pseudonym: str
    requester: str
    purpose: str
    jti: str | None

    def _entry(
        self, outcome: Literal["success", "denied", "error"], reason: str, jti: str | None
    ) -> AuditEntry:
        text = f"re-identification of pseudonym {self.pseudonym} for {self.requester}: {reason}"
        if len(text) > MAX_REASON_LENGTH:
            text = text[: MAX_REASON_LENGTH - 3] + "..."
        return AuditEntry(
            action="reidentify",
            time=to_unix(self.now),
            actor=self.actor,
            agency=self.agency,
            counterparty=self.requester if self.requester != self.agency else None,
            jti=jti,
            purpose=self.purpose,
            outcome=outcome,
            reason=_CONTROL.sub(" ", text),
        )

    def refuse(self, error: PolicyError, reason: str) -> NoReturn:
        try:
            self.recorder.record(self._entry("denied", f"refused: {reason}", self.jti))
        except SafeShareError as exc:
            raise exc from error
        raise error

    def fail(self, error: VerificationError, jti: str) -> NoReturn:
        try:
            self.recorder.record(self._entry("error", "the vault entry does not authenticate", jti))
        except SafeShareError as exc:
            raise exc from error
        raise error

    def success(self, entry: VaultEntry) -> None:
        self.recorder.record(
            self._entry(
                "success",
                f"resolved (case {entry.case_ref}, record member {entry.path}, envelope purpose "
                f"{entry.purpose})",
                entry.jti,
            )
        )


# -- argument checks -------------------------------------------------------------------------


def _check_secret(secret: object) -> PrivacySecret:
    if not isinstance(secret, PrivacySecret):
        raise UsageError(
            "the pseudonym vault needs the agency's PrivacySecret (AgencyKeySet.privacy_secret)"
        )
    return secret


def _check_pseudonym(value: object) -> str:
    if not is_pseudonym(value):
        raise UsageError(f"a pseudonym is {PSEUDONYM_PREFIX!r} and 22 base64url characters")
    assert isinstance(value, str)
    return value


def _check_agency(value: object, name: str) -> str:
    if not isinstance(value, str) or _AGENCY.fullmatch(value) is None:
        raise UsageError(f"{name} must be an agency id such as XA-NPOL")
    return value


def _check_code(value: object, name: str) -> str:
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        raise UsageError(f"{name} must be a purpose code such as criminal_investigation")
    return value


def _check_jti(value: object) -> str:
    if not isinstance(value, str) or _JTI.fullmatch(value) is None:
        raise UsageError("jti must be an envelope id (22 base64url characters)")
    return value


def _check_case(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > 128
        or _CONTROL.search(value)
    ):
        raise UsageError("case_ref must be 1-128 characters without control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("case_ref is not valid Unicode text") from None
    return value


def _check_keep_until(value: object, now: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise UsageError(
            "keep_until must be a datetime: the envelope's iat plus its retention max_days"
        )
    keep_until = require_aware(value, "keep_until")
    if to_unix(keep_until) <= to_unix(now):
        raise UsageError(
            f"keep_until ({rfc3339(keep_until)}) must be after the time the pseudonym is "
            f"recorded ({rfc3339(now)}): the envelope's iat plus its retention max_days"
        )
    return from_unix(to_unix(keep_until))


def _check_path(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_PATH or _CONTROL.search(value):
        raise UsageError(
            f"path names the record member (e.g. /records/0/msisdn): 1-{_MAX_PATH} "
            "characters without control characters"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("path is not valid Unicode text") from None
    return value


def _check_actor(actor: object) -> None:
    if (
        not isinstance(actor, str)
        or not actor.strip()
        or len(actor) > MAX_ACTOR_LENGTH
        or _CONTROL.search(actor)
    ):
        raise UsageError(
            "a re-identification needs actor=, the officer or system that decides it "
            f"(1-{MAX_ACTOR_LENGTH} characters, no control characters)"
        )


def _own_agency(recorder: object, agency: str | None) -> str:
    if not callable(getattr(recorder, "record", None)):
        raise UsageError(
            "a re-identification is always recorded: recorder must be an AccessRecorder "
            "(e.g. AuditLogRecorder(log))"
        )
    if agency is None:
        origin = getattr(getattr(recorder, "log", None), "origin", None)
        parsed = agency_of_log_origin(origin) if isinstance(origin, str) else None
        if parsed is None:
            raise UsageError(
                "give agency= (our own agency id); it is taken from the log origin only for a "
                "recorder of a safeshare audit log"
            )
        agency = parsed[1]
    return _check_agency(agency, "agency")


def _encode_value(value: Any) -> bytes:
    """The value as the vault stores it: its canonical JSON, the bytes its pseudonym keys."""
    data = canonical_json(value)  # refuses what PrivacySecret.pseudonym refuses
    if len(data) > MAX_VALUE_BYTES:
        raise UsageError(
            f"the value is {len(data)} bytes as JSON; the vault keeps at most {MAX_VALUE_BYTES}"
        )
    return data


def _row(row: Row | Sequence[Any]) -> _Row:
    (
        issuer,
        pseudonym,
        recipient,
        case_ref,
        jti,
        path,
        purpose,
        secret_id,
        nonce,
        ciphertext,
        recorded_at,
        keep_until,
    ) = row
    try:
        entry = VaultEntry(
            pseudonym=str(pseudonym),
            issuer=str(issuer),
            recipient=str(recipient),
            case_ref=str(case_ref),
            jti=str(jti),
            path=str(path),
            purpose=str(purpose),
            secret_id=str(secret_id),
            recorded_at=from_unix(int(recorded_at)),
            keep_until=None if keep_until is None else from_unix(int(keep_until)),
        )
    except (OverflowError, ValueError, OSError, TypeError):
        raise StorageError(
            "the pseudonym vault holds a damaged row (recorded_at or keep_until)"
        ) from None
    return _Row(entry, _bytes(nonce), _bytes(ciphertext))


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise StorageError("the pseudonym vault holds a damaged row (binary column)")
