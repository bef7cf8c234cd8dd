"""Reading public keys from JWK Set files (RFC 7517 section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from safeshare._internal import fs, strictjson
from safeshare.errors import MalformedInputError, SafeShareError, UsageError
from safeshare.keys import EncryptionKey, VerifyKey, public_key_from_jwk

__all__ = ["read_authority_key", "read_public_keys"]

_MAX_JWKS_BYTES: Final = 1024 * 1024


def read_public_keys(path: Path) -> list[VerifyKey | EncryptionKey]:
    """Every key of the public JWK Set in *path*, strictly parsed.

    Private keys (``d``), unknown curves and a ``kid`` that is not the key's
    RFC 7638 thumbprint are refused, as by :func:`~safeshare.keys.public_key_from_jwk`.
    """
    what = f"JWKS file {str(path)!r}"
    data = fs.read_bytes(path, what="JWKS file", max_bytes=_MAX_JWKS_BYTES)
    jwks = strictjson.loads(data, what=what, max_bytes=_MAX_JWKS_BYTES)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise MalformedInputError(
            f"{what} is not a JWK Set (a JSON object with a 'keys' list)",
            hint="pass the public *.jwks.json file written by 'safeshare keygen'",
        )
    keys: list[VerifyKey | EncryptionKey] = []
    for index, jwk in enumerate(jwks["keys"]):
        try:
            key = public_key_from_jwk(jwk)
        except SafeShareError as exc:
            raise MalformedInputError(f"{what}, key {index}: {exc.message}") from None
        if any(k.kid == key.kid for k in keys):
            raise MalformedInputError(f"{what} lists key {key.kid} twice")
        keys.append(key)
    if not keys:
        raise MalformedInputError(f"{what} contains no keys")
    return keys


def read_authority_key(path: Path) -> VerifyKey:
    """The pinned registry authority key: the one signing key in the JWKS at *path*."""
    signing = [k for k in read_public_keys(path) if isinstance(k, VerifyKey)]
    if len(signing) != 1:
        raise UsageError(
            f"JWKS file {str(path)!r} must contain exactly one signing key (use 'sig') "
            f"to pin as the registry authority; it has {len(signing)}",
            hint="pass the authority.jwks.json written by 'safeshare registry init'",
        )
    return signing[0]
