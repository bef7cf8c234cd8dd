"""Fixtures for the CLI tests: run ``main()`` in-process and inspect the result.

Test modules import the types below only under ``TYPE_CHECKING``; at run time
they receive the objects through the fixtures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from safeshare.cli.main import main

PASSPHRASE = "correct horse battery staple"


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured output of one ``main()`` call."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout parsed as JSON (the command must have succeeded)."""
        assert self.code == 0, self.err
        return json.loads(self.out)

    def error(self) -> str:
        """Check for an expected failure: exit 1, one error line, maybe a hint.

        Returns the message of the ``safeshare: error:`` line.
        """
        assert self.code == 1, (self.code, self.out, self.err)
        assert "Traceback" not in self.err
        lines = self.err.splitlines()
        errors = [line for line in lines if line.startswith("safeshare: error: ")]
        assert len(errors) == 1, self.err
        assert all(line.startswith(("safeshare: error: ", "hint: ")) for line in lines), self.err
        return errors[0].removeprefix("safeshare: error: ")

    def usage_error(self) -> str:
        """Check for an argparse usage error (exit 2); returns its last stderr line."""
        assert self.code == 2, (self.code, self.out, self.err)
        assert "Traceback" not in self.err
        assert self.err.startswith("usage: safeshare"), self.err
        return self.err.strip().splitlines()[-1]


class Cli(Protocol):
    """Runs ``safeshare`` in-process with the given arguments."""

    def __call__(self, *argv: str | Path) -> CliResult: ...


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """A function that runs ``main([...])`` and returns a :class:`CliResult`."""

    def run(*argv: str | Path) -> CliResult:
        capsys.readouterr()  # drop anything printed before this call
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    """Sets SAFESHARE_PASSPHRASE for the test and returns the passphrase."""
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE
