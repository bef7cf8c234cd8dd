"""SD-JWT codec: RFC 9901 vectors, issuer (conceal), serialization, verifier (reveal).

The RFC strings below are copied from draft-ietf-oauth-selective-disclosure-jwt-22
(the draft approved as RFC 9901; section numbers are the same), with the line
breaks that the RFC format adds removed.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose.sdjwt import (
    DEFAULT_DECOYS,
    MAX_DISCLOSURE_CHARS,
    MAX_DISCLOSURES,
    MAX_SD_JWT_CHARS,
    SALT_BYTES,
    ArraySpec,
    Disclosure,
    Sd,
    SdSpec,
    conceal,
    create_disclosure,
    digest_of,
    reveal,
    sd_hash,
    serialize,
    split,
)
from safeshare.errors import (
    MalformedInputError,
    OversizedInputError,
    SafeShareError,
    UsageError,
    VerificationError,
)

# -- RFC 9901 examples ---------------------------------------------------------

#: Section 4.2.1: ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"] and its
#: digest from section 4.2.3.
MOEBIUS = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
MOEBIUS_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
#: Section 4.2.1: the same claim with "M\u00f6bius", with no white space, and
#: with newlines; all valid, all different strings.
MOEBIUS_ESCAPED = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd"
MOEBIUS_COMPACT = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Yml1cyJd"
MOEBIUS_NEWLINES = "WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ"
#: Section 4.2.2 / 4.2.4.2: ["lklxF5jMYlGTPUovMNIvCA", "FR"].
FR = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
FR_DIGEST = "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"

#: Section 5.1: the Issuer-signed JWT (ES256; its signature is not our concern here).
RFC5_JWT = "".join(
    [
        "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBb",
        "IkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZ",
        "akg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBL",
        "dVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1",
        "SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tB",
        "TmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2",
        "Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFr",
        "b2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpn",
        "bGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUu",
        "Y29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjog",
        "InVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15",
        "VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1",
        "ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjog",
        "InNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y",
        "NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VH",
        "ZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlG",
        "MkhaUSJ9fX0.ow2VRoOnXDjBhV-c2XUX9zWmHhbd5hao3xa39DfE4UX_wlsBlh5KBsmK",
        "eDd59GgpIbWFIomQWRy3A4L-St_6aQ",
    ]
)
#: Section 5.1: claim -> (Disclosure, SHA-256 Hash), in the order of the SD-JWT.
RFC5_DISCLOSURES: dict[str, tuple[str, str]] = {
    "given_name": (
        "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
        "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4",
    ),
    "family_name": (
        "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd",
        "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo",
    ),
    "email": (
        "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ",
        "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE",
    ),
    "phone_number": (
        "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ",
        "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI",
    ),
    "phone_number_verified": (
        "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd",
        "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM",
    ),
    "address": (
        "WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVl"
        "dF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRv"
        "d24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0",
        "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE",
    ),
    "birthdate": (
        "WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0",
        "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM",
    ),
    "updated_at": (
        "WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ",
        "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI",
    ),
    "nationalities[US]": (
        "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0",
        "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo",
    ),
    "nationalities[DE]": (
        "WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0",
        "7Cf6JkPudry3lcbwHgeZ8khAv1U1OSlerP0VkBJrWZ0",
    ),
}
#: Section 5.2: the KB-JWT of the presentation and the sd_hash its payload carries.
RFC5_KB_JWT = "".join(
    [
        "eyJhbGciOiAiRVMyNTYiLCA",
        "idHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodH",
        "RwczovL3ZlcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDg1MzcyNDMsICJzZF",
        "9oYXNoIjogIkczSTh6LWNGTUFUQUsyZXA4TVhXay12bmpJM1g2LWFhaFllVTlUdnp6M0",
        "UifQ.PqD8kiTmgP5PDvnRB8PzuzHYU5hH8bEw88jFN9aT5a5CblBjVcFig044UoWeJU6",
        "cUqBPAXVh0XAL8of4_Sp71g",
    ]
)
RFC5_SD_HASH = "G3I8z-cFMATAK2ep8MXWk-vnjI3X6-aahYeU9Tvzz3E"
RFC5_CNF = {
    "jwk": {
        "kty": "EC",
        "crv": "P-256",
        "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
        "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
    }
}
RFC5_ADDRESS = {
    "street_address": "123 Main St",
    "locality": "Anytown",
    "region": "Anystate",
    "country": "US",
}

#: Section 6.3 (recursive disclosures): address is disclosable, and so is each
#: of its members. Claim -> (Disclosure, SHA-256 Hash).
RFC6_DISCLOSURES: dict[str, tuple[str, str]] = {
    "street_address": (
        "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgInN0cmVldF9hZGRyZXNzIiwgIlNjaHVsc3RyLiAxMiJd",
        "9gjVuXtdFROCgRrtNcGUXmF65rdezi_6Er_j76kmYyM",
    ),
    "locality": (
        "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImxvY2FsaXR5IiwgIlNjaHVscGZvcnRhIl0",
        "6vh9bq-zS4GKM_7GpggVbYzzu6oOGXrmNVGPHP75Ud0",
    ),
    "region": (
        "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgInJlZ2lvbiIsICJTYWNoc2VuLUFuaGFsdCJd",
        "KURDPh4ZC19-3tiz-Df39V8eidy1oV3a3H1Da2N0g88",
    ),
    "country": (
        "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgImNvdW50cnkiLCAiREUiXQ",
        "WN9r9dCBJ8HTCsS2jKASxTjEyW5m5x65_Z_2ro2jfXM",
    ),
    "address": (
        "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgImFkZHJlc3MiLCB7Il9zZCI6"
        "IFsiNnZoOWJxLXpTNEdLTV83R3BnZ1ZiWXp6dTZvT0dYcm1OVkdQSFA3NVVk"
        "MCIsICI5Z2pWdVh0ZEZST0NnUnJ0TmNHVVhtRjY1cmRlemlfNkVyX2o3Nmtt"
        "WXlNIiwgIktVUkRQaDRaQzE5LTN0aXotRGYzOVY4ZWlkeTFvVjNhM0gxRGEy"
        "TjBnODgiLCAiV045cjlkQ0JKOEhUQ3NTMmpLQVN4VGpFeVc1bTV4NjVfWl8y"
        "cm8yamZYTSJdfV0",
        "HvrKX6fPV0v9K_yCVFBiLFHsMaxcD_114Em6VT8x1lg",
    ),
}
RFC6_PAYLOAD: dict[str, Any] = {
    "_sd": ["HvrKX6fPV0v9K_yCVFBiLFHsMaxcD_114Em6VT8x1lg"],
    "iss": "https://issuer.example.com",
    "iat": 1683000000,
    "exp": 1883000000,
    "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c",
    "_sd_alg": "sha-256",
}


def _jwt_payload(jwt: str) -> dict[str, Any]:
    payload = strictjson.loads(
        b64u_decode(jwt.split(".")[1], what="payload"), what="payload", max_bytes=10**6
    )
    assert isinstance(payload, dict)
    return payload


def test_rfc_family_name_digest() -> None:
    """Section 4.2.3: the digest of the section 4.2.1 disclosure."""
    assert digest_of(MOEBIUS) == MOEBIUS_DIGEST
    assert json.loads(b64u_decode(MOEBIUS)) == ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]


def test_we_encode_the_rfc_no_white_space_variant() -> None:
    """Our compact UTF-8 JSON is the section 4.2.1 "No white space" variant, byte for byte.

    The RFC salt is the canonical base64url of 17 bytes, so the public
    :func:`create_disclosure` reproduces the example from those bytes.
    """
    salt = b64u_decode("_26bc4LT-ac6q2KI6cBW5es")
    made = create_disclosure(salt, "family_name", "Möbius")
    assert made.encoded == MOEBIUS_COMPACT
    assert made.salt == "_26bc4LT-ac6q2KI6cBW5es"
    assert made.digest == digest_of(MOEBIUS_COMPACT)


@pytest.mark.parametrize(
    "variant",
    [MOEBIUS_ESCAPED, MOEBIUS_COMPACT, MOEBIUS_NEWLINES],
    ids=["escaped", "compact", "newlines"],
)
def test_digest_is_over_the_string_as_received(variant: str) -> None:
    """Section 4.2.1/4.2.3: same claim, different JSON text, different digest; no re-encoding."""
    assert json.loads(b64u_decode(variant)) == json.loads(b64u_decode(MOEBIUS))
    assert digest_of(variant) != MOEBIUS_DIGEST
    assert digest_of(variant) == b64u_encode(hashlib.sha256(variant.encode("ascii")).digest())
    payload = {"given_name": "Alice", "_sd": [MOEBIUS_DIGEST]}
    with pytest.raises(VerificationError, match="not referenced"):
        reveal(payload, [variant])


def test_rfc_object_property_example_reveals() -> None:
    """Section 4.2.4.1 example payload with the section 4.2.1 disclosure."""
    out, parsed = reveal({"given_name": "Alice", "_sd": [MOEBIUS_DIGEST]}, [MOEBIUS])
    assert out == {"given_name": "Alice", "family_name": "Möbius"}
    assert parsed == [
        Disclosure(MOEBIUS, MOEBIUS_DIGEST, "_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius")
    ]


def test_rfc_array_element_example() -> None:
    """Section 4.2.2 / 4.2.4.2: with the disclosure, three elements; without it, two."""
    assert digest_of(FR) == FR_DIGEST
    payload = {"nationalities": ["DE", {"...": FR_DIGEST}, "US"]}
    assert reveal(payload, [FR])[0] == {"nationalities": ["DE", "FR", "US"]}
    assert reveal(payload, [])[0] == {"nationalities": ["DE", "US"]}


def test_rfc_section5_disclosure_digests() -> None:
    for name, (encoded, digest) in RFC5_DISCLOSURES.items():
        assert digest_of(encoded) == digest, name


def test_rfc_section5_issuance_reveals_every_claim() -> None:
    """Section 5.1: split the SD-JWT, process all ten disclosures."""
    issued = RFC5_JWT + "~" + "".join(d + "~" for d, _ in RFC5_DISCLOSURES.values())
    jwt, disclosures, kb = split(issued)
    assert jwt == RFC5_JWT
    assert kb is None
    assert disclosures == [d for d, _ in RFC5_DISCLOSURES.values()]
    out, parsed = reveal(_jwt_payload(jwt), disclosures)
    assert out == {
        "iss": "https://issuer.example.com",
        "iat": 1683000000,
        "exp": 1883000000,
        "sub": "user_42",
        "given_name": "John",
        "family_name": "Doe",
        "email": "johndoe@example.com",
        "phone_number": "+1-202-555-0101",
        "phone_number_verified": True,
        "address": RFC5_ADDRESS,
        "birthdate": "1940-01-01",
        "updated_at": 1570000000,
        "nationalities": ["US", "DE"],
        "cnf": RFC5_CNF,
    }
    assert [p.digest for p in parsed] == [h for _, h in RFC5_DISCLOSURES.values()]
    assert [p.name for p in parsed] == [
        *[n for n in RFC5_DISCLOSURES if not n.startswith("nationalities")],
        None,
        None,
    ]


def test_rfc_section5_presentation() -> None:
    """Section 5.2: four disclosures and a KB-JWT; processed payload and sd_hash as printed."""
    chosen = ["family_name", "address", "given_name", "nationalities[US]"]
    without_kb = RFC5_JWT + "~" + "".join(RFC5_DISCLOSURES[n][0] + "~" for n in chosen)
    jwt, disclosures, kb = split(without_kb + RFC5_KB_JWT)
    assert kb == RFC5_KB_JWT
    out, _ = reveal(_jwt_payload(jwt), disclosures)
    expected = {
        "iss": "https://issuer.example.com",
        "iat": 1683000000,
        "exp": 1883000000,
        "sub": "user_42",
        "nationalities": ["US"],
        "cnf": RFC5_CNF,
        "family_name": "Doe",
        "address": RFC5_ADDRESS,
        "given_name": "John",
    }
    assert out == expected
    assert list(out) == list(expected)  # plain members first, then _sd order (as printed)
    # Section 4.3.1: the KB-JWT signs the hash of everything up to the last '~'.
    assert sd_hash(without_kb) == RFC5_SD_HASH
    assert _jwt_payload(RFC5_KB_JWT)["sd_hash"] == RFC5_SD_HASH
    assert serialize(jwt, disclosures, kb) == without_kb + RFC5_KB_JWT


def test_rfc_section6_3_recursive_disclosures() -> None:
    for name, (encoded, digest) in RFC6_DISCLOSURES.items():
        assert digest_of(encoded) == digest, name
    everything = [d for d, _ in RFC6_DISCLOSURES.values()]
    plain = {k: v for k, v in RFC6_PAYLOAD.items() if not k.startswith("_sd")}
    out, _ = reveal(RFC6_PAYLOAD, everything)
    assert out == {
        **plain,
        "address": {
            "street_address": "Schulstr. 12",
            "locality": "Schulpforta",
            "region": "Sachsen-Anhalt",
            "country": "DE",
        },
    }
    only_address = [RFC6_DISCLOSURES["address"][0]]
    assert reveal(RFC6_PAYLOAD, only_address)[0] == {**plain, "address": {}}
    with_country = [RFC6_DISCLOSURES["country"][0], RFC6_DISCLOSURES["address"][0]]
    assert reveal(RFC6_PAYLOAD, with_country)[0] == {**plain, "address": {"country": "DE"}}
    # Section 4.2.6: a sub-claim without the disclosure that contains its digest.
    with pytest.raises(VerificationError, match="not referenced"):
        reveal(RFC6_PAYLOAD, [RFC6_DISCLOSURES["country"][0]])
    assert reveal(RFC6_PAYLOAD, [])[0] == plain


# -- digest_of, create_disclosure, sd_hash -------------------------------------


def test_create_disclosure_object_property() -> None:
    salt = bytes(range(16))
    made = create_disclosure(salt, "family_name", "Möbius")
    assert b64u_decode(made.encoded) == b'["AAECAwQFBgcICQoLDA0ODw","family_name","M\xc3\xb6bius"]'
    assert made.digest == b64u_encode(hashlib.sha256(made.encoded.encode("ascii")).digest())
    assert made == Disclosure(made.encoded, made.digest, b64u_encode(salt), "family_name", "Möbius")


def test_create_disclosure_array_element() -> None:
    made = create_disclosure(b"\xff" * 16, None, {"a": [1, 2.5, None, True]})
    assert b64u_decode(made.encoded) == b'["_____________________w",{"a":[1,2.5,null,true]}]'
    assert made.name is None


def test_create_disclosure_allows_digests_inside_values() -> None:
    """Values may carry _sd / ... (recursive disclosures built by hand, section 4.2.6)."""
    inner = create_disclosure(b"\x01" * 16, "street", "x")
    outer = create_disclosure(b"\x02" * 16, "address", {"_sd": [inner.digest]})
    payload = {"_sd": [outer.digest]}
    assert reveal(payload, [outer.encoded, inner.encoded])[0] == {"address": {"street": "x"}}


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_create_disclosure_refuses_reserved_names(name: str) -> None:
    with pytest.raises(UsageError, match="reserved"):
        create_disclosure(bytes(16), name, 1)


@pytest.mark.parametrize(
    ("salt", "name", "value"),
    [
        pytest.param(bytes(15), "a", 1, id="short-salt"),
        pytest.param("A" * 22, "a", 1, id="salt-not-bytes"),
        pytest.param(bytes(16), 5, 1, id="name-not-str"),
        pytest.param(bytes(16), "a", float("nan"), id="nan"),
        pytest.param(bytes(16), "a", float("inf"), id="infinity"),
        pytest.param(bytes(16), "a", (1, 2), id="tuple"),
        pytest.param(bytes(16), "a", 2**53, id="unsafe-integer"),
        pytest.param(bytes(16), "a", b"bytes", id="bytes"),
        pytest.param(bytes(16), "a", {1: 2}, id="int-key"),
        pytest.param(bytes(16), "a", "\ud800", id="lone-surrogate"),
        pytest.param(bytes(16), "a", "x" * MAX_DISCLOSURE_CHARS, id="too-long"),
    ],
)
def test_create_disclosure_refuses(salt: Any, name: Any, value: Any) -> None:
    with pytest.raises(UsageError):
        create_disclosure(salt, name, value)


def test_digest_of_refuses_non_ascii() -> None:
    with pytest.raises(MalformedInputError):
        digest_of("Wyé")


def test_sd_hash_needs_the_trailing_tilde() -> None:
    with pytest.raises(UsageError, match="last '~'"):
        sd_hash(RFC5_JWT)
    with pytest.raises(UsageError):
        sd_hash(RFC5_JWT + "~" + RFC5_KB_JWT)
    with pytest.raises(MalformedInputError):
        sd_hash("é~")
    assert sd_hash("a.b.c~") == b64u_encode(hashlib.sha256(b"a.b.c~").digest())


# -- conceal -----------------------------------------------------------------


class FakeRandom:
    """Deterministic stand-in for os.urandom; records every call."""

    def __init__(self, seed: str = "seed") -> None:
        self.seed = seed
        self.calls: list[int] = []

    def block(self, number: int) -> bytes:
        """The bytes of the *number*-th call (1-based)."""
        return hashlib.sha256(f"{self.seed}/{number}".encode()).digest()[:SALT_BYTES]

    def __call__(self, n: int) -> bytes:
        self.calls.append(n)
        return hashlib.sha256(f"{self.seed}/{len(self.calls)}".encode()).digest()[:n]


def _decoy(block: bytes) -> str:
    return b64u_encode(hashlib.sha256(block).digest())


def test_conceal_default_exact_output() -> None:
    """Every member SD, salts then decoys from randbytes in order, _sd sorted."""
    rnd = FakeRandom()
    obj = {"given_name": "John", "address": {"street": "Main St"}, "n": [1, 2]}
    payload, disclosures = conceal(obj, randbytes=rnd)
    assert rnd.calls == [SALT_BYTES] * (3 + DEFAULT_DECOYS)
    expected = [
        create_disclosure(rnd.block(1), "given_name", "John"),
        create_disclosure(rnd.block(2), "address", {"street": "Main St"}),
        create_disclosure(rnd.block(3), "n", [1, 2]),
    ]
    assert disclosures == expected
    decoys = [_decoy(rnd.block(4)), _decoy(rnd.block(5))]
    assert payload == {"_sd": sorted([d.digest for d in expected] + decoys)}
    assert reveal(payload, [d.encoded for d in disclosures])[0] == obj


def test_conceal_is_deterministic_given_randbytes() -> None:
    obj = {"a": 1, "b": "two", "c": {"d": [None]}}
    first = conceal(obj, randbytes=FakeRandom("x"), decoys=3)
    assert first == conceal(obj, randbytes=FakeRandom("x"), decoys=3)
    assert first != conceal(obj, randbytes=FakeRandom("y"), decoys=3)


def test_conceal_decoys_count_and_empty_object() -> None:
    assert conceal({}, randbytes=FakeRandom(), decoys=0) == ({}, [])
    payload, disclosures = conceal({}, randbytes=FakeRandom(), decoys=5)
    assert disclosures == []
    assert len(payload["_sd"]) == 5
    payload, _ = conceal({"a": 1}, randbytes=FakeRandom(), decoys=0)
    assert len(payload["_sd"]) == 1


def test_conceal_does_not_modify_its_input() -> None:
    obj: dict[str, Any] = {"a": {"b": [{"x": [1]}, {"c": 2}]}, "d": "e"}
    before = copy.deepcopy(obj)
    conceal(obj, randbytes=FakeRandom(), sd={"a": Sd({"b": ArraySpec(each=Sd({}))})})
    assert obj == before


def test_conceal_spec_plain_nested_and_arrays() -> None:
    """False keeps a member plain; a mapping conceals inside; ArraySpec conceals elements."""
    obj = {
        "case": "C-1",
        "person": {"name": "Eve", "dob": "1990-01-01", "alias": ["E", "Evie"]},
        "phones": ["+1", "+2", "+3"],
        "notes": "n",
    }
    spec: SdSpec = {
        "case": False,
        "person": {"name": False, "alias": ArraySpec()},
        "phones": ArraySpec(each=True),
    }
    payload, disclosures = conceal(obj, randbytes=FakeRandom(), decoys=1, sd=spec)
    assert payload["case"] == "C-1"
    assert payload["person"]["name"] == "Eve"
    assert "dob" not in payload["person"]
    assert len(payload["person"]["_sd"]) == 1 + 1  # dob + one decoy
    assert all(set(e) == {"..."} for e in payload["person"]["alias"])
    assert all(set(e) == {"..."} for e in payload["phones"])
    assert len(payload["_sd"]) == 1 + 1  # notes + one decoy
    names = [d.name for d in disclosures]
    assert names == ["dob", None, None, None, None, None, "notes"]
    everything = [d.encoded for d in disclosures]
    assert reveal(payload, everything)[0] == obj
    # A subset: one phone, no alias, no dob, no notes.
    phone2 = next(d for d in disclosures if d.value == "+2")
    assert reveal(payload, [phone2.encoded])[0] == {
        "case": "C-1",
        "person": {"name": "Eve", "alias": []},
        "phones": ["+2"],
    }


def test_conceal_recursive_disclosures() -> None:
    """Sd(...) conceals inside first, then makes the member itself disclosable (4.2.6)."""
    rnd = FakeRandom()
    obj = {"nationalities": ["DE", "FR", "UK"], "address": {"street": "S", "city": "C"}}
    spec = {"nationalities": Sd(ArraySpec()), "address": Sd({"city": False})}
    payload, disclosures = conceal(obj, randbytes=rnd, decoys=0, sd=spec)
    assert list(payload) == ["_sd"]
    assert [d.name for d in disclosures] == [None, None, None, "nationalities", "street", "address"]
    by_name = {d.name: d for d in disclosures if d.name}
    assert by_name["address"].value == {"city": "C", "_sd": [by_name["street"].digest]}
    assert reveal(payload, [d.encoded for d in disclosures])[0] == obj
    fr = next(d for d in disclosures if d.value == "FR")
    subset = [by_name["nationalities"].encoded, fr.encoded, by_name["address"].encoded]
    assert reveal(payload, subset)[0] == {"nationalities": ["FR"], "address": {"city": "C"}}
    with pytest.raises(VerificationError, match="not referenced"):
        reveal(payload, [fr.encoded])


def test_conceal_array_of_objects() -> None:
    obj = {"vehicles": [{"plate": "AB-1", "colour": "red"}, {"plate": "CD-2", "colour": "blue"}]}
    spec = {"vehicles": ArraySpec(each=Sd({"plate": False}))}
    payload, disclosures = conceal(obj, randbytes=FakeRandom(), decoys=0, sd=spec)
    assert [d.name for d in disclosures] == ["colour", None, "colour", None]
    assert reveal(payload, [d.encoded for d in disclosures])[0] == obj
    second = disclosures[3]
    assert reveal(payload, [second.encoded])[0] == {"vehicles": [{"plate": "CD-2"}]}
    plain_elements = {"vehicles": ArraySpec(each={"plate": False})}
    payload, disclosures = conceal(obj, randbytes=FakeRandom(), decoys=0, sd=plain_elements)
    assert reveal(payload, [])[0] == {"vehicles": [{"plate": "AB-1"}, {"plate": "CD-2"}]}


def test_conceal_spec_names_absent_members_are_ignored() -> None:
    payload, disclosures = conceal({"a": 1}, randbytes=FakeRandom(), decoys=0, sd={"zzz": False})
    assert [d.name for d in disclosures] == ["a"]
    assert reveal(payload, [disclosures[0].encoded])[0] == {"a": 1}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


CONCEAL_REFUSALS: list[Any] = [
    pytest.param({"_sd": 1}, {}, id="top-level-_sd"),
    pytest.param({"...": 1}, {}, id="top-level-dots"),
    pytest.param({"_sd_alg": "sha-256"}, {}, id="top-level-_sd_alg"),
    pytest.param({"a": {"_sd": []}}, {}, id="nested-_sd"),
    pytest.param({"a": [{"...": "x"}]}, {}, id="dots-in-list"),
    pytest.param({"a": {"b": {"_sd_alg": 1}}}, {}, id="nested-_sd_alg"),
    pytest.param({"a": float("nan")}, {}, id="nan"),
    pytest.param({"a": (1,)}, {}, id="tuple"),
    pytest.param({"a": 2**53}, {}, id="integer-too-large"),
    pytest.param({"a": [-(2**53)]}, {}, id="integer-too-small"),
    pytest.param({"a": {1, 2}}, {}, id="set"),
    pytest.param({1: "a"}, {}, id="int-key"),
    pytest.param({"\udc00": 1}, {}, id="surrogate-key"),
    pytest.param(_nested(strictjson.MAX_DEPTH), {}, id="too-deep"),
    pytest.param({"a": 1}, {"a": {"b": True}}, id="mapping-spec-on-scalar"),
    pytest.param({"a": {"b": 1}}, {"a": ArraySpec()}, id="array-spec-on-object"),
    pytest.param({"a": [1]}, {"a": ArraySpec(each={"x": True})}, id="mapping-spec-on-element"),
    pytest.param({"a": 1}, {"a": Sd(True)}, id="sd-of-bool"),  # type: ignore[arg-type]
    pytest.param({"a": 1}, {"a": "yes"}, id="spec-of-wrong-type"),
    pytest.param({f"m{i}": i for i in range(MAX_DISCLOSURES + 1)}, {}, id="too-many-disclosures"),
]


@pytest.mark.parametrize(("obj", "spec"), CONCEAL_REFUSALS)
def test_conceal_refuses(obj: Any, spec: Any) -> None:
    with pytest.raises(UsageError):
        conceal(obj, randbytes=FakeRandom(), sd=spec)


def test_conceal_accepts_the_deepest_allowed_object() -> None:
    obj = _nested(strictjson.MAX_DEPTH - 1)
    payload, disclosures = conceal(obj, randbytes=FakeRandom())
    assert reveal(payload, [d.encoded for d in disclosures])[0] == obj


@pytest.mark.parametrize("decoys", [-1, MAX_DISCLOSURES + 1, True, 1.0])
def test_conceal_refuses_bad_decoy_counts(decoys: Any) -> None:
    with pytest.raises(UsageError, match="decoys"):
        conceal({"a": 1}, randbytes=FakeRandom(), decoys=decoys)


@pytest.mark.parametrize(
    "randbytes",
    [
        pytest.param(lambda n: bytes(n - 1), id="short"),
        pytest.param(lambda n: "x" * n, id="not-bytes"),
        pytest.param(lambda n: bytes(n), id="constant"),
    ],
)
def test_conceal_refuses_broken_randbytes(randbytes: Callable[[int], Any]) -> None:
    with pytest.raises(UsageError, match="randbytes"):
        conceal({"a": 1, "b": 2}, randbytes=randbytes)


def test_conceal_refuses_non_dict_and_bad_spec() -> None:
    with pytest.raises(UsageError):
        conceal([1], randbytes=FakeRandom())  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        conceal({"a": 1}, randbytes=FakeRandom(), sd=[True])  # type: ignore[arg-type]


# -- serialize / split -----------------------------------------------------------

JWT = "aGVhZGVy.cGF5bG9hZA.c2ln"
KB = "a2I.cGF5bG9hZA.c2ln"


def test_serialize_format() -> None:
    made = create_disclosure(bytes(16), "a", 1)
    assert serialize(JWT, []) == JWT + "~"
    assert serialize(JWT, [made, "WyJ4Il0"]) == f"{JWT}~{made.encoded}~WyJ4Il0~"
    assert serialize(JWT, [made], KB) == f"{JWT}~{made.encoded}~{KB}"
    assert serialize(JWT, [made], "") == serialize(JWT, [made])


@pytest.mark.parametrize(
    "text",
    [JWT + "~", f"{JWT}~WyJ4Il0~", f"{JWT}~WyJ4Il0~WyJ5Il0~{KB}", f"{JWT}~{KB}"],
)
def test_split_is_the_inverse_of_serialize(text: str) -> None:
    jwt, disclosures, kb = split(text)
    assert serialize(jwt, disclosures, kb) == text
    assert (kb is None) == text.endswith("~")


SPLIT_REJECTIONS: list[Any] = [
    pytest.param(JWT, MalformedInputError, id="no-tilde"),
    pytest.param("", MalformedInputError, id="empty"),
    pytest.param("~", MalformedInputError, id="no-jwt"),
    pytest.param("a.b~", MalformedInputError, id="jwt-two-parts"),
    pytest.param("a..c~", MalformedInputError, id="jwt-empty-part"),
    pytest.param("a.b.c.d~", MalformedInputError, id="jwt-four-parts"),
    pytest.param("a.b=.c~", MalformedInputError, id="jwt-padding"),
    pytest.param(f"{JWT}~~", MalformedInputError, id="empty-disclosure-at-end"),
    pytest.param(f"{JWT}~WyJ4Il0~~WyJ5Il0~", MalformedInputError, id="empty-disclosure-middle"),
    pytest.param(f"{JWT}~~{KB}", MalformedInputError, id="empty-disclosure-before-kb"),
    pytest.param(f"{JWT}~WyJ4Il0=~", MalformedInputError, id="disclosure-padding"),
    pytest.param(f"{JWT}~WyJ4+l0~", MalformedInputError, id="disclosure-plus"),
    pytest.param(f"{JWT}~WyJ4Il1~", MalformedInputError, id="disclosure-trailing-bits"),
    pytest.param(f"{JWT}~W~", MalformedInputError, id="disclosure-impossible-length"),
    pytest.param(f"{JWT}~WyJ4 Il0~", MalformedInputError, id="disclosure-space"),
    pytest.param(f"{JWT}~Wyé~", MalformedInputError, id="disclosure-non-ascii"),
    pytest.param(f"{JWT}~WyJ4Il0~kb", MalformedInputError, id="kb-not-jwt"),
    pytest.param(f"{JWT}~a.b.c.d", MalformedInputError, id="kb-four-parts"),
    pytest.param(f"{JWT}\n~", MalformedInputError, id="jwt-newline"),
    pytest.param(
        JWT + "~" + "A" * (MAX_DISCLOSURE_CHARS + 4) + "~",
        OversizedInputError,
        id="long-disclosure",
    ),
    pytest.param(
        JWT + "~" + "WyJ4Il0~" * (MAX_DISCLOSURES + 1), OversizedInputError, id="too-many"
    ),
    pytest.param(JWT + "~" + "A" * MAX_SD_JWT_CHARS, OversizedInputError, id="too-long"),
    pytest.param(b"a.b.c~", MalformedInputError, id="bytes"),
]


@pytest.mark.parametrize(("text", "error"), SPLIT_REJECTIONS)
def test_split_rejects(text: Any, error: type[SafeShareError]) -> None:
    with pytest.raises(error):
        split(text)


def test_split_accepts_the_caps_exactly() -> None:
    many = JWT + "~" + "WyJ4Il0~" * MAX_DISCLOSURES
    assert len(split(many)[1]) == MAX_DISCLOSURES
    long = JWT + "~" + "A" * MAX_DISCLOSURE_CHARS + "~"
    assert split(long)[1] == ["A" * MAX_DISCLOSURE_CHARS]


SERIALIZE_REFUSALS: list[Any] = [
    pytest.param("a.b", [], None, id="jwt-shape"),
    pytest.param(JWT + "~", [], None, id="jwt-with-tilde"),
    pytest.param(JWT, [""], None, id="empty-disclosure"),
    pytest.param(JWT, ["a~b"], None, id="tilde-in-disclosure"),
    pytest.param(JWT, ["WyJ4Il0="], None, id="padded-disclosure"),
    pytest.param(JWT, [5], None, id="disclosure-not-str"),
    pytest.param(JWT, ["A" * (MAX_DISCLOSURE_CHARS + 4)], None, id="long-disclosure"),
    pytest.param(JWT, ["WyJ4Il0"] * (MAX_DISCLOSURES + 1), None, id="too-many"),
    pytest.param(JWT, [], "kb", id="kb-shape"),
    pytest.param(JWT, [], KB + "~", id="kb-with-tilde"),
    pytest.param(JWT + "A" * MAX_SD_JWT_CHARS, [], None, id="too-long"),
]


@pytest.mark.parametrize(("jwt", "disclosures", "kb"), SERIALIZE_REFUSALS)
def test_serialize_refuses(jwt: str, disclosures: list[Any], kb: str | None) -> None:
    with pytest.raises(UsageError):
        serialize(jwt, disclosures, kb)


# -- reveal: rejections ------------------------------------------------------------


def enc(text: str) -> str:
    """A disclosure with exactly this JSON text."""
    return b64u_encode(text.encode("utf-8"))


def dig(text: str) -> str:
    return digest_of(enc(text))


DECOY = b64u_encode(hashlib.sha256(b"decoy").digest())
PROP_A = '["salt-a", "a", 1]'
PROP_A2 = '["salt-a2", "a", 2]'
ELEM = '["salt-e", "x"]'


def _case(payload: dict[str, Any], *disclosure_texts: str) -> tuple[dict[str, Any], list[str]]:
    return payload, [enc(t) for t in disclosure_texts]


def _chain(depth: int) -> tuple[dict[str, Any], list[str]]:
    """Recursive disclosures whose processed payload is nested *depth* objects deep."""
    disclosures: list[str] = []
    inner: dict[str, Any] = {}
    for i in range(depth - 1):
        text = json.dumps([f"salt{i}", "n", inner])
        disclosures.append(enc(text))
        inner = {"_sd": [dig(text)]}
    return inner, disclosures


REJECTIONS: dict[str, tuple[tuple[dict[str, Any], list[str]], type[SafeShareError], str]] = {
    # Section 4.1.1 / 7.1 step 2.4.
    "sd_alg_sha512": (_case({"_sd_alg": "sha-512"}), VerificationError, "unsupported _sd_alg"),
    "sd_alg_wrong_case": (_case({"_sd_alg": "SHA-256"}), VerificationError, "unsupported _sd_alg"),
    "sd_alg_number": (_case({"_sd_alg": 256}), VerificationError, "unsupported _sd_alg"),
    "sd_alg_null": (_case({"_sd_alg": None}), VerificationError, "unsupported _sd_alg"),
    "sd_alg_nested_in_payload": (
        _case({"a": {"_sd_alg": "sha-256"}}),
        VerificationError,
        "only at the top level",
    ),
    "sd_alg_nested_in_array": (
        _case({"a": [{"_sd_alg": "sha-256"}]}),
        VerificationError,
        "only at the top level",
    ),
    "sd_alg_in_disclosed_value": (
        _case(
            {"_sd": [dig('["s", "a", {"_sd_alg": "sha-256"}]')]},
            '["s", "a", {"_sd_alg": "sha-256"}]',
        ),
        VerificationError,
        "only at the top level",
    ),
    # Section 7.1 step 4: a digest more than once.
    "duplicate_digest_in_sd": (_case({"_sd": [DECOY, DECOY]}), VerificationError, "more than once"),
    "duplicate_disclosed_digest_in_sd": (
        _case({"_sd": [dig(PROP_A), dig(PROP_A)]}, PROP_A),
        VerificationError,
        "more than once",
    ),
    "duplicate_digest_sd_and_array": (
        _case({"_sd": [DECOY], "l": [{"...": DECOY}]}),
        VerificationError,
        "more than once",
    ),
    "duplicate_digest_in_two_arrays": (
        _case({"l": [{"...": dig(ELEM)}], "m": [{"...": dig(ELEM)}]}, ELEM),
        VerificationError,
        "more than once",
    ),
    "duplicate_digest_payload_and_disclosure": (
        _case(
            {"_sd": [dig(f'["s", "b", {{"_sd": ["{DECOY}"]}}]'), DECOY]},
            f'["s", "b", {{"_sd": ["{DECOY}"]}}]',
        ),
        VerificationError,
        "more than once",
    ),
    "same_disclosure_twice": (
        _case({"_sd": [dig(PROP_A)]}, PROP_A, PROP_A),
        VerificationError,
        "more than once",
    ),
    # Section 7.1 step 5: every disclosure referenced.
    "unreferenced_disclosure": (
        _case({"_sd": [DECOY]}, PROP_A),
        VerificationError,
        "not referenced",
    ),
    "unreferenced_no_sd": (_case({}, ELEM), VerificationError, "not referenced"),
    "unreferenced_child_without_parent": (
        _case(
            {"_sd": [dig(f'["s", "b", {{"_sd": ["{dig(PROP_A)}"]}}]')]},
            PROP_A,
        ),
        VerificationError,
        "not referenced",
    ),
    # Section 7.1 step 3.3.2.1 / 3.3.3.1: the kind must match the place.
    "property_disclosure_in_array": (
        _case({"l": [{"...": dig(PROP_A)}]}, PROP_A),
        VerificationError,
        "object-property disclosure",
    ),
    "element_disclosure_in_sd": (
        _case({"_sd": [dig(ELEM)]}, ELEM),
        VerificationError,
        "array-element disclosure",
    ),
    "wrong_length_0": (_case({"_sd": [dig("[]")]}, "[]"), VerificationError, "0 elements"),
    "wrong_length_1": (_case({"_sd": [dig('["s"]')]}, '["s"]'), VerificationError, "1 elements"),
    "wrong_length_4": (
        _case({"_sd": [dig('["s", "a", 1, 2]')]}, '["s", "a", 1, 2]'),
        VerificationError,
        "4 elements",
    ),
    # Salt and name must be strings.
    "salt_number": (_case({"_sd": [dig('[1, "a", 1]')]}, '[1, "a", 1]'), VerificationError, "salt"),
    "salt_null_element": (
        _case({"l": [{"...": dig("[null, 1]")}]}, "[null, 1]"),
        VerificationError,
        "salt",
    ),
    "name_number": (
        _case({"_sd": [dig('["s", 1, 1]')]}, '["s", 1, 1]'),
        VerificationError,
        "claim name",
    ),
    "name_null": (
        _case({"_sd": [dig('["s", null, 1]')]}, '["s", null, 1]'),
        VerificationError,
        "claim name",
    ),
    # Section 7.1 step 3.3.2.2 (and _sd_alg by profile).
    "name_sd": (
        _case({"_sd": [dig('["s", "_sd", []]')]}, '["s", "_sd", []]'),
        VerificationError,
        "not allowed",
    ),
    "name_dots": (
        _case({"_sd": [dig('["s", "...", 1]')]}, '["s", "...", 1]'),
        VerificationError,
        "not allowed",
    ),
    "name_sd_alg": (
        _case({"_sd": [dig('["s", "_sd_alg", "sha-256"]')]}, '["s", "_sd_alg", "sha-256"]'),
        VerificationError,
        "not allowed",
    ),
    # Section 7.1 step 3.3.2.3.
    "name_exists_as_plain_claim": (
        _case({"a": 0, "_sd": [dig(PROP_A)]}, PROP_A),
        VerificationError,
        "already exists",
    ),
    "name_disclosed_twice": (
        _case({"_sd": [dig(PROP_A), dig(PROP_A2)]}, PROP_A, PROP_A2),
        VerificationError,
        "already exists",
    ),
    "name_exists_nested": (
        _case({"o": {"a": 0, "_sd": [dig(PROP_A)]}}, PROP_A),
        VerificationError,
        "already exists",
    ),
    # Section 4.2.4.1: _sd is an array of digests.
    "sd_not_array": (_case({"_sd": DECOY}), VerificationError, "_sd must be an array"),
    "sd_object": (_case({"_sd": {"d": DECOY}}), VerificationError, "_sd must be an array"),
    "sd_element_number": (_case({"_sd": [1]}), VerificationError, "digests"),
    "sd_element_array": (_case({"_sd": [[DECOY]]}), VerificationError, "digests"),
    "sd_element_not_digest": (_case({"_sd": ["abc"]}), VerificationError, "digests"),
    "sd_element_digest_with_padding": (_case({"_sd": [DECOY + "="]}), VerificationError, "digests"),
    # Section 4.2.4.2: {"...": digest} and nothing else.
    "dots_with_other_member": (
        _case({"l": [{"...": DECOY, "b": 1}]}),
        VerificationError,
        "no other member",
    ),
    "dots_value_number": (_case({"l": [{"...": 1}]}), VerificationError, "digests"),
    "dots_value_object": (_case({"l": [{"...": {"d": DECOY}}]}), VerificationError, "digests"),
    "dots_outside_array": (
        _case({"a": {"...": DECOY}}),
        VerificationError,
        "'...' may appear only",
    ),
    "dots_at_top_level": (_case({"...": DECOY}), VerificationError, "'...' may appear only"),
    # A disclosure is a JSON array.
    "disclosure_object": (_case({}, '{"s": "a"}'), VerificationError, "not a JSON array"),
    "disclosure_string": (_case({}, '"abc"'), VerificationError, "not a JSON array"),
    "disclosure_number": (_case({}, "1"), VerificationError, "not a JSON array"),
    "disclosure_null": (_case({}, "null"), VerificationError, "not a JSON array"),
    # Syntax: MalformedInputError.
    "disclosure_not_json": (_case({}, '["s", "a",'), MalformedInputError, "not valid JSON"),
    "disclosure_trailing_data": (
        _case({}, '["s", "a", 1] x'),
        MalformedInputError,
        "not valid JSON",
    ),
    "disclosure_nan": (_case({}, '["s", "a", NaN]'), MalformedInputError, "not valid JSON"),
    "disclosure_duplicate_member": (
        _case({}, '["s", "a", {"x": 1, "x": 2}]'),
        MalformedInputError,
        "more than once",
    ),
    "disclosure_bom": (_case({}, '\ufeff["s", "a", 1]'), MalformedInputError, "not valid JSON"),
    "disclosure_invalid_utf8": (
        ({}, [b64u_encode(b'["s", "a", "\xff"]')]),
        MalformedInputError,
        "JSON",
    ),
    "disclosure_padding": (({}, [enc(PROP_A) + "="]), MalformedInputError, "base64url"),
    "disclosure_standard_alphabet": (({}, ["Wy+/"]), MalformedInputError, "base64url"),
    "disclosure_trailing_bits": (({}, ["WyJ4Il1"]), MalformedInputError, "trailing bits"),
    "disclosure_non_ascii": (({}, ["Wyé"]), MalformedInputError, "non-ASCII"),
    "disclosure_empty": (({}, [""]), MalformedInputError, "empty"),
    "disclosure_not_string": (({}, [1]), MalformedInputError, "must be a string"),  # type: ignore[list-item]
    "disclosure_too_long": (({}, ["A" * (MAX_DISCLOSURE_CHARS + 4)]), OversizedInputError, "limit"),
    "too_many_disclosures": (
        ({}, [enc(PROP_A)] * (MAX_DISCLOSURES + 1)),
        OversizedInputError,
        "limit",
    ),
    "payload_not_object": (([], []), MalformedInputError, "JSON object"),  # type: ignore[dict-item]
    "nested_too_deep": (_chain(strictjson.MAX_DEPTH + 1), MalformedInputError, "levels deep"),
}


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_reveal_rejects(name: str) -> None:
    (payload, disclosures), error, message = REJECTIONS[name]
    before = copy.deepcopy(payload)
    with pytest.raises(error, match=message) as info:
        reveal(payload, disclosures)
    assert type(info.value) is error  # not merely a subclass
    assert payload == before


def test_reveal_accepts_the_deepest_allowed_nesting() -> None:
    payload, disclosures = _chain(strictjson.MAX_DEPTH)
    out, _ = reveal(payload, disclosures)
    depth = 0
    node: Any = out
    while isinstance(node, dict):
        depth += 1
        node = node.get("n")
    assert depth == strictjson.MAX_DEPTH


def test_reveal_refuses_a_string_as_disclosure_list() -> None:
    with pytest.raises(UsageError):
        reveal({}, "WyJ4Il0")


def test_reveal_undisclosed_and_decoy_digests_are_ignored() -> None:
    """Section 7.1 step 3.3.1: digests without a disclosure are ignored; _sd removed."""
    payload = {"_sd": [DECOY], "a": {"_sd": []}, "l": [{"...": dig(ELEM)}, 1], "_sd_alg": "sha-256"}
    assert reveal(payload, [])[0] == {"a": {}, "l": [1]}
    assert reveal(payload, [enc(ELEM)])[0] == {"a": {}, "l": ["x", 1]}


def test_reveal_sd_alg_absent_means_sha256() -> None:
    assert reveal({"_sd": [dig(PROP_A)]}, [enc(PROP_A)])[0] == {"a": 1}


def test_reveal_output_does_not_share_state() -> None:
    """The output is fresh; mutating it changes neither the payload nor the Disclosures."""
    text = '["s", "o", {"k": [1, 2]}]'
    payload: dict[str, Any] = {"_sd": [dig(text)], "p": {"q": [3]}}
    before = copy.deepcopy(payload)
    out, parsed = reveal(payload, [enc(text)])
    out["o"]["k"].append(99)
    out["p"]["q"].append(99)
    assert payload == before
    assert parsed[0].value == {"k": [1, 2]}


def test_reveal_returns_disclosures_in_order_given() -> None:
    obj = {f"m{i}": i for i in range(10)}
    payload, disclosures = conceal(obj, randbytes=FakeRandom())
    given = [d.encoded for d in reversed(disclosures)]
    out, parsed = reveal(payload, given)
    assert out == obj
    assert [p.encoded for p in parsed] == given
    assert parsed == list(reversed(disclosures))


def test_reveal_handles_the_caps_in_linear_time() -> None:
    """MAX_DISCLOSURES disclosures, each a nested array element with decoys around it."""
    obj = {"items": [{"id": i, "tags": ["t"] * 20} for i in range(MAX_DISCLOSURES // 2)]}
    spec = {"items": ArraySpec(each=Sd({"id": False}))}
    payload, disclosures = conceal(obj, randbytes=FakeRandom(), decoys=8, sd=spec)
    assert len(disclosures) == MAX_DISCLOSURES
    out, _ = reveal(payload, [d.encoded for d in disclosures])
    assert out == {"items": obj["items"]}


def test_disclosures_are_hashable_whatever_their_value() -> None:
    made = create_disclosure(bytes(range(16)), "a", {"b": [1]})
    received = reveal({"_sd": [made.digest]}, [made.encoded])[1][0]
    assert received == made
    assert {made, received} == {made}


def test_conceal_accepts_the_largest_safe_integers() -> None:
    obj = {"max": 2**53 - 1, "min": -(2**53 - 1), "float": 1e308}
    payload, disclosures = conceal(obj, randbytes=FakeRandom())
    assert reveal(payload, [d.encoded for d in disclosures])[0] == obj


# -- fast paths: same verdicts as the straightforward code --------------------------


def _frozen(value: Any) -> Any:
    """The read-only form reveal(frozen=True) must produce: proxies and tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _assert_same_tree(frozen: Any, expected: Any) -> None:
    assert type(frozen) is type(expected)
    if isinstance(expected, MappingProxyType):
        assert list(frozen) == list(expected)
        for key in expected:
            _assert_same_tree(frozen[key], expected[key])
    elif isinstance(expected, tuple):
        assert len(frozen) == len(expected)
        for a, b in zip(frozen, expected, strict=True):
            _assert_same_tree(a, b)
    else:
        assert frozen == expected


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_reveal_frozen_rejects_exactly_what_reveal_rejects(name: str) -> None:
    (payload, disclosures), _, _ = REJECTIONS[name]
    with pytest.raises(SafeShareError) as plain:
        reveal(payload, disclosures)
    with pytest.raises(SafeShareError) as frozen:
        reveal(payload, disclosures, frozen=True)
    assert type(frozen.value) is type(plain.value)
    assert frozen.value.message == plain.value.message


def test_reveal_frozen_is_the_read_only_form_of_reveal() -> None:
    cases = [
        (_jwt_payload(RFC5_JWT), [d for d, _ in RFC5_DISCLOSURES.values()]),
        (RFC6_PAYLOAD, [d for d, _ in RFC6_DISCLOSURES.values()]),
        _chain(strictjson.MAX_DEPTH),
    ]
    obj = {"a": [{"b": [2, {"c": None}, [[]]]}, {"b": []}], "d": {"e": {}}, "f": "g"}
    payload, made = conceal(
        obj, randbytes=FakeRandom(), sd={"a": ArraySpec(each=Sd({"b": ArraySpec()}))}
    )
    cases.append((payload, [d.encoded for d in made]))
    for payload, disclosures in cases:
        plain, parsed_plain = reveal(payload, disclosures)
        frozen, parsed_frozen = reveal(payload, disclosures, frozen=True)
        _assert_same_tree(frozen, _frozen(plain))
        assert parsed_frozen == parsed_plain


def test_reveal_frozen_output_shares_nothing_mutable() -> None:
    text = '["s", "o", {"k": [1, 2]}]'
    payload: dict[str, Any] = {"_sd": [dig(text)], "p": {"q": [3]}}
    out, parsed = reveal(payload, [enc(text)], frozen=True)
    assert out["o"]["k"] == (1, 2)
    assert out["p"]["q"] == (3,)
    with pytest.raises(TypeError):
        out["o"]["k2"] = 1
    payload["p"]["q"].append(99)
    parsed[0].value["k"].append(99)
    assert out["p"]["q"] == (3,)
    assert out["o"]["k"] == (1, 2)


class _Text(str):
    """A str subclass: the ASCII fast path of conceal's checks does not apply to it."""

    __slots__ = ()


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({"a": "\ud800"}, id="value"),
        pytest.param({"a": "\u00e9\udfff"}, id="value-non-ascii"),
        pytest.param({"\u00e9\udc00": 1}, id="key-non-ascii"),
        pytest.param({"a": ["x", "y", "\ud83d"]}, id="in-list"),
        pytest.param({"a": {"b": {"c": "ok", "d": "\ud800"}}}, id="nested-value"),
        pytest.param({"a": [{"\udfff": 1}]}, id="nested-key"),
        pytest.param({"a": [["\ud800"]]}, id="list-in-list"),
        pytest.param({"a": _Text("\ud800")}, id="str-subclass"),
        pytest.param({"a": [_Text("x\udc00")]}, id="str-subclass-in-list"),
    ],
)
def test_conceal_refuses_lone_surrogates_everywhere(obj: dict[str, Any]) -> None:
    randbytes = FakeRandom()
    with pytest.raises(UsageError, match="lone surrogates"):
        conceal(obj, randbytes=randbytes)
    assert randbytes.calls == []  # refused before any salt is drawn


def test_conceal_accepts_non_ascii_text() -> None:
    obj = {"\u00e9": "\U0001f600", "a": ["\u2028", {"\u00fc": "\u00df"}]}
    payload, disclosures = conceal(obj, randbytes=FakeRandom())
    assert reveal(payload, [d.encoded for d in disclosures])[0] == obj


def test_serialize_still_checks_hand_made_disclosures() -> None:
    """serialize checks the base64url of Disclosure objects without decoding them."""
    jwt = "a.b.c"
    for bad, message in [("WyJ4Il1", "trailing bits"), ("Wy+/", "base64url"), ("A", "length")]:
        made = Disclosure(bad, "digest", "salt", "name", 1)
        with pytest.raises(UsageError, match=message):
            serialize(jwt, [made])
        with pytest.raises(UsageError, match=message):
            serialize(jwt, [bad])


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("WyJ4Il1", "trailing bits"),
        ("Wy+/", "canonical base64url"),
        ("A", "impossible length"),
        ("Wyé", "non-ASCII"),
        ("", "empty"),
    ],
)
def test_reveal_names_the_disclosure_in_base64_errors(encoded: str, message: str) -> None:
    """_parse_disclosure leaves the base64url checks to b64u_decode: same messages."""
    with pytest.raises(MalformedInputError, match=message) as info:
        reveal({}, [enc(PROP_A), encoded])
    assert info.value.message.startswith("disclosure #2 ")
    with pytest.raises(MalformedInputError) as split_info:
        split(f"a.b.c~{enc(PROP_A)}~{encoded}~")
    assert split_info.value.message == info.value.message
