"""Strict base64url (RFC 4648 section 5, without padding, as JOSE requires).

RFC 7515 section 2 defines ``BASE64URL(OCTETS)`` as the URL-safe alphabet with
all trailing ``=`` removed and no line breaks, whitespace or other characters.
Decoding here accepts exactly the canonical form: no padding, no ``+`` or ``/``,
no whitespace, no impossible length and no non-zero trailing bits (so every
byte string has exactly one accepted encoding).
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from safeshare.errors import MalformedInputError

_ALPHABET: Final = re.compile(rb"[A-Za-z0-9_-]*")
_URL_TO_STD: Final = bytes.maketrans(b"-_", b"+/")
_STD_TO_URL: Final = bytes.maketrans(b"+/", b"-_")
_PADDING: Final = (b"", b"", b"==", b"=")
# The last character of a 2- or 3-character final group carries 4 or 2 bits
# that encode nothing; canonical encoders set them to zero (RFC 4648 3.5).
_ZERO_LOW4: Final = frozenset(b"AQgw")
_ZERO_LOW2: Final = frozenset(b"AEIMQUYcgkosw048")


def b64u_encode(data: bytes) -> str:
    """Encode *data* as unpadded base64url text."""
    return (
        binascii.b2a_base64(data, newline=False).translate(_STD_TO_URL).rstrip(b"=").decode("ascii")
    )


def b64u_check(text: str, *, what: str = "value") -> None:
    """Check that *text* is canonical unpadded base64url without decoding it."""
    if not isinstance(text, str):
        raise MalformedInputError(f"{what} is not base64url text")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedInputError(
            f"{what} is not base64url: it contains non-ASCII characters"
        ) from None
    _check(raw, what)


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
    rem = _check(raw, what)
    try:
        return binascii.a2b_base64(raw.translate(_URL_TO_STD) + _PADDING[rem], strict_mode=True)
    except binascii.Error:  # pragma: no cover - alphabet and length checked above
        raise MalformedInputError(f"{what} is not base64url") from None


def _check(raw: bytes, what: str) -> int:
    if _ALPHABET.fullmatch(raw) is None:
        raise MalformedInputError(
            f"{what} is not canonical base64url: only A-Z a-z 0-9 - _ are allowed "
            "(no padding, '+', '/' or whitespace)"
        )
    rem = len(raw) & 3
    if rem == 1:
        raise MalformedInputError(f"{what} is not base64url: impossible length {len(raw)}")
    if (rem == 2 and raw[-1] not in _ZERO_LOW4) or (rem == 3 and raw[-1] not in _ZERO_LOW2):
        raise MalformedInputError(f"{what} is not canonical base64url: non-zero trailing bits")
    return rem
