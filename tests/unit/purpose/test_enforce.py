"""The decision of :mod:`safeshare.purpose.enforce`, without an envelope.

``open_envelope`` itself (recording, the replay cache, consent) is tested in
tests/unit/envelope/test_open_enforcement.py.
"""

from __future__ import annotations

from typing import Any, Final

import pytest

from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.errors import PolicyError, UsageError
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.enforce import (
    SPECIALITY_RULE,
    authorize_open,
    decide_open,
    open_request,
)
from safeshare.purpose.vocabulary import (
    Purpose,
    Vocabulary,
    VocabularyFile,
    load_default,
    merge,
)
from tests.conftest import NOW

DIGEST: Final = "ab" * 32


def decide(purpose: str, envelope_purpose: str = "criminal_investigation", **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "purpose": purpose,
        "issuer": "XA-NPOL",
        "recipient": "XB-PROS",
        "envelope_purpose": envelope_purpose,
        "envelope_digest": DIGEST,
        "handling": HandlingConditions(),
        "vocabulary": load_default(),
        "now": NOW,
    } | kwargs
    return decide_open(**args)


@pytest.mark.parametrize(
    ("purpose", "envelope_purpose", "allowed_by"),
    [
        ("criminal_investigation", "criminal_investigation", "envelope_purpose"),
        ("prosecution", "criminal_investigation", "compatible_purpose"),
        ("judicial_proceedings", "criminal_investigation", "compatible_purpose"),
        ("criminal_investigation", "locate_suspect", "compatible_purpose"),
        ("confiscation", "asset_tracing", "compatible_purpose"),
        ("prosecution", "locate_suspect", None),  # not transitive
        ("criminal_investigation", "prosecution", None),  # not symmetric
        ("prosecution", "prevent_imminent_threat", None),  # emergency data: nothing
        ("criminal_investigation", "identify_victim", None),
    ],
)
def test_speciality(purpose: str, envelope_purpose: str, allowed_by: str | None) -> None:
    decision = decide(purpose, envelope_purpose)
    assert decision.allowed_by == allowed_by
    assert decision.allowed is (allowed_by is not None)
    assert decision.grant_id is None


def test_a_refusal_names_what_is_allowed_and_the_consent_needed() -> None:
    decision = decide("intelligence_analysis")
    assert not decision.allowed
    error = decision.error()
    assert isinstance(error, PolicyError)
    assert error.code == "policy_violation"
    assert "it was sent for criminal_investigation" in error.message
    assert "also allows prosecution, judicial_proceedings" in error.message
    assert SPECIALITY_RULE in error.message
    assert error.hint is not None
    assert DIGEST in error.hint
    assert "scope purpose, purpose intelligence_analysis" in error.hint


def test_a_purpose_compatible_with_nothing_says_so() -> None:
    error = decide("prosecution", "prevent_imminent_threat").error()
    assert "which allows no other purpose without consent" in error.message
    assert error.hint is not None
    assert error.hint.startswith("open it for prevent_imminent_threat, or ask XA-NPOL")


def test_unknown_codes_on_either_side() -> None:
    requested = decide("fishing")
    assert requested.reasons == ("unknown purpose code fishing",)
    assert requested.hint is not None
    assert "such as the envelope's purpose criminal_investigation" in requested.hint
    signed = decide("fishing", "surveillance")
    assert len(signed.problems) == 2
    assert "the envelope's purpose 'surveillance' is not in" in signed.problems[1]


def test_acknowledgements_are_matched_exactly() -> None:
    handling = HandlingConditions(acknowledgements=("Condition A.", "Condition B."))
    assert not decide("prosecution", handling=handling).allowed
    assert not decide("prosecution", handling=handling, acknowledged=["Condition A."]).allowed
    assert not decide(
        "prosecution", handling=handling, acknowledged=["Condition A.", "condition b."]
    ).allowed
    ok = decide("prosecution", handling=handling, acknowledged=("Condition B.", "Condition A."))
    assert ok.allowed
    assert ok.acknowledged_count == 2
    assert ok.audit_reason().endswith("; 2 handling conditions acknowledged")


def test_authorize_open_raises_only_on_refusal() -> None:
    args: dict[str, Any] = {
        "issuer": "XA-NPOL",
        "recipient": "XB-PROS",
        "envelope_purpose": "criminal_investigation",
        "envelope_digest": DIGEST,
        "handling": HandlingConditions(),
        "vocabulary": load_default(),
        "now": NOW,
    }
    assert authorize_open(purpose="prosecution", **args).allowed_by == "compatible_purpose"
    with pytest.raises(PolicyError):
        authorize_open(purpose="border_control", **args)
    with pytest.raises(UsageError, match="no refusal to report"):
        decide("prosecution").error()


def _wide_vocabulary() -> Vocabulary:
    """A purpose compatible with 20 purposes with long codes."""
    others = tuple(f"p{i:02d}_" + "x" * 55 for i in range(20))
    narrow = [Purpose(code=c, title="t", description="d", instruments=("UNTOC",)) for c in others]
    wide = Purpose(
        code="wide",
        title="Wide",
        description="Compatible with many.",
        compatible_with=others,
        instruments=("UNTOC",),
    )
    purposes = (*narrow, wide)
    return merge(
        load_default(), VocabularyFile(format="safeshare-vocabulary/v1", purposes=purposes)
    )


def test_the_audit_reason_fits_an_audit_entry() -> None:
    decision = decide(
        "border_control",
        "wide",
        vocabulary=_wide_vocabulary(),
        handling=HandlingConditions(acknowledgements=("x" * 2000,)),
    )
    reason = decision.audit_reason()
    assert len(reason) == MAX_REASON_LENGTH
    assert reason.endswith("...")
    assert "x" * 50 not in reason.split("(without consent also")[0]
    AuditEntry(action="deny", time=0, actor="a", agency="XB-PROS", outcome="denied", reason=reason)


@pytest.mark.parametrize("purpose", ["", "Prosecution", "a b", "x" * 65, 7])
def test_open_request_refuses_a_purpose_that_is_not_a_code(purpose: Any) -> None:
    with pytest.raises(UsageError, match="purpose must be a purpose code"):
        open_request(purpose=purpose, actor="officer", recorder=None)


def test_open_request_defaults() -> None:
    request = open_request(purpose="prosecution", actor="officer", recorder=None)
    assert request.vocabulary is load_default()
    assert request.consents is None
    assert request.acknowledged == frozenset()
