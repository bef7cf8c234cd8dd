"""Signed receipts: non-repudiation of receipt for an opened envelope.

When a recipient agency opens an envelope, it records the opening in its
audit log and can return a **receipt** to the sender: a compact JWS (RFC 7515
section 7.1) signed with the recipient's registered Ed25519 key that says
"agency ``iss`` opened the envelope ``envelope_jti`` from ``aud``, whose
signed content has SHA-256 ``envelope_digest``, at ``iat``, and recorded it
at index ``log_index`` of its audit log, covered by this signed
``checkpoint``". The sender verifies it with :func:`verify_receipt` and
records it in its own log. Neither side can later deny the exchange: the
sender holds the recipient's signature, the recipient's log holds the entry,
and the checkpoint commits the recipient's log to that entry (witnesses can
cosign the same checkpoint; an inclusion proof can be checked against it).

Format
------
Protected header: exactly ``{"alg": "Ed25519", "kid": <RFC 7638 thumbprint of
the recipient's signing key>, "typ": "safeshare-receipt+jwt"}``; the usual
profile rules apply (no ``crit``, ``zip``, embedded keys; see
:mod:`safeshare._jose.headers`). Payload (a JSON object; unknown members are
rejected):

=================== ==========================================================
``iss``             recipient agency id (who signs the receipt)
``aud``             sender agency id (the envelope's ``iss``)
``iat``             when the receipt was issued (NumericDate)
``envelope_jti``    the envelope's ``jti``
``envelope_digest`` lower-case hex SHA-256 of the issuer-signed JWT, as the
                    recipient computed it (:attr:`OpenedEnvelope.digest`)
``log_index``       index of the recipient's audit log entry for the opening
``checkpoint``      the recipient log's signed checkpoint note (C2SP
                    tlog-checkpoint) whose tree covers ``log_index``
=================== ==========================================================

The checkpoint's origin follows the safeshare convention
(:func:`~safeshare.audit.checkpoint.agency_log_origin`,
``<network>/<iss>/audit``) and it is signed, under a key name equal to the
origin, by a signing key the registry lists for ``iss`` and that is valid at
``iat``.

Recording
---------
:func:`receipt_for_open` is the recipient's convenience: it checks that
``log_index`` is the log's ``open`` entry of this envelope, signs a
checkpoint of its log (:meth:`~safeshare.audit.log.AuditLog.sign_checkpoint`),
which then covers the entry, and issues the receipt. :func:`record_receipt`
is the sender's: it verifies the receipt and records it in the sender's log
as a ``receipt`` entry (the recipient as counterparty, the envelope's ``jti``
and digest, the recipient's log index and checkpoint size in the reason); a
refused receipt is recorded as ``deny`` before the error is raised.

Verification order: size cap, structure, strict claims, key resolution from
the registry by (``iss``, ``kid``) at ``iat`` (unknown, revoked, expired key
or suspended agency are refused with the registry's typed errors), signature,
then the bindings (audience, digest, optional ``jti`` and recipient), time,
checkpoint signature and coverage, and an optional inclusion proof.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

import msgspec

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare._internal.clock import from_unix, resolve_now, to_unix
from safeshare._jose import jws
from safeshare.audit.checkpoint import (
    MAX_CHECKPOINT_NOTE_BYTES,
    Checkpoint,
    agency_of_log_origin,
)
from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.merkle import verify_inclusion
from safeshare.audit.note import NoteVerifier, open_note
from safeshare.audit.recorder import AccessRecorder
from safeshare.envelope import OpenedEnvelope
from safeshare.envelope._profile import AgencyIdStr, Jti, NumericDate
from safeshare.errors import (
    KeyRegistryError,
    MalformedInputError,
    NotYetValidError,
    OversizedInputError,
    SafeShareError,
    UsageError,
    ValidityError,
    VerificationError,
)
from safeshare.keys import AgencyKeySet, VerifyKey
from safeshare.registry import TrustRegistry

__all__ = [
    "DEFAULT_SKEW",
    "MAX_RECEIPT_BYTES",
    "RECEIPT_TYP",
    "Receipt",
    "ReceiptClaims",
    "issue_receipt",
    "receipt_for_open",
    "record_receipt",
    "verify_receipt",
]

#: ``typ`` of a receipt (RFC 7515 section 4.1.9; RFC 8725 section 3.11).
RECEIPT_TYP: Final = "safeshare-receipt+jwt"
#: Largest receipt accepted (characters of the compact serialization).
MAX_RECEIPT_BYTES: Final = 128 * 1024
#: Tolerance for a receipt issued slightly "in the future" by the recipient's clock.
DEFAULT_SKEW: Final = timedelta(minutes=5)
#: Largest log index (I-JSON integers, RFC 7493 section 2.2).
MAX_LOG_INDEX: Final = 2**53 - 1

HexDigest = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
LogIndex = Annotated[int, msgspec.Meta(ge=0, le=MAX_LOG_INDEX)]
CheckpointNote = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHECKPOINT_NOTE_BYTES)]


class ReceiptClaims(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The payload of a receipt. Every member is required; no other is allowed."""

    iss: AgencyIdStr
    aud: AgencyIdStr
    iat: NumericDate
    envelope_jti: Jti
    envelope_digest: HexDigest
    log_index: LogIndex
    checkpoint: CheckpointNote


@dataclass(frozen=True, slots=True)
class Receipt:
    """A verified receipt. Only exists if every check passed."""

    issuer: str
    """The recipient agency that opened the envelope and signed the receipt."""
    audience: str
    """The sender agency the receipt is for."""
    issued_at: datetime
    envelope_jti: str
    envelope_digest: str
    log_index: int
    checkpoint: Checkpoint
    """The recipient log's checkpoint covering ``log_index`` (signature verified)."""
    checkpoint_note: str
    kid: str
    """The recipient's signing key that signed the receipt."""
    token: str
    """The receipt itself, to record."""


def _checkpoint_origin(note: str) -> tuple[str, str]:
    """The origin of a checkpoint note and its agency, by the safeshare convention."""
    origin = note.split("\n", 1)[0]
    parsed = agency_of_log_origin(origin)
    if parsed is None:
        raise MalformedInputError(
            f"the receipt's checkpoint origin {origin[:100]!r} is not a safeshare audit log "
            "origin (<network>/<agency id>/audit)"
        )
    return origin, parsed[1]


def _open_checkpoint(note: str, origin: str, keys: Sequence[VerifyKey]) -> Checkpoint:
    """Verify the checkpoint note with any of *keys* under the key name *origin*."""
    text, _ = open_note(
        note,
        [NoteVerifier(origin, key) for key in dict.fromkeys(keys)],
        max_bytes=MAX_CHECKPOINT_NOTE_BYTES,
    )
    checkpoint = Checkpoint.parse(text)
    if checkpoint.origin != origin:
        raise VerificationError(
            f"the checkpoint's origin {checkpoint.origin[:100]!r} is not its key name {origin!r}"
        )
    return checkpoint


def issue_receipt(
    opened: OpenedEnvelope,
    *,
    recipient: AgencyKeySet,
    log_index: int,
    checkpoint: str,
    now: datetime | None = None,
) -> str:
    """Sign a receipt for *opened*, which *recipient* logged at *log_index*.

    *checkpoint* is the recipient log's signed checkpoint note covering
    *log_index* (its tree size is larger than the index); it is checked
    against the recipient's own signing keys before anything is signed.
    Returns the compact JWS.
    """
    if not isinstance(opened, OpenedEnvelope):
        raise UsageError("issue_receipt() takes the OpenedEnvelope returned by open_envelope()")
    if not isinstance(recipient, AgencyKeySet):
        raise UsageError("issue_receipt() takes the recipient's AgencyKeySet")
    if opened.recipient != recipient.agency:
        raise UsageError(
            f"the envelope was opened by {opened.recipient}, not by {recipient.agency}"
        )
    if isinstance(log_index, bool) or not isinstance(log_index, int):
        raise UsageError("log_index must be an integer")
    if not 0 <= log_index <= MAX_LOG_INDEX:
        raise UsageError(f"log_index must be between 0 and {MAX_LOG_INDEX}")
    if not isinstance(checkpoint, str):
        raise UsageError("checkpoint must be the signed checkpoint note text")
    origin, agency = _checkpoint_origin(checkpoint)
    if agency != recipient.agency:
        raise UsageError(f"the checkpoint is of the log of {agency}, not of {recipient.agency}")
    cp = _open_checkpoint(checkpoint, origin, [k.public for k in recipient.signing_keys])
    if log_index >= cp.size:
        raise UsageError(
            f"the checkpoint (tree size {cp.size}) does not cover log index {log_index}; "
            "use a checkpoint signed after the entry was appended"
        )
    claims = ReceiptClaims(
        iss=recipient.agency,
        aud=opened.issuer,
        iat=to_unix(resolve_now(now)),
        envelope_jti=opened.jti,
        envelope_digest=opened.digest,
        log_index=log_index,
        checkpoint=checkpoint,
    )
    payload = strictjson.dumps(msgspec.to_builtins(claims))
    return jws.sign_compact({"typ": RECEIPT_TYP}, payload, recipient.signing_key)


def verify_receipt(
    token: str,
    *,
    registry: TrustRegistry,
    expected_sender: str,
    expected_digest: str,
    now: datetime | None = None,
    expected_jti: str | None = None,
    expected_recipient: str | None = None,
    leaf_hash: bytes | None = None,
    inclusion_proof: Sequence[bytes] | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> Receipt:
    """Verify a receipt a recipient returned to us, the sender *expected_sender*.

    *expected_digest* is the digest of the envelope we sealed (hex SHA-256 of
    its issuer-signed JWT); *expected_jti* and *expected_recipient*, if
    given, must match too. With *leaf_hash* and *inclusion_proof*, the
    recipient's log entry is also proven to be at ``log_index`` in the
    checkpoint's tree (RFC 9162 section 2.1.3.2).

    Raises :class:`MalformedInputError` (structure, claims),
    :class:`~safeshare.errors.KeyRegistryError` subclasses (unknown, revoked
    or not yet valid key, suspended agency), :class:`VerificationError`
    (signature, audience, digest, jti, recipient, checkpoint),
    :class:`NotYetValidError` (issued in the future) or
    :class:`~safeshare.errors.AuditIntegrityError` (inclusion proof).
    """
    now = resolve_now(now)
    if skew < timedelta(0) or skew > timedelta(hours=1):
        raise UsageError("skew must be between 0 and 1 hour")
    if not isinstance(expected_sender, str) or not isinstance(expected_digest, str):
        raise UsageError("expected_sender and expected_digest must be strings")
    if (leaf_hash is None) != (inclusion_proof is None):
        raise UsageError("give leaf_hash and inclusion_proof together, or neither")
    if not isinstance(token, str):
        raise MalformedInputError("a receipt is a compact JWS string")
    if len(token) > MAX_RECEIPT_BYTES:
        raise OversizedInputError(
            f"the receipt is {len(token)} characters; the limit is {MAX_RECEIPT_BYTES}"
        )
    if not token.isascii():
        raise MalformedInputError("a receipt is ASCII (a compact JWS)")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedInputError("a receipt is a compact JWS: three parts separated by '.'")
    protected_b64, payload_b64, signature_b64 = parts
    payload = strictjson.loads(
        b64u_decode(payload_b64, what="receipt payload"),
        what="receipt payload",
        max_bytes=MAX_RECEIPT_BYTES,
    )
    try:
        claims = msgspec.convert(payload, ReceiptClaims)
    except msgspec.ValidationError as exc:
        raise MalformedInputError(f"the receipt claims do not match the profile: {exc}") from None
    issued_at = from_unix(claims.iat)

    def recipient_key(kid: str, _header: dict[str, Any]) -> VerifyKey:
        return registry.verify_key(claims.iss, kid, at=issued_at)

    header, _ = jws.verify_parts(
        protected_b64,
        payload_b64,
        signature_b64,
        what="receipt",
        typ=RECEIPT_TYP,
        resolve_key=recipient_key,
    )

    # -- the signature is good; now check what it says ---------------------
    if claims.aud != expected_sender:
        raise VerificationError(
            f"this receipt is addressed to {claims.aud}, not to {expected_sender[:64]}"
        )
    if not hmac.compare_digest(claims.envelope_digest, expected_digest):
        raise VerificationError(
            "the receipt is for different envelope content: its envelope_digest is not the "
            "digest of the envelope we sealed"
        )
    if expected_jti is not None and claims.envelope_jti != expected_jti:
        raise VerificationError(
            f"the receipt is for envelope {claims.envelope_jti}, not for {expected_jti[:64]}"
        )
    if expected_recipient is not None and claims.iss != expected_recipient:
        raise VerificationError(
            f"the receipt is signed by {claims.iss}, not by {expected_recipient[:64]}"
        )
    if issued_at > now + skew:
        raise NotYetValidError(
            f"the receipt is issued at {issued_at.isoformat()}, in the future; "
            "check the clocks of both agencies"
        )

    origin, agency = _checkpoint_origin(claims.checkpoint)
    if agency != claims.iss:
        raise VerificationError(
            f"the receipt's checkpoint is of the log of {agency}, not of the signer {claims.iss}"
        )
    keys: list[VerifyKey] = []
    for entry in registry.agency(claims.iss).keys:
        if entry.use != "sig":
            continue
        try:
            keys.append(registry.verify_key(claims.iss, entry.kid, at=issued_at))
        except KeyRegistryError:
            continue
    checkpoint = _open_checkpoint(claims.checkpoint, origin, keys)
    if claims.log_index >= checkpoint.size:
        raise VerificationError(
            f"the receipt's checkpoint (tree size {checkpoint.size}) does not cover its log "
            f"index {claims.log_index}"
        )
    if leaf_hash is not None and inclusion_proof is not None:
        verify_inclusion(
            leaf_hash, claims.log_index, checkpoint.size, inclusion_proof, checkpoint.root_hash
        )
    return Receipt(
        issuer=claims.iss,
        audience=claims.aud,
        issued_at=issued_at,
        envelope_jti=claims.envelope_jti,
        envelope_digest=claims.envelope_digest,
        log_index=claims.log_index,
        checkpoint=checkpoint,
        checkpoint_note=claims.checkpoint,
        kid=str(header["kid"]),
        token=token,
    )


# -- recording ------------------------------------------------------------------------------

#: Errors that mean "this receipt is refused" (recorded as ``deny``); others are faults.
_REFUSALS: Final = (MalformedInputError, VerificationError, ValidityError, KeyRegistryError)


def receipt_for_open(
    opened: OpenedEnvelope,
    *,
    recipient_keys: AgencyKeySet,
    log: AuditLog,
    log_index: int,
    now: datetime | None = None,
) -> str:
    """The recipient's receipt for *opened*, recorded at *log_index* of its *log*.

    Checks that entry *log_index* is the ``open`` of this envelope by this
    agency (:class:`~safeshare.errors.UsageError` otherwise), signs a
    checkpoint of *log* with the agency's current signing key (it covers the
    entry: the entry is already in the log), and issues the receipt
    (:func:`issue_receipt`) carrying that checkpoint.
    """
    if not isinstance(log, AuditLog):
        raise UsageError("receipt_for_open() takes the recipient's AuditLog")
    if not isinstance(opened, OpenedEnvelope):
        raise UsageError("receipt_for_open() takes the OpenedEnvelope returned by open_envelope()")
    if not isinstance(recipient_keys, AgencyKeySet):
        raise UsageError("receipt_for_open() takes the recipient's AgencyKeySet")
    if isinstance(log_index, bool) or not isinstance(log_index, int) or log_index < 0:
        raise UsageError("log_index must be a non-negative integer")
    if log_index >= log.size():
        raise UsageError(f"the audit log has no entry {log_index} (it holds {log.size()})")
    entry = log.entry(log_index)
    if (
        entry.action != "open"
        or entry.outcome != "success"
        or entry.agency != recipient_keys.agency
        or entry.jti != opened.jti
        or entry.envelope_digest != opened.digest
    ):
        raise UsageError(
            f"entry {log_index} of the audit log is not the opening of envelope {opened.jti} "
            f"by {recipient_keys.agency} (it records {entry.action!r} of {entry.jti!r})"
        )
    checkpoint = log.sign_checkpoint(None, recipient_keys.signing_key, now=now)
    return issue_receipt(
        opened, recipient=recipient_keys, log_index=log_index, checkpoint=checkpoint, now=now
    )


_HEX: Final = re.compile(r"[0-9a-f]{64}")
_AGENCY: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")


def _reason(text: str) -> str:
    text = "".join("?" if not ch.isprintable() else ch for ch in text)
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 3] + "..."


def _claimed(token: object) -> ReceiptClaims | None:
    """The claims a receipt makes, unverified (metadata of a denial), or None."""
    try:
        if not isinstance(token, str) or len(token) > MAX_RECEIPT_BYTES:
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        payload = strictjson.loads(
            b64u_decode(parts[1], what="receipt payload"),
            what="receipt payload",
            max_bytes=MAX_RECEIPT_BYTES,
        )
        return msgspec.convert(payload, ReceiptClaims)
    except (SafeShareError, msgspec.ValidationError):
        return None


def record_receipt(
    token: str,
    *,
    registry: TrustRegistry,
    expected_sender: str,
    expected_digest: str,
    recorder: AccessRecorder,
    actor: str,
    now: datetime | None = None,
    expected_jti: str | None = None,
    expected_recipient: str | None = None,
) -> Receipt:
    """The sender verifies a receipt (:func:`verify_receipt`) and records it; return it.

    On success a ``receipt``/``success`` entry of *expected_sender* (our
    agency) is recorded through *recorder* before this returns: the
    recipient as counterparty, the envelope's ``jti`` and digest, and in the
    reason the recipient's log index and checkpoint (origin and size). A
    refused receipt is recorded as ``deny``/``denied`` (with the digest we
    expected and what the receipt claims, unverified, of its signer and
    envelope), then the verification error is raised; if recording fails,
    the recorder's error is raised instead, chained to it.
    """
    if not callable(getattr(recorder, "record", None)):
        raise UsageError("recorder must be an AccessRecorder (e.g. AuditLogRecorder(log))")
    if not isinstance(actor, str) or not actor:
        raise UsageError("actor must name the officer or system that records the receipt")
    if (
        not isinstance(expected_sender, str)
        or agency_of_log_origin(f"x/{expected_sender}/audit") is None
    ):
        raise UsageError("expected_sender must be our agency id, such as XA-NPOL")
    if not isinstance(expected_digest, str) or not _HEX.fullmatch(expected_digest):
        raise UsageError("expected_digest must be the lower-case hex SHA-256 of our envelope")
    now = resolve_now(now)
    try:
        receipt = verify_receipt(
            token,
            registry=registry,
            expected_sender=expected_sender,
            expected_digest=expected_digest,
            now=now,
            expected_jti=expected_jti,
            expected_recipient=expected_recipient,
        )
    except _REFUSALS as exc:
        claims = _claimed(token)
        denial = AuditEntry(
            action="deny",
            time=to_unix(now),
            actor=actor,
            agency=expected_sender,
            counterparty=None if claims is None else claims.iss,
            jti=None if claims is None else claims.envelope_jti,
            envelope_digest=expected_digest,
            outcome="denied",
            reason=_reason(f"receipt refused: {exc.message}"),
        )
        try:
            recorder.record(denial)
        except SafeShareError as record_error:
            raise record_error from exc
        raise
    recorder.record(
        AuditEntry(
            action="receipt",
            time=to_unix(now),
            actor=actor,
            agency=expected_sender,
            counterparty=receipt.issuer,
            jti=receipt.envelope_jti,
            envelope_digest=receipt.envelope_digest,
            outcome="success",
            reason=_reason(
                f"receipt of {receipt.issuer}: opened at {receipt.issued_at.isoformat()}, "
                f"entry {receipt.log_index} of {receipt.checkpoint.origin} "
                f"(checkpoint size {receipt.checkpoint.size})"
            ),
        )
    )
    return receipt
