"""Sealing a breach notification or rectification notice records the notification too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import pytest

from safeshare import _testnet
from safeshare.audit.entry import AuditEntry
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import seal
from safeshare.purpose.conditions import HandlingConditions, Retention

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
#: The test network's agencies keep data at most one day.
HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=1))
NOTICE: Final = {"what_happened": "a workstation was compromised"}


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


def _seal(
    net: _testnet.TestNetwork, message_type: str, recorder: object, to: tuple[str, ...] = (XB,)
) -> bytes:
    return seal(
        NOTICE,
        sender=net.keysets[XA],
        to=list(to),
        registry=net.registry,
        purpose="data_protection_compliance",
        legal_basis="BUDAPEST-2AP.Art14",
        case_ref="XA-2026-000123",
        message_type=message_type,
        handling=HANDLING,
        now=NOW,
        recorder=recorder,  # type: ignore[arg-type]
        actor="XA-NPOL data protection officer",
    )


@pytest.mark.parametrize(
    ("message_type", "action", "article"),
    [
        ("breach_notification", "notify_breach", "Art. 14(7)"),
        ("rectification_notice", "notify_rectification", "Art. 14(3)"),
    ],
)
def test_notice_records_one_notification_per_recipient_after_the_seals(
    net: _testnet.TestNetwork, message_type: str, action: str, article: str
) -> None:
    recorder = MemoryRecorder()
    _seal(net, message_type, recorder, to=(XB, XC))
    entries = recorder.entries
    assert [(e.action, e.counterparty) for e in entries] == [
        ("seal", XB),
        ("seal", XC),
        (action, XB),
        (action, XC),
    ]
    seal_entry = entries[0]
    for entry in entries[2:]:
        assert (entry.jti, entry.envelope_digest) == (seal_entry.jti, seal_entry.envelope_digest)
        assert (entry.time, entry.actor, entry.agency, entry.purpose, entry.outcome) == (
            seal_entry.time,
            seal_entry.actor,
            XA,
            "data_protection_compliance",
            "success",
        )
        assert entry.reason is not None
        assert message_type.replace("_", " ") in entry.reason
        assert article in entry.reason
        assert f"sent to {entry.counterparty} under BUDAPEST-2AP.Art14" in entry.reason
        assert "workstation" not in entry.reason  # metadata only: no record content
        assert entry.subjects == ()


def test_other_messages_record_no_notification(net: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    _seal(net, "status_update", recorder)
    assert [e.action for e in recorder.entries] == ["seal"]


class _FailsOn:
    """Records into memory, but fails on the first entry of *action*."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.entries: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> int:
        if entry.action == self.action:
            raise OSError("audit database unavailable")
        self.entries.append(entry)
        return len(self.entries) - 1


@pytest.mark.parametrize(
    ("message_type", "action"),
    [("breach_notification", "notify_breach"), ("rectification_notice", "notify_rectification")],
)
def test_no_envelope_when_the_notification_cannot_be_recorded(
    net: _testnet.TestNetwork, message_type: str, action: str
) -> None:
    recorder = _FailsOn(action)
    with pytest.raises(OSError, match="audit database unavailable"):
        _seal(net, message_type, recorder)
    assert [e.action for e in recorder.entries] == ["seal"]  # and no envelope was returned
