"""The replay cache: exactly-once acceptance, purging, validation, concurrency.

Every test that touches a database runs on SQLite and on PostgreSQL (the
``cache`` / ``store`` / ``store_factory`` fixtures are parametrized).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from safeshare.errors import (
    MalformedInputError,
    OversizedInputError,
    ReplayError,
    SafeShareError,
    UsageError,
)
from safeshare.storage import Migration, ReplayCache, Schema, Store, open_store
from safeshare.storage.replay import MAX_ID_LENGTH
from tests.pg import StoreFactory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEEP = NOW + timedelta(minutes=10)
DIGEST = "a" * 64
OTHER_DIGEST = "b" * 64
ALREADY_OPENED = "this envelope was already opened"
REUSED = "jti reused with different content"


def test_first_accepted_then_replay_refused(cache: ReplayCache) -> None:
    assert not cache.contains("XA-NPOL", "jti-1")
    cache.check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)
    assert cache.contains("XA-NPOL", "jti-1")
    with pytest.raises(ReplayError, match=ALREADY_OPENED) as info:
        cache.check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)
    assert info.value.code == "replay"
    assert REUSED not in info.value.message


def test_same_jti_different_content(cache: ReplayCache) -> None:
    cache.check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)
    with pytest.raises(ReplayError, match=REUSED) as info:
        cache.check_and_record("XA-NPOL", "jti-1", OTHER_DIGEST, KEEP, now=NOW)
    assert ALREADY_OPENED not in info.value.message
    assert info.value.hint
    # the first record is kept, not overwritten
    with pytest.raises(ReplayError, match=ALREADY_OPENED):
        cache.check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)


def test_jti_is_scoped_by_issuer(cache: ReplayCache) -> None:
    cache.check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)
    cache.check_and_record("XB-PROS", "jti-1", DIGEST, KEEP, now=NOW)
    assert cache.contains("XB-PROS", "jti-1")
    assert not cache.contains("XC-OTHR", "jti-1")


def test_ids_compare_exactly(cache: ReplayCache) -> None:
    cache.check_and_record("XA-NPOL", "AbC", DIGEST, KEEP, now=NOW)
    cache.check_and_record("XA-NPOL", "abc", DIGEST, KEEP, now=NOW)  # case matters
    cache.check_and_record("xa-npol", "AbC", DIGEST, KEEP, now=NOW)
    cache.check_and_record("XA-NPOL", "AbC ", DIGEST, KEEP, now=NOW)


def test_replay_survives_reopening(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        ReplayCache(store).check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)
    with store_factory() as store, pytest.raises(ReplayError, match=ALREADY_OPENED):
        ReplayCache(store).check_and_record("XA-NPOL", "jti-1", DIGEST, KEEP, now=NOW)


def test_times_in_other_zones_are_the_same_instant(cache: ReplayCache) -> None:
    plus2 = timezone(timedelta(hours=2))
    cache.check_and_record("XA", "j", DIGEST, KEEP.astimezone(plus2), now=NOW.astimezone(plus2))
    assert cache.purge_expired(now=KEEP) == 0
    assert cache.purge_expired(now=(KEEP + timedelta(seconds=1)).astimezone(plus2)) == 1


# -- purging -------------------------------------------------------------------


def test_purge_counts_and_frees_keys(cache: ReplayCache) -> None:
    for i in range(5):
        cache.check_and_record("XA", f"j{i}", DIGEST, NOW + timedelta(minutes=i + 1), now=NOW)
    assert cache.purge_expired(now=NOW) == 0
    assert cache.purge_expired(now=NOW + timedelta(minutes=2, seconds=30)) == 2
    assert not cache.contains("XA", "j0")
    assert not cache.contains("XA", "j1")
    assert cache.contains("XA", "j2")
    assert cache.purge_expired(now=NOW + timedelta(minutes=2, seconds=30)) == 0
    # a freed key can be recorded again (by then the envelope itself is expired)
    later = NOW + timedelta(minutes=3)
    cache.check_and_record("XA", "j0", OTHER_DIGEST, later + timedelta(minutes=10), now=later)
    assert cache.purge_expired(now=NOW + timedelta(hours=1)) == 4


def test_purge_never_drops_an_entry_before_keep_until(cache: ReplayCache) -> None:
    keep = NOW + timedelta(seconds=10, microseconds=500_000)  # rounded up when stored
    cache.check_and_record("XA", "j", DIGEST, keep, now=NOW)
    for now in (keep - timedelta(seconds=1), keep, keep + timedelta(microseconds=400_000)):
        assert cache.purge_expired(now=now) == 0
        assert cache.contains("XA", "j")
    assert cache.purge_expired(now=keep + timedelta(seconds=2)) == 1


def test_expired_but_unpurged_entry_still_refuses(cache: ReplayCache) -> None:
    cache.check_and_record("XA", "j", DIGEST, KEEP, now=NOW)
    later = KEEP + timedelta(days=1)
    with pytest.raises(ReplayError, match=REUSED):
        cache.check_and_record("XA", "j", OTHER_DIGEST, later + timedelta(minutes=1), now=later)


def test_purge_in_batches(cache: ReplayCache) -> None:
    for i in range(25):
        cache.check_and_record("XA", f"j{i}", DIGEST, KEEP, now=NOW)
    cache.check_and_record("XA", "keep", DIGEST, KEEP + timedelta(days=1), now=NOW)
    after = KEEP + timedelta(hours=1)
    assert cache.purge_expired(now=after, batch_size=10) == 25
    assert cache.purge_expired(now=after, batch_size=10) == 0
    assert cache.contains("XA", "keep")
    assert cache.purge_expired(now=after, batch_size=1) == 0


def test_purge_of_an_exact_batch_multiple(cache: ReplayCache) -> None:
    for i in range(4):
        cache.check_and_record("XA", f"j{i}", DIGEST, KEEP, now=NOW)
    assert cache.purge_expired(now=KEEP + timedelta(hours=1), batch_size=2) == 4


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_purge_batch_size(cache: ReplayCache, bad: Any) -> None:
    with pytest.raises(UsageError, match="batch_size"):
        cache.purge_expired(now=NOW, batch_size=bad)


# -- input validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("iss", "jti", "error", "message"),
    [
        (123, "j", MalformedInputError, "iss must be a string, not int"),
        ("XA", None, MalformedInputError, "jti must be a string, not NoneType"),
        ("XA", b"j", MalformedInputError, "jti must be a string, not bytes"),
        ("", "j", MalformedInputError, "iss must not be empty"),
        ("XA", "", MalformedInputError, "jti must not be empty"),
        ("XA", "j" * (MAX_ID_LENGTH + 1), OversizedInputError, "jti is 257 characters"),
        ("X" * (MAX_ID_LENGTH + 1), "j", OversizedInputError, "iss is 257 characters"),
        ("XA", "j\x00k", MalformedInputError, "jti contains control characters"),
        ("XA\n", "j", MalformedInputError, "iss contains control characters"),
        ("XA", "j\x7f", MalformedInputError, "jti contains control characters"),
        ("XA", "j\ud800", MalformedInputError, "lone surrogate"),
    ],
)
def test_bad_ids(
    cache: ReplayCache, iss: Any, jti: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        cache.check_and_record(iss, jti, DIGEST, KEEP, now=NOW)
    with pytest.raises(error):
        cache.contains(iss, jti)


def test_longest_ids_are_accepted(cache: ReplayCache) -> None:
    iss, jti = "I" * MAX_ID_LENGTH, "é" * MAX_ID_LENGTH
    cache.check_and_record(iss, jti, DIGEST, KEEP, now=NOW)
    assert cache.contains(iss, jti)


@pytest.mark.parametrize("digest", [None, "", "d" * 257, "d\x00", b"d"])
def test_bad_digest(cache: ReplayCache, digest: Any) -> None:
    with pytest.raises(UsageError, match="content_digest"):
        cache.check_and_record("XA", "j", digest, KEEP, now=NOW)
    assert not cache.contains("XA", "j")


def test_times_must_be_aware(cache: ReplayCache) -> None:
    naive = datetime(2026, 11, 29, 12, 0)  # naive on purpose
    with pytest.raises(UsageError, match="now must be a timezone-aware"):
        cache.check_and_record("XA", "j", DIGEST, KEEP, now=naive)
    with pytest.raises(UsageError, match="keep_until must be a timezone-aware"):
        cache.check_and_record("XA", "j", DIGEST, naive, now=NOW)
    with pytest.raises(UsageError, match="now must be a timezone-aware"):
        cache.purge_expired(now=naive)
    with pytest.raises(UsageError, match="timezone-aware"):
        cache.check_and_record("XA", "j", DIGEST, 1234, now=NOW)  # type: ignore[arg-type]
    assert not cache.contains("XA", "j")


def test_keep_until_in_the_past_is_refused(cache: ReplayCache) -> None:
    with pytest.raises(UsageError, match="keep_until is before now"):
        cache.check_and_record("XA", "j", DIGEST, NOW - timedelta(seconds=1), now=NOW)
    assert not cache.contains("XA", "j")
    cache.check_and_record("XA", "j", DIGEST, NOW, now=NOW)  # the boundary is fine
    assert cache.contains("XA", "j")


def test_cache_needs_a_store(store_factory: StoreFactory) -> None:
    with pytest.raises(UsageError, match="Store"):
        ReplayCache(store_factory.location)  # type: ignore[arg-type]


# -- concurrency ---------------------------------------------------------------


def test_threads_racing_on_one_jti_accept_it_once(store: Store) -> None:
    n = 8
    cache = ReplayCache(store)
    barrier = threading.Barrier(n)

    def attempt(i: int) -> str:
        # half the threads carry the genuine envelope, half a different one
        digest = DIGEST if i % 2 == 0 else OTHER_DIGEST
        barrier.wait(timeout=30)
        try:
            cache.check_and_record("XA", "shared", digest, KEEP, now=NOW)
        except ReplayError as exc:
            return "replay" if ALREADY_OPENED in exc.message or REUSED in exc.message else str(exc)
        return "accepted"

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(attempt, i) for i in range(n)]
        outcomes = [f.result(timeout=60) for f in futures]  # re-raises anything else
    assert sorted(outcomes) == ["accepted"] + ["replay"] * (n - 1)


def test_threads_with_separate_stores_accept_each_jti_once(store_factory: StoreFactory) -> None:
    n = 6
    barrier = threading.Barrier(n)

    def attempt() -> list[str]:
        accepted = []
        with store_factory() as store:
            cache = ReplayCache(store)
            barrier.wait(timeout=30)
            for k in range(10):
                with contextlib.suppress(ReplayError):
                    cache.check_and_record("XA", f"shared-{k}", DIGEST, KEEP, now=NOW)
                    accepted.append(f"shared-{k}")
        return accepted

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(attempt) for _ in range(n)]
        accepted = Counter(j for f in futures for j in f.result(timeout=60))
    assert accepted == Counter({f"shared-{k}": 1 for k in range(10)})


SHARED_JTIS = [f"shared-{k}" for k in range(8)]
OWN_JTIS = 5


#: Not idempotent: a second application would fail (table exists) or insert twice.
COUNTER = Schema(
    "counter",
    (
        Migration(
            1,
            sqlite=(
                "CREATE TABLE safeshare_counter (n INTEGER NOT NULL)",
                "INSERT INTO safeshare_counter (n) VALUES (1)",
            ),
            postgresql=(
                "CREATE TABLE safeshare_counter (n BIGINT NOT NULL)",
                "INSERT INTO safeshare_counter (n) VALUES (1)",
            ),
        ),
    ),
)


def _process_worker(
    location: str, index: int, barrier: Any, results: multiprocessing.Queue[Any]
) -> None:
    """Runs in a spawned process: open the fresh database, set up the tables at
    the same moment as the others, then race for every jti."""
    accepted: list[str] = []
    replayed: list[str] = []
    problems: list[str] = []
    finished = False
    try:
        with open_store(location) as store:
            barrier.wait(timeout=60)
            store.ensure_schema(COUNTER)
            cache = ReplayCache(store)
            jtis = [f"p{index}-{k}" for k in range(OWN_JTIS)]
            mixed = [x for pair in zip(SHARED_JTIS, jtis, strict=False) for x in pair]
            mixed += SHARED_JTIS[len(jtis) :]
            for jti in mixed:
                try:
                    cache.check_and_record("XA-NPOL", jti, DIGEST, KEEP, now=NOW)
                except ReplayError:
                    replayed.append(jti)
                else:
                    accepted.append(jti)
        finished = True
    except SafeShareError as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        if not finished and not problems:
            problems.append(f"process {index} crashed (its traceback is on stderr)")
        results.put((index, accepted, replayed, problems))


def test_processes_racing_accept_each_jti_exactly_once(store_factory: StoreFactory) -> None:
    """Spawned processes, each with its own store on the same fresh database,
    apply the schemas at the same moment (exactly once) and race for jtis."""
    n = 4
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    results: multiprocessing.Queue[Any] = ctx.Queue()
    procs = [
        ctx.Process(target=_process_worker, args=(store_factory.location, i, barrier, results))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    collected: list[tuple[int, list[str], list[str], list[str]]] = []
    try:
        for _ in range(n):
            collected.append(results.get(timeout=120))
    except queue.Empty:
        pytest.fail(f"only {len(collected)} of {n} processes reported")
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join()
        results.close()
        results.join_thread()

    assert [p.exitcode for p in procs] == [0] * n
    problems = [msg for _, _, _, errs in collected for msg in errs]
    assert problems == []
    accepted = Counter(j for _, acc, _, _ in collected for j in acc)
    replayed = Counter(j for _, _, rep, _ in collected for j in rep)
    for jti in SHARED_JTIS:
        assert accepted[jti] == 1, jti
        assert replayed[jti] == n - 1, jti
    for i in range(n):
        for k in range(OWN_JTIS):
            assert accepted[f"p{i}-{k}"] == 1
            assert replayed[f"p{i}-{k}"] == 0
    assert sum(accepted.values()) == len(SHARED_JTIS) + n * OWN_JTIS

    with store_factory() as store:
        cache = ReplayCache(store)
        assert all(cache.contains("XA-NPOL", j) for j in accepted)
        assert cache.purge_expired(now=KEEP + timedelta(seconds=1)) == sum(accepted.values())
        with store.transaction(write=False) as cur:
            assert cur.execute("SELECT n FROM safeshare_counter") == [(1,)]
            rows = cur.execute("SELECT component, version FROM safeshare_schema ORDER BY 1")
        assert rows == [("counter", 1), ("replay", 1)]
