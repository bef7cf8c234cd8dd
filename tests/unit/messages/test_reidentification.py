"""The re-identification request: its rules, its reply, and that it never echoes pseudonyms."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, Final

import pytest
from specs.tools.generate_message_vectors import EXAMPLES, ORIGINAL, pseudonym

from safeshare.errors import UsageError
from safeshare.messages import (
    MESSAGE_MODELS,
    DisclosureResponse,
    Refusal,
    ReidentificationRequest,
    inherit,
    validate_message,
)
from safeshare.messages._reidentification import MAX_PSEUDONYMS

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TYPE: Final = "reidentification_request"


def draft() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES[TYPE][0])


def fields(data: dict[str, Any], *, follows: dict[str, Any] | None = ORIGINAL) -> list[str]:
    request = inherit(follows) if follows is not None else None
    return sorted(p.field for p in validate_message(TYPE, data, request=request, now=NOW))


def test_registered() -> None:
    assert MESSAGE_MODELS[TYPE] is ReidentificationRequest
    assert ReidentificationRequest.reference_field == "original"
    assert "reidentification_request" in DisclosureResponse.answers


def test_the_example_is_complete_with_and_without_the_envelope() -> None:
    assert fields(draft()) == []
    assert fields(draft(), follows=None) == []


def test_every_legal_basis_provides_for_it() -> None:
    """A follow-up of an envelope sent under a preservation basis is still a valid request."""
    original = {
        **ORIGINAL,
        "msg_type": "preservation_response",
        "purpose": "evidence_preservation",
        "legal_basis": "BUDAPEST.Art29",
    }
    data = draft()
    data.update(
        purpose="evidence_preservation",
        legal_basis="BUDAPEST.Art29",
        original={"jti": original["jti"], "digest": original["digest"]},
        requested_purpose="evidence_preservation",
    )
    assert fields(data, follows=original) == []


def test_other_legal_basis_problems_are_still_reported() -> None:
    data = draft()
    data["legal_basis"] = "NO.SUCH.BASIS"
    assert fields(data) == ["legal_basis"]
    del data["legal_basis"]
    assert fields(data) == ["legal_basis"]
    data = draft()
    data["legal_basis"] = "BUDAPEST.Art29"  # known, but not for criminal_investigation
    assert fields(data) == ["purpose"]


def test_incomplete_request_lists_every_problem() -> None:
    data = draft()
    for name in ("pseudonyms", "requested_purpose", "justification", "original"):
        del data[name]
    assert fields(data) == ["justification", "original", "pseudonyms", "requested_purpose"]


def test_requested_purpose_follows_the_speciality_rule() -> None:
    for allowed in ("criminal_investigation", "prosecution", "judicial_proceedings"):
        assert fields({**draft(), "requested_purpose": allowed}) == []
    problems = validate_message(
        TYPE, {**draft(), "requested_purpose": "border_control"}, request=inherit(ORIGINAL)
    )
    (problem,) = problems
    assert problem.field == "requested_purpose"
    assert "consent" in problem.message
    assert "criminal_investigation" in problem.message
    assert fields({**draft(), "requested_purpose": "nope"}) == ["requested_purpose"]


def test_pseudonym_form_count_and_duplicates() -> None:
    clear = "+99 555 0100"
    data = {**draft(), "pseudonyms": [pseudonym("a"), clear, pseudonym("a"), "pn_short"]}
    problems = validate_message(TYPE, data, request=inherit(ORIGINAL), now=NOW)
    assert sorted(p.field for p in problems) == ["pseudonyms[1]", "pseudonyms[2]", "pseudonyms[3]"]
    for problem in problems:  # an identifier written by mistake is never repeated
        assert clear not in problem.message
        assert pseudonym("a") not in problem.message
    many = [pseudonym(str(i)) for i in range(MAX_PSEUDONYMS + 1)]
    assert fields({**draft(), "pseudonyms": many}) == ["pseudonyms"]
    assert fields({**draft(), "pseudonyms": many[:MAX_PSEUDONYMS]}) == []


def test_inherits_purpose_and_case() -> None:
    assert fields({**draft(), "case_ref": "XA-2026-999999"}) == ["case_ref"]
    assert fields({**draft(), "purpose": "prosecution"}) == ["purpose"]


def test_unknown_members_are_refused() -> None:
    assert fields({**draft(), "values": ["+99 555 0100"]}) == ["values"]


def test_reply_is_a_disclosure_response_or_a_refusal() -> None:
    request = ReidentificationRequest.model_validate(draft()).require_valid(
        request=inherit(ORIGINAL), now=NOW
    )
    claims = {
        "jti": ORIGINAL["jti"][::-1],
        "digest": "0" * 64,
        "msg_type": TYPE,
        "purpose": request.purpose,
        "legal_basis": request.legal_basis,
        "case_ref": request.case_ref,
    }
    context = inherit(claims)
    reply = context.reply(
        DisclosureResponse,
        outcome="disclosed",
        data_category="subscriber",
        records=({"pseudonym": p, "value": "Alex Example"} for p in request.pseudonyms),
    )
    assert reply.validate(request=context, now=NOW) == []
    # a refusal to re-identify: a disclosure response with no data and the reason
    refused = context.reply(
        DisclosureResponse,
        outcome="no_data",
        withheld_reason="The identity is not necessary for the case.",
    )
    assert refused.validate(request=context, now=NOW) == []
    with pytest.raises(UsageError, match="cannot follow"):
        context.reply(Refusal, grounds=("other",), reasons="not necessary")


def test_the_request_is_built_from_the_envelope_it_follows() -> None:
    request = inherit(ORIGINAL).reply(
        ReidentificationRequest,
        pseudonyms=(pseudonym("account-holder"),),
        requested_purpose="prosecution",
        justification="The account holder is to be charged.",
    )
    assert request.original is not None
    assert request.original.jti == ORIGINAL["jti"]
    assert request.case_ref == ORIGINAL["case_ref"]
    assert request.validate(request=inherit(ORIGINAL), now=NOW) == []


def test_seal_arguments_carry_pseudonyms_only() -> None:
    request = ReidentificationRequest.model_validate(draft())
    arguments = request.seal_arguments()
    assert arguments["message_type"] == TYPE
    assert set(arguments["record"]) == {
        "original",
        "pseudonyms",
        "requested_purpose",
        "justification",
    }


def test_the_answer_resolving_pseudonyms_follows_the_transfer_it_belongs_to() -> None:
    # The original envelope's legal basis (spontaneous information) provides for
    # no disclosure response; the answer to the re-identification request is still
    # valid, as the request is (both belong to the transfer that carried the pseudonyms).
    from datetime import UTC, datetime

    from safeshare.messages import DisclosureResponse, inherit

    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    original = {
        "jti": "A" * 22,
        "digest": "0" * 64,
        "msg_type": "spontaneous_information",
        "purpose": "locate_suspect",
        "legal_basis": "UNTOC.Art18(4)",
        "case_ref": "XA-2026-1",
    }
    request = inherit({**original, "jti": "B" * 22, "msg_type": "reidentification_request"})
    answer = request.reply(
        DisclosureResponse,
        outcome="disclosed",
        data_category="subscriber",
        records=({"pseudonym": "pn_" + "a" * 22, "value": "P1234567"},),
    )
    assert answer.validate(request=request, now=now) == []
    # The same answer to a disclosure request under that basis is refused.
    other = inherit({**original, "jti": "C" * 22, "msg_type": "disclosure_request"})
    wrong = other.reply(
        DisclosureResponse, outcome="disclosed", data_category="subscriber", records=({"x": 1},)
    )
    assert any(p.field == "legal_basis" for p in wrong.validate(request=other, now=now))
