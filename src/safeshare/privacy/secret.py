"""The agency's privacy secret: keys for pseudonyms, the blind index and the pseudonym vault.

One 256-bit secret per agency, kept next to (and saved with) its signing and
encryption keys. Nothing is ever computed with it directly: each use gets its
own key, derived with HKDF-SHA256 (RFC 5869) under a distinct label, so that a
pseudonym can never be confused with a blind-index token or the vault key.

* :meth:`PrivacySecret.pseudonym`: keyed pseudonym of an identifier for one
  domain (issuer, recipient, case). HMAC-SHA256 (RFC 2104) over an
  unambiguous, length-prefixed encoding of the domain and the value, so two
  recipients, or two cases, get unlinkable pseudonyms for the same person,
  and the same recipient in the same case always gets the same one. The
  value is encoded by :func:`canonical_json` (RFC 8785), which takes text,
  integers within I-JSON's range, true, false, null, and arrays and objects
  of these, and nothing else.
* :meth:`PrivacySecret.blind_token`: keyed blind-index token of a data
  subject's identifier (kind and normalized value), the same for every
  envelope: what the audit log stores instead of the identifier.
* :meth:`PrivacySecret.vault_key`: the AES-256 key of the pseudonym vault
  (the originator's table from pseudonym back to value).

Without the secret, a pseudonym or token reveals nothing about the value
(HMAC is a PRF); with it, only the agency itself can link or resolve them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Final, NoReturn

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare.errors import UsageError

__all__ = ["PSEUDONYM_PREFIX", "SECRET_BYTES", "PrivacySecret", "canonical_json"]

#: Length of the secret, in bytes.
SECRET_BYTES: Final = 32
#: Every pseudonym starts with this, so a reader knows it is not the real value.
PSEUDONYM_PREFIX: Final = "pn_"

_LABEL_PSEUDONYM: Final = b"safeshare/v1/pseudonym"
_LABEL_BLIND_INDEX: Final = b"safeshare/v1/blind-index"
_LABEL_VAULT: Final = b"safeshare/v1/pseudonym-vault"


def _frame(*parts: bytes) -> bytes:
    """Length-prefixed concatenation: no two different part lists give the same bytes."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


#: Largest integer magnitude a pseudonymized value may hold (I-JSON, RFC 7493 section 2.2).
MAX_SAFE_INTEGER: Final = strictjson.MAX_SAFE_INTEGER
_encode_string = msgspec.json.Encoder().encode

#: Why a value of these types is refused (the message names no value).
_REFUSED: Final[tuple[tuple[Any, str], ...]] = (
    (
        float,
        "a number with a fraction or exponent (a float, NaN or Infinity included) cannot be "
        "pseudonymized: identifiers are text or integers; give the value as text, exactly as "
        "written, or as an integer",
    ),
    (
        bytes | bytearray | memoryview,
        "bytes cannot be pseudonymized: decode them to text first (or give them as base64url text)",
    ),
    (set | frozenset, "a set cannot be pseudonymized: it has no order; give a sorted list"),
)


def canonical_json(value: object) -> bytes:
    """The canonical JSON (RFC 8785, JCS) of *value*: the bytes a pseudonym is computed over.

    *value* is one of: ``str``, ``bool``, ``None``, an ``int`` with
    ``|n| <= 2**53 - 1`` (I-JSON, RFC 7493 section 2.2), or a ``list``,
    ``tuple`` or ``dict`` (string member names) of these, nested at most
    :data:`~safeshare._internal.strictjson.MAX_DEPTH` levels. Anything else
    (``float``, a larger integer, ``bytes``, ``Decimal``, ``date``, ``set``,
    a non-string member name, ...) raises :class:`UsageError`, whose message
    names the type, never the value.

    RFC 8785: no white space; object members sorted by the UTF-16 code units
    of their names (section 3.2.3); strings with only ``"``, ``\\`` and
    U+0000-U+001F escaped, as ``\\b \\t \\n \\f \\r`` or else ``\\u00xx`` in
    lower-case hex, everything else written as UTF-8 (section 3.2.2.2);
    integers in plain decimal. msgspec writes strings exactly so (checked
    for every code point by ``tests/unit/privacy/test_secret.py``).
    """
    out: list[bytes] = []
    _canonical(value, out, 0)
    return b"".join(out)


def _canonical(value: object, out: list[bytes], depth: int) -> None:
    if value is None:
        out.append(b"null")
    elif value is True:
        out.append(b"true")
    elif value is False:
        out.append(b"false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise UsageError(
                "an integer outside +/-(2**53 - 1) cannot be pseudonymized (I-JSON, RFC 7493 "
                "section 2.2): give it as text"
            )
        out.append(str(int(value)).encode("ascii"))
    elif isinstance(value, list | tuple | dict):
        if depth >= strictjson.MAX_DEPTH:
            raise UsageError(
                f"the value is nested more than {strictjson.MAX_DEPTH} levels deep; "
                "it cannot be pseudonymized"
            )
        if isinstance(value, dict):
            _canonical_object(value, out, depth + 1)
            return
        out.append(b"[")
        for position, item in enumerate(value):
            if position:
                out.append(b",")
            _canonical(item, out, depth + 1)
        out.append(b"]")
    else:
        reason = next((text for kind, text in _REFUSED if isinstance(value, kind)), None)
        raise UsageError(
            reason
            or f"a value of type {type(value).__name__} cannot be pseudonymized: only text, "
            "integers, true, false, null, and lists and objects of these can (give a date or a "
            "decimal number as its text)"
        )


def _canonical_object(value: dict[object, object], out: list[bytes], depth: int) -> None:
    names: list[tuple[bytes, str]] = []
    for name in value:
        if not isinstance(name, str):
            raise UsageError(
                f"an object member name must be text, not {type(name).__name__}, for the "
                "value to be pseudonymized"
            )
        try:
            names.append((name.encode("utf-16-be"), name))
        except UnicodeEncodeError:
            raise UsageError(
                "an object member name is not valid Unicode text (a lone surrogate); "
                "it cannot be pseudonymized"
            ) from None
    # Big-endian UTF-16 bytes compare as the code units do (RFC 8785 section 3.2.3).
    names.sort()
    out.append(b"{")
    for position, (_, name) in enumerate(names):
        if position:
            out.append(b",")
        out.append(_string(name))
        out.append(b":")
        _canonical(value[name], out, depth)
    out.append(b"}")


def _string(text: str) -> bytes:
    try:
        return _encode_string(str.__str__(text))
    except UnicodeEncodeError:
        raise UsageError(
            "the value holds text that is not valid Unicode (a lone surrogate); "
            "it cannot be pseudonymized"
        ) from None


def _utf8(value: str, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{what} must be a non-empty string")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid Unicode text") from None


class PrivacySecret:
    """An agency's 256-bit privacy secret. Refuses pickling; ``repr`` shows no bits."""

    __slots__ = ("_blind", "_pseudonym", "_raw", "_vault")

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes) or len(raw) != SECRET_BYTES:
            raise UsageError(f"a privacy secret is exactly {SECRET_BYTES} bytes")
        self._raw = raw
        self._pseudonym = self._derive(_LABEL_PSEUDONYM)
        self._blind = self._derive(_LABEL_BLIND_INDEX)
        self._vault = self._derive(_LABEL_VAULT)

    @classmethod
    def generate(cls) -> PrivacySecret:
        """A fresh secret from the operating system's CSPRNG."""
        return cls(os.urandom(SECRET_BYTES))

    def _derive(self, label: bytes) -> bytes:
        # RFC 5869: no salt (the input is already uniformly random), info = label.
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(self._raw)

    @property
    def fingerprint(self) -> str:
        """A short public name for the secret (which one is in use), revealing nothing of it."""
        return hashlib.sha256(b"safeshare/v1/privacy-secret-id" + self._raw).hexdigest()[:16]

    def raw_bytes(self, access: object) -> bytes:
        """The secret itself; *access* must be :data:`safeshare.keys.SECRET_KEY_ACCESS`."""
        from safeshare.keys import SECRET_KEY_ACCESS  # noqa: PLC0415 -- keys imports this module

        if access is not SECRET_KEY_ACCESS:
            raise UsageError("raw secret access needs safeshare.keys.SECRET_KEY_ACCESS")
        return self._raw

    def pseudonym(self, value: object, *, issuer: str, recipient: str, case_ref: str) -> str:
        """The pseudonym of *value* for the domain (issuer, recipient, case).

        Deterministic within a domain; for another recipient or case the
        pseudonyms of the same value cannot be linked without the secret.
        The value is encoded by :func:`canonical_json` (RFC 8785) first, so
        ``"42"`` and ``42`` differ and an object's member order does not
        matter; a value it refuses (a float, an integer beyond 2**53 - 1,
        bytes, ...) raises :class:`UsageError`. Returns ``"pn_"`` and 22
        base64url characters (128 bits).
        """
        encoded = canonical_json(value)
        message = _frame(
            _utf8(issuer, "issuer"),
            _utf8(recipient, "recipient"),
            _utf8(case_ref, "case_ref"),
            encoded,
        )
        mac = hmac.new(self._pseudonym, message, hashlib.sha256).digest()
        return PSEUDONYM_PREFIX + b64u_encode(mac[:16])

    def blind_token(self, kind: str, value: str) -> str:
        """The blind-index token of a subject identifier: 43 base64url characters.

        *kind* names the identifier type (``phone``, ``email``, ``passport``...)
        and *value* must already be normalized by the caller (see
        :mod:`safeshare.privacy.blind_index`); the same (kind, value) always
        gives the same token for this secret.
        """
        mac = hmac.new(
            self._blind, _frame(_utf8(kind, "kind"), _utf8(value, "value")), hashlib.sha256
        ).digest()
        return b64u_encode(mac)

    def vault_key(self) -> bytes:
        """The AES-256-GCM key of the pseudonym vault."""
        return self._vault

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrivacySecret) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"PrivacySecret(fingerprint={self.fingerprint})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise UsageError("a PrivacySecret cannot be pickled or copied; save it with the key set")
