"""The retention store: keep until retention ends, review dates, purge with audit entries.

Every test that touches the database runs on SQLite and PostgreSQL
(``store_factory``). The helpers :func:`seal_and_open` and :func:`open_as`
are shared with the use-check and CLI tests.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import stat
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.audit.entry import AuditEntry, encode
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import PolicyError, ReplayError, StorageError, UsageError
from safeshare.purpose import retention as retention_module
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.retention import (
    PURGE_LEASE,
    RETENTION_SCHEMA,
    PurgedRecord,
    RetentionStore,
)
from safeshare.storage import ReplayCache, Store, open_store
from tests.conftest import NOW
from tests.pg import StoreFactory

ORIGINATOR: Final = "XA-NPOL"
HOLDER: Final = "XB-PROS"
THIRD: Final = "XC-CUST"
PURPOSE: Final = "criminal_investigation"
LEGAL_BASIS: Final = "BUDAPEST-2AP.Art7"
ACTOR: Final = "officer 4711"
RECORD: Final[dict[str, Any]] = {
    "subscriber_name": "Ioana Marin-Kessler",
    "msisdn": "+999 555 0142",
    "addresses": [{"street": "Strada Exemplului 17", "city": "Arcadia City"}],
}
_counter = itertools.count()


# -- shared helpers (the use-check and CLI tests import them) ------------------------------------


def open_as(
    net: _testnet.TestNetwork,
    envelope: bytes,
    recipient: str,
    replay_dir: Path,
    *,
    now: datetime = NOW,
) -> OpenedEnvelope:
    """Open *envelope* as *recipient* for its purpose (one place to adapt to open_envelope)."""
    with open_store(replay_dir / f"replay-{recipient}-{next(_counter)}.db") as store:
        return open_envelope(
            envelope,
            recipient=net.keysets[recipient],
            registry=net.registry,
            replay=ReplayCache(store),
            purpose=PURPOSE,
            actor=ACTOR,
            recorder=None,
            now=now,
        )


def seal_and_open(
    net: _testnet.TestNetwork,
    replay_dir: Path,
    *,
    handling: HandlingConditions | None = None,
    record: Mapping[str, Any] = RECORD,
    sender: str = ORIGINATOR,
    recipient: str = HOLDER,
    sealed_at: datetime = NOW,
    opened_at: datetime | None = None,
) -> OpenedEnvelope:
    """*sender* seals *record* to *recipient* at *sealed_at*; *recipient* opens it."""
    envelope = seal(
        record,
        sender=net.keysets[sender],
        to=[recipient],
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis=LEGAL_BASIS,
        case_ref="XA-2026-0042",
        message_type="spontaneous_information",
        handling=handling,
        now=sealed_at,
    )
    return open_as(net, envelope, recipient, replay_dir, now=opened_at or sealed_at)


def thaw(value: Any) -> Any:
    """Plain JSON values from a read-only record."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def days(n: int, review: int | None = None) -> HandlingConditions:
    return HandlingConditions(retention=Retention(max_days=n, review_days=review))


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replay")


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def kept(store: Store) -> RetentionStore:
    return RetentionStore(store)


@pytest.fixture
def opened(net: _testnet.TestNetwork, replay_dir: Path) -> OpenedEnvelope:
    """An envelope with 30 days of retention and a review after 10, opened at NOW."""
    return seal_and_open(net, replay_dir, handling=days(30, review=10))


def purge(
    kept: RetentionStore, at: datetime, recorder: MemoryRecorder | None
) -> list[PurgedRecord]:
    return kept.purge(now=at, recorder=recorder, actor="retention job", agency=HOLDER)


# -- keeping and reading ------------------------------------------------------------------------------


def test_keep_then_get_returns_the_verified_record(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    retained = kept.keep(opened, now=NOW)
    got = kept.get(opened.jti, opened.issuer, now=NOW)
    assert got == retained
    assert got is not None
    assert thaw(got.record) == RECORD
    assert (got.issuer, got.jti, got.digest, got.recipient) == (
        ORIGINATOR,
        opened.jti,
        opened.digest,
        HOLDER,
    )
    assert (got.purpose, got.legal_basis, got.case_ref) == (PURPOSE, LEGAL_BASIS, "XA-2026-0042")
    assert got.message_type == "spontaneous_information"
    assert got.handling == opened.handling
    assert got.issued_at == opened.issued_at
    assert got.kept_at == NOW
    assert got.opened_for == PURPOSE


def test_the_kept_record_is_read_only(kept: RetentionStore, opened: OpenedEnvelope) -> None:
    got = kept.keep(opened, now=NOW)
    with pytest.raises(TypeError):
        got.record["msisdn"] = "changed"  # type: ignore[index]
    with pytest.raises(TypeError):
        got.record["addresses"][0]["city"] = "elsewhere"
    assert isinstance(got.record["addresses"], tuple)


def test_retention_and_review_dates_come_from_the_conditions(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    got = kept.keep(opened, now=NOW)
    assert got.retain_until == NOW + timedelta(days=30)
    assert got.review_at == NOW + timedelta(days=10)


def test_no_review_date_unless_the_conditions_ask_for_one(
    kept: RetentionStore, net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    got = kept.keep(seal_and_open(net, replay_dir, handling=days(30)), now=NOW)
    assert got.review_at is None


def test_retention_counts_from_the_transfer_not_from_a_late_opening(
    kept: RetentionStore, net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    """Opened (and kept) 5 days after it was sealed: the 30 days still end at iat + 30."""
    late = NOW + timedelta(days=5)
    opened = seal_and_open(net, replay_dir, handling=days(30, review=10), opened_at=late)
    got = kept.keep(opened, now=late)
    assert got.retain_until == NOW + timedelta(days=30)
    assert got.review_at == NOW + timedelta(days=10)
    assert got.kept_at == late


def test_an_earlier_end_chosen_by_the_holder_is_kept(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    until = NOW + timedelta(days=7, microseconds=999_999)
    got = kept.keep(opened, now=NOW, until=until)
    assert got.retain_until == NOW + timedelta(days=7)  # rounded down, never later
    assert got.review_at is None  # the review would fall after the end


def test_a_later_end_chosen_by_the_holder_is_capped_by_the_conditions(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    got = kept.keep(opened, now=NOW, until=NOW + timedelta(days=400))
    assert got.retain_until == NOW + timedelta(days=30)


def test_a_record_whose_retention_ended_cannot_be_kept(
    kept: RetentionStore, net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    opened = seal_and_open(net, replay_dir, handling=days(1), opened_at=NOW + timedelta(hours=2))
    with pytest.raises(PolicyError, match=r"retention of envelope .* ended at .*must not be kept"):
        kept.keep(opened, now=NOW + timedelta(days=1))
    assert kept.get(opened.jti, opened.issuer, now=NOW) is None
    assert kept.entries() == []


def test_keeping_twice_returns_the_first_record(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    first = kept.keep(opened, now=NOW)
    again = kept.keep(opened, now=NOW + timedelta(days=1), until=NOW + timedelta(days=3))
    assert again == first
    assert len(kept.entries()) == 1


def test_another_envelope_with_the_same_jti_is_refused(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    kept.keep(opened, now=NOW)
    forged = dataclasses.replace(opened, digest="0" * 64)
    with pytest.raises(ReplayError, match="different content digest"):
        kept.keep(forged, now=NOW)


def test_get_treats_a_record_past_its_retention_as_gone(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    kept.keep(opened, now=NOW)
    end = NOW + timedelta(days=30)
    assert kept.get(opened.jti, opened.issuer, now=end - timedelta(seconds=1)) is not None
    assert kept.get(opened.jti, opened.issuer, now=end) is None
    assert [e.status(end) for e in kept.entries()] == ["retention ended"]  # not purged yet


def test_get_of_an_unknown_record(kept: RetentionStore) -> None:
    assert kept.get("A" * 22, ORIGINATOR, now=NOW) is None


@pytest.mark.parametrize(("jti", "issuer"), [("A" * 22, "not an agency"), ("", ORIGINATOR)])
def test_get_argument_checks(kept: RetentionStore, jti: str, issuer: str) -> None:
    with pytest.raises(UsageError):
        kept.get(jti, issuer, now=NOW)


def test_keep_takes_an_opened_envelope(kept: RetentionStore) -> None:
    with pytest.raises(UsageError, match="OpenedEnvelope"):
        kept.keep({"jti": "x"}, now=NOW)  # type: ignore[arg-type]


def test_keep_needs_an_aware_time(kept: RetentionStore, opened: OpenedEnvelope) -> None:
    with pytest.raises(UsageError, match="timezone-aware"):
        kept.keep(opened, now=NOW.replace(tzinfo=None))


def test_the_store_takes_a_store() -> None:
    with pytest.raises(UsageError):
        RetentionStore("retention.db")  # type: ignore[arg-type]


# -- review -----------------------------------------------------------------------------------------


def test_due_for_review(kept: RetentionStore, opened: OpenedEnvelope) -> None:
    kept.keep(opened, now=NOW)
    review = NOW + timedelta(days=10)
    assert kept.due_for_review(review - timedelta(seconds=1)) == []
    assert [r.jti for r in kept.due_for_review(review)] == [opened.jti]
    assert [e.status(review) for e in kept.entries()] == ["review due"]
    # once the retention has ended, the record is due for purging, not review
    assert kept.due_for_review(NOW + timedelta(days=30)) == []


def test_reviewed_sets_the_next_review_or_none(
    kept: RetentionStore, opened: OpenedEnvelope
) -> None:
    kept.keep(opened, now=NOW)
    at = NOW + timedelta(days=11)
    again = kept.reviewed(opened.jti, opened.issuer, now=at, next_review_at=at + timedelta(days=5))
    assert again.review_at == at + timedelta(days=5)
    assert again.retain_until == NOW + timedelta(days=30)  # the end never moves
    assert kept.due_for_review(at) == []
    done = kept.reviewed(opened.jti, opened.issuer, now=at)
    assert done.review_at is None
    assert kept.due_for_review(NOW + timedelta(days=29)) == []


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(days=-1), timedelta(days=19)])
def test_reviewed_refuses_a_next_review_outside_the_retention(
    kept: RetentionStore, opened: OpenedEnvelope, offset: timedelta
) -> None:
    kept.keep(opened, now=NOW)
    at = NOW + timedelta(days=11)
    with pytest.raises(UsageError, match="next_review_at"):
        kept.reviewed(opened.jti, opened.issuer, now=at, next_review_at=at + offset)


def test_reviewed_needs_a_kept_record(kept: RetentionStore, opened: OpenedEnvelope) -> None:
    with pytest.raises(UsageError, match="no record"):
        kept.reviewed(opened.jti, opened.issuer, now=NOW)
    kept.keep(opened, now=NOW)
    with pytest.raises(UsageError, match="no record"):
        kept.reviewed(opened.jti, opened.issuer, now=NOW + timedelta(days=30))


# -- purge --------------------------------------------------------------------------------------------


@pytest.fixture
def three(
    kept: RetentionStore, net: _testnet.TestNetwork, replay_dir: Path
) -> list[OpenedEnvelope]:
    """Three kept records whose retention ends after 30, 60 and 365 days."""
    records = [seal_and_open(net, replay_dir, handling=days(n)) for n in (30, 60, 365)]
    for record in records:
        kept.keep(record, now=NOW)
    return records


def test_purge_deletes_exactly_the_expired_records_and_records_each(
    kept: RetentionStore, three: list[OpenedEnvelope]
) -> None:
    recorder = MemoryRecorder()
    at = NOW + timedelta(days=45)
    purged = purge(kept, at, recorder)
    short = three[0]
    assert [(p.issuer, p.jti, p.digest) for p in purged] == [
        (short.issuer, short.jti, short.digest)
    ]
    assert purged[0].retain_until == NOW + timedelta(days=30)
    assert purged[0].purged_at == at
    assert purged[0].audit_index == 0
    assert recorder.entries == [
        AuditEntry(
            action="purge",
            time=int(at.timestamp()),
            actor="retention job",
            agency=HOLDER,
            counterparty=ORIGINATOR,
            jti=short.jti,
            envelope_digest=short.digest,
            purpose=PURPOSE,
            outcome="success",
            reason=recorder.entries[0].reason,
        )
    ]
    assert "retention ended at" in str(recorder.entries[0].reason)
    assert kept.get(short.jti, short.issuer, now=NOW) is None
    assert {e.jti for e in kept.entries()} == {three[1].jti, three[2].jti}
    for other in three[1:]:
        assert kept.get(other.jti, other.issuer, now=at) is not None


def test_purge_entries_hold_no_record_content(
    kept: RetentionStore, three: list[OpenedEnvelope]
) -> None:
    recorder = MemoryRecorder()
    purge(kept, NOW + timedelta(days=400), recorder)
    assert len(recorder.entries) == 3
    for entry in recorder.entries:
        data = encode(entry).decode("utf-8")
        for value in ("Ioana", "+999 555 0142", "Strada", "Arcadia City"):
            assert value not in data


def test_purge_is_idempotent(kept: RetentionStore, three: list[OpenedEnvelope]) -> None:
    recorder = MemoryRecorder()
    at = NOW + timedelta(days=61)
    assert len(purge(kept, at, recorder)) == 2
    assert purge(kept, at, recorder) == []
    assert len(recorder.entries) == 2
    assert [e.jti for e in kept.entries()] == [three[2].jti]


def test_purge_at_the_exact_end_of_retention(
    kept: RetentionStore, three: list[OpenedEnvelope]
) -> None:
    end = NOW + timedelta(days=30)
    assert purge(kept, end - timedelta(seconds=1), MemoryRecorder()) == []
    assert [p.jti for p in purge(kept, end, MemoryRecorder())] == [three[0].jti]


def test_purge_of_an_empty_store(kept: RetentionStore) -> None:
    recorder = MemoryRecorder()
    assert purge(kept, NOW, recorder) == []
    assert recorder.entries == []


def test_purge_in_batches(
    kept: RetentionStore, net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    records = [seal_and_open(net, replay_dir, handling=days(1)) for _ in range(5)]
    for record in records:
        kept.keep(record, now=NOW)
    recorder = MemoryRecorder()
    purged = kept.purge(
        now=NOW + timedelta(days=2), recorder=recorder, actor="job", agency=HOLDER, batch_size=2
    )
    assert sorted(p.jti for p in purged) == sorted(r.jti for r in records)
    assert sorted(str(e.jti) for e in recorder.entries) == sorted(r.jti for r in records)
    assert [p.audit_index for p in purged] == list(range(5))
    assert kept.entries() == []


def test_purge_without_a_recorder_deletes_and_records_nothing(
    kept: RetentionStore, three: list[OpenedEnvelope]
) -> None:
    purged = purge(kept, NOW + timedelta(days=400), None)
    assert len(purged) == 3
    assert all(p.audit_index is None for p in purged)
    assert kept.entries() == []


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"agency": "not an agency"}, "agency"),
        ({"actor": ""}, "actor"),
        ({"actor": "line\nbreak"}, "actor"),
        ({"batch_size": 0}, "batch_size"),
        ({"recorder": object()}, "recorder"),
    ],
)
def test_purge_argument_checks_delete_nothing(
    kept: RetentionStore, three: list[OpenedEnvelope], changes: dict[str, Any], match: str
) -> None:
    arguments: dict[str, Any] = {
        "now": NOW + timedelta(days=400),
        "recorder": MemoryRecorder(),
        "actor": "job",
        "agency": HOLDER,
    }
    with pytest.raises(UsageError, match=match):
        kept.purge(**(arguments | changes))
    assert len(kept.entries()) == 3


class FailingRecorder(MemoryRecorder):
    """Records *ok* entries, then fails like a database that went away."""

    def __init__(self, ok: int) -> None:
        super().__init__()
        self.ok = ok

    def record(self, entry: AuditEntry) -> int:
        if len(self.entries) >= self.ok:
            raise StorageError("the audit database is unavailable")
        return super().record(entry)


def test_a_recorder_failure_deletes_the_data_and_the_next_purge_records_the_rest(
    kept: RetentionStore, three: list[OpenedEnvelope]
) -> None:
    at = NOW + timedelta(days=400)
    failing = FailingRecorder(ok=1)
    with pytest.raises(StorageError, match="unavailable"):
        purge(kept, at, failing)
    assert len(failing.entries) == 1
    # the personal data is gone at once
    assert kept.entries() == []
    assert all(kept.get(r.jti, r.issuer, now=NOW) is None for r in three)
    # the next purge records exactly the deletions not yet recorded, once each
    recorder = MemoryRecorder()
    later = purge(kept, at, recorder)
    assert len(later) == 2
    assert all(p.purged_at == at for p in later)
    recorded = [str(e.jti) for e in failing.entries + recorder.entries]
    assert sorted(recorded) == sorted(r.jti for r in three)
    assert purge(kept, at, MemoryRecorder()) == []


def test_a_purge_that_died_is_finished_by_a_later_one_after_the_lease(
    kept: RetentionStore, three: list[OpenedEnvelope], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = NOW + timedelta(days=400)

    def die(*_args: object, **_kwargs: object) -> list[PurgedRecord]:
        raise KeyboardInterrupt  # the process is killed between deleting and recording

    with monkeypatch.context() as patch:
        patch.setattr(RetentionStore, "_record_batch", die)
        with pytest.raises(KeyboardInterrupt):
            purge(kept, at, MemoryRecorder())
    assert kept.entries() == []  # deleted
    recorder = MemoryRecorder()
    # within the lease the batch may still be recording: leave it alone
    assert purge(kept, at + PURGE_LEASE - timedelta(seconds=1), recorder) == []
    finished = purge(kept, at + PURGE_LEASE, recorder)
    assert sorted(p.jti for p in finished) == sorted(r.jti for r in three)
    assert all(p.purged_at == at for p in finished)  # when the content was deleted
    assert len(recorder.entries) == 3


def test_concurrent_purges_record_each_deletion_once(
    store_factory: StoreFactory, net: _testnet.TestNetwork, replay_dir: Path
) -> None:
    kept = RetentionStore(store_factory())
    records = [seal_and_open(net, replay_dir, handling=days(1)) for _ in range(12)]
    for record in records:
        kept.keep(record, now=NOW)
    recorder = MemoryRecorder()

    def run() -> list[PurgedRecord]:
        return RetentionStore(store_factory()).purge(
            now=NOW + timedelta(days=2), recorder=recorder, actor="job", agency=HOLDER, batch_size=2
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(run) for _ in range(3)]
        results = [future.result() for future in futures]
    purged = [p.jti for result in results for p in result]
    assert sorted(purged) == sorted(r.jti for r in records)
    assert sorted(str(e.jti) for e in recorder.entries) == sorted(r.jti for r in records)


# -- storage ------------------------------------------------------------------------------------------


def test_the_schema_is_versioned(store: Store) -> None:
    RetentionStore(store)
    with store.transaction(write=False) as cur:
        rows = cur.execute(
            "SELECT version FROM safeshare_schema WHERE component = ?", ("retention",)
        )
    assert rows == [(RETENTION_SCHEMA.version,)]


def test_a_damaged_stored_record_is_a_storage_error(
    kept: RetentionStore, store: Store, opened: OpenedEnvelope
) -> None:
    kept.keep(opened, now=NOW)
    with store.transaction(write=True) as cur:
        cur.execute("UPDATE safeshare_retention SET content = ?", ('{"v": 1}',))
    with pytest.raises(StorageError, match="damaged record"):
        kept.get(opened.jti, opened.issuer, now=NOW)


def test_the_sqlite_file_is_readable_only_by_its_owner(
    tmp_path: Path, opened: OpenedEnvelope
) -> None:
    path = tmp_path / "retention.db"
    with open_store(path) as store:
        RetentionStore(store).keep(opened, now=NOW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_module_documents_that_encryption_at_rest_is_the_deployments_job() -> None:
    doc = str(retention_module.__doc__)
    assert "personal data" in doc
    assert "0600" in doc
    assert "deployment's job" in doc
