"""Shared plumbing of the ``safeshare`` command line.

What every subcommand needs lives here: the parser class (no abbreviated
options), and three concerns:

* **error handling**: :func:`run_handler` turns every expected failure into
  one ``safeshare: error: ...`` line on stderr (and a ``hint:`` line when the
  error carries one) with exit code 1; never a traceback;
* **output**: human text and ``--json`` output (sorted keys, 2-space indent),
  and the checks that stop a command from overwriting files by accident;
* **input**: a file named on the command line, or stdin for ``-``
  (:func:`read_source`), and the time a command runs at (:func:`resolve_now`);
* **passphrases** for key files: ``--passphrase-file FILE`` or the
  ``SAFESHARE_PASSPHRASE`` environment variable, else a prompt on a terminal.
  A passphrase is never accepted as a plain command-line argument (other
  users can read those in the process list) and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ValidationError

from safeshare._internal import fs
from safeshare.errors import OversizedInputError, SafeShareError, StorageError, UsageError

__all__ = [
    "PASSPHRASE_ENV",
    "PROG",
    "STDIN",
    "CliParser",
    "Handler",
    "add_passphrase_option",
    "build_model",
    "ensure_directory",
    "json_text",
    "print_json",
    "printable",
    "read_passphrase",
    "read_source",
    "read_stdin",
    "refuse_overwrite",
    "report_error",
    "resolve_now",
    "run_handler",
    "say",
    "sqlite_path",
    "stdin_is_terminal",
    "validation_message",
]

PROG: Final = "safeshare"
#: Environment variable that may hold the key file passphrase.
PASSPHRASE_ENV: Final = "SAFESHARE_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
_MAX_PASSPHRASE_FILE_BYTES: Final = 64 * 1024
#: The file name that means "read stdin".
STDIN: Final = "-"
_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

#: A subcommand handler: receives the parsed arguments, returns the exit code.
Handler = Callable[[argparse.Namespace], int]

_Model = TypeVar("_Model", bound=BaseModel)


# -- parsing ----------------------------------------------------------------------


class CliParser(argparse.ArgumentParser):
    """An argument parser that does not accept abbreviated option names.

    With abbreviations, ``--passphrase SECRET`` would silently mean
    ``--passphrase-file SECRET``; every option must be spelled out.
    Subcommand parsers are created with this class too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


if TYPE_CHECKING:
    #: What ``register(subparsers)`` receives from :func:`safeshare.cli.main.build_parser`.
    Subparsers = argparse._SubParsersAction[CliParser]


# -- error handling -------------------------------------------------------------


def printable(text: str) -> str:
    """*text* with line breaks and other control characters escaped.

    Messages can quote untrusted input; escaping keeps every report on one
    line and stops terminal control sequences from reaching the screen.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def report_error(message: str, hint: str | None = None) -> None:
    """Write ``safeshare: error: <message>`` (and ``hint: <hint>``) to stderr."""
    text = f"{PROG}: error: {printable(message)}\n"
    if hint:
        text += f"hint: {printable(hint)}\n"
    sys.stderr.write(text)
    sys.stderr.flush()


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Run *handler* and map every expected failure to a message and exit code.

    ``SafeShareError`` -> 1, ``OSError`` (typically writing the output) -> 1,
    ``KeyboardInterrupt`` -> 130. Anything else is a bug and propagates.
    """
    try:
        code = handler(args)
        sys.stdout.flush()  # surface output errors here, not at interpreter exit
    except SafeShareError as exc:
        report_error(exc.message, exc.hint)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            _discard_stdout()
        where = f" ({exc.filename})" if exc.filename else ""
        report_error(f"could not write output{where}: {exc.strerror or exc}")
        return 1
    return code


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (e.g. captured output)
        pass


def build_model(model: type[_Model], data: dict[str, Any], *, what: str) -> _Model:
    """Validate *data* as *model*; a validation failure becomes :class:`UsageError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(validation_message(exc, what)) from None


def validation_message(exc: ValidationError, what: str) -> str:
    """One readable line for a pydantic :class:`ValidationError`."""
    problems = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{loc}: {msg}" if loc else msg)
    more = "" if exc.error_count() <= 5 else f" (and {exc.error_count() - 5} more)"
    return f"{what} is invalid: " + "; ".join(problems) + more


# -- output ---------------------------------------------------------------------


def json_text(value: Any) -> str:
    """JSON for people and scripts: sorted keys, 2-space indent, final newline."""
    return json.dumps(value, sort_keys=True, indent=2) + "\n"


def print_json(value: Any) -> None:
    """Write *value* to stdout as :func:`json_text`."""
    sys.stdout.write(json_text(value))


def say(text: str = "") -> None:
    """Write one line of human-readable output to stdout."""
    sys.stdout.write(text + "\n")


def refuse_overwrite(paths: Iterable[Path], *, force: bool) -> None:
    """Raise :class:`UsageError` if any of *paths* exists and *force* is false.

    Called before anything is written, so a refusal leaves no partial output.
    """
    if force:
        return
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing:
        names = ", ".join(str(p) for p in existing)
        raise UsageError(
            f"{names} already exists" if len(existing) == 1 else f"{names} already exist",
            hint="use --force to replace existing files, or choose another --out directory",
        )


def ensure_directory(path: Path) -> None:
    """Create directory *path* (and parents) if missing; new directories are 0700."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise StorageError(f"{path} exists and is not a directory") from None
    except OSError as exc:
        raise StorageError(f"could not create directory {path}: {exc.strerror or exc}") from None


# -- input ----------------------------------------------------------------------


def resolve_now(value: datetime | None) -> datetime:
    """*value* (a ``--now`` option), else the current time; in whole seconds.

    Tokens and envelopes carry whole seconds (``iat``): keys are checked at the
    time that is signed.
    """
    return (value or datetime.now(UTC)).replace(microsecond=0)


def sqlite_path(location: str) -> str | None:
    """The file an SQLite database location names, or ``None`` for another kind of URL."""
    if not _URL.match(location):
        return location
    parts = urlsplit(location)
    return unquote(parts.path) if parts.scheme.lower() == "sqlite" else None


def stdin_is_terminal() -> bool:
    """Whether stdin is an interactive terminal (false when closed or detached)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):  # closed or detached stdin
        return False


def read_stdin(stdin: IO[Any], *, what: str, max_bytes: int) -> bytes:
    """At most *max_bytes* bytes of *stdin*, the *what* in messages."""
    try:
        buffer = getattr(stdin, "buffer", None)
        if buffer is not None:
            data = bytes(buffer.read(max_bytes + 1))
        else:
            data = stdin.read(max_bytes + 1).encode("utf-8", "surrogatepass")
    except (OSError, ValueError) as exc:
        raise StorageError(f"could not read the {what} from stdin: {exc}") from None
    if len(data) > max_bytes:
        raise OversizedInputError(f"the {what} on stdin is larger than {max_bytes} bytes")
    return data


def read_source(source: str | None, *, what: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of file *source*, or of stdin for ``-``/None; and a name for messages."""
    if source is not None and source != STDIN:
        return fs.read_bytes(source, what=what, max_bytes=max_bytes), repr(source)
    if source is None and stdin_is_terminal():
        raise UsageError(
            f"no {what} given, and stdin is a terminal",
            hint=f"name the {what} file, or pipe it in and write '-'",
        )
    stdin = sys.stdin
    if stdin is None:
        raise UsageError(f"no {what} given, and there is no stdin to read it from")
    return read_stdin(stdin, what=what, max_bytes=max_bytes), "on stdin"


# -- passphrases ----------------------------------------------------------------


def add_passphrase_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--passphrase-file FILE`` to a subcommand that reads or writes key files."""
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        type=Path,
        help=(
            "read the key file passphrase from the first line of FILE; default: the "
            f"{PASSPHRASE_ENV} environment variable, else a prompt if stdin is a terminal"
        ),
    )


def read_passphrase(passphrase_file: Path | None, *, purpose: str, new: bool) -> str:
    """The passphrase for a key file, from the first source that has one.

    1. ``--passphrase-file FILE``: its first line, without the line break;
    2. the ``SAFESHARE_PASSPHRASE`` environment variable;
    3. a prompt on the terminal (asked twice when *new* is true).

    *purpose* names the key file in prompts and messages.
    """
    if passphrase_file is not None:
        return _passphrase_from_file(passphrase_file)
    env = os.environ.get(PASSPHRASE_ENV)
    if env is not None:
        if not env:
            raise UsageError(
                f"the environment variable {PASSPHRASE_ENV} is set but empty",
                hint=f"set it to the passphrase of the {purpose}, or unset it",
            )
        return env
    if not stdin_is_terminal():
        raise UsageError(
            f"no passphrase for the {purpose}, and stdin is not a terminal to ask for one",
            hint=f"use --passphrase-file FILE or set the environment variable {PASSPHRASE_ENV}",
        )
    return _prompt(purpose, new=new)


def _passphrase_from_file(path: Path) -> str:
    data = fs.read_bytes(path, what="passphrase file", max_bytes=_MAX_PASSPHRASE_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"passphrase file {str(path)!r} is not UTF-8 text") from None
    line = text.split("\n", 1)[0].removesuffix("\r")
    if not line:
        raise UsageError(f"the first line of passphrase file {str(path)!r} is empty")
    return line


def _prompt(purpose: str, *, new: bool) -> str:
    try:
        first = getpass.getpass(f"Passphrase for the {purpose}: ")
        if not first:
            raise UsageError("the passphrase is empty")
        if new and getpass.getpass("Repeat the passphrase: ") != first:
            raise UsageError("the two passphrases do not match; nothing was written")
    except EOFError:
        raise UsageError("no passphrase was entered") from None
    return first
