"""Strict base64url: exactly one accepted encoding for every byte string."""

from __future__ import annotations

import base64
import itertools
import re
import string

import pytest

from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare.errors import MalformedInputError

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"

# RFC 4648 section 10 test vectors, without padding.
RFC4648 = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("data", "text"), RFC4648)
def test_rfc4648_vectors(data: bytes, text: str) -> None:
    assert b64u_encode(data) == text
    assert b64u_decode(text) == data
    assert b64u_decode(text.encode("ascii")) == data


def test_url_safe_alphabet_is_used() -> None:
    # 0xfb 0xff would be "+/8" in the standard alphabet.
    assert b64u_encode(b"\xfb\xff") == "-_8"
    assert b64u_decode("-_8") == b"\xfb\xff"


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 31, 32, 33, 64, 1000])
def test_round_trip(length: int) -> None:
    data = bytes((i * 37 + 11) % 256 for i in range(length))
    text = b64u_encode(data)
    assert "=" not in text
    assert set(text) <= set(ALPHABET)
    assert b64u_decode(text) == data


def test_empty_input_is_empty_bytes() -> None:
    assert b64u_decode("") == b""
    assert b64u_decode(b"") == b""


@pytest.mark.parametrize(
    "text",
    [
        "AA==",  # padding
        "AAA=",
        "Zg==",
        "=",
        "+_8",  # standard alphabet
        "-/8",
        "+/8",
        " AA",  # whitespace anywhere
        "AA ",
        "A A",
        "AA\n",
        "AA\r\n",
        "\tAA",
        "AA\x00",  # NUL
        "AA.",  # other punctuation
        "AA%3D",
    ],
)
def test_rejects_non_alphabet_characters(text: str) -> None:
    with pytest.raises(MalformedInputError, match="canonical base64url"):
        b64u_decode(text)
    with pytest.raises(MalformedInputError):
        b64u_decode(text.encode("ascii"))


@pytest.mark.parametrize("text", ["é", "AAé", "\uff21\uff21", "AA\u200b", "\u0663\u0663"])
def test_rejects_non_ascii(text: str) -> None:
    with pytest.raises(MalformedInputError, match="non-ASCII"):
        b64u_decode(text)
    with pytest.raises(MalformedInputError):
        b64u_decode(text.encode("utf-8"))


@pytest.mark.parametrize("text", ["A", "AAAAA", "Zm9vY", "Zm9vYmFyA"])
def test_rejects_impossible_length(text: str) -> None:
    assert len(text) % 4 == 1
    with pytest.raises(MalformedInputError, match="impossible length"):
        b64u_decode(text)


@pytest.mark.parametrize(
    ("bad", "canonical", "data"),
    [
        ("AB", "AA", b"\x00"),  # b"\x00" is "AA"; "AB" sets a trailing bit
        ("AP", "AA", b"\x00"),
        ("Zh", "Zg", b"f"),
        ("Zm9", "Zm8", b"fo"),
        ("Zm-", "Zm8", b"fo"),
    ],
)
def test_rejects_non_zero_trailing_bits(bad: str, canonical: str, data: bytes) -> None:
    assert b64u_decode(canonical) == data
    # The permissive standard library decoder accepts the non-canonical form.
    assert base64.urlsafe_b64decode(bad + "=" * (-len(bad) % 4)) == data
    with pytest.raises(MalformedInputError, match="trailing bits"):
        b64u_decode(bad)


def test_every_two_character_string_has_one_meaning() -> None:
    """Of all 4096 two-character strings exactly the 256 canonical ones decode."""
    accepted: dict[bytes, str] = {}
    for a, b in itertools.product(ALPHABET, repeat=2):
        text = a + b
        try:
            data = b64u_decode(text)
        except MalformedInputError:
            continue
        assert len(data) == 1
        assert data not in accepted, (text, accepted.get(data))
        assert b64u_encode(data) == text
        accepted[data] = text
    assert len(accepted) == 256


def test_error_names_the_value() -> None:
    with pytest.raises(MalformedInputError, match="JWS signature"):
        b64u_decode("A=", what="JWS signature")


def test_decoding_agrees_with_the_standard_library_at_every_length() -> None:
    """b64u_decode decodes with msgspec; the standard library must agree byte for byte."""
    for length in range(600):
        data = bytes((i * 131 + length * 7 + 3) % 256 for i in range(length))
        text = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
        assert b64u_decode(text) == data
        assert b64u_decode(text.encode("ascii")) == data
        assert b64u_encode(data) == text


def test_alphabet_check_is_the_regex() -> None:
    """The translate-based alphabet check accepts exactly what the regex accepted."""
    pattern = re.compile(rb"[A-Za-z0-9_-]*")
    for byte in range(256):
        for raw in (bytes([byte]) * 4, b"AB" + bytes([byte]) + b"c", b"ABCDEFG" + bytes([byte])):
            try:
                b64u_decode(raw)
            except MalformedInputError as exc:
                foreign = "only A-Z a-z 0-9 - _ are allowed" in exc.message
            else:
                foreign = False
            assert foreign == (pattern.fullmatch(raw) is None), raw
