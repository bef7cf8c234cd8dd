"""Property tests (hypothesis) of sealing and opening envelopes.

* Round trip: any JSON record and any valid protocol claims come back exactly
  (type-strict: ``True``/``1``/``1.0`` and ``0.0``/``-0.0`` are told apart) for
  every recipient, and no one else can open the envelope.
* Tampering: flipping any single byte (any XOR mask), truncating, or changing
  any member of a single-recipient envelope makes opening fail with a
  :class:`~safeshare.errors.SafeShareError` whose ``code`` is one of the
  opening codes of spec section 6.3 - never another exception, never success -
  and a failed open never uses up the envelope's ``jti``.
* Garbage: arbitrary bytes, text and JSON give such an error too.

Each replay cache is one SQLite file per agency for a whole test function (a
file per example would be slow); every example that must fail uses the same
cache, and the test ends by opening the untampered envelope exactly once.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any, Final

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._testnet import INSTRUMENTS, TestNetwork
from safeshare.envelope import MAX_ENVELOPE_BYTES, MAX_TTL, MESSAGE_TYPES, seal
from safeshare.errors import DecryptionError, ReplayError, SafeShareError, UsageError
from safeshare.purpose.conditions import HandlingConditions
from tests.envelope_fixtures import (
    NOW,
    RESERVED,
    XA,
    XB,
    XC,
    XD,
    ReplayCaches,
    canonical,
    expected_claims,
    json_leaves,
    json_values,
    names,
    open_as,
    records,
    seal_default,
    vocabulary_with,
)

AGENCIES: Final = (XA, XB, XC, XD)
#: The error codes opening may report (spec section 6.3).
OPEN_ERROR_CODES: Final = frozenset(
    {
        "malformed",
        "oversized",
        "decryption_failed",
        "verification_failed",
        "expired",
        "not_yet_valid",
        "replay",
        "unknown_agency",
        "unknown_key",
        "wrong_key_use",
        "key_revoked",
        "key_not_valid",
        "agency_suspended",
    }
)
JTI: Final = re.compile(r"[A-Za-z0-9_-]{22}")

# -- strategies ---------------------------------------------------------------------

agency_ids = st.from_regex(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}", fullmatch=True)
SPECIAL_CATEGORIES: Final = (
    "biometric",
    "genetic",
    "health",
    "minor",
    "racial_or_ethnic_origin",
    "political_opinions",
    "religious_beliefs",
    "trade_union_membership",
    "sex_life_or_orientation",
    "criminal_convictions",
)


@st.composite
def handlings(draw: st.DrawFn) -> HandlingConditions:
    """Any valid handling conditions (spec section 5.4)."""
    special = draw(st.lists(st.sampled_from(SPECIAL_CATEGORIES), unique=True, max_size=4))
    # Special categories need strict conditions (specs/safeshare-v1.md section 9.5).
    onward = draw(
        st.sampled_from(
            ["forbidden", "with_prior_authorisation"] + ([] if special else ["allowed_to_listed"])
        )
    )
    tlps = ["AMBER", "AMBER+STRICT", "RED"] + ([] if special else ["CLEAR", "GREEN"])
    max_days = draw(st.integers(1, 36_500))
    return HandlingConditions.model_validate(
        {
            "tlp": draw(st.sampled_from(tlps)),
            "handling_code": draw(st.sampled_from([None, "H0", "H1", "H2", "H3"])),
            "evaluation": draw(
                st.none()
                | st.fixed_dictionaries(
                    {"source": st.sampled_from("ABCX"), "information": st.integers(1, 4)}
                )
            ),
            "onward_transfer": onward,
            "onward_allowed_to": (
                draw(st.lists(agency_ids, min_size=1, max_size=3))
                if onward == "allowed_to_listed"
                else []
            ),
            "evidential_use": draw(st.sampled_from(["allowed", "with_consent"])),
            "confidential_request": draw(st.booleans()),
            "retention": {
                "max_days": max_days,
                "review_days": draw(st.none() | st.integers(1, max_days)),
            },
            "special_categories": special,
            "no_solely_automated_decision": bool(special) or draw(st.booleans()),
            "acknowledgements": draw(st.lists(st.text(min_size=1, max_size=40), max_size=3)),
        }
    )


@st.composite
def protocol_claims(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of :func:`seal` other than the record and keys."""
    sender = draw(st.sampled_from(AGENCIES))
    others = [a for a in AGENCIES if a != sender]
    return {
        "sender": sender,
        "to": tuple(draw(st.lists(st.sampled_from(others), min_size=1, unique=True))),
        "purpose": draw(st.from_regex(r"[a-z][a-z0-9_.-]{0,63}", fullmatch=True)),
        # Any code under an instrument the test agencies accept (the transfer check
        # before sealing refuses a legal basis of an instrument the recipient does not).
        "legal_basis": draw(st.sampled_from(INSTRUMENTS))
        + "."
        + draw(st.from_regex(r"[A-Za-z0-9_.:()-]{0,100}", fullmatch=True)),
        "case_ref": draw(st.text(min_size=1, max_size=128)),
        "message_type": draw(st.sampled_from(sorted(MESSAGE_TYPES))),
        "handling": draw(handlings()),
        "ttl": timedelta(seconds=draw(st.integers(1, int(MAX_TTL.total_seconds())))),
    }


# -- helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayCaches]:
    """Per-agency replay caches shared by a module (for examples with distinct jtis)."""
    with ExitStack() as stack:
        yield ReplayCaches(tmp_path_factory.mktemp("replay"), stack)


def expect_rejected(net: TestNetwork, envelope: bytes | str, caches: ReplayCaches) -> None:
    """Opening *envelope* as XB-PROS fails with a spec error code; nothing else happens.

    Success ("DID NOT RAISE") or any exception that is not a SafeShareError fails the test.
    """
    with pytest.raises(SafeShareError) as caught:
        open_as(net, XB, envelope, caches)
    error = caught.value
    event(f"{type(error).__name__} ({error.code})")
    assert error.code in OPEN_ERROR_CODES, f"{type(error).__name__}: {error}"
    assert not isinstance(error, ReplayError), "only a successful open records a jti"


def open_original_once(net: TestNetwork, envelope: bytes, caches: ReplayCaches) -> None:
    """The untampered envelope still opens (no failure used up its jti), then only once."""
    opened = open_as(net, XB, envelope, caches)
    assert canonical(opened.verified_claims()) == canonical(
        expected_claims(net, jti=opened.jti, to=(XB,))
    )
    with pytest.raises(ReplayError):
        open_as(net, XB, envelope, caches)


# -- B1: round trip -----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(record=records, claims=protocol_claims())
def test_seal_then_open_returns_exactly_what_was_sealed(
    testnet: TestNetwork,
    module_caches: ReplayCaches,
    record: dict[str, Any],
    claims: dict[str, Any],
) -> None:
    envelope = seal(
        record,
        sender=testnet.keysets[claims["sender"]],
        to=list(claims["to"]),
        registry=testnet.registry,
        purpose=claims["purpose"],
        legal_basis=claims["legal_basis"],
        case_ref=claims["case_ref"],
        message_type=claims["message_type"],
        handling=claims["handling"],
        ttl=claims["ttl"],
        now=NOW,
    )
    vocabulary = vocabulary_with(claims["purpose"])
    for agency in claims["to"]:
        opened = open_as(
            testnet,
            agency,
            envelope,
            module_caches,
            purpose=claims["purpose"],
            acknowledged=claims["handling"].acknowledgements,
            vocabulary=vocabulary,
        )
        assert opened.opened_for == claims["purpose"]
        verified = opened.verified_claims()
        assert canonical(verified["record"]) == canonical(record)
        assert JTI.fullmatch(opened.jti)
        assert canonical(verified) == canonical(
            expected_claims(testnet, jti=opened.jti, record=record, **claims)
        )
        assert opened.handling == claims["handling"]
        assert opened.recipient == agency
        assert opened.issued_at == NOW
        assert opened.expires_at == NOW + claims["ttl"]
    for outsider in sorted(set(AGENCIES) - set(claims["to"])):  # the sender included
        with pytest.raises(DecryptionError):
            open_as(testnet, outsider, envelope, module_caches, vocabulary=vocabulary)


@settings(max_examples=50, deadline=None)
@given(record=records, reserved=st.sampled_from(sorted(RESERVED)), value=json_leaves)
def test_a_reserved_member_name_is_refused_when_sealing(
    testnet: TestNetwork, record: dict[str, Any], reserved: str, value: Any
) -> None:
    """``_sd``, ``...`` and ``_sd_alg`` anywhere in the record: UsageError, nothing sealed."""
    record = {**record, "nested": {"inner": [{reserved: value}]}}
    with pytest.raises(UsageError, match="reserved"):
        seal_default(testnet, record, to=(XB,))


@pytest.mark.parametrize("fields", [12, 14, 17, 19])
def test_seal_never_emits_an_envelope_too_large_to_open(
    testnet: TestNetwork, replay_caches: ReplayCaches, fields: int
) -> None:
    """Seal refuses (UsageError) or the envelope is within the 1 MiB cap and opens.

    Each field is a 45,000-character string (one ~60 KB disclosure): about
    12 fields fit. Regression test: ``seal`` used to cap only the SD-JWT, at
    1 MiB *characters* (``sdjwt.MAX_SD_JWT_CHARS``), but the JWE carries it
    base64url-encoded, so an SD-JWT between ~0.75 and 1 MiB gave an envelope of
    ~1-1.4 MiB that every recipient rejects at step 1 (``oversized``): 14 and
    17 fields here. ``seal`` now checks the envelope's size.
    """
    record = {f"field{i:02d}": "x" * 45_000 for i in range(fields)}
    try:
        envelope = seal_default(testnet, record, to=(XB,))
    except UsageError:
        return
    assert len(envelope) <= MAX_ENVELOPE_BYTES, (
        f"seal emitted a {len(envelope)}-byte envelope; open refuses over {MAX_ENVELOPE_BYTES}"
    )
    opened = open_as(testnet, XB, envelope, replay_caches)
    assert canonical(opened.verified_claims()["record"]) == canonical(record)


# -- B2: tampering ------------------------------------------------------------------


def test_flipping_any_byte_of_a_single_recipient_envelope_fails(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    envelope = seal_default(testnet, to=(XB,))

    @settings(max_examples=200, deadline=None)
    @given(position=st.integers(0, len(envelope) - 1), mask=st.integers(1, 255))
    def flip(position: int, mask: int) -> None:
        tampered = bytearray(envelope)
        tampered[position] ^= mask
        expect_rejected(testnet, bytes(tampered), replay_caches)

    flip()
    open_original_once(testnet, envelope, replay_caches)


def _co_recipient_span(envelope: bytes, index: int) -> tuple[int, int]:
    """Byte range of recipient entry *index* in the serialized envelope."""
    entry = strictjson.dumps(json.loads(envelope)["recipients"][index])
    start = envelope.index(entry)
    return start, start + len(entry)


def test_flipping_any_byte_outside_a_co_recipients_entry_fails(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    """XB's view of an envelope to XB and XC: every byte but XC's own entry matters.

    XC's entry (its header and wrapped key) is not integrity-protected for XB,
    by JWE design: see the next test.
    """
    envelope = seal_default(testnet, to=(XB, XC))
    start, end = _co_recipient_span(envelope, 1)
    skipped = end - start

    @settings(max_examples=200, deadline=None)
    @given(
        position=st.integers(0, len(envelope) - 1 - skipped).map(
            lambda p: p if p < start else p + skipped
        ),
        mask=st.integers(1, 255),
    )
    def flip(position: int, mask: int) -> None:
        tampered = bytearray(envelope)
        tampered[position] ^= mask
        expect_rejected(testnet, bytes(tampered), replay_caches)

    flip()
    opened = open_as(testnet, XB, envelope, replay_caches)
    assert canonical(opened.verified_claims()) == canonical(
        expected_claims(testnet, jti=opened.jti, to=(XB, XC))
    )


def test_a_tampered_co_recipient_entry_goes_unnoticed_by_the_other_recipient(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    """Characterization, not a bug: RFC 7516 authenticates only the protected header,
    IV, ciphertext and AAD. Another recipient's ``header`` and ``encrypted_key`` are
    outside the AES-GCM input, so XB opens an envelope whose XC entry was damaged
    (the content is still XA's, signed and sealed to XB), while XC cannot open it."""
    envelope = seal_default(testnet, to=(XB, XC))
    doc = json.loads(envelope)
    wrapped = bytearray(b64u_decode(doc["recipients"][1]["encrypted_key"]))
    wrapped[0] ^= 0x01
    doc["recipients"][1]["encrypted_key"] = b64u_encode(bytes(wrapped))
    tampered = strictjson.dumps(doc)
    with pytest.raises(DecryptionError):
        open_as(testnet, XC, tampered, replay_caches)
    opened = open_as(testnet, XB, tampered, replay_caches)
    assert canonical(opened.verified_claims()) == canonical(
        expected_claims(testnet, jti=opened.jti, to=(XB, XC))
    )
    # It is the same envelope for the replay cache: the original is now a replay for XB ...
    with pytest.raises(ReplayError):
        open_as(testnet, XB, envelope, replay_caches)
    # ... and XC, whose entry was damaged, opens the original it also received.
    assert open_as(testnet, XC, envelope, replay_caches).jti == opened.jti


def test_every_strict_prefix_and_any_suffix_fails(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    envelope = seal_default(testnet, to=(XB,))

    @settings(max_examples=100, deadline=None)
    @given(
        cut=st.integers(0, len(envelope) - 1),
        suffix=st.binary(min_size=1, max_size=8).filter(lambda b: b.strip(b" \t\r\n") != b""),
    )
    def truncate(cut: int, suffix: bytes) -> None:
        expect_rejected(testnet, envelope[:cut], replay_caches)
        expect_rejected(testnet, envelope + suffix, replay_caches)

    truncate()
    open_original_once(testnet, envelope, replay_caches)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every JSON path in *value* (the root included)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _get(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def test_changing_any_member_of_the_envelope_fails(
    testnet: TestNetwork, replay_caches: ReplayCaches
) -> None:
    """Replace, delete or insert anything anywhere, the decoded protected header included."""
    envelope = seal_default(testnet, to=(XB,))
    original = json.loads(envelope)
    view = {**original, "protected": json.loads(b64u_decode(original["protected"]))}
    paths = _paths(view)

    @settings(max_examples=200, deadline=None)
    @given(
        path=st.sampled_from(paths),
        operation=st.sampled_from(["replace", "delete", "insert"]),
        data=st.data(),
    )
    def mutate(path: tuple[str | int, ...], operation: str, data: st.DataObject) -> None:
        doc: Any = copy.deepcopy(view)
        target = _get(doc, path)
        if operation == "replace":
            new = data.draw(json_values, label="new value")
            assume(canonical(new) != canonical(target))
            if not path:
                doc = new
            else:
                _get(doc, path[:-1])[path[-1]] = new
        elif operation == "delete":
            assume(bool(path))
            del _get(doc, path[:-1])[path[-1]]
        elif isinstance(target, dict):
            name = data.draw(st.text(max_size=12), label="new member")
            assume(name not in target)
            target[name] = data.draw(json_values, label="its value")
        elif isinstance(target, list):
            at = data.draw(st.integers(0, len(target)), label="insert at")
            target.insert(at, data.draw(json_values, label="new element"))
        else:
            assume(False)
        event(f"{operation} {'/'.join(str(p) for p in path[:3])}")
        if isinstance(doc, dict) and isinstance(doc.get("protected"), dict):
            # Re-encode the header only if it changed: a re-encoding alone changes the AAD.
            if path[:1] == ("protected",):
                doc["protected"] = b64u_encode(json.dumps(doc["protected"]).encode())
            else:
                doc["protected"] = original["protected"]
        expect_rejected(testnet, json.dumps(doc), replay_caches)

    mutate()
    open_original_once(testnet, envelope, replay_caches)


# -- B3: garbage --------------------------------------------------------------------

json_documents = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["protected", "recipients", "iv", "ciphertext", "tag", "header"])
            | names,
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)
#: Text with lone surrogates mixed in (``open_envelope`` takes ``str`` too).
any_text = st.text(
    st.characters(exclude_categories=()) | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """*valid* 19 times in 20, so that most documents get past the early checks.

    (``st.one_of(valid, valid, valid, other)`` would not do: equal branches are merged.)
    """
    return st.integers(0, 19).flatmap(lambda pick: other if pick == 0 else valid)


def _raw(size: int) -> st.SearchStrategy[str]:
    """base64url of *size* random bytes: the right length for the member."""
    return st.binary(min_size=size, max_size=size).map(_b64)


#: Any base64url-ish text: random bytes of any length, or any text at all.
_any_b64: Final = st.binary(max_size=48).map(_b64) | st.text(max_size=48)
#: X25519 points of small order (RFC 7748 section 5 / libsodium's blocklist) and friends.
_SPECIAL_X: Final = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    (2**255 - 20).to_bytes(32, "little"),
    (2**255 - 19).to_bytes(32, "little"),
    (2**256 - 1).to_bytes(32, "little"),
]


def _merged(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    return {**first, **second}


@st.composite
def envelope_shaped(draw: st.DrawFn, kid: str) -> dict[str, Any]:
    """JWE-shaped documents: each member valid-looking most of the time, random content.

    The recipient entry often names XB's key, so opening gets to the X25519
    exchange and the key unwrap with random (and small-order) ephemeral keys.
    """
    epk = st.fixed_dictionaries(
        {
            "kty": _mostly(st.just("OKP"), st.sampled_from(["EC", "oct", ""])),
            "crv": _mostly(st.just("X25519"), st.sampled_from(["X448", "Ed25519", "P-256"])),
            "x": _mostly(_raw(32), st.sampled_from(_SPECIAL_X).map(_b64) | _any_b64),
        }
    )
    header = st.fixed_dictionaries(
        {
            "alg": _mostly(
                st.just("ECDH-ES+A256KW"), st.sampled_from(["ECDH-ES", "none", "NONE", "RSA1_5"])
            ),
            "kid": _mostly(st.just(kid), _raw(32) | st.text(max_size=44)),
            "epk": _mostly(epk, json_values),
        },
    )
    header = st.builds(
        _merged,
        header,
        _mostly(
            st.just({}),
            st.sampled_from(["zip", "crit", "jwk", "x5u", "apu"]).map(lambda m: {m: "DEF"}),
        ),
    )
    protected_header = st.fixed_dictionaries(
        {
            "enc": _mostly(st.just("A256GCM"), st.sampled_from(["A128GCM", "A256CBC-HS512"])),
            "typ": _mostly(st.just("safeshare-envelope+jwe"), st.sampled_from(["JWE", ""])),
            "cty": _mostly(st.just("safeshare+sd-jwt"), st.sampled_from(["JWT", "json"])),
        },
    )
    protected_header = st.builds(
        _merged,
        protected_header,
        _mostly(st.just({}), st.sampled_from([{"zip": "DEF"}, {"alg": "none"}, {"crit": []}])),
    )
    entry = st.fixed_dictionaries(
        {"header": header, "encrypted_key": _mostly(_raw(40), _any_b64)},
    )
    return draw(
        st.fixed_dictionaries(
            {
                "protected": _mostly(
                    protected_header.map(lambda h: _b64(strictjson.dumps(h))), _any_b64
                ),
                "recipients": _mostly(
                    st.lists(entry, min_size=1, max_size=3), st.lists(entry, max_size=0)
                ),
                "iv": _mostly(_raw(12), _any_b64),
                "ciphertext": _mostly(_raw(64), _any_b64),
                "tag": _mostly(_raw(16), _any_b64),
            },
        ).flatmap(
            lambda doc: st.builds(
                _merged,
                st.just(doc),
                _mostly(
                    st.just({}),
                    st.sampled_from([{"aad": ""}, {"unprotected": {}}, {"header": {}}]),
                ),
            )
        )
    )


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048) | any_text)
def test_arbitrary_bytes_and_text_fail_cleanly(
    testnet: TestNetwork, module_caches: ReplayCaches, data: bytes | str
) -> None:
    expect_rejected(testnet, data, module_caches)


@settings(max_examples=200, deadline=None)
@given(document=json_documents, ascii_only=st.booleans())
def test_arbitrary_json_fails_cleanly(
    testnet: TestNetwork, module_caches: ReplayCaches, document: Any, ascii_only: bool
) -> None:
    expect_rejected(testnet, json.dumps(document, ensure_ascii=ascii_only), module_caches)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_envelope_shaped_json_fails_cleanly(
    testnet: TestNetwork, module_caches: ReplayCaches, data: st.DataObject
) -> None:
    kid = testnet.keysets[XB].decryption_key.kid
    document = data.draw(envelope_shaped(kid))
    expect_rejected(testnet, json.dumps(document), module_caches)
