"""Message types: complete drafts validate, incomplete ones list every problem, nothing raises."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from specs.tools.generate_message_vectors import EXAMPLES

from safeshare.envelope import MESSAGE_TYPES
from safeshare.errors import MalformedInputError, PolicyError, UsageError
from safeshare.messages import (
    MESSAGE_MODELS,
    MlaRequest,
    Problem,
    Receipt,
    format_problems,
    inherit,
    parse_message,
    validate_message,
)
from safeshare.purpose.vocabulary import VocabularyFile, load_default

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def example(msg_type: str) -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES[msg_type][0])


def problems_of(msg_type: str, data: dict[str, Any], *, with_request: bool = True) -> list[Problem]:
    request = EXAMPLES[msg_type][1]
    context = inherit(request) if with_request and request is not None else None
    return validate_message(msg_type, data, request=context, now=NOW)


# -- the registry of types -------------------------------------------------------------


def test_models_cover_exactly_the_envelope_message_types() -> None:
    assert set(MESSAGE_MODELS) == MESSAGE_TYPES
    for code, model in MESSAGE_MODELS.items():
        assert model.msg_type == code
        assert model.title
        assert model.__doc__
        assert model.model_config.get("extra") == "forbid"


def test_every_type_has_an_example() -> None:
    assert set(EXAMPLES) == MESSAGE_TYPES


def test_the_spec_specifies_every_type() -> None:
    spec = Path(__file__).resolve().parents[3] / "specs" / "safeshare-v1.md"
    text = spec.read_text(encoding="utf-8")
    # section 11 (message types): one subsection per type, headed by its code
    section = text[text.index("\n## 11. ") : text.index("\n## 12. ")]
    headings = {
        line.split("`")[1]
        for line in section.splitlines()
        if line.startswith("#### ") and "`" in line
    }
    assert headings == MESSAGE_TYPES


# -- complete drafts ------------------------------------------------------------------


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_a_complete_message_has_no_problems(msg_type: str) -> None:
    assert problems_of(msg_type, example(msg_type)) == []
    # and also on its own, without the request it follows
    assert problems_of(msg_type, example(msg_type), with_request=False) == []


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_require_valid_returns_a_complete_message(msg_type: str) -> None:
    message = parse_message(msg_type, example(msg_type))
    assert message.require_valid(now=NOW) is message


# -- incomplete drafts -----------------------------------------------------------------


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_an_empty_draft_is_accepted_and_lists_its_problems(msg_type: str) -> None:
    message = MESSAGE_MODELS[msg_type]()  # incomplete drafts can be built and saved
    problems = message.validate(now=NOW)
    fields = [p.field for p in problems]
    assert {"purpose", "legal_basis", "case_ref"} <= set(fields)
    assert len(problems) > 3  # the type's own rules too
    for problem in problems:
        assert problem.message.endswith(".")
        assert problem.rule


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_require_valid_raises_a_policy_error_listing_the_problems(msg_type: str) -> None:
    message = MESSAGE_MODELS[msg_type]()
    problems = message.validate(now=NOW)
    with pytest.raises(PolicyError) as info:
        message.require_valid(now=NOW)
    text = info.value.message
    assert f"has {len(problems)} problems" in text
    for problem in problems:
        assert problem.message in text


def test_an_incomplete_mla_request_yields_all_its_problems_in_one_call() -> None:
    draft = {"purpose": "criminal_investigation", "legal_basis": "UNTOC.Art18", "case_ref": "C-1"}
    problems = MlaRequest.model_validate(draft).validate(now=NOW)
    by_field = {p.field: p for p in problems}
    expected = {
        "requesting_authority": "UNTOC Art. 18(15)(a)",
        "subject_matter": "UNTOC Art. 18(15)(b)",
        "proceeding_type": "UNTOC Art. 18(15)(b)",
        "conducting_authority": "UNTOC Art. 18(15)(b)",
        "summary_of_facts": "UNTOC Art. 18(15)(c)",
        "assistance_sought": "UNTOC Art. 18(15)(d)",
        "persons_concerned": "UNTOC Art. 18(15)(e)",
        "purpose_statement": "UNTOC Art. 18(15)(f)",
    }
    assert set(by_field) == set(expected)
    for field, rule in expected.items():
        assert by_field[field].rule == rule
    summary = by_field["summary_of_facts"]
    assert summary.message.startswith("Summary of facts is missing: UNTOC Art. 18(15)(c)")
    assert "commonly refused" in summary.message
    assert str(summary).startswith("summary_of_facts: Summary of facts is missing")


def test_nested_problems_are_reported_together_with_top_level_ones() -> None:
    data = example("mla_request")
    data["conducting_authority"] = {"country": "XA"}
    del data["summary_of_facts"]
    data["persons_concerned"] = [{"role": "suspect"}]
    fields = sorted(p.field for p in problems_of("mla_request", data))
    assert fields == [
        "conducting_authority.functions",
        "conducting_authority.name",
        "persons_concerned[0].name",
        "summary_of_facts",
    ]


# -- untrusted input never raises ---------------------------------------------------------


@pytest.mark.parametrize(
    ("msg_type", "data", "fields"),
    [
        ("no_such_type", {}, ["msg_type"]),
        ("mla_request", [], [""]),
        ("mla_request", {"persons_concerned": "Alex"}, ["persons_concerned"]),
        ("mla_request", {"purpose": 7}, ["purpose"]),
        ("mla_request", {"purpose": "Criminal Investigation"}, ["purpose"]),
        ("mla_request", {"proceeding_type": "trial"}, ["proceeding_type"]),
        ("consent_grant", {"expires_at": "2027-01-01T00:00:00"}, ["expires_at"]),
        (
            "receipt",
            {"in_reply_to": {"jti": "short", "digest": "00"}},
            ["in_reply_to.digest", "in_reply_to.jti"],
        ),
        ("mla_request", {"requesting_authority": {"nam": "x"}}, ["requesting_authority.nam"]),
        (
            "disclosure_request",
            {"data_requested": [{"time_from": "yesterday"}]},
            ["data_requested[0].time_from"],
        ),
    ],
)
def test_shape_errors_become_problems(msg_type: str, data: Any, fields: list[str]) -> None:
    problems = validate_message(msg_type, data, now=NOW)
    assert sorted(p.field for p in problems) == sorted(fields)
    for problem in problems:
        assert problem.message.endswith(".")
        assert "pydantic" not in problem.message


def test_shape_problem_wording() -> None:
    (unknown,) = validate_message("mla_request", {"suspect": "x"}, now=NOW)
    assert unknown.message.startswith("Suspect is not a member of this message")
    (pattern,) = validate_message("mla_request", {"purpose": "Criminal"}, now=NOW)
    assert "such as criminal_investigation" in pattern.message
    (aware,) = validate_message("consent_grant", {"expires_at": "2027-01-01T00:00:00"}, now=NOW)
    assert "time zone" in aware.message
    (nested,) = validate_message("mla_request", {"persons_concerned": [{"nam": "x"}]}, now=NOW)
    assert nested.field == "persons_concerned[0].nam"
    assert nested.message.startswith("Persons concerned, item 1, nam is not a member")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "purpose",
        "legal_basis",
        "case_ref",
        "in_reply_to",
        "original",
        "persons_concerned",
        "data_requested",
        "records",
        "corrections",
        "expires_at",
        "outcome",
        "about",
        "status",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    msg_type=st.sampled_from(sorted(MESSAGE_TYPES)),
    data=st.dictionaries(_keys | st.text(max_size=10), _json, max_size=6),
)
def test_validate_message_never_raises(msg_type: str, data: dict[str, Any]) -> None:
    problems = validate_message(msg_type, data, now=NOW)
    assert all(isinstance(p, Problem) and p.message for p in problems)


@settings(max_examples=100, deadline=None)
@given(data=_json)
def test_validate_message_never_raises_on_any_json(data: Any) -> None:
    problems = validate_message("disclosure_request", data, now=NOW)
    assert problems


# -- parsing and sealing helpers ---------------------------------------------------------------


def test_parse_message_refuses_a_wrong_shape() -> None:
    with pytest.raises(MalformedInputError, match="not a valid mla request"):
        parse_message("mla_request", {"purpose": 5, "x": 1, "y": 2, "z": 3, "w": 4})
    with pytest.raises(UsageError, match="not known"):
        parse_message("nope", {})


def test_seal_arguments_split_claims_from_record() -> None:
    message = parse_message("mla_request", example("mla_request"))
    args = message.seal_arguments()
    assert set(args) == {"record", "message_type", "purpose", "legal_basis", "case_ref"}
    assert args["message_type"] == "mla_request"
    assert args["purpose"] == "criminal_investigation"
    record = args["record"]
    assert not {"purpose", "case_ref", "legal_basis"} & set(record)
    assert record["summary_of_facts"] == example("mla_request")["summary_of_facts"]
    assert "deadline" not in record  # absent members are left out
    assert message.to_json()["purpose"] == "criminal_investigation"


def test_seal_arguments_refuse_a_message_without_claims() -> None:
    with pytest.raises(UsageError, match="has no purpose, case_ref"):
        MlaRequest(legal_basis="UNTOC.Art18").seal_arguments()


def test_format_problems() -> None:
    problems = [Problem("a", "A is missing.", "r1"), Problem("", "Whole.", "r2")]
    text = format_problems(problems, title="The MLA request")
    assert text.splitlines() == [
        "The MLA request has 2 problems:",
        "  1. a: A is missing. [r1]",
        "  2. (message): Whole. [r2]",
    ]
    assert format_problems(problems[:1]).startswith("The message has 1 problem:")
    assert format_problems([]) == "The message has no problems."
    assert problems[0].to_json() == {"field": "a", "message": "A is missing.", "rule": "r1"}


def test_messages_are_immutable() -> None:
    message = Receipt.model_validate(example("receipt"))
    with pytest.raises(ValidationError, match="frozen"):
        message.note = "changed"
    changed = message.model_copy(update={"note": "changed"})
    assert changed.note == "changed"
    assert message.note is None


def test_validate_uses_the_given_vocabulary() -> None:
    data = example("mla_request") | {"legal_basis": "XA-XB-MLAT.Art5"}
    assert [p.field for p in validate_message("mla_request", data, now=NOW)] == ["legal_basis"]
    treaty = VocabularyFile.model_validate(
        {
            "format": "safeshare-vocabulary/v1",
            "instruments": [{"code": "XA-XB-MLAT", "title": "MLAT", "kind": "bilateral_treaty"}],
            "legal_bases": [
                {
                    "code": "XA-XB-MLAT.Art5",
                    "instrument": "XA-XB-MLAT",
                    "article": "5",
                    "title": "Requests",
                    "procedure": "mutual_legal_assistance",
                    "purposes": ["criminal_investigation"],
                    "message_types": ["mla_request"],
                    "data_categories": ["subscriber"],
                    "verified": True,
                }
            ],
            "purpose_instruments": [
                {"purpose": "criminal_investigation", "instruments": ["XA-XB-MLAT"]}
            ],
        }
    )
    extended = load_default().extend(treaty)
    assert validate_message("mla_request", data, vocabulary=extended, now=NOW) == []
