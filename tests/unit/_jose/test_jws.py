"""JWS with Ed25519 only: hostile headers, forged signatures, algorithm confusion."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws as jf_jws
from joserfc.jwk import OKPKey

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose.jws import (
    MAX_SIGNATURE_B64,
    sign_compact,
    sign_flattened,
    verify_flattened,
    verify_parts,
)
from safeshare.errors import MalformedInputError, UnknownKeyError, VerificationError
from safeshare.keys import SECRET_KEY_ACCESS, SigningKey, VerifyKey

TYP = "safeshare-test+jws"
PAYLOAD = b'{"msg":"hello","n":1}'
SIGNER = SigningKey.from_private_bytes(hashlib.sha256(b"jws signer").digest())
OTHER = SigningKey.from_private_bytes(hashlib.sha256(b"jws other").digest())

Resolver = Callable[[str, dict[str, Any]], VerifyKey]


class RecordingResolver:
    """Resolves only SIGNER's kid and remembers whether it was asked."""

    def __init__(self, keys: tuple[VerifyKey, ...] = (SIGNER.public,)) -> None:
        self.keys = {k.kid: k for k in keys}
        self.calls: list[str] = []

    def __call__(self, kid: str, header: dict[str, Any]) -> VerifyKey:
        self.calls.append(kid)
        try:
            return self.keys[kid]
        except KeyError:
            raise UnknownKeyError(f"no key {kid}") from None


def verify(token: str, resolver: Resolver | None = None) -> tuple[dict[str, Any], bytes]:
    protected, payload, signature = token.split(".")
    return verify_parts(
        protected,
        payload,
        signature,
        what="test JWS",
        typ=TYP,
        resolve_key=resolver or RecordingResolver(),
    )


def encode_header(header: dict[str, Any]) -> str:
    return b64u_encode(strictjson.dumps(header))


def forge(header: dict[str, Any], payload: bytes, signature: bytes) -> str:
    return f"{encode_header(header)}.{b64u_encode(payload)}.{b64u_encode(signature)}"


def test_valid_signature_verifies() -> None:
    token = sign_compact({"typ": TYP}, PAYLOAD, SIGNER)
    resolver = RecordingResolver()
    header, payload = verify(token, resolver)
    assert payload == PAYLOAD
    assert header == {"alg": "Ed25519", "kid": SIGNER.kid, "typ": TYP}
    assert resolver.calls == [SIGNER.kid]


def test_signature_is_over_the_exact_signing_input() -> None:
    token = sign_compact({"typ": TYP}, PAYLOAD, SIGNER)
    protected, payload, signature = token.split(".")
    # An independent check with the cryptography primitive itself.
    SIGNER.public._key.verify(b64u_decode(signature), f"{protected}.{payload}".encode())
    assert len(b64u_decode(signature)) == 64


def test_signing_is_deterministic() -> None:
    assert sign_compact({"typ": TYP}, PAYLOAD, SIGNER) == sign_compact(
        {"typ": TYP}, PAYLOAD, SIGNER
    )


def test_empty_payload_is_signed_and_verified() -> None:
    assert verify(sign_compact({"typ": TYP}, b"", SIGNER))[1] == b""


def test_flattened_serialization_round_trips() -> None:
    doc = sign_flattened({"typ": TYP}, PAYLOAD, SIGNER)
    assert set(doc) == {"payload", "protected", "signature"}
    header, payload = verify_flattened(
        doc, what="test JWS", typ=TYP, resolve_key=RecordingResolver()
    )
    assert payload == PAYLOAD
    assert header["kid"] == SIGNER.kid


def _joserfc_key() -> OKPKey:
    jwk: dict[str, str | list[str]] = dict(SIGNER.to_private_jwk(SECRET_KEY_ACCESS))
    return OKPKey.import_key(jwk)


def test_interop_joserfc_verifies_our_signature() -> None:
    key = _joserfc_key()
    token = sign_compact({"typ": TYP}, PAYLOAD, SIGNER)
    obj = jf_jws.deserialize_compact(token, key, algorithms=["Ed25519"])
    assert obj.payload == PAYLOAD
    assert obj.headers()["kid"] == SIGNER.kid


def test_interop_we_verify_a_joserfc_signature() -> None:
    key = _joserfc_key()
    token = jf_jws.serialize_compact(
        {"alg": "Ed25519", "kid": SIGNER.kid, "typ": TYP}, PAYLOAD, key, algorithms=["Ed25519"]
    )
    assert verify(token)[1] == PAYLOAD


def test_signature_by_a_different_key_is_refused() -> None:
    # OTHER signs, but the header claims SIGNER's kid.
    header = {"alg": "Ed25519", "kid": SIGNER.kid, "typ": TYP}
    signing_input = f"{encode_header(header)}.{b64u_encode(PAYLOAD)}"
    token = signing_input + "." + b64u_encode(OTHER.sign(signing_input.encode()))
    with pytest.raises(VerificationError, match=SIGNER.kid):
        verify(token)


def test_key_not_known_to_the_resolver_is_refused() -> None:
    token = sign_compact({"typ": TYP}, PAYLOAD, OTHER)
    with pytest.raises(UnknownKeyError):
        verify(token)


@pytest.mark.parametrize("part", [0, 1, 2])
def test_any_flipped_byte_is_refused(part: int) -> None:
    token = sign_compact({"typ": TYP}, PAYLOAD, SIGNER)
    parts = token.split(".")
    for position in range(len(b64u_decode(parts[part]))):
        raw = bytearray(b64u_decode(parts[part]))
        raw[position] ^= 0x01
        tampered = list(parts)
        tampered[part] = b64u_encode(bytes(raw))
        # A flipped kid names an unknown key; anything else is malformed or forged.
        with pytest.raises((VerificationError, MalformedInputError, UnknownKeyError)):
            verify(".".join(tampered))


def test_modified_payload_is_a_verification_error() -> None:
    protected, _, signature = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    token = f"{protected}.{b64u_encode(PAYLOAD.replace(b'1', b'2'))}.{signature}"
    with pytest.raises(VerificationError):
        verify(token)


def test_re_encoded_header_with_same_members_is_refused() -> None:
    # The signature covers the header's bytes, not its meaning.
    protected, payload, signature = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    header = json.loads(b64u_decode(protected))
    reordered = b64u_encode(json.dumps(dict(reversed(header.items()))).encode())
    assert reordered != protected
    with pytest.raises(VerificationError):
        verify(f"{reordered}.{payload}.{signature}")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused_before_any_key_lookup(alg: str) -> None:
    resolver = RecordingResolver()
    for signature in (b"", SIGNER.sign(b"x")):
        token = forge({"alg": alg, "kid": SIGNER.kid, "typ": TYP}, PAYLOAD, signature)
        with pytest.raises(MalformedInputError, match="unsigned"):
            verify(token, resolver)
    # The same, produced by the signing helper with an overriding header.
    with pytest.raises(MalformedInputError, match="unsigned"):
        verify(sign_compact({"alg": alg, "typ": TYP}, PAYLOAD, SIGNER), resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA", "PS256", "Ed448"])
def test_other_algorithms_are_refused_even_with_a_valid_signature(alg: str) -> None:
    # EdDSA is the polymorphic name of RFC 8037; the profile uses Ed25519 (RFC 9864).
    resolver = RecordingResolver()
    token = sign_compact({"alg": alg, "typ": TYP}, PAYLOAD, SIGNER)
    with pytest.raises(MalformedInputError, match="alg"):
        verify(token, resolver)
    assert resolver.calls == []


def test_empty_signature_is_refused() -> None:
    protected, payload, _ = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    resolver = RecordingResolver()
    with pytest.raises(MalformedInputError, match="empty signature"):
        verify(f"{protected}.{payload}.", resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("length", [1, 63, 65])
def test_wrong_signature_length_is_refused(length: int) -> None:
    protected, payload, _ = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    with pytest.raises((VerificationError, MalformedInputError)):
        verify(f"{protected}.{payload}.{b64u_encode(bytes(length))}")


def test_overlong_signature_is_refused_before_decoding() -> None:
    protected, payload, _ = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    resolver = RecordingResolver()
    with pytest.raises(MalformedInputError, match="too long"):
        verify(f"{protected}.{payload}.{'A' * (MAX_SIGNATURE_B64 + 2)}", resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("part", [1, 2])
def test_non_canonical_base64url_is_refused(part: int) -> None:
    parts = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    parts[part] += "="
    with pytest.raises(MalformedInputError):
        verify(".".join(parts))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("jwk", {"kty": "OKP", "crv": "Ed25519", "x": b64u_encode(OTHER.public.raw)}),
        ("jku", "https://attacker.example/keys"),
        ("x5u", "https://attacker.example/cert"),
        ("x5c", ["MIIB"]),
        ("x5t", "abc"),
        ("x5t#S256", "abc"),
        ("zip", "DEF"),
        ("crit", ["exp"]),
        ("crit", []),
        ("crit", ["x-unknown"]),
        ("b64", False),
        ("cty", "JWT"),
        ("x-extra", 1),
    ],
)
def test_forbidden_and_unknown_header_members_are_refused(member: str, value: object) -> None:
    resolver = RecordingResolver()
    header: dict[str, Any] = {"typ": TYP, member: value}
    if member == "crit" and isinstance(value, list):
        header.update(dict.fromkeys(value, 1))
    with pytest.raises(MalformedInputError):
        verify(sign_compact(header, PAYLOAD, SIGNER), resolver)
    assert resolver.calls == []


def test_embedded_key_of_the_attacker_is_not_used() -> None:
    # The attacker signs with OTHER and embeds OTHER's public key.
    header = {"typ": TYP, "jwk": OTHER.public.to_jwk()}
    with pytest.raises(MalformedInputError, match="jwk"):
        verify(sign_compact(header, PAYLOAD, OTHER), RecordingResolver((OTHER.public,)))


def test_allowed_extends_the_header_members() -> None:
    token = sign_compact({"typ": TYP, "cty": "json"}, PAYLOAD, SIGNER)
    protected, payload, signature = token.split(".")
    header, _ = verify_parts(
        protected,
        payload,
        signature,
        what="test JWS",
        typ=TYP,
        resolve_key=RecordingResolver(),
        allowed=frozenset({"alg", "kid", "typ", "cty"}),
    )
    assert header["cty"] == "json"


def test_wrong_typ_is_refused() -> None:
    with pytest.raises(MalformedInputError, match="typ"):
        verify(sign_compact({"typ": "JWT"}, PAYLOAD, SIGNER))
    with pytest.raises(MalformedInputError, match="typ"):
        verify(sign_compact({}, PAYLOAD, SIGNER))


@pytest.mark.parametrize(
    "kid",
    [
        "../../etc/passwd",
        "' OR 1=1 --",
        "kid\x00" + "A" * 39,
        "A" * 10 * 1024,
        "A" * 2 * 1024,
        SIGNER.kid + "\x00",
        SIGNER.kid[:-1],
    ],
)
def test_hostile_kid_is_refused_before_any_key_lookup(kid: str) -> None:
    resolver = RecordingResolver()
    with pytest.raises(MalformedInputError):
        verify(sign_compact({"kid": kid, "typ": TYP}, PAYLOAD, SIGNER), resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("kid", [None, 1, 1.5, True, [], {}])
def test_non_string_kid_is_refused(kid: object) -> None:
    resolver = RecordingResolver()
    with pytest.raises(MalformedInputError, match="kid"):
        verify(sign_compact({"kid": kid, "typ": TYP}, PAYLOAD, SIGNER), resolver)
    assert resolver.calls == []


def _public_key_encodings(key: VerifyKey) -> dict[str, bytes]:
    public = key._key
    return {
        "raw": key.raw,
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk": json.dumps(key.to_jwk()).encode(),
        "jwk-compact": strictjson.dumps(key.to_jwk()),
        "x": key.to_jwk()["x"].encode(),
    }


@pytest.mark.parametrize("encoding", ["raw", "pem", "der", "jwk", "jwk-compact", "x"])
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "hs256"])
def test_hmac_signed_with_the_public_key_is_refused(encoding: str, alg: str) -> None:
    secret = _public_key_encodings(SIGNER.public)[encoding]
    digest = {"hs256": hashlib.sha256, "HS256": hashlib.sha256}.get(alg)
    digest = digest or (hashlib.sha384 if alg == "HS384" else hashlib.sha512)
    header = {"alg": alg, "kid": SIGNER.kid, "typ": TYP}
    signing_input = f"{encode_header(header)}.{b64u_encode(PAYLOAD)}"
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    resolver = RecordingResolver()
    with pytest.raises(MalformedInputError, match="alg"):
        verify(f"{signing_input}.{b64u_encode(mac)}", resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("encoding", ["raw", "pem", "der", "jwk", "x"])
def test_hmac_under_an_ed25519_header_does_not_verify(encoding: str) -> None:
    # Even if the header claims Ed25519, the key verifies Ed25519 only.
    secret = _public_key_encodings(SIGNER.public)[encoding]
    header = {"alg": "Ed25519", "kid": SIGNER.kid, "typ": TYP}
    signing_input = f"{encode_header(header)}.{b64u_encode(PAYLOAD)}"
    for digest in (hashlib.sha256, hashlib.sha512):
        mac = hmac.new(secret, signing_input.encode(), digest).digest()
        with pytest.raises(VerificationError):
            verify(f"{signing_input}.{b64u_encode(mac)}")


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        "a.b.c",
        {"payload": "", "protected": ""},
        {"payload": "", "protected": "", "signature": "", "header": {"kid": "x"}},
        {"payload": "", "protected": "", "signature": "", "signatures": []},
        {"payload": 1, "protected": "", "signature": ""},
        {"payload": "", "protected": None, "signature": ""},
        {"payload": "", "protected": "", "signature": ["x"]},
    ],
)
def test_flattened_structure_is_strict(doc: object) -> None:
    resolver = RecordingResolver()
    with pytest.raises(MalformedInputError):
        verify_flattened(doc, what="test JWS", typ=TYP, resolve_key=resolver)
    assert resolver.calls == []


def test_flattened_unprotected_header_is_refused_even_with_valid_signature() -> None:
    doc: dict[str, Any] = dict(sign_flattened({"typ": TYP}, PAYLOAD, SIGNER))
    doc["header"] = {"kid": OTHER.kid}
    with pytest.raises(MalformedInputError, match="header"):
        verify_flattened(doc, what="test JWS", typ=TYP, resolve_key=RecordingResolver())


def test_resolver_errors_propagate() -> None:
    def refuse(kid: str, header: dict[str, Any]) -> VerifyKey:
        raise UnknownKeyError(f"revoked or unknown: {kid}")

    with pytest.raises(UnknownKeyError, match="revoked or unknown"):
        verify(sign_compact({"typ": TYP}, PAYLOAD, SIGNER), refuse)


def test_decoded_payload_is_returned_without_decoding_again() -> None:
    """A caller that decoded the payload itself passes it; the signature is still checked."""
    protected, payload_b64, signature = sign_compact({"typ": TYP}, PAYLOAD, SIGNER).split(".")
    decoded = b64u_decode(payload_b64)
    header, payload = verify_parts(
        protected,
        payload_b64,
        signature,
        what="test JWS",
        typ=TYP,
        resolve_key=RecordingResolver(),
        decoded_payload=decoded,
    )
    assert payload is decoded
    assert header["kid"] == SIGNER.kid
    # The signature covers the base64url text, not the bytes handed in.
    tampered = b64u_encode(b'{"msg":"bye","n":1}')
    with pytest.raises(VerificationError):
        verify_parts(
            protected,
            tampered,
            signature,
            what="test JWS",
            typ=TYP,
            resolve_key=RecordingResolver(),
            decoded_payload=decoded,
        )
