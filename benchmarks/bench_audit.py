"""Benchmark the audit log: appends, proofs and full re-verification on SQLite.

Usage::

    python -m benchmarks.bench_audit              # full run: logs of 10^4, 10^5, 10^6 entries
    python -m benchmarks.bench_audit --quick      # 10^4 and 10^5 only, fewer appends
    python -m benchmarks.bench_audit --json out.json   # also write the JSON report
    python -m benchmarks.bench_audit --dir /var/tmp    # where the databases go

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
from collections.abc import Callable
from typing import Any, Final

from benchmarks._common import filesystem_type
from safeshare.audit import AuditEntry, AuditLog
from safeshare.audit.entry import encode
from safeshare.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from safeshare.storage import Store, open_store

ORIGIN: Final = "bench.xa-npol.example/audit"
SIZES_QUICK: Final = (10**4, 10**5)
SIZES_FULL: Final = (10**4, 10**5, 10**6)
BUILD_BATCH: Final = 50_000
APPEND_MANY_BATCH: Final = 1_000
THREADS: Final = 16
#: Target of DESIGN.md section 4: proof generation under 1 ms at 10^6 entries.
PROOF_TARGET_MS: Final = 1.0


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


def _bench_appends(directory: str, quick: bool) -> dict[str, Any]:
    single_n = 200 if quick else 2_000
    per_thread = 20 if quick else 200
    batches = 5 if quick else 50
    out: dict[str, Any] = {}
    with open_store(os.path.join(directory, "appends.db")) as store:
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


def _bench_size(directory: str, size: int, rng: random.Random, samples: int) -> dict[str, Any]:
    path = os.path.join(directory, f"log-{size}.db")
    result: dict[str, Any] = {"size": size}
    with open_store(path) as store:
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
            "database_mb": _db_megabytes(path),
        }
    )
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


def run(quick: bool, *, directory: str | None = None) -> dict[str, Any]:
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
            "directory_filesystem": filesystem_type(tmp),
            "appends": _bench_appends(tmp, quick),
            "sizes": [_bench_size(tmp, size, rng, samples) for size in sizes],
        }
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


def format_table(report: dict[str, Any]) -> str:
    """The report as a human-readable table."""
    a = report["appends"]
    lines = [
        f"audit log on SQLite {report['sqlite']} (WAL, synchronous=FULL), "
        f"file system {report['directory_filesystem']}, Python {report['python']}",
        "",
        f"append, one thread        {a['single']['entries_per_s']:>10,.0f} entries/s  "
        f"({a['single']['us_per_append']:,.0f} us per durable append)",
        f"append, {a['threads']['threads']} threads       {a['threads']['entries_per_s']:>10,.0f} "
        f"entries/s  ({a['threads']['commits']} commits for {a['threads']['entries']} appends, "
        f"{a['threads']['entries_per_commit']:.1f} per commit)",
        f"append_many ({a['batched']['batch']:,}/batch) {a['batched']['entries_per_s']:>10,.0f} "
        "entries/s",
        "",
        f"{'entries':>10}  {'build/s':>9}  {'incl gen ms':>15}  {'incl ver ms':>11}  "
        f"{'cons gen ms':>15}  {'cons ver ms':>11}  {'verify() s':>10}  {'verify/s':>9}  {'MB':>6}",
    ]
    for s in report["sizes"]:
        ig, iv = s["inclusion_generate_ms"], s["inclusion_verify_ms"]
        cg, cv = s["consistency_generate_ms"], s["consistency_verify_ms"]
        lines.append(
            f"{s['size']:>10,}  {s['build_entries_per_s']:>9,.0f}  "
            f"{ig['median']:>6.3f} (p95 {ig['p95']:.3f})  {iv['median']:>11.4f}  "
            f"{cg['median']:>6.3f} (p95 {cg['p95']:.3f})  {cv['median']:>11.4f}  "
            f"{s['full_verify_seconds']:>10.2f}  {s['full_verify_entries_per_s']:>9,.0f}  "
            f"{s['database_mb']:>6.0f}"
        )
    t = report["target"]
    lines += [
        "",
        f"target: proof generation < {t['proof_generation_ms_below']} ms at {t['at_size']:,} "
        f"entries: inclusion {t['inclusion_median_ms']:.3f} ms, consistency "
        f"{t['consistency_median_ms']:.3f} ms (medians): {'met' if t['met'] else 'NOT met'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_audit", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 entries only")
    parser.add_argument("--json", metavar="PATH", help="also write the JSON report ('-': stdout)")
    parser.add_argument("--dir", metavar="DIR", help="where the temporary databases go")
    args = parser.parse_args(argv)
    report = run(args.quick, directory=args.dir)
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
