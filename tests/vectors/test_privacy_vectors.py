"""Run every privacy vector in ``specs/vectors/privacy/`` directly against the library.

``pseudonym-...``: :meth:`PrivacySecret.pseudonym`; ``blind-index-...``:
:func:`~safeshare.privacy.blind_index.normalize` and the blind-index token;
``generalize-...``: a generalization of :mod:`safeshare.privacy.generalize`
applied to one value. Each valid pseudonym and token is also recomputed
from the written rule alone (HKDF, HMAC and RFC 8785 canonical JSON with the
standard library), as another implementation would, and so is the vector's
``trace``. Further tests keep the files in step with their generator and
check that the set covers what it claims: domain separation, several
spellings per identifier kind, a valid and an invalid case per
generalization. The tests at the end keep bugs found in the privacy code
fixed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

import pytest
from specs.tools import generate_privacy_vectors as gen

from safeshare._internal import strictjson
from safeshare.conformance.runner import same_json
from safeshare.errors import MalformedInputError, UsageError
from safeshare.privacy.blind_index import SUBJECT_KINDS
from safeshare.privacy.generalize import DatePrecision
from safeshare.privacy.secret import PrivacySecret, canonical_json

VECTOR_DIR: Final = Path(__file__).resolve().parents[2] / "specs" / "vectors" / "privacy"
VECTOR_FILES: Final = sorted(VECTOR_DIR.glob("*.json"))
COMMON: Final = frozenset({"id", "description", "kind", "expected"})
MEMBERS: Final = {
    "pseudonym": COMMON | {"secret", "issuer", "recipient", "case_ref", "value"},
    "blind_index": COMMON | {"secret", "subject_kind", "value"},
    "generalize": COMMON | {"generalization", "value"},
}
OUTPUTS: Final = {
    "pseudonym": {"result", "pseudonym"},
    "blind_index": {"result", "normalized", "token"},
    "generalize": {"result", "generalized", "label"},
}
DOMAIN: Final = {"issuer": "XA-NPOL", "recipient": "XB-PROS", "case_ref": "XA-NPOL/2026/0042"}


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = strictjson.loads(
        path.read_bytes(), what=path.name, max_bytes=1024 * 1024
    )
    return vector


def vectors(kind: str) -> list[dict[str, Any]]:
    return [v for v in (load(p) for p in VECTOR_FILES) if v["kind"] == kind]


def valid(kind: str) -> list[dict[str, Any]]:
    return [v for v in vectors(kind) if v["expected"]["result"] == "valid"]


# -- the rule, written out as another implementation would ----------------------------------


def hkdf_sha256(secret: bytes, info: bytes) -> bytes:
    """RFC 5869: extract with an all-zero salt of HashLen bytes, one expand block."""
    prk = hmac.new(bytes(32), secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def framed(*texts: str) -> bytes:
    return b"".join(len(b).to_bytes(4, "big") + b for b in (t.encode("utf-8") for t in texts))


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jcs(value: Any) -> str:
    """RFC 8785 for the values a pseudonym takes (json.dumps escapes strings as section 3.2.2.2)."""
    if isinstance(value, float):
        raise ValueError("a number with a fraction or exponent")
    if isinstance(value, dict):
        names = sorted(value, key=lambda name: name.encode("utf-16-be"))  # UTF-16 code units
        return "{" + ",".join(f"{jcs(name)}:{jcs(value[name])}" for name in names) + "}"
    if isinstance(value, list):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 - 1:
        raise ValueError("an integer beyond I-JSON's range")
    return json.dumps(value, ensure_ascii=False)


def spec_pseudonym(vector: dict[str, Any]) -> str:
    key = hkdf_sha256(bytes.fromhex(vector["secret"]), b"safeshare/v1/pseudonym")
    message = framed(
        vector["issuer"], vector["recipient"], vector["case_ref"], jcs(vector["value"])
    )
    return "pn_" + b64u(hmac.new(key, message, hashlib.sha256).digest()[:16])


def spec_token(secret: str, kind: str, normalized: str) -> str:
    key = hkdf_sha256(bytes.fromhex(secret), b"safeshare/v1/blind-index")
    return b64u(hmac.new(key, framed(kind, normalized), hashlib.sha256).digest())


# -- every vector ---------------------------------------------------------------------------


def test_there_are_vectors() -> None:
    assert len(vectors("pseudonym")) >= 30
    assert len(vectors("blind_index")) >= 80
    assert len(vectors("generalize")) >= 100
    assert {load(p)["kind"] for p in VECTOR_FILES} == set(MEMBERS)


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector(path: Path) -> None:
    vector = load(path)
    kind = vector["kind"]
    expected = vector["expected"]
    assert vector["id"] == path.stem
    assert vector["id"].startswith(gen.PREFIXES[kind])
    assert vector["description"].strip()
    is_valid = expected["result"] == "valid"
    assert set(vector) == MEMBERS[kind] | (
        {"trace"} if is_valid and kind != "generalize" else set()
    )
    if is_valid:
        assert set(expected) == OUTPUTS[kind]
    else:
        assert set(expected) == {"result", "error"}
        assert expected["error"] in {UsageError.code, MalformedInputError.code}
    assert ("-invalid-" in vector["id"]) == (not is_valid)
    if kind != "generalize" and (is_valid or kind == "pseudonym"):
        assert "RFC 2104" in vector["description"]
        assert "RFC 5869" in vector["description"]
    assert same_json(gen.run(vector), expected)


@pytest.mark.parametrize(
    "path", [p for p in VECTOR_FILES if not p.stem.startswith("generalize-")], ids=lambda p: p.stem
)
def test_pseudonyms_and_tokens_follow_the_written_rule(path: Path) -> None:
    vector = load(path)
    expected = vector["expected"]
    if expected["result"] != "valid":
        return
    trace = vector["trace"]
    secret = bytes.fromhex(vector["secret"])
    if vector["kind"] == "pseudonym":
        assert expected["pseudonym"] == spec_pseudonym(vector)
        assert len(expected["pseudonym"]) == 3 + 22
        assert trace["hkdf_info"] == "safeshare/v1/pseudonym"
        assert trace["value_json"] == jcs(vector["value"])
        assert trace["value_json"].encode("utf-8") == canonical_json(vector["value"])
        parts = [vector["issuer"], vector["recipient"], vector["case_ref"], trace["value_json"]]
    else:
        token = spec_token(vector["secret"], vector["subject_kind"], expected["normalized"])
        assert expected["token"] == token
        assert len(token) == 43
        assert trace["hkdf_info"] == "safeshare/v1/blind-index"
        parts = [vector["subject_kind"], expected["normalized"]]
    key = hkdf_sha256(secret, trace["hkdf_info"].encode("ascii"))
    assert trace["key"] == key.hex()
    assert trace["hmac_input"] == framed(*parts).hex()
    mac = hmac.new(key, framed(*parts), hashlib.sha256).digest()
    assert trace["hmac"] == mac.hex()
    if vector["kind"] == "pseudonym":
        assert expected["pseudonym"] == "pn_" + b64u(mac[:16])
    else:
        assert expected["token"] == b64u(mac)


def test_generated_vectors_are_up_to_date() -> None:
    assert gen.main(["--check"]) == 0


# -- what the set covers --------------------------------------------------------------------


def test_pseudonyms_are_equal_exactly_within_one_domain_and_value() -> None:
    by_input: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for vector in valid("pseudonym"):
        key = (
            vector["secret"],
            vector["issuer"],
            vector["recipient"],
            vector["case_ref"],
            jcs(vector["value"]),
        )
        by_input[key].add(vector["expected"]["pseudonym"])
    assert all(len(found) == 1 for found in by_input.values())
    pseudonyms = [next(iter(found)) for found in by_input.values()]
    assert len(set(pseudonyms)) == len(pseudonyms)  # different inputs, different pseudonyms
    base = load(VECTOR_DIR / "pseudonym-string-ascii.json")
    assert {k: base[k] for k in DOMAIN} == DOMAIN
    separated = [v for v in valid("pseudonym") if v["id"].startswith("pseudonym-domain-")]
    assert {v["id"].removeprefix("pseudonym-domain-") for v in separated} >= {
        "other-recipient",
        "other-case",
        "other-issuer",
        "other-secret",
        "shifted-boundary",
    }
    for vector in separated:
        assert vector["value"] == base["value"]
        assert vector["expected"]["pseudonym"] != base["expected"]["pseudonym"]


def test_pseudonym_values_of_every_json_type() -> None:
    values = [v["value"] for v in valid("pseudonym")]
    for kind in (str, int, bool, list, dict, type(None)):
        assert any(type(value) is kind for value in values), kind
    assert any(isinstance(v, str) and any(ord(c) > 0xFFFF for c in v) for v in values)
    assert any(isinstance(v, dict) and len(v) > 2 for v in values)
    # numbers with a fraction or exponent are refused, at the top and nested
    refused = [v for v in vectors("pseudonym") if v["expected"]["result"] == "invalid"]
    floats = [v["value"] for v in refused if "float" in jcs_error(v["value"])]
    assert any(isinstance(v, float) and v.is_integer() for v in floats)  # 42.0
    assert any(isinstance(v, list) for v in floats)
    assert any(isinstance(v, dict) for v in floats)
    assert all(v["expected"]["error"] == UsageError.code for v in refused)


def jcs_error(value: Any) -> str:
    """Why :func:`jcs` refuses *value* ("float" for a number with a fraction), else ""."""
    try:
        jcs(value)
    except ValueError as exc:
        return "float" if "fraction" in str(exc) else str(exc)
    return ""


def test_member_order_by_utf16_code_units_differs_from_code_point_order() -> None:
    """Some vector's canonical JSON sorts an astral name before a name at U+E000 or above."""

    def differs(value: Any) -> bool:
        return isinstance(value, dict) and sorted(value) != sorted(
            value, key=lambda name: name.encode("utf-16-be")
        )

    found = [v for v in valid("pseudonym") if differs(v["value"])]
    assert {v["id"] for v in found} >= {
        "pseudonym-object-utf16-member-order",
        "pseudonym-object-astral-before-private-use",
    }
    example = load(VECTOR_DIR / "pseudonym-object-utf16-member-order.json")
    names = list(json.loads(example["trace"]["value_json"]))
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_every_subject_kind_has_spellings_of_one_token_and_invalid_values() -> None:
    tokens: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    spellings: dict[str, set[str]] = defaultdict(set)
    for vector in valid("blind_index"):
        expected = vector["expected"]
        key = (vector["secret"], vector["subject_kind"], expected["normalized"])
        tokens[key].add(expected["token"])
        spellings[expected["token"]].add(vector["value"])
    assert all(len(found) == 1 for found in tokens.values())  # one token per normalized value
    all_tokens = [next(iter(found)) for found in tokens.values()]
    assert len(set(all_tokens)) == len(all_tokens)  # and different ones for different values
    invalid = {v["subject_kind"] for v in vectors("blind_index")} - {
        v["subject_kind"] for v in valid("blind_index")
    }
    assert invalid == {"fax", "EMAIL"}
    for kind in SUBJECT_KINDS:
        shared = [
            token
            for (_, k, _), found in tokens.items()
            for token in found
            if k == kind and len(spellings[token]) >= 3
        ]
        assert shared, f"{kind}: no token with three spellings"
        assert any(
            v["subject_kind"] == kind and v["expected"]["result"] == "invalid"
            for v in vectors("blind_index")
        ), kind


def test_every_generalization_type_has_valid_and_invalid_vectors() -> None:
    found: dict[str, set[str]] = defaultdict(set)
    for vector in vectors("generalize"):
        spec = vector["generalization"]
        kind = spec.get("type") if isinstance(spec, dict) else None
        expected = vector["expected"]
        found[str(kind)].add(expected.get("error", "valid"))
    for kind in gen.GENERALIZATION_MEMBERS:
        assert found[kind] == {"valid", UsageError.code, MalformedInputError.code}, kind
    assert found["free_text"] == {UsageError.code}


def test_grid_outputs_never_hold_a_negative_zero() -> None:
    zeros = [
        x
        for v in valid("generalize")
        if v["generalization"]["type"] == "grid"
        for x in v["expected"]["generalized"]
        if x == 0
    ]
    assert zeros
    assert all(str(x) == "0.0" for x in zeros)


# -- fixed bugs -----------------------------------------------------------------------------

SECRET: Final = PrivacySecret(bytes.fromhex(gen.SECRET))


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf"), 1.0, 0.5])
def test_floats_are_not_pseudonymized(number: float) -> None:
    """Once: strictjson.dumps wrote NaN and +-Infinity as null, so pseudonym(NaN) == pseudonym(None)."""
    with pytest.raises(UsageError, match="identifiers are text or integers") as info:
        SECRET.pseudonym(number, **DOMAIN)
    assert repr(number) not in info.value.message


def test_member_order_does_not_change_a_pseudonym() -> None:
    """Once: the 'canonical JSON' kept the members' insertion order."""
    assert SECRET.pseudonym({"a": 1, "b": 2}, **DOMAIN) == SECRET.pseudonym(
        {"b": 2, "a": 1}, **DOMAIN
    )


def test_bytes_are_not_pseudonymized() -> None:
    """Once: msgspec encoded bytes as base64 text, so pseudonym(b'x') == pseudonym('eA==')."""
    with pytest.raises(UsageError, match="bytes cannot be pseudonymized"):
        SECRET.pseudonym(b"x", **DOMAIN)


@pytest.mark.parametrize("moment", ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"])
def test_date_time_at_the_end_of_the_calendar_is_malformed(moment: str) -> None:
    """Once: astimezone() raised OverflowError past year 9999 or before year 1."""
    with pytest.raises(MalformedInputError, match="outside the years 0001-9999") as info:
        DatePrecision("year").apply(moment)
    assert moment not in info.value.message
