"""Peers: what a user would compose by hand from the best Python libraries.

* the signed token: the SD-JWT reference implementation (``sd-jwt``,
  ``SDJWTIssuer`` with ``SDObj``-marked record members, signed with
  ``Ed25519`` through jwcrypto; ``SDJWTVerifier`` to verify and disclose);
* the envelope: joserfc's JWE general JSON serialization, ``ECDH-ES+A256KW``
  with X25519 keys, ``A256GCM``, one ephemeral key per recipient.

The claims are the same protocol claims safeshare signs, the record members
are all selectively disclosable, and the JWE headers match safeshare's. Open
selects our recipient entry by ``kid`` (joserfc otherwise tries, and by default
requires, every recipient entry to decrypt), decrypts, verifies the SD-JWT
with the sender's key looked up by ``kid``, then checks audience and expiry.
It does less than safeshare: no strict JSON parse, no header profile checks,
no registry validity, no replay cache, no decoy digests (the reference issuer
adds 2-5 random decoys to *every* object when asked, so they are off).
"""

from __future__ import annotations

import json
import os
import time
from base64 import urlsafe_b64encode
from typing import Any

from joserfc.jwe import GeneralJSONEncryption, JWERegistry, decrypt_json, encrypt_json
from joserfc.jwk import OKPKey
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from benchmarks._common import (
    CASE_REF,
    LEGAL_BASIS,
    MESSAGE_TYPE,
    PURPOSE,
    SENDER,
    TTL_SECONDS,
    Workload,
)
from safeshare.envelope import ENVELOPE_TYP, PROTOCOL_VERSION, SD_JWT_TYP
from safeshare.keys import SECRET_KEY_ACCESS

_ALG = "ECDH-ES+A256KW"
_ENC = "A256GCM"
_OKP = frozenset({"kty", "crv", "x", "d"})


def _okp(jwk: dict[str, str], *, private: bool) -> dict[str, str | list[str]]:
    return {k: v for k, v in jwk.items() if k in _OKP and (private or k != "d")}


class PeersImpl:
    """SD-JWT reference library + joserfc JWE, composed the way their docs suggest."""

    def __init__(self, workload: Workload, *, name: str, description: str) -> None:
        self.name = name
        self.description = description
        self._workload = workload
        signing = workload.sender.signing_key
        private = signing.to_private_jwk(SECRET_KEY_ACCESS)
        self._issuer_kid = signing.kid
        self._issuer_key = JWK(**_okp(private, private=True))
        # What the verifier resolves by kid (its own key directory).
        self._issuer_keys = {signing.kid: JWK(**_okp(private, private=False))}
        self._registry = JWERegistry(algorithms=[_ALG, _ENC])
        self._handling = workload.handling.model_dump(mode="json")
        self._recipients: list[tuple[str, OKPKey]] = []
        self._aud: list[str] = []
        self._opener_agency = ""
        self._opener_kid = ""
        self._opener_key: OKPKey | None = None

    def info(self) -> dict[str, Any]:
        return {}

    def setup(self, n_recipients: int) -> None:
        self._aud = list(self._workload.recipients(n_recipients))
        self._recipients = []
        for agency in self._aud:
            key = self._workload.network.keysets[agency].decryption_keys[-1]
            jwk = key.to_private_jwk(SECRET_KEY_ACCESS)
            self._recipients.append((key.kid, OKPKey.import_key(_okp(jwk, private=False))))
        opener = self._workload.opener(n_recipients)
        key = opener.decryption_keys[-1]
        self._opener_agency = opener.agency
        self._opener_kid = key.kid
        self._opener_key = OKPKey.import_key(
            _okp(key.to_private_jwk(SECRET_KEY_ACCESS), private=True)
        )

    def _resolve_issuer_key(self, _iss: str, header: dict[str, Any]) -> JWK:
        return self._issuer_keys[header["kid"]]

    def seal(self) -> bytes:
        iat = int(time.time())
        claims: dict[Any, Any] = {
            "iss": SENDER,
            "aud": self._aud,
            "iat": iat,
            "exp": iat + TTL_SECONDS,
            "jti": urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii"),
            "ver": PROTOCOL_VERSION,
            "msg_type": MESSAGE_TYPE,
            "purpose": PURPOSE,
            "legal_basis": LEGAL_BASIS,
            "case_ref": CASE_REF,
            "handling": self._handling,
            "sealed_to": [kid for kid, _ in self._recipients],
            "record": {SDObj(k): v for k, v in self._workload.record.items()},
        }
        issuer = SDJWTIssuer(
            claims,
            self._issuer_key,
            sign_alg="Ed25519",
            extra_header_parameters={"typ": SD_JWT_TYP, "kid": self._issuer_kid},
        )
        token: str = issuer.sd_jwt_issuance
        obj = GeneralJSONEncryption(
            {"enc": _ENC, "typ": ENVELOPE_TYP, "cty": SD_JWT_TYP}, token.encode("ascii")
        )
        for kid, key in self._recipients:
            obj.add_recipient({"alg": _ALG, "kid": kid}, key)
        data = encrypt_json(obj, None, registry=self._registry)
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    def open(self, envelope: bytes) -> dict[str, Any]:
        assert self._opener_key is not None
        doc = json.loads(envelope)
        doc["recipients"] = [
            r for r in doc["recipients"] if r.get("header", {}).get("kid") == self._opener_kid
        ]
        decrypted = decrypt_json(doc, self._opener_key, registry=self._registry)
        assert decrypted.plaintext is not None
        verifier = SDJWTVerifier(decrypted.plaintext.decode("ascii"), self._resolve_issuer_key)
        payload: dict[str, Any] = verifier.get_verified_payload()
        if self._opener_agency not in payload["aud"] or payload["exp"] <= time.time():
            raise ValueError("not for us, or expired")
        return payload

    def close(self) -> None:
        pass
