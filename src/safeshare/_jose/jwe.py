"""JWE (RFC 7516) general JSON serialization, safeshare's profile.

* Content encryption ``A256GCM`` (RFC 7518 section 5.3): 256-bit CEK, 96-bit
  IV, 128-bit tag; AAD = ASCII(BASE64URL(UTF8(protected header))) since the
  profile has no ``aad`` member (RFC 7516 section 5.1 step 14).
* Key management ``ECDH-ES+A256KW`` per recipient (RFC 7518 section 4.6) with
  X25519 (RFC 8037 section 3.2): a fresh ephemeral key per recipient, the
  Concat KDF of NIST SP 800-56A with SHA-256 (RFC 7518 section 4.6.2), and
  AES Key Wrap (RFC 3394) of the CEK.
* Shared protected header: ``enc``, ``typ``, ``cty`` only. Per-recipient
  unprotected header: ``alg``, ``kid``, ``epk`` only. No shared unprotected
  header, no ``aad``, no ``zip``, no ``crit``, no embedded keys.

Tampering with *our own* recipient entry cannot go unnoticed: a changed
``epk`` or ``kid`` yields a different key-encryption key, and AES Key Wrap's
integrity check fails. Other recipients' entries are not protected for us
(RFC 7516 has no such binding): a damaged co-recipient entry does not stop
us from opening; it only stops that co-recipient.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose.headers import check_header, check_kid, decode_protected
from safeshare.errors import (
    DecryptionError,
    MalformedInputError,
    OversizedInputError,
    VerificationError,
)
from safeshare.keys import ENC_ALG, DecryptionKey, EncryptionKey

ENC: Final = "A256GCM"
_X25519_P: Final = 2**255 - 19
# RFC 7518 section 4.6.2: OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo,
# each of the first three a 32-bit big-endian length followed by the data. With
# ECDH-ES+A256KW, AlgorithmID is the "alg" value and keydatalen is 256 bits.
_OTHER_INFO: Final = (
    len(ENC_ALG).to_bytes(4, "big")
    + ENC_ALG.encode("ascii")
    + (0).to_bytes(4, "big")  # PartyUInfo: no "apu"
    + (0).to_bytes(4, "big")  # PartyVInfo: no "apv"
    + (256).to_bytes(4, "big")  # SuppPubInfo: keydatalen
)

_JWE_MEMBERS: Final = frozenset({"protected", "recipients", "iv", "ciphertext", "tag"})
_RECIPIENT_MEMBERS: Final = frozenset({"header", "encrypted_key"})
_RECIPIENT_HEADER: Final = frozenset({"alg", "kid", "epk"})
_EPK_MEMBERS: Final = frozenset({"kty", "crv", "x"})
# check_header arguments that are the same on every call, built once.
_PROTECTED_HEADER: Final = frozenset({"enc", "typ", "cty"})
_RECIPIENT_EXPECTED: Final = {"alg": ENC_ALG}


def _kek(shared_secret: bytes) -> bytes:
    return ConcatKDFHash(hashes.SHA256(), 32, _OTHER_INFO).derive(shared_secret)


@dataclass(frozen=True, slots=True)
class RecipientEntry:
    kid: str
    #: The ephemeral public key: 32 bytes, a canonical X25519 encoding (checked
    #: by :func:`parse`). Kept raw: only the entry :func:`decrypt` selects is
    #: turned into an :class:`EncryptionKey` (thumbprint + key object, a few
    #: microseconds each), not every entry of a 32-recipient envelope.
    epk: bytes
    encrypted_key: bytes


@dataclass(frozen=True, slots=True)
class ParsedJWE:
    """A JWE whose structure and headers passed the profile's checks."""

    protected_b64: str
    header: dict[str, Any]
    recipients: tuple[RecipientEntry, ...]
    iv: bytes
    ciphertext: bytes
    tag: bytes


def encrypt(
    plaintext: bytes,
    recipients: Sequence[EncryptionKey],
    *,
    typ: str,
    cty: str,
    randbytes: Callable[[int], bytes] = os.urandom,
) -> dict[str, Any]:
    """Encrypt *plaintext* to every key in *recipients*; return the JWE object.

    *randbytes* is the source of the CEK, IV and ephemeral keys; only the
    test-vector generator passes anything but :func:`os.urandom`.
    """
    protected = b64u_encode(strictjson.dumps({"enc": ENC, "typ": typ, "cty": cty}))
    cek = randbytes(32)
    iv = randbytes(12)
    entries = []
    for key in recipients:
        ephemeral = x25519.X25519PrivateKey.from_private_bytes(randbytes(32))
        shared = ephemeral.exchange(key.public_key)
        epk_x = b64u_encode(ephemeral.public_key().public_bytes_raw())
        entries.append(
            {
                "header": {
                    "alg": ENC_ALG,
                    "kid": key.kid,
                    "epk": {"kty": "OKP", "crv": "X25519", "x": epk_x},
                },
                "encrypted_key": b64u_encode(aes_key_wrap(_kek(shared), cek)),
            }
        )
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    return {
        "protected": protected,
        "recipients": entries,
        "iv": b64u_encode(iv),
        "ciphertext": b64u_encode(sealed[:-16]),
        "tag": b64u_encode(sealed[-16:]),
    }


def _parse_epk(epk: Any, what: str) -> bytes:
    if not isinstance(epk, dict) or epk.keys() != _EPK_MEMBERS:
        raise MalformedInputError(f"{what} 'epk' must be exactly {{kty, crv, x}}")
    if epk["kty"] != "OKP" or epk["crv"] != "X25519":
        raise MalformedInputError(f"{what} 'epk' must be an X25519 OKP key")
    if not isinstance(epk["x"], str):
        raise MalformedInputError(f"{what} 'epk' member 'x' must be a string")
    raw = b64u_decode(epk["x"], what=f"{what} epk")
    if len(raw) != 32:
        raise MalformedInputError(f"{what} 'epk' must be 32 bytes")
    # RFC 7748 section 5: implementations mask the top bit and reduce mod p,
    # so several encodings name one point. Only the canonical one is accepted.
    if int.from_bytes(raw, "little") >= _X25519_P:
        raise MalformedInputError(f"{what} 'epk' is not a canonical X25519 encoding")
    return raw


def parse(doc: Any, *, typ: str, cty: str, max_recipients: int) -> ParsedJWE:
    """Check a decoded JWE against the profile, before any cryptography."""
    if not isinstance(doc, dict):
        raise MalformedInputError("an envelope must be a JSON object (JWE JSON serialization)")
    if "unprotected" in doc or "aad" in doc or "header" in doc:
        found = sorted(m for m in ("unprotected", "aad", "header") if m in doc)
        raise MalformedInputError(f"the envelope uses JWE members this profile forbids: {found}")
    if doc.keys() != _JWE_MEMBERS:
        extra = sorted(str(m)[:32] for m in set(doc) - _JWE_MEMBERS)
        missing = sorted(_JWE_MEMBERS - set(doc))
        raise MalformedInputError(
            "the envelope is not a JWE in this profile"
            + (f"; unexpected members {extra}" if extra else "")
            + (f"; missing {missing}" if missing else "")
        )
    header, protected_b64 = decode_protected(doc["protected"], what="JWE protected header")
    check_header(
        header,
        what="JWE protected header",
        expected={"enc": ENC, "typ": typ, "cty": cty},
        required=_PROTECTED_HEADER,
        allowed=_PROTECTED_HEADER,
    )
    recipients = doc["recipients"]
    if not isinstance(recipients, list) or not recipients:
        raise MalformedInputError("the envelope's 'recipients' must be a non-empty array")
    if len(recipients) > max_recipients:
        raise OversizedInputError(
            f"the envelope has {len(recipients)} recipients; the limit is {max_recipients}"
        )
    entries = []
    seen: set[str] = set()
    for i, rec in enumerate(recipients):
        what = f"recipient {i} header"
        if not isinstance(rec, dict) or rec.keys() != _RECIPIENT_MEMBERS:
            raise MalformedInputError(
                f"recipient {i} must have exactly the members 'header' and 'encrypted_key'"
            )
        rh = rec["header"]
        if not isinstance(rh, dict):
            raise MalformedInputError(f"{what} must be a JSON object")
        # A header of exactly {alg, kid, epk} with our alg passes every rule of
        # check_header (no forbidden, missing or unknown member); anything else
        # goes through check_header, which says what is wrong.
        if rh.keys() != _RECIPIENT_HEADER or rh["alg"] != ENC_ALG:
            check_header(
                rh,
                what=what,
                expected=_RECIPIENT_EXPECTED,
                required=_RECIPIENT_HEADER,
                allowed=_RECIPIENT_HEADER,
            )
        kid = check_kid(rh["kid"], what=what)
        if kid in seen:
            raise MalformedInputError(f"key {kid} appears twice among the recipients")
        seen.add(kid)
        if not isinstance(rec["encrypted_key"], str):
            raise MalformedInputError(f"recipient {i} 'encrypted_key' must be a string")
        wrapped = b64u_decode(rec["encrypted_key"], what=f"recipient {i} encrypted_key")
        if len(wrapped) != 40:  # AES-KW of a 256-bit CEK
            raise MalformedInputError(f"recipient {i} 'encrypted_key' must be 40 bytes")
        entries.append(RecipientEntry(kid, _parse_epk(rh["epk"], what), wrapped))
    for member in ("iv", "ciphertext", "tag"):
        if not isinstance(doc[member], str):
            raise MalformedInputError(f"the envelope's '{member}' must be a base64url string")
    iv = b64u_decode(doc["iv"], what="JWE iv")
    tag = b64u_decode(doc["tag"], what="JWE tag")
    if len(iv) != 12:
        raise MalformedInputError("the JWE iv must be 96 bits for A256GCM")
    if len(tag) != 16:
        raise MalformedInputError("the JWE tag must be 128 bits for A256GCM")
    ciphertext = b64u_decode(doc["ciphertext"], what="JWE ciphertext")
    return ParsedJWE(protected_b64, header, tuple(entries), iv, ciphertext, tag)


def decrypt(jwe: ParsedJWE, keys: Sequence[DecryptionKey]) -> tuple[bytes, DecryptionKey]:
    """Decrypt with whichever of *keys* the envelope names; return (plaintext, key).

    Raises :class:`DecryptionError` when no entry is for us or it does not
    decrypt. Decryption proves nothing about the sender: the caller must
    verify the inner signature.
    """
    ours = {k.kid: k for k in keys}
    entry = next((e for e in jwe.recipients if e.kid in ours), None)
    if entry is None:
        raise DecryptionError(
            "this envelope is not addressed to any of our encryption keys",
            hint="check that the sender used the current trust registry",
        )
    key = ours[entry.kid]
    try:
        shared = key.exchange(EncryptionKey(entry.epk))
    except VerificationError as exc:
        raise DecryptionError(exc.message) from None
    try:
        cek = aes_key_unwrap(_kek(shared), entry.encrypted_key)
        plaintext = AESGCM(cek).decrypt(
            jwe.iv, jwe.ciphertext + jwe.tag, jwe.protected_b64.encode("ascii")
        )
    except (InvalidUnwrap, InvalidTag, ValueError):
        raise DecryptionError(
            "the envelope does not decrypt with our key: it was altered in transit or damaged"
        ) from None
    return plaintext, key
