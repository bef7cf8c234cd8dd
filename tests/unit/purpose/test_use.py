"""Use checks on opened data: evidence, onward transfer, automated decisions.

Tests that consult a consent store run on SQLite and PostgreSQL (``store_factory``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import OpenedEnvelope
from safeshare.errors import PolicyError, UsageError
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.consent import ConsentScope, ConsentStore, issue_grant, issue_revocation
from safeshare.purpose.use import (
    check_automated_decision,
    check_evidential_use,
    check_onward_transfer,
)
from tests.conftest import NOW
from tests.pg import StoreFactory
from tests.unit.purpose.test_retention import ACTOR, PURPOSE, seal_and_open

XA: Final = "XA-NPOL"  # the originator
XB: Final = "XB-PROS"  # the recipient, who uses the data
XC: Final = "XC-CUST"
XD: Final = "XD-FIU"


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replay")


@pytest.fixture
def consents(store_factory: StoreFactory) -> ConsentStore:
    return ConsentStore(store_factory())


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


def opened_with(net: _testnet.TestNetwork, replay_dir: Path, **handling: Any) -> OpenedEnvelope:
    return seal_and_open(net, replay_dir, handling=HandlingConditions.model_validate(handling))


def grant(
    net: _testnet.TestNetwork,
    consents: ConsentStore,
    opened: OpenedEnvelope,
    scope: ConsentScope,
    onward_recipient: str | None = None,
) -> str:
    """XA-NPOL grants XB-PROS *scope* for *opened*; XB-PROS records it. Returns the grant id."""
    token = issue_grant(
        originator=net.keysets[XA],
        holder=XB,
        envelope_jti=opened.jti,
        envelope_digest=opened.digest,
        scope=scope,
        onward_recipient=onward_recipient,
        valid_for=timedelta(days=30),
        now=NOW,
    )
    return consents.add(token, registry=net.registry, now=NOW).grant_id


def denial(recorder: MemoryRecorder) -> str:
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.agency) == ("deny", "denied", XB)
    assert entry.actor == ACTOR
    return str(entry.reason)


# -- evidential use -----------------------------------------------------------------------------------


def test_evidential_use_allowed_by_the_conditions(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir, evidential_use="allowed")
    check_evidential_use(opened, recorder=recorder, actor=ACTOR, now=NOW)
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.counterparty) == ("open", "success", XA)
    assert (entry.jti, entry.envelope_digest, entry.purpose) == (opened.jti, opened.digest, PURPOSE)
    assert "use as evidence" in str(entry.reason)
    assert "evidential_use: allowed" in str(entry.reason)


def test_evidential_use_with_consent_is_refused_without_a_consent_store(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)  # the default: with_consent
    with pytest.raises(PolicyError, match="only with its consent") as caught:
        check_evidential_use(opened, recorder=recorder, actor=ACTOR, now=NOW)
    assert "scope evidential_use" in str(caught.value.hint)
    assert "only with its consent" in denial(recorder)


def test_evidential_use_with_consent_is_refused_without_a_grant(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)
    grant(net, consents, opened, "onward_transfer", onward_recipient=XC)  # another use
    with pytest.raises(PolicyError, match="consent missing") as caught:
        check_evidential_use(opened, consents=consents, recorder=recorder, actor=ACTOR, now=NOW)
    assert "is for another use" in caught.value.message
    assert "consent missing" in denial(recorder)


def test_evidential_use_with_a_consent_grant(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)
    grant_id = grant(net, consents, opened, "evidential_use")
    check_evidential_use(
        opened, consents=consents, registry=net.registry, recorder=recorder, actor=ACTOR, now=NOW
    )
    (entry,) = recorder.entries
    assert entry.action == "open"
    assert f"consent grant {grant_id}" in str(entry.reason)


def test_evidential_use_after_the_grant_was_revoked(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore
) -> None:
    opened = opened_with(net, replay_dir)
    grant_id = grant(net, consents, opened, "evidential_use")
    revocation = issue_revocation(originator=net.keysets[XA], grant_id=grant_id, now=NOW)
    consents.revoke(revocation, registry=net.registry, now=NOW)
    with pytest.raises(PolicyError, match="was revoked"):
        check_evidential_use(opened, consents=consents, now=NOW + timedelta(minutes=1))


# -- onward transfer ----------------------------------------------------------------------------------


def test_onward_transfer_forbidden_even_with_a_consent_grant(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir, onward_transfer="forbidden")
    grant(net, consents, opened, "onward_transfer", onward_recipient=XC)
    with pytest.raises(PolicyError, match="forbid any onward transfer") as caught:
        check_onward_transfer(
            opened,
            XC,
            registry=net.registry,
            consents=consents,
            recorder=recorder,
            actor=ACTOR,
            now=NOW,
        )
    assert "send the data to XC-CUST itself" in str(caught.value.hint)
    assert "forbid any onward transfer" in denial(recorder)
    assert recorder.entries[0].counterparty == XC


def test_onward_transfer_needs_prior_authorisation(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)  # the default: with_prior_authorisation
    with pytest.raises(PolicyError, match="prior authorisation") as caught:
        check_onward_transfer(
            opened, XC, registry=net.registry, recorder=recorder, actor=ACTOR, now=NOW
        )
    assert "scope onward_transfer to XC-CUST" in str(caught.value.hint)
    assert "no consent store was consulted" in denial(recorder)


def test_onward_transfer_consent_for_another_agency_does_not_serve(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore
) -> None:
    opened = opened_with(net, replay_dir)
    grant(net, consents, opened, "onward_transfer", onward_recipient=XD)
    with pytest.raises(PolicyError, match=r"consent missing.*onward transfer to XC-CUST"):
        check_onward_transfer(opened, XC, registry=net.registry, consents=consents, now=NOW)


def test_onward_transfer_with_prior_authorisation_for_exactly_that_agency(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)
    grant_id = grant(net, consents, opened, "onward_transfer", onward_recipient=XC)
    check_onward_transfer(
        opened,
        XC,
        registry=net.registry,
        consents=consents,
        recorder=recorder,
        actor=ACTOR,
        now=NOW,
    )
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.counterparty) == ("forward", "success", XC)
    assert f"consent grant {grant_id}" in str(entry.reason)
    with pytest.raises(PolicyError):  # and only that agency
        check_onward_transfer(opened, XD, registry=net.registry, consents=consents, now=NOW)


def test_onward_transfer_to_a_listed_agency(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(
        net, replay_dir, onward_transfer="allowed_to_listed", onward_allowed_to=[XC]
    )
    check_onward_transfer(
        opened, XC, registry=net.registry, recorder=recorder, actor=ACTOR, now=NOW
    )
    assert [(e.action, e.counterparty) for e in recorder.entries] == [("forward", XC)]


def test_onward_transfer_to_an_agency_not_listed(
    net: _testnet.TestNetwork, replay_dir: Path, consents: ConsentStore, recorder: MemoryRecorder
) -> None:
    opened = opened_with(
        net, replay_dir, onward_transfer="allowed_to_listed", onward_allowed_to=[XC]
    )
    grant(net, consents, opened, "onward_transfer", onward_recipient=XD)
    with pytest.raises(PolicyError, match=r"only to XC-CUST .*not to XD-FIU"):
        check_onward_transfer(
            opened,
            XD,
            registry=net.registry,
            consents=consents,
            recorder=recorder,
            actor=ACTOR,
            now=NOW,
        )
    assert "not to XD-FIU" in denial(recorder)


def test_onward_transfer_to_a_suspended_agency_is_refused_even_if_listed(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(
        net, replay_dir, onward_transfer="allowed_to_listed", onward_allowed_to=[XC]
    )
    suspended = net.resign(net.document.with_suspension(XC, at=NOW - timedelta(hours=1)))
    with pytest.raises(PolicyError, match="transfers with agency XC-CUST are suspended"):
        check_onward_transfer(
            opened, XC, registry=suspended.registry, recorder=recorder, actor=ACTOR, now=NOW
        )
    assert "suspended" in denial(recorder)


def test_onward_transfer_to_an_agency_outside_the_registry(
    net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    opened = opened_with(
        net, replay_dir, onward_transfer="allowed_to_listed", onward_allowed_to=["XZ-GONE"]
    )
    with pytest.raises(PolicyError, match="not in the trust registry"):
        check_onward_transfer(opened, "XZ-GONE", registry=net.registry, now=NOW)


@pytest.mark.parametrize(("target", "match"), [(XB, "recipient itself"), (XA, "originator")])
def test_onward_transfer_to_the_parties_themselves_is_no_onward_transfer(
    net: _testnet.TestNetwork, replay_dir: Path, target: str, match: str
) -> None:
    opened = opened_with(net, replay_dir)
    with pytest.raises(UsageError, match=match):
        check_onward_transfer(opened, target, registry=net.registry, now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"registry": None}, "TrustRegistry"),
        ({"to_agency": "nobody"}, "agency id"),
        ({"consents": "db"}, "ConsentStore"),
    ],
)
def test_onward_transfer_argument_checks(
    net: _testnet.TestNetwork, replay_dir: Path, kwargs: dict[str, Any], match: str
) -> None:
    opened = opened_with(net, replay_dir)
    arguments: dict[str, Any] = {"to_agency": XC, "registry": net.registry, "now": NOW}
    with pytest.raises(UsageError, match=match):
        check_onward_transfer(opened, **(arguments | kwargs))


# -- automated decisions --------------------------------------------------------------------------


def test_a_solely_automated_decision_is_refused_when_the_conditions_forbid_it(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)  # the default: no_solely_automated_decision
    with pytest.raises(PolicyError, match="forbid decisions based solely on automated") as caught:
        check_automated_decision(
            opened, solely_automated=True, recorder=recorder, actor=ACTOR, now=NOW
        )
    assert "have a person" in str(caught.value.hint)
    assert "automated processing" in denial(recorder)


def test_a_decision_taken_by_a_person_is_permitted(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = opened_with(net, replay_dir)
    check_automated_decision(
        opened, solely_automated=False, recorder=recorder, actor=ACTOR, now=NOW
    )
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome) == ("open", "success")
    assert "taken by a person" in str(entry.reason)


def test_a_solely_automated_decision_where_the_conditions_allow_it(
    net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    opened = opened_with(net, replay_dir, no_solely_automated_decision=False)
    check_automated_decision(opened, solely_automated=True, now=NOW)  # no error


def test_solely_automated_must_be_a_bool(net: _testnet.TestNetwork, replay_dir: Path) -> None:
    opened = opened_with(net, replay_dir)
    with pytest.raises(UsageError, match="True or False"):
        check_automated_decision(opened, solely_automated=1, now=NOW)  # type: ignore[arg-type]


# -- common to every check --------------------------------------------------------------------------


def test_no_use_once_the_retention_has_ended(
    net: _testnet.TestNetwork, replay_dir: Path, recorder: MemoryRecorder
) -> None:
    opened = seal_and_open(
        net,
        replay_dir,
        handling=HandlingConditions(
            retention=Retention(max_days=10),
            evidential_use="allowed",
            onward_transfer="allowed_to_listed",
            onward_allowed_to=(XC,),
            no_solely_automated_decision=False,
        ),
    )
    end = NOW + timedelta(days=10)
    check_evidential_use(opened, now=end - timedelta(seconds=1))
    checks: list[Callable[[], object]] = [
        lambda: check_evidential_use(opened, recorder=recorder, actor=ACTOR, now=end),
        lambda: check_onward_transfer(
            opened, XC, registry=net.registry, recorder=recorder, actor=ACTOR, now=end
        ),
        lambda: check_automated_decision(
            opened, solely_automated=True, recorder=recorder, actor=ACTOR, now=end
        ),
    ]
    for call in checks:
        with pytest.raises(PolicyError, match="retention of this data ended"):
            call()
    assert [e.action for e in recorder.entries] == ["deny"] * 3


def test_every_reason_is_given_at_once(net: _testnet.TestNetwork, replay_dir: Path) -> None:
    opened = opened_with(net, replay_dir, onward_transfer="forbidden", retention={"max_days": 1})
    suspended = net.resign(net.document.with_suspension(XC, at=NOW))
    with pytest.raises(PolicyError) as caught:
        check_onward_transfer(opened, XC, registry=suspended.registry, now=NOW + timedelta(days=2))
    message = caught.value.message
    assert "retention of this data ended" in message
    assert "suspended" in message
    assert "forbid any onward transfer" in message


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recorder": MemoryRecorder()}, "actor"),
        ({"recorder": MemoryRecorder(), "actor": "a\tb"}, "actor"),
        ({"recorder": object(), "actor": ACTOR}, "AccessRecorder"),
    ],
)
def test_recording_argument_checks(
    net: _testnet.TestNetwork, replay_dir: Path, kwargs: dict[str, Any], match: str
) -> None:
    opened = opened_with(net, replay_dir, evidential_use="allowed")
    with pytest.raises(UsageError, match=match):
        check_evidential_use(opened, now=NOW, **kwargs)


def test_a_use_check_takes_an_opened_envelope() -> None:
    with pytest.raises(UsageError, match="OpenedEnvelope"):
        check_evidential_use({"jti": "x"}, now=NOW)  # type: ignore[arg-type]


def test_without_a_recorder_nothing_is_recorded_and_the_checks_still_decide(
    net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    opened = opened_with(net, replay_dir)
    check_automated_decision(opened, solely_automated=False, now=NOW)
    with pytest.raises(PolicyError):
        check_automated_decision(opened, solely_automated=True, now=NOW)
