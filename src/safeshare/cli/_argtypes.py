"""Argument types for argparse: a bad value is a usage error (exit code 2).

Each converter raises :class:`argparse.ArgumentTypeError` with a message that
says what was expected, so argparse prints it next to the option's name.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Final

from pydantic import TypeAdapter, ValidationError

from safeshare.registry import AgencyId

__all__ = ["agency_id", "int_between", "one_of", "rfc3339_time"]

# RFC 3339 section 5.6 date-time: a full date, a full time and an offset.
_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)

# The registry's own constraint, so the CLI and the registry never disagree.
_AGENCY_ID: Final = TypeAdapter(AgencyId)


def rfc3339_time(text: str) -> datetime:
    """Parse an RFC 3339 time with a time zone (``2026-11-29T05:00:00Z``), as UTC."""
    if _RFC3339.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} is not an RFC 3339 time with a time zone "
            "(for example 2026-11-29T05:00:00Z or 2026-11-29T06:00:00+01:00)"
        )
    try:
        value = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid time: {exc}") from None
    return value.astimezone(UTC)


def agency_id(text: str) -> str:
    """Check an agency id against the registry's pattern (``XA-NPOL``)."""
    try:
        return _AGENCY_ID.validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} is not a valid agency id: use an ISO 3166-1 alpha-2 country "
            "code and one to four upper-case parts of letters and digits, e.g. XA-NPOL"
        ) from None


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A converter for a whole number from *low* to *high* (inclusive)."""

    def convert(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:32]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    convert.__name__ = f"int_between_{low}_{high}"
    return convert


def one_of(names: Collection[str], what: str) -> Callable[[str], str]:
    """A converter that accepts one of *names*; *what* names the kind (``a message type``)."""
    listed = ", ".join(sorted(names))

    def convert(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"{text[:64]!r} is not {what}; use one of: {listed}")
        return text

    convert.__name__ = "one_of"
    return convert
