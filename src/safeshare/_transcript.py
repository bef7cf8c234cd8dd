"""The step-by-step transcript the reference scenarios in ``examples/`` print.

Private: it exists so the scenario scripts share one way of saying what
each step did and of collecting what did not behave as expected.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar, overload

from safeshare.errors import PolicyError, SafeShareError, UsageError

_T = TypeVar("_T")
_E = TypeVar("_E", bound=SafeShareError)


class Transcript:
    """Prints the steps and collects what did not behave as expected."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.number = 0

    def say(self, text: str = "") -> None:
        print(text)

    def step(self, title: str) -> None:
        self.number += 1
        self.say()
        self.say(f"[{self.number}] {title}")

    def check(self, condition: bool, text: str) -> None:
        if condition:
            self.say(f"  ok: {text}")
        else:
            self.failures.append(text)
            self.say(f"  MISBEHAVED: expected {text}")

    def accept(self, what: str, action: Callable[[], _T]) -> _T | None:
        try:
            result = action()
        except SafeShareError as exc:
            self.failures.append(what)
            self.say(f"  MISBEHAVED: {what} was refused: {type(exc).__name__}: {exc.message}")
            return None
        self.say(f"  accepted: {what}")
        return result

    @overload
    def refuse(self, what: str, action: Callable[[], object]) -> PolicyError | None: ...

    @overload
    def refuse(self, what: str, action: Callable[[], object], *, error: type[_E]) -> _E | None: ...

    def refuse(
        self,
        what: str,
        action: Callable[[], object],
        *,
        error: type[SafeShareError] = PolicyError,
    ) -> SafeShareError | None:
        """Run *action*, which must be refused with *error* (default: PolicyError).

        Returns the exception when *action* raised *error* (or a subclass);
        records a failure and returns ``None`` when it raised another
        :class:`~safeshare.errors.SafeShareError` or nothing.
        """
        if not (isinstance(error, type) and issubclass(error, SafeShareError)):
            raise UsageError("Transcript.refuse(error=...) takes a SafeShareError subclass")
        self.say(f"  trying: {what}")
        try:
            action()
        except error as exc:
            self.say(f"  refused as expected: {type(exc).__name__}: {exc.message}")
            return exc
        except SafeShareError as exc:
            self.failures.append(what)
            self.say(
                f"  MISBEHAVED: expected {error.__name__}, got {type(exc).__name__}: {exc.message}"
            )
            return None
        self.failures.append(what)
        self.say(f"  MISBEHAVED: {what} was accepted; it should have been refused")
        return None


def run_scenario(run: Callable[[Path, datetime], list[str]], *, name: str) -> int:
    """Run a scenario's *run* in a fresh temporary directory at the current time.

    Prints the verdict after the transcript and returns the exit code: 0 if
    every step behaved as expected, 1 otherwise (listing the steps that did
    not). *name* only names the temporary directory.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix=f"safeshare-{name}-") as tmp:
        failures = run(Path(tmp), now)
    print()
    if failures:
        print(f"Scenario FAILED: {len(failures)} step(s) did not behave as expected:")
        for text in failures:
            print(f"  - {text}")
        return 1
    print("Scenario complete: every step behaved as expected.")
    return 0
