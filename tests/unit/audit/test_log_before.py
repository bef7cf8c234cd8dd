"""AuditLog.append(entry, before=...): other statements in the entry's transaction.

Used by ``open_envelope`` to write the replay row and the ``open`` entry in one
commit when both live in one store; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from safeshare.audit import AuditLog
from safeshare.errors import ReplayError, StorageError, UsageError
from safeshare.storage import Cursor, ReplayCache, Store
from tests.conftest import NOW
from tests.pg import StoreFactory
from tests.unit.audit.test_log import ORIGIN, make_entry

ISS = "XB-PROS"
DIGEST = "d" * 64


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    return AuditLog(store, origin=ORIGIN)


@pytest.fixture
def replay(store: Store) -> ReplayCache:
    return ReplayCache(store)


def consume(replay: ReplayCache, jti: str, digest: str = DIGEST) -> Callable[[Cursor], None]:
    def before(cur: Cursor) -> None:
        replay.check_and_record_in(cur, ISS, jti, digest, NOW + timedelta(days=1), now=NOW)

    return before


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:  # pragma: no cover - reported by the test
            raise AssertionError("timed out")
        time.sleep(0.001)


def test_before_commits_with_the_entry(log: AuditLog, replay: ReplayCache) -> None:
    assert log.append(make_entry(0), before=consume(replay, "j0")) == 0
    assert replay.contains(ISS, "j0")
    assert log.entry(0) == make_entry(0)
    with pytest.raises(ReplayError, match="already opened"):
        log.append(make_entry(1), before=consume(replay, "j0"))
    with pytest.raises(ReplayError, match="different content"):
        log.append(make_entry(1), before=consume(replay, "j0", "e" * 64))
    assert log.size() == 1  # refused entries are not appended
    assert log.append(make_entry(1)) == 1
    assert log.verify() == 2


def test_before_must_be_callable(log: AuditLog) -> None:
    with pytest.raises(UsageError, match="before"):
        log.append(make_entry(0), before="not callable")  # type: ignore[arg-type]


def test_argument_errors_keep_their_type(log: AuditLog, replay: ReplayCache) -> None:
    def bad(cur: Cursor) -> None:
        replay.check_and_record_in(cur, ISS, "j", DIGEST, NOW - timedelta(days=1), now=NOW)

    with pytest.raises(UsageError, match="keep_until is before now"):
        log.append(make_entry(0), before=bad)
    assert log.size() == 0


def test_statements_of_a_refused_before_are_rolled_back(log: AuditLog, replay: ReplayCache) -> None:
    def writes_then_fails(cur: Cursor) -> None:
        consume(replay, "half")(cur)
        raise RuntimeError("changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        log.append(make_entry(0), before=writes_then_fails)
    assert not replay.contains(ISS, "half")
    assert log.size() == 0
    assert log.append(make_entry(0), before=consume(replay, "half")) == 0


def test_a_refusal_inside_a_batch_fails_only_that_caller(
    log: AuditLog, replay: ReplayCache
) -> None:
    log.append(make_entry(0), before=consume(replay, "old"))
    release = threading.Event()
    outcomes: dict[str, Any] = {}

    def blocking(cur: Cursor) -> None:
        consume(replay, "first")(cur)
        release.wait(30)  # holds the leader while the next batch queues

    def run(name: str, n: int, before: Callable[[Cursor], None]) -> None:
        try:
            outcomes[name] = log.append(make_entry(n), before=before)
        except Exception as exc:  # noqa: BLE001 - checked below
            outcomes[name] = exc

    leader = threading.Thread(target=run, args=("leader", 1, blocking))
    leader.start()
    wait_until(lambda: log._leader)
    batch = [
        threading.Thread(target=run, args=("new", 2, consume(replay, "new"))),
        threading.Thread(target=run, args=("replayed", 3, consume(replay, "old"))),
        threading.Thread(target=run, args=("twin", 4, consume(replay, "new"))),
        threading.Thread(target=run, args=("plain", 5, lambda _cur: None)),
    ]
    for queued, th in enumerate(batch, start=1):
        th.start()  # queued in this order: the next batch
        wait_until(lambda queued=queued: len(log._queue) == queued)  # type: ignore[misc]
    release.set()
    for th in [leader, *batch]:
        th.join(60)
    assert outcomes["leader"] == 1
    assert isinstance(outcomes["replayed"], ReplayError)
    # "twin" reuses the jti that "new" took earlier in the same batch.
    assert isinstance(outcomes["twin"], ReplayError)
    assert (outcomes["new"], outcomes["plain"]) == (2, 3)
    assert [log.entry(i) for i in range(4)] == [make_entry(n) for n in (0, 1, 2, 5)]
    assert log.verify() == 4
    assert all(replay.contains(ISS, j) for j in ("old", "first", "new"))


def test_concurrent_appends_consume_each_jti_exactly_once(
    log: AuditLog, replay: ReplayCache
) -> None:
    threads_n, jtis = 8, 40
    barrier = threading.Barrier(threads_n)
    accepted: list[tuple[str, int]] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        barrier.wait()
        for k in range(jtis):  # every thread tries every jti
            jti = f"j{(k + t) % jtis}"
            try:
                idx = log.append(make_entry(t * 1000 + k), before=consume(replay, jti))
            except ReplayError:
                with lock:
                    refused.append(jti)
            except BaseException as exc:  # noqa: BLE001 - reported below  # pragma: no cover
                errors.append(exc)
            else:
                with lock:
                    accepted.append((jti, idx))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert errors == []
    assert sorted(j for j, _ in accepted) == sorted(f"j{k}" for k in range(jtis))
    assert len(refused) == (threads_n - 1) * jtis
    assert sorted(i for _, i in accepted) == list(range(jtis))
    assert log.size() == jtis
    assert log.verify() == jtis


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


def test_a_failed_commit_keeps_neither_the_replay_row_nor_the_entry(
    log: AuditLog, replay: ReplayCache, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with failing_commits(store, monkeypatch), pytest.raises(StorageError, match="injected"):
        log.append(make_entry(0), before=consume(replay, "j"))
    assert not replay.contains(ISS, "j")  # the jti is not consumed
    assert log.size() == 0
    assert log.append(make_entry(0), before=consume(replay, "j")) == 0
    assert replay.contains(ISS, "j")


def test_a_failure_after_before_ran_writes_nothing(
    log: AuditLog, replay: ReplayCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> Any:
        raise StorageError("the tree could not be read")

    monkeypatch.setattr(log, "_frontier", broken)
    with pytest.raises(StorageError, match="could not be read"):
        log.append(make_entry(0), before=consume(replay, "j"))
    monkeypatch.undo()
    assert not replay.contains(ISS, "j")
    assert log.size() == 0


def test_replay_check_and_record_in_needs_the_commit(store: Store, replay: ReplayCache) -> None:
    def rolled_back() -> None:
        with store.transaction(write=True) as cur:
            replay.check_and_record_in(cur, ISS, "j", DIGEST, NOW + timedelta(days=1), now=NOW)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert not replay.contains(ISS, "j")
    with store.transaction(write=True) as cur:
        replay.check_and_record_in(cur, ISS, "j", DIGEST, NOW + timedelta(days=1), now=NOW)
    assert replay.contains(ISS, "j")
    with pytest.raises(ReplayError):
        replay.check_and_record(ISS, "j", DIGEST, NOW + timedelta(days=1), now=NOW)
