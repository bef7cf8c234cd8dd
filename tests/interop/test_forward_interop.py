"""A forwarded envelope (B -> C) verifies with independent implementations.

joserfc decrypts it with C's key; the SD-JWT reference library verifies the
originator's signature, the disclosures and the Key Binding JWT (RFC 9901
section 7.3: holder key from ``cnf``, ``typ``, ``aud``, ``nonce``,
``sd_hash``) and yields exactly the record C sees. The reference verifier
checks KB-JWT signatures with a fixed default algorithm (ES256), so the
subclass below only passes it this profile's algorithm, Ed25519.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jwe as rfc_jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import OKPKey
from jwcrypto import jwk as cj_jwk
from sd_jwt.verifier import SDJWTVerifier

from safeshare import _testnet
from safeshare._internal.b64 import b64u_decode
from safeshare.envelope import open_envelope
from safeshare.keys import SECRET_KEY_ACCESS, SIG_ALG
from tests.conftest import NOW
from tests.unit.envelope.test_forward import (
    ACTOR,
    LATER,
    PURPOSE,
    XC,
    Agencies,
    agencies,
    chain_to_c,
    net,
)

__all__ = ["agencies", "net"]


class Ed25519Verifier(SDJWTVerifier):  # type: ignore[misc]
    def _verify_key_binding_jwt(
        self,
        expected_aud: str | None = None,
        expected_nonce: str | None = None,
        sign_alg: str | None = None,
    ) -> None:
        super()._verify_key_binding_jwt(expected_aud, expected_nonce, sign_alg=SIG_ALG)


def _decrypt_with_joserfc(net: _testnet.TestNetwork, envelope: bytes) -> str:
    jwk = net.keysets[XC].decryption_key.to_private_jwk(SECRET_KEY_ACCESS)
    key = OKPKey.import_key({k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "d"}})
    registry = JWERegistry(algorithms=["ECDH-ES+A256KW", "A256GCM"], verify_all_recipients=False)
    plaintext = rfc_jwe.decrypt_json(json.loads(envelope), key, registry=registry).plaintext
    assert isinstance(plaintext, bytes)
    return plaintext.decode("ascii")


def _reference(net: _testnet.TestNetwork, token: str, aud: str, nonce: str) -> dict[str, Any]:
    def issuer_key(iss: str, header: dict[str, Any]) -> cj_jwk.JWK:
        jwk = net.registry.verify_key(iss, header["kid"], at=NOW).to_jwk()
        return cj_jwk.JWK(**{k: v for k, v in jwk.items() if k in {"kty", "crv", "x"}})

    payload = Ed25519Verifier(token, issuer_key, aud, nonce).get_verified_payload()
    assert isinstance(payload, dict)
    return payload


def _kb_claims(token: str) -> dict[str, Any]:
    claims = json.loads(b64u_decode(token.rsplit("~", 1)[1].split(".")[1], what="kb"))
    assert isinstance(claims, dict)
    return claims


def test_reference_library_verifies_a_forwarded_envelope(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies, ["full_name", "last_seen"])
    token = _decrypt_with_joserfc(net, envelope)
    kb = _kb_claims(token)
    payload = _reference(net, token, XC, kb["nonce"])
    opened = open_envelope(
        envelope,
        recipient=net.keysets[XC],
        registry=net.registry,
        replay=agencies.replay[XC],
        purpose=PURPOSE,
        actor=ACTOR,
        recorder=agencies.recorder[XC],
        now=LATER,
    )
    assert payload["record"] == json.loads(json.dumps(dict(opened.record), default=dict))
    assert set(payload["record"]) == {"full_name", "last_seen"}
    assert payload["jti"] == opened.jti


@pytest.mark.parametrize("change", ["aud", "nonce", "sd_hash"])
def test_reference_library_rejects_a_wrong_key_binding(
    net: _testnet.TestNetwork, agencies: Agencies, change: str
) -> None:
    _, envelope = chain_to_c(net, agencies, ["full_name"])
    token = _decrypt_with_joserfc(net, envelope)
    kb = _kb_claims(token)
    aud, nonce = XC, kb["nonce"]
    if change == "aud":
        aud = "XD-FIU"
    elif change == "nonce":
        nonce = "A" * 22
    else:  # drop a disclosure: the KB-JWT's sd_hash no longer matches
        jwt, *disclosures, kb_jwt = token.split("~")
        token = "~".join([jwt, *disclosures[1:], kb_jwt])
    with pytest.raises(ValueError, match=r"(?i)invalid"):
        _reference(net, token, aud, nonce)
