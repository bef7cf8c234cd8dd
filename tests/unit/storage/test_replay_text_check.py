"""replay._check_text (a regex and an isascii() shortcut) refuses exactly what the
character-by-character loop it replaced refused, with the same error."""

from __future__ import annotations

import sys

import pytest

from safeshare.errors import MalformedInputError, UsageError
from safeshare.storage import replay


def _old_check_text(value: str, name: str, error: type[MalformedInputError | UsageError]) -> None:
    """The previous implementation, kept here as the reference."""
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise error(f"{name} contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{name} is not valid Unicode text (lone surrogate)") from None


def _verdict(check: object, value: str, error: type[MalformedInputError | UsageError]) -> str:
    try:
        check(value, "jti", error)  # type: ignore[operator]
    except (MalformedInputError, UsageError) as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return "ok"


@pytest.mark.parametrize("error", [MalformedInputError, UsageError])
def test_every_code_point_gets_the_old_verdict(
    error: type[MalformedInputError | UsageError],
) -> None:
    for code in range(sys.maxunicode + 1):
        if 0x80 <= code < 0xD800 and code % 97:  # sample the long harmless stretch
            continue
        for value in (chr(code), f"ab{chr(code)}cd", f"\u00e9{chr(code)}"):
            assert _verdict(replay._check_text, value, error) == _verdict(
                _old_check_text, value, error
            ), (code, value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "XA-NPOL",
        "a" * 256,
        "\x00",
        "x\x1fy",
        "\x7f",
        "\x80\x9f",  # C1 controls were never refused
        "\ud800",
        "\u00e9\udfff",
        "\udfff\x00",  # both faults: control characters are named first
        "\U0001f600",
        "\u2028",
    ],
)
def test_examples_get_the_old_verdict(value: str) -> None:
    for error in (MalformedInputError, UsageError):
        assert _verdict(replay._check_text, value, error) == _verdict(_old_check_text, value, error)
