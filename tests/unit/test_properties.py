"""Property tests (hypothesis) of the foundation's codecs, thumbprints and registry."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare.errors import MalformedInputError
from safeshare.keys import DecryptionKey, EncryptionKey, SigningKey, VerifyKey, jwk_thumbprint
from safeshare.registry import (
    Agency,
    ContactPoint,
    RegistryDocument,
    RegistryKey,
    RegistryState,
    Safeguards,
    Suspension,
    TrustRegistry,
    sign_registry,
)

B64_ALPHABET = string.ascii_letters + string.digits + "-_"
AUTHORITY = SigningKey.from_private_bytes(hashlib.sha256(b"property authority").digest())
ISSUED = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

# -- base64url ---------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_b64u_round_trip(data: bytes) -> None:
    text = b64u_encode(data)
    assert b64u_decode(text) == data
    assert b64u_decode(text.encode("ascii")) == data
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")


@given(st.text(alphabet=B64_ALPHABET, max_size=64))
def test_b64u_decodable_text_re_encodes_to_itself(text: str) -> None:
    try:
        data = b64u_decode(text)
    except MalformedInputError:
        # Refused only for an impossible length or non-zero trailing bits.
        padded = text + "=" * (-len(text) % 4)
        assert (
            len(text) % 4 == 1
            or base64.urlsafe_b64encode(base64.urlsafe_b64decode(padded)).decode().rstrip("=")
            != text
        )
    else:
        assert b64u_encode(data) == text


@given(st.text(max_size=64))
def test_b64u_arbitrary_text_is_canonical_or_refused(text: str) -> None:
    try:
        data = b64u_decode(text)
    except MalformedInputError:
        return
    assert b64u_encode(data) == text


# -- strict JSON -------------------------------------------------------------------

JSON_TOKENS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b'"a"',
    b'"\\ud800"',
    b'"\\u0000"',
    b"1",
    b"-0.5e3",
    b"1e400",
    b"NaN",
    b"true",
    b"null",
    b" ",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3\xa9",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.binary(max_size=200)
    | st.lists(st.sampled_from(JSON_TOKENS), max_size=40).map(b"".join)
    | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_strictjson_loads_returns_a_value_or_raises_malformed(data: bytes) -> None:
    try:
        value = strictjson.loads(data, what="fuzz", max_bytes=150)
    except MalformedInputError:
        return
    # Anything accepted is valid JSON that Python reads the same way.
    assert json.loads(data) == value


@given(json_values)
def test_strictjson_round_trips_valid_json(value: Any) -> None:
    encoded = strictjson.dumps(value)
    assert strictjson.loads(encoded, what="value", max_bytes=1 << 20) == value
    python_encoded = json.dumps(value, ensure_ascii=False).encode()
    assert strictjson.loads(python_encoded, what="value", max_bytes=1 << 20) == value


@given(
    st.dictionaries(
        st.text(max_size=5), st.integers(-(2**53 - 1), 2**53 - 1), min_size=1, max_size=5
    ),
    st.data(),
)
def test_strictjson_finds_any_duplicate_member(
    members: dict[str, int], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(members)))
    text = json.dumps(members)
    duplicated = "{" + json.dumps(name) + ":0," + text[1:]
    with pytest.raises(MalformedInputError, match=re.escape(repr(name))):
        strictjson.loads(duplicated, what="value", max_bytes=1 << 20)


# -- thumbprints --------------------------------------------------------------------

public_keys = st.builds(
    lambda seed, sig: (
        SigningKey.from_private_bytes(seed).public
        if sig
        else DecryptionKey.from_private_bytes(seed).public
    ),
    st.binary(min_size=32, max_size=32),
    st.booleans(),
)


def reference_thumbprint(jwk: dict[str, Any]) -> str:
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")


@given(
    public_keys,
    st.randoms(use_true_random=False),
    st.dictionaries(
        st.sampled_from(["kid", "use", "alg", "key_ops", "ext", "x5c", "d", "n", "e"]),
        st.text(max_size=10),
        max_size=5,
    ),
)
def test_thumbprint_is_stable_under_member_order_and_extra_members(
    key: VerifyKey | EncryptionKey, rng: Any, extra: dict[str, str]
) -> None:
    jwk: dict[str, Any] = {**key.to_jwk(), **extra}
    for name in ("kty", "crv", "x"):
        jwk[name] = key.to_jwk()[name]
    items = list(jwk.items())
    rng.shuffle(items)
    assert jwk_thumbprint(dict(items)) == key.kid == reference_thumbprint(jwk)


@given(public_keys, public_keys)
def test_different_keys_have_different_thumbprints(
    a: VerifyKey | EncryptionKey, b: VerifyKey | EncryptionKey
) -> None:
    assert (a.kid == b.kid) == (a == b)


# -- registry round trip -------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(
    lambda t: t == t.strip() and len(t) >= 1
)
# RFC 3339 offsets are whole minutes.
zones = st.just(UTC) | st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=zones
)
durations = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650))
agency_parts = st.lists(st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True), min_size=1, max_size=4)
instruments = st.from_regex(r"[A-Z0-9][A-Z0-9._-]{0,20}", fullmatch=True)


@st.composite
def contacts(draw: st.DrawFn, *, available: bool | None = None) -> ContactPoint:
    email = draw(st.none() | st.from_regex(r"[a-z0-9._+]{1,12}@[a-z0-9.-]{1,12}", fullmatch=True))
    phone: str | None = draw(st.from_regex(r"\+?[0-9 ()-]{3,32}", fullmatch=True))
    if email is not None:
        phone = draw(st.none() | st.just(phone))
    return ContactPoint(
        name=draw(texts),
        email=email,
        phone=phone,
        available_24_7=draw(st.booleans()) if available is None else available,
    )


@st.composite
def safeguards(draw: st.DrawFn) -> Safeguards:
    return Safeguards(
        max_retention_days=draw(st.integers(1, 36_500)),
        onward_transfer=draw(
            st.sampled_from(["never", "with_prior_authorisation", "domestic_same_conditions"])
        ),
        oversight_body=draw(texts),
        accepted_instruments=tuple(draw(st.lists(instruments, min_size=1, max_size=4))),
        no_solely_automated_decisions=draw(st.booleans()),
        breach_notification_hours=draw(st.none() | st.integers(1, 8760)),
    )


@st.composite
def registry_keys(draw: st.DrawFn, seed: bytes) -> RegistryKey:
    sig = draw(st.booleans())
    public = (
        SigningKey.from_private_bytes(seed).public
        if sig
        else DecryptionKey.from_private_bytes(seed).public
    )
    not_before = draw(instants)
    not_after = draw(st.none() | durations.map(lambda d: not_before + d))
    entry = RegistryKey.from_public(public, not_before=not_before, not_after=not_after)
    if draw(st.booleans()):
        entry = RegistryKey.model_validate(
            entry.model_dump()
            | {"revoked_at": draw(instants), "revocation_reason": draw(st.none() | texts)}
        )
    return entry


@st.composite
def agencies(draw: st.DrawFn, agency_id: str, seeds: list[bytes]) -> Agency:
    keys: dict[str, RegistryKey] = {}
    for seed in seeds:
        entry = draw(registry_keys(seed))
        keys.setdefault(entry.kid, entry)
    starts = sorted(set(draw(st.lists(instants, max_size=3))))
    suspensions = [
        Suspension(
            start=start,
            end=nxt if nxt is not None else draw(st.none() | st.just(start + timedelta(days=1))),
            reason=draw(st.none() | texts),
        )
        for start, nxt in zip(starts, [*starts[1:], None][: len(starts)], strict=True)
    ]
    return Agency(
        id=agency_id,
        name=draw(texts),
        country=agency_id[:2],
        jurisdiction=draw(texts),
        contact=draw(contacts()),
        contact_24_7=draw(st.none() | contacts(available=True)),
        keys=tuple(keys.values()),
        suspensions=tuple(suspensions),
        safeguards=draw(safeguards()),
    )


@st.composite
def registry_documents(draw: st.DrawFn) -> RegistryDocument:
    ids = draw(
        st.lists(
            st.tuples(st.from_regex(r"[A-Z]{2}", fullmatch=True), agency_parts).map(
                lambda t: "-".join([t[0], *t[1]])
            ),
            max_size=4,
            unique=True,
        )
    )
    seeds = draw(st.lists(st.binary(min_size=32, max_size=32), max_size=3 * len(ids), unique=True))
    built: list[Agency] = []
    seen: set[str] = set()
    for i, agency_id in enumerate(ids):
        agency = draw(agencies(agency_id, seeds[i * 3 : i * 3 + 3]))
        # X25519 clamping maps some different seeds to one key: keep kids unique.
        unique = tuple(k for k in agency.keys if k.kid not in seen)
        seen |= {k.kid for k in unique}
        built.append(agency.model_copy(update={"keys": unique}))
    draft = RegistryDocument(
        name=draw(texts),
        serial=draw(st.integers(0, 2**53 - 2)),
        agencies=tuple(Agency.model_validate(a.model_dump()) for a in built),
    )
    return draft.next_version(now=ISSUED, valid_for=draw(durations))


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(registry_documents())
def test_registry_round_trip(document: RegistryDocument) -> None:
    data = sign_registry(document, AUTHORITY)
    state = RegistryState()
    loaded = TrustRegistry.from_signed(data, AUTHORITY.public, now=ISSUED, state=state)
    assert loaded.document == document
    assert loaded.serial == document.serial
    assert state.last_accepted(AUTHORITY.kid) == (document.serial, loaded.digest)
    # The unsigned file format round-trips too, and signing is deterministic.
    assert RegistryDocument.from_json(document.to_json()) == document
    assert sign_registry(loaded.document, AUTHORITY) == data
    for agency in loaded:
        for key in agency.keys:
            assert key.public_key().kid == key.kid
