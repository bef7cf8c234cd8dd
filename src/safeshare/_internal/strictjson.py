"""Strict JSON for untrusted input, and deterministic JSON for output.

Python's :mod:`json` silently keeps the last of duplicate member names and
accepts ``NaN``/``Infinity``, ``1e400`` and lone surrogates; msgspec rejects
those but also keeps the last duplicate. :func:`loads` closes every gap:

* bytes must be UTF-8 (decoded strictly, so no automatic UTF-16/32), no BOM;
* :mod:`json` parses with hooks that reject duplicate member names in every
  object (RFC 8259 section 4 leaves them undefined; RFC 7515 section 5.2 and
  RFC 8725 require rejecting them: a parser that keeps "the last one" lets two
  implementations see two documents), ``NaN``/``Infinity``, non-finite floats
  and integers beyond the I-JSON range (RFC 7493 section 2.2);
* a text with a surrogate escape is first validated by msgspec, which
  rejects lone surrogates;
* nesting depth is capped.

The hot path is one C-level parse.
"""

from __future__ import annotations

import json
import re
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


def _reject_constant(name: str) -> Any:
    raise _NonFiniteError(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):  # "1e400" overflows to infinity
        raise _NonFiniteError(text[:20])
    return value


class _NonFiniteError(Exception):
    pass


_INF = float("inf")
# A \uD800-\uDFFF escape may be half of a surrogate pair or a lone surrogate;
# only then is the (slower) full validation by msgspec needed.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


_decoder = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates,
    parse_int=_bounded_int,
    parse_float=_finite_float,
    parse_constant=_reject_constant,
)


def loads(data: bytes | str, *, what: str, max_bytes: int) -> Any:
    """Parse untrusted JSON strictly; raise :class:`MalformedInputError`.

    *what* names the input in error messages ("registry", "JWE protected
    header", ...). *max_bytes* is the size cap for this input.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise OversizedInputError(f"{what} is {len(raw)} bytes; the limit is {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates fail
    except UnicodeDecodeError:
        raise MalformedInputError(f"{what} is not valid JSON: it is not UTF-8") from None
    if text.startswith("\ufeff"):
        raise MalformedInputError(
            f"{what} is not valid JSON: it starts with a byte order mark (RFC 8259 section 8.1)"
        )
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        try:
            _validator.decode(raw)  # rejects lone surrogates, accepts proper pairs
        except msgspec.DecodeError as exc:
            raise MalformedInputError(f"{what} is not valid JSON: {exc}") from None
        except RecursionError:
            raise OversizedInputError(f"{what} is nested too deeply") from None
    try:
        value = _decoder.decode(text)
    except _DuplicateMemberError as dup:
        raise MalformedInputError(
            f"{what} has the member name {dup.key[:64]!r} more than once; "
            "duplicate member names are not allowed"
        ) from None
    except _IntegerRangeError:
        raise MalformedInputError(
            f"{what} has an integer outside +/-(2**53 - 1) (RFC 7493 section 2.2)"
        ) from None
    except _NonFiniteError as exc:
        raise MalformedInputError(
            f"{what} is not valid JSON: the number {exc} is not finite (no NaN or Infinity)"
        ) from None
    except RecursionError:
        raise OversizedInputError(f"{what} is nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, int digit limits
        raise MalformedInputError(f"{what} is not valid JSON: {exc}") from None
    # Each level of nesting needs one '[' or '{', so a text with few of them
    # cannot be too deep; only larger documents are walked.
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise OversizedInputError(f"{what} is nested more than {MAX_DEPTH} levels deep")
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
