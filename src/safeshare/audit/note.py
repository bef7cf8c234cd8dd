"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures.

A signed note is a text followed by a blank line and one or more signature
lines::

    <text, ending in a newline>
    <blank line>
    — <key name> <base64(4-byte key ID || signature)>
    ...

This module implements the specification exactly, and strictly:

* **Format** (signed-note §"Format"): the note is valid UTF-8 without ASCII
  control characters other than newline; the text ends in a newline and is
  separated from the signatures by the *last* blank line (the text itself may
  contain blank lines); every signature line is U+2014 EM DASH, a space, the
  key name, a space, and the standard (RFC 4648 section 4, padded) base64 of
  at least five bytes, then a newline. Key names are non-empty and contain no
  Unicode space and no ``+``. Anything else is a
  :class:`~safeshare.errors.MalformedInputError`, raised before any signature
  is checked. Base64 must be canonical (one encoding per byte string).
* **Caps**: a note is at most *max_bytes* (default :data:`MAX_NOTE_BYTES`)
  and carries at most *max_signatures* (default :data:`MAX_SIGNATURES`, the
  same limit as the Go reference implementation; the specification requires
  accepting at least 16) signature lines, else
  :class:`~safeshare.errors.OversizedInputError`.
* **Verification** (signed-note §"Signatures"): a signature is attributed to a
  known key only when *both* its key name and its key ID match; lines from
  unknown keys are ignored. Every line that matches a known key is verified,
  and a single failure rejects the whole note
  (:class:`~safeshare.errors.VerificationError`; the specification says
  clients SHOULD). A note without any verified signature by a known key is
  rejected with :class:`~safeshare.errors.VerificationError`.
* **Key IDs** (signed-note §"Signatures" and §"Ed25519 signatures"): the first
  four bytes of ``SHA-256(key name || 0x0A || signature type || public key)``,
  with signature type ``0x01`` for Ed25519 note signatures.
* **Verifier keys** (the ``vkey`` text encoding of the reference
  implementation, golang.org/x/mod/sumdb/note, referenced by
  tlog-cosignature §"Format"): ``<name>+<8 hex digits key ID>+<base64(type
  || public key)>``. :func:`parse_vkey` checks that the declared key ID is the
  one computed from the name, type and key.

Domain separation. An agency signs JWS objects and checkpoint notes with the
same Ed25519 key. A JWS signing input never contains a newline (RFC 7515
section 5.1: base64url and ``.``); a note text always ends in one, so neither
signature can be replayed as the other. :func:`sign_note` also refuses texts
that begin with the tlog-cosignature header line ``cosignature/v1``, so a key
that signs notes cannot be made to produce a witness cosignature.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol, Self, runtime_checkable

from safeshare.errors import (
    MalformedInputError,
    OversizedInputError,
    SafeShareError,
    UsageError,
    VerificationError,
)
from safeshare.keys import SigningKey, VerifyKey

__all__ = [
    "EM_DASH",
    "MAX_KEY_NAME_BYTES",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "SIG_TYPE_ED25519",
    "NoteVerifier",
    "SignatureVerifier",
    "VerifiedSignature",
    "VerifierKey",
    "add_signature_lines",
    "b64std_decode",
    "b64std_encode",
    "check_key_name",
    "compute_key_id",
    "format_vkey",
    "open_note",
    "parse_vkey",
    "sign_note",
    "signature_line",
]

#: U+2014 EM DASH, which starts every signature line (signed-note §"Format").
EM_DASH: Final = "\u2014"
_SIG_PREFIX: Final = EM_DASH + " "
#: Signature type byte of Ed25519 note signatures (signed-note §"Signature types").
SIG_TYPE_ED25519: Final = 0x01
#: Largest note accepted by :func:`open_note` by default (bytes of UTF-8).
MAX_NOTE_BYTES: Final = 1024 * 1024
#: Most signature lines accepted by default (the spec's floor is 16; Go's cap is 100).
MAX_SIGNATURES: Final = 100
#: Longest key name accepted (bytes of UTF-8); the spec sets no limit, this is a sanity cap.
MAX_KEY_NAME_BYTES: Final = 1024
#: Longest single signature line accepted (a post-quantum signature is ~5 kB, ~6.6 kB base64).
MAX_SIGNATURE_LINE_BYTES: Final = 8192

_ED25519_SIGNATURE_BYTES: Final = 64
# The header line of a tlog-cosignature v1 signed message; refused as a note text.
_COSIGNATURE_HEADER: Final = "cosignature/v1\n"

# ASCII control characters other than newline (signed-note §"Format").
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
# Unicode White_Space (the characters Go's unicode.IsSpace reports), which key
# names must not contain (signed-note §"Format": "any Unicode spaces").
_SPACES: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_HEX8: Final = re.compile(r"[0-9a-fA-F]{8}")
_B64STD: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}")


# -- base64 (RFC 4648 section 4, with padding) ---------------------------------


def b64std_encode(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4), as the C2SP text formats use."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64std_decode(text: str, *, what: str) -> bytes:
    """Decode canonical standard padded base64; raise :class:`MalformedInputError`.

    Only the one canonical encoding of a byte string is accepted: correct
    padding, no whitespace, no URL-safe characters, zero trailing bits.
    """
    if not isinstance(text, str) or not text.isascii() or _B64STD.fullmatch(text) is None:
        raise MalformedInputError(f"{what} is not standard base64 (RFC 4648 section 4)")
    if len(text) % 4:
        raise MalformedInputError(f"{what} is not standard base64: wrong length or padding")
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        raise MalformedInputError(f"{what} is not standard base64 (RFC 4648 section 4)") from None
    if b64std_encode(data) != text:
        raise MalformedInputError(f"{what} is not canonical base64 (non-zero trailing bits)")
    return data


# -- key names, key IDs, verifier keys ------------------------------------------


def check_key_name(name: object, *, error: type[SafeShareError] = MalformedInputError) -> str:
    """Check a key name (signed-note §"Format"); return it or raise *error*.

    A key name is non-empty, valid Unicode, has no Unicode space, no ``+``, no
    control character, and at most :data:`MAX_KEY_NAME_BYTES` bytes.
    """
    if not isinstance(name, str) or not name:
        raise error("a key name must be a non-empty string")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise error("a key name must be valid Unicode (no lone surrogates)") from None
    if len(encoded) > MAX_KEY_NAME_BYTES:
        raise error(f"a key name is at most {MAX_KEY_NAME_BYTES} bytes; got {len(encoded)}")
    if "+" in name:
        raise error(f"key name {name[:64]!r} contains '+', which signed-note forbids")
    if any(ch in _SPACES for ch in name):
        raise error(f"key name {name[:64]!r} contains a space, which signed-note forbids")
    if _CONTROL.search(name):
        raise error("a key name must not contain control characters")
    return name


def compute_key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || sig_type || public_key)[:4]`` (signed-note §"Signatures")."""
    if not 0 <= sig_type <= 0xFF:
        raise UsageError("a signature type is one byte")
    data = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(data).digest()[:4]


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """The parts of a verifier key string (``<name>+<key ID>+<base64(type||key)>``)."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: bytes


def format_vkey(name: str, sig_type: int, public_key: bytes) -> str:
    """Encode a verifier key: ``<name>+<hex key ID>+<base64(type || public key)>``."""
    check_key_name(name, error=UsageError)
    key_id = compute_key_id(name, sig_type, public_key)
    return f"{name}+{key_id.hex()}+{b64std_encode(bytes([sig_type]) + public_key)}"


def parse_vkey(vkey: str) -> VerifierKey:
    """Parse a verifier key string strictly; raise :class:`MalformedInputError`.

    The name must be a valid key name, the key ID exactly eight hex digits and
    equal to the key ID computed from the name, type byte and key; the last
    part canonical standard base64 of the type byte and at least one byte of
    key material. The type and the key length are checked by the verifier
    class that uses the key.
    """
    if not isinstance(vkey, str):
        raise MalformedInputError("a verifier key must be a string")
    if len(vkey) > MAX_KEY_NAME_BYTES + 8192:
        raise OversizedInputError("the verifier key is too long")
    parts = vkey.split("+", 2)  # the base64 part may itself contain '+'
    if len(parts) != 3:
        raise MalformedInputError("a verifier key has the form <name>+<key ID>+<base64 key>")
    name, key_id_hex, key_b64 = parts
    check_key_name(name)
    if _HEX8.fullmatch(key_id_hex) is None:
        raise MalformedInputError("the key ID of a verifier key must be exactly 8 hex digits")
    material = b64std_decode(key_b64, what="verifier key material")
    if len(material) < 2:
        raise MalformedInputError("a verifier key needs a type byte and a public key")
    key_id = bytes.fromhex(key_id_hex)
    sig_type, public_key = material[0], material[1:]
    if compute_key_id(name, sig_type, public_key) != key_id:
        raise MalformedInputError(
            f"verifier key {name[:64]!r}: the key ID {key_id_hex} is not the one computed from "
            "the name and key (SHA-256(name || 0x0A || type || key)[:4])"
        )
    return VerifierKey(name=name, key_id=key_id, sig_type=sig_type, public_key=public_key)


# -- verifiers ------------------------------------------------------------------


@runtime_checkable
class SignatureVerifier(Protocol):
    """What :func:`open_note` needs from a trusted key.

    ``name`` and ``key_id`` identify the key (signed-note §"Signatures");
    ``verify`` checks *signature* (the bytes after the key ID) over the note
    *text* (UTF-8, including its final newline) and raises
    :class:`~safeshare.errors.VerificationError` if it does not verify.
    """

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> None: ...


class TypedVerifier:
    """A trusted Ed25519 key of one signature type: a key name and a public key.

    Subclasses fix ``sig_type`` (``0x01`` note signatures here, ``0x04``
    cosignatures in :mod:`safeshare.audit.witness`) and ``role`` (for messages).
    """

    __slots__ = ("_key", "_key_id", "_name")
    sig_type: int = SIG_TYPE_ED25519
    role = "note key"

    def __init__(self, name: str, key: VerifyKey) -> None:
        check_key_name(name, error=UsageError)
        if not isinstance(key, VerifyKey):
            raise UsageError(f"a {type(self).__name__} needs a safeshare.keys.VerifyKey (Ed25519)")
        self._name = name
        self._key = key
        self._key_id = compute_key_id(name, self.sig_type, key.raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse ``<name>+<key ID>+<base64(type || 32-byte key)>``."""
        parsed = parse_vkey(vkey)
        if parsed.sig_type != cls.sig_type:
            raise MalformedInputError(
                f"verifier key {parsed.name[:64]!r} has signature type {parsed.sig_type:#04x}; "
                f"an Ed25519 {cls.role} has type {cls.sig_type:#04x}"
            )
        return cls(parsed.name, VerifyKey(parsed.public_key))

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID (signed-note §"Ed25519 signatures")."""
        return self._key_id

    @property
    def key(self) -> VerifyKey:
        return self._key

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        return format_vkey(self._name, self.sig_type, self._key.raw)


class NoteVerifier(TypedVerifier):
    """A trusted Ed25519 note key: a key name and a public key (type ``0x01``)."""

    __slots__ = ()
    sig_type = SIG_TYPE_ED25519
    role = "note key"

    def verify(self, text: bytes, signature: bytes) -> None:
        """Verify an Ed25519 signature (RFC 8032) over the note text.

        A text that starts with ``cosignature/v1`` is refused: it is a witness
        cosignature message, never a note that :func:`sign_note` signs.
        """
        if text.startswith(_COSIGNATURE_HEADER.encode("ascii")):
            raise VerificationError(
                "a note text starting with 'cosignature/v1' is a cosignature message, "
                "not a note; refused"
            )
        if len(signature) != _ED25519_SIGNATURE_BYTES:
            raise VerificationError(
                f"the signature of key {self._name}+{self._key_id.hex()} is {len(signature)} "
                "bytes long; an Ed25519 signature is 64 bytes"
            )
        try:
            self._key.verify(signature, text)
        except VerificationError:
            raise VerificationError(
                f"the signature of key {self._name}+{self._key_id.hex()} does not verify"
            ) from None

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, NoteVerifier)
            and (other._name, other._key) == (self._name, self._key)
        )

    def __hash__(self) -> int:
        return hash((type(self), self._name, self._key))

    def __repr__(self) -> str:
        return f"NoteVerifier({self._name!r}, key_id={self._key_id.hex()})"


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature line of a note that verified with a trusted key."""

    name: str
    key_id: bytes
    signature: bytes
    """The signature bytes after the 4-byte key ID."""
    verifier: SignatureVerifier


# -- signing ----------------------------------------------------------------------


def _check_text(text: object, *, error: type[SafeShareError]) -> str:
    if not isinstance(text, str):
        raise error("a note text must be a string")
    if not text.endswith("\n"):
        raise error("a note text must end with a newline (signed-note §Format)")
    if _CONTROL.search(text):
        raise error(
            "a note must not contain ASCII control characters other than newline "
            "(signed-note §Format)"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise error("a note must be valid UTF-8 (no lone surrogates)") from None
    return text


def signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    """One signature line: ``— <name> <base64(key ID || signature)>`` and a newline."""
    check_key_name(name, error=UsageError)
    if len(key_id) != 4:
        raise UsageError("a key ID is 4 bytes")
    if not signature:
        raise UsageError("a signature must not be empty")
    return f"{_SIG_PREFIX}{name} {b64std_encode(key_id + signature)}\n"


def sign_note(text: str, name: str, key: SigningKey) -> str:
    """Sign *text* as key *name* with Ed25519; return the signed note.

    *text* must end with a newline and contain no ASCII control character
    other than newline; *name* must be a valid key name. Texts that begin
    with the line ``cosignature/v1`` are refused (see the module docstring).
    """
    _check_text(text, error=UsageError)
    if text.startswith(_COSIGNATURE_HEADER):
        raise UsageError(
            "refusing to sign a note text that starts with 'cosignature/v1': it would be "
            "a witness cosignature (use safeshare.audit.witness for cosigning)"
        )
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES - 1024:
        raise UsageError(
            f"a note text must leave room for signatures within {MAX_NOTE_BYTES} bytes"
        )
    check_key_name(name, error=UsageError)
    if not isinstance(key, SigningKey):
        raise UsageError("sign_note() needs a safeshare.keys.SigningKey")
    key_id = compute_key_id(name, SIG_TYPE_ED25519, key.public.raw)
    signature = key.sign(text.encode("utf-8"))
    return text + "\n" + signature_line(name, key_id, signature)


def add_signature_lines(note: str, lines: str) -> str:
    """Append signature *lines* (for example a witness's cosignatures) to *note*.

    Both are checked for syntax only: *note* must be a well-formed signed
    note and *lines* one or more well-formed signature lines. Nothing is
    verified; open the result with :func:`open_note`.
    """
    _split(note, max_bytes=MAX_NOTE_BYTES, max_signatures=MAX_SIGNATURES)
    if not isinstance(lines, str) or not lines:
        raise MalformedInputError("no signature lines to add")
    _split("x\n\n" + lines, max_bytes=MAX_NOTE_BYTES, max_signatures=MAX_SIGNATURES)
    combined = note + lines
    _split(combined, max_bytes=MAX_NOTE_BYTES, max_signatures=MAX_SIGNATURES)
    return combined


# -- opening ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    name: str
    key_id: bytes
    signature: bytes


def _split(note: object, *, max_bytes: int, max_signatures: int) -> tuple[str, list[_Line]]:
    """Parse *note* into its text and signature lines (syntax only, no crypto)."""
    if isinstance(note, bytes):
        if len(note) > max_bytes:
            raise OversizedInputError(f"the note is {len(note)} bytes; the limit is {max_bytes}")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedInputError("a signed note must be valid UTF-8") from None
    if not isinstance(note, str):
        raise MalformedInputError("a signed note must be text (str or UTF-8 bytes)")
    if len(note) > max_bytes:
        raise OversizedInputError(f"the note is longer than the limit of {max_bytes} bytes")
    try:
        size = len(note.encode("utf-8"))
    except UnicodeEncodeError:
        raise MalformedInputError(
            "a signed note must be valid UTF-8 (no lone surrogates)"
        ) from None
    if size > max_bytes:
        raise OversizedInputError(f"the note is {size} bytes; the limit is {max_bytes}")
    if _CONTROL.search(note):
        raise MalformedInputError(
            "a signed note must not contain ASCII control characters other than newline "
            "(signed-note §Format)"
        )
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedInputError(
            "a signed note needs a blank line between the text and the signatures"
        )
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise MalformedInputError("the signed note has no signature lines after its blank line")
    if not block.endswith("\n"):
        raise MalformedInputError("the last signature line of the note does not end in a newline")
    raw_lines = block[:-1].split("\n")
    if len(raw_lines) > max_signatures:
        raise OversizedInputError(
            f"the note has {len(raw_lines)} signature lines; the limit is {max_signatures}"
        )
    lines: list[_Line] = []
    for number, raw in enumerate(raw_lines, start=1):
        lines.append(_parse_line(raw, number))
    return text, lines


def _parse_line(raw: str, number: int) -> _Line:
    where = f"signature line {number}"
    if len(raw) > MAX_SIGNATURE_LINE_BYTES:
        raise OversizedInputError(f"{where} is longer than {MAX_SIGNATURE_LINE_BYTES} characters")
    if not raw.startswith(_SIG_PREFIX):
        raise MalformedInputError(
            f"{where} does not start with an em dash (U+2014) and a space (signed-note §Format)"
        )
    name, sep, b64 = raw[len(_SIG_PREFIX) :].partition(" ")
    if not sep or not b64:
        raise MalformedInputError(f"{where} lacks the space between key name and signature")
    try:
        check_key_name(name)
    except MalformedInputError as exc:
        raise MalformedInputError(f"{where}: {exc.message}") from None
    blob = b64std_decode(b64, what=f"the signature on {where}")
    if len(blob) < 5:
        raise MalformedInputError(f"{where}: a signature is a 4-byte key ID and at least one byte")
    return _Line(name=name, key_id=blob[:4], signature=blob[4:])


def open_note(
    note: str | bytes,
    verifiers: Iterable[SignatureVerifier],
    *,
    max_bytes: int = MAX_NOTE_BYTES,
    max_signatures: int = MAX_SIGNATURES,
) -> tuple[str, list[VerifiedSignature]]:
    """Parse and verify a signed note; return (text, verified signatures).

    The text includes its final newline. The list holds one entry per trusted
    key that signed, in the order of first appearance. Signatures from keys not
    in *verifiers* (name and key ID both) are ignored. Raises
    :class:`~safeshare.errors.MalformedInputError` (or its subclass
    :class:`~safeshare.errors.OversizedInputError`) for syntax, before any
    signature is checked, and :class:`~safeshare.errors.VerificationError`
    if a signature by a trusted key does not verify or no trusted key signed.
    Two different *verifiers* with the same name and key ID are a
    :class:`~safeshare.errors.UsageError`.
    """
    if max_signatures < 16:
        raise UsageError("signed-note requires accepting at least 16 signatures")
    known: dict[tuple[str, bytes], SignatureVerifier] = {}
    for verifier in verifiers:
        if not isinstance(verifier, SignatureVerifier):
            raise UsageError("open_note() takes signature verifiers (for example NoteVerifier)")
        ident = (verifier.name, bytes(verifier.key_id))
        previous = known.get(ident)
        if previous is not None and previous != verifier:
            raise UsageError(
                f"two different trusted keys share the name and key ID "
                f"{ident[0]}+{ident[1].hex()}; signatures by them would be ambiguous"
            )
        known[ident] = verifier
    text, lines = _split(note, max_bytes=max_bytes, max_signatures=max_signatures)
    text_bytes = text.encode("utf-8")
    verified: dict[tuple[str, bytes], VerifiedSignature] = {}
    ignored = 0
    for line in lines:
        match = known.get((line.name, line.key_id))
        if match is None:
            ignored += 1
            continue
        match.verify(text_bytes, line.signature)  # raises VerificationError
        verified.setdefault(
            (line.name, line.key_id),
            VerifiedSignature(
                name=line.name, key_id=line.key_id, signature=line.signature, verifier=match
            ),
        )
    if not verified:
        raise VerificationError(
            "the note is not signed by any trusted key"
            + (f" ({ignored} signature(s) by unknown keys ignored)" if ignored else ""),
            hint="check that the verifier key (name and public key) is the one the signer uses",
        )
    return text, list(verified.values())
