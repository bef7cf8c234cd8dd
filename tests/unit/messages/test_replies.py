"""Replies reference the request they answer and inherit its purpose and case."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from specs.tools.generate_message_vectors import EXAMPLES, REQ_MLA, envelope_ref

from safeshare import _testnet
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import MalformedInputError, UsageError
from safeshare.messages import (
    REQUEST_TYPES,
    ConsentGrant,
    ConsentRequest,
    DisclosureResponse,
    MlaRequest,
    MlaResponse,
    PreservationRequest,
    Receipt,
    Refusal,
    ReplyContext,
    inherit,
    message_from_envelope,
    parse_message,
)
from safeshare.storage import ReplayCache, open_store

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW, agencies=("XA-NPOL", "XB-PROS"), seed=b"messages-tests")


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayCache]:
    with open_store(tmp_path / "replay.sqlite3") as store:
        yield ReplayCache(store)


def seal_and_open(
    net: _testnet.TestNetwork, replay: ReplayCache, message: Any, *, sender: str, to: str
) -> OpenedEnvelope:
    envelope = seal(
        **message.seal_arguments(),
        sender=net.keysets[sender],
        to=[to],
        registry=net.registry,
        now=NOW,
    )
    return open_envelope(
        envelope,
        recipient=net.keysets[to],
        registry=net.registry,
        replay=replay,
        purpose=message.purpose,
        actor="caseworker",
        recorder=None,
        now=NOW,
    )


def test_request_and_reply_round_trip_through_envelopes(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    request = parse_message("mla_request", EXAMPLES["mla_request"][0]).require_valid(now=NOW)
    opened = seal_and_open(net, replay, request, sender="XA-NPOL", to="XB-PROS")
    # the recipient reads the same message back from the verified envelope
    assert message_from_envelope(opened) == request
    assert MlaRequest.from_envelope(opened) == request

    context = inherit(opened)
    assert context.in_reply_to.jti == opened.jti
    assert context.in_reply_to.digest == opened.digest
    assert context.in_reply_to.msg_type == "mla_request"
    assert (context.purpose, context.legal_basis, context.case_ref) == (
        opened.purpose,
        opened.legal_basis,
        opened.case_ref,
    )
    reply = context.reply(
        MlaResponse,
        outcome="executed",
        results=[{"description": "certified bank statements"}],
    )
    assert reply.purpose == request.purpose
    assert reply.case_ref == request.case_ref
    assert reply.validate(request=context, now=NOW) == []

    answer = seal_and_open(net, replay, reply, sender="XB-PROS", to="XA-NPOL")
    received = message_from_envelope(answer)
    assert isinstance(received, MlaResponse)
    # the requesting agency checks the answer against the request it sent
    assert received.validate(request=inherit(opened), now=NOW) == []


def test_from_envelope_refuses_another_type_or_a_bad_record(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    request = parse_message("mla_request", EXAMPLES["mla_request"][0])
    opened = seal_and_open(net, replay, request, sender="XA-NPOL", to="XB-PROS")
    with pytest.raises(UsageError, match="carries a mla_request"):
        PreservationRequest.from_envelope(opened)
    broken = cast(
        "OpenedEnvelope",
        SimpleNamespace(
            message_type="mla_request",
            jti=opened.jti,
            purpose=opened.purpose,
            legal_basis=opened.legal_basis,
            case_ref=opened.case_ref,
            record={"summary_of_facts": ["not", "text"]},
        ),
    )
    with pytest.raises(MalformedInputError, match="summary_of_facts"):
        message_from_envelope(broken)
    unknown = cast("OpenedEnvelope", SimpleNamespace(message_type="telegram", jti="x"))
    with pytest.raises(MalformedInputError, match="unknown msg_type"):
        message_from_envelope(unknown)


def test_inherit_from_stored_claims() -> None:
    context = inherit(REQ_MLA)
    assert context == ReplyContext(
        in_reply_to=envelope_ref("mla-request", "mla_request"),
        purpose="criminal_investigation",
        legal_basis="UNTOC.Art18",
        case_ref=REQ_MLA["case_ref"],
    )
    # message_type (the OpenedEnvelope attribute name) is accepted as well
    alias = {k: v for k, v in REQ_MLA.items() if k != "msg_type"} | {"message_type": "mla_request"}
    assert inherit(alias) == context


@pytest.mark.parametrize("missing", ["jti", "digest", "purpose", "legal_basis", "case_ref"])
def test_inherit_needs_the_verified_claims(missing: str) -> None:
    claims = {k: v for k, v in REQ_MLA.items() if k != missing}
    with pytest.raises(UsageError, match=f"cannot inherit from this request: .*{missing}"):
        inherit(claims)


def test_reply_builds_only_types_that_follow_the_request() -> None:
    context = inherit(REQ_MLA)
    with pytest.raises(UsageError, match="does not follow another message"):
        context.reply(MlaRequest)
    with pytest.raises(UsageError, match="cannot follow a mla_request"):
        context.reply(DisclosureResponse)
    with pytest.raises(UsageError, match="cannot build the refusal"):
        context.reply(Refusal, grounds=["because"])
    refusal = context.reply(Refusal, grounds=["essential_interests"], reasons="national security")
    assert refusal.validate(request=context, now=NOW) == []
    receipt = context.reply(Receipt, received_at=NOW)
    assert receipt.in_reply_to == context.in_reply_to


def test_a_consent_request_inherits_from_the_original_envelope() -> None:
    original = EXAMPLES["consent_request"][1]
    assert original is not None
    context = inherit(original)
    request = context.reply(
        ConsentRequest, new_purpose="prosecution", justification="the suspect was charged"
    )
    assert request.original == context.in_reply_to
    assert request.purpose == original["purpose"]
    assert request.validate(request=context, now=NOW) == []


def test_a_consent_grant_follows_the_consent_request() -> None:
    data, request = EXAMPLES["consent_grant"]
    assert request is not None
    grant = ConsentGrant.model_validate(data)
    assert grant.original is not None
    assert grant.in_reply_to is not None
    assert grant.validate(request=inherit(request), now=NOW) == []
    # the same grant, checked later, has expired
    assert [p.field for p in grant.validate(now=datetime(2028, 1, 1, tzinfo=UTC))] == ["expires_at"]


@pytest.mark.parametrize(
    "msg_type",
    [
        "preservation_response",
        "disclosure_response",
        "mla_response",
        "refusal",
        "status_update",
        "cannot_comply_notice",
        "receipt",
        "consent_grant",
        "consent_refusal",
    ],
)
def test_a_reply_that_changes_purpose_or_case_is_refused(msg_type: str) -> None:
    data, request = copy.deepcopy(EXAMPLES[msg_type])
    assert request is not None
    context = inherit(request)
    changed = request | {"purpose": "judicial_proceedings", "case_ref": "OTHER-CASE"}
    problems = parse_message(msg_type, data).validate(request=inherit(changed), now=NOW)
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"purpose", "case_ref"}
    assert "differs from the purpose of the envelope" in by_field["purpose"].message
    assert "stays in the same case" in by_field["case_ref"].message
    assert "inherit" in by_field["purpose"].rule
    assert parse_message(msg_type, data).validate(request=context, now=NOW) == []


def test_a_reply_checked_against_another_request_is_refused() -> None:
    data, _ = copy.deepcopy(EXAMPLES["receipt"])
    other = REQ_MLA | envelope_ref("another request", "mla_request")
    problems = parse_message("receipt", data).validate(request=inherit(other), now=NOW)
    assert [p.field for p in problems] == ["in_reply_to"]
    assert "names another envelope" in problems[0].message


def test_a_reply_to_a_type_it_does_not_answer_is_refused() -> None:
    data, _ = copy.deepcopy(EXAMPLES["preservation_response"])
    wrong = REQ_MLA | {"purpose": "evidence_preservation", "legal_basis": "BUDAPEST.Art29"}
    data["in_reply_to"] = {k: wrong[k] for k in ("jti", "digest", "msg_type")}
    problems = parse_message("preservation_response", data).validate(
        request=inherit(wrong), now=NOW
    )
    assert sorted(p.field for p in problems) == ["in_reply_to", "in_reply_to.msg_type"]
    assert all("cannot follow a mla_request" in p.message for p in problems)


def test_a_reply_without_reference_is_incomplete() -> None:
    data, request = copy.deepcopy(EXAMPLES["status_update"])
    del data["in_reply_to"]
    problems = parse_message("status_update", data).validate(now=NOW)
    assert [p.field for p in problems] == ["in_reply_to"]
    assert "safeshare.messages.inherit" in problems[0].message
    # against the request it is still reported once, not twice
    assert request is not None
    with_request = parse_message("status_update", data).validate(request=inherit(request), now=NOW)
    assert [p.field for p in with_request] == ["in_reply_to"]


def test_request_types_are_answered() -> None:
    assert {
        "preservation_request",
        "disclosure_request",
        "mla_request",
        "emergency_request",
    } == REQUEST_TYPES
    assert Refusal.answers == REQUEST_TYPES
    assert Receipt.answers == frozenset()  # any envelope can be acknowledged
