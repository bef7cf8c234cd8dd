"""Where does safeshare's own time go? cProfile of ``seal`` and ``open_envelope``.

Usage::

    python -m benchmarks.profile_envelope [--iterations 2000] [--recipients 1] [--top 25]

Profiles the same workload as :mod:`benchmarks.run` (replay store on tmpfs)
and prints, per operation: the profiled time per call, the share spent in
cryptographic primitives and randomness (``cryptography``, ``hashlib``,
``os.urandom``), the time by area (safeshare modules, json, msgspec, pydantic,
sqlite3, ...), and the top functions by own time (``tottime``) *excluding* the
primitives. Times are per operation and include the profiler's overhead
(which inflates Python-heavy code more than C calls): read them as shares.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from collections.abc import Callable, Sequence
from typing import Any, Final

from benchmarks._common import Workload, tmpfs_dir
from benchmarks.bench_safeshare import SafeshareImpl

_Key = tuple[str, int, str]

#: Substrings of a profile entry's file or name that mark a primitive: the
#: ``cryptography`` package (its Rust bindings show up as ``x25519.*``,
#: ``ed25519.*``, ``keywrap.*`` built-ins), hashlib and the OS CSPRNG.
_CRYPTO_MARKERS: Final = (
    "cryptography",
    "x25519.",
    "ed25519.",
    "keywrap.",
    "_hashlib",
    "hashlib",
    "urandom",
)


def is_crypto(key: _Key) -> bool:
    """Whether a profile entry is a cryptographic primitive (or the CSPRNG)."""
    filename, _, name = key
    return any(m in filename or m in name for m in _CRYPTO_MARKERS)


def area(key: _Key) -> str:
    """A coarse label for where a function lives."""
    filename, _, name = key
    if is_crypto(key):
        return "crypto primitives + urandom"
    if "/safeshare/" in filename:
        return "safeshare." + filename.split("/safeshare/", 1)[1].removesuffix(".py").replace(
            "/", "."
        )
    if "msgspec" in name or "msgspec" in filename:
        return "msgspec"
    if "pydantic" in filename or "pydantic" in name:
        return "pydantic"
    if "sqlite3" in name or "sqlite3" in filename:
        return "sqlite3"
    for module in ("json", "re", "base64", "datetime", "contextlib", "threading", "dataclasses"):
        if f"/{module}/" in filename or filename.endswith(f"/{module}.py") or f"'{module}" in name:
            return module
    if filename == "~":
        return "builtins"
    return "other: " + filename.rsplit("/", 1)[-1]


def _short(key: _Key) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}({name})"


def profile(fn: Callable[[], None]) -> dict[_Key, tuple[int, int, float, float]]:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats: dict[_Key, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    return {k: (v[0], v[1], v[2], v[3]) for k, v in stats.items()}


def report(title: str, stats: dict[_Key, tuple[int, int, float, float]], n: int, top: int) -> str:
    total = sum(v[2] for v in stats.values())
    crypto = sum(v[2] for k, v in stats.items() if is_crypto(k))
    lines = [
        f"== {title}: {1e6 * total / n:.1f} us/op profiled; "
        f"primitives {1e6 * crypto / n:.1f} us/op ({100 * crypto / total:.0f}%), "
        f"everything else {1e6 * (total - crypto) / n:.1f} us/op ({100 * (total - crypto) / total:.0f}%)",
        "",
        "-- own time by area (us/op, % of total)",
    ]
    areas: dict[str, float] = {}
    for key, v in stats.items():
        areas[area(key)] = areas.get(area(key), 0.0) + v[2]
    for name, t in sorted(areas.items(), key=lambda kv: -kv[1]):
        if t / total >= 0.005:
            lines.append(f"{1e6 * t / n:9.1f}  {100 * t / total:5.1f}%  {name}")
    lines.append("")
    lines.append(f"-- top {top} functions by own time, primitives excluded")
    lines.append(f"{'tottime':>9} {'cumtime':>9} {'calls':>7}  (per op; us)  function")
    rest = sorted(((k, v) for k, v in stats.items() if not is_crypto(k)), key=lambda kv: -kv[1][2])
    for key, (_, ncalls, tt, ct) in rest[:top]:
        lines.append(f"{1e6 * tt / n:9.2f} {1e6 * ct / n:9.2f} {ncalls / n:7.1f}  {_short(key)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_envelope")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--recipients", type=int, default=1)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    n = max(1, args.iterations)

    workload = Workload()
    impl = SafeshareImpl(workload, name="safeshare", description="", replay_dir=tmpfs_dir() or ".")
    try:
        impl.setup(args.recipients)
        for _ in range(50):  # warm up: imports, caches, the SQLite page cache
            impl.open(impl.seal())

        def seal_all() -> None:
            for _ in range(n):
                impl.seal()

        pool = [impl.seal() for _ in range(n)]

        def open_all() -> None:
            for envelope in pool:
                impl.open(envelope)

        print(report(f"seal, {args.recipients} recipient(s)", profile(seal_all), n, args.top))
        print()
        print(report(f"open, {args.recipients} recipient(s)", profile(open_all), n, args.top))
    finally:
        impl.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
