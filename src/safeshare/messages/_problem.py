"""Problems: what is missing or wrong in a message, in words a caseworker understands."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

__all__ = ["Problem", "format_problems", "problems_from_validation_error"]

#: Rule cited for problems that come from the shape of the message itself.
SCHEMA_RULE: Final = "safeshare message format (specs/safeshare-v1.md section 11)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a message.

    ``field`` is the path of the member concerned (``summary_of_facts``,
    ``persons_concerned[0].name``; empty for the message as a whole),
    ``message`` says what is missing or wrong and why it matters, ``rule``
    names where the rule comes from (a treaty article or a safeshare rule).
    """

    field: str
    message: str
    rule: str

    def __str__(self) -> str:
        where = self.field or "(message)"
        return f"{where}: {self.message} [{self.rule}]"

    def to_json(self) -> dict[str, str]:
        """The problem as a JSON object (for machine-readable CLI output)."""
        return {"field": self.field, "message": self.message, "rule": self.rule}


def format_problems(problems: Sequence[Problem], *, title: str = "The message") -> str:
    """A numbered, printable list: ``"<title> has 2 problems:\\n  1. ..."``."""
    if not problems:
        return f"{title} has no problems."
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{title} has {len(problems)} {noun}:"]
    lines.extend(f"  {i}. {p}" for i, p in enumerate(problems, start=1))
    return "\n".join(lines)


def field_path(loc: Iterable[str | int]) -> str:
    """``("persons_concerned", 0, "name")`` -> ``"persons_concerned[0].name"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def label(loc: Sequence[str | int]) -> str:
    """``("persons_concerned", 0, "name")`` -> ``"Persons concerned, item 1, name"``."""
    parts = [f"item {p + 1}" if isinstance(p, int) else p.replace("_", " ") for p in loc]
    text = ", ".join(parts) if parts else "The message"
    return text[:1].upper() + text[1:]


_PATTERN_HINTS: Final[dict[str, str]] = {
    r"^[a-z][a-z0-9_.-]{0,63}$": (
        "use a code of lower-case letters, digits, '_', '.' and '-', such as criminal_investigation"
    ),
    r"^[A-Za-z0-9][A-Za-z0-9_.:()-]{0,127}$": "use a legal-basis code such as UNTOC.Art18",
    r"^[A-Za-z0-9_-]{22}$": "use the 22-character jti of the envelope",
    r"^[0-9a-f]{64}$": "use the 64-character SHA-256 digest (lower-case hex) of the envelope",
    r"^[A-Z]{2}$": "use an ISO 3166-1 alpha-2 country code such as FR",
    r"^[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}$": "use an agency id from the registry, such as XA-NPOL",
}

_TYPE_WORDS: Final[dict[str, str]] = {
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "model_type": "must be an object with named members",
    "model_attributes_type": "must be an object with named members",
    "dict_type": "must be an object with named members",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "date_type": "must be a date such as 2026-12-31",
    "date_parsing": "must be a date such as 2026-12-31",
    "date_from_datetime_parsing": "must be a date such as 2026-12-31",
    "date_from_datetime_inexact": "must be a date without a time, such as 2026-12-31",
    "datetime_type": "must be a date and time with a time zone, such as 2026-11-29T12:00:00Z",
    "datetime_parsing": "must be a date and time with a time zone, such as 2026-11-29T12:00:00Z",
    "datetime_from_date_parsing": (
        "must be a date and time with a time zone, such as 2026-11-29T12:00:00Z"
    ),
    "timezone_aware": "must include a time zone, such as 2026-11-29T12:00:00Z",
}


def _describe(error: Any, where: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"{where} is missing."
    if kind == "extra_forbidden":
        return (
            f"{where} is not a member of this message: remove it or correct its spelling; "
            "unknown members are refused so that nothing is sent that the recipient cannot "
            "interpret."
        )
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(ctx.get("pattern")), f"it must match {ctx.get('pattern')}")
        return f"{where} has the wrong form: {hint}."
    if kind in ("literal_error", "enum"):
        return f"{where} must be one of: {ctx.get('expected')}."
    if kind in ("string_too_long", "too_long"):
        return f"{where} is too long (at most {ctx.get('max_length')})."
    if kind in ("string_too_short", "too_short"):
        return f"{where} is too short (at least {ctx.get('min_length')})."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{where} is out of range: {error['msg'].lower()}."
    if kind in _TYPE_WORDS:
        return f"{where} {_TYPE_WORDS[kind]}."
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where} is not valid: {message}."


def problems_from_validation_error(exc: ValidationError) -> list[Problem]:
    """Translate pydantic's errors about the *shape* of a message into problems."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        problems.append(Problem(field_path(loc), _describe(error, label(loc)), SCHEMA_RULE))
    return problems
