"""JWS (RFC 7515) with Ed25519 (RFC 9864 / RFC 8037), compact and flattened JSON.

Only what the profile uses: the signing input is
``ASCII(BASE64URL(protected) || '.' || BASE64URL(payload))`` (RFC 7515 section
5.1); there is no unprotected header and no detached payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose.headers import check_header, check_kid, decode_protected
from safeshare.errors import MalformedInputError
from safeshare.keys import SIG_ALG, SigningKey, VerifyKey

MAX_SIGNATURE_B64: Final = 86  # an Ed25519 signature is 64 bytes
_HEADER_MEMBERS: Final = frozenset({"alg", "kid", "typ"})


def protected_b64(header: dict[str, Any], key: SigningKey) -> str:
    """The base64url protected header :func:`sign_compact` writes for *header* and *key*."""
    return b64u_encode(strictjson.dumps({"alg": SIG_ALG, "kid": key.kid, **header}))


def sign_compact(header: dict[str, Any], payload: bytes, key: SigningKey) -> str:
    """``header.payload.signature`` with ``alg`` and ``kid`` set from *key*."""
    signing_input = protected_b64(header, key) + "." + b64u_encode(payload)
    return signing_input + "." + b64u_encode(key.sign(signing_input.encode("ascii")))


def sign_flattened(header: dict[str, Any], payload: bytes, key: SigningKey) -> dict[str, str]:
    """RFC 7515 section 7.2.2 flattened JSON serialization."""
    protected, payload_b64, signature = sign_compact(header, payload, key).split(".")
    return {"payload": payload_b64, "protected": protected, "signature": signature}


def verify_parts(
    protected_b64: str,
    payload_b64: str,
    signature_b64: str,
    *,
    what: str,
    typ: str,
    resolve_key: Callable[[str, dict[str, Any]], VerifyKey],
    allowed: frozenset[str] = _HEADER_MEMBERS,
    decoded_payload: bytes | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Check the header, resolve the key by ``kid``, verify; return (header, payload).

    *resolve_key* receives the ``kid`` and the header and returns the key the
    trust model allows (it raises a typed error otherwise). The algorithm is
    the key's, never the header's: the header must merely agree with it.

    A caller that has already decoded *payload_b64* (with ``b64u_decode``,
    which also checked it) passes the result as *decoded_payload*, and it is
    returned instead of decoding the payload a second time. The signature is
    verified over the base64url text either way.
    """
    header_what = f"{what} header"
    header, _ = decode_protected(protected_b64, what=header_what)
    check_header(
        header,
        what=header_what,
        expected={"alg": SIG_ALG, "typ": typ},
        required=_HEADER_MEMBERS,
        allowed=allowed,
    )
    kid = check_kid(header["kid"], what=header_what)
    if not signature_b64:
        raise MalformedInputError(f"{what} has an empty signature")
    if len(signature_b64) > MAX_SIGNATURE_B64:
        raise MalformedInputError(f"{what} signature is too long for Ed25519")
    signature = b64u_decode(signature_b64, what=f"{what} signature")
    if decoded_payload is None:
        payload = b64u_decode(payload_b64, what=f"{what} payload")
    else:
        payload = decoded_payload
    key = resolve_key(kid, header)
    key.verify(signature, f"{protected_b64}.{payload_b64}".encode("ascii"))
    return header, payload


def verify_flattened(
    doc: Any,
    *,
    what: str,
    typ: str,
    resolve_key: Callable[[str, dict[str, Any]], VerifyKey],
) -> tuple[dict[str, Any], bytes]:
    """Verify a flattened JSON JWS (exactly ``payload``, ``protected``, ``signature``)."""
    members = {"payload", "protected", "signature"}
    if not isinstance(doc, dict):
        raise MalformedInputError(f"{what} must be a JSON object (a flattened JWS)")
    if set(doc) != members:
        extra = sorted(set(doc) - members)
        missing = sorted(members - set(doc))
        raise MalformedInputError(
            f"{what} must have exactly the members {sorted(members)}"
            + (f"; unexpected {extra}" if extra else "")
            + (f"; missing {missing}" if missing else "")
        )
    if not all(isinstance(doc[m], str) for m in members):
        raise MalformedInputError(f"{what} members must be base64url strings")
    return verify_parts(
        doc["protected"],
        doc["payload"],
        doc["signature"],
        what=what,
        typ=typ,
        resolve_key=resolve_key,
    )
