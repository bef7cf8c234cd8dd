"""``safeshare conformance run``: the conformance suite (specs/safeshare-v1.md section 14)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from safeshare.conformance.runner import default_vectors_dir, run

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    """Add the ``conformance`` command group."""
    parser = subparsers.add_parser(
        "conformance",
        help="run the conformance suite against an implementation",
        description="Run the test vectors of specs/vectors/ through an adapter "
        "(protocol: specs/safeshare-v1.md section 14).",
    )
    group = parser.add_subparsers(dest="conformance_command", metavar="COMMAND", required=True)
    run_parser = group.add_parser(
        "run",
        help="run every vector; exit 0 only if all pass",
        description="Run every vector through the adapter COMMAND (default: the built-in one).",
    )
    run_parser.add_argument("--impl", metavar="COMMAND", help="the adapter's command line")
    run_parser.add_argument(
        "--vectors", metavar="DIR", type=Path, help="the vectors directory (default: specs/vectors)"
    )
    run_parser.add_argument("--timeout", type=float, default=30.0, help="seconds per answer")
    run_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    run_parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    directory: Path = args.vectors if args.vectors is not None else default_vectors_dir()
    if not directory.is_dir():
        sys.stderr.write(f"safeshare: no vectors directory {directory}; pass --vectors DIR\n")
        return 1
    report = run(args.impl, directory, timeout=args.timeout)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(report.text() + "\n")
    return 0 if report.ok else 1
