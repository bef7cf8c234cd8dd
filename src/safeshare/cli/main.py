"""Entry point of the ``safeshare`` command: argument parsing and dispatch.

Each subcommand lives in its own module, which exposes
``register(subparsers)``: it adds its parser(s) and sets the handler with
``set_defaults(handler=...)``. Adding a subcommand means writing such a
module and listing its ``register`` in :data:`_REGISTRARS`.

Exit codes: 0 success, 1 an expected failure (reported in one line on stderr),
2 a usage error (reported by argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from safeshare import __version__
from safeshare.cli import (
    audit_cmd,
    conformance_cmd,
    consent_cmd,
    demo,
    envelope_cmd,
    keygen,
    minimize_cmd,
    registry_cmd,
    request_cmd,
    retention_cmd,
    subjects_cmd,
)
from safeshare.cli._common import PROG, CliParser, Handler, run_handler

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = ["build_parser", "main"]

_REGISTRARS: Final[tuple[Callable[[Subparsers], None], ...]] = (
    keygen.register,
    registry_cmd.register,
    envelope_cmd.register,
    request_cmd.register,
    minimize_cmd.register,
    audit_cmd.register,
    consent_cmd.register,
    retention_cmd.register,
    subjects_cmd.register,
    demo.register,
    conformance_cmd.register,
)


def build_parser() -> argparse.ArgumentParser:
    """The complete argument parser with every subcommand registered."""
    parser = CliParser(
        prog=PROG,
        description=(
            "Secure cross-agency information sharing: agency keys, the signed trust "
            "registry, and a demonstration of the safeguards."
        ),
        epilog=(
            "Key file passphrases come from --passphrase-file FILE or the "
            "SAFESHARE_PASSPHRASE environment variable, or are prompted for on a terminal."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _REGISTRARS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``safeshare`` command with *argv* (default: ``sys.argv[1:]``).

    Returns the exit code instead of exiting, so it can be called in-process.
    """
    _tolerate_unencodable_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (code 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    handler: Handler = args.handler
    return run_handler(handler, args)


def _tolerate_unencodable_output() -> None:
    """Escape characters the terminal's encoding lacks instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    raise SystemExit(main())
