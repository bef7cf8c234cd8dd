"""open_envelope with the replay cache and the audit log in one store.

The replay row and the ``open`` entry are written in one transaction
(group-committed across concurrent opens): both or neither, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import ReplayError, StorageError
from safeshare.storage import Cursor, ReplayCache, Store
from tests.conftest import NOW
from tests.pg import StoreFactory

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
PURPOSE: Final = "criminal_investigation"
ORIGIN: Final = "audit.xb-pros.example/log"


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


def sealed(net: _testnet.TestNetwork, n: int = 0) -> bytes:
    return seal(
        {"subscriber_name": f"subscriber {n}"},
        sender=net.keysets[XA],
        to=[XB],
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis="UNTOC.Art18",
        case_ref=f"XA-2026-{n:04d}",
        message_type="mla_response",
        now=NOW,
    )


def open_once(
    net: _testnet.TestNetwork, envelope: bytes, replay: ReplayCache, recorder: Any
) -> OpenedEnvelope:
    return open_envelope(
        envelope,
        recipient=net.keysets[XB],
        registry=net.registry,
        replay=replay,
        purpose=PURPOSE,
        actor="officer 1",
        recorder=recorder,
        now=NOW,
    )


def test_one_store_records_and_consumes_together(
    net: _testnet.TestNetwork, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(store, origin=ORIGIN)
    replay = ReplayCache(store)
    writes = [0]
    real = store.transaction

    def counting(*, write: bool) -> Any:
        writes[0] += write
        return real(write=write)

    monkeypatch.setattr(store, "transaction", counting)
    envelope = sealed(net)
    opened = open_once(net, envelope, replay, AuditLogRecorder(log))
    assert writes == [1]  # replay row and audit entry: one commit
    monkeypatch.undo()
    assert replay.contains(opened.issuer, opened.jti)
    entry = log.entry(0)
    assert (entry.action, entry.outcome, entry.jti, entry.envelope_digest) == (
        "open",
        "success",
        opened.jti,
        opened.digest,
    )
    with pytest.raises(ReplayError, match="already opened"):
        open_once(net, envelope, replay, AuditLogRecorder(log))
    assert log.size() == 1


def test_concurrent_opens_record_and_consume_exactly_once(
    net: _testnet.TestNetwork, store: Store
) -> None:
    log = AuditLog(store, origin=ORIGIN)
    replay = ReplayCache(store)
    recorder = AuditLogRecorder(log)
    envelopes = [sealed(net, n) for n in range(12)]
    threads_n = 6
    barrier = threading.Barrier(threads_n)
    opened: list[OpenedEnvelope] = []
    refused: list[ReplayError] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        barrier.wait()
        for k in range(len(envelopes)):  # every thread opens every envelope
            envelope = envelopes[(k + t) % len(envelopes)]
            try:
                result = open_once(net, envelope, replay, recorder)
            except ReplayError as exc:
                with lock:
                    refused.append(exc)
            except BaseException as exc:  # noqa: BLE001 - reported below  # pragma: no cover
                errors.append(exc)
            else:
                with lock:
                    opened.append(result)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert errors == []
    assert len(opened) == len(envelopes)
    assert len(refused) == (threads_n - 1) * len(envelopes)
    assert len({o.jti for o in opened}) == len(envelopes)
    assert log.size() == len(envelopes)
    assert sorted(log.entry(i).jti or "" for i in range(log.size())) == sorted(
        o.jti for o in opened
    )
    assert log.verify() == len(envelopes)


@contextmanager
def failing_commits(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = store.transaction

    @contextmanager
    def transaction(*, write: bool) -> Iterator[Cursor]:
        with real(write=write) as cur:
            yield cur
            if write:
                raise StorageError("injected commit failure")

    monkeypatch.setattr(store, "transaction", transaction)
    yield
    monkeypatch.undo()


def test_a_failed_audit_commit_does_not_consume_the_jti(
    net: _testnet.TestNetwork, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(store, origin=ORIGIN)
    replay = ReplayCache(store)
    envelope = sealed(net)
    with failing_commits(store, monkeypatch), pytest.raises(StorageError, match="injected"):
        open_once(net, envelope, replay, AuditLogRecorder(log))
    assert log.size() == 0
    # Neither the replay row nor the entry: the same envelope opens, once.
    opened = open_once(net, envelope, replay, AuditLogRecorder(log))
    assert replay.contains(opened.issuer, opened.jti)
    assert log.size() == 1
    with pytest.raises(ReplayError):
        open_once(net, envelope, replay, AuditLogRecorder(log))


def test_separate_stores_keep_the_two_step_path(
    net: _testnet.TestNetwork, store_factory: StoreFactory
) -> None:
    replay = ReplayCache(store_factory())
    log = AuditLog(store_factory(), origin=ORIGIN)  # another Store object
    opened = open_once(net, sealed(net), replay, AuditLogRecorder(log))
    assert replay.contains(opened.issuer, opened.jti)
    assert log.size() == 1
