"""Envelope interoperability with independent JOSE and SD-JWT implementations.

Libraries (versions installed when this was written: joserfc 1.8.0, jwcrypto
1.6.1, sd-jwt 0.10.4, which verifies through jwcrypto). What they support,
read from their source under ``.venv/lib/python3.11/site-packages``:

* **JWS ``alg: Ed25519`` (RFC 9864).** Both libraries know the fully-specified
  name as well as the RFC 8037 ``EdDSA``:

  - jwcrypto: ``jwa._Ed25519`` (``name = 'Ed25519'``), listed in
    ``jws.default_allowed_algs``, so it verifies our tokens with no extra
    configuration (and so does the SD-JWT reference verifier, which calls
    ``jwcrypto.jws.JWS.verify``).
  - joserfc: ``joserfc._rfc9864.jws_eddsa.Ed25519`` is registered, but not
    *recommended*, and joserfc's default registry accepts only recommended
    algorithms ("Algorithm of 'Ed25519' is not recommended"). We therefore pass
    ``algorithms=["Ed25519"]``; no alias or hand-rolled primitive is needed.

* **JWE ``ECDH-ES+A256KW`` with X25519, ``A256GCM``, general JSON.**

  - joserfc: both are registered and recommended. But
    ``JWERegistry(verify_all_recipients=True)`` is the default: ``decrypt_json``
    then requires the one key it is given to decrypt *every* recipient entry,
    so a key of one of two recipients fails ("Unwrap AES key failed"). We pass
    ``verify_all_recipients=False`` for one recipient's key, and check all
    entries at once with a ``KeySet`` of both recipients' keys under the
    default. For encryption, ``GeneralJSONEncryption`` + ``encrypt_json``
    emits exactly our profile (per-recipient header ``{alg, kid, epk}``, epk
    ``{kty, crv, x}``, no ``apu``/``apv``, no shared unprotected header):
    nothing is post-processed.
  - jwcrypto: ``JWE(...)`` defaults to ``flattened=True``, which moves a
    single recipient's ``header``/``encrypted_key`` to the top level (the
    flattened serialization, RFC 7516 section 7.2.2), which the profile
    forbids; ``flattened=False`` gives the general serialization with exactly
    our members. Nothing is post-processed.

Every test compares complete values (claim sets, headers, plaintext digests),
so a disagreement in any claim fails it, and each negative test first checks
that the untampered input passes the same checks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given, settings
from joserfc import jwe as rfc_jwe
from joserfc import jws as rfc_jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwe import GeneralJSONEncryption, JWERegistry
from joserfc.jwk import KeySet, OKPKey
from jwcrypto import jwe as cj_jwe
from jwcrypto import jwk as cj_jwk
from jwcrypto import jws as cj_jws
from jwcrypto.common import JWException
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._testnet import TestNetwork
from safeshare.envelope import SD_JWT_TYP, OpenedEnvelope
from safeshare.errors import MalformedInputError, VerificationError
from safeshare.keys import ENC_ALG, SECRET_KEY_ACCESS, SIG_ALG
from tests.envelope_fixtures import (
    ENVELOPE_PROTECTED,
    NOW,
    RECORD,
    XA,
    XB,
    XC,
    XD,
    ReplayCaches,
    canonical,
    expected_claims,
    open_as,
    records,
    seal_default,
    sign_token,
)

#: What joserfc must be allowed to use (both are "recommended", but be explicit).
JOSERFC_JWE_ALGS: Final = ["ECDH-ES+A256KW", "A256GCM"]
#: joserfc registers RFC 9864 "Ed25519" but does not "recommend" it: allow it.
JOSERFC_JWS_ALGS: Final = ["Ed25519"]

Encryptor = Callable[[TestNetwork, bytes, Sequence[str]], str]


# -- keys for the other libraries -------------------------------------------------


def _okp(jwk: dict[str, str]) -> dict[str, str]:
    """Only the key material members (``kty``, ``crv``, ``x``, and ``d`` if private)."""
    return {k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "d"}}


def _rfc_key(jwk: dict[str, str]) -> OKPKey:
    """A joserfc key from a JWK."""
    members: dict[str, str | list[str]] = dict(jwk)
    return OKPKey.import_key(members)


def _decryption_jwk(net: TestNetwork, agency: str) -> dict[str, str]:
    return _okp(net.keysets[agency].decryption_key.to_private_jwk(SECRET_KEY_ACCESS))


def _sender_public_jwk(net: TestNetwork, kid: str) -> dict[str, str]:
    """The sender's public key as the *registry* lists it (not as the token claims)."""
    return _okp(net.registry.verify_key(XA, kid, at=NOW).to_jwk())


# -- decrypting with the other libraries ------------------------------------------


def _joserfc_decrypt(envelope: bytes, jwk: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    """(protected header, plaintext) with joserfc and one recipient's key."""
    registry = JWERegistry(algorithms=JOSERFC_JWE_ALGS, verify_all_recipients=False)
    result = rfc_jwe.decrypt_json(json.loads(envelope), _rfc_key(jwk), registry=registry)
    plaintext = result.plaintext
    assert isinstance(plaintext, bytes)
    return dict(result.protected), plaintext


def _jwcrypto_decrypt(envelope: bytes, jwk: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    """(protected header, plaintext) with jwcrypto and one recipient's key."""
    token = cj_jwe.JWE()
    token.deserialize(envelope.decode("ascii"), key=cj_jwk.JWK(**jwk))
    plaintext = token.plaintext
    assert isinstance(plaintext, bytes)
    protected = json.loads(base64.urlsafe_b64decode(json.loads(envelope)["protected"] + "=="))
    assert isinstance(protected, dict)
    return protected, plaintext


def _issuer_jwt(token: str) -> str:
    """The Issuer-signed JWT of an SD-JWT without key binding (``<JWT>~<D>~...~``)."""
    assert token.endswith("~"), "a directly sealed SD-JWT ends with '~' (no KB-JWT)"
    return token.split("~", 1)[0]


def _reference_verify(net: TestNetwork, token: str) -> tuple[dict[str, Any], list[Any]]:
    """The SD-JWT reference verifier's processed payload, with the key from the registry.

    Returns the payload and what the key callback was asked (issuer, header).
    """
    asked: list[Any] = []

    def issuer_key(iss: str, header: dict[str, Any]) -> cj_jwk.JWK:
        asked.append((iss, dict(header)))
        return cj_jwk.JWK(**_okp(net.registry.verify_key(iss, header["kid"], at=NOW).to_jwk()))

    payload = SDJWTVerifier(token, issuer_key).get_verified_payload()
    assert isinstance(payload, dict)
    return payload, asked


def _expected_header(net: TestNetwork) -> dict[str, str]:
    return {"alg": SIG_ALG, "kid": net.keysets[XA].signing_key.kid, "typ": SD_JWT_TYP}


def _check_plaintext_is_the_token(token: bytes, opened: OpenedEnvelope) -> None:
    """*token* is the SD-JWT safeshare opened: same Issuer-signed JWT, all disclosures."""
    text = token.decode("ascii")
    assert hashlib.sha256(_issuer_jwt(text).encode("ascii")).hexdigest() == opened.digest
    # One disclosure per record member (the record is flat here).
    assert len(text.split("~")) == 1 + len(RECORD) + 1


# -- 1. safeshare envelope -> joserfc / jwcrypto decrypt -----------------------------


@pytest.mark.parametrize("agency", [XB, XC])
def test_joserfc_decrypts_a_safeshare_envelope(
    testnet: TestNetwork, replay_caches: ReplayCaches, agency: str
) -> None:
    envelope = seal_default(testnet, to=(XB, XC))
    opened = open_as(testnet, agency, envelope, replay_caches)
    protected, plaintext = _joserfc_decrypt(envelope, _decryption_jwk(testnet, agency))
    assert protected == ENVELOPE_PROTECTED
    _check_plaintext_is_the_token(plaintext, opened)
    assert canonical(opened.verified_claims()) == canonical(
        expected_claims(testnet, jti=opened.jti, to=(XB, XC))
    )


def test_joserfc_decrypts_every_recipient_entry(testnet: TestNetwork) -> None:
    """With both recipients' keys, joserfc's default "verify all recipients" mode succeeds."""
    envelope = seal_default(testnet, to=(XB, XC))
    keys = KeySet(
        [
            _rfc_key(
                testnet.keysets[a].decryption_key.to_private_jwk(SECRET_KEY_ACCESS)
            )  # with kid: joserfc picks the key of each entry by its kid
            for a in (XB, XC)
        ]
    )
    result = rfc_jwe.decrypt_json(
        json.loads(envelope), keys, registry=JWERegistry(algorithms=JOSERFC_JWE_ALGS)
    )
    assert result.plaintext == _joserfc_decrypt(envelope, _decryption_jwk(testnet, XB))[1]
    assert [r.header for r in result.recipients] == [
        entry["header"] for entry in json.loads(envelope)["recipients"]
    ]
    assert [(r.header or {}).get("kid") for r in result.recipients] == [
        testnet.keysets[a].decryption_key.kid for a in (XB, XC)
    ]


@pytest.mark.parametrize("agency", [XB, XC])
def test_jwcrypto_decrypts_a_safeshare_envelope(
    testnet: TestNetwork, replay_caches: ReplayCaches, agency: str
) -> None:
    envelope = seal_default(testnet, to=(XB, XC))
    opened = open_as(testnet, agency, envelope, replay_caches)
    protected, plaintext = _jwcrypto_decrypt(envelope, _decryption_jwk(testnet, agency))
    assert protected == ENVELOPE_PROTECTED
    _check_plaintext_is_the_token(plaintext, opened)
    assert plaintext == _joserfc_decrypt(envelope, _decryption_jwk(testnet, agency))[1]


def test_a_non_recipient_key_decrypts_with_neither_library(testnet: TestNetwork) -> None:
    """XD-FIU is not a recipient: both libraries refuse (so the positive tests mean something)."""
    envelope = seal_default(testnet, to=(XB, XC))
    jwk = _decryption_jwk(testnet, XD)
    with pytest.raises(JoseError):
        _joserfc_decrypt(envelope, jwk)
    with pytest.raises(JWException):
        _jwcrypto_decrypt(envelope, jwk)


def test_a_tampered_ciphertext_decrypts_with_neither_library(testnet: TestNetwork) -> None:
    envelope = seal_default(testnet, to=(XB,))
    doc = json.loads(envelope)
    ciphertext = bytearray(b64u_decode(doc["ciphertext"]))
    ciphertext[0] ^= 0x80
    doc["ciphertext"] = b64u_encode(bytes(ciphertext))
    tampered = json.dumps(doc).encode("ascii")
    jwk = _decryption_jwk(testnet, XB)
    _joserfc_decrypt(envelope, jwk)  # the original decrypts
    with pytest.raises(JoseError):
        _joserfc_decrypt(tampered, jwk)
    with pytest.raises(JWException):
        _jwcrypto_decrypt(tampered, jwk)


# -- 2. the issuer-signed JWT verifies with joserfc and jwcrypto ----------------------


def _signed_payload_matches(payload: Any, opened: OpenedEnvelope) -> None:
    """The JWS payload is the signed claims: every protocol claim, the record concealed."""
    assert isinstance(payload, dict)
    protocol = {k: v for k, v in opened.verified_claims().items() if k != "record"}
    assert canonical({k: v for k, v in payload.items() if k not in {"record", "_sd_alg"}}) == (
        canonical(protocol)
    )
    assert payload["_sd_alg"] == "sha-256"
    assert list(payload["record"]) == ["_sd"]
    assert len(payload["record"]["_sd"]) == len(RECORD) + 2  # two decoys (spec section 5.3)


def test_issuer_signature_verifies_with_joserfc(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    envelope = seal_default(testnet, to=(XB,))
    opened = open_as(testnet, XB, envelope, replay_caches)
    _, plaintext = _joserfc_decrypt(envelope, _decryption_jwk(testnet, XB))
    issuer_jwt = _issuer_jwt(plaintext.decode("ascii"))
    kid = testnet.keysets[XA].signing_key.kid
    key = _rfc_key(_sender_public_jwk(testnet, kid))
    result = rfc_jws.deserialize_compact(issuer_jwt, key, algorithms=JOSERFC_JWS_ALGS)
    assert result.headers() == _expected_header(testnet)
    _signed_payload_matches(json.loads(result.payload), opened)


def test_issuer_signature_verifies_with_jwcrypto(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    envelope = seal_default(testnet, to=(XB,))
    opened = open_as(testnet, XB, envelope, replay_caches)
    _, plaintext = _jwcrypto_decrypt(envelope, _decryption_jwk(testnet, XB))
    issuer_jwt = _issuer_jwt(plaintext.decode("ascii"))
    kid = testnet.keysets[XA].signing_key.kid
    token = cj_jws.JWS()
    token.deserialize(issuer_jwt)
    # alg pinned: jwcrypto must run its RFC 9864 Ed25519 verifier, not pick one from the header.
    token.verify(cj_jwk.JWK(**_sender_public_jwk(testnet, kid)), alg=SIG_ALG)
    assert token.jose_header == _expected_header(testnet)
    _signed_payload_matches(json.loads(token.payload), opened)


def _flip_signature_byte(issuer_jwt: str, index: int) -> str:
    """Flip one bit of the *decoded* signature and re-encode canonically.

    (Flipping a base64url character could touch only the two unused trailing
    bits of the last character, which lenient decoders ignore.)
    """
    header, payload, signature = issuer_jwt.split(".")
    raw = bytearray(b64u_decode(signature))
    assert len(raw) == 64
    raw[index] ^= 0x01
    return f"{header}.{payload}.{b64u_encode(bytes(raw))}"


def _joserfc_encrypt(net: TestNetwork, plaintext: bytes, to: Sequence[str]) -> str:
    """A general JSON JWE built by joserfc in exactly the profile (no post-processing)."""
    obj = GeneralJSONEncryption(dict(ENVELOPE_PROTECTED), plaintext)
    for agency in to:
        key = net.registry.encryption_key(agency, at=NOW)
        # The JWK without kid: the recipient header's kid is ours to set (the thumbprint).
        obj.add_recipient({"alg": ENC_ALG, "kid": key.kid}, _rfc_key(_okp(key.to_jwk())))
    return json.dumps(rfc_jwe.encrypt_json(obj, None, algorithms=JOSERFC_JWE_ALGS))


def _jwcrypto_encrypt(net: TestNetwork, plaintext: bytes, to: Sequence[str]) -> str:
    """A general JSON JWE built by jwcrypto (``flattened=False``; no post-processing)."""
    token = cj_jwe.JWE(plaintext, protected=dict(ENVELOPE_PROTECTED), flattened=False)
    for agency in to:
        key = net.registry.encryption_key(agency, at=NOW)
        token.add_recipient(
            cj_jwk.JWK(**_okp(key.to_jwk())), header={"alg": ENC_ALG, "kid": key.kid}
        )
    serialized = token.serialize()
    assert isinstance(serialized, str)
    return serialized


@pytest.mark.parametrize("index", [0, 31, 32, 63])
def test_a_flipped_signature_byte_fails_everywhere(
    testnet: TestNetwork, replay_caches: ReplayCaches, index: int
) -> None:
    """joserfc, jwcrypto, the SD-JWT reference verifier and safeshare all reject it."""
    token, claims = sign_token(testnet, to=(XB,))
    issuer_jwt, rest = token.split("~", 1)
    bad_jwt = _flip_signature_byte(issuer_jwt, index)
    bad_token = f"{bad_jwt}~{rest}"
    kid = testnet.keysets[XA].signing_key.kid
    public = _sender_public_jwk(testnet, kid)

    for jwt, good in ((issuer_jwt, True), (bad_jwt, False)):
        if good:
            rfc_jws.deserialize_compact(jwt, _rfc_key(public), algorithms=["Ed25519"])
        else:
            with pytest.raises(BadSignatureError):
                rfc_jws.deserialize_compact(jwt, _rfc_key(public), algorithms=["Ed25519"])
        parsed = cj_jws.JWS()
        parsed.deserialize(jwt)
        if good:
            parsed.verify(cj_jwk.JWK(**public), alg=SIG_ALG)
        else:
            with pytest.raises(cj_jws.InvalidJWSSignature):
                parsed.verify(cj_jwk.JWK(**public), alg=SIG_ALG)

    assert canonical(_reference_verify(testnet, token)[0]) == canonical(claims)
    with pytest.raises(cj_jws.InvalidJWSSignature):
        _reference_verify(testnet, bad_token)

    # safeshare, with the token inside a JWE built by another library.
    with pytest.raises(VerificationError, match="signature does not verify"):
        open_as(testnet, XB, _joserfc_encrypt(testnet, bad_token.encode(), [XB]), replay_caches)
    opened = open_as(testnet, XB, _joserfc_encrypt(testnet, token.encode(), [XB]), replay_caches)
    assert canonical(opened.verified_claims()) == canonical(claims)


def test_a_signature_by_another_key_fails_with_both_libraries(testnet: TestNetwork) -> None:
    """The libraries really use the key they are given: XB's signing key does not verify XA's JWT."""
    token, _ = sign_token(testnet, to=(XB,))
    wrong = _okp(testnet.keysets[XB].signing_key.public.to_jwk())
    with pytest.raises(BadSignatureError):
        rfc_jws.deserialize_compact(
            _issuer_jwt(token), _rfc_key(wrong), algorithms=JOSERFC_JWS_ALGS
        )
    parsed = cj_jws.JWS()
    parsed.deserialize(_issuer_jwt(token))
    with pytest.raises(cj_jws.InvalidJWSSignature):
        parsed.verify(cj_jwk.JWK(**wrong), alg=SIG_ALG)


# -- 3. the SD-JWT reference verifier agrees with open_envelope ------------------------


@pytest.mark.parametrize("agency", [XB, XC])
def test_reference_sd_jwt_verifier_agrees_with_open_envelope(
    testnet: TestNetwork, replay_caches: ReplayCaches, agency: str
) -> None:
    """No adaptation: the reference verifier checks ``alg: Ed25519`` through jwcrypto."""
    envelope = seal_default(testnet, to=(XB, XC))
    opened = open_as(testnet, agency, envelope, replay_caches)
    _, plaintext = _jwcrypto_decrypt(envelope, _decryption_jwk(testnet, agency))
    payload, asked = _reference_verify(testnet, plaintext.decode("ascii"))
    assert asked == [(XA, _expected_header(testnet))]
    # The reference output is the processed payload (``_sd``/``_sd_alg`` removed):
    # exactly safeshare's verified claims, record included.
    assert canonical(payload) == canonical(opened.verified_claims())
    assert canonical(payload["record"]) == canonical(RECORD)
    assert canonical(payload) == canonical(expected_claims(testnet, jti=opened.jti, to=(XB, XC)))


def test_reference_verifier_and_open_envelope_agree_on_nested_values(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    """Values that are objects, arrays and odd numbers come out identical on both sides."""
    record = {
        "nested": {"a": [1, 2.5, {"b": None}], "_x": True, "": "empty name"},
        "big": 2**53 - 1,
        "neg": -(2**53 - 1),
        "tiny": 5e-324,
        "neg_zero": -0.0,
        "escape": 'quote " backslash \\ control \u0001 line\nbreak',
        "astral": "\U0001f46e\U0001f3fd",
    }
    envelope = seal_default(testnet, record, to=(XB,))
    opened = open_as(testnet, XB, envelope, replay_caches)
    _, plaintext = _joserfc_decrypt(envelope, _decryption_jwk(testnet, XB))
    payload, _ = _reference_verify(testnet, plaintext.decode("ascii"))
    assert canonical(payload["record"]) == canonical(record)
    assert canonical(opened.verified_claims()["record"]) == canonical(record)


@settings(max_examples=100, deadline=None)
@given(record=records)
def test_reference_verifier_agrees_on_arbitrary_records(
    testnet: TestNetwork, record: dict[str, Any]
) -> None:
    """Property: for any JSON record, jwcrypto decrypts and the reference verifier
    processes the SD-JWT to exactly what ``open_envelope`` returns."""
    envelope = seal_default(testnet, record, to=(XB,))
    with tempfile.TemporaryDirectory() as directory, ExitStack() as stack:
        opened = open_as(testnet, XB, envelope, ReplayCaches(Path(directory), stack))
    _, plaintext = _jwcrypto_decrypt(envelope, _decryption_jwk(testnet, XB))
    payload, _ = _reference_verify(testnet, plaintext.decode("ascii"))
    assert canonical(payload) == canonical(opened.verified_claims())
    assert canonical(payload["record"]) == canonical(record)


# -- 4. JWEs built by joserfc / jwcrypto open in safeshare ----------------------------


def _check_profile_shape(envelope: str, net: TestNetwork, to: Sequence[str]) -> None:
    """The other library emitted exactly the profile's members and headers."""
    doc = json.loads(envelope)
    assert set(doc) == {"protected", "recipients", "iv", "ciphertext", "tag"}
    protected = json.loads(b64u_decode(doc["protected"]))
    assert protected == ENVELOPE_PROTECTED
    assert len(doc["recipients"]) == len(to)
    for entry, agency in zip(doc["recipients"], to, strict=True):
        assert set(entry) == {"header", "encrypted_key"}
        header = entry["header"]
        assert set(header) == {"alg", "kid", "epk"}
        assert header["alg"] == ENC_ALG
        assert header["kid"] == net.registry.encryption_key(agency, at=NOW).kid
        assert set(header["epk"]) == {"kty", "crv", "x"}
        assert (header["epk"]["kty"], header["epk"]["crv"]) == ("OKP", "X25519")
        assert len(b64u_decode(header["epk"]["x"])) == 32
        assert len(b64u_decode(entry["encrypted_key"])) == 40
    assert len(b64u_decode(doc["iv"])) == 12
    assert len(b64u_decode(doc["tag"])) == 16


ENCRYPTORS: Final = [
    pytest.param(_joserfc_encrypt, id="joserfc"),
    pytest.param(_jwcrypto_encrypt, id="jwcrypto"),
]


@pytest.mark.parametrize("encrypt", ENCRYPTORS)
@pytest.mark.parametrize("to", [(XB,), (XB, XC)], ids=["one-recipient", "two-recipients"])
def test_a_jwe_built_by_another_library_opens_in_safeshare(
    testnet: TestNetwork,
    replay_caches: ReplayCaches,
    encrypt: Encryptor,
    to: tuple[str, ...],
) -> None:
    token, claims = sign_token(testnet, to=to)
    envelope = encrypt(testnet, token.encode("ascii"), to)
    _check_profile_shape(envelope, testnet, to)
    for agency in to:
        opened = open_as(testnet, agency, envelope, replay_caches)
        assert opened.recipient == agency
        assert opened.recipient_kid == testnet.keysets[agency].decryption_key.kid
        assert canonical(opened.verified_claims()) == canonical(claims)
        assert opened.digest == hashlib.sha256(_issuer_jwt(token).encode()).hexdigest()


def _reference_issue(net: TestNetwork, claims: dict[str, Any], *, decoys: bool) -> str:
    """The SD-JWT reference issuer signs *claims*, every record member selectively disclosable."""
    xa = net.keysets[XA].signing_key
    user_claims: dict[Any, Any] = {k: v for k, v in claims.items() if k != "record"}
    user_claims["record"] = {SDObj(k): v for k, v in claims["record"].items()}
    issuer = SDJWTIssuer(
        user_claims,
        cj_jwk.JWK(**_okp(xa.to_private_jwk(SECRET_KEY_ACCESS))),
        sign_alg=SIG_ALG,
        add_decoy_claims=decoys,
        extra_header_parameters={"typ": SD_JWT_TYP, "kid": xa.kid},
    )
    token = issuer.sd_jwt_issuance
    assert isinstance(token, str)
    return token


@pytest.mark.parametrize("encrypt", ENCRYPTORS)
def test_a_fully_independent_envelope_opens_in_safeshare(
    testnet: TestNetwork, replay_caches: ReplayCaches, encrypt: Encryptor
) -> None:
    """SD-JWT issued by the reference implementation, JWE by joserfc or jwcrypto.

    Only the keys and the claim values come from safeshare; the reference
    issuer signs with ``sign_alg="Ed25519"`` (jwcrypto), takes our ``typ`` and
    ``kid`` as extra header members, and escapes non-ASCII text in disclosures
    (``json.dumps`` default), unlike safeshare. Decoys are off: see the next test.
    """
    claims = expected_claims(testnet, jti=b64u_encode(hashlib.sha256(b"ref").digest()[:16]))
    token = _reference_issue(testnet, claims, decoys=False)
    envelope = encrypt(testnet, token.encode("ascii"), (XB, XC))
    _check_profile_shape(envelope, testnet, (XB, XC))
    for agency in (XB, XC):
        opened = open_as(testnet, agency, envelope, replay_caches)
        assert canonical(opened.verified_claims()) == canonical(claims)


def test_reference_issuer_decoys_fall_outside_the_profile(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    """``add_decoy_claims=True`` puts decoy digests in *every* object, the top level and
    ``handling`` included; the profile allows ``_sd`` only inside ``record`` (spec
    section 5.3: a top-level ``_sd`` is an unknown member). A profile rule, not a bug."""
    claims = expected_claims(testnet, jti=b64u_encode(hashlib.sha256(b"decoys").digest()[:16]))
    token = _reference_issue(testnet, claims, decoys=True)
    assert canonical(_reference_verify(testnet, token)[0]) == canonical(claims)
    envelope = _joserfc_encrypt(testnet, token.encode("ascii"), [XB])
    with pytest.raises(MalformedInputError, match="unknown field `_sd`"):
        open_as(testnet, XB, envelope, replay_caches)


@pytest.mark.parametrize("encrypt", ENCRYPTORS)
def test_forwarding_by_a_recipient_with_another_library_is_detected(
    testnet: TestNetwork, replay_caches: ReplayCaches, encrypt: Encryptor
) -> None:
    """XC re-encrypts a token XA sealed to it alone to XB: XB refuses (aud / sealed_to)."""
    token, claims = sign_token(testnet, to=(XC,))
    assert canonical(
        open_as(
            testnet, XC, encrypt(testnet, token.encode(), [XC]), replay_caches
        ).verified_claims()
    ) == canonical(claims)
    with pytest.raises(VerificationError, match="addressed to"):
        open_as(testnet, XB, encrypt(testnet, token.encode(), [XB]), replay_caches)
    # aud names XB, but XA did not seal to XB's key: the sealed_to binding catches it.
    only_xc = [testnet.keysets[XC].decryption_key.kid]
    token, _ = sign_token(testnet, to=(XB, XC), sealed_to=only_xc)
    with pytest.raises(VerificationError, match="surreptitious forwarding"):
        open_as(testnet, XB, encrypt(testnet, token.encode(), [XB]), replay_caches)
