"""Consent grants and revocations: issue, verify, and every way a token can be wrong.

The store (matching, expiry, revocation, both back ends) is tested in
``test_consent_store.py``; this module is about the signed tokens.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._internal.clock import to_unix
from safeshare._jose import jws
from safeshare.errors import (
    AgencySuspendedError,
    ExpiredError,
    KeyNotValidError,
    KeyRevokedError,
    MalformedInputError,
    NotYetValidError,
    OversizedInputError,
    UnknownAgencyError,
    UnknownKeyError,
    UsageError,
    VerificationError,
)
from safeshare.keys import SigningKey
from safeshare.purpose.consent import (
    GRANT_TYP,
    MAX_CONDITIONS,
    MAX_CONSENT_TOKEN_CHARS,
    MAX_GRANT_LIFETIME,
    MAX_TEXT_LENGTH,
    REVOCATION_TYP,
    ConsentGrant,
    ConsentScope,
    consent_token_kind,
    issue_grant,
    issue_revocation,
    verify_grant,
    verify_revocation,
)
from tests.conftest import NOW

ORIGINATOR: Final = "XA-NPOL"
HOLDER: Final = "XB-PROS"
THIRD: Final = "XC-CUST"
FOURTH: Final = "XD-FIU"
ENVELOPE_JTI: Final = b64u_encode(b"envelope-jti-001")
DIGEST: Final = hashlib.sha256(b"the issuer-signed JWT of the envelope").hexdigest()
OTHER_DIGEST: Final = hashlib.sha256(b"another envelope").hexdigest()
VALID_FOR: Final = timedelta(days=30)
#: The target of each scope: (purpose, onward_recipient).
TARGETS: Final[dict[str, tuple[str | None, str | None]]] = {
    "purpose": ("prosecution", None),
    "onward_transfer": (None, THIRD),
    "evidential_use": (None, None),
}


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


def grant_token(
    net: _testnet.TestNetwork,
    scope: ConsentScope = "purpose",
    *,
    originator: str = ORIGINATOR,
    holder: str = HOLDER,
    digest: str = DIGEST,
    envelope_jti: str = ENVELOPE_JTI,
    valid_for: timedelta = VALID_FOR,
    now: datetime = NOW,
    **kwargs: Any,
) -> str:
    """A grant of *originator* to *holder* for *scope* (default target per scope)."""
    purpose, recipient = TARGETS.get(scope, (None, None))
    args: dict[str, Any] = {"purpose": purpose, "onward_recipient": recipient} | kwargs
    return issue_grant(
        originator=net.keysets[originator],
        holder=holder,
        envelope_jti=envelope_jti,
        envelope_digest=digest,
        scope=scope,
        valid_for=valid_for,
        now=now,
        **args,
    )


def claims_of(token: str) -> dict[str, Any]:
    payload = strictjson.loads(b64u_decode(token.split(".")[1]), what="test", max_bytes=10**6)
    assert isinstance(payload, dict)
    return payload


def header_of(token: str) -> dict[str, Any]:
    header = strictjson.loads(
        b64u_decode(token.split(".", maxsplit=1)[0]), what="test", max_bytes=10**6
    )
    assert isinstance(header, dict)
    return header


def forge(claims: dict[str, Any], key: SigningKey, header: dict[str, Any] | None = None) -> str:
    """A correctly signed token with any claims and header (alg and kid from *key*)."""
    return jws.sign_compact(header or {"typ": GRANT_TYP}, strictjson.dumps(claims), key)


def verify(token: str, net: _testnet.TestNetwork, **kwargs: Any) -> ConsentGrant:
    args: dict[str, Any] = {"registry": net.registry, "now": NOW} | kwargs
    return verify_grant(token, **args)


# -- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["purpose", "onward_transfer", "evidential_use"])
def test_round_trip(net: _testnet.TestNetwork, scope: ConsentScope) -> None:
    conditions = ["Use only in case XB-2026-CYB-0117.", "Inform XA-NPOL of the outcome."]
    token = grant_token(net, scope, conditions=conditions)
    grant = verify(token, net)
    purpose, recipient = TARGETS[scope]
    assert grant == ConsentGrant(
        grant_id=claims_of(token)["jti"],
        originator=ORIGINATOR,
        holder=HOLDER,
        envelope_jti=ENVELOPE_JTI,
        envelope_digest=DIGEST,
        scope=scope,
        purpose=purpose,
        onward_recipient=recipient,
        issued_at=NOW,
        expires_at=NOW + VALID_FOR,
        conditions=tuple(conditions),
        token=token,
    )


@pytest.mark.parametrize("scope", ["purpose", "onward_transfer", "evidential_use"])
def test_wire_format(net: _testnet.TestNetwork, scope: ConsentScope) -> None:
    token = grant_token(net, scope)
    assert header_of(token) == {
        "alg": "Ed25519",
        "kid": net.keysets[ORIGINATOR].signing_key.kid,
        "typ": "safeshare-consent+jwt",
    }
    claims = claims_of(token)
    expected = {
        "iss",
        "aud",
        "iat",
        "exp",
        "jti",
        "envelope_jti",
        "envelope_digest",
        "scope",
        "conditions",
    }
    expected |= {"purpose": {"purpose"}, "onward_transfer": {"onward_recipient"}}.get(scope, set())
    assert set(claims) == expected
    assert claims["aud"] == HOLDER
    assert claims["exp"] - claims["iat"] == VALID_FOR.total_seconds()
    assert claims["conditions"] == []


def test_grant_id_is_16_bytes_from_os_urandom(
    net: _testnet.TestNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (claims_of(grant_token(net))["jti"] for _ in range(2))
    assert first != second
    assert len(b64u_decode(first)) == 16
    calls: list[int] = []

    def fixed(n: int) -> bytes:
        calls.append(n)
        return bytes(range(n))

    monkeypatch.setattr(os, "urandom", fixed)
    token = grant_token(net)
    assert calls == [16]
    assert claims_of(token)["jti"] == b64u_encode(bytes(range(16)))


def test_time_is_whole_seconds(net: _testnet.TestNetwork) -> None:
    grant = verify(grant_token(net, now=NOW + timedelta(microseconds=700_000)), net)
    assert grant.issued_at == NOW
    assert grant.expires_at == NOW + VALID_FOR


# -- issuing refuses what the format forbids ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"purpose": None}, "needs the new purpose"),
        ({"purpose": "Prosecution"}, "do not match the profile"),
        ({"onward_recipient": "XC-CUST"}, "only allowed with scope 'onward_transfer'"),
        ({"scope": "onward_transfer"}, "needs the agency the data may go to"),
        ({"scope": "evidential_use"}, "claim 'purpose' is only allowed with scope 'purpose'"),
        ({"scope": "everything"}, "do not match the profile"),
        ({"holder": ORIGINATOR}, "is the originator XA-NPOL itself"),
        ({"holder": "xb-pros"}, "do not match the profile"),
        ({"holder": None}, "do not match the profile"),
        ({"digest": DIGEST.upper()}, "do not match the profile"),
        ({"digest": DIGEST[:-1]}, "do not match the profile"),
        ({"envelope_jti": "short"}, "do not match the profile"),
        ({"valid_for": timedelta(0)}, "valid_for"),
        ({"valid_for": timedelta(seconds=-5)}, "valid_for"),
        ({"valid_for": timedelta(milliseconds=999)}, "valid_for"),
        ({"valid_for": MAX_GRANT_LIFETIME + timedelta(seconds=1)}, "valid_for"),
        ({"valid_for": 30}, "valid_for must be a timedelta"),
        ({"conditions": "one text"}, "sequence of texts"),
        ({"conditions": ["a\nb"]}, "control characters"),
        ({"conditions": ["twice", "twice"]}, "listed twice"),
        ({"conditions": [""]}, "do not match the profile"),
        ({"conditions": ["x" * (MAX_TEXT_LENGTH + 1)]}, "do not match the profile"),
        ({"conditions": [f"c{i}" for i in range(MAX_CONDITIONS + 1)]}, "do not match"),
        ({"conditions": [1]}, "do not match the profile"),
        ({"now": datetime(2026, 11, 29)}, "timezone-aware"),
    ],
)
def test_issue_refuses(net: _testnet.TestNetwork, changes: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "scope": "purpose",
        "purpose": "prosecution",
        "onward_recipient": None,
    } | changes
    with pytest.raises(UsageError, match=match):
        grant_token(net, **args)


@pytest.mark.parametrize(
    ("recipient", "match"), [(HOLDER, "is the holder itself"), (ORIGINATOR, "originator itself")]
)
def test_issue_refuses_an_onward_transfer_that_is_none(
    net: _testnet.TestNetwork, recipient: str, match: str
) -> None:
    with pytest.raises(UsageError, match=match):
        grant_token(net, "onward_transfer", onward_recipient=recipient)


def test_issue_takes_a_key_set(net: _testnet.TestNetwork) -> None:
    with pytest.raises(UsageError, match="AgencyKeySet"):
        issue_grant(
            originator=net.keysets[ORIGINATOR].signing_key,  # type: ignore[arg-type]
            holder=HOLDER,
            envelope_jti=ENVELOPE_JTI,
            envelope_digest=DIGEST,
            scope="evidential_use",
            valid_for=VALID_FOR,
        )


def test_the_longest_lifetime_is_accepted(net: _testnet.TestNetwork) -> None:
    grant = verify(grant_token(net, valid_for=MAX_GRANT_LIFETIME), net)
    assert grant.expires_at - grant.issued_at == MAX_GRANT_LIFETIME


# -- tampering and hostile tokens ---------------------------------------------------------------


def test_tampered_claims(net: _testnet.TestNetwork) -> None:
    token = grant_token(net)
    protected, _, signature = token.split(".")
    for change in (
        {"aud": THIRD},
        {"purpose": "intelligence_analysis"},
        {"envelope_digest": OTHER_DIGEST},
        {"exp": claims_of(token)["exp"] + 1},
        {"conditions": []} if claims_of(token)["conditions"] else {"conditions": ["x"]},
    ):
        payload = b64u_encode(strictjson.dumps(claims_of(token) | change))
        with pytest.raises(VerificationError, match="does not verify"):
            verify(f"{protected}.{payload}.{signature}", net)


def test_tampered_signature(net: _testnet.TestNetwork) -> None:
    head, signature = grant_token(net).rsplit(".", 1)
    raw = bytearray(b64u_decode(signature))
    raw[10] ^= 0x40
    with pytest.raises(VerificationError):
        verify(f"{head}.{b64u_encode(bytes(raw))}", net)


def test_signature_of_another_grant(net: _testnet.TestNetwork) -> None:
    head, _ = grant_token(net).rsplit(".", 1)
    _, other_signature = grant_token(net, digest=OTHER_DIGEST).rsplit(".", 1)
    with pytest.raises(VerificationError):
        verify(f"{head}.{other_signature}", net)


@pytest.mark.parametrize(
    "header",
    [
        {"typ": GRANT_TYP, "alg": "none"},
        {"typ": GRANT_TYP, "alg": "NONE"},
        {"typ": GRANT_TYP, "alg": "HS256"},
        {"typ": GRANT_TYP, "alg": "EdDSA"},
        {"typ": GRANT_TYP, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}},
        {"typ": GRANT_TYP, "jku": "https://attacker.example/jwks"},
        {"typ": GRANT_TYP, "x5c": ["AAAA"]},
        {"typ": GRANT_TYP, "crit": ["exp"]},
        {"typ": GRANT_TYP, "zip": "DEF"},
        {"typ": GRANT_TYP, "cty": "JWT"},
        {"typ": "JWT"},
        {"typ": REVOCATION_TYP},
        {"typ": "safeshare-receipt+jwt"},
        {"typ": GRANT_TYP, "kid": "not-a-thumbprint"},
    ],
)
def test_header_outside_the_profile(net: _testnet.TestNetwork, header: dict[str, Any]) -> None:
    forged = forge(claims_of(grant_token(net)), net.keysets[ORIGINATOR].signing_key, header)
    with pytest.raises(MalformedInputError):
        verify(forged, net)


def test_header_without_typ(net: _testnet.TestNetwork) -> None:
    key = net.keysets[ORIGINATOR].signing_key
    protected = b64u_encode(strictjson.dumps({"alg": "Ed25519", "kid": key.kid}))
    payload = b64u_encode(strictjson.dumps(claims_of(grant_token(net))))
    signature = b64u_encode(key.sign(f"{protected}.{payload}".encode()))
    with pytest.raises(MalformedInputError, match="typ"):
        verify(f"{protected}.{payload}.{signature}", net)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"extra": 1}, "unknown field `extra`"),
        ({"_sd": []}, "unknown field `_sd`"),
        ({"nbf": to_unix(NOW)}, "unknown field `nbf`"),
        ({"purpose": None}, "Expected `str`, got `null`"),
        ({"onward_recipient": THIRD}, "only allowed with scope 'onward_transfer'"),
        ({"scope": "onward_transfer"}, "needs the agency the data may go to"),
        ({"scope": "any"}, "Invalid enum value"),
        ({"aud": [HOLDER]}, "Expected `str`"),
        ({"aud": ORIGINATOR}, "is the originator XA-NPOL itself"),
        ({"iat": 1.5}, "Expected `int`"),
        ({"iat": True}, "Expected `int`"),
        ({"exp": to_unix(NOW)}, "exp must be later than iat"),
        ({"exp": to_unix(NOW + MAX_GRANT_LIFETIME) + 1}, "exceeds 365 days"),
        ({"envelope_digest": DIGEST.upper()}, "envelope_digest"),
        ({"jti": "A" * 21}, "jti"),
        ({"conditions": None}, "conditions"),
        ({"conditions": ["tab\there"]}, "control characters"),
        ({"conditions": ["same", "same"]}, "listed twice"),
    ],
)
def test_claims_outside_the_profile(
    net: _testnet.TestNetwork, change: dict[str, Any], match: str
) -> None:
    forged = forge(claims_of(grant_token(net)) | change, net.keysets[ORIGINATOR].signing_key)
    with pytest.raises(MalformedInputError, match=match):
        verify(forged, net)


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "jti", "envelope_digest", "conditions"])
def test_missing_claim(net: _testnet.TestNetwork, claim: str) -> None:
    claims = claims_of(grant_token(net))
    del claims[claim]
    with pytest.raises(MalformedInputError, match=f"missing required field `{claim}`"):
        verify(forge(claims, net.keysets[ORIGINATOR].signing_key), net)


def test_duplicate_claim_names(net: _testnet.TestNetwork) -> None:
    protected, payload, _ = grant_token(net).split(".")
    doubled = b64u_decode(payload)[:-1] + b',"aud":"' + THIRD.encode() + b'"}'
    key = net.keysets[ORIGINATOR].signing_key
    signing_input = f"{protected}.{b64u_encode(doubled)}"
    forged = signing_input + "." + b64u_encode(key.sign(signing_input.encode()))
    with pytest.raises(MalformedInputError, match="more than once"):
        verify(forged, net)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("a.b", MalformedInputError),
        ("a.b.c.d", MalformedInputError),
        ("é.b.c", MalformedInputError),
        ("", MalformedInputError),
        ("x" * (MAX_CONSENT_TOKEN_CHARS + 1), OversizedInputError),
        (b"a.b.c", MalformedInputError),
        (None, MalformedInputError),
    ],
)
def test_not_a_grant(net: _testnet.TestNetwork, bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(bad, net)  # type: ignore[arg-type]


def test_padded_base64_is_refused(net: _testnet.TestNetwork) -> None:
    protected, payload, signature = grant_token(net).split(".")
    with pytest.raises(MalformedInputError, match="base64url"):
        verify(f"{protected}.{payload}=.{signature}", net)


# -- keys and agencies --------------------------------------------------------------------------


def test_claiming_the_originator_with_another_agencys_key(net: _testnet.TestNetwork) -> None:
    forged = forge(claims_of(grant_token(net)), net.keysets[THIRD].signing_key)
    with pytest.raises(UnknownKeyError, match="belongs to XC-CUST"):
        verify(forged, net)


def test_signed_by_a_key_outside_the_registry(net: _testnet.TestNetwork) -> None:
    with pytest.raises(UnknownKeyError):
        verify(forge(claims_of(grant_token(net)), SigningKey.generate()), net)


def test_signed_with_an_encryption_key_id(net: _testnet.TestNetwork) -> None:
    key = net.keysets[ORIGINATOR].signing_key
    enc_kid = net.keysets[ORIGINATOR].decryption_key.kid
    forged = forge(claims_of(grant_token(net)), key, {"typ": GRANT_TYP, "kid": enc_kid})
    with pytest.raises(Exception, match="registered for use 'enc'"):
        verify(forged, net)


def test_originator_unknown_to_the_registry(net: _testnet.TestNetwork) -> None:
    other = _testnet.build(NOW, agencies=("XE-POL", HOLDER))
    token = issue_grant(
        originator=other.keysets["XE-POL"],
        holder=HOLDER,
        envelope_jti=ENVELOPE_JTI,
        envelope_digest=DIGEST,
        scope="evidential_use",
        valid_for=VALID_FOR,
        now=NOW,
    )
    with pytest.raises(UnknownAgencyError):
        verify(token, net)


def test_key_revoked_before_the_grant(net: _testnet.TestNetwork) -> None:
    kid = net.keysets[ORIGINATOR].signing_key.kid
    revoked = net.resign(
        net.document.with_revoked_key(ORIGINATOR, kid, at=NOW - timedelta(hours=1), reason="lost")
    )
    with pytest.raises(KeyRevokedError, match="lost"):
        verify(grant_token(net), revoked)


def test_key_revoked_after_the_grant_but_before_use(net: _testnet.TestNetwork) -> None:
    kid = net.keysets[ORIGINATOR].signing_key.kid
    token = grant_token(net)
    later = net.resign(
        net.document.with_revoked_key(
            ORIGINATOR, kid, at=NOW + timedelta(days=2), reason="compromised"
        )
    )
    assert verify(token, later, now=NOW + timedelta(days=1)).originator == ORIGINATOR
    with pytest.raises(KeyRevokedError, match=r"must no longer be trusted.*compromised"):
        verify(token, later, now=NOW + timedelta(days=2))


def test_key_not_yet_valid_when_signed(net: _testnet.TestNetwork) -> None:
    token = grant_token(net, now=NOW - timedelta(days=31))
    with pytest.raises(KeyNotValidError):
        verify(token, net)


def test_originator_suspended(net: _testnet.TestNetwork) -> None:
    suspended = net.resign(net.document.with_suspension(ORIGINATOR, at=NOW - timedelta(hours=1)))
    with pytest.raises(AgencySuspendedError):
        verify(grant_token(net), suspended)


# -- time ---------------------------------------------------------------------------------------


def test_expiry(net: _testnet.TestNetwork) -> None:
    token = grant_token(net)
    assert verify(token, net, now=NOW + VALID_FOR - timedelta(seconds=1))
    with pytest.raises(ExpiredError, match="expired at 2026-12-29T12:00:00Z"):
        verify(token, net, now=NOW + VALID_FOR)


def test_issued_in_the_future(net: _testnet.TestNetwork) -> None:
    token = grant_token(net)
    assert verify(token, net, now=NOW - timedelta(minutes=5))
    with pytest.raises(NotYetValidError):
        verify(token, net, now=NOW - timedelta(minutes=5, seconds=1))
    assert verify(token, net, now=NOW - timedelta(minutes=10), skew=timedelta(minutes=10))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"now": datetime(2026, 11, 29, 12)},
        {"skew": timedelta(hours=2)},
        {"skew": timedelta(seconds=-1)},
        {"registry": None},
    ],
)
def test_verify_argument_checks(net: _testnet.TestNetwork, kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        verify(grant_token(net), net, **kwargs)


# -- revocations --------------------------------------------------------------------------------


def revocation_token(
    net: _testnet.TestNetwork,
    grant_id: str,
    *,
    originator: str = ORIGINATOR,
    reason: str | None = "case closed",
    now: datetime = NOW,
) -> str:
    return issue_revocation(
        originator=net.keysets[originator], grant_id=grant_id, reason=reason, now=now
    )


def test_revocation_round_trip(net: _testnet.TestNetwork) -> None:
    grant = verify(grant_token(net), net)
    token = revocation_token(net, grant.grant_id, now=NOW + timedelta(hours=1))
    assert header_of(token) == {
        "alg": "Ed25519",
        "kid": net.keysets[ORIGINATOR].signing_key.kid,
        "typ": "safeshare-consent-revocation+jwt",
    }
    claims = claims_of(token)
    assert set(claims) == {"iss", "iat", "jti", "grant_id", "reason"}
    revocation = verify_revocation(token, registry=net.registry, now=NOW + timedelta(hours=1))
    assert revocation.originator == ORIGINATOR
    assert revocation.grant_id == grant.grant_id
    assert revocation.revocation_id == claims["jti"] != grant.grant_id
    assert revocation.issued_at == NOW + timedelta(hours=1)
    assert revocation.reason == "case closed"
    assert revocation.token == token


def test_revocation_without_reason(net: _testnet.TestNetwork) -> None:
    token = revocation_token(net, ENVELOPE_JTI, reason=None)
    assert "reason" not in claims_of(token)
    assert verify_revocation(token, registry=net.registry, now=NOW).reason is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grant_id": "nope"}, "do not match the profile"),
        ({"reason": ""}, "do not match the profile"),
        ({"reason": "line\nbreak"}, "control characters"),
    ],
)
def test_issue_revocation_refuses(
    net: _testnet.TestNetwork, kwargs: dict[str, Any], match: str
) -> None:
    args: dict[str, Any] = {"grant_id": ENVELOPE_JTI} | kwargs
    with pytest.raises(UsageError, match=match):
        revocation_token(net, **args)


def test_revocation_signed_by_another_agency_claiming_the_originator(
    net: _testnet.TestNetwork,
) -> None:
    claims = claims_of(revocation_token(net, ENVELOPE_JTI))
    forged = forge(claims, net.keysets[THIRD].signing_key, {"typ": REVOCATION_TYP})
    with pytest.raises(UnknownKeyError, match="belongs to XC-CUST"):
        verify_revocation(forged, registry=net.registry, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        {"typ": REVOCATION_TYP, "alg": "none"},
        {"typ": REVOCATION_TYP, "jwk": {"kty": "OKP"}},
        {"typ": REVOCATION_TYP, "crit": ["reason"]},
        {"typ": GRANT_TYP},
    ],
)
def test_revocation_header_outside_the_profile(
    net: _testnet.TestNetwork, header: dict[str, Any]
) -> None:
    claims = claims_of(revocation_token(net, ENVELOPE_JTI))
    forged = forge(claims, net.keysets[ORIGINATOR].signing_key, header)
    with pytest.raises(MalformedInputError):
        verify_revocation(forged, registry=net.registry, now=NOW)


@pytest.mark.parametrize(
    "change",
    [{"exp": to_unix(NOW) + 60}, {"aud": HOLDER}, {"grant_id": None}, {"reason": None}],
)
def test_revocation_claims_outside_the_profile(
    net: _testnet.TestNetwork, change: dict[str, Any]
) -> None:
    claims = claims_of(revocation_token(net, ENVELOPE_JTI)) | change
    forged = forge(claims, net.keysets[ORIGINATOR].signing_key, {"typ": REVOCATION_TYP})
    with pytest.raises(MalformedInputError, match="do not match the profile"):
        verify_revocation(forged, registry=net.registry, now=NOW)


def test_tampered_revocation(net: _testnet.TestNetwork) -> None:
    token = revocation_token(net, ENVELOPE_JTI)
    protected, _, signature = token.split(".")
    payload = b64u_encode(strictjson.dumps(claims_of(token) | {"grant_id": "B" * 22}))
    with pytest.raises(VerificationError):
        verify_revocation(f"{protected}.{payload}.{signature}", registry=net.registry, now=NOW)


def test_revocation_issued_in_the_future(net: _testnet.TestNetwork) -> None:
    token = revocation_token(net, ENVELOPE_JTI, now=NOW + timedelta(minutes=6))
    with pytest.raises(NotYetValidError):
        verify_revocation(token, registry=net.registry, now=NOW)


def test_tokens_of_one_kind_are_not_the_other(net: _testnet.TestNetwork) -> None:
    grant = grant_token(net)
    revocation = revocation_token(net, ENVELOPE_JTI)
    with pytest.raises(MalformedInputError):
        verify(revocation, net)
    with pytest.raises(MalformedInputError):
        verify_revocation(grant, registry=net.registry, now=NOW)
    assert consent_token_kind(grant) == "grant"
    assert consent_token_kind(revocation) == "revocation"
    other = forge(claims_of(grant), net.keysets[ORIGINATOR].signing_key, {"typ": "JWT"})
    with pytest.raises(MalformedInputError, match="neither a consent grant nor"):
        consent_token_kind(other)
    with pytest.raises(MalformedInputError):
        consent_token_kind("not a token")
