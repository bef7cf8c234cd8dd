"""The canonical-text fast path of strictjson.loads rejects whatever the full parser rejects.

:func:`strictjson._loads_canonical` takes a text from msgspec only when it is
msgspec's own encoding of the value and passes the integer-range and depth
checks; everything else goes to :func:`strictjson._loads_full`. These tests run
the same inputs through both paths: every hostile input must be left to the
full parser (which rejects it), and wherever the fast path returns a value,
the full parser returns the same value, with the same types.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare._internal import strictjson
from safeshare._internal.strictjson import MAX_DEPTH, MAX_SAFE_INTEGER
from safeshare.errors import MalformedInputError

LIMIT = 1 << 20


def fast(data: bytes) -> Any:
    return strictjson._loads_canonical(data)


def full(data: bytes) -> Any:
    return strictjson._loads_full(data, "test input")


def same(a: Any, b: Any) -> bool:
    """Equal, with equal types throughout (1 vs 1.0 vs True, -0.0 vs 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def assert_agree(data: bytes) -> None:
    """The fast path either declines or returns exactly what the full parser returns."""
    value = fast(data)
    if value is strictjson._NOT_CANONICAL:
        return
    assert same(value, full(data)), data
    assert same(strictjson.loads(data, what="test input", max_bytes=LIMIT), value)


# Hostile texts, each written the way msgspec would write it where that is
# possible (compact, no whitespace), so that only the fast path's own checks
# stand between them and acceptance.
HOSTILE: list[bytes] = [
    # duplicate member names, at every depth, with equal and different values
    b'{"a":1,"a":2}',
    b'{"a":1,"a":1}',
    b'{"alg":"Ed25519","kid":"k","alg":"none"}',
    b'{"a":{"b":1,"b":2}}',
    b'{"outer":{"inner":{"deep":[1,{"x":0,"x":1}]}}}',
    b'[{"x":1},{"y":1,"y":2}]',
    b'[[[{"z":null,"z":null}]]]',
    b'{"a":1,"\\u0061":2}',
    b'{"\\u00e9":1,"\xc3\xa9":2}',
    b'{"":1,"":2}',
    b'{"a":"x:y","a":"z"}',
    b'{"a":{},"a":{}}',
    # non-finite and out-of-range numbers
    b"NaN",
    b"[NaN]",
    b'{"x":NaN}',
    b"Infinity",
    b"-Infinity",
    b"[1,Infinity]",
    b"1e400",
    b"-1e400",
    b"[1E+999]",
    b"[1e309]",
    # integers beyond I-JSON, which msgspec reads and writes unchanged
    str(MAX_SAFE_INTEGER + 1).encode(),
    str(-(MAX_SAFE_INTEGER + 1)).encode(),
    str(2**64 - 1).encode(),
    str(-(2**63)).encode(),
    str(2**64).encode(),
    b"1" * 4301,
    b'{"n":[9007199254740992]}',
    b'{"serial":' + b"9" * 10_000 + b"}",
    # lone surrogates, escaped or encoded (CESU-8)
    b'"\\ud800"',
    b'"\\udfff"',
    b'"\\ud800x"',
    b'"\\udc00\\ud800"',
    b'{"\\ud83d":1}',
    b'["\\ud800\\u0041"]',
    b'"\xed\xa0\x80"',
    '"\ud800"'.encode("utf-8", "surrogatepass"),
    # invalid UTF-8, other encodings, BOM
    b'"\xff"',
    b'"\xc3"',
    b'"\xc0\x80"',
    b'"\xf8\x88\x80\x80\x80"',
    b'{"a":"\x80"}',
    "[1]".encode("utf-16"),
    "[1]".encode("utf-32"),
    b'\xef\xbb\xbf{"a":1}',
    b"\xef\xbb\xbf1",
    # trailing data and syntax errors
    b'{"a":1} x',
    b'{"a":1}{"b":2}',
    b"[1]]",
    b"1 2",
    b'{"a":1}\x00',
    b"[] /* comment */",
    b"",
    b" ",
    b"{",
    b'{"a":1,}',
    b"[1,]",
    b"{'a':1}",
    b'{"a" 1}',
    b"01",
    b'"\t"',
    b'"\x00"',
    b"true false",
    b"undefined",
    # nesting beyond MAX_DEPTH (msgspec writes these unchanged)
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"a":' * MAX_DEPTH + b"{}" + b"}" * MAX_DEPTH,
    b'[{"a":' * (MAX_DEPTH // 2 + 1) + b"0" + b"}]" * (MAX_DEPTH // 2 + 1),
    b"[" * 100_000 + b"]" * 100_000,
]


@pytest.mark.parametrize("data", HOSTILE, ids=lambda d: repr(d[:40]))
def test_hostile_input_is_left_to_the_full_parser(data: bytes) -> None:
    assert fast(data) is strictjson._NOT_CANONICAL
    with pytest.raises(MalformedInputError):
        full(data)
    with pytest.raises(MalformedInputError):
        strictjson.loads(data, what="test input", max_bytes=LIMIT)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,  # exactly MAX_DEPTH: accepted by both
        b'{"a":' * (MAX_DEPTH - 1) + b"{}" + b"}" * (MAX_DEPTH - 1),
        b"[" + b"[]," * 40 + b"[]]",  # many brackets, shallow: the depth walk decides
        str(MAX_SAFE_INTEGER).encode(),
        str(-MAX_SAFE_INTEGER).encode(),
        b'"1234567890123456"',  # 16 digits in a string: full parser, same value
        b"12345678901234.5",
        b"1e16",
        b"-0.0",
        b"5e-324",
        b"1.7976931348623157e308",
        '"\u00e9\U0001f600\u2028\x7f"'.encode(),
        b'"\\u0000\\"\\\\"',
        b'{"a":[1,{"b":null}],"c":"d","":{}}',
        b'"\xef\xbb\xbf"',  # a BOM inside a string is just a character
    ],
    ids=lambda d: repr(d[:40]),
)
def test_valid_input_gives_the_same_value_on_both_paths(data: bytes) -> None:
    assert_agree(data)
    full(data)


def test_safeshare_output_takes_the_fast_path() -> None:
    value = {"a": [1, 2.5, None, True, "\u00e9\U0001f600"], "b": {"c": -(10**15 - 1)}}
    data = strictjson.dumps(value)
    assert same(fast(data), value)
    assert same(full(data), value)


def test_non_canonical_spelling_takes_the_full_parser() -> None:
    for data in (b'{ "a": 1 }', b'"\\u0041"', b"1E5", b"-0", b'"\\/"', b"1.50"):
        assert fast(data) is strictjson._NOT_CANONICAL
        full(data)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=25,
)


@settings(max_examples=500)
@given(json_values)
def test_any_encoded_value_agrees(value: Any) -> None:
    # msgspec's encoding of any value (NaN becomes null, big integers stay).
    try:
        data = msgspec.json.encode(value)
    except (msgspec.EncodeError, UnicodeEncodeError):
        return
    assert_agree(data)
    # Python's own spellings: whitespace, escapes, NaN/Infinity literals.
    assert_agree(json.dumps(value).encode("utf-8", "surrogatepass"))
    assert_agree(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@settings(max_examples=1000)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_identically(number: float) -> None:
    data = msgspec.json.encode(number)
    # Declined only for a run of 16 digits (which might be a too large integer).
    assert (fast(data) is strictjson._NOT_CANONICAL) == (re.search(rb"[0-9]{16}", data) is not None)
    assert_agree(data)
    assert same(full(data), number)


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_agree(data: bytes) -> None:
    assert_agree(data)


@settings(max_examples=500)
@given(json_values, st.data())
def test_mutated_texts_agree(value: Any, data: st.DataObject) -> None:
    """Single-byte edits of a canonical text: the two paths never disagree."""
    try:
        text = bytearray(msgspec.json.encode(value))
    except (msgspec.EncodeError, UnicodeEncodeError):
        return
    if not text:
        return
    position = data.draw(st.integers(0, len(text) - 1))
    text[position] = data.draw(st.integers(0, 255))
    assert_agree(bytes(text))
