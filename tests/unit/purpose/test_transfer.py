"""The transfer check: each mismatch between declared safeguards and conditions, and overrides.

The agencies of the test network declare the strictest safeguards; each test
loosens the ones it is about (``_testnet.build(safeguards=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.errors import AgencySuspendedError, PolicyError, UnknownAgencyError, UsageError
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.transfer import (
    MISMATCH_KINDS,
    Mismatch,
    TransferOverride,
    check_transfer,
    transfer_refusal,
)
from tests.conftest import NOW

XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
XD: Final = "XD-FIU"
LEGAL_BASIS: Final = "BUDAPEST-2AP.Art7"


def network(**safeguards: Mapping[str, Any]) -> _testnet.TestNetwork:
    """The test network with the given agencies' safeguards loosened (ids with '_' for '-')."""
    return _testnet.build(NOW, safeguards={k.replace("_", "-"): v for k, v in safeguards.items()})


@pytest.fixture(scope="module")
def strict() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


def check(
    net: _testnet.TestNetwork,
    handling: HandlingConditions | None = None,
    to: tuple[str, ...] = (XB,),
    legal_basis: str | None = LEGAL_BASIS,
) -> list[Mismatch]:
    return check_transfer(
        net.registry,
        list(to),
        handling or HandlingConditions(),
        now=NOW,
        legal_basis=legal_basis,
    )


def kinds(mismatches: list[Mismatch]) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in mismatches]


# -- the legitimate path --------------------------------------------------------------------------


def test_strict_safeguards_satisfy_any_conditions(strict: _testnet.TestNetwork) -> None:
    loose = HandlingConditions(
        onward_transfer="forbidden",
        retention=Retention(max_days=1),
        special_categories=("health", "minor"),
        no_solely_automated_decision=True,
    )
    assert check(strict, loose, to=(XB, XC, XD)) == []
    assert check(strict) == []


def test_safeguards_equal_to_the_conditions_are_enough() -> None:
    net = network(
        XB_PROS={"max_retention_days": 180, "onward_transfer": "with_prior_authorisation"}
    )
    handling = HandlingConditions(retention=Retention(max_days=180))
    assert check(net, handling) == []


# -- each mismatch ------------------------------------------------------------------------------------


def test_a_longer_declared_retention_is_a_mismatch() -> None:
    net = network(XB_PROS={"max_retention_days": 730})
    found = check(net, HandlingConditions(retention=Retention(max_days=180)))
    assert kinds(found) == [(XB, "retention")]
    assert found[0].explanation.startswith(
        "XB-PROS: commits to keep data up to 730 days; the conditions allow 180"
    )
    assert "Art. 14(5)" in found[0].explanation
    assert found[0].key == "XB-PROS:retention"
    assert found[0].overridable
    assert str(found[0]) == found[0].explanation


# (declared policy, condition) -> looser?
ONWARD: Final = [
    ("never", "forbidden", False),
    ("never", "with_prior_authorisation", False),
    ("never", "allowed_to_listed", False),
    ("with_prior_authorisation", "forbidden", True),
    ("with_prior_authorisation", "with_prior_authorisation", False),
    ("with_prior_authorisation", "allowed_to_listed", False),
    ("domestic_same_conditions", "forbidden", True),
    ("domestic_same_conditions", "with_prior_authorisation", True),
    ("domestic_same_conditions", "allowed_to_listed", False),
]


@pytest.mark.parametrize(("policy", "condition", "looser"), ONWARD)
def test_an_onward_transfer_policy_looser_than_the_conditions_is_a_mismatch(
    policy: str, condition: str, looser: bool
) -> None:
    net = network(XB_PROS={"onward_transfer": policy})
    handling = HandlingConditions.model_validate(
        {
            "onward_transfer": condition,
            "onward_allowed_to": [XD] if condition == "allowed_to_listed" else [],
        }
    )
    found = check(net, handling)
    assert kinds(found) == ([(XB, "onward_transfer")] if looser else [])
    if looser:
        text = found[0].explanation
        assert f"policy {policy}" in text
        assert f"onward_transfer {condition}" in text
        assert "looser" in text


def test_domestic_sharing_against_prior_authorisation_is_explained() -> None:
    net = network(XB_PROS={"onward_transfer": "domestic_same_conditions"})
    (found,) = check(net)
    assert "without asking the originator" in found.explanation
    assert "require the originator's prior authorisation" in found.explanation


def test_automated_decisions_not_excluded_is_a_mismatch() -> None:
    net = network(XB_PROS={"no_solely_automated_decisions": False})
    (found,) = check(net, HandlingConditions(no_solely_automated_decision=True))
    assert found.kind == "automated_decision"
    assert "solely on automated processing" in found.explanation
    assert "Art. 14(6)" in found.explanation
    assert check(net, HandlingConditions(no_solely_automated_decision=False)) == []


def test_special_categories_need_breach_notification() -> None:
    net = network(XB_PROS={"breach_notification_hours": None})
    assert check(net) == []  # no special categories: not needed
    (found,) = check(net, HandlingConditions(special_categories=("health", "genetic")))
    assert found.kind == "special_categories"
    assert "(health, genetic)" in found.explanation
    assert "breach" in found.explanation
    assert "Art. 14(4)" in found.explanation


def test_special_categories_need_no_automated_decisions_even_if_the_conditions_allow_them() -> None:
    # Validated conditions with special categories always forbid automated
    # decisions (conditions.py); the check still holds for unvalidated ones.
    net = network(
        XB_PROS={"no_solely_automated_decisions": False, "breach_notification_hours": None}
    )
    handling = HandlingConditions.model_construct(
        **{
            **dict(HandlingConditions()),
            "special_categories": ("minor",),
            "no_solely_automated_decision": False,
        }
    )
    (found,) = check(net, handling)
    assert found.kind == "special_categories"
    assert "automated processing" in found.explanation
    assert "breach" in found.explanation


def test_a_missing_automated_decision_declaration_is_reported_once() -> None:
    net = network(XB_PROS={"no_solely_automated_decisions": False})
    handling = HandlingConditions(special_categories=("minor",))
    assert kinds(check(net, handling)) == [(XB, "automated_decision")]


def test_an_instrument_the_recipient_does_not_accept_is_a_mismatch() -> None:
    net = network(XB_PROS={"accepted_instruments": ["UNTOC"]})
    (found,) = check(net, legal_basis="BUDAPEST-2AP.Art7")
    assert found.kind == "instrument"
    assert "instrument BUDAPEST-2AP of the legal basis BUDAPEST-2AP.Art7" in found.explanation
    assert "accepts UNTOC" in found.explanation
    assert check(net, legal_basis="UNTOC.Art18") == []
    assert check(net, legal_basis=None) == []  # nothing to check against


def test_a_legal_basis_unknown_to_the_vocabulary() -> None:
    net = network(XB_PROS={"accepted_instruments": ["UNTOC", "XA-XB-MLA-2024"]})
    # an instrument the vocabulary knows: compared exactly
    assert kinds(check(net, legal_basis="BUDAPEST.Art99")) == [(XB, "instrument")]
    assert check(net, legal_basis="UNTOC.Art99") == []
    # an instrument only the recipient names (a bilateral treaty): accepted by prefix
    assert check(net, legal_basis="XA-XB-MLA-2024.Art3") == []
    # no instrument at all: fail closed
    (found,) = check(net, legal_basis="Art3")
    assert "belongs to no instrument it accepts" in found.explanation


def test_a_suspended_recipient_is_a_mismatch_that_cannot_be_overridden(
    strict: _testnet.TestNetwork,
) -> None:
    net = strict.resign(strict.document.with_suspension(XC, at=NOW - timedelta(hours=1)))
    found = check(net, to=(XB, XC))
    assert kinds(found) == [(XC, "suspended")]
    assert f"transfers with agency {XC} are suspended" in found[0].explanation
    assert not found[0].overridable
    # a suspension lifted before now is no mismatch
    lifted = net.resign(net.document.with_reinstatement(XC, at=NOW - timedelta(minutes=1)))
    assert check(lifted, to=(XC,)) == []


def test_every_mismatch_of_every_recipient_is_listed() -> None:
    net = network(
        XB_PROS={
            "max_retention_days": 730,
            "onward_transfer": "domestic_same_conditions",
            "no_solely_automated_decisions": False,
            "breach_notification_hours": None,
            "accepted_instruments": ["UNTOC"],
        },
        XD_FIU={"max_retention_days": 400},
    )
    handling = HandlingConditions(special_categories=("health",))
    found = check(net, handling, to=(XB, XC, XD))
    assert kinds(found) == [
        (XB, "retention"),
        (XB, "onward_transfer"),
        (XB, "automated_decision"),
        (XB, "special_categories"),
        (XB, "instrument"),
        (XD, "retention"),
    ]
    assert {m.kind for m in found} | {"suspended"} == set(MISMATCH_KINDS)


def test_an_unknown_recipient(strict: _testnet.TestNetwork) -> None:
    with pytest.raises(UnknownAgencyError):
        check(strict, to=("XZ-NOBODY",))


@pytest.mark.parametrize(
    "call",
    [
        lambda net: check_transfer(object(), [XB], HandlingConditions(), now=NOW),  # type: ignore[arg-type]
        lambda net: check_transfer(net.registry, XB, HandlingConditions(), now=NOW),
        lambda net: check_transfer(net.registry, [XB], {}, now=NOW),  # type: ignore[arg-type]
        lambda net: check_transfer(
            net.registry, [XB], HandlingConditions(), now=NOW.replace(tzinfo=None)
        ),
    ],
)
def test_argument_checks(strict: _testnet.TestNetwork, call: Any) -> None:
    with pytest.raises(UsageError):
        call(strict)


# -- overrides and the decision -----------------------------------------------------------------------


def override(*acknowledged: Any) -> TransferOverride:
    return TransferOverride(
        decided_by="head of unit 7",
        reason="urgent threat to life; retention agreed by phone with the originator",
        mismatches_acknowledged=frozenset(acknowledged),
    )


RETENTION: Final = Mismatch(XB, "retention", "XB-PROS: commits to keep data up to 730 days")
ONWARD_MISMATCH: Final = Mismatch(XB, "onward_transfer", "XB-PROS: declares that it ...")
SUSPENDED: Final = Mismatch(XC, "suspended", "XC-CUST: transfers with agency XC-CUST are suspended")


def test_no_mismatch_and_no_override_goes_ahead() -> None:
    assert transfer_refusal([], None) is None


def test_a_mismatch_without_override_is_refused_listing_every_mismatch() -> None:
    error = transfer_refusal([RETENTION, ONWARD_MISMATCH], None)
    assert isinstance(error, PolicyError)
    assert RETENTION.explanation in error.message
    assert ONWARD_MISMATCH.explanation in error.message
    assert "XB-PROS:onward_transfer, XB-PROS:retention" in str(error.hint)


def test_an_exact_override_lets_the_transfer_go_ahead() -> None:
    assert (
        transfer_refusal([RETENTION, ONWARD_MISMATCH], override(RETENTION, ONWARD_MISMATCH)) is None
    )
    assert transfer_refusal([RETENTION], override("XB-PROS:retention")) is None


def test_an_override_that_misses_a_mismatch_is_refused() -> None:
    error = transfer_refusal([RETENTION, ONWARD_MISMATCH], override(RETENTION))
    assert isinstance(error, PolicyError)
    assert "does not acknowledge XB-PROS:onward_transfer" in error.message


def test_an_override_that_acknowledges_more_is_refused() -> None:
    error = transfer_refusal([RETENTION], override(RETENTION, "XD-FIU:instrument"))
    assert isinstance(error, PolicyError)
    assert "acknowledges XD-FIU:instrument, which the check did not find" in error.message


def test_an_override_where_there_is_nothing_to_override_is_refused() -> None:
    error = transfer_refusal([], override(RETENTION))
    assert isinstance(error, PolicyError)
    assert "there is no mismatch to override" in error.message


def test_a_suspension_is_refused_even_with_an_override() -> None:
    error = transfer_refusal([SUSPENDED, RETENTION], override(SUSPENDED, RETENTION))
    assert isinstance(error, AgencySuspendedError)
    assert SUSPENDED.explanation in error.message
    assert RETENTION.explanation in error.message
    assert "cannot be overridden" in str(error.hint)


def test_the_override_keeps_the_keys() -> None:
    decision = override(RETENTION, "XB-PROS:retention", ONWARD_MISMATCH)
    assert decision.mismatches_acknowledged == {"XB-PROS:retention", "XB-PROS:onward_transfer"}
    assert decision.keys == {"XB-PROS:retention", "XB-PROS:onward_transfer"}
    typed = TransferOverride(
        decided_by="head of unit 7", reason="urgent", mismatches_acknowledged=[RETENTION]
    )
    assert typed.keys == {"XB-PROS:retention"}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"decided_by": ""}, "decided_by"),
        ({"decided_by": "  "}, "decided_by"),
        ({"decided_by": "x" * 257}, "decided_by"),
        ({"reason": ""}, "reason"),
        ({"reason": "a\nb"}, "reason"),
        ({"reason": "r" * 501}, "reason"),
        ({"mismatches_acknowledged": frozenset()}, "must name"),
        ({"mismatches_acknowledged": "XB-PROS:retention"}, "not one text"),
        ({"mismatches_acknowledged": ["retention"]}, "does not name a mismatch"),
        ({"mismatches_acknowledged": ["XB-PROS:mood"]}, "unknown mismatch kind"),
    ],
)
def test_override_checks(changes: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {
        "decided_by": "head of unit 7",
        "reason": "urgent",
        "mismatches_acknowledged": ["XB-PROS:retention"],
    }
    with pytest.raises(UsageError, match=match):
        TransferOverride(**(arguments | changes))


def test_transfer_refusal_takes_an_override() -> None:
    with pytest.raises(UsageError):
        transfer_refusal([RETENTION], "yes")  # type: ignore[arg-type]
