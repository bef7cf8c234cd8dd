"""Held copies: keep an opened envelope, re-open it later (no replay check) and forward it.

specs/safeshare-v1.md section 7.4. The envelopes are real (testnet keys,
registry, SQLite replay caches and consent stores, as in ``test_forward``);
hostile held copies are built from genuine ones.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose import sdjwt
from safeshare.envelope import (
    HELD_FORMAT,
    MAX_HELD_BYTES,
    MAX_TTL,
    OpenedEnvelope,
    reopen_held,
)
from safeshare.envelope._held import parse_held
from safeshare.errors import (
    ExpiredError,
    MalformedInputError,
    OversizedInputError,
    PolicyError,
    ReplayError,
    UsageError,
    VerificationError,
)
from tests.conftest import NOW
from tests.unit.envelope.test_forward import (
    ACTOR,
    LATER,
    PURPOSE,
    XA,
    XB,
    XC,
    XD,
    Agencies,
    agencies,
    chain_to_c,
    consent,
    fwd,
    net,
    open_as,
    seal_to_b,
)

__all__ = ["agencies", "net"]

#: When the officer decides to forward: two days after the open (the envelope lives 7).
DAYS_LATER: Final = NOW + timedelta(days=2)


def reopen(
    net: _testnet.TestNetwork, ag: Agencies, agency: str, held: str | bytes, **kw: Any
) -> OpenedEnvelope:
    return reopen_held(
        held,
        recipient=net.keysets[agency],
        registry=net.registry,
        purpose=kw.pop("purpose", PURPOSE),
        actor=ACTOR,
        recorder=ag.recorder[agency],
        consents=ag.consents[agency],
        now=kw.pop("now", DAYS_LATER),
        **kw,
    )


def held_doc(held: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(held)
    return doc


def with_changes(held: str, **changes: Any) -> str:
    doc = held_doc(held)
    doc.update(changes)
    return json.dumps(doc)


def same_content(a: OpenedEnvelope, b: OpenedEnvelope) -> None:
    assert a.verified_claims() == b.verified_claims()
    assert (a.digest, a.presentation, a.provenance) == (b.digest, b.presentation, b.provenance)
    assert (a.recipient, a.recipient_kid, a.holder_binding) == (
        b.recipient,
        b.recipient_kid,
        b.holder_binding,
    )


# -- the format ---------------------------------------------------------------------------------


def test_held_copy_is_the_documented_json_object(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    held = at_b.held()
    doc = held_doc(held)
    assert list(doc) == ["format", "recipient", "recipient_kid", "token"]
    assert doc["format"] == HELD_FORMAT == "safeshare-held/v1"
    assert (doc["recipient"], doc["recipient_kid"]) == (XB, at_b.recipient_kid)
    # The SD-JWT as received: a direct envelope's ends with '~' (no KB-JWT).
    assert doc["token"] == at_b.presentation
    assert doc["token"].endswith("~")
    assert held == held.strip()
    assert "\n" not in held


def test_held_copy_of_a_forwarded_envelope_keeps_its_key_binding(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    at_c = open_as(net, agencies, XC, envelope)
    token = held_doc(at_c.held())["token"]
    assert token == at_c.presentation + at_c.provenance[-1].token
    assert sdjwt.split(token)[2] == at_c.provenance[-1].token


# -- re-opening ---------------------------------------------------------------------------------


def test_reopen_gives_the_same_envelope_and_records_an_open(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    envelope = seal_to_b(net)
    at_b = open_as(net, agencies, XB, envelope)
    again = reopen(net, agencies, XB, at_b.held())
    same_content(at_b, again)
    assert again.opened_for == PURPOSE
    assert again.actor == ACTOR
    entry = agencies.recorder[XB].entries[-1]
    assert (entry.action, entry.outcome, entry.counterparty) == ("open", "success", XA)
    assert (entry.jti, entry.envelope_digest) == (at_b.jti, at_b.digest)
    assert entry.reason is not None
    assert entry.reason.startswith("re-opened a held copy")
    # No replay check: it re-opens again; the envelope itself stays consumed.
    reopen(net, agencies, XB, at_b.held())
    with pytest.raises(ReplayError):
        open_as(net, agencies, XB, envelope)


def test_reopen_accepts_bytes_and_a_held_copy_of_a_held_copy(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    again = reopen(net, agencies, XB, at_b.held().encode("ascii"))
    assert again.held() == at_b.held()


def test_forward_days_later_from_a_held_copy_reaches_c(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    held = open_as(net, agencies, XB, seal_to_b(net)).held()
    # ... a restart later: only the held copy is left.
    at_b = reopen(net, agencies, XB, held)
    consent(net, agencies, at_b, XB, XC)
    envelope = fwd(net, agencies, at_b, XC, ["full_name"], now=DAYS_LATER)
    at_c = open_as(net, agencies, XC, envelope, now=DAYS_LATER + timedelta(hours=1))
    assert dict(at_c.record) == {"full_name": "Jan Kowalczyk"}
    assert [(h.forwarder, h.recipient) for h in at_c.provenance] == [(XB, XC)]
    assert [e.action for e in agencies.recorder[XB].entries] == ["open", "open", "forward"]


def test_a_forwarded_held_copy_reopens_with_its_provenance_and_forwards_on(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    at_c = open_as(net, agencies, XC, envelope)
    again = reopen(net, agencies, XC, at_c.held(), now=LATER + timedelta(hours=1))
    same_content(at_c, again)
    assert again.forwarded_by == XB
    entry = agencies.recorder[XC].entries[-1]
    # Nothing was received this time: an "open", naming the forwarder and the originator.
    assert (entry.action, entry.counterparty) == ("open", XB)
    assert entry.reason is not None
    assert f"forwarded by {XB} from {XA}" in entry.reason
    consent(net, agencies, again, XC, XD)
    to_d = fwd(net, agencies, again, XD, ["full_name"], now=LATER + timedelta(hours=1))
    at_d = open_as(net, agencies, XD, to_d, now=LATER + timedelta(hours=2))
    assert [(h.forwarder, h.recipient) for h in at_d.provenance] == [(XB, XC), (XC, XD)]


def test_reopen_for_a_purpose_not_allowed_is_refused_and_recorded(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    with pytest.raises(PolicyError):
        reopen(net, agencies, XB, at_b.held(), purpose="marketing")
    entry = agencies.recorder[XB].entries[-1]
    assert (entry.action, entry.outcome, entry.purpose) == ("deny", "denied", "marketing")


def test_reopen_checks_the_acknowledgements(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    text = "Use only in case XA/2026/77."
    at_b = open_as(net, agencies, XB, seal_to_b(net, acknowledgements=[text]), acknowledged=[text])
    with pytest.raises(PolicyError):
        reopen(net, agencies, XB, at_b.held())
    assert agencies.recorder[XB].entries[-1].action == "deny"
    reopen(net, agencies, XB, at_b.held(), acknowledged=[text])


def test_reopen_after_the_envelope_expired_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    with pytest.raises(ExpiredError):
        reopen(net, agencies, XB, at_b.held(), now=at_b.expires_at + timedelta(hours=1))


def test_reopen_after_the_forwarded_hop_expired_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    consent(net, agencies, at_b, XB, XC)
    envelope = fwd(net, agencies, at_b, XC, ["full_name"], ttl=timedelta(hours=1))
    at_c = open_as(net, agencies, XC, envelope)
    with pytest.raises(ExpiredError, match="forwarded envelope expired"):
        reopen(net, agencies, XC, at_c.held(), now=LATER + timedelta(hours=2))


def test_reopen_must_be_recorded(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    with pytest.raises(UsageError, match="recorded"):
        reopen_held(
            at_b.held(),
            recipient=net.keysets[XB],
            registry=net.registry,
            purpose=PURPOSE,
            actor=ACTOR,
            recorder=None,  # type: ignore[arg-type]
            now=DAYS_LATER,
        )


# -- hostile held copies ------------------------------------------------------------------------


@pytest.fixture
def held_at_b(net: _testnet.TestNetwork, agencies: Agencies) -> str:
    return open_as(net, agencies, XB, seal_to_b(net)).held()


def test_truncated_held_copy_is_malformed(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    for cut in (1, 10, len(held_at_b) // 2):
        with pytest.raises(MalformedInputError):
            reopen(net, agencies, XB, held_at_b[:-cut])
    # Truncated inside the token (still valid JSON): the SD-JWT no longer parses or verifies.
    token = held_doc(held_at_b)["token"]
    with pytest.raises((MalformedInputError, VerificationError)):
        reopen(net, agencies, XB, with_changes(held_at_b, token=token[: len(token) // 2]))


def test_tampered_signature_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    issuer_jwt, disclosures, _ = sdjwt.split(held_doc(held_at_b)["token"])
    header, payload, signature = issuer_jwt.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    token = sdjwt.serialize(f"{header}.{payload}.{flipped}", disclosures)
    with pytest.raises(VerificationError):
        reopen(net, agencies, XB, with_changes(held_at_b, token=token))


def test_tampered_claims_are_refused(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    issuer_jwt, disclosures, _ = sdjwt.split(held_doc(held_at_b)["token"])
    header, payload, signature = issuer_jwt.split(".")
    claims = json.loads(b64u_decode(payload, what="payload"))
    claims["exp"] = claims["iat"] + int(MAX_TTL.total_seconds())  # a longer life
    forged = b64u_encode(strictjson.dumps(claims))
    token = sdjwt.serialize(f"{header}.{forged}.{signature}", disclosures)
    with pytest.raises(VerificationError):
        reopen(net, agencies, XB, with_changes(held_at_b, token=token))


def test_tampered_disclosure_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    issuer_jwt, disclosures, _ = sdjwt.split(held_doc(held_at_b)["token"])
    salt, name, _ = json.loads(b64u_decode(disclosures[0], what="d"))
    fake = b64u_encode(strictjson.dumps([salt, name, "someone else"]))
    token = sdjwt.serialize(issuer_jwt, [fake, *disclosures[1:]])
    with pytest.raises(VerificationError):
        reopen(net, agencies, XB, with_changes(held_at_b, token=token))
    # Nothing was recorded as an open of the held copy.
    assert [e.action for e in agencies.recorder[XB].entries] == ["open"]


def test_tampered_disclosure_in_a_forwarded_held_copy_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    at_c = open_as(net, agencies, XC, envelope)
    issuer_jwt, disclosures, kb = sdjwt.split(held_doc(at_c.held())["token"])
    assert kb is not None
    reordered = sdjwt.serialize(issuer_jwt, list(reversed(disclosures)), kb)
    with pytest.raises(VerificationError, match="sd_hash"):
        reopen(net, agencies, XC, with_changes(at_c.held(), token=reordered), now=LATER)


def test_another_agencys_key_id_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    other = net.keysets[XC].decryption_keys[0].kid
    with pytest.raises(VerificationError, match="not one of the decryption keys"):
        reopen(net, agencies, XB, with_changes(held_at_b, recipient_kid=other))
    # ... and naming that agency as the holder does not help: we are not it.
    with pytest.raises(VerificationError, match="opened by"):
        reopen(net, agencies, XB, with_changes(held_at_b, recipient=XC, recipient_kid=other))


def test_a_held_copy_of_another_agency_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    with pytest.raises(VerificationError, match="opened by"):
        reopen(net, agencies, XC, held_at_b)
    # Claiming to be C's copy, with C's key: the envelope is not addressed to C.
    forged = with_changes(
        held_at_b, recipient=XC, recipient_kid=net.keysets[XC].decryption_keys[0].kid
    )
    with pytest.raises(VerificationError, match="not addressed"):
        reopen(net, agencies, XC, forged)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "safeshare-held/v2"}, "reads only"),
        ({"format": "something-else/v1"}, "not a held copy"),
        ({"format": None}, "not a held copy"),
        ({"extra": 1}, "does not match"),
        ({"token": 12}, "does not match"),
        ({"token": "not a token!"}, "does not match"),
        ({"recipient_kid": "short"}, "does not match"),
        ({"recipient": "xb-pros"}, "does not match"),
    ],
)
def test_wrong_format_or_members_are_malformed(
    net: _testnet.TestNetwork,
    agencies: Agencies,
    held_at_b: str,
    changes: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(MalformedInputError, match=message):
        reopen(net, agencies, XB, with_changes(held_at_b, **changes))


def test_missing_member_and_non_objects_are_malformed(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    doc = held_doc(held_at_b)
    del doc["recipient_kid"]
    for bad in (json.dumps(doc), "[]", '"safeshare-held/v1"', "", "\ufeff" + held_at_b):
        with pytest.raises(MalformedInputError):
            reopen(net, agencies, XB, bad)
    duplicated = held_at_b[:-1] + ',"format":"safeshare-held/v1"}'
    with pytest.raises(MalformedInputError):
        reopen(net, agencies, XB, duplicated)


def test_oversized_held_copy_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies, held_at_b: str
) -> None:
    with pytest.raises(OversizedInputError):
        reopen(net, agencies, XB, held_at_b + " " * MAX_HELD_BYTES)


def test_a_held_copy_is_text(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    with pytest.raises(UsageError):
        parse_held(12)  # type: ignore[arg-type]
