"""The transfer check in ``seal``: refusals, overrides, and what is recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.audit.entry import AuditEntry
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import seal
from safeshare.envelope._seal import seal_with_randomness
from safeshare.errors import AgencySuspendedError, PolicyError, UsageError
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.transfer import TransferOverride
from tests.conftest import NOW
from tests.unit.purpose.test_retention import LEGAL_BASIS, PURPOSE, RECORD, open_as

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
HANDLING: Final = HandlingConditions(retention=Retention(max_days=180))
DECIDED_BY: Final = "head of unit 7"


@pytest.fixture(scope="module")
def loose() -> _testnet.TestNetwork:
    """XB-PROS keeps data for two years and shares it domestically without asking."""
    return _testnet.build(
        NOW,
        safeguards={XB: {"max_retention_days": 730, "onward_transfer": "domestic_same_conditions"}},
    )


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replay")


def do_seal(net: _testnet.TestNetwork, to: tuple[str, ...] = (XB,), **kwargs: Any) -> bytes:
    arguments: dict[str, Any] = {
        "sender": net.keysets[XA],
        "to": list(to),
        "registry": net.registry,
        "purpose": PURPOSE,
        "legal_basis": LEGAL_BASIS,
        "case_ref": "XA-2026-0042",
        "message_type": "spontaneous_information",
        "handling": HANDLING,
        "now": NOW,
    }
    return seal(RECORD, **(arguments | kwargs))


def decision(*keys: str) -> TransferOverride:
    return TransferOverride(
        decided_by=DECIDED_BY,
        reason="urgent threat to life; the originator's liaison officer agreed by phone",
        mismatches_acknowledged=frozenset(keys),
    )


BOTH: Final = ("XB-PROS:retention", "XB-PROS:onward_transfer")


# -- refusals -----------------------------------------------------------------------------------------


def test_a_mismatched_recipient_is_refused_with_every_explanation(
    loose: _testnet.TestNetwork,
) -> None:
    with pytest.raises(PolicyError) as caught:
        do_seal(loose)
    message = caught.value.message
    assert "commits to keep data up to 730 days; the conditions allow 180" in message
    assert "policy domestic_same_conditions" in message
    assert "XB-PROS:onward_transfer, XB-PROS:retention" in str(caught.value.hint)


def test_a_refusal_is_recorded_as_a_denial(loose: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError):
        do_seal(loose, recorder=recorder, actor="officer 4711")
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.counterparty) == ("deny", "denied", XB)
    assert (entry.actor, entry.agency, entry.purpose) == ("officer 4711", XA, PURPOSE)
    assert entry.jti is None  # nothing was sealed
    assert "730 days" in str(entry.reason)


def test_only_the_mismatched_recipient_is_named(loose: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError) as caught:
        do_seal(loose, to=(XC, XB), recorder=recorder, actor="officer 4711")
    assert XC not in caught.value.message
    assert [e.counterparty for e in recorder.entries] == [XB]


def test_a_suspended_recipient_is_refused_even_with_an_override(
    loose: _testnet.TestNetwork,
) -> None:
    net = loose.resign(loose.document.with_suspension(XB, at=NOW - timedelta(hours=1)))
    recorder = MemoryRecorder()
    with pytest.raises(AgencySuspendedError) as caught:
        do_seal(
            net,
            override=decision(*BOTH, "XB-PROS:suspended"),
            recorder=recorder,
            actor="officer 4711",
        )
    assert f"transfers with agency {XB} are suspended" in caught.value.message
    assert "730 days" in caught.value.message  # every mismatch is listed
    assert [(e.action, e.counterparty) for e in recorder.entries] == [("deny", XB)]


def test_a_suspended_recipient_is_refused_by_default(loose: _testnet.TestNetwork) -> None:
    strict = _testnet.build(NOW)
    net = strict.resign(strict.document.with_suspension(XC, at=NOW - timedelta(hours=1)))
    with pytest.raises(AgencySuspendedError, match=XC):
        do_seal(net, to=(XB, XC))


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        (("XB-PROS:retention",), "does not acknowledge XB-PROS:onward_transfer"),
        ((*BOTH, "XB-PROS:instrument"), "acknowledges XB-PROS:instrument"),
    ],
)
def test_an_override_that_does_not_fit_exactly_is_refused(
    loose: _testnet.TestNetwork, keys: tuple[str, ...], match: str
) -> None:
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError, match=match):
        do_seal(loose, override=decision(*keys), recorder=recorder, actor="officer 4711")
    assert [e.action for e in recorder.entries] == ["deny"]


def test_an_override_where_nothing_needs_overriding_is_refused() -> None:
    strict = _testnet.build(NOW)
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError, match="no mismatch to override"):
        do_seal(strict, override=decision(*BOTH), recorder=recorder, actor="officer 4711")
    assert [(e.action, e.counterparty) for e in recorder.entries] == [("deny", None)]


def test_an_override_must_be_recorded(loose: _testnet.TestNetwork) -> None:
    with pytest.raises(UsageError, match="must be recorded"):
        do_seal(loose, override=decision(*BOTH))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recorder": MemoryRecorder()}, "actor"),
        ({"recorder": MemoryRecorder(), "actor": "line\nbreak"}, "actor"),
        ({"recorder": object(), "actor": "officer"}, "AccessRecorder"),
        ({"override": "yes", "recorder": MemoryRecorder(), "actor": "x"}, "TransferOverride"),
    ],
)
def test_recording_argument_checks(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        do_seal(_testnet.build(NOW), **kwargs)


# -- the legitimate path ------------------------------------------------------------------------------


def test_an_exact_override_seals_and_is_recorded(
    loose: _testnet.TestNetwork, replay_dir: Path
) -> None:
    recorder = MemoryRecorder()
    envelope = do_seal(loose, override=decision(*BOTH), recorder=recorder, actor="officer 4711")
    opened = open_as(loose, envelope, XB, replay_dir)
    override_entry, seal_entry = recorder.entries
    common: dict[str, Any] = {
        "time": int(NOW.timestamp()),
        "agency": XA,
        "counterparty": XB,
        "jti": opened.jti,
        "envelope_digest": opened.digest,
        "purpose": PURPOSE,
        "outcome": "success",
    }
    assert override_entry == AuditEntry(
        action="override", actor=DECIDED_BY, reason=override_entry.reason, **common
    )
    assert seal_entry == AuditEntry(
        action="seal", actor="officer 4711", reason=seal_entry.reason, **common
    )
    reason = str(override_entry.reason)
    assert "urgent threat to life" in reason
    assert "730 days" in reason
    assert "overridden by head of unit 7" in str(seal_entry.reason)


def test_every_successful_seal_is_recorded_per_recipient(replay_dir: Path) -> None:
    strict = _testnet.build(NOW)
    recorder = MemoryRecorder()
    envelope = do_seal(strict, to=(XB, XC), recorder=recorder, actor="officer 4711")
    opened = open_as(strict, envelope, XC, replay_dir)
    assert [(e.action, e.counterparty) for e in recorder.entries] == [("seal", XB), ("seal", XC)]
    assert {e.envelope_digest for e in recorder.entries} == {opened.digest}
    assert {e.jti for e in recorder.entries} == {opened.jti}
    assert all(f"sealed under {LEGAL_BASIS}" == e.reason for e in recorder.entries)


def test_without_a_recorder_nothing_changes_for_a_matching_transfer(replay_dir: Path) -> None:
    strict = _testnet.build(NOW)
    opened = open_as(strict, do_seal(strict), XB, replay_dir)
    assert opened.handling == HANDLING


class Deterministic:
    """A reproducible randomness source (what the test vectors use)."""

    def __init__(self) -> None:
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha256(b"seal-test" + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        return out[:n]


def test_checking_and_recording_draw_no_randomness() -> None:
    strict = _testnet.build(NOW, seed=b"transfer-check")
    looser = _testnet.build(
        NOW,
        seed=b"transfer-check",
        safeguards={XB: {"max_retention_days": 730, "onward_transfer": "domestic_same_conditions"}},
    )

    def sealed(net: _testnet.TestNetwork, **kwargs: Any) -> bytes:
        arguments: Mapping[str, Any] = {
            "sender": net.keysets[XA],
            "to": [XB],
            "registry": net.registry,
            "purpose": PURPOSE,
            "legal_basis": LEGAL_BASIS,
            "case_ref": "XA-2026-0042",
            "message_type": "spontaneous_information",
            "handling": HANDLING,
            "ttl": timedelta(days=7),
            "now": NOW,
            "randbytes": Deterministic(),
        }
        return seal_with_randomness(RECORD, **(dict(arguments) | kwargs))

    plain = sealed(strict)
    recorded = sealed(strict, recorder=MemoryRecorder(), actor="officer")
    overridden = sealed(
        looser, override=decision(*BOTH), recorder=MemoryRecorder(), actor="officer"
    )
    assert plain == recorded == overridden  # same keys, same draws, same bytes
