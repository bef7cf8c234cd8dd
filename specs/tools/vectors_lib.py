"""Building blocks for ``generate_vectors.py``: seeded randomness, hand-made JOSE.

Everything here is deliberately independent of the code under test where
that matters: the content encryption, key agreement and key wrapping of a
hostile envelope are done with ``cryptography`` directly (so a vector can
carry an ``enc`` or a protected header the library would never produce, yet
be correctly encrypted), and the generator peeks into envelopes with its own
decryption. The library's builders (``seal_with_randomness``, ``jwe.encrypt``,
``jws.sign_compact``, ``sdjwt.conceal``/``create_disclosure``/``serialize``)
are used for everything that is *supposed* to be standard.

Nothing here reads the clock or the operating system's random generator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._internal.clock import from_unix, to_unix
from safeshare._jose import jwe, jws, sdjwt
from safeshare._testnet import TestNetwork
from safeshare.envelope._profile import (
    DECOYS,
    ENVELOPE_TYP,
    KB_JWT_TYP,
    PROTOCOL_VERSION,
    SD_JWT_TYP,
)
from safeshare.errors import UsageError
from safeshare.keys import (
    SECRET_KEY_ACCESS,
    AgencyKeySet,
    DecryptionKey,
    EncryptionKey,
    SigningKey,
)
from safeshare.purpose.conditions import HandlingConditions
from safeshare.registry import RegistryDocument

#: The fixed clock of every vector.
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
#: Seed of the test network's keys (``safeshare._testnet.build``).
SEED: Final = b"safeshare-vectors-v1"
#: Default clock skew of the verifier (seconds).
SKEW: Final = 300

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
XD: Final = "XD-FIU"

#: The protected header every profile envelope has (spec section 5.1), in the library's order.
PROTECTED: Final[dict[str, str]] = {"enc": "A256GCM", "typ": ENVELOPE_TYP, "cty": SD_JWT_TYP}
#: The signed claims a verifier returns (``OpenedEnvelope.verified_claims``), in order.
RETURNED_CLAIMS: Final = (
    "iss",
    "aud",
    "iat",
    "exp",
    "jti",
    "ver",
    "msg_type",
    "purpose",
    "legal_basis",
    "case_ref",
    "handling",
    "sealed_to",
)

# -- randomness ----------------------------------------------------------------


class DeterministicRandom:
    """``randbytes`` for the generator: SHA-256 in counter mode over a label.

    Each vector draws from its own label, so adding or changing one vector
    never changes the bytes of another.
    """

    __slots__ = ("_buffer", "_counter", "_label")

    def __init__(self, label: str) -> None:
        self._label = label.encode("utf-8")
        self._counter = 0
        self._buffer = b""

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            block = hashlib.sha256(
                b"safeshare-vectors-v1/random\x00"
                + self._label
                + b"\x00"
                + self._counter.to_bytes(8, "big")
            ).digest()
            self._buffer += block
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


def derived_bytes(label: str) -> bytes:
    """32 fixed bytes for *label* (keys that are not part of the test network)."""
    return hashlib.sha256(b"safeshare-vectors-v1/key\x00" + label.encode("utf-8")).digest()


def derived_signing_key(label: str) -> SigningKey:
    """An Ed25519 key that no registry lists (an attacker's, or an unregistered one)."""
    return SigningKey.from_private_bytes(derived_bytes(label))


def derived_decryption_key(label: str) -> DecryptionKey:
    """An X25519 key that no registry lists."""
    return DecryptionKey.from_private_bytes(derived_bytes(label))


# -- JSON and base64url ----------------------------------------------------------


def dumps(value: Any) -> bytes:
    """Compact JSON in insertion order (what the library emits)."""
    return strictjson.dumps(value)


def b64json(value: Any) -> str:
    """base64url of compact JSON; *value* may also be raw bytes (hostile JSON text)."""
    return b64u_encode(value if isinstance(value, bytes) else dumps(value))


def loads(data: bytes | str) -> Any:
    """Parse JSON the generator itself produced (order preserved)."""
    return json.loads(data)


def flip_trailing_bits(text: str) -> str:
    """Set a non-zero value in the unused low bits of the last base64url character.

    The decoded bytes are the same for a lenient decoder; a strict one rejects
    the encoding (RFC 4648 section 3.5, RFC 7515 section 2).
    """
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused = {2: 4, 3: 2}[len(text) % 4]  # bits of the last character the bytes do not use
    index = alphabet.index(text[-1])
    if index % (1 << unused):
        raise ValueError("the encoding already has non-zero trailing bits")
    return text[:-1] + alphabet[index | 1]


def non_url_alphabet(text: str) -> str:
    """The same bytes in the standard base64 alphabet (``+`` and ``/``)."""
    if "-" not in text and "_" not in text:
        raise ValueError("the value has no '-' or '_' to translate")
    return text.replace("-", "+").replace("_", "/")


def padded(text: str) -> str:
    """The same bytes with ``=`` padding."""
    if len(text) % 4 == 0:
        raise ValueError("a value whose length is a multiple of 4 takes no padding")
    return text + "=" * (-len(text) % 4)


# -- JWS --------------------------------------------------------------------------


def jws_compact(
    header: Mapping[str, Any] | bytes, payload: Mapping[str, Any] | bytes, key: SigningKey
) -> str:
    """A compact JWS with an arbitrary header (dict, or raw JSON bytes), signed by *key*."""
    return sign_parts(b64json(header), b64json(payload), key)


def sign_parts(header_b64: str, payload_b64: str, key: SigningKey) -> str:
    """Sign the two encoded parts exactly as given (they may be non-canonical)."""
    signing_input = f"{header_b64}.{payload_b64}"
    return signing_input + "." + b64u_encode(key.sign(signing_input.encode("ascii")))


def hmac_compact(header: Mapping[str, Any], payload: Mapping[str, Any], secret: bytes) -> str:
    """An HS256 compact JWS "signed" with *secret* (algorithm-confusion vectors)."""
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64u_encode(mac)


# -- JWE --------------------------------------------------------------------------

_KW_ALG: Final = "ECDH-ES+A256KW"


def concat_kdf(shared: bytes, alg: str, bits: int) -> bytes:
    """RFC 7518 section 4.6.2 Concat KDF (SHA-256), no ``apu``/``apv``."""
    other_info = (
        len(alg).to_bytes(4, "big")
        + alg.encode("ascii")
        + (0).to_bytes(4, "big")
        + (0).to_bytes(4, "big")
        + bits.to_bytes(4, "big")
    )
    return ConcatKDFHash(hashes.SHA256(), bits // 8, other_info).derive(shared)


def _content_encrypt(
    enc: str, cek: bytes, iv: bytes, plaintext: bytes, aad: bytes
) -> tuple[bytes, bytes]:
    if enc in ("A256GCM", "A128GCM"):
        sealed = AESGCM(cek).encrypt(iv, plaintext, aad)
        return sealed[:-16], sealed[-16:]
    if enc == "A256CBC-HS512":  # RFC 7518 section 5.2.2.1 and 5.2.5
        mac_key, enc_key = cek[:32], cek[32:]
        padder = padding.PKCS7(128).padder()
        padded_text = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(padded_text) + encryptor.finalize()
        al = (len(aad) * 8).to_bytes(8, "big")
        tag = hmac.new(mac_key, aad + iv + ciphertext + al, hashlib.sha512).digest()[:32]
        return ciphertext, tag
    raise ValueError(f"no content encryption {enc!r} in the generator")


_CEK_BYTES: Final = {"A256GCM": 32, "A128GCM": 16, "A256CBC-HS512": 64}
_IV_BYTES: Final = {"A256GCM": 12, "A128GCM": 12, "A256CBC-HS512": 16}


def encrypt(
    plaintext: bytes,
    recipients: Sequence[EncryptionKey],
    randbytes: Callable[[int], bytes],
    *,
    protected: Mapping[str, Any] | bytes | str = PROTECTED,
    enc: str = "A256GCM",
    iv_bytes: int | None = None,
    wrap: Callable[[bytes], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A JWE in general JSON serialization, built from primitives.

    *protected* is the header as a dict, as raw JSON bytes (duplicates
    allowed), or as the exact base64url text to send (non-canonical allowed);
    the AAD is always the text sent (RFC 7516 section 5.1 step 14). *enc*
    chooses the content encryption actually used. With the defaults the
    output equals ``jwe.encrypt`` for the same ``randbytes`` (the vectors'
    tests check that); randomness is drawn in the same order: CEK, IV, then
    one ephemeral key per recipient. *wrap*, if given, replaces the key
    management: it receives the CEK and returns the ``recipients`` entries.
    """
    protected_b64 = protected if isinstance(protected, str) else b64json(protected)
    cek = randbytes(_CEK_BYTES[enc])
    iv = randbytes(iv_bytes if iv_bytes is not None else _IV_BYTES[enc])
    entries = [] if wrap is None else wrap(cek)
    for key in recipients if wrap is None else ():
        ephemeral = x25519.X25519PrivateKey.from_private_bytes(randbytes(32))
        shared = ephemeral.exchange(key.public_key)
        entries.append(
            {
                "header": {
                    "alg": _KW_ALG,
                    "kid": key.kid,
                    "epk": {
                        "kty": "OKP",
                        "crv": "X25519",
                        "x": b64u_encode(ephemeral.public_key().public_bytes_raw()),
                    },
                },
                "encrypted_key": b64u_encode(aes_key_wrap(concat_kdf(shared, _KW_ALG, 256), cek)),
            }
        )
    ciphertext, tag = _content_encrypt(enc, cek, iv, plaintext, protected_b64.encode("ascii"))
    return {
        "protected": protected_b64,
        "recipients": entries,
        "iv": b64u_encode(iv),
        "ciphertext": b64u_encode(ciphertext),
        "tag": b64u_encode(tag),
    }


def encrypt_ecdh_es_direct(
    plaintext: bytes, recipient: EncryptionKey, randbytes: Callable[[int], bytes]
) -> dict[str, Any]:
    """A correct JWE with ``alg`` ``ECDH-ES`` (direct key agreement, RFC 7518 section 4.6).

    The CEK is the Concat KDF output (AlgorithmID = ``enc``) and the
    encrypted key is empty: off-profile, but decryptable by a lenient library.
    """
    protected_b64 = b64json(PROTECTED)
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(randbytes(32))
    cek = concat_kdf(ephemeral.exchange(recipient.public_key), "A256GCM", 256)
    iv = randbytes(12)
    ciphertext, tag = _content_encrypt("A256GCM", cek, iv, plaintext, protected_b64.encode())
    epk_x = b64u_encode(ephemeral.public_key().public_bytes_raw())
    return {
        "protected": protected_b64,
        "recipients": [
            {
                "header": {
                    "alg": "ECDH-ES",
                    "kid": recipient.kid,
                    "epk": {"kty": "OKP", "crv": "X25519", "x": epk_x},
                },
                "encrypted_key": "",
            }
        ],
        "iv": b64u_encode(iv),
        "ciphertext": b64u_encode(ciphertext),
        "tag": b64u_encode(tag),
    }


def decrypt(envelope: Mapping[str, Any], keyset: AgencyKeySet) -> bytes:
    """The generator's own decryption of a profile envelope (to read back ``jti``...)."""
    for entry in envelope["recipients"]:
        for key in keyset.decryption_keys:
            if entry["header"]["kid"] != key.kid:
                continue
            private = x25519.X25519PrivateKey.from_private_bytes(
                key.private_bytes(SECRET_KEY_ACCESS)
            )
            peer = x25519.X25519PublicKey.from_public_bytes(
                b64u_decode(entry["header"]["epk"]["x"])
            )
            kek = concat_kdf(private.exchange(peer), _KW_ALG, 256)
            cek = aes_key_unwrap(kek, b64u_decode(entry["encrypted_key"]))
            return AESGCM(cek).decrypt(
                b64u_decode(envelope["iv"]),
                b64u_decode(envelope["ciphertext"]) + b64u_decode(envelope["tag"]),
                envelope["protected"].encode("ascii"),
            )
    raise ValueError(f"the envelope is not sealed to {keyset.agency}")


def token_payload(token: str) -> dict[str, Any]:
    """The (unverified) payload of an SD-JWT's issuer-signed JWT."""
    payload: dict[str, Any] = loads(b64u_decode(token.split("~", 1)[0].split(".")[1]))
    return payload


# -- SD-JWT and claims ------------------------------------------------------------


def raw_disclosure(array: Sequence[Any] | bytes) -> str:
    """A disclosure from any JSON array (or raw JSON bytes), bypassing the issuer's checks."""
    return b64json(array if isinstance(array, bytes) else list(array))


def join_sd_jwt(issuer_jwt: str, disclosures: Sequence[str], kb_jwt: str = "") -> str:
    """``<JWT>~<D1>~...~<Dn>~<KB>`` without any of ``sdjwt.serialize``'s checks."""
    return "~".join([issuer_jwt, *disclosures, kb_jwt])


@dataclass
class Draft:
    """An issuer-signed JWT being built by hand: header, claims, disclosures, key."""

    claims: dict[str, Any]
    disclosures: list[str]
    key: SigningKey
    enc_keys: list[EncryptionKey]
    header: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.header:
            self.header = {"alg": "Ed25519", "kid": self.key.kid, "typ": SD_JWT_TYP}

    def issuer_jwt(self) -> str:
        standard = {"alg": "Ed25519", "kid": self.key.kid, "typ": SD_JWT_TYP}
        if self.header == standard and list(self.header) == list(standard):
            return jws.sign_compact({"typ": SD_JWT_TYP}, dumps(self.claims), self.key)
        return jws_compact(self.header, self.claims, self.key)

    def token(self) -> str:
        """The SD-JWT; joined by hand when ``sdjwt.serialize`` refuses a hostile part."""
        issuer_jwt = self.issuer_jwt()
        try:
            return sdjwt.serialize(issuer_jwt, self.disclosures)
        except UsageError:
            return join_sd_jwt(issuer_jwt, self.disclosures)


def build_draft(
    net: TestNetwork,
    randbytes: Callable[[int], bytes],
    *,
    sender: str = XA,
    to: Sequence[str] = (XB,),
    record: Mapping[str, Any],
    sd: sdjwt.SdSpec | None = None,
    iat: datetime = NOW,
    ttl: timedelta = timedelta(days=7),
    handling: HandlingConditions | None = None,
    msg_type: str = "spontaneous_information",
    purpose: str = "criminal_investigation",
    legal_basis: str = "BUDAPEST-2AP.Art7",
    case_ref: str = "XA-2026-000123",
) -> Draft:
    """The claims ``seal`` would sign, built by hand so that a case can change them.

    Randomness is drawn in ``seal``'s order (disclosure salts and decoys, then
    ``jti``); with :func:`encrypt_draft` afterwards the envelope equals
    ``seal_with_randomness``'s for the same inputs.
    """
    concealed, disclosures = sdjwt.conceal(dict(record), randbytes=randbytes, decoys=DECOYS, sd=sd)
    enc_keys = [net.registry.encryption_key(agency, at=iat) for agency in to]
    keyset = net.keysets[sender]
    when = to_unix(iat)
    claims = {
        "iss": sender,
        "aud": list(to),
        "iat": when,
        "exp": when + int(ttl.total_seconds()),
        "jti": b64u_encode(randbytes(16)),
        "ver": PROTOCOL_VERSION,
        "msg_type": msg_type,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "case_ref": case_ref,
        "handling": (handling or HandlingConditions()).model_dump(mode="json"),
        "sealed_to": [k.kid for k in enc_keys],
        "record": concealed,
        "_sd_alg": sdjwt.SD_ALG,
    }
    return Draft(claims, [d.encoded for d in disclosures], keyset.signing_key, enc_keys)


def encrypt_draft(
    draft: Draft, randbytes: Callable[[int], bytes], token: str | None = None
) -> dict[str, Any]:
    """Encrypt the draft's token (or *token*) with the library's ``jwe.encrypt``."""
    text = draft.token() if token is None else token
    return jwe.encrypt(
        text.encode("ascii"), draft.enc_keys, typ=ENVELOPE_TYP, cty=SD_JWT_TYP, randbytes=randbytes
    )


def digest_list(
    disclosures: Sequence[str], randbytes: Callable[[int], bytes], decoys: int = DECOYS
) -> list[str]:
    """``_sd`` for *disclosures* plus decoys, sorted (RFC 9901 sections 4.2.4.1, 4.2.5)."""
    digests = [sdjwt.digest_of(d) for d in disclosures]
    digests += [b64u_encode(hashlib.sha256(randbytes(16)).digest()) for _ in range(decoys)]
    return sorted(digests)


def salt(randbytes: Callable[[int], bytes]) -> str:
    """A 128-bit salt as the issuer encodes it."""
    return b64u_encode(randbytes(16))


def expected_claims(
    token_or_payload: str | Mapping[str, Any], record: Mapping[str, Any]
) -> dict[str, Any]:
    """What ``verified_claims()`` returns for a valid envelope: the protocol claims
    as signed, and *record* (the members the recipient should see)."""
    payload = (
        token_payload(token_or_payload) if isinstance(token_or_payload, str) else token_or_payload
    )
    out = {name: payload[name] for name in RETURNED_CLAIMS}
    out["record"] = dict(record)
    if "cnf" in payload:  # the holder binding (specs/safeshare-v1.md section 7.1)
        out["cnf"] = payload["cnf"]
    return out


# -- registries -------------------------------------------------------------------


def with_key_fields(
    document: RegistryDocument, agency: str, kid: str, **fields: Any
) -> RegistryDocument:
    """A copy of *document* where key *kid* of *agency* has the given fields changed."""
    data = document.model_dump(mode="python")
    found = False
    for entry in data["agencies"]:
        if entry["id"] != agency:
            continue
        for key in entry["keys"]:
            if key["kid"] == kid:
                key.update(fields)
                found = True
    if not found:
        raise ValueError(f"{agency} has no key {kid}")
    return RegistryDocument.model_validate(data)


def replace_disclosures(draft: Draft, disclosures: Sequence[str]) -> None:
    """Give *draft* these disclosures, with ``record._sd`` re-computed to reference
    exactly them (the decoys stay)."""
    record = draft.claims["record"]
    old = {sdjwt.digest_of(d) for d in draft.disclosures}
    decoys = [d for d in record["_sd"] if d not in old]
    record["_sd"] = sorted(decoys + [sdjwt.digest_of(d) for d in disclosures])
    draft.disclosures = list(disclosures)


def wrap_for(recipient: EncryptionKey, ephemeral_seed: bytes, cek: bytes) -> dict[str, Any]:
    """One ``ECDH-ES+A256KW`` recipient entry for *cek* with a given ephemeral key."""
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(ephemeral_seed)
    kek = concat_kdf(ephemeral.exchange(recipient.public_key), _KW_ALG, 256)
    return {
        "header": {
            "alg": _KW_ALG,
            "kid": recipient.kid,
            "epk": {
                "kty": "OKP",
                "crv": "X25519",
                "x": b64u_encode(ephemeral.public_key().public_bytes_raw()),
            },
        },
        "encrypted_key": b64u_encode(aes_key_wrap(kek, cek)),
    }


def stored_deflate(data: bytes) -> bytes:
    """Raw DEFLATE (RFC 1951) in one stored block: the same bytes on every zlib build."""
    if len(data) > 0xFFFF:
        raise ValueError("one stored block holds at most 65535 bytes")
    size = len(data).to_bytes(2, "little")
    return b"\x01" + size + bytes(b ^ 0xFF for b in size) + data


def json_depth(value: Any) -> int:
    """Nesting depth as the profile counts it: a scalar is 0, ``[]``/``{}`` is 1."""
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0


def nested_object(depth: int) -> dict[str, Any]:
    """``{"level": {"level": ... {}}}`` of exactly *depth* levels."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"level": value}
    return value


# -- forwarding hops (specs/safeshare-v1.md section 7) ------------------------------


def bind_holder(draft: Draft, net: TestNetwork) -> None:
    """Add ``cnf`` to a draft sealed to one agency, as ``seal`` does (section 7.1): that
    agency's newest signing key valid at ``iat``, after the other claims."""
    (agency,) = draft.claims["aud"]
    key = net.registry.signing_key(agency, at=from_unix(draft.claims["iat"])).to_jwk()
    draft.claims["cnf"] = {"jwk": {"kty": key["kty"], "crv": key["crv"], "x": key["x"]}}


def hop_claims(kb_jwt: str) -> dict[str, Any]:
    """The (unverified) claims of a forwarding hop's Key Binding JWT, in signed order."""
    claims: dict[str, Any] = loads(b64u_decode(kb_jwt.split(".")[1]))
    return claims


def changed(claims: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of *claims* with *changes*: a member set to ``None`` is removed, a new one
    is added at the end, an existing one keeps its place."""
    out = dict(claims)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def sign_hop(claims: Mapping[str, Any], key: SigningKey, *, typ: str = KB_JWT_TYP) -> str:
    """A forwarding hop: header ``{"alg":"Ed25519","kid":...,"typ":typ}``, as ``forward``
    signs it (section 7.2 step 3)."""
    return jws.sign_compact({"typ": typ}, dumps(dict(claims)), key)
