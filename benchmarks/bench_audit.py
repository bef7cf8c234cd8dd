"""Benchmark the audit log: appends, proofs, full re-verification, logged opens.

Usage::

    python -m benchmarks.bench_audit              # full run: logs of 10^4, 10^5, 10^6 entries
    python -m benchmarks.bench_audit --quick      # 10^4 and 10^5 only, fewer appends
    python -m benchmarks.bench_audit --json out.json   # also write the JSON report
    python -m benchmarks.bench_audit --dir /var/tmp    # where the databases go
    python -m benchmarks.bench_audit --postgres-url postgresql://user@host/db
    python -m benchmarks.bench_audit --no-postgres --no-opens   # SQLite figures only

What is measured (DESIGN.md section 4 targets: proofs O(log n), proof
generation under 1 ms at 10^6 entries, full re-verification of 10^6 entries
in seconds):

* **append, one thread**: ``AuditLog.append`` in a loop; every call is its
  own durable commit (WAL, ``synchronous=FULL``: one fsync each);
* **append, 16 threads**: the same from 16 threads at once; group commit
  lets concurrent callers share a transaction and its fsync (the number of
  commits is reported);
* **append_many**: batches of 1,000 entries, one transaction each;
* for each log size: building the log with ``append_many`` in batches of
  50,000; **proof generation** (``inclusion_proof`` / ``consistency_proof``
  through the database: a read transaction, the size, one primary-key query
  for the O(log n) nodes) and **proof verification** (pure
  ``verify_inclusion`` / ``verify_consistency``), median and 95th percentile
  over random indexes and sizes; **full re-verification**
  (``AuditLog.verify()``: every leaf and node recomputed).

The databases live in a temporary directory (``--dir``, default: the system's
temporary directory) on whatever file system that is; the report names it,
since fsync cost depends on it. Times are wall-clock (``time.perf_counter``).
This module is not part of ``benchmarks.run``.

**PostgreSQL** (unless ``--no-postgres``): the same appends (one thread, 16
threads, ``append_many``) and the proofs and full verification at 10^4 (and
10^5 in a full run) on a PostgreSQL server: ``--postgres-url URL`` (a new
schema is created in that database and dropped afterwards), or else a
throwaway cluster started with the test suite's helpers (``tests.pg``), which
runs with ``fsync=off`` and ``synchronous_commit=off``: its commits never
wait for a disk, so its figures are an upper bound for the code and the
round trips, not for a durable server. The report states the server's
``fsync`` and ``synchronous_commit`` settings either way.

**Audit-logged open against un-logged open**: N envelopes (the workload of
``benchmarks._common``: a 1 KB record sealed by ``XA-NPOL`` to one agency)
are sealed beforehand, untimed; then each is opened once with
``safeshare.envelope.open_envelope`` (replay cache in a durable SQLite file:
one fsync per accepted envelope in both cases), either with
``recorder=None`` (*un-logged*) or with an ``AuditLogRecorder`` on a durable
SQLite ``AuditLog`` in the same database as the replay cache (*logged*:
``open_envelope`` writes the replay row and the ``open`` entry in one
transaction and returns the data only after it committed), from one
thread and from 8 threads sharing one ``AuditLog`` (group commit). Each
configuration runs with fresh databases, in several rounds with the order
rotated; the report gives the median opens/s and the median over rounds of
the paired ratio logged / un-logged (target: at least 0.8 with group commit,
databases on disk). The same is measured with the databases on tmpfs, where
fsync costs nothing: that ratio is the CPU share of recording an open.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, Final, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from benchmarks._common import (
    CASE_REF,
    LEGAL_BASIS,
    MESSAGE_TYPE,
    PURPOSE,
    Workload,
    filesystem_type,
    tmpfs_dir,
)
from safeshare.audit import AuditEntry, AuditLog
from safeshare.audit.entry import encode
from safeshare.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.envelope import open_envelope, seal
from safeshare.storage import ReplayCache, Store, open_store

ORIGIN: Final = "bench.xa-npol.example/audit"
SIZES_QUICK: Final = (10**4, 10**5)
SIZES_FULL: Final = (10**4, 10**5, 10**6)
BUILD_BATCH: Final = 50_000
APPEND_MANY_BATCH: Final = 1_000
THREADS: Final = 16
#: Target of DESIGN.md section 4: proof generation under 1 ms at 10^6 entries.
PROOF_TARGET_MS: Final = 1.0
#: Log sizes measured on PostgreSQL (quick, full).
PG_SIZES_QUICK: Final = (10**4,)
PG_SIZES_FULL: Final = (10**4, 10**5)
#: Threads of the logged-open measurement (group commit).
OPEN_THREADS: Final = 8
#: Target of the issue: logged open throughput at least 0.8x un-logged, with group commit.
OPEN_RATIO_TARGET: Final = 0.8


def make_entry(n: int) -> AuditEntry:
    """A realistic entry: an open of an envelope, with jti, digest and purpose."""
    return AuditEntry(
        action="open",
        time=1_795_000_000 + n,
        actor=f"officer {n % 977}",
        agency="XB-PROS",
        counterparty="XA-NPOL",
        jti=hashlib.sha256(n.to_bytes(8, "big")).hexdigest()[:22],
        envelope_digest=hashlib.sha256(b"envelope %d" % n).hexdigest(),
        purpose="investigation",
        outcome="success",
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _bench_appends(location: str, quick: bool) -> dict[str, Any]:
    single_n = 200 if quick else 2_000
    per_thread = 20 if quick else 200
    batches = 5 if quick else 50
    out: dict[str, Any] = {}
    with open_store(location) as store:
        log = AuditLog(store, origin=ORIGIN)
        entries = [make_entry(i) for i in range(single_n)]
        seconds = _timed(lambda: [log.append(e) for e in entries])
        out["single"] = {
            "entries": single_n,
            "seconds": seconds,
            "entries_per_s": single_n / seconds,
            "us_per_append": seconds / single_n * 1e6,
        }

        commits = _count_commits(store)
        barrier = threading.Barrier(THREADS + 1)

        def worker(t: int) -> None:
            mine = [make_entry(10**6 + t * per_thread + k) for k in range(per_thread)]
            barrier.wait()
            for e in mine:
                log.append(e)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        barrier.wait()
        start = time.perf_counter()
        for th in threads:
            th.join()
        seconds = time.perf_counter() - start
        total = THREADS * per_thread
        out["threads"] = {
            "threads": THREADS,
            "entries": total,
            "seconds": seconds,
            "entries_per_s": total / seconds,
            "commits": commits[0],
            "entries_per_commit": total / max(1, commits[0]),
        }
        _uncount(store)

        groups = [
            [make_entry(2 * 10**6 + b * APPEND_MANY_BATCH + k) for k in range(APPEND_MANY_BATCH)]
            for b in range(batches)
        ]
        seconds = _timed(lambda: [log.append_many(g) for g in groups])
        total = batches * APPEND_MANY_BATCH
        out["batched"] = {
            "batch": APPEND_MANY_BATCH,
            "entries": total,
            "seconds": seconds,
            "entries_per_s": total / seconds,
        }
    return out


def _count_commits(store: Store) -> list[int]:
    """Count write transactions on *store* (instance-level wrapper)."""
    counter = [0]
    real = store.transaction

    def transaction(*, write: bool) -> Any:
        if write:
            counter[0] += 1
        return real(write=write)

    store.transaction = transaction  # type: ignore[method-assign]
    return counter


def _uncount(store: Store) -> None:
    del store.transaction


def _bench_size(location: str, size: int, rng: random.Random, samples: int) -> dict[str, Any]:
    result: dict[str, Any] = {"size": size}
    with open_store(location) as store:
        log = AuditLog(store, origin=ORIGIN)
        build = 0.0
        for start in range(0, size, BUILD_BATCH):
            batch = [make_entry(i) for i in range(start, min(size, start + BUILD_BATCH))]
            build += _timed(lambda b=batch: log.append_many(b))  # type: ignore[misc]
        result["build_seconds"] = build
        result["build_entries_per_s"] = size / build
        root = log.root()

        incl_gen: list[float] = []
        incl_ver: list[float] = []
        for _ in range(samples):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            proof = log.inclusion_proof(index, size)
            t1 = time.perf_counter()
            leaf = leaf_hash(encode(make_entry(index)))
            t2 = time.perf_counter()
            verify_inclusion(leaf, index, size, proof, root)
            t3 = time.perf_counter()
            incl_gen.append(t1 - t0)
            incl_ver.append(t3 - t2)

        cons_gen: list[float] = []
        cons_ver: list[float] = []
        roots: dict[int, bytes] = {}
        for _ in range(samples):
            size1 = rng.randrange(1, size)
            if size1 not in roots:
                roots[size1] = log.root(size1)
            t0 = time.perf_counter()
            proof = log.consistency_proof(size1, size)
            t1 = time.perf_counter()
            verify_consistency(size1, size, proof, roots[size1], root)
            t2 = time.perf_counter()
            cons_gen.append(t1 - t0)
            cons_ver.append(t2 - t1)

        verify_seconds = _timed(log.verify)
    result.update(
        {
            "inclusion_generate_ms": _stats(incl_gen),
            "inclusion_verify_ms": _stats(incl_ver),
            "consistency_generate_ms": _stats(cons_gen),
            "consistency_verify_ms": _stats(cons_ver),
            "full_verify_seconds": verify_seconds,
            "full_verify_entries_per_s": size / verify_seconds,
        }
    )
    if "://" not in location:
        result["database_mb"] = _db_megabytes(location)
    return result


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "median": statistics.median(ms),
        "p95": _percentile(ms, 0.95),
        "max": max(ms),
    }


def _db_megabytes(path: str) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(path + suffix)
    return total / 1e6


# -- PostgreSQL ------------------------------------------------------------------------------


def _with_search_path(url: str, schema: str) -> str:
    """*url* with ``options=-c search_path=<schema>`` (as ``tests.pg`` builds it)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-c search_path={schema}"))
    return parts._replace(query=urlencode(query, quote_via=quote)).geturl()


@contextlib.contextmanager
def _postgres_database(url: str | None) -> Iterator[tuple[str | None, str]]:
    """``(database URL, description)``; the URL is ``None`` (and the description the
    reason) when no server is available."""
    if url is not None:
        yield url, "the server given with --postgres-url"
        return
    try:
        import pytest
        from tests.pg import postgres_server_for_session
    except ImportError as exc:
        yield None, f"no --postgres-url, and the test helpers cannot be imported ({exc})"
        return
    # A generator (the body of the pytest fixture): closing it stops the cluster.
    servers = cast("Generator[Any, None, None]", postgres_server_for_session())
    try:
        server = next(servers)
    except (pytest.skip.Exception, pytest.fail.Exception, RuntimeError, OSError) as exc:
        yield None, f"no --postgres-url, and no throwaway cluster could be started: {exc}"
        return
    try:
        yield (
            server.url,
            "a THROWAWAY TEST CLUSTER started with tests.pg (fsync=off, "
            "synchronous_commit=off: commits do not wait for a disk; an upper bound)",
        )
    finally:
        servers.close()  # stops the cluster and removes its directory


@contextlib.contextmanager
def _fresh_schema(url: str) -> Iterator[str]:
    """A new, empty schema in the database at *url*; yields a URL that uses it."""
    import psycopg

    name = f"safeshare_bench_{os.getpid()}_{random.randrange(16**6):06x}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield _with_search_path(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _server_settings(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "fsync", "synchronous_commit")
        }


def _bench_postgres(
    url: str | None, quick: bool, rng: random.Random, samples: int
) -> dict[str, Any]:
    with _postgres_database(url) as (database, description):
        if database is None:
            print(f"PostgreSQL: skipped: {description}", file=sys.stderr)
            return {"skipped": description}
        out: dict[str, Any] = {"server": description, "settings": _server_settings(database)}
        with _fresh_schema(database) as location:
            out["appends"] = _bench_appends(location, quick)
        out["sizes"] = []
        for size in PG_SIZES_QUICK if quick else PG_SIZES_FULL:
            with _fresh_schema(database) as location:
                out["sizes"].append(_bench_size(location, size, rng, samples))
        return out


# -- audit-logged open against un-logged open ----------------------------------------------------


def _bench_logged_open(directory: str, count: int, *, rounds: int) -> dict[str, Any]:
    """Logged against un-logged opens, with the databases on disk and (if any) on tmpfs."""
    workload = Workload()
    envelopes = [
        seal(
            workload.record,
            sender=workload.sender,
            to=workload.recipients(1),
            registry=workload.registry,
            purpose=PURPOSE,
            legal_basis=LEGAL_BASIS,
            case_ref=CASE_REF,
            message_type=MESSAGE_TYPE,
            handling=workload.handling,
        )
        for _ in range(count)
    ]
    out: dict[str, Any] = {"envelopes": count, "rounds": rounds, "recipients": 1, "placements": []}
    shm = tmpfs_dir()
    placements = [("durable disk", directory)]
    if shm is not None:
        placements.append(("tmpfs (no fsync cost: the CPU share of the audit append)", shm))
    for label, where in placements:
        with tempfile.TemporaryDirectory(prefix="safeshare-bench-open-", dir=where) as tmp:
            result = _open_placement(tmp, workload, envelopes, rounds=rounds)
        out["placements"].append(
            {"databases": label, "filesystem": filesystem_type(where), **result}
        )
    disk = out["placements"][0]["ratios"]
    grouped = next(r for r in disk if r["threads"] == OPEN_THREADS)
    out["target"] = {
        "logged_over_unlogged_at_least": OPEN_RATIO_TARGET,
        "threads": OPEN_THREADS,
        "databases": "durable disk",
        "ratio": grouped["logged_over_unlogged"],
        "met": grouped["logged_over_unlogged"] >= OPEN_RATIO_TARGET,
    }
    return out


def _open_placement(
    directory: str, workload: Workload, envelopes: list[bytes], *, rounds: int
) -> dict[str, Any]:
    configs = [(logged, threads) for threads in (1, OPEN_THREADS) for logged in (False, True)]
    samples: dict[tuple[bool, int], list[float]] = {c: [] for c in configs}
    commits: dict[int, list[int]] = {1: [], OPEN_THREADS: []}
    for round_no in range(rounds):
        shift = round_no % len(configs)
        for logged, threads in configs[shift:] + configs[:shift]:
            rate, n_commits = _open_run(
                directory, workload, envelopes, logged=logged, threads=threads
            )
            samples[(logged, threads)].append(rate)
            if logged:
                commits[threads].append(n_commits)
    results = []
    for logged, threads in configs:
        rates = samples[(logged, threads)]
        row: dict[str, Any] = {
            "mode": "logged" if logged else "un-logged",
            "threads": threads,
            "opens_per_s": statistics.median(rates),
            "samples_opens_per_s": rates,
        }
        if logged:
            row["audit_commits_median"] = statistics.median(commits[threads])
        results.append(row)
    ratios = []
    for threads in (1, OPEN_THREADS):
        paired = [
            lg / un
            for lg, un in zip(samples[(True, threads)], samples[(False, threads)], strict=True)
        ]
        ratios.append(
            {
                "threads": threads,
                "logged_over_unlogged": statistics.median(paired),
                "paired_samples": paired,
            }
        )
    return {"results": results, "ratios": ratios}


def _open_run(
    directory: str,
    workload: Workload,
    envelopes: list[bytes],
    *,
    logged: bool,
    threads: int,
) -> tuple[float, int]:
    """Open every envelope once (fresh databases); return (opens/s, audit commits).

    *logged*: ``open_envelope`` records each open through an
    ``AuditLogRecorder`` and returns only once the entry is committed; else
    ``recorder=None`` (nothing recorded).
    """
    opener = workload.opener(1)
    with (
        tempfile.TemporaryDirectory(prefix="open-", dir=directory) as tmp,
        open_store(os.path.join(tmp, "safeshare.db")) as store,
    ):
        # One store for both: a logged open writes its replay row and its audit
        # entry in one (group-committed) transaction.
        replay = ReplayCache(store)
        log = AuditLog(store, origin=ORIGIN)
        recorder = AuditLogRecorder(log) if logged else None
        counter = _count_commits(store)

        def open_one(envelope: bytes) -> object:
            opened = open_envelope(
                envelope,
                recipient=opener,
                registry=workload.registry,
                replay=replay,
                purpose=PURPOSE,
                actor="bench gateway",
                recorder=recorder,
            )
            return opened.record

        if threads == 1:
            start = time.perf_counter()
            for envelope in envelopes:
                open_one(envelope)
            seconds = time.perf_counter() - start
        else:
            barrier = threading.Barrier(threads + 1)
            errors: list[BaseException] = []

            def worker(part: list[bytes]) -> None:
                barrier.wait()
                try:
                    for envelope in part:
                        open_one(envelope)
                except Exception as exc:  # noqa: BLE001 - reported after the run
                    errors.append(exc)

            pool = [
                threading.Thread(target=worker, args=(envelopes[t::threads],))
                for t in range(threads)
            ]
            for th in pool:
                th.start()
            barrier.wait()
            start = time.perf_counter()
            for th in pool:
                th.join()
            seconds = time.perf_counter() - start
            if errors:
                raise errors[0]
        expected = len(envelopes) if logged else 0
        if log.size() != expected:
            raise RuntimeError(f"the audit log has {log.size()} entries, not {expected}")
        _uncount(store)
    return len(envelopes) / seconds, counter[0]


def run(
    quick: bool,
    *,
    directory: str | None = None,
    postgres: bool = True,
    postgres_url: str | None = None,
    opens: bool = True,
    open_count: int | None = None,
) -> dict[str, Any]:
    """Run the audit-log benchmark; return the JSON-ready report."""
    sizes = SIZES_QUICK if quick else SIZES_FULL
    samples = 200 if quick else 1_000
    rng = random.Random(20261129)
    with tempfile.TemporaryDirectory(prefix="safeshare-bench-audit-", dir=directory) as tmp:
        report: dict[str, Any] = {
            "benchmark": "audit-log",
            "quick": quick,
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "directory_filesystem": filesystem_type(tmp),
            "appends": _bench_appends(os.path.join(tmp, "appends.db"), quick),
            "sizes": [
                _bench_size(os.path.join(tmp, f"log-{size}.db"), size, rng, samples)
                for size in sizes
            ],
        }
        if postgres:
            report["postgresql"] = _bench_postgres(postgres_url, quick, rng, samples)
        if opens:
            count = open_count if open_count is not None else (240 if quick else 2_000)
            report["logged_open"] = _bench_logged_open(tmp, count, rounds=1 if quick else 3)
    largest = report["sizes"][-1]
    report["target"] = {
        "proof_generation_ms_below": PROOF_TARGET_MS,
        "at_size": largest["size"],
        "inclusion_median_ms": largest["inclusion_generate_ms"]["median"],
        "consistency_median_ms": largest["consistency_generate_ms"]["median"],
        "met": max(
            largest["inclusion_generate_ms"]["median"],
            largest["consistency_generate_ms"]["median"],
        )
        < PROOF_TARGET_MS,
    }
    return report


def _append_lines(a: dict[str, Any]) -> list[str]:
    return [
        f"append, one thread        {a['single']['entries_per_s']:>10,.0f} entries/s  "
        f"({a['single']['us_per_append']:,.0f} us per durable append)",
        f"append, {a['threads']['threads']} threads       {a['threads']['entries_per_s']:>10,.0f} "
        f"entries/s  ({a['threads']['commits']} commits for {a['threads']['entries']} appends, "
        f"{a['threads']['entries_per_commit']:.1f} per commit)",
        f"append_many ({a['batched']['batch']:,}/batch) {a['batched']['entries_per_s']:>10,.0f} "
        "entries/s",
    ]


def _size_lines(sizes: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'entries':>10}  {'build/s':>9}  {'incl gen ms':>15}  {'incl ver ms':>11}  "
        f"{'cons gen ms':>15}  {'cons ver ms':>11}  {'verify() s':>10}  {'verify/s':>9}  {'MB':>6}",
    ]
    for s in sizes:
        ig, iv = s["inclusion_generate_ms"], s["inclusion_verify_ms"]
        cg, cv = s["consistency_generate_ms"], s["consistency_verify_ms"]
        mb = f"{s['database_mb']:>6.0f}" if "database_mb" in s else f"{'-':>6}"
        lines.append(
            f"{s['size']:>10,}  {s['build_entries_per_s']:>9,.0f}  "
            f"{ig['median']:>6.3f} (p95 {ig['p95']:.3f})  {iv['median']:>11.4f}  "
            f"{cg['median']:>6.3f} (p95 {cg['p95']:.3f})  {cv['median']:>11.4f}  "
            f"{s['full_verify_seconds']:>10.2f}  {s['full_verify_entries_per_s']:>9,.0f}  {mb}"
        )
    return lines


def format_table(report: dict[str, Any]) -> str:
    """The report as a human-readable table."""
    lines = [
        f"audit log on SQLite {report['sqlite']} (WAL, synchronous=FULL), "
        f"file system {report['directory_filesystem']}, Python {report['python']}, "
        f"{report['cpus']} CPUs",
        "",
        *_append_lines(report["appends"]),
        "",
        *_size_lines(report["sizes"]),
    ]
    t = report["target"]
    lines += [
        "",
        f"target: proof generation < {t['proof_generation_ms_below']} ms at {t['at_size']:,} "
        f"entries: inclusion {t['inclusion_median_ms']:.3f} ms, consistency "
        f"{t['consistency_median_ms']:.3f} ms (medians): {'met' if t['met'] else 'NOT met'}",
    ]
    pg = report.get("postgresql")
    if pg is not None:
        lines += ["", "=" * 100]
        if "skipped" in pg:
            lines.append(f"PostgreSQL: skipped: {pg['skipped']}")
        else:
            st = pg["settings"]
            lines += [
                f"audit log on PostgreSQL {st['server_version']}: {pg['server']}",
                f"server settings: fsync={st['fsync']}, "
                f"synchronous_commit={st['synchronous_commit']}",
                "",
                *_append_lines(pg["appends"]),
                "",
                *_size_lines(pg["sizes"]),
            ]
    lo = report.get("logged_open")
    if lo is not None:
        lines += [
            "",
            "=" * 100,
            f"audit-logged open vs un-logged open (open_envelope with an AuditLogRecorder or "
            f"recorder=None): {lo['envelopes']} envelopes, {lo['rounds']} round(s); replay "
            "cache and audit log in durable SQLite (WAL, synchronous=FULL)",
        ]
        for placement in lo["placements"]:
            lines += [
                "",
                f"databases on {placement['databases']} ({placement['filesystem']})",
                f"{'mode':>10}  {'threads':>7}  {'opens/s':>9}  {'audit commits':>13}",
            ]
            for r in placement["results"]:
                commits = r.get("audit_commits_median")
                shown = "-" if commits is None else f"{commits:,.0f}"
                lines.append(
                    f"{r['mode']:>10}  {r['threads']:>7}  {r['opens_per_s']:>9,.0f}  {shown:>13}"
                )
            lines.extend(
                f"logged / un-logged, {r['threads']} thread(s): {r['logged_over_unlogged']:.2f}"
                for r in placement["ratios"]
            )
        t = lo["target"]
        lines += [
            "",
            f"target: logged / un-logged >= {t['logged_over_unlogged_at_least']} with group commit "
            f"({t['threads']} threads, {t['databases']}): {t['ratio']:.2f}: "
            f"{'met' if t['met'] else 'NOT met'}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_audit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 entries only")
    parser.add_argument("--json", metavar="PATH", help="also write the JSON report ('-': stdout)")
    parser.add_argument("--dir", metavar="DIR", help="where the temporary databases go")
    parser.add_argument(
        "--postgres-url",
        metavar="URL",
        help="measure on this PostgreSQL database (a schema is created and dropped); "
        "default: a throwaway cluster from tests.pg, if PostgreSQL is installed",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--no-opens", action="store_true", help="skip the logged/un-logged open measurement"
    )
    parser.add_argument(
        "--open-count",
        metavar="N",
        type=int,
        help="envelopes per open run (default: 240 with --quick, else 2000)",
    )
    args = parser.parse_args(argv)
    if args.open_count is not None and args.open_count < OPEN_THREADS:
        parser.error(f"--open-count must be at least {OPEN_THREADS}")
    report = run(
        args.quick,
        directory=args.dir,
        postgres=not args.no_postgres,
        postgres_url=args.postgres_url,
        opens=not args.no_opens,
        open_count=args.open_count,
    )
    table = format_table(report)
    if args.json == "-":
        print(table, file=sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print(table)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(report, fh, indent=2)
                fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
