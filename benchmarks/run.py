"""Run the envelope benchmarks: safeshare against the raw-primitive floor and hand-composed peers.

Usage::

    python -m benchmarks.run                      # full run, table on stdout
    python -m benchmarks.run --quick              # a few seconds (smoke test)
    python -m benchmarks.run --json results.json  # also write the JSON report
    python -m benchmarks.run --json -             # JSON on stdout, table on stderr
    python -m benchmarks.run --recipients 1,10

Method: every implementation is set up once per recipient count; then, in
each of several *rounds*, every operation is timed for every implementation,
one batch of a fixed number of iterations each, back to back (the order of
implementations rotates from round to round). Each batch gives one sample of
the time per operation; the report gives the median over rounds and the
spread. Ratios divide medians; ``paired`` ratios are the median of the
per-round ratios (both samples taken seconds apart, so drift of the machine
cancels out); ``of_minima`` divides the fastest batches (the ones least
disturbed by other processes); ``cpu`` divides the medians of the CPU time
this process used (``time.process_time``), which other processes on a busy
machine disturb far less than the wall clock, but which leaves out time spent
waiting for the disk (the fsync of the durable replay store). The iteration count per batch is calibrated once per
implementation and operation so that one batch takes about ``batch_ms``.

Garbage collection is run before, and disabled during, each batch (as
:mod:`timeit` does). For ``open``, a pool of fresh envelopes is sealed before
the batch (untimed): every envelope is opened once, since safeshare refuses
replays.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Final, NamedTuple, TextIO

from benchmarks._common import (
    OPERATIONS,
    RECIPIENTS,
    Implementation,
    Workload,
    filesystem_type,
    tmpfs_dir,
)
from benchmarks.bench_floor import FloorImpl
from benchmarks.bench_peers import PeersImpl
from benchmarks.bench_safeshare import SafeshareImpl
from safeshare.envelope import OpenedEnvelope

SAFESHARE: Final = "safeshare"
SAFESHARE_DISK: Final = "safeshare (durable replay, disk)"
FLOOR: Final = "floor"
FLOOR_SHA: Final = "floor + sha256 digests"
PEERS: Final = "peers"

#: (numerator, denominator) of every reported ratio.
RATIOS: Final = (
    (SAFESHARE, FLOOR),
    (SAFESHARE, FLOOR_SHA),
    (SAFESHARE, PEERS),
    (SAFESHARE_DISK, PEERS),
)
#: Targets from DESIGN.md section 4: (numerator, denominator, operation or None
#: for all, recipients or None for all) -> (bound, inclusive).
TARGETS: Final[dict[tuple[str, str, str | None, int | None], tuple[float, bool]]] = {
    (SAFESHARE, FLOOR, "seal+open", 1): (1.3, True),
    (SAFESHARE, PEERS, None, None): (1.0, False),
}


@dataclass(frozen=True, slots=True)
class Settings:
    rounds: int
    batch_seconds: float
    warmup: int
    min_iterations: int
    max_iterations: int
    recipients: tuple[int, ...]
    quick: bool


FULL: Final = Settings(
    rounds=25,
    batch_seconds=0.04,
    warmup=20,
    min_iterations=5,
    max_iterations=5000,
    recipients=(1, 10),
    quick=False,
)
QUICK: Final = Settings(
    rounds=3,
    batch_seconds=0.003,
    warmup=2,
    min_iterations=2,
    max_iterations=20,
    recipients=(1, 10),
    quick=True,
)


# -- measuring ---------------------------------------------------------------


class Sample(NamedTuple):
    """Seconds per operation in one batch: wall clock, and CPU time of this process."""

    wall: float
    cpu: float


def _timed(fn: Callable[[], None]) -> tuple[float, float]:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        cpu = time.process_time()
        wall = time.perf_counter()
        fn()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        return wall, cpu
    finally:
        if enabled:
            gc.enable()


def measure(impl: Implementation, operation: str, iterations: int) -> Sample:
    """Seconds per *operation* over one batch of *iterations*."""
    if operation == "seal":

        def batch() -> None:
            for _ in range(iterations):
                impl.seal()

    elif operation == "open":
        pool = [impl.seal() for _ in range(iterations)]  # untimed: fresh envelopes

        def batch() -> None:
            for envelope in pool:
                impl.open(envelope)

    elif operation == "seal+open":

        def batch() -> None:
            for _ in range(iterations):
                impl.open(impl.seal())

    else:
        raise ValueError(f"unknown operation {operation!r}")
    wall, cpu = _timed(batch)
    return Sample(wall / iterations, cpu / iterations)


def _summary(samples: list[float], *, rate: bool = True) -> dict[str, Any]:
    median = statistics.median(samples)
    if len(samples) >= 2:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    else:
        q1 = q3 = median
    out: dict[str, Any] = {
        "median_s": median,
        "min_s": min(samples),
        "max_s": max(samples),
        "q1_s": q1,
        "q3_s": q3,
        "rel_iqr": (q3 - q1) / median if median else 0.0,
    }
    if rate:
        out["ops_per_s"] = 1.0 / median if median else math.inf
    out["samples_s"] = samples
    return out


def _check_roundtrip(impl: Implementation, workload: Workload) -> int:
    """Seal and open once; the record must come back. Returns the envelope size."""
    envelope = impl.seal()
    opened = impl.open(envelope)
    if isinstance(opened, OpenedEnvelope):
        record = opened.verified_claims()["record"]
    elif isinstance(opened, dict):
        record = opened["record"]
    else:
        record = workload.record  # the floor carries no record
    if record != workload.record:
        raise AssertionError(f"{impl.name}: the opened record differs from the sealed one")
    return len(envelope)


def _log(stream: TextIO, text: str) -> None:
    print(text, file=stream, flush=True)


def run_benchmarks(
    settings: Settings, *, disk_dir: str | None = None, log: TextIO = sys.stderr
) -> dict[str, Any]:
    """Run everything; return the JSON-able report."""
    workload = Workload()
    shm = tmpfs_dir()
    fast_dir = shm or tempfile.gettempdir()
    slow_dir = disk_dir or _disk_dir()
    impls: list[Implementation] = []
    try:
        impls.append(
            SafeshareImpl(
                workload,
                name=SAFESHARE,
                description="seal() / open_envelope() (own purpose, recorder=None) with the "
                "replay store on "
                + ("tmpfs (/dev/shm)" if shm else "the temp dir (no /dev/shm here)"),
                replay_dir=fast_dir,
            )
        )
        impls.append(
            SafeshareImpl(
                workload,
                name=SAFESHARE_DISK,
                description="as safeshare, replay store on a real disk: one fsync per open",
                replay_dir=slow_dir,
            )
        )
        impls.append(
            FloorImpl(
                workload,
                name=FLOOR,
                description="the same Ed25519/X25519/ConcatKDF/AES-KW/AES-GCM calls, "
                "through cryptography directly",
                digests=False,
            )
        )
        impls.append(
            FloorImpl(
                workload,
                name=FLOOR_SHA,
                description="floor plus the SD-JWT SHA-256 digests "
                "(seal: 8 disclosures + 2 decoys; open: 8 disclosures + replay digest)",
                digests=True,
            )
        )
        impls.append(
            PeersImpl(
                workload,
                name=PEERS,
                description="sd-jwt reference SDJWTIssuer/SDJWTVerifier (Ed25519) "
                "+ joserfc JWE general JSON (ECDH-ES+A256KW X25519, A256GCM)",
            )
        )
        return _run(settings, workload, impls, log)
    finally:
        for impl in impls:
            impl.close()


def _run(
    settings: Settings, workload: Workload, impls: list[Implementation], log: TextIO
) -> dict[str, Any]:
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    samples: dict[tuple[str, int, str], list[Sample]] = {}
    envelope_sizes: dict[str, dict[str, int]] = {impl.name: {} for impl in impls}
    for n in settings.recipients:
        _log(log, f"# {n} recipient(s): setting up")
        iterations: dict[tuple[str, str], int] = {}
        for impl in impls:
            impl.setup(n)
            envelope_sizes[impl.name][str(n)] = _check_roundtrip(impl, workload)
            for op in OPERATIONS:
                per_op = measure(impl, op, settings.warmup).wall
                wanted = math.ceil(settings.batch_seconds / max(per_op, 1e-9))
                iterations[impl.name, op] = max(
                    settings.min_iterations, min(settings.max_iterations, wanted)
                )
        for r in range(settings.rounds):
            order = impls[r % len(impls) :] + impls[: r % len(impls)]
            for op in OPERATIONS:
                for impl in order:
                    sample = measure(impl, op, iterations[impl.name, op])
                    samples.setdefault((impl.name, n, op), []).append(sample)
            _log(log, f"#   round {r + 1}/{settings.rounds} done")
        for impl in impls:
            for op in OPERATIONS:
                results.append(
                    {
                        "implementation": impl.name,
                        "recipients": n,
                        "operation": op,
                        "iterations": iterations[impl.name, op],
                        "rounds": settings.rounds,
                        **_summary([s.wall for s in samples[impl.name, n, op]]),
                        "cpu": _summary([s.cpu for s in samples[impl.name, n, op]], rate=False),
                    }
                )
    return {
        "benchmark": "safeshare envelope: seal / open / seal+open",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": time.perf_counter() - started,
        "environment": _environment(),
        "settings": asdict(settings),
        "workload": {
            "record_json_bytes": workload.record_json_bytes(),
            "record_fields": len(workload.record),
            "selectively_disclosable_fields": len(workload.record),
            "sender": workload.sender.agency,
            "recipients": {str(n): list(workload.recipients(n)) for n in settings.recipients},
            "opener": {str(n): workload.opener(n).agency for n in settings.recipients},
            "envelope_bytes": envelope_sizes,
        },
        "implementations": [
            {"name": impl.name, "description": impl.description, **impl.info()} for impl in impls
        ],
        "operations": list(OPERATIONS),
        "results": results,
        "ratios": _ratios(settings, results, samples),
    }


def _target(num: str, den: str, op: str, n: int) -> tuple[float, bool] | None:
    for (t_num, t_den, t_op, t_n), bound in TARGETS.items():
        if (t_num, t_den) == (num, den) and t_op in (None, op) and t_n in (None, n):
            return bound
    return None


def _ratios(
    settings: Settings,
    results: list[dict[str, Any]],
    samples: dict[tuple[str, int, str], list[Sample]],
) -> list[dict[str, Any]]:
    by_key = {(r["implementation"], r["recipients"], r["operation"]): r for r in results}
    medians = {k: r["median_s"] for k, r in by_key.items()}
    minima = {k: r["min_s"] for k, r in by_key.items()}
    cpu_medians = {k: r["cpu"]["median_s"] for k, r in by_key.items()}
    out: list[dict[str, Any]] = []
    for num, den in RATIOS:
        for n in settings.recipients:
            for op in OPERATIONS:
                if (num, n, op) not in medians or (den, n, op) not in medians:
                    continue
                value = medians[num, n, op] / medians[den, n, op]
                pairs = list(zip(samples[num, n, op], samples[den, n, op], strict=True))
                paired = statistics.median(a.wall / b.wall for a, b in pairs)
                cpu_den = cpu_medians[den, n, op]
                cpu_value = cpu_medians[num, n, op] / cpu_den if cpu_den > 0 else math.nan
                target = _target(num, den, op, n)
                met: bool | None = None
                target_text: str | None = None
                if target is not None:
                    bound, inclusive = target
                    met = value <= bound if inclusive else value < bound
                    target_text = f"{'<=' if inclusive else '<'} {bound:g}"
                out.append(
                    {
                        "name": f"{num} / {den}",
                        "numerator": num,
                        "denominator": den,
                        "recipients": n,
                        "operation": op,
                        "value": value,
                        "paired": paired,
                        "of_minima": minima[num, n, op] / minima[den, n, op],
                        "cpu": cpu_value,
                        "target": target_text,
                        "met": met,
                    }
                )
    return out


def _environment() -> dict[str, Any]:
    from cryptography.hazmat.backends.openssl.backend import backend

    versions: dict[str, str | None] = {}
    for dist in (
        "safeshare",
        "cryptography",
        "msgspec",
        "pydantic",
        "sd-jwt",
        "joserfc",
        "jwcrypto",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "openssl": backend.openssl_version_text(),
        "sqlite": sqlite3.sqlite_version,
        "versions": versions,
        "git": _git_state(),
    }


def _git_state() -> dict[str, Any] | None:
    """The commit the numbers belong to, and whether the tree had changes (read-only git)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        # --no-optional-locks: never refresh (write) the index; this is read-only.
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {
        "commit": commit.stdout.strip(),
        "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None,
    }


def _disk_dir() -> str:
    """A writable directory on a real (non-RAM) file system, for the durable replay line."""
    var_tmp = "/var/tmp"  # noqa: S108 - only a parent: the store goes in a fresh mkdtemp()
    candidates = [tempfile.gettempdir(), var_tmp, os.getcwd(), os.path.expanduser("~")]
    for path in candidates:
        if (
            os.path.isdir(path)
            and os.access(path, os.W_OK)
            and filesystem_type(path) not in ("tmpfs", "ramfs")
        ):
            return path
    return candidates[0]


# -- output ------------------------------------------------------------------


def _fmt_time(seconds: float) -> str:
    micro = seconds * 1e6
    if micro >= 10_000:
        return f"{micro / 1000:,.1f} ms"
    return f"{micro:,.1f} us"


def format_table(report: dict[str, Any]) -> str:
    """The human-readable table of medians, spreads and ratios."""
    lines: list[str] = []
    env = report["environment"]
    settings = report["settings"]
    lines.append(
        f"safeshare envelope benchmark - Python {env['python']}, {env['openssl']}, "
        f"{env['cpu_count']} CPUs, {settings['rounds']} rounds"
        + (" (QUICK: not for quoting)" if settings["quick"] else "")
    )
    workload = report["workload"]
    lines.append(
        f"record: {workload['record_json_bytes']} bytes of JSON, "
        f"{workload['selectively_disclosable_fields']} selectively disclosable fields"
    )
    lines.append("times: median per operation [interquartile range as % of the median]")
    by_key = {(r["implementation"], r["recipients"], r["operation"]): r for r in report["results"]}
    names = [impl["name"] for impl in report["implementations"]]
    width = max(len(n) for n in names) + 2
    col = 22
    for n in settings["recipients"]:
        lines.append("")
        header = f"{n} recipient(s)".ljust(width) + "".join(op.rjust(col) for op in OPERATIONS)
        lines.append(header + "   envelope")
        lines.append("-" * (len(header) + 11))
        for name in names:
            cells = []
            for op in OPERATIONS:
                r = by_key[name, n, op]
                cells.append(f"{_fmt_time(r['median_s'])} [{100 * r['rel_iqr']:.0f}%]".rjust(col))
            size = workload["envelope_bytes"][name][str(n)]
            lines.append(name.ljust(width) + "".join(cells) + f"   {size:>6} B")
    lines.append("")
    lines.append(
        "ratios: of wall-clock medians [median of per-round ratios] of CPU-time medians; "
        "targets from DESIGN.md 4 apply to the first"
    )
    rwidth = max(len(r["name"]) for r in report["ratios"]) + 2
    header = "ratio".ljust(rwidth) + "n".rjust(3) + "".join(op.rjust(20) for op in OPERATIONS)
    lines.append(header + "   target")
    lines.append("-" * (len(header) + 30))
    ratio_rows: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in report["ratios"]:
        ratio_rows.setdefault((r["name"], r["recipients"]), {})[r["operation"]] = r
    for (name, n), ops in ratio_rows.items():
        cells = []
        verdicts = []
        for op in OPERATIONS:
            r = ops.get(op)
            if r is None:
                cells.append("-".rjust(20))
                continue
            cells.append(f"{r['value']:.2f} [{r['paired']:.2f}] {r['cpu']:.2f}".rjust(20))
            if r["target"] is not None:
                verdicts.append(f"{op} {r['target']}: {'met' if r['met'] else 'MISSED'}")
        lines.append(
            name.ljust(rwidth) + str(n).rjust(3) + "".join(cells) + "   " + "; ".join(verdicts)
        )
    return "\n".join(lines)


def _parse_recipients(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of integers, e.g. 1,10") from None
    if not values or any(not 1 <= v <= len(RECIPIENTS) for v in values):
        raise argparse.ArgumentTypeError(f"each recipient count must be 1 to {len(RECIPIENTS)}")
    return tuple(dict.fromkeys(values))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark safeshare's envelope against the primitive floor and peers.",
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds; for smoke tests")
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="write the JSON report to FILE ('-': stdout, table to stderr)",
    )
    parser.add_argument(
        "--recipients",
        type=_parse_recipients,
        default=None,
        help="comma-separated recipient counts (default 1,10)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="override the number of rounds")
    parser.add_argument(
        "--batch-ms", type=float, default=None, help="override the target batch time (ms)"
    )
    parser.add_argument(
        "--disk-dir",
        default=None,
        help="directory on a real disk for the durable replay store (default: auto)",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {}
    if args.recipients is not None:
        overrides["recipients"] = args.recipients
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be at least 1")
        overrides["rounds"] = args.rounds
    if args.batch_ms is not None:
        if args.batch_ms <= 0:
            parser.error("--batch-ms must be positive")
        overrides["batch_seconds"] = args.batch_ms / 1000
    if overrides:
        settings = Settings(**{**asdict(settings), **overrides})

    report = run_benchmarks(settings, disk_dir=args.disk_dir)
    table = format_table(report)
    text = json.dumps(report, indent=2) + "\n"
    if args.json == "-":
        print(table, file=sys.stderr)
        sys.stdout.write(text)
    else:
        print(table)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
