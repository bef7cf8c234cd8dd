"""Strict base64url (RFC 4648 section 5, without padding, as JOSE requires).

RFC 7515 section 2 defines ``BASE64URL(OCTETS)`` as the URL-safe alphabet with
all trailing ``=`` removed and no line breaks, whitespace or other characters.
Decoding here accepts exactly the canonical form: no padding, no ``+`` or ``/``,
no whitespace, no impossible length and no non-zero trailing bits (so every
byte string has exactly one accepted encoding).
"""

from __future__ import annotations

import base64
import binascii
import re

from safeshare.errors import MalformedInputError

_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")


def b64u_encode(data: bytes) -> str:
    """Encode *data* as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str | bytes, *, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url; raise :class:`MalformedInputError`."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise MalformedInputError(
                f"{what} is not base64url: it contains non-ASCII characters"
            ) from None
    else:
        raw = text
    if _ALPHABET.fullmatch(raw) is None:
        raise MalformedInputError(
            f"{what} is not canonical base64url: only A-Z a-z 0-9 - _ are allowed "
            "(no padding, '+', '/' or whitespace)"
        )
    rem = len(raw) % 4
    if rem == 1:
        raise MalformedInputError(f"{what} is not base64url: impossible length {len(raw)}")
    try:
        data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - alphabet checked above
        raise MalformedInputError(f"{what} is not base64url") from None
    # Non-zero trailing bits: the last character carries bits that the decoded
    # bytes do not, so re-encoding would differ.
    if rem and base64.urlsafe_b64encode(data).rstrip(b"=") != raw:
        raise MalformedInputError(f"{what} is not canonical base64url: non-zero trailing bits")
    return data
