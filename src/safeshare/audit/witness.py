"""Witnesses: cosigning checkpoints (C2SP tlog-cosignature, tlog-witness).

A witness (another agency, or an oversight body) cosigns a log's checkpoint
only after checking that it extends, append-only, the latest checkpoint of
that log it cosigned before. A client that requires cosignatures from a
quorum of witnesses it trusts cannot be shown a forked view of a log unless
that many witnesses were shown the same fork.

Cosignatures (tlog-cosignature, Ed25519 "cosignature/v1")
---------------------------------------------------------
* §"Format": a cosignature is a note signature line on the checkpoint,
  ``— <witness name> base64(key ID || timestamped_signature)``, with key ID
  ``SHA-256(<name> || "\\n" || 0x04 || 32-byte Ed25519 public key)[:4]``
  (signed-note signature type ``0x04``). ``timestamped_signature`` is the
  timestamp as an unsigned 64-bit big-endian integer (POSIX seconds, at most
  ``2**63 - 1``) followed by the 64-byte Ed25519 signature: 4 + 8 + 64 bytes.
* §"Ed25519 signed message": the signature covers ``cosignature/v1\\n``,
  ``time <timestamp>\\n`` (ASCII decimal, no leading zeroes) and the whole
  checkpoint note text (with extension lines, without signature lines).
* Verifiers MAY reject cosignatures with timestamps in the future;
  :func:`verify_cosigned` does not count one more than *skew* ahead of *now*.

The witness (tlog-witness §"add-checkpoint")
--------------------------------------------
:meth:`Witness.cosign` is the ``add-checkpoint`` operation without HTTP. The
"old size" of the protocol is the size of the latest checkpoint the witness
cosigned for that origin (0 if none; ask with :meth:`Witness.latest`), and
the consistency proof must be from that size. In order:

1. the checkpoint must carry a valid signature by the log key the caller
   trusts for the origin (the witness ignores other signatures; nothing is
   recorded for a checkpoint that is not authentic);
2. the proof has at most 63 hashes of 32 bytes;
3. first sight of the origin (or old size 0): accepted, the proof must be
   empty;
4. a smaller size than the latest cosigned one is a **rollback**; the same
   size with another root hash is a **fork**; a larger size whose RFC 9162
   consistency proof does not verify is **inconsistent** (the witness "MAY log
   the request ... as it might be proof of log misbehavior"). All three are
   refused with :class:`~safeshare.errors.AuditIntegrityError` and **kept as
   evidence**: both signed checkpoints, the proof, the time. Evidence of one
   pair of checkpoints is recorded once.
5. the new checkpoint is stored before the cosignature is returned, and the
   check and the update are one write transaction (the store serializes
   writers; the update is also a compare-and-set that fails closed), so the
   rollback race described in tlog-witness cannot happen, not even across
   processes sharing the database.

State is kept per witness name and origin, so several witnesses (or a
witness and other components) may share one database.

What the kinds of evidence prove: a **fork** (two checkpoints of one size with
different roots, both signed by the log) proves misbehaviour by itself. A
**rollback** shows that somebody presented an older checkpoint than one
already cosigned; it is misbehaviour if the two are not consistent, which an
auditor can check with a consistency proof from the smaller to the larger. An
**inconsistent** record shows that the submitted proof failed; it proves
misbehaviour only if no valid proof between the two checkpoints exists (check
by recomputing both roots from the log's entries).

State lives on the shared storage layer (:class:`~safeshare.storage.Store`,
schema component ``"witness"``, SQLite and PostgreSQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from safeshare._internal.clock import from_unix, resolve_now
from safeshare.audit.checkpoint import (
    HASH_SIZE,
    MAX_CHECKPOINT_NOTE_BYTES,
    Checkpoint,
    verify_checkpoint,
)
from safeshare.audit.merkle import verify_consistency
from safeshare.audit.note import (
    NoteVerifier,
    TypedVerifier,
    b64std_decode,
    b64std_encode,
    check_key_name,
    compute_key_id,
    open_note,
    signature_line,
)
from safeshare.errors import (
    AuditIntegrityError,
    MalformedInputError,
    OversizedInputError,
    SafeShareError,
    StorageError,
    UsageError,
    VerificationError,
)
from safeshare.keys import SigningKey
from safeshare.storage import Cursor, Migration, Row, Schema, Store

__all__ = [
    "COSIGNATURE_HEADER",
    "DEFAULT_SKEW",
    "MAX_PROOF_HASHES",
    "SIG_TYPE_COSIGNATURE",
    "WITNESS_SCHEMA",
    "CosignatureVerifier",
    "Evidence",
    "Witness",
    "WitnessedCheckpoint",
    "cosignature_message",
    "sign_cosignature",
    "verify_cosigned",
]

#: Signature type byte of Ed25519 cosignatures (signed-note §"Signature types").
SIG_TYPE_COSIGNATURE: Final = 0x04
#: First line of the Ed25519 cosigned message (tlog-cosignature §"Ed25519 signed message").
COSIGNATURE_HEADER: Final = "cosignature/v1"
#: Most consistency proof hashes accepted (tlog-witness §"add-checkpoint": at most 63 lines).
MAX_PROOF_HASHES: Final = 63
#: How far in the future a cosignature's timestamp may be and still count.
DEFAULT_SKEW: Final = timedelta(minutes=5)
#: Largest timestamp (tlog-cosignature §"Format": MUST NOT exceed 2^63 - 1).
MAX_TIMESTAMP: Final = 2**63 - 1

_TIMESTAMP_BYTES: Final = 8
_SIGNATURE_BYTES: Final = 64

EvidenceKind = Literal["fork", "rollback", "inconsistent"]

WITNESS_SCHEMA: Final = Schema(
    component="witness",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                "CREATE TABLE safeshare_witness_state ("
                "witness TEXT NOT NULL, "
                "origin TEXT NOT NULL, "
                "size INTEGER NOT NULL CHECK (size >= 0), "
                "root_hash BLOB NOT NULL CHECK (length(root_hash) = 32), "
                "body TEXT NOT NULL, "
                "checkpoint TEXT NOT NULL, "
                "cosigned_at INTEGER NOT NULL, "
                "PRIMARY KEY (witness, origin)"
                ") WITHOUT ROWID",
                "CREATE TABLE safeshare_witness_evidence ("
                "id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "digest TEXT NOT NULL UNIQUE, "
                "witness TEXT NOT NULL, "
                "origin TEXT NOT NULL, "
                "kind TEXT NOT NULL CHECK (kind IN ('fork', 'rollback', 'inconsistent')), "
                "detected_at INTEGER NOT NULL, "
                "previous_body TEXT NOT NULL, "
                "previous_checkpoint TEXT NOT NULL, "
                "submitted_body TEXT NOT NULL, "
                "submitted_checkpoint TEXT NOT NULL, "
                "proof TEXT NOT NULL, "
                "detail TEXT NOT NULL)",
                "CREATE INDEX safeshare_witness_evidence_origin "
                "ON safeshare_witness_evidence (witness, origin, id)",
            ),
            postgresql=(
                "CREATE TABLE safeshare_witness_state ("
                'witness TEXT COLLATE "C" NOT NULL, '
                'origin TEXT COLLATE "C" NOT NULL, '
                "size BIGINT NOT NULL CHECK (size >= 0), "
                "root_hash BYTEA NOT NULL CHECK (octet_length(root_hash) = 32), "
                "body TEXT NOT NULL, "
                "checkpoint TEXT NOT NULL, "
                "cosigned_at BIGINT NOT NULL, "
                "PRIMARY KEY (witness, origin))",
                "CREATE TABLE safeshare_witness_evidence ("
                "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "digest TEXT NOT NULL UNIQUE, "
                'witness TEXT COLLATE "C" NOT NULL, '
                'origin TEXT COLLATE "C" NOT NULL, '
                "kind TEXT NOT NULL CHECK (kind IN ('fork', 'rollback', 'inconsistent')), "
                "detected_at BIGINT NOT NULL, "
                "previous_body TEXT NOT NULL, "
                "previous_checkpoint TEXT NOT NULL, "
                "submitted_body TEXT NOT NULL, "
                "submitted_checkpoint TEXT NOT NULL, "
                "proof TEXT NOT NULL, "
                "detail TEXT NOT NULL)",
                "CREATE INDEX safeshare_witness_evidence_origin "
                "ON safeshare_witness_evidence (witness, origin, id)",
            ),
        ),
    ),
)


# -- cosignatures -------------------------------------------------------------------


def cosignature_message(note_text: str, timestamp: int) -> bytes:
    """The Ed25519 cosigned message (tlog-cosignature §"Ed25519 signed message")."""
    _check_timestamp(timestamp, UsageError)
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{note_text}".encode()


def _check_timestamp(timestamp: object, error: type[SafeShareError]) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise error("a cosignature timestamp is an integer number of seconds")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise error(f"a cosignature timestamp must be between 0 and {MAX_TIMESTAMP}")
    return timestamp


def sign_cosignature(note_text: str, name: str, key: SigningKey, *, timestamp: int) -> str:
    """A cosignature line by *name*/*key* on the checkpoint note text, at *timestamp*.

    *note_text* is the checkpoint's note text (:meth:`Checkpoint.body`). The
    result is one signature line ending in a newline, to append to the note.
    """
    if not isinstance(key, SigningKey):
        raise UsageError("sign_cosignature() needs a safeshare.keys.SigningKey")
    check_key_name(name, error=UsageError)
    if not isinstance(note_text, str) or not note_text.endswith("\n"):
        raise UsageError("the cosigned note text must be a string ending in a newline")
    signature = key.sign(cosignature_message(note_text, timestamp))
    key_id = compute_key_id(name, SIG_TYPE_COSIGNATURE, key.public.raw)
    return signature_line(name, key_id, timestamp.to_bytes(_TIMESTAMP_BYTES, "big") + signature)


class CosignatureVerifier(TypedVerifier):
    """A trusted witness: a name and an Ed25519 public key (cosignature/v1, type 0x04).

    ``from_vkey`` parses ``<name>+<key ID>+<base64(0x04 || 32-byte key)>``
    (tlog-cosignature §"Format").
    """

    __slots__ = ()
    sig_type = SIG_TYPE_COSIGNATURE
    role = "cosigner key"

    @staticmethod
    def timestamp(signature: bytes) -> int:
        """The timestamp of a ``timestamped_signature`` (the bytes after the key ID)."""
        if len(signature) != _TIMESTAMP_BYTES + _SIGNATURE_BYTES:
            raise VerificationError("an Ed25519 cosignature is 8 + 64 bytes after the key ID")
        return int.from_bytes(signature[:_TIMESTAMP_BYTES], "big")

    def verify(self, text: bytes, signature: bytes) -> None:
        """Verify a cosignature over the note *text* (see the module docstring)."""
        where = f"cosignature of witness {self._name}+{self._key_id.hex()}"
        if len(signature) != _TIMESTAMP_BYTES + _SIGNATURE_BYTES:
            raise VerificationError(
                f"the {where} is {len(signature)} bytes; a cosignature/v1 signature is "
                "an 8-byte timestamp and a 64-byte Ed25519 signature"
            )
        timestamp = self.timestamp(signature)
        if timestamp > MAX_TIMESTAMP:
            raise VerificationError(f"the {where} has a timestamp above 2^63 - 1")
        message = f"{COSIGNATURE_HEADER}\ntime {timestamp}\n".encode("ascii") + text
        try:
            self._key.verify(signature[_TIMESTAMP_BYTES:], message)
        except VerificationError:
            raise VerificationError(f"the {where} does not verify") from None

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, CosignatureVerifier)
            and (other._name, other._key) == (self._name, self._key)
        )

    def __hash__(self) -> int:
        return hash((type(self), self._name, self._key))

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self._name!r}, key_id={self._key_id.hex()})"


def verify_cosigned(
    note: str | bytes,
    log_verifier: NoteVerifier,
    witness_verifiers: Iterable[CosignatureVerifier],
    quorum: int,
    *,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
    origin: str | None = None,
) -> Checkpoint:
    """Verify a checkpoint signed by the log and cosigned by *quorum* trusted witnesses.

    Requires a valid log signature (see
    :func:`~safeshare.audit.checkpoint.verify_checkpoint`; the origin must be
    *origin*, by default the log key's name) and valid cosignatures from at
    least *quorum* distinct witnesses (by name) of *witness_verifiers* whose
    timestamps are not more than *skew* after *now*. Signatures by unknown
    keys are ignored; an invalid signature by a known log or witness key
    rejects the whole note. Raises :class:`VerificationError` (including when
    the quorum is not met) or :class:`MalformedInputError`.
    """
    now = resolve_now(now)
    if not isinstance(log_verifier, NoteVerifier):
        raise UsageError("verify_cosigned() takes the log's NoteVerifier")
    witnesses = list(witness_verifiers)
    if not all(isinstance(w, CosignatureVerifier) for w in witnesses):
        raise UsageError("witness_verifiers must be CosignatureVerifier objects")
    if any(w.key == log_verifier.key for w in witnesses):
        raise UsageError("the log's own key cannot count as a witness")
    names = {w.name for w in witnesses}
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
        raise UsageError("quorum must be a positive integer (use verify_checkpoint for none)")
    if quorum > len(names):
        raise UsageError(
            f"a quorum of {quorum} cannot be met by {len(names)} distinct trusted witness(es)"
        )
    if skew < timedelta(0) or skew > timedelta(hours=1):
        raise UsageError("skew must be between 0 and 1 hour")
    expected = log_verifier.name if origin is None else origin

    text, signatures = open_note(
        note, [log_verifier, *witnesses], max_bytes=MAX_CHECKPOINT_NOTE_BYTES
    )
    if not any(s.verifier is log_verifier for s in signatures):
        raise VerificationError(
            f"the checkpoint is not signed by the log key {log_verifier.name}"
            f"+{log_verifier.key_id.hex()}"
        )
    checkpoint = Checkpoint.parse(text)
    if checkpoint.origin != expected:
        raise VerificationError(
            f"the checkpoint is for log {checkpoint.origin[:200]!r}, not for {expected[:200]!r}"
        )
    limit = int(now.timestamp()) + int(skew.total_seconds())
    counted: set[str] = set()
    future: list[str] = []
    for sig in signatures:
        if not isinstance(sig.verifier, CosignatureVerifier):
            continue
        if CosignatureVerifier.timestamp(sig.signature) > limit:
            future.append(sig.name)
            continue
        counted.add(sig.name)
    if len(counted) < quorum:
        detail = (
            f"; not counted, timestamp in the future: {', '.join(sorted(future))}" if future else ""
        )
        raise VerificationError(
            f"the checkpoint has valid cosignatures from {len(counted)} trusted witness(es); "
            f"{quorum} are required{detail}",
            hint="obtain cosignatures from more of the trusted witnesses",
        )
    return checkpoint


# -- the witness ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """The latest checkpoint a witness cosigned for one log."""

    checkpoint: Checkpoint
    note: str
    """The signed checkpoint note as the witness received it."""
    cosigned_at: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    """A refused checkpoint kept as evidence of possible log misbehaviour."""

    id: int
    origin: str
    kind: EvidenceKind
    detected_at: datetime
    previous: Checkpoint
    """The latest checkpoint the witness had cosigned."""
    previous_note: str
    submitted: Checkpoint
    """The checkpoint that was refused."""
    submitted_note: str
    proof: tuple[bytes, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class _Refusal:
    message: str
    kind: EvidenceKind | None = None


def _check_proof(proof: object) -> list[bytes]:
    if isinstance(proof, str | bytes) or not isinstance(proof, Sequence):
        raise MalformedInputError("a consistency proof is a list of 32-byte hashes")
    if len(proof) > MAX_PROOF_HASHES:
        raise OversizedInputError(
            f"the consistency proof has {len(proof)} hashes; the limit is {MAX_PROOF_HASHES}"
        )
    hashes: list[bytes] = []
    for item in proof:
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise MalformedInputError(
                f"every consistency proof hash must be {HASH_SIZE} bytes (SHA-256)"
            )
        hashes.append(item)
    return hashes


class Witness:
    """A witness that cosigns checkpoints of the logs it follows, with state in a Store.

    *name* is the witness's key name (a schema-less URL such as
    ``oversight.xa.example/witness``); *key* its Ed25519 key. One key must
    serve one cosigner only: the cosigned message does not name the cosigner
    (tlog-cosignature §"Ed25519 signed message"). An agency may witness with
    its registered signing key: its JWS signing inputs never contain a
    newline, :func:`~safeshare.audit.note.sign_note` never signs a text that
    starts with ``cosignature/v1`` and note verification refuses one, so no
    signature of one kind passes as another. Several :class:`Witness`
    objects (threads, processes) may share one database; each
    check-and-update is atomic.
    """

    __slots__ = ("_key", "_name", "_store", "_verifier")

    def __init__(self, store: Store, name: str, key: SigningKey) -> None:
        if not isinstance(store, Store):
            raise UsageError("Witness() takes a safeshare.storage.Store")
        if not isinstance(key, SigningKey):
            raise UsageError("Witness() takes a safeshare.keys.SigningKey")
        self._verifier = CosignatureVerifier(name, key.public)
        store.ensure_schema(WITNESS_SCHEMA)
        self._store = store
        self._name = name
        self._key = key

    @property
    def name(self) -> str:
        return self._name

    @property
    def verifier(self) -> CosignatureVerifier:
        """What clients configure to trust this witness."""
        return self._verifier

    @property
    def vkey(self) -> str:
        """The witness's verifier key string (type 0x04)."""
        return self._verifier.vkey

    def __repr__(self) -> str:
        return f"Witness({self._name!r}, store={self._store!r})"

    # -- cosigning -------------------------------------------------------------

    def cosign(
        self,
        signed_checkpoint: str | bytes,
        consistency_proof: Sequence[bytes],
        *,
        log_verifier: NoteVerifier,
        now: datetime | None = None,
    ) -> str:
        """Check and cosign a checkpoint; return the cosignature line to append.

        *log_verifier* is the key the caller trusts for the log; the
        checkpoint's origin must be its name. *consistency_proof* proves that
        the checkpoint extends the latest one this witness cosigned for the
        origin (empty on first sight). See the module docstring for the
        checks. Raises :class:`MalformedInputError`,
        :class:`VerificationError` (not signed by the log) or
        :class:`AuditIntegrityError` (rollback, fork, bad proof; the first
        three are kept, see :meth:`evidence`). Returns only after the new
        state is committed.
        """
        now = resolve_now(now)
        timestamp = _check_timestamp(int(now.timestamp()), UsageError)
        if not isinstance(log_verifier, NoteVerifier):
            raise UsageError("cosign() takes the log's NoteVerifier as log_verifier")
        proof = _check_proof(consistency_proof)
        if isinstance(signed_checkpoint, bytes):
            try:
                note = signed_checkpoint.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedInputError("a signed checkpoint must be UTF-8 text") from None
        else:
            note = signed_checkpoint
        checkpoint = verify_checkpoint(note, log_verifier)
        with self._store.transaction(write=True) as cur:
            refusal = self._check_and_update(cur, checkpoint, note, proof, timestamp)
        if refusal is not None:
            raise AuditIntegrityError(
                refusal.message,
                hint=None
                if refusal.kind is None
                else "the refused checkpoint is kept as evidence: Witness.evidence()",
            )
        return sign_cosignature(checkpoint.body(), self._name, self._key, timestamp=timestamp)

    def _check_and_update(
        self,
        cur: Cursor,
        checkpoint: Checkpoint,
        note: str,
        proof: list[bytes],
        timestamp: int,
    ) -> _Refusal | None:
        """Decide, and update the state or record evidence, in one write transaction.

        The store's write transactions serialize (SQLite ``BEGIN IMMEDIATE``,
        PostgreSQL's write lock), so the state read here cannot change before
        the commit. The update is a compare-and-set all the same: should it
        ever find the row changed, it fails closed (nothing is cosigned).
        """
        origin = checkpoint.origin
        rows = cur.execute(
            "SELECT size, root_hash, body, checkpoint FROM safeshare_witness_state "
            "WHERE witness = ? AND origin = ?",
            (self._name, origin),
        )
        if not rows:
            if proof:
                return _Refusal(
                    f"this witness has not cosigned any checkpoint of {origin!r} yet: the "
                    "consistency proof must be empty (tlog-witness: old size 0)"
                )
            cur.execute(
                "INSERT INTO safeshare_witness_state "
                "(witness, origin, size, root_hash, body, checkpoint, cosigned_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (witness, origin) DO NOTHING",
                (
                    self._name,
                    origin,
                    checkpoint.size,
                    checkpoint.root_hash,
                    checkpoint.body(),
                    note,
                    timestamp,
                ),
            )
            _check_swapped(cur, origin)
            return None
        old_size, old_root = int(rows[0][0]), bytes(rows[0][1])
        old_body, old_note = str(rows[0][2]), str(rows[0][3])
        previous = Checkpoint.parse(old_body)

        def evidence(kind: EvidenceKind, message: str) -> _Refusal:
            _record_evidence(
                cur,
                witness=self._name,
                kind=kind,
                previous=(previous, old_note),
                submitted=(checkpoint, note),
                proof=proof,
                detail=message,
                timestamp=timestamp,
            )
            return _Refusal(message, kind)

        if checkpoint.size < old_size:
            return evidence(
                "rollback",
                f"rollback: log {origin!r} presented a checkpoint of size {checkpoint.size}, "
                f"but this witness already cosigned size {old_size}",
            )
        if checkpoint.size == old_size:
            if checkpoint.root_hash != old_root:
                return evidence(
                    "fork",
                    f"fork: log {origin!r} signed two different root hashes for tree size "
                    f"{old_size} ({old_root.hex()} cosigned earlier, "
                    f"{checkpoint.root_hash.hex()} now)",
                )
            if proof:
                return _Refusal("a consistency proof between equal tree sizes must be empty")
            return None  # the same checkpoint again: cosign it again
        if old_size == 0:
            if proof:
                return _Refusal(
                    "the consistency proof from an empty tree must be empty (tlog-witness)"
                )
        else:
            try:
                verify_consistency(old_size, checkpoint.size, proof, old_root, checkpoint.root_hash)
            except SafeShareError as exc:
                return evidence(
                    "inconsistent",
                    f"the consistency proof from size {old_size} to {checkpoint.size} of log "
                    f"{origin!r} does not verify: {exc.message}",
                )
        cur.execute(
            "UPDATE safeshare_witness_state SET size = ?, root_hash = ?, body = ?, "
            "checkpoint = ?, cosigned_at = ? "
            "WHERE witness = ? AND origin = ? AND size = ? AND root_hash = ?",
            (
                checkpoint.size,
                checkpoint.root_hash,
                checkpoint.body(),
                note,
                timestamp,
                self._name,
                origin,
                old_size,
                old_root,
            ),
        )
        _check_swapped(cur, origin)
        return None

    # -- reading ---------------------------------------------------------------

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        """The latest checkpoint cosigned for *origin*, or ``None`` if none was."""
        if not isinstance(origin, str):
            raise UsageError("origin must be a string")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(
                "SELECT body, checkpoint, cosigned_at FROM safeshare_witness_state "
                "WHERE witness = ? AND origin = ?",
                (self._name, origin),
            )
        if not rows:
            return None
        body, note, cosigned_at = rows[0]
        return WitnessedCheckpoint(
            checkpoint=Checkpoint.parse(str(body)),
            note=str(note),
            cosigned_at=from_unix(int(cosigned_at)),
        )

    def evidence(self, origin: str | None = None, *, limit: int = 1000) -> list[Evidence]:
        """Checkpoints this witness refused and kept as evidence, oldest first.

        With *origin*, only those of that log; at most *limit* records.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UsageError("limit must be a positive integer")
        columns = (
            "SELECT id, origin, kind, detected_at, previous_body, previous_checkpoint, "
            "submitted_body, submitted_checkpoint, proof, detail FROM safeshare_witness_evidence"
        )
        with self._store.transaction(write=False) as cur:
            if origin is None:
                rows = cur.execute(
                    f"{columns} WHERE witness = ? ORDER BY id LIMIT ?", (self._name, limit)
                )
            else:
                rows = cur.execute(
                    f"{columns} WHERE witness = ? AND origin = ? ORDER BY id LIMIT ?",
                    (self._name, origin, limit),
                )
        return [_evidence_from_row(row) for row in rows]


def _check_swapped(cur: Cursor, origin: str) -> None:
    if cur.rowcount != 1:
        raise StorageError(
            f"the witness state of {origin[:200]!r} changed during the check; nothing was "
            "cosigned (the storage back end did not serialize write transactions)",
            hint="retry the request",
        )


def _record_evidence(
    cur: Cursor,
    *,
    witness: str,
    kind: EvidenceKind,
    previous: tuple[Checkpoint, str],
    submitted: tuple[Checkpoint, str],
    proof: list[bytes],
    detail: str,
    timestamp: int,
) -> None:
    """Insert one evidence row; the same (witness, kind, checkpoint pair) is kept once."""
    (prev_cp, prev_note), (sub_cp, sub_note) = previous, submitted
    digest = hashlib.sha256(
        f"{witness}\n{kind}\n{prev_cp.body()}\n{sub_cp.body()}".encode()
    ).hexdigest()
    cur.execute(
        "INSERT INTO safeshare_witness_evidence (digest, witness, origin, kind, detected_at, "
        "previous_body, previous_checkpoint, submitted_body, submitted_checkpoint, proof, "
        "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        (
            digest,
            witness,
            sub_cp.origin,
            kind,
            timestamp,
            prev_cp.body(),
            prev_note,
            sub_cp.body(),
            sub_note,
            "".join(b64std_encode(h) + "\n" for h in proof),
            detail,
        ),
    )


def _evidence_from_row(row: Row) -> Evidence:
    (id_, origin, kind, detected_at, prev_body, prev_note, sub_body, sub_note, proof, detail) = row
    if kind not in ("fork", "rollback", "inconsistent"):
        raise StorageError(f"witness evidence row {id_} has an unknown kind {kind!r}")
    hashes = tuple(
        b64std_decode(line, what="stored proof hash") for line in str(proof).splitlines()
    )
    return Evidence(
        id=int(id_),
        origin=str(origin),
        kind=kind,
        detected_at=from_unix(int(detected_at)),
        previous=Checkpoint.parse(str(prev_body)),
        previous_note=str(prev_note),
        submitted=Checkpoint.parse(str(sub_body)),
        submitted_note=str(sub_note),
        proof=hashes,
        detail=str(detail),
    )
