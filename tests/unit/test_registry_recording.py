"""record_registry_update: the acceptance of a registry version, as one audit entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from safeshare import _testnet
from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.audit.recorder import MemoryRecorder
from safeshare.errors import UsageError
from safeshare.registry import (
    RegistryDocument,
    TrustRegistry,
    record_registry_update,
    registry_changes,
    sign_registry,
)

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
ACTOR: Final = "XA-NPOL registry client"


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW, agencies=(XA, XB, XC))


def _next(net: _testnet.TestNetwork, doc: RegistryDocument) -> TrustRegistry:
    nxt = doc.model_copy(update={"serial": net.registry.serial}).next_version(
        now=NOW, valid_for=timedelta(days=30)
    )
    return TrustRegistry.from_signed(
        sign_registry(nxt, net.authority), net.authority.public, now=NOW
    )


def test_entry_names_serial_digest_and_authority_key(net: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    index = record_registry_update(recorder, net.registry, agency=XA, actor=ACTOR, now=NOW)
    assert index == 0
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.agency, entry.actor) == (
        "registry_update",
        "success",
        XA,
        ACTOR,
    )
    assert entry.time == int(NOW.timestamp())
    assert (entry.counterparty, entry.jti, entry.envelope_digest, entry.purpose) == (None,) * 4
    assert entry.reason == (
        f"accepted trust registry serial {net.registry.serial} (sha256 {net.registry.digest}, "
        f"authority key {net.registry.authority_kid})"
    )


def test_entry_names_what_changed_since_the_previous_version(net: _testnet.TestNetwork) -> None:
    kid = net.keysets[XC].signing_key.kid
    changed = (
        net.document.with_suspension(XB, at=NOW + timedelta(hours=1), reason="breach\nunder review")
        .with_revoked_key(XC, kid, at=NOW + timedelta(hours=2), reason="key compromise")
        .with_agency(_testnet.agency_entry(_testnet.keyset("XD-FIU"), not_before=NOW))
    )
    newer = _next(net, changed)
    recorder = MemoryRecorder()
    record_registry_update(recorder, newer, agency=XA, actor=ACTOR, now=NOW, previous=net.registry)
    (entry,) = recorder.entries
    assert entry.reason is not None
    assert f"serial {newer.serial} (sha256 {newer.digest}" in entry.reason
    assert f"replaces serial {net.registry.serial}: " in entry.reason
    assert f"{XB} suspended from 2026-11-29T13:00:00Z" in entry.reason
    assert f"key {kid} of {XC} revoked from 2026-11-29T14:00:00Z" in entry.reason
    assert "XD-FIU added" in entry.reason
    # metadata only: the free-text reasons of the registry are not copied
    assert "breach" not in entry.reason
    assert "compromise" not in entry.reason

    lifted = _next(net, changed.with_reinstatement(XB, at=NOW + timedelta(days=1)))
    assert registry_changes(newer.document, lifted.document) == [
        f"{XB} reinstated from 2026-11-30T12:00:00Z"
    ]


def test_no_change_is_said_so(net: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    same = _next(net, net.document)
    record_registry_update(recorder, same, agency=XA, actor=ACTOR, now=NOW, previous=net.registry)
    assert recorder.entries[0].reason is not None
    assert recorder.entries[0].reason.endswith(
        f"replaces serial {net.registry.serial}: no suspension, revocation or agency changed"
    )


def test_many_changes_are_clipped_to_the_reason_limit(net: _testnet.TestNetwork) -> None:
    doc = net.document
    for n in range(60):
        doc = doc.with_agency(
            _testnet.agency_entry(_testnet.keyset(f"XE-AGENCY{n}"), not_before=NOW)
        )
    recorder = MemoryRecorder()
    record_registry_update(
        recorder, _next(net, doc), agency=XA, actor=ACTOR, now=NOW, previous=net.registry
    )
    reason = recorder.entries[0].reason
    assert reason is not None
    assert len(reason) <= MAX_REASON_LENGTH
    assert reason.endswith("; (more changes, not listed)")


def test_a_failing_recorder_raises(net: _testnet.TestNetwork) -> None:
    class Failing:
        def record(self, entry: AuditEntry) -> int:
            raise OSError("audit database unavailable")

    with pytest.raises(OSError, match="unavailable"):
        record_registry_update(Failing(), net.registry, agency=XA, actor=ACTOR, now=NOW)


def test_bad_arguments_are_usage_errors(net: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    with pytest.raises(UsageError, match="actor"):
        record_registry_update(recorder, net.registry, agency=XA, actor="line\nbreak", now=NOW)
    with pytest.raises(UsageError, match="agency"):
        record_registry_update(recorder, net.registry, agency="npol", actor=ACTOR, now=NOW)
    with pytest.raises(UsageError, match="TrustRegistry"):
        record_registry_update(
            recorder,
            net.document,  # type: ignore[arg-type]
            agency=XA,
            actor=ACTOR,
            now=NOW,
        )
    with pytest.raises(UsageError, match="AccessRecorder"):
        record_registry_update(object(), net.registry, agency=XA, actor=ACTOR, now=NOW)  # type: ignore[arg-type]
    assert recorder.entries == []
