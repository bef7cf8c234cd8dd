"""Signed receipts: issue, verify, and every way a receipt can be wrong."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._internal.clock import to_unix
from safeshare._jose import jws
from safeshare.audit.checkpoint import Checkpoint, sign_checkpoint
from safeshare.audit.receipt import (
    MAX_RECEIPT_BYTES,
    RECEIPT_TYP,
    Receipt,
    issue_receipt,
    verify_receipt,
)
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import (
    AgencySuspendedError,
    AuditIntegrityError,
    KeyRevokedError,
    MalformedInputError,
    NotYetValidError,
    OversizedInputError,
    UnknownKeyError,
    UsageError,
    VerificationError,
)
from safeshare.keys import SigningKey
from safeshare.registry import RegistryKey
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW
from tests.unit.audit.test_witness_rfc9162 import leaves, mth, path

SENDER: Final = "XA-NPOL"
RECIPIENT: Final = "XB-PROS"
THIRD: Final = "XC-CUST"
NETWORK: Final = "safeshare.example"
ORIGIN: Final = f"{NETWORK}/{RECIPIENT}/audit"
ISSUED: Final = NOW + timedelta(minutes=1)
INDEX: Final = 5
SIZE: Final = 9


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture(scope="module")
def opened(net: _testnet.TestNetwork, tmp_path_factory: pytest.TempPathFactory) -> OpenedEnvelope:
    envelope = seal(
        {"subscriber_name": "Jana Novak", "msisdn": "+99 555 0142"},
        sender=net.keysets[SENDER],
        to=[RECIPIENT],
        registry=net.registry,
        purpose="criminal_investigation",
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref="XA-2026-0042",
        message_type="disclosure_response",
        now=NOW,
    )
    with open_store(tmp_path_factory.mktemp("receipt") / "replay.db") as store:
        return open_envelope(
            envelope,
            recipient=net.keysets[RECIPIENT],
            registry=net.registry,
            replay=ReplayCache(store),
            purpose="criminal_investigation",
            actor="recipient officer",
            recorder=None,
            now=NOW,
        )


@pytest.fixture(scope="module")
def tree() -> list[bytes]:
    """The recipient's log: entry INDEX records the opening."""
    return leaves(SIZE, b"xb-pros")


def checkpoint_note(tree: list[bytes], key: SigningKey, *, origin: str = ORIGIN) -> str:
    return sign_checkpoint(Checkpoint(origin, len(tree), mth(tree)), origin, key)


@pytest.fixture(scope="module")
def note(net: _testnet.TestNetwork, tree: list[bytes]) -> str:
    return checkpoint_note(tree, net.keysets[RECIPIENT].signing_key)


@pytest.fixture(scope="module")
def token(net: _testnet.TestNetwork, opened: OpenedEnvelope, note: str) -> str:
    return issue_receipt(
        opened, recipient=net.keysets[RECIPIENT], log_index=INDEX, checkpoint=note, now=ISSUED
    )


def verify(token: str, net: _testnet.TestNetwork, opened: OpenedEnvelope, **kwargs: Any) -> Receipt:
    args: dict[str, Any] = {
        "registry": net.registry,
        "expected_sender": SENDER,
        "expected_digest": opened.digest,
        "now": ISSUED,
    }
    return verify_receipt(token, **(args | kwargs))


def claims_of(token: str) -> dict[str, Any]:
    payload = strictjson.loads(b64u_decode(token.split(".")[1]), what="test", max_bytes=10**6)
    assert isinstance(payload, dict)
    return payload


def forge(claims: dict[str, Any], key: SigningKey, header: dict[str, Any] | None = None) -> str:
    return jws.sign_compact(header or {"typ": RECEIPT_TYP}, strictjson.dumps(claims), key)


# -- round trip ---------------------------------------------------------------------------


def test_round_trip(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str, note: str, tree: list[bytes]
) -> None:
    receipt = verify(token, net, opened, expected_jti=opened.jti, expected_recipient=RECIPIENT)
    assert receipt == Receipt(
        issuer=RECIPIENT,
        audience=SENDER,
        issued_at=ISSUED,
        envelope_jti=opened.jti,
        envelope_digest=opened.digest,
        log_index=INDEX,
        checkpoint=Checkpoint(ORIGIN, SIZE, mth(tree)),
        checkpoint_note=note,
        kid=net.keysets[RECIPIENT].signing_key.kid,
        token=token,
    )


def test_wire_format(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str, note: str
) -> None:
    protected = json.loads(b64u_decode(token.split(".", maxsplit=1)[0]))
    assert protected == {
        "alg": "Ed25519",
        "kid": net.keysets[RECIPIENT].signing_key.kid,
        "typ": "safeshare-receipt+jwt",
    }
    assert claims_of(token) == {
        "iss": RECIPIENT,
        "aud": SENDER,
        "iat": to_unix(ISSUED),
        "envelope_jti": opened.jti,
        "envelope_digest": opened.digest,
        "log_index": INDEX,
        "checkpoint": note,
    }


def test_inclusion_proof(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str, tree: list[bytes]
) -> None:
    receipt = verify(token, net, opened, leaf_hash=tree[INDEX], inclusion_proof=path(INDEX, tree))
    assert receipt.log_index == INDEX
    with pytest.raises(AuditIntegrityError):
        verify(token, net, opened, leaf_hash=tree[INDEX + 1], inclusion_proof=path(INDEX, tree))
    with pytest.raises(AuditIntegrityError):
        verify(token, net, opened, leaf_hash=tree[INDEX], inclusion_proof=path(INDEX, tree)[:-1])
    with pytest.raises(UsageError, match="together"):
        verify(token, net, opened, leaf_hash=tree[INDEX])


# -- bindings -------------------------------------------------------------------------------


def test_wrong_sender(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    with pytest.raises(VerificationError, match="addressed to XA-NPOL, not to XC-CUST"):
        verify(token, net, opened, expected_sender=THIRD)


def test_wrong_digest(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    with pytest.raises(VerificationError, match="different envelope content"):
        verify(token, net, opened, expected_digest="0" * 64)


def test_wrong_jti_or_recipient(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    with pytest.raises(VerificationError, match="for envelope"):
        verify(token, net, opened, expected_jti="A" * 22)
    with pytest.raises(VerificationError, match="signed by XB-PROS, not by XC-CUST"):
        verify(token, net, opened, expected_recipient=THIRD)


def test_wrong_audience_claim_resigned(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    claims = claims_of(token) | {"aud": THIRD}
    with pytest.raises(VerificationError, match="addressed to XC-CUST"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


# -- keys -------------------------------------------------------------------------------------


def test_signed_with_another_agencys_key(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    forged = forge(claims_of(token), net.keysets[THIRD].signing_key)
    with pytest.raises(UnknownKeyError, match="belongs to XC-CUST"):
        verify(forged, net, opened)


def test_signed_by_a_key_outside_the_registry(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    with pytest.raises(UnknownKeyError):
        verify(forge(claims_of(token), SigningKey.generate()), net, opened)


def test_other_agency_signing_for_itself_with_the_recipients_checkpoint(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    claims = claims_of(token) | {"iss": THIRD}
    forged = forge(claims, net.keysets[THIRD].signing_key)
    with pytest.raises(VerificationError, match="log of XB-PROS, not of the signer XC-CUST"):
        verify(forged, net, opened)


def test_revoked_key(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    kid = net.keysets[RECIPIENT].signing_key.kid
    revoked = net.resign(net.document.with_revoked_key(RECIPIENT, kid, at=NOW, reason="lost"))
    with pytest.raises(KeyRevokedError, match="lost"):
        verify(token, revoked, opened)
    later = net.resign(
        net.document.with_revoked_key(RECIPIENT, kid, at=ISSUED + timedelta(seconds=1))
    )
    assert verify(token, later, opened).issuer == RECIPIENT  # valid when it signed


def test_suspended_recipient(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    suspended = net.resign(net.document.with_suspension(RECIPIENT, at=NOW))
    with pytest.raises(AgencySuspendedError):
        verify(token, suspended, opened)


def test_checkpoint_signed_by_another_key(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, tree: list[bytes], token: str
) -> None:
    claims = claims_of(token) | {"checkpoint": checkpoint_note(tree, SigningKey.generate())}
    with pytest.raises(VerificationError, match="not signed by any trusted key"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


def test_checkpoint_of_another_log(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, tree: list[bytes], token: str
) -> None:
    other = checkpoint_note(
        tree, net.keysets[SENDER].signing_key, origin=f"{NETWORK}/{SENDER}/audit"
    )
    claims = claims_of(token) | {"checkpoint": other}
    with pytest.raises(VerificationError, match="log of XA-NPOL"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


def test_checkpoint_with_an_origin_outside_the_convention(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, tree: list[bytes], token: str
) -> None:
    other = checkpoint_note(tree, net.keysets[RECIPIENT].signing_key, origin="example.com/log")
    claims = claims_of(token) | {"checkpoint": other}
    with pytest.raises(MalformedInputError, match="not a safeshare audit log origin"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


def test_checkpoint_not_covering_the_index(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    claims = claims_of(token) | {"log_index": SIZE}
    with pytest.raises(VerificationError, match="does not cover"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


# -- tampering and malformed receipts ---------------------------------------------------------


def test_tampered_claims(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    protected, _, signature = token.split(".")
    for change in ({"log_index": 4}, {"iat": to_unix(ISSUED) - 1}, {"envelope_jti": "B" * 22}):
        payload = b64u_encode(strictjson.dumps(claims_of(token) | change))
        with pytest.raises(VerificationError, match="does not verify"):
            verify(f"{protected}.{payload}.{signature}", net, opened)


def test_tampered_signature(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    head, signature = token.rsplit(".", 1)
    raw = bytearray(b64u_decode(signature))
    raw[0] ^= 1
    with pytest.raises(VerificationError):
        verify(f"{head}.{b64u_encode(bytes(raw))}", net, opened)


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"log_index": "5"},
        {"log_index": -1},
        {"log_index": 2**53},
        {"envelope_digest": "A" * 64},
        {"envelope_digest": "a" * 63},
        {"aud": "xa-npol"},
        {"iat": 1.5},
        {"checkpoint": ""},
    ],
)
def test_claims_outside_the_profile(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str, change: dict[str, Any]
) -> None:
    claims = claims_of(token) | change
    with pytest.raises(MalformedInputError, match=r"do not match the profile|RFC 7493"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


def test_missing_claim(net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str) -> None:
    claims = claims_of(token)
    del claims["checkpoint"]
    with pytest.raises(MalformedInputError, match="checkpoint"):
        verify(forge(claims, net.keysets[RECIPIENT].signing_key), net, opened)


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "JWT"},
        {"typ": RECEIPT_TYP, "crit": ["x"]},
        {"typ": RECEIPT_TYP, "jwk": {}},
        {"typ": RECEIPT_TYP, "extra": 1},
        {"typ": RECEIPT_TYP, "alg": "none"},
    ],
)
def test_header_outside_the_profile(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str, header: dict[str, Any]
) -> None:
    forged = forge(claims_of(token), net.keysets[RECIPIENT].signing_key, header)
    with pytest.raises(MalformedInputError):
        verify(forged, net, opened)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("a.b", MalformedInputError),
        ("a.b.c.d", MalformedInputError),
        ("é.b.c", MalformedInputError),
        ("x" * (MAX_RECEIPT_BYTES + 1), OversizedInputError),
        (b"a.b.c", MalformedInputError),
    ],
)
def test_not_a_receipt(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, bad: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        verify(bad, net, opened)  # type: ignore[arg-type]


def test_duplicate_claim_names(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    protected, payload, _ = token.split(".")
    raw = b64u_decode(payload)
    doubled = raw[:-1] + b',"aud":"' + SENDER.encode() + b'"}'
    key = net.keysets[RECIPIENT].signing_key
    signing_input = f"{protected}.{b64u_encode(doubled)}"
    forged = signing_input + "." + b64u_encode(key.sign(signing_input.encode()))
    with pytest.raises(MalformedInputError, match="duplicate"):
        verify(forged, net, opened)


def test_issued_in_the_future(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    with pytest.raises(NotYetValidError):
        verify(token, net, opened, now=ISSUED - timedelta(minutes=6))
    assert verify(token, net, opened, now=ISSUED - timedelta(minutes=5))
    with pytest.raises(UsageError, match="skew"):
        verify(token, net, opened, skew=timedelta(hours=2))


def test_verify_argument_checks(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, token: str
) -> None:
    with pytest.raises(UsageError):
        verify(token, net, opened, expected_sender=None)
    with pytest.raises(UsageError):
        verify(token, net, opened, now=datetime(2026, 11, 29))  # naive


# -- issuing ------------------------------------------------------------------------------------


def test_issue_refuses_a_checkpoint_not_covering_the_index(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, note: str
) -> None:
    with pytest.raises(UsageError, match="does not cover"):
        issue_receipt(opened, recipient=net.keysets[RECIPIENT], log_index=SIZE, checkpoint=note)


def test_issue_refuses_a_checkpoint_not_signed_by_the_recipient(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, tree: list[bytes]
) -> None:
    foreign = checkpoint_note(tree, SigningKey.generate())
    with pytest.raises(VerificationError):
        issue_receipt(opened, recipient=net.keysets[RECIPIENT], log_index=INDEX, checkpoint=foreign)


def test_issue_refuses_another_agencys_log(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, tree: list[bytes]
) -> None:
    other = checkpoint_note(
        tree, net.keysets[RECIPIENT].signing_key, origin=f"{NETWORK}/{THIRD}/audit"
    )
    with pytest.raises(UsageError, match="log of XC-CUST"):
        issue_receipt(opened, recipient=net.keysets[RECIPIENT], log_index=INDEX, checkpoint=other)


@pytest.mark.parametrize("index", [-1, True, 2**53, "5"])
def test_issue_refuses_a_bad_index(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, note: str, index: object
) -> None:
    with pytest.raises(UsageError):
        issue_receipt(opened, recipient=net.keysets[RECIPIENT], log_index=index, checkpoint=note)  # type: ignore[arg-type]


def test_issue_only_by_the_agency_that_opened(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, note: str
) -> None:
    with pytest.raises(UsageError, match="opened by XB-PROS"):
        issue_receipt(opened, recipient=net.keysets[THIRD], log_index=INDEX, checkpoint=note)
    with pytest.raises(UsageError):
        issue_receipt("opened", recipient=net.keysets[RECIPIENT], log_index=INDEX, checkpoint=note)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        issue_receipt(opened, recipient="XB-PROS", log_index=INDEX, checkpoint=note)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        issue_receipt(opened, recipient=net.keysets[RECIPIENT], log_index=INDEX, checkpoint=b"x")  # type: ignore[arg-type]


def test_receipt_after_key_rotation_uses_the_current_key(
    net: _testnet.TestNetwork, opened: OpenedEnvelope, tree: list[bytes]
) -> None:
    """The checkpoint may be signed by an older registered key of the recipient."""
    rotated = net.keysets[RECIPIENT].with_new_signing_key()
    document = net.document.with_key(
        RECIPIENT, RegistryKey.from_public(rotated.signing_key.public, not_before=NOW)
    )
    rotated_net = net.resign(document)
    old_note = checkpoint_note(tree, net.keysets[RECIPIENT].signing_key)
    token = issue_receipt(
        opened, recipient=rotated, log_index=INDEX, checkpoint=old_note, now=ISSUED
    )
    receipt = verify(token, rotated_net, opened)
    assert receipt.kid == rotated.signing_key.kid
