"""Receipts recorded on both sides: receipt_for_open (recipient), record_receipt (sender).

The recipient's audit log runs on SQLite and PostgreSQL (``store_factory``);
the sender's is an SQLite file of its own.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Final

import pytest

from safeshare import _testnet
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.receipt import receipt_for_open, record_receipt, verify_receipt
from safeshare.audit.recorder import AuditLogRecorder, MemoryRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import MalformedInputError, StorageError, UsageError, VerificationError
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW
from tests.pg import StoreFactory

SENDER: Final = "XA-NPOL"
RECIPIENT: Final = "XB-PROS"
NETWORK: Final = "safeshare.example"
LATER: Final = NOW + timedelta(minutes=1)


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def recipient_log(store_factory: StoreFactory) -> AuditLog:
    return AuditLog(store_factory(), origin=agency_log_origin(RECIPIENT, network=NETWORK))


@pytest.fixture
def sender_log(tmp_path: Path) -> Iterator[AuditLog]:
    with open_store(tmp_path / "sender-audit.db") as store:
        yield AuditLog(store, origin=agency_log_origin(SENDER, network=NETWORK))


def opened_into(
    net: _testnet.TestNetwork, log: AuditLog, tmp_path: Path
) -> tuple[OpenedEnvelope, int]:
    """Seal for the recipient, open it recording into *log*; the opening and its index."""
    envelope = seal(
        {"subscriber_name": "Jana Novak"},
        sender=net.keysets[SENDER],
        to=[RECIPIENT],
        registry=net.registry,
        purpose="criminal_investigation",
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref="XA-2026-0042",
        message_type="disclosure_response",
        now=NOW,
    )
    with open_store(tmp_path / "replay.db") as store:
        opened = open_envelope(
            envelope,
            recipient=net.keysets[RECIPIENT],
            registry=net.registry,
            replay=ReplayCache(store),
            purpose="criminal_investigation",
            actor="recipient officer",
            recorder=AuditLogRecorder(log),
            now=NOW,
        )
    return opened, log.size() - 1


def sender_entries(log: AuditLog) -> list[AuditEntry]:
    return [entry for _, entry in log.entries()]


def test_round_trip_is_recorded_on_both_sides(
    net: _testnet.TestNetwork, recipient_log: AuditLog, sender_log: AuditLog, tmp_path: Path
) -> None:
    opened, index = opened_into(net, recipient_log, tmp_path)
    token = receipt_for_open(
        opened, recipient_keys=net.keysets[RECIPIENT], log=recipient_log, log_index=index, now=LATER
    )
    # The recipient side: the open is in its log, and a checkpoint covering it is stored.
    opening = recipient_log.entry(index)
    assert (opening.action, opening.jti, opening.envelope_digest) == (
        "open",
        opened.jti,
        opened.digest,
    )
    latest = recipient_log.latest_checkpoint()
    assert latest is not None
    assert latest.size > index
    # The sender side: verified and recorded.
    receipt = record_receipt(
        token,
        registry=net.registry,
        expected_sender=SENDER,
        expected_digest=opened.digest,
        recorder=AuditLogRecorder(sender_log),
        actor="sender officer",
        now=LATER,
        expected_jti=opened.jti,
        expected_recipient=RECIPIENT,
    )
    assert receipt.log_index == index
    assert receipt.checkpoint_note == latest.note
    [entry] = sender_entries(sender_log)
    assert (entry.action, entry.outcome) == ("receipt", "success")
    assert (entry.agency, entry.counterparty) == (SENDER, RECIPIENT)
    assert (entry.jti, entry.envelope_digest) == (opened.jti, opened.digest)
    assert f"entry {index} of {recipient_log.origin}" in (entry.reason or "")
    # The receipt's inclusion proof checks against the recipient's log.
    proof = recipient_log.inclusion_proof(index, receipt.checkpoint.size)
    record_receipt(
        token,
        registry=net.registry,
        expected_sender=SENDER,
        expected_digest=opened.digest,
        recorder=MemoryRecorder(),
        actor="sender officer",
        now=LATER,
    )
    verify_receipt(
        token,
        registry=net.registry,
        expected_sender=SENDER,
        expected_digest=opened.digest,
        now=LATER,
        leaf_hash=recipient_log.leaf_hash(index),
        inclusion_proof=proof,
    )


def test_wrong_digest_is_refused_and_recorded_as_deny(
    net: _testnet.TestNetwork, recipient_log: AuditLog, sender_log: AuditLog, tmp_path: Path
) -> None:
    opened, index = opened_into(net, recipient_log, tmp_path)
    token = receipt_for_open(
        opened, recipient_keys=net.keysets[RECIPIENT], log=recipient_log, log_index=index, now=LATER
    )
    other = hashlib.sha256(b"another envelope").hexdigest()
    with pytest.raises(VerificationError, match="different envelope content"):
        record_receipt(
            token,
            registry=net.registry,
            expected_sender=SENDER,
            expected_digest=other,
            recorder=AuditLogRecorder(sender_log),
            actor="sender officer",
            now=LATER,
        )
    [entry] = sender_entries(sender_log)
    assert (entry.action, entry.outcome) == ("deny", "denied")
    assert (entry.agency, entry.counterparty, entry.jti) == (SENDER, RECIPIENT, opened.jti)
    assert entry.envelope_digest == other
    assert (entry.reason or "").startswith("receipt refused: ")


def test_garbage_receipt_is_recorded_as_deny(
    net: _testnet.TestNetwork, sender_log: AuditLog
) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    with pytest.raises(MalformedInputError):
        record_receipt(
            "a.b.c",
            registry=net.registry,
            expected_sender=SENDER,
            expected_digest=digest,
            recorder=AuditLogRecorder(sender_log),
            actor="sender officer",
            now=LATER,
        )
    [entry] = sender_entries(sender_log)
    assert (entry.action, entry.counterparty, entry.jti) == ("deny", None, None)


def test_recorder_failure_wins_chained_to_the_refusal(net: _testnet.TestNetwork) -> None:
    class Broken:
        def record(self, entry: AuditEntry) -> int:
            raise StorageError("disk full")

    with pytest.raises(StorageError) as caught:
        record_receipt(
            "a.b.c",
            registry=net.registry,
            expected_sender=SENDER,
            expected_digest=hashlib.sha256(b"x").hexdigest(),
            recorder=Broken(),
            actor="sender officer",
            now=LATER,
        )
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("sender", "digest", "actor"),
    [("nope", "0" * 64, "a"), (SENDER, "XYZ", "a"), (SENDER, "0" * 64, "")],
)
def test_record_receipt_checks_its_arguments(
    net: _testnet.TestNetwork, sender: str, digest: str, actor: str
) -> None:
    recorder = MemoryRecorder()
    with pytest.raises(UsageError):
        record_receipt(
            "a.b.c",
            registry=net.registry,
            expected_sender=sender,
            expected_digest=digest,
            recorder=recorder,
            actor=actor,
        )
    assert recorder.entries == []


def test_receipt_for_open_needs_the_entry_of_that_opening(
    net: _testnet.TestNetwork, recipient_log: AuditLog, tmp_path: Path
) -> None:
    opened, index = opened_into(net, recipient_log, tmp_path)
    recipient_log.append(
        AuditEntry(action="purge", time=0, actor="system", agency=RECIPIENT, outcome="success")
    )
    keys = net.keysets[RECIPIENT]
    with pytest.raises(UsageError, match="not the opening"):
        receipt_for_open(opened, recipient_keys=keys, log=recipient_log, log_index=index + 1)
    with pytest.raises(UsageError, match="no entry"):
        receipt_for_open(opened, recipient_keys=keys, log=recipient_log, log_index=index + 2)
    with pytest.raises(UsageError):
        receipt_for_open(opened, recipient_keys=keys, log=recipient_log, log_index=-1)
    assert recipient_log.latest_checkpoint() is None


@pytest.mark.parametrize("first", ["safeshare.envelope", "safeshare.purpose", "safeshare.audit"])
def test_package_exports_every_public_name_in_any_import_order(first: str) -> None:
    """``safeshare.audit`` re-exports the receipt API lazily, without an import cycle."""
    code = (
        f"import {first}\n"
        "import safeshare.audit as audit\n"
        "missing = [n for n in audit.__all__ if not hasattr(audit, n)]\n"
        "assert not missing, missing\n"
        "assert audit.record_receipt is __import__('safeshare.audit.receipt').audit.receipt"
        ".record_receipt\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
