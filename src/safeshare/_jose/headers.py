"""Strict checks on JOSE headers, shared by every JWS and JWE safeshare reads.

Rules (RFC 8725 section 3.1 and 3.7, RFC 7515 section 4.1.11, RFC 7516 4.1.3):

* ``alg`` (and ``enc``) must equal the one value the profile expects, exactly;
  ``none`` in any letter case and every other algorithm are rejected before
  any cryptography runs. The algorithm to *use* still comes from the key, not
  from here: this check only refuses headers that claim something else.
* Embedded or referenced keys (``jwk``, ``jku``, ``x5u``, ``x5c``, ``x5t``,
  ``x5t#S256``) are rejected: keys come from the trust registry only.
* ``zip`` is rejected (decompression bombs; RFC 7516 section 4.1.3).
* ``crit`` is rejected in every form: this profile defines no extension that a
  recipient must understand, so any ``crit`` names something we do not.
* Any member the profile does not list is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare.errors import MalformedInputError, OversizedInputError

FORBIDDEN_MEMBERS: Final = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "zip", "crit"})
MAX_HEADER_BYTES: Final = 4096
_KID = re.compile(r"[A-Za-z0-9_-]{43}")


def check_kid(kid: object, *, what: str) -> str:
    """A ``kid`` must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)."""
    if isinstance(kid, str) and len(kid) > MAX_HEADER_BYTES:
        raise OversizedInputError(f"{what} 'kid' is longer than {MAX_HEADER_BYTES} characters")
    if not isinstance(kid, str) or _KID.fullmatch(kid) is None:
        shown = repr(kid)[:40] if isinstance(kid, str) else type(kid).__name__
        raise MalformedInputError(
            f"{what} 'kid' must be an RFC 7638 key thumbprint (43 base64url characters); got {shown}"
        )
    return kid


def decode_protected(encoded: object, *, what: str) -> tuple[dict[str, Any], str]:
    """Decode a base64url protected header into a dict; return it with its text."""
    if not isinstance(encoded, str) or not encoded:
        raise MalformedInputError(f"{what} is missing or not a string")
    if len(encoded) > MAX_HEADER_BYTES * 4 // 3 + 4:
        raise OversizedInputError(f"{what} is larger than {MAX_HEADER_BYTES} bytes")
    header = strictjson.loads(
        b64u_decode(encoded, what=what), what=what, max_bytes=MAX_HEADER_BYTES
    )
    if not isinstance(header, dict):
        raise MalformedInputError(f"{what} must be a JSON object")
    return header, encoded


def check_header(
    header: Mapping[str, Any],
    *,
    what: str,
    expected: Mapping[str, str],
    required: frozenset[str],
    allowed: frozenset[str],
) -> None:
    """Apply the profile's header rules; raise :class:`MalformedInputError`.

    *expected* maps members to their only acceptable value (``alg``, ``enc``,
    ``typ``); *required* must be present; nothing outside *allowed* may be.
    """
    # One C-level set test in the usual case, instead of eight lookups.
    if not FORBIDDEN_MEMBERS.isdisjoint(header):
        _reject_forbidden(header, what)
    for name, value in expected.items():
        got = header.get(name)
        if got != value:
            shown = repr(got)[:40] if isinstance(got, str) else repr(type(got).__name__)
            if name == "alg" and isinstance(got, str) and got.lower() == "none":
                raise MalformedInputError(f"{what} has alg {shown}: unsigned tokens are refused")
            raise MalformedInputError(f"{what} must have {name} {value!r}, not {shown}")
    # Subset tests on the keys view build no sets; the differences are only
    # computed for the error message.
    keys = header.keys()
    if not keys >= required:
        raise MalformedInputError(f"{what} lacks {sorted(required - keys)}")
    if not keys <= allowed:
        names = sorted(n[:32] for n in keys - allowed)
        raise MalformedInputError(f"{what} has members this profile does not allow: {names}")


def _reject_forbidden(header: Mapping[str, Any], what: str) -> None:
    for name in FORBIDDEN_MEMBERS:
        if name in header:
            reason = {
                "zip": "compression is not allowed (decompression bombs)",
                "crit": "no critical extensions are defined by this profile",
            }.get(name, "keys are taken from the trust registry, never from a message")
            raise MalformedInputError(f"{what} contains {name!r}: {reason}")
