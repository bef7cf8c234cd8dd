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

The hot path is one C-level parse: a text that is byte for byte msgspec's own
compact encoding of what msgspec decodes from it (what every safeshare JSON
writer produces) is taken from msgspec, after the two checks msgspec does not
make (integer range, depth); :func:`_loads_canonical` explains why that text
has none of the faults above. Every other text takes the :mod:`json` path.
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

#: Returned by :func:`_loads_canonical` for a text it leaves to the full parser.
_NOT_CANONICAL: Any = object()
#: ``bytes.translate`` table for the fast path's integer and depth checks: a
#: digit becomes ``0``, ``[`` and ``{`` become ``[``, every other byte ``x``.
_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x5B if b in b"[{" else 0x78 for b in range(256))
#: Every integer beyond +/-MAX_SAFE_INTEGER has at least 16 digits.
_SIXTEEN_DIGITS = b"0" * 16


def _loads_canonical(raw: bytes) -> Any:
    """The value of *raw* if it is msgspec's own encoding of it; else :data:`_NOT_CANONICAL`.

    Why this is as strict as the full parser: if ``encode(decode(raw)) ==
    raw``, *raw* is a text msgspec's encoder wrote, from Python values, so

    * it is UTF-8 without a BOM, and has no lone surrogate: the encoder
      raises on a lone surrogate, and never starts a text with a BOM;
    * it has no duplicate member names: the encoder wrote each object from a
      ``dict``, whose keys are distinct strings, and distinct strings have
      distinct encodings (with duplicates, the decoded ``dict`` would have
      lost a member and its encoding would be shorter than *raw*);
    * it has no ``NaN``, ``Infinity`` or out-of-range float: the encoder
      writes non-finite floats as ``null``, which differs from *raw*;
    * it is plain JSON without whitespace or comments, and each float in it
      is the shortest text that reads back as that float, so :mod:`json`
      would read the same values.

    What the encoder does write and the full parser rejects is checked here as
    there: integers beyond I-JSON (a run of 16 digits sends the text, string
    or not, to the full parser) and nesting deeper than :data:`MAX_DEPTH`.
    Any doubt (including every decode or encode error) returns
    :data:`_NOT_CANONICAL`, and the full parser gives the verdict and the
    error message; msgspec's own leniencies cannot matter, since what it
    accepts must still re-encode to the same bytes.
    """
    try:
        value = _validator.decode(raw)
        if _encoder.encode(value) != raw:
            return _NOT_CANONICAL
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return _NOT_CANONICAL
    shape = raw.translate(_SHAPE)
    if _SIXTEEN_DIGITS in shape:
        return _NOT_CANONICAL
    if shape.count(b"[") > MAX_DEPTH and _depth(value, MAX_DEPTH) > MAX_DEPTH:
        return _NOT_CANONICAL
    return value


def loads(data: bytes | str, *, what: str, max_bytes: int) -> Any:
    """Parse untrusted JSON strictly; raise :class:`MalformedInputError`.

    *what* names the input in error messages ("registry", "JWE protected
    header", ...). *max_bytes* is the size cap for this input.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise OversizedInputError(f"{what} is {len(raw)} bytes; the limit is {max_bytes} bytes")
    if isinstance(raw, bytes):
        value = _loads_canonical(raw)
        if value is not _NOT_CANONICAL:
            return value
    return _loads_full(raw, what)


def _loads_full(raw: bytes, what: str) -> Any:
    """The full parser: :mod:`json` with the strict hooks, for any text (size checked)."""
    try:
        text = raw.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates fail
    except UnicodeDecodeError:
        raise MalformedInputError(f"{what} is not valid JSON: it is not UTF-8") from None
    if text.startswith("\ufeff"):
        raise MalformedInputError(
            f"{what} is not valid JSON: it starts with a byte order mark (RFC 8259 section 8.1)"
        )
    # "\\" in text is a memchr: far quicker than a two-character search.
    if "\\" in text and _SURROGATE_ESCAPE.search(text):
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
