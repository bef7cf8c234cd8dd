"""Interoperability with the SD-JWT reference implementation (``sd-jwt``, OpenWallet/IETF).

Findings that shape these tests (sd-jwt 0.10.4 on jwcrypto 1.6.1):

* jwcrypto knows the RFC 9864 fully-specified algorithm ``Ed25519`` and allows
  it by default, so the reference verifier checks our ``alg: Ed25519``
  signatures directly; no ``EdDSA`` copy is needed.
* The reference issuer can sign with ``Ed25519`` too, and puts extra header
  members (our ``kid``) where we want them, so its SD-JWTs are verified here
  with *our* JWS code before *our* :func:`reveal` processes them.
* The reference verifier is laxer than we are (it accepts ``...`` objects
  with other members, nested ``_sd_alg``, unreferenced disclosures); these
  tests only compare results on SD-JWTs both sides accept.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare._jose import jws
from safeshare._jose.sdjwt import (
    SD_ALG,
    ArraySpec,
    Sd,
    SdSpec,
    conceal,
    create_disclosure,
    reveal,
    sd_hash,
    serialize,
    split,
)
from safeshare.errors import VerificationError
from safeshare.keys import SECRET_KEY_ACCESS, SigningKey, VerifyKey

TYP = "example+sd-jwt"

RECORD: dict[str, Any] = {
    "given_name": "Möbius",
    "family_name": "Doe",
    "aliases": ["Mo", "M.", "Möb"],
    "address": {"street": "Schulstr. 12", "locality": "Schulpforta", "country": "DE"},
    "vehicles": [{"plate": "AB-123", "colour": "red"}, {"plate": "CD-456", "colour": "blue"}],
    "age": 41,
    "verified": True,
    "note": None,
    "score": 0.5,
}
SPEC: SdSpec = {
    "aliases": Sd(ArraySpec()),
    "address": Sd({"country": False}),
    "vehicles": ArraySpec(each=Sd({"plate": False})),
    "age": False,
}


@pytest.fixture(scope="module")
def issuer_key() -> SigningKey:
    return SigningKey.generate()


def _jwcrypto_public(key: VerifyKey) -> JWK:
    return JWK(**{k: v for k, v in key.to_jwk().items() if k in {"kty", "crv", "x"}})


def _reference_verify(sd_jwt: str, key: VerifyKey) -> dict[str, Any]:
    verifier = SDJWTVerifier(sd_jwt, lambda _iss, _header: _jwcrypto_public(key))
    payload = verifier.get_verified_payload()
    assert isinstance(payload, dict)
    return payload


def _our_verify(sd_jwt: str, key: VerifyKey) -> dict[str, Any]:
    """Our side: split, verify the JWS with our code, then reveal."""
    issuer_jwt, disclosures, _ = split(sd_jwt)
    protected, payload_b64, signature = issuer_jwt.split(".")

    def resolve(kid: str, _header: dict[str, Any]) -> VerifyKey:
        assert kid == key.kid
        return key

    _, payload_bytes = jws.verify_parts(
        protected, payload_b64, signature, what="SD-JWT", typ=TYP, resolve_key=resolve
    )
    payload = strictjson.loads(payload_bytes, what="SD-JWT payload", max_bytes=1 << 20)
    out, _ = reveal(payload, disclosures)
    return out


def _issue_ours(
    key: SigningKey, record: dict[str, Any], spec: SdSpec | None
) -> tuple[str, list[str]]:
    concealed, disclosures = conceal(record, randbytes=os.urandom, decoys=3, sd=spec)
    claims = {"iss": "XA-NPOL", "record": concealed, "_sd_alg": SD_ALG}
    issuer_jwt = jws.sign_compact({"typ": TYP}, strictjson.dumps(claims), key)
    return issuer_jwt, [d.encoded for d in disclosures]


@pytest.mark.parametrize("spec", [None, SPEC], ids=["flat", "nested"])
def test_reference_verifier_reads_our_sd_jwt(issuer_key: SigningKey, spec: SdSpec | None) -> None:
    """(1) Our conceal + serialize around our Ed25519 JWS; the reference verifier agrees."""
    issuer_jwt, disclosures = _issue_ours(issuer_key, RECORD, spec)
    token = serialize(issuer_jwt, disclosures)
    expected = {"iss": "XA-NPOL", "record": RECORD}
    assert _reference_verify(token, issuer_key.public) == expected
    assert _our_verify(token, issuer_key.public) == expected


def test_reference_verifier_reads_our_partial_presentation(issuer_key: SigningKey) -> None:
    """Dropping disclosures (onward transfer of a subset): both sides see the same subset."""
    issuer_jwt, disclosures = _issue_ours(issuer_key, RECORD, SPEC)

    def wanted(content: list[Any]) -> bool:
        if len(content) == 3:
            return content[1] in {"aliases", "address"} or content[1:] == ["colour", "blue"]
        value = content[1]
        return value == "M." or (isinstance(value, dict) and value.get("plate") == "CD-456")

    keep = [d for d in disclosures if wanted(json.loads(b64u_decode(d)))]
    assert len(keep) == 5
    token = serialize(issuer_jwt, keep)
    ours = _our_verify(token, issuer_key.public)
    assert ours == _reference_verify(token, issuer_key.public)
    assert ours == {
        "iss": "XA-NPOL",
        "record": {
            "age": 41,
            "vehicles": [{"plate": "CD-456", "colour": "blue"}],
            "aliases": ["M."],
            "address": {"country": "DE"},
        },
    }


def _reference_signing_key(key: SigningKey) -> JWK:
    jwk = key.to_private_jwk(SECRET_KEY_ACCESS)
    return JWK(**{k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "d"}})


def _reference_issue(key: SigningKey, claims: dict[Any, Any], *, decoys: bool) -> str:
    issuer = SDJWTIssuer(
        claims,
        _reference_signing_key(key),
        sign_alg="Ed25519",
        add_decoy_claims=decoys,
        extra_header_parameters={"typ": TYP, "kid": key.kid},
    )
    token = issuer.sd_jwt_issuance
    assert isinstance(token, str)
    return token


REFERENCE_CLAIMS: dict[Any, Any] = {
    "iss": "https://issuer.example.com",
    SDObj("given_name"): "Möbius",
    SDObj("family_name"): "Doe",
    "nationalities": [SDObj("DE"), SDObj("FR"), "UK"],
    SDObj("address"): {
        SDObj("street_address"): "Schulstr. 12",
        "locality": "Schulpforta",
        SDObj("country"): "DE",
    },
    "vehicles": [SDObj({SDObj("plate"): "AB-123", "colour": "red"}), {"plate": "CD-456"}],
    SDObj("tags"): [SDObj("a"), SDObj(["nested", SDObj("deeper")])],
    "n": 1.5,
}


@pytest.mark.parametrize("decoys", [False, True], ids=["no-decoys", "decoys"])
def test_we_read_the_reference_issuers_sd_jwt(issuer_key: SigningKey, decoys: bool) -> None:
    """(2) SDJWTIssuer with SDObj markers; our JWS check + reveal give the reference result."""
    token = _reference_issue(issuer_key, REFERENCE_CLAIMS, decoys=decoys)
    expected = _reference_verify(token, issuer_key.public)
    assert expected == {
        "iss": "https://issuer.example.com",
        "given_name": "Möbius",
        "family_name": "Doe",
        "nationalities": ["DE", "FR", "UK"],
        "address": {"street_address": "Schulstr. 12", "locality": "Schulpforta", "country": "DE"},
        "vehicles": [{"plate": "AB-123", "colour": "red"}, {"plate": "CD-456"}],
        "tags": ["a", ["nested", "deeper"]],
        "n": 1.5,
    }
    assert _our_verify(token, issuer_key.public) == expected


@pytest.mark.parametrize(
    "to_disclose",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"given_name": True, "nationalities": [False, True]}, id="some"),
        pytest.param({"address": {"country": True}, "vehicles": [{}]}, id="nested"),
        pytest.param({"tags": [True, [None, True]]}, id="recursive-arrays"),
    ],
)
def test_we_read_the_reference_holders_presentation(
    issuer_key: SigningKey, to_disclose: dict[str, Any]
) -> None:
    """The reference holder selects disclosures; both verifiers give the same claims."""
    token = _reference_issue(issuer_key, REFERENCE_CLAIMS, decoys=True)
    holder = SDJWTHolder(token)
    holder.create_presentation(to_disclose)
    presentation = holder.sd_jwt_presentation
    assert isinstance(presentation, str)
    assert _our_verify(presentation, issuer_key.public) == _reference_verify(
        presentation, issuer_key.public
    )


def test_sd_hash_matches_the_reference_key_binding(issuer_key: SigningKey) -> None:
    """Section 4.3.1: the reference holder's KB-JWT signs the same sd_hash we compute."""
    issuer_jwt, disclosures = _issue_ours(issuer_key, RECORD, None)
    holder = SDJWTHolder(serialize(issuer_jwt, disclosures))
    holder_key = JWK.generate(kty="EC", crv="P-256")
    holder.create_presentation(
        {"record": {"given_name": True}},
        nonce="n-1",
        aud="XB-PROS",
        holder_key=holder_key,
        sign_alg="ES256",
    )
    presentation = holder.sd_jwt_presentation
    assert isinstance(presentation, str)
    _, presented, kb = split(presentation)
    assert kb is not None
    assert len(presented) == 1
    kb_jws = JWS()
    kb_jws.deserialize(kb)
    kb_jws.verify(holder_key)
    kb_payload = json.loads(kb_jws.payload)
    assert kb_payload["sd_hash"] == sd_hash(presentation[: presentation.rindex("~") + 1])


@pytest.mark.parametrize(
    "case", ["unreferenced-disclosure", "nested-_sd_alg", "dots-with-other-member", "repeated-dots"]
)
def test_we_are_stricter_than_the_reference_verifier(issuer_key: SigningKey, case: str) -> None:
    """SD-JWTs the reference verifier accepts but section 7.1 (or this profile) rejects."""
    concealed, made = conceal({"a": 1}, randbytes=os.urandom, decoys=0)
    element = create_disclosure(os.urandom(16), None, "x")
    claims: dict[str, Any] = {"iss": "XA-NPOL", "record": concealed, "_sd_alg": SD_ALG}
    disclosures = [d.encoded for d in made]
    if case == "unreferenced-disclosure":  # section 7.1 step 5
        disclosures.append(create_disclosure(os.urandom(16), "b", 2).encoded)
    elif case == "nested-_sd_alg":  # section 4.1.1
        claims["record"] = {**concealed, "_sd_alg": SD_ALG}
    elif case == "dots-with-other-member":  # section 4.2.4.2
        claims["list"] = [{"...": element.digest, "other": 1}]
    else:  # section 7.1 step 4: the same digest twice
        claims["list"] = [{"...": element.digest}, {"...": element.digest}]
        disclosures.append(element.encoded)
    token = serialize(
        jws.sign_compact({"typ": TYP}, strictjson.dumps(claims), issuer_key), disclosures
    )
    assert _reference_verify(token, issuer_key.public)["record"] == {"a": 1}
    with pytest.raises(VerificationError):
        _our_verify(token, issuer_key.public)
