"""Strict JSON for untrusted input; deterministic JSON for output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from safeshare._internal import strictjson
from safeshare._internal.strictjson import MAX_DEPTH
from safeshare.errors import MalformedInputError, OversizedInputError

LIMIT = 1 << 20


def loads(data: bytes | str, *, max_bytes: int = LIMIT) -> Any:
    return strictjson.loads(data, what="test input", max_bytes=max_bytes)


@pytest.mark.parametrize(
    ("data", "member"),
    [
        (b'{"a":1,"a":2}', "a"),
        (b'{"a":1,"a":1}', "a"),  # even with the same value
        (b'{"alg":"Ed25519","kid":"k","alg":"none"}', "alg"),
        (b'{"a":{"b":1,"b":2}}', "b"),
        (b'{"outer":{"inner":{"deep":[1,{"x":0,"x":1}]}}}', "x"),
        (b'[{"x":1},{"y":1,"y":2}]', "y"),
        (b'[[[{"z":null,"z":null}]]]', "z"),
        (b'{"a":1,"\\u0061":2}', "a"),  # the same name, spelt with an escape
        (b'{"\\u00e9":1,"\xc3\xa9":2}', "\u00e9"),
        (b'{"":1,"":2}', ""),
    ],
)
def test_duplicate_member_names_are_rejected(data: bytes, member: str) -> None:
    with pytest.raises(MalformedInputError) as info:
        loads(data)
    assert repr(member) in info.value.message
    assert "more than once" in info.value.message
    # Python's json module would silently have kept the last value.
    json.loads(data)


def test_same_name_in_different_objects_is_fine() -> None:
    assert loads(b'[{"a":1},{"a":2}]') == [{"a": 1}, {"a": 2}]
    assert loads(b'{"a":{"a":{"a":1}}}') == {"a": {"a": {"a": 1}}}


@pytest.mark.parametrize(
    "data",
    [
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
    ],
)
def test_non_finite_and_out_of_range_numbers_are_rejected(data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        loads(data)


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**64 - 1, -(2**63)])
def test_integers_beyond_ijson_range_are_rejected(value: int) -> None:
    # RFC 7493 section 2.2: integers must be exact in IEEE 754 doubles.
    with pytest.raises(MalformedInputError, match="2\\*\\*53"):
        loads(str(value).encode())
    with pytest.raises(MalformedInputError):
        loads(b'{"n":[' + str(value).encode() + b"]}")


@pytest.mark.parametrize("digits", [4301, 10_000])
def test_huge_integers_are_a_typed_error(digits: int) -> None:
    # Python refuses to convert integers this long (sys.int_info); the
    # ValueError must not escape untranslated.
    with pytest.raises(MalformedInputError):
        loads(b"1" * digits)
    with pytest.raises(MalformedInputError):
        loads(b'{"serial":' + b"9" * digits + b"}")


@pytest.mark.parametrize(
    "data",
    [
        b'"\\ud800"',
        b'"\\udfff"',
        b'"\\ud800x"',
        b'"\\udc00\\ud800"',  # reversed pair
        b'{"\\ud83d":1}',  # in a member name
        b'["\\ud800\\u0041"]',  # high surrogate followed by a non-surrogate
    ],
)
def test_lone_surrogate_escapes_are_rejected(data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        loads(data)


def test_surrogate_pair_escape_is_accepted() -> None:
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_lone_surrogate_in_str_input_is_rejected() -> None:
    with pytest.raises(MalformedInputError):
        loads('"\ud800"')


@pytest.mark.parametrize(
    "data",
    [
        b'"\xff"',
        b'"\xc3"',  # truncated sequence
        b'"\xc0\x80"',  # overlong NUL
        b'"\xed\xa0\x80"',  # CESU-8 surrogate
        b'"\xf8\x88\x80\x80\x80"',  # 5-byte form
        b'{"a":"\x80"}',
        "[1]".encode("utf-16"),
        "[1]".encode("utf-32"),
    ],
)
def test_invalid_utf8_is_rejected(data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        loads(data)


def test_utf8_bom_is_rejected() -> None:
    with pytest.raises(MalformedInputError):
        loads(b'\xef\xbb\xbf{"a":1}')
    with pytest.raises(MalformedInputError):
        loads('\ufeff{"a":1}')


@pytest.mark.parametrize(
    "data",
    [b'{"a":1} x', b'{"a":1}{"b":2}', b"[1]]", b"1 2", b'{"a":1}\x00', b"[] /* comment */"],
)
def test_trailing_data_is_rejected(data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" ",
        b"{",
        b'{"a":1,}',
        b"[1,]",
        b"{'a':1}",
        b'{"a" 1}',
        b"01",
        b'"\t"',  # raw control character in a string
        b"true false",
        b"undefined",
    ],
)
def test_syntax_errors_are_rejected(data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        loads(data)


def _nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def test_nesting_up_to_max_depth_is_accepted() -> None:
    value = loads(_nested_arrays(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(value, list)
        value = value[0]
    assert value == []
    assert loads(_nested_objects(MAX_DEPTH)) is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, MAX_DEPTH + 2, 500, 100_000])
@pytest.mark.parametrize("build", [_nested_arrays, _nested_objects])
def test_nesting_deeper_than_max_depth_is_rejected(depth: int, build: Any) -> None:
    data = build(depth)
    with pytest.raises(MalformedInputError, match="nested"):
        loads(data, max_bytes=len(data))


def test_mixed_nesting_counts_arrays_and_objects() -> None:
    half = MAX_DEPTH // 2 + 1
    data = b'[{"a":' * half + b"0" + b"}]" * half
    assert half * 2 > MAX_DEPTH
    with pytest.raises(MalformedInputError, match="nested"):
        loads(data)


def test_size_limit_is_inclusive() -> None:
    data = b'"' + b"x" * 98 + b'"'
    assert len(data) == 100
    assert loads(data, max_bytes=100) == "x" * 98
    with pytest.raises(OversizedInputError, match="100 bytes"):
        loads(data, max_bytes=99)


def test_size_limit_counts_utf8_bytes_of_str_input() -> None:
    text = '"' + "\u00e9" * 10 + '"'  # 12 characters, 22 bytes
    assert loads(text, max_bytes=22) == "\u00e9" * 10
    with pytest.raises(OversizedInputError):
        loads(text, max_bytes=21)


def test_oversized_input_is_rejected_before_parsing() -> None:
    # Even garbage is refused as oversized: the cap comes first.
    with pytest.raises(OversizedInputError):
        loads(b"\xff" * 1000, max_bytes=999)


def test_error_message_names_the_input() -> None:
    with pytest.raises(MalformedInputError, match="JWE protected header"):
        strictjson.loads(b"{", what="JWE protected header", max_bytes=100)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -1,
        2**53 - 1,
        -(2**53 - 1),
        1.5,
        -0.0,
        1e308,
        "",
        '\u00e9\U0001f600\u2028\x00"\\/',
        [],
        {},
        {"a": [1, {"b": None}], "c": "d", "": {}},
        [[[[[[[[[[]]]]]]]]]],
    ],
)
def test_valid_json_round_trips(value: Any) -> None:
    assert loads(strictjson.dumps(value)) == value
    assert loads(json.dumps(value).encode("utf-8")) == value
    assert loads(json.dumps(value, ensure_ascii=False)) == value


def test_whitespace_between_tokens_is_allowed() -> None:
    assert loads(b' \n\t{ "a" : [ 1 , 2 ] }\r\n ') == {"a": [1, 2]}


def test_dumps_is_compact_and_keeps_insertion_order() -> None:
    assert strictjson.dumps({"b": 1, "a": [1, 2]}) == b'{"b":1,"a":[1,2]}'


def test_dumps_sorted_sorts_members_at_every_level() -> None:
    value = {"b": {"z": 1, "y": 2}, "a": [{"d": 1, "c": 2}]}
    assert strictjson.dumps_sorted(value) == b'{"a":[{"c":2,"d":1}],"b":{"y":2,"z":1}}'


def test_pretty_is_sorted_indented_and_ends_with_newline() -> None:
    text = strictjson.pretty({"b": 1, "a": {"c": 2}})
    assert text.endswith(b"\n")
    assert text.index(b'"a"') < text.index(b'"b"')
    assert b'\n  "a": {\n    "c": 2\n  },\n' in text
    assert loads(text) == {"a": {"c": 2}, "b": 1}
