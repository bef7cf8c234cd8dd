"""Handling conditions: the stricter rules for special categories (Art. 14(4))."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest
from pydantic import ValidationError

from safeshare.purpose.conditions import (
    SPECIAL_CATEGORY_RETENTION_DAYS,
    SPECIAL_CATEGORY_REVIEW_DAYS,
    SPECIAL_CATEGORY_TLP,
    HandlingConditions,
    Retention,
)

SCHEMA: Final = (
    Path(__file__).resolve().parents[3] / "specs" / "schemas" / "handling-conditions.schema.json"
)


def problem(**members: Any) -> str:
    with pytest.raises(ValidationError) as info:
        HandlingConditions.model_validate(members)
    return str(info.value)


@pytest.mark.parametrize("tlp", ["CLEAR", "GREEN"])
def test_special_categories_refuse_open_tlp(tlp: str) -> None:
    text = problem(tlp=tlp, special_categories=["health"])
    assert "special categories (health)" in text
    assert f"tlp must be AMBER, AMBER+STRICT or RED, not {tlp}" in text
    assert "Art. 14(4)" in text


@pytest.mark.parametrize("tlp", ["AMBER", "AMBER+STRICT", "RED"])
def test_special_categories_accept_restricted_tlp(tlp: str) -> None:
    handling = HandlingConditions.model_validate({"tlp": tlp, "special_categories": ["minor"]})
    assert handling.tlp == tlp


@pytest.mark.parametrize("tlp", ["CLEAR", "GREEN"])
def test_without_special_categories_any_tlp_is_fine(tlp: str) -> None:
    assert HandlingConditions.model_validate({"tlp": tlp}).tlp == tlp


def test_special_categories_refuse_onward_transfer_to_listed_agencies() -> None:
    text = problem(
        special_categories=["biometric"],
        onward_transfer="allowed_to_listed",
        onward_allowed_to=["XC-CUST"],
    )
    assert "onward_transfer must be 'forbidden' or 'with_prior_authorisation'" in text
    listed = HandlingConditions(onward_transfer="allowed_to_listed", onward_allowed_to=("XC-CUST",))
    assert listed.onward_allowed_to == ("XC-CUST",)


@pytest.mark.parametrize("onward", ["forbidden", "with_prior_authorisation"])
def test_special_categories_accept_strict_onward_transfer(onward: str) -> None:
    handling = HandlingConditions.model_validate(
        {"onward_transfer": onward, "special_categories": ["genetic"]}
    )
    assert handling.onward_transfer == onward


def test_special_categories_require_no_solely_automated_decision() -> None:
    text = problem(special_categories=["health"], no_solely_automated_decision=False)
    assert "no_solely_automated_decision must be true" in text
    assert not HandlingConditions(no_solely_automated_decision=False).no_solely_automated_decision


def test_every_problem_is_reported_at_once() -> None:
    text = problem(
        tlp="GREEN",
        special_categories=["health", "minor"],
        onward_transfer="allowed_to_listed",
        onward_allowed_to=["XC-CUST"],
        no_solely_automated_decision=False,
    )
    assert "(health, minor)" in text
    for member in ("tlp", "onward_transfer", "no_solely_automated_decision"):
        assert f"{member} must" in text


def test_for_special_categories_builds_the_protective_defaults() -> None:
    handling = HandlingConditions.for_special_categories("health", "minor")
    assert handling.special_categories == ("health", "minor")
    assert handling.tlp == SPECIAL_CATEGORY_TLP == "AMBER+STRICT"
    assert handling.onward_transfer == "with_prior_authorisation"
    assert handling.evidential_use == "with_consent"
    assert handling.retention == Retention(
        max_days=SPECIAL_CATEGORY_RETENTION_DAYS, review_days=SPECIAL_CATEGORY_REVIEW_DAYS
    )
    assert handling.retention.max_days < HandlingConditions().retention.max_days
    assert handling.no_solely_automated_decision is True


def test_for_special_categories_takes_overrides() -> None:
    handling = HandlingConditions.for_special_categories(
        "biometric",
        tlp="RED",
        onward_transfer="forbidden",
        retention=Retention(max_days=30),
        acknowledgements=("Delete after the hearing.",),
    )
    assert (handling.tlp, handling.onward_transfer, handling.retention.max_days) == (
        "RED",
        "forbidden",
        30,
    )
    assert handling.acknowledgements == ("Delete after the hearing.",)


def test_for_special_categories_overrides_cannot_weaken_the_rules() -> None:
    with pytest.raises(ValidationError, match="tlp must be"):
        HandlingConditions.for_special_categories("health", tlp="GREEN")
    with pytest.raises(ValidationError, match="no_solely_automated_decision must be true"):
        HandlingConditions.for_special_categories("health", no_solely_automated_decision=False)


def test_for_special_categories_needs_categories() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HandlingConditions.for_special_categories()
    with pytest.raises(ValueError, match="positional"):
        HandlingConditions.for_special_categories("health", special_categories=("minor",))
    with pytest.raises(ValidationError, match="listed twice"):
        HandlingConditions.for_special_categories("health", "health")
    with pytest.raises(ValidationError):
        HandlingConditions.for_special_categories("astrology")  # type: ignore[arg-type]


def test_the_rules_hold_when_parsing_signed_claims() -> None:
    data = json.dumps({"tlp": "CLEAR", "special_categories": ["health"]})
    with pytest.raises(ValidationError, match="tlp must be"):
        HandlingConditions.model_validate_json(data, strict=True)


def test_the_schema_states_the_rules() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["if"]["required"] == ["special_categories"]
    then = schema["then"]["properties"]
    assert set(then["tlp"]["enum"]) == {"AMBER", "AMBER+STRICT", "RED"}
    assert set(then["onward_transfer"]["enum"]) == {"forbidden", "with_prior_authorisation"}
    assert then["no_solely_automated_decision"] == {"const": True}
