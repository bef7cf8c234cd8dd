"""Strict JSON for untrusted input, and deterministic JSON for output.

Python's :mod:`json` silently keeps the last of duplicate member names,
accepts ``NaN``/``Infinity`` and lone surrogates; msgspec rejects those but
also keeps the last duplicate. Untrusted JSON therefore goes through both:

1. msgspec validates the bytes: UTF-8 only (a BOM is rejected), no ``NaN`` or
   ``Infinity``, numbers in range (``1e400`` is rejected), no lone surrogates,
   no trailing data;
2. :mod:`json` builds the value with a hook that rejects duplicate member
   names in every object (RFC 7515 section 5.2, RFC 8725 section 3.x: a parser
   that keeps "the last one" lets two implementations see two documents).

Nesting depth is capped. Both steps run in C; the cost is small next to the
cryptography around them.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from safeshare.errors import MalformedInputError, OversizedInputError

#: Deepest nesting of arrays/objects accepted in any JSON input.
MAX_DEPTH = 32

_encoder = msgspec.json.Encoder()
_validator = msgspec.json.Decoder()


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateMemberError(key)
            seen.add(key)
    return obj


#: Largest integer magnitude accepted: I-JSON (RFC 7493 section 2.2) keeps numbers
#: within IEEE 754 double precision, where integers are exact up to 2**53 - 1.
MAX_SAFE_INTEGER = 2**53 - 1


class _IntegerRangeError(Exception):
    pass


def _bounded_int(text: str) -> int:
    value = int(text)
    if len(text) > 15 and abs(value) > MAX_SAFE_INTEGER:
        raise _IntegerRangeError
    return value


class _DuplicateMemberError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _depth(value: Any, limit: int) -> int:
    """Return nesting depth of *value*, stopping early past *limit*."""
    depth = 0
    level = [value]
    while level:
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        if not nxt and not any(isinstance(i, dict | list) for i in level):
            break
        depth += 1
        if depth > limit:
            return depth
        level = nxt
    return depth


def loads(data: bytes | str, *, what: str, max_bytes: int) -> Any:
    """Parse untrusted JSON strictly; raise :class:`MalformedInputError`.

    *what* names the input in error messages ("registry", "JWE protected
    header", ...). *max_bytes* is the size cap for this input.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise OversizedInputError(f"{what} is {len(raw)} bytes; the limit is {max_bytes} bytes")
    try:
        _validator.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise MalformedInputError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedInputError(f"{what} is nested too deeply") from None
    try:
        value = json.loads(raw, object_pairs_hook=_reject_duplicates, parse_int=_bounded_int)
    except _DuplicateMemberError as dup:
        raise MalformedInputError(
            f"{what} has the member name {dup.key!r} more than once; "
            "duplicate member names are not allowed"
        ) from None
    except _IntegerRangeError:
        raise MalformedInputError(
            f"{what} has an integer outside +/-(2**53 - 1) (RFC 7493 section 2.2)"
        ) from None
    except (ValueError, RecursionError) as exc:  # pragma: no cover - msgspec caught it first
        raise MalformedInputError(f"{what} is not valid JSON: {exc}") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise MalformedInputError(f"{what} is nested more than {MAX_DEPTH} levels deep")
    return value


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (insertion order, no whitespace, UTF-8)."""
    return _encoder.encode(value)


def dumps_sorted(value: Any) -> bytes:
    """Compact JSON with object members sorted by name (for stable files)."""
    return msgspec.json.encode(value, order="sorted")


def pretty(value: Any) -> bytes:
    """Indented, sorted JSON for files people read, ending in a newline."""
    return msgspec.json.format(dumps_sorted(value), indent=2) + b"\n"
