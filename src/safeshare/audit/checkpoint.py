"""C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is a signed note (:mod:`safeshare.audit.note`) whose text is
exactly (tlog-checkpoint §"Note text")::

    <origin>
    <tree size, ASCII decimal, no leading zeroes>
    <root hash, standard base64 of the 32-byte RFC 6962 / RFC 9162 root>
    [<extension line>...]

:meth:`Checkpoint.parse` accepts only that: at least three non-empty lines,
each ending in a newline; an origin without control characters; a size in
canonical decimal (``0`` or ``[1-9][0-9]*``, at most ``2**63 - 1``); a root
hash of exactly 32 bytes in canonical padded base64; non-empty extension
lines. For an empty tree (size 0) the root must be ``SHA-256("")``, the
RFC 9162 section 2.1.1 hash of an empty list.

Origins of safeshare audit logs
-------------------------------
The origin names the log, not its operator's server (tlog-checkpoint
§"Note text": a schema-less URL that need not be reachable). A safeshare
agency's audit log has the origin::

    <network>/<agency id>/audit

where ``<network>`` is the host-name-like name of the safeshare network
(deployment) that the trust registry describes, for example
``safeshare.example``, and ``<agency id>`` is the agency's id in that
registry (``XA-NPOL``): ``safeshare.example/XA-NPOL/audit``. Build and read
origins with :func:`agency_log_origin` and :func:`agency_of_log_origin`.

The log signs its checkpoints with the agency's registered Ed25519 signing
key, under a key name equal to the origin (tlog-checkpoint §"Signatures":
the key name SHOULD match the origin). So a verifier can build the
:class:`~safeshare.audit.note.NoteVerifier` from the registry alone:
``NoteVerifier(origin, registry.verify_key(agency, kid, at=...))``.
:func:`verify_checkpoint` requires the signature of the given verifier and,
unless told otherwise, that the origin equals the verifier's key name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from safeshare.audit.note import (
    MAX_NOTE_BYTES,
    NoteVerifier,
    b64std_decode,
    b64std_encode,
    open_note,
    sign_note,
)
from safeshare.errors import MalformedInputError, SafeShareError, UsageError, VerificationError
from safeshare.keys import SigningKey

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_CHECKPOINT_NOTE_BYTES",
    "MAX_EXTENSION_LINES",
    "MAX_ORIGIN_BYTES",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "agency_log_origin",
    "agency_of_log_origin",
    "sign_checkpoint",
    "verify_checkpoint",
]

#: Size of a root hash (SHA-256, RFC 6962 / RFC 9162).
HASH_SIZE: Final = 32
#: Root hash of the empty tree: SHA-256 of the empty string (RFC 9162 section 2.1.1).
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
#: Largest tree size (fits a signed 64-bit integer, as databases store it).
MAX_TREE_SIZE: Final = 2**63 - 1
#: Longest origin line accepted (bytes of UTF-8).
MAX_ORIGIN_BYTES: Final = 1024
#: Most extension lines accepted (their use is NOT RECOMMENDED by the spec).
MAX_EXTENSION_LINES: Final = 16
#: Largest signed checkpoint note accepted (100 signature lines fit comfortably).
MAX_CHECKPOINT_NOTE_BYTES: Final = min(MAX_NOTE_BYTES, 64 * 1024)
_MAX_LINE_BYTES: Final = 1024

_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")
_CONTROL: Final = re.compile(r"[\x00-\x1f]")
# <network>/<agency id>/audit; the agency id pattern is the registry's.
_AGENCY_ORIGIN: Final = re.compile(
    r"(?P<network>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)"
    r"/(?P<agency>[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4})/audit"
)


def agency_log_origin(agency_id: str, *, network: str) -> str:
    """The origin of *agency_id*'s audit log in *network*: ``<network>/<agency>/audit``."""
    origin = f"{network}/{agency_id}/audit"
    if not isinstance(network, str) or not isinstance(agency_id, str):
        raise UsageError("network and agency id must be strings")
    if _AGENCY_ORIGIN.fullmatch(origin) is None:
        raise UsageError(
            f"{origin[:200]!r} is not a safeshare log origin: the network must be a lower-case "
            "host name (e.g. 'safeshare.example') and the agency id a registry id (e.g. 'XA-NPOL')"
        )
    return origin


def agency_of_log_origin(origin: str) -> tuple[str, str] | None:
    """``(network, agency id)`` if *origin* follows the safeshare convention, else ``None``."""
    match = _AGENCY_ORIGIN.fullmatch(origin) if isinstance(origin, str) else None
    if match is None:
        return None
    return match.group("network"), match.group("agency")


def _check_line(value: object, what: str, error: type[SafeShareError], limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise error(f"the checkpoint {what} must be a non-empty line of text")
    if "\n" in value or _CONTROL.search(value):
        raise error(f"the checkpoint {what} must not contain newlines or control characters")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"the checkpoint {what} must be valid Unicode") from None
    if len(encoded) > limit:
        raise error(f"the checkpoint {what} is {len(encoded)} bytes; the limit is {limit}")
    return value


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash (tlog-checkpoint §"Note text")."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _validate(self, UsageError)

    def body(self) -> str:
        """The note text: origin, size, base64 root hash, extension lines, each with a newline."""
        lines = [self.origin, str(self.size), b64std_encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly; raise :class:`MalformedInputError`."""
        if not isinstance(text, str):
            raise MalformedInputError("a checkpoint text must be a string")
        if len(text) > MAX_CHECKPOINT_NOTE_BYTES:
            raise MalformedInputError("the checkpoint text is too long")
        if not text.endswith("\n"):
            raise MalformedInputError("a checkpoint text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedInputError(
                "a checkpoint has at least three lines: origin, tree size, root hash"
            )
        origin, size_text, root_text, *extensions = lines
        _check_line(origin, "origin", MalformedInputError, MAX_ORIGIN_BYTES)
        if _DECIMAL.fullmatch(size_text) is None:
            raise MalformedInputError(
                f"the checkpoint tree size {size_text[:32]!r} is not an ASCII decimal number "
                "without leading zeroes"
            )
        if len(size_text) > 19:
            raise MalformedInputError(f"the checkpoint tree size exceeds {MAX_TREE_SIZE}")
        root = b64std_decode(root_text, what="the checkpoint root hash")
        try:
            return cls(origin, int(size_text), root, tuple(extensions))
        except UsageError as exc:
            raise MalformedInputError(exc.message) from None

    def __repr__(self) -> str:
        return (
            f"Checkpoint(origin={self.origin!r}, size={self.size}, "
            f"root_hash={self.root_hash.hex()}, extensions={self.extensions!r})"
        )


def _validate(cp: Checkpoint, error: type[SafeShareError]) -> None:
    _check_line(cp.origin, "origin", error, MAX_ORIGIN_BYTES)
    if isinstance(cp.size, bool) or not isinstance(cp.size, int):
        raise error("the checkpoint tree size must be an integer")
    if not 0 <= cp.size <= MAX_TREE_SIZE:
        raise error(f"the checkpoint tree size must be between 0 and {MAX_TREE_SIZE}")
    if not isinstance(cp.root_hash, bytes) or len(cp.root_hash) != HASH_SIZE:
        raise error(f"the checkpoint root hash must be {HASH_SIZE} bytes (SHA-256)")
    if cp.size == 0 and cp.root_hash != EMPTY_ROOT:
        raise error(
            "a checkpoint of an empty tree must have the root SHA-256('') (RFC 9162 section 2.1.1)"
        )
    if not isinstance(cp.extensions, tuple):
        raise error("checkpoint extensions must be a tuple of lines")
    if len(cp.extensions) > MAX_EXTENSION_LINES:
        raise error(f"a checkpoint has at most {MAX_EXTENSION_LINES} extension lines")
    for line in cp.extensions:
        _check_line(line, "extension line", error, _MAX_LINE_BYTES)


def sign_checkpoint(cp: Checkpoint, name: str, key: SigningKey) -> str:
    """Sign the checkpoint as a note by key *name*; return the signed note.

    Use the origin as *name* (tlog-checkpoint §"Signatures": the key name
    SHOULD match the origin); safeshare logs always do.
    """
    if not isinstance(cp, Checkpoint):
        raise UsageError("sign_checkpoint() takes a Checkpoint")
    return sign_note(cp.body(), name, key)


def verify_checkpoint(
    note_text: str | bytes,
    verifier: NoteVerifier,
    *,
    origin: str | None = None,
    max_bytes: int = MAX_CHECKPOINT_NOTE_BYTES,
) -> Checkpoint:
    """Verify a signed checkpoint with the log's key; return the checkpoint.

    The note must carry a valid signature by *verifier* (other signatures,
    such as witness cosignatures, are ignored), its text must be a
    well-formed checkpoint, and its origin must equal *origin* (default: the
    verifier's key name). Raises :class:`MalformedInputError`,
    :class:`VerificationError` (bad or missing log signature, other origin).
    """
    if not isinstance(verifier, NoteVerifier):
        raise UsageError("verify_checkpoint() takes the log's NoteVerifier")
    expected = verifier.name if origin is None else origin
    text, _ = open_note(note_text, [verifier], max_bytes=max_bytes)
    checkpoint = Checkpoint.parse(text)
    if checkpoint.origin != expected:
        raise VerificationError(
            f"the checkpoint is for log {checkpoint.origin[:200]!r}, not for {expected[:200]!r}"
        )
    return checkpoint
