"""JWE profile parse/decrypt: every recipient entry is checked, only ours is turned into a key."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from safeshare._internal.b64 import b64u_encode
from safeshare._jose import jwe
from safeshare._jose.headers import check_header
from safeshare.errors import DecryptionError, MalformedInputError
from safeshare.keys import ENC_ALG, DecryptionKey

TYP = "safeshare-envelope+jwe"
CTY = "safeshare+sd-jwt"
KEYS = [DecryptionKey.from_private_bytes(hashlib.sha256(b"k%d" % i).digest()) for i in range(3)]
P = 2**255 - 19


def sealed() -> dict[str, Any]:
    return jwe.encrypt(b"plaintext", [k.public for k in KEYS], typ=TYP, cty=CTY)


def parse(doc: dict[str, Any]) -> jwe.ParsedJWE:
    return jwe.parse(doc, typ=TYP, cty=CTY, max_recipients=32)


def with_epk(doc: dict[str, Any], entry: int, x: bytes) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["recipients"][entry]["header"]["epk"]["x"] = b64u_encode(x)
    return doc


def test_entries_keep_the_checked_raw_epk() -> None:
    doc = sealed()
    parsed = parse(doc)
    assert [e.kid for e in parsed.recipients] == [k.kid for k in KEYS]
    for entry, rec in zip(parsed.recipients, doc["recipients"], strict=True):
        assert isinstance(entry.epk, bytes)
        assert b64u_encode(entry.epk) == rec["header"]["epk"]["x"]
    for key in KEYS:
        assert jwe.decrypt(parsed, [key]) == (b"plaintext", key)


@pytest.mark.parametrize("entry", [0, 1, 2])
@pytest.mark.parametrize(
    ("x", "message"),
    [
        ((P).to_bytes(32, "little"), "canonical"),
        ((2**256 - 1).to_bytes(32, "little"), "canonical"),
        (bytes(31), "32 bytes"),
        (bytes(33), "32 bytes"),
    ],
)
def test_every_entry_epk_is_checked_whoever_opens(entry: int, x: bytes, message: str) -> None:
    with pytest.raises(MalformedInputError, match=message):
        parse(with_epk(sealed(), entry, x))


def test_largest_canonical_epk_parses() -> None:
    parse(with_epk(sealed(), 1, (P - 1).to_bytes(32, "little")))


@pytest.mark.parametrize("x", [bytes(32), (1).to_bytes(32, "little")])
def test_low_order_epk_fails_only_for_the_entry_that_is_used(x: bytes) -> None:
    parsed = parse(with_epk(sealed(), 1, x))
    with pytest.raises(DecryptionError, match="low-order"):
        jwe.decrypt(parsed, [KEYS[1]])
    # The other recipients are not affected by an entry they do not use.
    assert jwe.decrypt(parsed, [KEYS[0]])[0] == b"plaintext"
    assert jwe.decrypt(parsed, [KEYS[2]])[0] == b"plaintext"


def test_changed_epk_of_our_entry_does_not_decrypt() -> None:
    parsed = parse(with_epk(sealed(), 0, KEYS[2].public.raw))
    with pytest.raises(DecryptionError, match="does not decrypt"):
        jwe.decrypt(parsed, [KEYS[0]])


@pytest.mark.parametrize(
    "change",
    [
        {"alg": "none"},
        {"alg": "ECDH-ES"},
        {"alg": "ecdh-es+a256kw"},
        {"alg": None},
        {"alg": ["ECDH-ES+A256KW"]},
        {"zip": "DEF"},
        {"crit": ["exp"]},
        {"jwk": {}},
        {"x5t#S256": "x"},
        {"extra": 1},
        {"enc": "A256GCM"},
    ],
)
@pytest.mark.parametrize("remove", [None, "alg", "kid", "epk"])
def test_recipient_header_errors_are_check_headers(
    change: dict[str, Any], remove: str | None
) -> None:
    """Only a header of exactly {alg, kid, epk} with our alg skips check_header; every
    other header gets check_header's verdict and message."""
    doc = sealed()
    header = doc["recipients"][1]["header"]
    header.update(change)
    if remove is not None:
        header.pop(remove)
    with pytest.raises(MalformedInputError) as expected:
        check_header(
            header,
            what="recipient 1 header",
            expected={"alg": ENC_ALG},
            required=frozenset({"alg", "kid", "epk"}),
            allowed=frozenset({"alg", "kid", "epk"}),
        )
    with pytest.raises(MalformedInputError) as info:
        parse(doc)
    assert info.value.message == expected.value.message
