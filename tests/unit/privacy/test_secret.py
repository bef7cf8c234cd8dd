"""The privacy secret: its derived keys, and its place in the agency key set and key file."""

from __future__ import annotations

import base64
import copy
import enum
import json
import pickle
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare.errors import MalformedInputError, UsageError
from safeshare.keys import (
    PRIVACY_KEY_USE,
    SECRET_KEY_ACCESS,
    AgencyKeySet,
    DecryptionKey,
    SigningKey,
)
from safeshare.privacy.secret import SECRET_BYTES, PrivacySecret, canonical_json

XA: Final = "XA-NPOL"
PASSPHRASE: Final = "correct horse battery staple"
VECTORS: Final = Path(__file__).resolve().parents[3] / "specs" / "vectors" / "envelope"
PSEUDONYM: Final = re.compile(r"pn_[A-Za-z0-9_-]{22}")


def spellings(secret: bytes) -> list[str]:
    """Every way the raw secret could leak into text."""
    return [
        b64u_encode(secret),
        base64.b64encode(secret).decode(),
        secret.hex(),
        secret.hex().upper(),
        repr(secret),
    ]


# -- the secret itself ---------------------------------------------------------------------


def test_secret_is_32_bytes_and_refuses_anything_else() -> None:
    assert len(PrivacySecret.generate().raw_bytes(SECRET_KEY_ACCESS)) == SECRET_BYTES
    for bad in (b"", bytes(31), bytes(33), "x" * 32, None):
        with pytest.raises(UsageError):
            PrivacySecret(bad)  # type: ignore[arg-type]


def test_raw_bytes_need_the_access_token() -> None:
    secret = PrivacySecret.generate()
    for access in (None, object(), "SECRET_KEY_ACCESS"):
        with pytest.raises(UsageError, match="SECRET_KEY_ACCESS"):
            secret.raw_bytes(access)


@pytest.mark.parametrize(
    "operation",
    [pickle.dumps, copy.copy, copy.deepcopy],
    ids=["pickle", "copy", "deepcopy"],
)
def test_secret_refuses_pickle_and_copy(operation: Callable[[object], object]) -> None:
    with pytest.raises(UsageError):
        operation(PrivacySecret.generate())


def test_repr_shows_the_fingerprint_only() -> None:
    secret = PrivacySecret.generate()
    raw = secret.raw_bytes(SECRET_KEY_ACCESS)
    for text in (repr(secret), str(secret)):
        assert secret.fingerprint in text
        for spelling in spellings(raw):
            assert spelling not in text


def test_derived_keys_are_distinct_and_depend_on_the_secret() -> None:
    a, b = PrivacySecret(bytes(32)), PrivacySecret(bytes([1]) + bytes(31))
    assert len(a.vault_key()) == 32
    assert a.vault_key() != b.vault_key()
    assert a.vault_key() != a.raw_bytes(SECRET_KEY_ACCESS)
    # the three uses never coincide: the blind token is not a pseudonym of the same input
    assert a.blind_token("phone", "+995550100") != b.blind_token("phone", "+995550100")
    assert a == PrivacySecret(bytes(32))
    assert a != b
    assert hash(a) == hash(PrivacySecret(bytes(32)))


def test_pseudonym_shape_and_json_typing() -> None:
    secret = PrivacySecret(bytes(range(32)))
    domain = {"issuer": XA, "recipient": "XB-PROS", "case_ref": "C-1"}
    p = secret.pseudonym("42", **domain)
    assert PSEUDONYM.fullmatch(p)
    assert secret.pseudonym(42, **domain) != p  # canonical JSON: "42" and 42 differ
    with pytest.raises(UsageError):
        secret.pseudonym(object(), **domain)
    with pytest.raises(UsageError):
        secret.pseudonym("x", **{**domain, "case_ref": ""})


# -- the canonical JSON of a pseudonymized value (RFC 8785) ---------------------------------

DOMAIN: Final = {"issuer": XA, "recipient": "XB-PROS", "case_ref": "C-1"}
SHORT_ESCAPES: Final = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


def jcs_string(text: str) -> bytes:
    """RFC 8785 section 3.2.2.2, written out: only '"', '\\' and U+0000-U+001F are escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append(SHORT_ESCAPES.get(ord(char), f"\\u{ord(char):04x}"))
        else:
            out.append(char)
    return ('"' + "".join(out) + '"').encode("utf-8")


def test_strings_are_escaped_as_rfc_8785_says_for_every_code_point() -> None:
    """canonical_json writes strings with msgspec: checked here against the RFC, byte for byte."""
    points = [p for p in range(0x110000) if not 0xD800 <= p <= 0xDFFF]
    for start in range(0, len(points), 4096):
        chunk = [chr(p) for p in points[start : start + 4096]]
        assert canonical_json(chunk) == b"[" + b",".join(jcs_string(c) for c in chunk) + b"]"
    text = 'quote " backslash \\ slash / DEL \x7f U+2028 \u2028 U+2029 \u2029 \U0001f642 \x00\x1f'
    assert canonical_json(text) == jcs_string(text)
    assert canonical_json("\b\t\n\f\r\x0b\x01") == b'"\\b\\t\\n\\f\\r\\u000b\\u0001"'


def test_objects_are_sorted_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3: U+1F600 (D83D DE00) sorts before U+FB33, U+20AC after U+00F6.
    names = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    encoded = canonical_json(dict.fromkeys(names, 0))
    expected = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert list(json.loads(encoded)) == expected
    # an astral-plane name before a name at U+E000 or above; by code point it would be after
    assert canonical_json({"\ue000": 2, "\U0001d518": 1}) == '{"\U0001d518":1,"\ue000":2}'.encode()
    assert canonical_json({"\uffff": 0, "\U00010000": 0}).index("\U00010000".encode()) == 2


def test_member_order_and_list_type_do_not_change_a_pseudonym() -> None:
    secret = PrivacySecret(bytes(range(32)))
    a = {"msisdn": "+99 555 0100", "imsi": "001010123456789", "nested": {"z": 1, "a": [2, 3]}}
    b = {"nested": {"a": (2, 3), "z": 1}, "imsi": "001010123456789", "msisdn": "+99 555 0100"}
    assert secret.pseudonym(a, **DOMAIN) == secret.pseudonym(b, **DOMAIN)
    astral = {"\ue000": "private use", "\U0001d518": "mathematical fraktur"}
    reverse = dict(reversed(list(astral.items())))
    assert list(astral) != list(reverse)
    assert secret.pseudonym(astral, **DOMAIN) == secret.pseudonym(reverse, **DOMAIN)
    assert (
        canonical_json(a)
        == canonical_json(b)
        == (b'{"imsi":"001010123456789","msisdn":"+99 555 0100","nested":{"a":[2,3],"z":1}}')
    )


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_what_is_accepted_and_how_it_is_written() -> None:
    assert canonical_json(None) == b"null"
    assert canonical_json(True) == b"true"
    assert canonical_json([False, 0, -0, 1]) == b"[false,0,0,1]"
    assert canonical_json(2**53 - 1) == b"9007199254740991"
    assert canonical_json(-(2**53 - 1)) == b"-9007199254740991"
    assert canonical_json(Colour.RED) == canonical_json("red")  # str and int subclasses: values
    assert canonical_json(Level.HIGH) == b"3"
    assert canonical_json(("a", ["b"])) == canonical_json(["a", ["b"]]) == b'["a",["b"]]'
    assert canonical_json({}) == b"{}"
    deep: Any = "x"
    for _ in range(32):
        deep = [deep]
    assert canonical_json(deep) == b"[" * 32 + b'"x"' + b"]" * 32
    secret = PrivacySecret(bytes(range(32)))
    assert secret.pseudonym(True, **DOMAIN) != secret.pseudonym(1, **DOMAIN)
    assert secret.pseudonym("1", **DOMAIN) != secret.pseudonym(1, **DOMAIN)


class Opaque:
    def __repr__(self) -> str:
        return "Opaque(+99 555 0100)"


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


REFUSED: Final[list[tuple[Any, str]]] = [
    (0.5, "identifiers are text or integers"),
    (1.0, "identifiers are text or integers"),
    (-0.0, "identifiers are text or integers"),
    (1e300, "identifiers are text or integers"),
    (float("nan"), "identifiers are text or integers"),
    (float("inf"), "identifiers are text or integers"),
    (float("-inf"), "identifiers are text or integers"),
    (2**53, "outside"),
    (-(2**53), "outside"),
    (10**400, "outside"),
    (b"+99 555 0100", "bytes cannot be pseudonymized"),
    (bytearray(b"+99 555 0100"), "bytes cannot be pseudonymized"),
    (memoryview(b"+99 555 0100"), "bytes cannot be pseudonymized"),
    (Decimal("15550100"), "Decimal cannot be pseudonymized"),
    (date(1990, 1, 1), "date cannot be pseudonymized"),
    (datetime(1990, 1, 1, tzinfo=UTC), "datetime cannot be pseudonymized"),
    ({"+99 555 0100"}, "a set cannot be pseudonymized"),
    (frozenset({"+99 555 0100"}), "a set cannot be pseudonymized"),
    ({15550100: "phone"}, "member name must be text, not int"),
    ({("+99", "555"): "phone"}, "member name must be text, not tuple"),
    (Opaque(), "Opaque cannot be pseudonymized"),
    (["+99 555 0100", [0.25]], "identifiers are text or integers"),
    ({"phone": "+99 555 0100", "score": 0.75}, "identifiers are text or integers"),
    ("+99 555 0100 \ud800", "not valid Unicode"),
    ({"\udfff+99 555 0100": 1}, "not valid Unicode"),
    (_nested(33), "nested more than 32 levels"),
]


@pytest.mark.parametrize(("value", "message"), REFUSED, ids=lambda v: type(v).__name__)
def test_values_outside_the_domain_are_refused_without_being_echoed(
    value: Any, message: str
) -> None:
    secret = PrivacySecret(bytes(range(32)))
    for attempt in (
        lambda: canonical_json(value),
        lambda: secret.pseudonym(value, **DOMAIN),
    ):
        with pytest.raises(UsageError, match=message) as info:
            attempt()
        text = f"{info.value.message} {info.value.hint}"
        for shown in ("555", "0.25", "0.75", "300", "1990"):
            assert shown not in text


DOMAIN_PART = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12)
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(value=VALUES, issuer=DOMAIN_PART, recipient=DOMAIN_PART, case_ref=DOMAIN_PART)
def test_pseudonym_is_stable_within_a_domain(
    value: Any, issuer: str, recipient: str, case_ref: str
) -> None:
    secret = PrivacySecret(bytes(range(32)))
    first = secret.pseudonym(value, issuer=issuer, recipient=recipient, case_ref=case_ref)
    again = secret.pseudonym(value, issuer=issuer, recipient=recipient, case_ref=case_ref)
    assert first == again
    assert PSEUDONYM.fullmatch(first)


@settings(max_examples=150, deadline=None)
@given(
    value=VALUES,
    domain_a=st.tuples(DOMAIN_PART, DOMAIN_PART, DOMAIN_PART),
    domain_b=st.tuples(DOMAIN_PART, DOMAIN_PART, DOMAIN_PART),
)
def test_pseudonyms_of_two_domains_differ(
    value: Any, domain_a: tuple[str, str, str], domain_b: tuple[str, str, str]
) -> None:
    if domain_a == domain_b:
        return
    secret = PrivacySecret(bytes(range(32)))
    a = secret.pseudonym(value, issuer=domain_a[0], recipient=domain_a[1], case_ref=domain_a[2])
    b = secret.pseudonym(value, issuer=domain_b[0], recipient=domain_b[1], case_ref=domain_b[2])
    assert a != b


def test_domain_encoding_is_unambiguous() -> None:
    """Moving characters between domain parts gives another pseudonym (length framing)."""
    secret = PrivacySecret(bytes(range(32)))
    a = secret.pseudonym("v", issuer="XA-NPOL", recipient="XB-PROS", case_ref="C-1")
    b = secret.pseudonym("v", issuer="XA-NPOLX", recipient="B-PROS", case_ref="C-1")
    c = secret.pseudonym("v", issuer="XA-NPOL", recipient="XB-PROSC", case_ref="-1")
    assert len({a, b, c}) == 3


def test_another_secret_gives_unrelated_pseudonyms() -> None:
    domain = {"issuer": XA, "recipient": "XB-PROS", "case_ref": "C-1"}
    assert PrivacySecret(bytes(32)).pseudonym("v", **domain) != PrivacySecret(
        bytes(31) + b"\x01"
    ).pseudonym("v", **domain)


# -- the secret in the key set -------------------------------------------------------------


def test_generated_key_sets_hold_a_privacy_secret() -> None:
    keyset = AgencyKeySet.generate(XA)
    assert keyset.has_privacy_secret
    assert isinstance(keyset.privacy_secret, PrivacySecret)
    assert AgencyKeySet.generate(XA).privacy_secret != keyset.privacy_secret


def test_private_jwks_export_it_as_an_oct_jwk_after_the_keys() -> None:
    keyset = AgencyKeySet.generate(XA)
    jwks = keyset.private_jwks(SECRET_KEY_ACCESS)
    *keys, oct_jwk = jwks["keys"]
    assert [k["kty"] for k in keys] == ["OKP", "OKP"]
    assert set(oct_jwk) == {"kty", "k", "use", "kid"}
    assert oct_jwk["kty"] == "oct"
    assert oct_jwk["use"] == PRIVACY_KEY_USE == "safeshare-privacy"
    assert oct_jwk["kid"] == keyset.privacy_secret.fingerprint
    assert b64u_decode(oct_jwk["k"]) == keyset.privacy_secret.raw_bytes(SECRET_KEY_ACCESS)


def test_private_jwks_round_trip_with_the_secret() -> None:
    keyset = AgencyKeySet.generate(XA).with_new_signing_key().with_new_encryption_key()
    jwks = keyset.private_jwks(SECRET_KEY_ACCESS)
    again = AgencyKeySet.from_private_jwks(jwks)
    assert again.private_jwks(SECRET_KEY_ACCESS) == jwks
    assert again.privacy_secret == keyset.privacy_secret


def test_rotation_keeps_the_secret() -> None:
    keyset = AgencyKeySet.generate(XA)
    assert keyset.with_new_signing_key().privacy_secret is keyset.privacy_secret
    assert keyset.with_new_encryption_key().privacy_secret is keyset.privacy_secret


def test_public_jwks_and_repr_never_show_it() -> None:
    keyset = AgencyKeySet.generate(XA)
    raw = keyset.privacy_secret.raw_bytes(SECRET_KEY_ACCESS)
    public = json.dumps(keyset.public_jwks())
    assert [k["kty"] for k in keyset.public_jwks()["keys"]] == ["OKP", "OKP"]
    assert "oct" not in public
    assert keyset.privacy_secret.fingerprint not in public
    for text in (public, repr(keyset), str(keyset)):
        for spelling in spellings(raw):
            assert spelling not in text
    assert "privacy_secret=present" in repr(keyset)


def test_a_key_set_without_the_secret_exports_exactly_as_before() -> None:
    sk, dk = SigningKey.generate(), DecryptionKey.generate()
    keyset = AgencyKeySet(XA, [sk], [dk])
    assert not keyset.has_privacy_secret
    jwks = keyset.private_jwks(SECRET_KEY_ACCESS)
    assert jwks == {
        "safeshare_agency": XA,
        "keys": [sk.to_private_jwk(SECRET_KEY_ACCESS), dk.to_private_jwk(SECRET_KEY_ACCESS)],
    }
    assert "privacy" not in repr(keyset)


def test_missing_secret_is_an_actionable_usage_error() -> None:
    keyset = AgencyKeySet(XA, [SigningKey.generate()], [DecryptionKey.generate()])
    with pytest.raises(UsageError, match="no privacy secret") as info:
        _ = keyset.privacy_secret
    assert info.value.hint is not None
    assert "keygen --privacy" in info.value.hint
    assert "with_privacy_secret()" in info.value.hint
    added = keyset.with_privacy_secret()
    assert added.has_privacy_secret
    assert added.signing_keys == keyset.signing_keys
    assert added.decryption_keys == keyset.decryption_keys
    assert not keyset.has_privacy_secret  # the original is unchanged


def test_with_privacy_secret_replaces_the_secret() -> None:
    keyset = AgencyKeySet.generate(XA)
    assert keyset.with_privacy_secret().privacy_secret != keyset.privacy_secret


def test_constructor_checks_the_secret_type() -> None:
    with pytest.raises(UsageError):
        AgencyKeySet(
            XA,
            [SigningKey.generate()],
            [DecryptionKey.generate()],
            privacy=bytes(32),  # type: ignore[arg-type]
        )


def _jwks() -> dict[str, Any]:
    return AgencyKeySet.generate(XA).private_jwks(SECRET_KEY_ACCESS)


def _with_oct(**changes: Any) -> dict[str, Any]:
    jwks = _jwks()
    jwks["keys"][-1] = {**jwks["keys"][-1], **changes}
    return jwks


def _two_secrets() -> dict[str, Any]:
    jwks = _jwks()
    jwks["keys"].append(_jwks()["keys"][-1])
    return jwks


BAD_SECRET_JWKS: list[tuple[str, Callable[[], Any]]] = [
    ("two secrets", _two_secrets),
    ("extra member", lambda: _with_oct(alg="HS256")),
    ("private d member", lambda: _with_oct(d="AAAA")),
    ("wrong use", lambda: _with_oct(use="enc")),
    ("no use", lambda: {**_jwks(), "keys": [*_jwks()["keys"][:2], {"kty": "oct", "k": "AA"}]}),
    ("k not a string", lambda: _with_oct(k=5)),
    ("k too short", lambda: _with_oct(k=b64u_encode(bytes(16)), kid=None)),
    ("k not base64url", lambda: _with_oct(k="not base64!")),
    ("kid does not match", lambda: _with_oct(kid="0000000000000000")),
    ("only the secret", lambda: {**_jwks(), "keys": _jwks()["keys"][2:]}),
]


@pytest.mark.parametrize(
    "build", [b for _, b in BAD_SECRET_JWKS], ids=[n for n, _ in BAD_SECRET_JWKS]
)
def test_from_private_jwks_rejects_bad_secrets(build: Callable[[], Any]) -> None:
    with pytest.raises(MalformedInputError):
        AgencyKeySet.from_private_jwks(build())


def test_secret_without_kid_is_accepted() -> None:
    jwks = _jwks()
    del jwks["keys"][-1]["kid"]
    keyset = AgencyKeySet.from_private_jwks(jwks)
    assert keyset.has_privacy_secret


def test_existing_vector_key_sets_load_unchanged() -> None:
    """Key sets written before privacy secrets existed load and export byte-identically."""
    checked = 0
    for path in sorted(VECTORS.glob("*.json"))[:40]:
        vector = json.loads(path.read_bytes())
        for jwks in (vector.get("keys") or {}).values():
            keyset = AgencyKeySet.from_private_jwks(jwks)
            assert not keyset.has_privacy_secret
            exported = keyset.private_jwks(SECRET_KEY_ACCESS)
            assert json.dumps(exported, sort_keys=True) == json.dumps(jwks, sort_keys=True)
            checked += 1
    assert checked > 0


def test_key_file_round_trips_the_secret(tmp_path: Path) -> None:
    keyset = AgencyKeySet.generate(XA)
    path = tmp_path / "xa.keys.json"
    keyset.save(path, PASSPHRASE)
    text = path.read_text()
    for spelling in spellings(keyset.privacy_secret.raw_bytes(SECRET_KEY_ACCESS)):
        assert spelling not in text
    loaded = AgencyKeySet.load(path, PASSPHRASE)
    assert loaded.privacy_secret == keyset.privacy_secret
    assert loaded.private_jwks(SECRET_KEY_ACCESS) == keyset.private_jwks(SECRET_KEY_ACCESS)


def test_key_file_without_the_secret_still_loads(tmp_path: Path) -> None:
    keyset = AgencyKeySet(XA, [SigningKey.generate()], [DecryptionKey.generate()])
    path = tmp_path / "old.keys.json"
    keyset.save(path, PASSPHRASE)
    loaded = AgencyKeySet.load(path, PASSPHRASE)
    assert not loaded.has_privacy_secret
    assert loaded.private_jwks(SECRET_KEY_ACCESS) == keyset.private_jwks(SECRET_KEY_ACCESS)
