"""Several processes on one audit log, and writers killed with SIGKILL, on both back ends.

Workers run in *spawned* processes (a fresh interpreter each: no store or
lock crosses a fork) and open the database themselves, from
``store_factory.location``: an SQLite file, or a PostgreSQL URL whose
``search_path`` is the test's own schema. Workers also sign checkpoints while
others append, so that "a log never signs two inconsistent checkpoints" is
tested across processes, and "no checkpoint covers an unwritten entry"
across crashes.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Final

import pytest

from safeshare.audit import AuditEntry, AuditLog
from safeshare.audit.entry import encode
from safeshare.audit.merkle import verify_consistency
from safeshare.errors import SafeShareError
from safeshare.keys import SigningKey
from safeshare.storage import open_store
from tests.pg import StoreFactory
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
PROCESSES: Final = 4
PER_PROCESS: Final = 100
#: A worker signs a checkpoint after every this many appends.
SIGN_EVERY: Final = 20
#: SIGKILL rounds per back end (each spawns an interpreter: ~0.4 s).
KILL_ROUNDS: Final = 12
#: The log's signing key, rebuilt from this seed in every process.
KEY_SEED: Final = bytes(range(32))


def entry_for(tag: str) -> AuditEntry:
    return AuditEntry(
        action="deliver",
        time=1_795_000_000,
        actor=f"gateway {tag}",
        agency="XA-NPOL",
        counterparty="XB-PROS",
        jti=tag,
        outcome="success",
    )


def log_key() -> SigningKey:
    return SigningKey.from_private_bytes(KEY_SEED)


def check_checkpoints(log: AuditLog, acknowledged: dict[int, str]) -> int:
    """Every ack present, the root recomputed independently, every checkpoint consistent.

    Returns the number of stored checkpoints.
    """
    key = log_key()
    result = log.verify_with_checkpoints(keys=[key.public])  # the tree, and each checkpoint
    size = result.size
    assert size >= len(acknowledged)
    for index, tag in acknowledged.items():
        assert index < size
        assert log.entry(index) == entry_for(tag)
    final = ref_mth([ref_leaf(encode(e)) for _, e in log.entries()])
    assert result.root_hash == final
    stored = log.checkpoints()
    for cp in stored:
        assert cp.size <= size  # no checkpoint covers an unwritten entry
        verify_consistency(cp.size, size, log.consistency_proof(cp.size), cp.root_hash, final)
    assert [cp.size for cp in stored] == sorted(cp.size for cp in stored)
    assert result.checkpoints == len(stored)
    return len(stored)


# -- several processes at once ---------------------------------------------------------


def _append_worker(location: str, number: int, barrier: Any, results: Any) -> None:
    """Spawned: append PER_PROCESS entries (signing checkpoints too), report the indexes."""
    indexes: list[int] = []
    problem = ""
    finished = False
    try:
        key = log_key()
        with open_store(location) as store:
            log = AuditLog(store, origin=ORIGIN)
            barrier.wait(timeout=60)
            for k in range(PER_PROCESS):
                indexes.append(log.append(entry_for(f"p{number}-{k}")))
                if k % SIGN_EVERY == number % SIGN_EVERY:
                    log.sign_checkpoint(None, key)
        finished = True
    except SafeShareError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    finally:
        if not finished and not problem:
            problem = f"process {number} crashed (its traceback is on stderr)"
        results.put((number, indexes, problem))


@pytest.mark.slow
def test_processes_appending_at_once_make_one_history(store_factory: StoreFactory) -> None:
    location = store_factory.location
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results: multiprocessing.Queue[Any] = ctx.Queue()
    procs = [
        ctx.Process(target=_append_worker, args=(location, n, barrier, results))
        for n in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    collected: list[tuple[int, list[int], str]] = []
    try:
        for _ in range(PROCESSES):
            collected.append(results.get(timeout=180))
    except queue.Empty:
        pytest.fail(f"only {len(collected)} of {PROCESSES} processes reported")
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():  # pragma: no cover
                p.kill()
                p.join()
        results.close()
        results.join_thread()

    assert [problem for _, _, problem in collected] == [""] * PROCESSES
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    total = PROCESSES * PER_PROCESS
    by_index: dict[int, AuditEntry] = {}
    acknowledged: dict[int, str] = {}
    for number, indexes, _ in collected:
        assert indexes == sorted(indexes)
        for k, i in enumerate(indexes):
            assert i not in by_index
            by_index[i] = entry_for(f"p{number}-{k}")
            acknowledged[i] = f"p{number}-{k}"
    assert sorted(by_index) == list(range(total))
    store = store_factory()
    log = AuditLog(store, origin=ORIGIN)
    assert log.verify() == total
    assert log.root() == ref_mth([ref_leaf(encode(by_index[i])) for i in range(total)])
    for i in (0, total // 2, total - 1):
        assert log.entry(i) == by_index[i]
    signed = check_checkpoints(log, acknowledged)
    assert signed == PROCESSES * (PER_PROCESS // SIGN_EVERY)


# -- SIGKILL ---------------------------------------------------------------------------------


def _crash_worker(location: str, run: int, conn: Connection) -> None:
    """Spawned: append forever from three threads and sign checkpoints from a fourth;
    send (index, tag) after each acknowledged append."""
    lock = threading.Lock()
    key = log_key()
    with open_store(location) as store:
        log = AuditLog(store, origin=ORIGIN)

        def loop(thread: int) -> None:
            k = 0
            while True:
                tag = f"r{run}-t{thread}-{k}"
                if k % 7 == 3:
                    tags = [f"{tag}-{j}" for j in range(5)]
                    indexes = log.append_many([entry_for(t) for t in tags])
                    acked = list(zip(indexes, tags, strict=True))
                else:
                    acked = [(log.append(entry_for(tag)), tag)]
                with lock:
                    for item in acked:
                        conn.send(item)
                k += 1

        def sign() -> None:
            while True:
                log.sign_checkpoint(None, key)
                time.sleep(0.002)

        threads = [threading.Thread(target=loop, args=(t,), daemon=True) for t in range(3)]
        threads.append(threading.Thread(target=sign, daemon=True))
        for th in threads:
            th.start()
        for th in threads:
            th.join()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_loses_no_acknowledged_entry(store_factory: StoreFactory) -> None:
    """Kill a busy writer (and signer) at random moments, many times: every ack
    survives, the root recomputes, every checkpoint is consistent with the tree."""
    location = store_factory.location
    AuditLog(store_factory(), origin=ORIGIN)
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(0x5AFE)  # noqa: S311 - kill timing, not cryptography
    acknowledged: dict[int, str] = {}

    def ack(index: int, tag: str) -> None:
        assert acknowledged.setdefault(index, tag) == tag, f"index {index} acknowledged twice"

    rounds, deadline = 0, time.monotonic() + 60
    signed = 0
    while rounds < KILL_ROUNDS and time.monotonic() < deadline:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_crash_worker, args=(location, rounds, sender))
        proc.start()
        sender.close()
        try:
            # Wait for the writer to be busy, then kill it after a random delay.
            assert receiver.poll(60), "the writer acknowledged nothing"
            kill_at = time.monotonic() + rng.uniform(0.0, 0.15)
            while time.monotonic() < kill_at:
                if receiver.poll(0.001):
                    ack(*receiver.recv())
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=30)
            while True:  # whatever it acknowledged before dying
                try:
                    ack(*receiver.recv())
                except (EOFError, OSError):
                    break
        finally:
            if proc.is_alive():  # pragma: no cover
                proc.kill()
                proc.join()
            receiver.close()
        assert proc.exitcode == -signal.SIGKILL
        rounds += 1
        with open_store(location) as store:
            signed = check_checkpoints(AuditLog(store, origin=ORIGIN), acknowledged)
    assert rounds >= 5
    assert len(acknowledged) > rounds
    assert signed > 0  # the child signed checkpoints while it appended
