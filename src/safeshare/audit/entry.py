"""Audit log entries: what happened, who did it, for which purpose; never the data.

An :class:`AuditEntry` records one action of an agency (sealing, delivering,
opening, denying, forwarding, consent, purging, notifications, receipts,
overrides, registry updates, checkpoints, re-identifications of pseudonyms,
data-subject lookups) as **metadata only**: the time, the actor, the
agencies involved, the envelope's ``jti`` and SHA-256 digest, the declared
purpose, the outcome and a short reason. An entry never holds record
content, and never a data subject's identifier in clear: ``subjects`` holds
blind-index tokens (keyed hashes, filled by the minimization issue), which let
an agency find every transfer about a person (Budapest Convention 2AP Art.
14.12) without the log revealing who that person is. Partners and oversight
bodies can therefore be shown the log, and proofs about it, without being
shown personal data.

The canonical byte encoding (:func:`encode`) is the data of the entry's leaf
in the Merkle tree (RFC 9162 section 2.1.1): compact msgspec JSON, the fields
always present, always in declaration order, no whitespace, UTF-8. One entry
has exactly one encoding; :func:`decode` accepts only that encoding (after a
strict parse that refuses duplicate member names, unknown fields, ``NaN``,
oversized input, ...), so the hash of a leaf determines the entry and the
entry determines the hash.

Every string field is checked when an entry is built *and* when one is
decoded (``__post_init__`` runs in both cases): bounded length, no control
characters (an audit report must not be forgeable by an embedded newline),
and for identifiers a fixed alphabet. Failures raise
:class:`~safeshare.errors.MalformedInputError` (or its subclass
:class:`~safeshare.errors.OversizedInputError`).
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

import msgspec

from safeshare._internal import strictjson
from safeshare.errors import MalformedInputError, OversizedInputError, UsageError

__all__ = [
    "ACTIONS",
    "MAX_ENTRY_BYTES",
    "MAX_REASON_LENGTH",
    "MAX_SUBJECTS",
    "OUTCOMES",
    "Action",
    "AuditEntry",
    "Outcome",
    "decode",
    "encode",
]

Action = Literal[
    "seal",
    "deliver",
    "open",
    "deny",
    "forward",
    "receive_forward",
    "consent_request",
    "consent_grant",
    "consent_refuse",
    "consent_revoke",
    "purge",
    "notify_breach",
    "notify_rectification",
    "receipt",
    "override",
    "registry_update",
    "checkpoint",
    "reidentify",
    "subject_lookup",
]
Outcome = Literal["success", "denied", "error"]

#: Every action an entry can record.
ACTIONS: Final[frozenset[str]] = frozenset(get_args(Action))
#: Every outcome an entry can record.
OUTCOMES: Final[frozenset[str]] = frozenset(get_args(Outcome))

#: Largest encoded entry accepted by :func:`decode`, in bytes.
MAX_ENTRY_BYTES: Final = 16 * 1024
#: Longest ``reason``, in characters.
MAX_REASON_LENGTH: Final = 1000
#: Longest ``actor``, in characters.
MAX_ACTOR_LENGTH: Final = 256
#: Most blind-index tokens in ``subjects``.
MAX_SUBJECTS: Final = 64
#: Largest ``time`` (I-JSON's exact-integer range, RFC 7493 section 2.2).
MAX_TIME: Final = 2**53 - 1

# Agency ids as in the trust registry: an ISO 3166-1 alpha-2 prefix and parts.
_AGENCY: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")
# Purpose codes as in the envelope profile.
_PURPOSE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
# Ids (jti of envelopes, consent tokens, receipts): printable ASCII, no space.
_JTI: Final = re.compile(r"[\x21-\x7e]{1,256}")
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
# Blind-index tokens: keyed hashes, base64url or hex.
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
# C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AuditEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One audit record: metadata about an action, never the data acted on.

    Fields (all keyword-only):

    * ``action``: what happened (see :data:`Action`);
    * ``time``: when, integer Unix seconds (``0 .. 2**53 - 1``);
    * ``actor``: the officer or system that acted (1-256 characters);
    * ``agency``: our own agency id (``XA-NPOL`` style, as in the registry);
    * ``counterparty``: the other agency, if any;
    * ``jti``: the envelope's (or consent token's, receipt's) id, if any;
    * ``envelope_digest``: lower-case hex SHA-256 of the envelope, if any;
    * ``purpose``: the purpose code declared or requested, if any;
    * ``outcome``: ``success``, ``denied`` or ``error``;
    * ``reason``: a short explanation (at most 1000 characters), if any;
      it must not quote record content;
    * ``subjects``: blind-index tokens of the data subjects concerned
      (keyed hashes, never identifiers in clear), empty by default.

    Instances are immutable. Building or decoding an entry checks every
    field and raises :class:`~safeshare.errors.MalformedInputError` on a bad
    one.
    """

    action: Action
    time: int
    actor: str
    agency: str
    counterparty: str | None = None
    jti: str | None = None
    envelope_digest: str | None = None
    purpose: str | None = None
    outcome: Outcome
    reason: str | None = None
    subjects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_entry(self)


def _check_entry(e: AuditEntry) -> None:
    if not isinstance(e.action, str) or e.action not in ACTIONS:
        raise MalformedInputError(
            f"audit entry action {_show(e.action)} is not one of {_list(ACTIONS)}"
        )
    if not isinstance(e.outcome, str) or e.outcome not in OUTCOMES:
        raise MalformedInputError(
            f"audit entry outcome {_show(e.outcome)} is not one of {_list(OUTCOMES)}"
        )
    if type(e.time) is not int:
        raise MalformedInputError("audit entry time must be an integer number of Unix seconds")
    if not 0 <= e.time <= MAX_TIME:
        raise MalformedInputError(f"audit entry time {e.time} is outside 0 .. 2**53 - 1")
    _check_text(e.actor, "actor", MAX_ACTOR_LENGTH)
    _check_pattern(e.agency, "agency", _AGENCY, "an agency id like XA-NPOL")
    if e.counterparty is not None:
        _check_pattern(e.counterparty, "counterparty", _AGENCY, "an agency id like XB-PROS")
    if e.jti is not None:
        _check_pattern(e.jti, "jti", _JTI, "1-256 printable ASCII characters without spaces")
    if e.envelope_digest is not None:
        _check_pattern(
            e.envelope_digest, "envelope_digest", _DIGEST, "64 lower-case hex digits (SHA-256)"
        )
    if e.purpose is not None:
        _check_pattern(e.purpose, "purpose", _PURPOSE, "a purpose code like investigation")
    if e.reason is not None:
        _check_text(e.reason, "reason", MAX_REASON_LENGTH)
    if not isinstance(e.subjects, tuple):
        raise MalformedInputError("audit entry subjects must be a tuple of blind-index tokens")
    if len(e.subjects) > MAX_SUBJECTS:
        raise OversizedInputError(
            f"audit entry has {len(e.subjects)} subjects; the limit is {MAX_SUBJECTS}"
        )
    for token in e.subjects:
        _check_pattern(
            token, "subject token", _TOKEN, "a blind-index token (16-128 base64url characters)"
        )
    if len(set(e.subjects)) != len(e.subjects):
        raise MalformedInputError("audit entry lists the same subject token twice")


def _check_text(value: object, name: str, limit: int) -> None:
    if not isinstance(value, str):
        raise MalformedInputError(f"audit entry {name} must be a string")
    if not value:
        raise MalformedInputError(f"audit entry {name} must not be empty")
    if len(value) > limit:
        raise OversizedInputError(
            f"audit entry {name} is {len(value)} characters long; the limit is {limit}"
        )
    if _CONTROL.search(value):
        raise MalformedInputError(f"audit entry {name} contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedInputError(
            f"audit entry {name} is not valid Unicode (lone surrogate)"
        ) from None


def _check_pattern(value: object, name: str, pattern: re.Pattern[str], shape: str) -> None:
    if not isinstance(value, str):
        raise MalformedInputError(f"audit entry {name} must be a string")
    if pattern.fullmatch(value) is None:
        raise MalformedInputError(f"audit entry {name} {_show(value)} is not {shape}")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _list(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


_encoder: Final = msgspec.json.Encoder()


def encode(entry: AuditEntry) -> bytes:
    """The canonical bytes of *entry*: the data of its Merkle leaf.

    Compact JSON, every field present (``null`` for absent ones), in the
    declaration order of :class:`AuditEntry`, no whitespace, UTF-8.
    """
    if not isinstance(entry, AuditEntry):
        raise UsageError("encode() takes an AuditEntry")
    data = _encoder.encode(entry)
    if len(data) > MAX_ENTRY_BYTES:  # pragma: no cover - the field limits keep entries smaller
        raise OversizedInputError(
            f"audit entry is {len(data)} bytes encoded; the limit is {MAX_ENTRY_BYTES}"
        )
    return data


def decode(data: bytes | bytearray | memoryview) -> AuditEntry:
    """Parse canonical entry bytes strictly; raise :class:`MalformedInputError`.

    Refuses (with :class:`~safeshare.errors.MalformedInputError`): input over
    :data:`MAX_ENTRY_BYTES`, invalid UTF-8 or JSON, duplicate member names,
    non-finite or out-of-range numbers, unknown or missing fields, wrong
    types, any field that fails the entry checks, and any encoding other
    than the canonical one (so one entry never has two leaf hashes).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError("decode() takes bytes")
    raw = bytes(data)
    value = strictjson.loads(raw, what="audit entry", max_bytes=MAX_ENTRY_BYTES)
    if not isinstance(value, dict):
        raise MalformedInputError("audit entry is not a JSON object")
    missing = [name for name in AuditEntry.__struct_fields__ if name not in value]
    if missing:
        raise MalformedInputError(
            f"audit entry lacks the field(s) {', '.join(missing)}; the canonical form has "
            "every field"
        )
    try:
        entry = msgspec.convert(value, AuditEntry, strict=True)
    except msgspec.ValidationError as exc:
        raise MalformedInputError(f"audit entry is not valid: {exc}") from None
    if _encoder.encode(entry) != raw:
        raise MalformedInputError(
            "audit entry is not in canonical form (compact JSON, every field in order, "
            "no whitespace, no escapes where none are needed)"
        )
    return entry
