"""The trust registry: signed loading, rollback protection, typed key lookups."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose import jws
from safeshare.errors import (
    AgencySuspendedError,
    ExpiredError,
    KeyNotValidError,
    KeyRevokedError,
    MalformedInputError,
    NotYetValidError,
    OversizedInputError,
    RegistryRollbackError,
    SafeShareError,
    StorageError,
    UnknownAgencyError,
    UnknownKeyError,
    UsageError,
    VerificationError,
    WrongKeyUseError,
)
from safeshare.keys import AgencyKeySet, DecryptionKey, EncryptionKey, SigningKey, VerifyKey
from safeshare.registry import (
    DEFAULT_SKEW,
    MAX_REGISTRY_BYTES,
    REGISTRY_TYP,
    ContactPoint,
    RegistryDocument,
    RegistryKey,
    RegistryState,
    TrustRegistry,
    sign_registry,
)
from tests.conftest import (
    KEYS_VALID_FROM,
    NOW,
    REGISTRY_VALIDITY,
    XA,
    XB,
    RegistryBuilder,
    make_agency,
)

SECOND = timedelta(seconds=1)


def flattened(data: bytes) -> dict[str, str]:
    doc: dict[str, str] = json.loads(data)
    return doc


def payload_of(data: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(b64u_decode(flattened(data)["payload"]))
    return payload


def sign_payload(payload: bytes, key: SigningKey, **header: Any) -> bytes:
    """Sign arbitrary payload bytes as a registry (bypassing document validation)."""
    return strictjson.pretty(jws.sign_flattened({"typ": REGISTRY_TYP, **header}, payload, key))


def sign_json(value: Any, key: SigningKey, **header: Any) -> bytes:
    return sign_payload(strictjson.dumps(value), key, **header)


def flip(text: str, position: int) -> str:
    raw = bytearray(b64u_decode(text))
    raw[position] ^= 0x01
    return b64u_encode(bytes(raw))


# -- building, signing, loading -----------------------------------------------


def test_valid_registry_loads(
    registry_builder: RegistryBuilder, signed_registry: bytes, trust_registry: TrustRegistry
) -> None:
    document = registry_builder.document()
    assert trust_registry.document == document
    assert trust_registry.serial == 1
    assert trust_registry.authority_kid == registry_builder.authority.kid
    payload = b64u_decode(flattened(signed_registry)["payload"])
    assert trust_registry.digest == hashlib.sha256(payload).hexdigest()
    assert [a.id for a in trust_registry] == [XA, XB]
    assert trust_registry.agency(XB).country == "XB"


def test_signed_file_is_a_flattened_jws(signed_registry: bytes, authority_key: SigningKey) -> None:
    doc = flattened(signed_registry)
    assert set(doc) == {"payload", "protected", "signature"}
    header = json.loads(b64u_decode(doc["protected"]))
    assert header == {"alg": "Ed25519", "kid": authority_key.kid, "typ": REGISTRY_TYP}
    authority_key.public.verify(
        b64u_decode(doc["signature"]), f"{doc['protected']}.{doc['payload']}".encode()
    )


def test_load_from_file(
    registry_builder: RegistryBuilder, signed_registry: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "registry.jws.json"
    path.write_bytes(signed_registry)
    loaded = TrustRegistry.load(path, registry_builder.authority.public, now=NOW)
    assert loaded.document == registry_builder.document()


def test_missing_registry_file(registry_builder: RegistryBuilder, tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        TrustRegistry.load(tmp_path / "absent", registry_builder.authority.public, now=NOW)


def test_trust_registry_cannot_be_built_directly(registry_builder: RegistryBuilder) -> None:
    with pytest.raises(UsageError, match="load"):
        TrustRegistry(registry_builder.document(), "kid", "digest", object())


def test_signing_needs_issue_times(registry_builder: RegistryBuilder) -> None:
    with pytest.raises(UsageError, match="issued_at"):
        sign_registry(registry_builder.draft(), registry_builder.authority)


def test_next_version_sets_serial_and_times(registry_builder: RegistryBuilder) -> None:
    draft = registry_builder.draft()
    issued = draft.next_version(now=NOW + timedelta(microseconds=5), valid_for=timedelta(days=2))
    assert issued.serial == draft.serial + 1
    assert issued.issued_at == NOW
    assert issued.expires_at == NOW + timedelta(days=2)
    assert draft.issued_at is None  # the draft is unchanged
    with pytest.raises(UsageError):
        draft.next_version(now=NOW, valid_for=timedelta(0))
    with pytest.raises(UsageError):
        draft.next_version(now=datetime(2026, 1, 1), valid_for=timedelta(days=1))


def test_unsigned_document_file_round_trip(
    registry_builder: RegistryBuilder, tmp_path: Path
) -> None:
    document = registry_builder.document()
    document.save(tmp_path / "draft.json")
    assert RegistryDocument.load(tmp_path / "draft.json") == document
    assert RegistryDocument.from_json(document.to_json()) == document


def test_unsigned_document_with_duplicate_members(registry_builder: RegistryBuilder) -> None:
    text = registry_builder.document().to_json()
    with pytest.raises(MalformedInputError, match="'name'"):
        RegistryDocument.from_json(b'{"name":"Evil",' + text.lstrip()[1:])


# -- signature, header and authority -------------------------------------------


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_byte_in_signature(
    registry_builder: RegistryBuilder, signed_registry: bytes, where: str
) -> None:
    doc = flattened(signed_registry)
    position = {"first": 0, "middle": 32, "last": 63}[where]
    tampered = {**doc, "signature": flip(doc["signature"], position)}
    with pytest.raises(VerificationError):
        registry_builder.load(json.dumps(tampered).encode())


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_byte_in_payload(
    registry_builder: RegistryBuilder, signed_registry: bytes, where: str
) -> None:
    doc = flattened(signed_registry)
    length = len(b64u_decode(doc["payload"]))
    position = {"first": 0, "middle": length // 2, "last": length - 1}[where]
    tampered = {**doc, "payload": flip(doc["payload"], position)}
    with pytest.raises(VerificationError):
        registry_builder.load(json.dumps(tampered).encode())


def test_meaningful_payload_change_is_refused(
    registry_builder: RegistryBuilder, signed_registry: bytes
) -> None:
    doc = flattened(signed_registry)
    payload = payload_of(signed_registry)
    payload["agencies"][1]["status"] = "active"
    payload["expires_at"] = "2099-01-01T00:00:00Z"
    tampered = {**doc, "payload": b64u_encode(strictjson.dumps(payload))}
    with pytest.raises(VerificationError):
        registry_builder.load(json.dumps(tampered).encode())


def test_signed_by_another_key(
    registry_builder: RegistryBuilder, other_authority_key: SigningKey
) -> None:
    data = registry_builder.sign(registry_builder.document(), other_authority_key)
    with pytest.raises(VerificationError, match="pinned authority") as info:
        registry_builder.load(data)
    assert registry_builder.authority.kid in info.value.message


def test_pinning_another_authority(signed_registry: bytes, other_authority_key: SigningKey) -> None:
    with pytest.raises(VerificationError):
        TrustRegistry.from_signed(signed_registry, other_authority_key.public, now=NOW)


def test_other_signature_under_authority_kid(
    registry_builder: RegistryBuilder, other_authority_key: SigningKey
) -> None:
    payload = strictjson.dumps(registry_builder.document().model_dump(mode="json"))
    doc = json.loads(sign_payload(payload, other_authority_key, kid=registry_builder.authority.kid))
    with pytest.raises(VerificationError):
        registry_builder.load(json.dumps(doc).encode())


@pytest.mark.parametrize("alg", ["EdDSA", "none", "None", "HS256", "ES256", "RS256", "ed25519"])
def test_header_alg_other_than_ed25519(registry_builder: RegistryBuilder, alg: str) -> None:
    payload = strictjson.dumps(registry_builder.document().model_dump(mode="json"))
    data = sign_payload(payload, registry_builder.authority, alg=alg)
    with pytest.raises(MalformedInputError, match="alg"):
        registry_builder.load(data)


def test_alg_none_with_empty_signature(registry_builder: RegistryBuilder) -> None:
    payload = strictjson.dumps(registry_builder.document().model_dump(mode="json"))
    doc = flattened(sign_payload(payload, registry_builder.authority, alg="none"))
    with pytest.raises(MalformedInputError):
        registry_builder.load(json.dumps({**doc, "signature": ""}).encode())


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "JWT"},
        {"typ": "safeshare-envelope+jwe"},
        {
            "jwk": {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            }
        },
        {"crit": ["exp"], "exp": 1},
        {"zip": "DEF"},
        {"cty": "json"},
    ],
)
def test_header_rules_apply(registry_builder: RegistryBuilder, header: dict[str, Any]) -> None:
    payload = strictjson.dumps(registry_builder.document().model_dump(mode="json"))
    data = sign_payload(payload, registry_builder.authority, **header)
    with pytest.raises(MalformedInputError):
        registry_builder.load(data)


# -- strict parsing of the file and of the signed document ----------------------


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ((), "comment"),
        (("agencies", 0), "backdoor"),
        (("agencies", 1, "safeguards"), "note"),
        (("agencies", 0, "keys", 0), "x5c"),
        (("agencies", 0, "contact"), "fax"),
    ],
)
def test_unknown_fields_in_signed_document(
    registry_builder: RegistryBuilder, path: tuple[str | int, ...], extra: str
) -> None:
    value = registry_builder.document().model_dump(mode="json")
    target: Any = value
    for step in path:
        target = target[step]
    target[extra] = "x"
    with pytest.raises(MalformedInputError, match="unknown field"):
        registry_builder.load(sign_json(value, registry_builder.authority))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("serial", "2"),  # no string-to-number coercion in signed content
        ("serial", 1.0),
        ("serial", True),
        ("serial", -1),
        ("serial", 2**53),
        ("format", "safeshare-registry/v2"),
        ("issued_at", 1796040000),
        ("agencies", {}),
        ("name", ""),
    ],
)
def test_wrong_types_in_signed_document(
    registry_builder: RegistryBuilder, member: str, value: object
) -> None:
    doc = registry_builder.document().model_dump(mode="json")
    doc[member] = value
    with pytest.raises(MalformedInputError, match=r"invalid|2\*\*53"):
        registry_builder.load(sign_json(doc, registry_builder.authority))


@pytest.mark.parametrize("member", ["issued_at", "expires_at"])
def test_signed_document_without_issue_times(
    registry_builder: RegistryBuilder, member: str
) -> None:
    doc = registry_builder.document().model_dump(mode="json")
    other = "expires_at" if member == "issued_at" else "issued_at"
    del doc[member]
    with pytest.raises(MalformedInputError):
        registry_builder.load(sign_json(doc, registry_builder.authority))
    del doc[other]
    with pytest.raises(MalformedInputError, match="issued_at and expires_at"):
        registry_builder.load(sign_json(doc, registry_builder.authority))


@pytest.mark.parametrize("value", [[], "registry", None, 1])
def test_signed_payload_that_is_not_an_object(
    registry_builder: RegistryBuilder, value: object
) -> None:
    with pytest.raises(MalformedInputError):
        registry_builder.load(sign_json(value, registry_builder.authority))


def test_duplicate_member_in_signed_payload(registry_builder: RegistryBuilder) -> None:
    payload = strictjson.dumps(registry_builder.document().model_dump(mode="json"))
    assert payload.startswith(b"{")
    duplicated = b'{"name":"Shadow registry",' + payload[1:]
    with pytest.raises(MalformedInputError, match="'name'"):
        registry_builder.load(sign_payload(duplicated, registry_builder.authority))


def test_nested_duplicate_member_in_signed_payload(registry_builder: RegistryBuilder) -> None:
    payload = strictjson.dumps(registry_builder.document().model_dump(mode="json"))
    marker = b'"suspensions":[]'
    assert marker in payload
    duplicated = payload.replace(marker, marker + b',"suspensions":[]', 1)
    with pytest.raises(MalformedInputError, match="'suspensions'"):
        registry_builder.load(sign_payload(duplicated, registry_builder.authority))


@pytest.mark.parametrize("member", ["payload", "protected", "signature"])
def test_duplicate_member_in_outer_json(
    registry_builder: RegistryBuilder, signed_registry: bytes, member: str
) -> None:
    doc = flattened(signed_registry)
    other = flattened(registry_builder.signed(now=NOW - timedelta(days=1)))
    text = json.dumps(doc)
    # Put another value for the same member first: a last-wins parser sees `doc`.
    forged = "{" + json.dumps(member) + ":" + json.dumps(other[member]) + "," + text[1:]
    with pytest.raises(MalformedInputError, match=repr(member)):
        registry_builder.load(forged.encode())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"payload":"","protected":"","signature":""}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_malformed_outer_document(registry_builder: RegistryBuilder, data: bytes) -> None:
    with pytest.raises(MalformedInputError):
        registry_builder.load(data)


def test_unprotected_header_member_is_refused(
    registry_builder: RegistryBuilder, signed_registry: bytes
) -> None:
    doc: dict[str, Any] = dict(flattened(signed_registry))
    doc["header"] = {"kid": "x"}
    with pytest.raises(MalformedInputError, match="header"):
        registry_builder.load(json.dumps(doc).encode())


def test_oversized_registry(registry_builder: RegistryBuilder, tmp_path: Path) -> None:
    data = b" " * (MAX_REGISTRY_BYTES + 1)
    with pytest.raises(OversizedInputError):
        registry_builder.load(data)
    path = tmp_path / "big.json"
    path.write_bytes(data)
    with pytest.raises(OversizedInputError):
        TrustRegistry.load(path, registry_builder.authority.public, now=NOW)


def test_oversized_signed_payload(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document().model_dump(mode="json")
    doc["name"] = "x" * MAX_REGISTRY_BYTES
    with pytest.raises(OversizedInputError):
        registry_builder.load(sign_json(doc, registry_builder.authority))


# -- validity of the registry itself --------------------------------------------


def test_expiry_boundary(registry_builder: RegistryBuilder, signed_registry: bytes) -> None:
    expires = NOW + REGISTRY_VALIDITY
    assert registry_builder.load(signed_registry, now=expires - SECOND).serial == 1
    with pytest.raises(ExpiredError, match="expired"):
        registry_builder.load(signed_registry, now=expires)
    with pytest.raises(ExpiredError):
        registry_builder.load(signed_registry, now=expires + timedelta(days=365))


def test_issued_in_the_future(registry_builder: RegistryBuilder) -> None:
    issued = NOW + timedelta(hours=1)
    data = registry_builder.signed(now=issued)
    assert registry_builder.load(data, now=issued - DEFAULT_SKEW).serial == 1
    with pytest.raises(NotYetValidError, match="future"):
        registry_builder.load(data, now=issued - DEFAULT_SKEW - SECOND)
    with pytest.raises(NotYetValidError):
        registry_builder.load(data, now=NOW)


def test_custom_skew(registry_builder: RegistryBuilder) -> None:
    data = registry_builder.signed(now=NOW + timedelta(minutes=30))
    with pytest.raises(NotYetValidError):
        registry_builder.load(data, now=NOW)
    loaded = TrustRegistry.from_signed(
        data, registry_builder.authority.public, now=NOW, skew=timedelta(hours=1)
    )
    assert loaded.serial == 1


def test_naive_now_is_refused(registry_builder: RegistryBuilder, signed_registry: bytes) -> None:
    with pytest.raises(UsageError, match="timezone-aware"):
        registry_builder.load(signed_registry, now=datetime(2026, 11, 29, 12))


def test_other_time_zones_are_the_same_instant(
    registry_builder: RegistryBuilder, signed_registry: bytes
) -> None:
    expires_elsewhere = (NOW + REGISTRY_VALIDITY).astimezone(timezone(timedelta(hours=-5)))
    with pytest.raises(ExpiredError):
        registry_builder.load(signed_registry, now=expires_elsewhere)


# -- rollback and fork protection ----------------------------------------------


def _versions(builder: RegistryBuilder, count: int) -> list[bytes]:
    """Signed serials 1..count, each issued one minute after the previous."""
    document = builder.draft()
    out = []
    for i in range(count):
        document = document.next_version(
            now=NOW + timedelta(minutes=i), valid_for=REGISTRY_VALIDITY
        )
        out.append(builder.sign(document))
    return out


def test_rollback_to_a_lower_serial(registry_builder: RegistryBuilder) -> None:
    v1, v2 = _versions(registry_builder, 2)
    state = RegistryState()
    assert registry_builder.load(v2, now=NOW + timedelta(minutes=2), state=state).serial == 2
    with pytest.raises(RegistryRollbackError, match="older") as info:
        registry_builder.load(v1, now=NOW + timedelta(minutes=2), state=state)
    assert info.value.hint is not None
    assert state.last_accepted(registry_builder.authority.kid) == (
        2,
        hashlib.sha256(b64u_decode(flattened(v2)["payload"])).hexdigest(),
    )


def test_same_serial_same_content_is_accepted_again(registry_builder: RegistryBuilder) -> None:
    state = RegistryState()
    v1 = registry_builder.signed()
    first = registry_builder.load(v1, state=state)
    second = registry_builder.load(v1, state=state)
    assert first.digest == second.digest


def test_same_serial_different_content_is_a_fork(registry_builder: RegistryBuilder) -> None:
    state = RegistryState()
    registry_builder.load(registry_builder.signed(), state=state)
    fork = registry_builder.document().with_suspension(XB, at=NOW)
    assert fork.serial == 1
    with pytest.raises(RegistryRollbackError, match="different content"):
        registry_builder.load(registry_builder.sign(fork), state=state)


def test_newer_serial_is_accepted_and_remembered(registry_builder: RegistryBuilder) -> None:
    v1, v2, v3 = _versions(registry_builder, 3)
    state = RegistryState()
    later = NOW + timedelta(minutes=5)
    for data in (v1, v3):
        registry_builder.load(data, now=later, state=state)
    with pytest.raises(RegistryRollbackError):
        registry_builder.load(v2, now=later, state=state)


def test_refused_registry_does_not_advance_the_state(registry_builder: RegistryBuilder) -> None:
    v1, v2 = _versions(registry_builder, 2)
    state = RegistryState()
    # v2 with a broken signature, then v2 expired: neither may be remembered.
    doc = flattened(v2)
    broken = json.dumps({**doc, "signature": flip(doc["signature"], 5)}).encode()
    with pytest.raises(VerificationError):
        registry_builder.load(broken, now=NOW + timedelta(minutes=2), state=state)
    with pytest.raises(ExpiredError):
        registry_builder.load(v2, now=NOW + timedelta(days=30), state=state)
    assert state.last_accepted(registry_builder.authority.kid) is None
    assert registry_builder.load(v1, now=NOW + timedelta(minutes=2), state=state).serial == 1


def test_state_is_kept_per_authority(
    registry_builder: RegistryBuilder, other_authority_key: SigningKey
) -> None:
    other = RegistryBuilder(other_authority_key, registry_builder.keysets)
    state = RegistryState()
    registry_builder.load(
        _versions(registry_builder, 3)[2], now=NOW + timedelta(minutes=3), state=state
    )
    assert other.load(other.signed(), state=state).serial == 1


def test_state_file_survives_a_new_state_object(
    registry_builder: RegistryBuilder, tmp_path: Path
) -> None:
    v1, v2 = _versions(registry_builder, 2)
    path = tmp_path / "registry-state.json"
    registry_builder.load(v2, now=NOW + timedelta(minutes=2), state=RegistryState(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = RegistryState(path)
    assert fresh.last_accepted(registry_builder.authority.kid) is not None
    with pytest.raises(RegistryRollbackError):
        registry_builder.load(v1, now=NOW + timedelta(minutes=2), state=fresh)
    # The same version is still accepted after the restart.
    registry_builder.load(v2, now=NOW + timedelta(minutes=2), state=RegistryState(path))


@pytest.mark.parametrize(
    "content",
    [b"[]", b"garbage", b'{"k":"not an object"}', b'{"k":{"serial":"7"}}', b'{"a":1,"a":2}'],
)
def test_damaged_state_file(
    registry_builder: RegistryBuilder, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content.replace(b'"k"', json.dumps(registry_builder.authority.kid).encode()))
    with pytest.raises(MalformedInputError):
        registry_builder.load(registry_builder.signed(), state=RegistryState(path))


# -- lookups ----------------------------------------------------------------------


def test_resolve_signing_and_encryption_keys(
    trust_registry: TrustRegistry, xa_keys: AgencyKeySet, xb_keys: AgencyKeySet
) -> None:
    for keyset in (xa_keys, xb_keys):
        sig = trust_registry.resolve_key(keyset.agency, keyset.signing_key.kid, "sig", at=NOW)
        assert isinstance(sig, VerifyKey)
        assert sig == keyset.signing_key.public
        assert trust_registry.verify_key(keyset.agency, keyset.signing_key.kid, at=NOW) == sig
        enc = trust_registry.resolve_key(keyset.agency, keyset.decryption_key.kid, "enc", at=NOW)
        assert isinstance(enc, EncryptionKey)
        assert enc == keyset.decryption_key.public
        assert trust_registry.encryption_key(keyset.agency, at=NOW) == enc


def test_wrong_key_use(trust_registry: TrustRegistry, xa_keys: AgencyKeySet) -> None:
    with pytest.raises(WrongKeyUseError, match="'enc'"):
        trust_registry.resolve_key(XA, xa_keys.decryption_key.kid, "sig", at=NOW)
    with pytest.raises(WrongKeyUseError, match="'sig'"):
        trust_registry.resolve_key(XA, xa_keys.signing_key.kid, "enc", at=NOW)
    with pytest.raises(WrongKeyUseError):
        trust_registry.verify_key(XA, xa_keys.decryption_key.kid, at=NOW)


@pytest.mark.parametrize("agency", ["XC-NONE", "xa-npol", "XA-NPOL ", "", "XA"])
def test_unknown_agency(trust_registry: TrustRegistry, xa_keys: AgencyKeySet, agency: str) -> None:
    with pytest.raises(UnknownAgencyError):
        trust_registry.resolve_key(agency, xa_keys.signing_key.kid, "sig", at=NOW)
    with pytest.raises(UnknownAgencyError):
        trust_registry.encryption_key(agency, at=NOW)
    with pytest.raises(UnknownAgencyError):
        trust_registry.agency(agency)


@pytest.mark.parametrize("agency", [None, 5, ["XA-NPOL"], {"id": "XA-NPOL"}])
def test_non_string_agency_is_unknown(trust_registry: TrustRegistry, agency: Any) -> None:
    with pytest.raises(UnknownAgencyError):
        trust_registry.agency(agency)


@pytest.mark.parametrize(
    "kid",
    [
        SigningKey.from_private_bytes(bytes(32)).kid,
        "../../etc/passwd",
        "' OR '1'='1",
        "kid\x00",
        "A" * 10 * 1024,
        "",
    ],
)
def test_unknown_kid(trust_registry: TrustRegistry, kid: str) -> None:
    with pytest.raises(UnknownKeyError) as info:
        trust_registry.resolve_key(XA, kid, "sig", at=NOW)
    assert len(info.value.message) < 300


def test_another_agencys_kid_names_the_owner(
    trust_registry: TrustRegistry, xb_keys: AgencyKeySet
) -> None:
    with pytest.raises(UnknownKeyError, match=f"belongs to {XB}"):
        trust_registry.resolve_key(XA, xb_keys.signing_key.kid, "sig", at=NOW)
    with pytest.raises(UnknownKeyError, match=XB):
        trust_registry.verify_key(XA, xb_keys.signing_key.kid, at=NOW)


def test_revocation_takes_effect_at_its_time(
    registry_builder: RegistryBuilder, xa_keys: AgencyKeySet
) -> None:
    revoked_at = NOW + timedelta(hours=1)
    kid = xa_keys.signing_key.kid
    doc = registry_builder.document().with_revoked_key(XA, kid, at=revoked_at, reason="laptop lost")
    registry = registry_builder.registry(doc)
    assert registry.verify_key(XA, kid, at=revoked_at - SECOND) == xa_keys.signing_key.public
    with pytest.raises(KeyRevokedError, match="laptop lost"):
        registry.verify_key(XA, kid, at=revoked_at)
    with pytest.raises(KeyRevokedError):
        registry.verify_key(XA, kid, at=revoked_at + timedelta(days=10))
    # Other keys are not affected.
    registry.resolve_key(XA, xa_keys.decryption_key.kid, "enc", at=revoked_at)


def _key_doc(
    builder: RegistryBuilder,
    key: VerifyKey | EncryptionKey,
    not_before: datetime,
    not_after: datetime | None = None,
) -> TrustRegistry:
    entry = RegistryKey.from_public(key, not_before=not_before, not_after=not_after)
    return builder.registry(builder.document().with_key(XA, entry))


def test_key_validity_window_is_half_open(registry_builder: RegistryBuilder) -> None:
    start, end = NOW + timedelta(days=1), NOW + timedelta(days=2)
    key = SigningKey.generate().public
    registry = _key_doc(registry_builder, key, start, end)
    with pytest.raises(KeyNotValidError, match="not valid before"):
        registry.verify_key(XA, key.kid, at=start - SECOND)
    assert registry.verify_key(XA, key.kid, at=start) == key
    assert registry.verify_key(XA, key.kid, at=end - SECOND) == key
    with pytest.raises(KeyNotValidError, match="expired"):
        registry.verify_key(XA, key.kid, at=end)


def test_revocation_wins_over_validity_window(registry_builder: RegistryBuilder) -> None:
    key = SigningKey.generate().public
    entry = RegistryKey.from_public(key, not_before=NOW)
    doc = registry_builder.document().with_key(XA, entry).with_revoked_key(XA, key.kid, at=NOW)
    with pytest.raises(KeyRevokedError):
        registry_builder.registry(doc).verify_key(XA, key.kid, at=NOW + SECOND)


def test_suspension_takes_effect_at_its_time(
    registry_builder: RegistryBuilder, xb_keys: AgencyKeySet
) -> None:
    suspended_at = NOW + timedelta(hours=3)
    doc = registry_builder.document().with_suspension(
        XB, at=suspended_at, reason="safeguards breached"
    )
    registry = registry_builder.registry(doc)
    before = suspended_at - SECOND
    assert registry.check_active(XB, at=before).id == XB
    assert registry.verify_key(XB, xb_keys.signing_key.kid, at=before) == xb_keys.signing_key.public
    assert registry.encryption_key(XB, at=before) == xb_keys.decryption_key.public
    with pytest.raises(AgencySuspendedError, match="safeguards breached"):
        registry.check_active(XB, at=suspended_at)
    with pytest.raises(AgencySuspendedError):
        registry.verify_key(XB, xb_keys.signing_key.kid, at=suspended_at)
    with pytest.raises(AgencySuspendedError):
        registry.resolve_key(XB, xb_keys.decryption_key.kid, "enc", at=suspended_at)
    with pytest.raises(AgencySuspendedError):
        registry.encryption_key(XB, at=suspended_at)
    # XA is not affected.
    registry.check_active(XA, at=suspended_at)


def test_reinstatement_keeps_the_suspended_period(
    registry_builder: RegistryBuilder, xb_keys: AgencyKeySet
) -> None:
    lifted = NOW + timedelta(hours=1)
    doc = registry_builder.document().with_suspension(XB, at=NOW).with_reinstatement(XB, at=lifted)
    registry = registry_builder.registry(doc)
    kid = xb_keys.signing_key.kid
    assert registry.verify_key(XB, kid, at=NOW - SECOND) == xb_keys.signing_key.public
    with pytest.raises(AgencySuspendedError, match="until"):
        registry.verify_key(XB, kid, at=NOW)
    with pytest.raises(AgencySuspendedError):
        registry.verify_key(XB, kid, at=lifted - SECOND)
    assert registry.verify_key(XB, kid, at=lifted) == xb_keys.signing_key.public
    agency = registry.agency(XB)
    assert (agency.status_at(lifted), agency.status_at(NOW)) == ("active", "suspended")
    assert agency.open_suspension is None


def test_suspension_edits_are_checked(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    _assert_refused(doc, lambda d: d.with_reinstatement(XB, at=NOW), UsageError)
    suspended = doc.with_suspension(XB, at=NOW)
    _assert_refused(suspended, lambda d: d.with_suspension(XB, at=NOW + SECOND), UsageError)
    _assert_refused(suspended, lambda d: d.with_reinstatement(XB, at=NOW), UsageError)
    again = suspended.with_reinstatement(XB, at=NOW + SECOND).with_suspension(
        XB, at=NOW + 2 * SECOND
    )
    assert [p.end for p in again.agency(XB).suspensions] == [NOW + SECOND, None]


def test_revocation_can_move_earlier_but_not_later(
    registry_builder: RegistryBuilder, xa_keys: AgencyKeySet
) -> None:
    kid = xa_keys.signing_key.kid
    doc = registry_builder.document().with_revoked_key(XA, kid, at=NOW)
    _assert_refused(doc, lambda d: d.with_revoked_key(XA, kid, at=NOW + SECOND), UsageError)
    earlier = doc.with_revoked_key(XA, kid, at=NOW - SECOND)
    assert earlier.agency(XA).keys[0].revoked_at == NOW - SECOND


def test_lookups_refuse_naive_times(trust_registry: TrustRegistry, xa_keys: AgencyKeySet) -> None:
    naive = datetime(2026, 11, 29, 12)
    with pytest.raises(UsageError):
        trust_registry.resolve_key(XA, xa_keys.signing_key.kid, "sig", at=naive)
    with pytest.raises(UsageError):
        trust_registry.encryption_key(XA, at=naive)
    with pytest.raises(UsageError):
        trust_registry.check_active(XA, at=naive)


def test_encryption_key_picks_the_newest_valid_key(registry_builder: RegistryBuilder) -> None:
    old = registry_builder.keysets[XA].decryption_key.public  # valid from KEYS_VALID_FROM
    newer, newest, future = (DecryptionKey.generate().public for _ in range(3))
    doc = registry_builder.document()
    # Listed out of order on purpose: the choice is by not_before, not by position.
    for key, start in (
        (future, NOW + timedelta(days=3)),
        (newest, NOW - timedelta(days=1)),
        (newer, NOW - timedelta(days=10)),
    ):
        doc = doc.with_key(XA, RegistryKey.from_public(key, not_before=start))
    registry = registry_builder.registry(doc)
    assert registry.encryption_key(XA, at=NOW) == newest
    assert registry.encryption_key(XA, at=NOW - timedelta(days=5)) == newer
    assert registry.encryption_key(XA, at=NOW - timedelta(days=20)) == old
    assert registry.encryption_key(XA, at=NOW + timedelta(days=3)) == future


def test_encryption_key_skips_revoked_keys(registry_builder: RegistryBuilder) -> None:
    old = registry_builder.keysets[XA].decryption_key.public
    newer = DecryptionKey.generate().public
    doc = registry_builder.document().with_key(
        XA, RegistryKey.from_public(newer, not_before=NOW - timedelta(days=1))
    )
    doc = doc.with_revoked_key(XA, newer.kid, at=NOW - timedelta(hours=1), reason="compromised")
    registry = registry_builder.registry(doc)
    assert registry.encryption_key(XA, at=NOW) == old
    # Before the revocation the newer key was the one to use.
    assert registry.encryption_key(XA, at=NOW - timedelta(hours=2)) == newer
    all_revoked = registry_builder.registry(doc.with_revoked_key(XA, old.kid, at=NOW))
    with pytest.raises(KeyRevokedError, match="no encryption key valid"):
        all_revoked.encryption_key(XA, at=NOW)


def test_encryption_key_not_yet_valid(registry_builder: RegistryBuilder) -> None:
    with pytest.raises(KeyNotValidError, match="no encryption key valid"):
        registry_builder.registry(registry_builder.document()).encryption_key(
            XA, at=KEYS_VALID_FROM - SECOND
        )


def test_encryption_key_without_any(registry_builder: RegistryBuilder) -> None:
    keyset = AgencyKeySet.generate("XC-CUSTOMS")
    agency = make_agency(keyset)
    sig_only = agency.model_copy(update={"keys": agency.keys[:1]})
    doc = registry_builder.document().with_agency(sig_only)
    with pytest.raises(UnknownKeyError, match="no encryption key"):
        registry_builder.registry(doc).encryption_key("XC-CUSTOMS", at=NOW)


# -- editing: validation errors leave the original unchanged ----------------------


def _assert_refused(doc: RegistryDocument, change: Any, error: type[SafeShareError]) -> None:
    before = doc.model_dump(mode="json")
    with pytest.raises(error):
        change(doc)
    assert doc.model_dump(mode="json") == before


def test_duplicate_agency_id(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    again = make_agency(AgencyKeySet.generate(XA))
    _assert_refused(doc, lambda d: d.with_agency(again), UsageError)


def test_kid_listed_under_two_agencies(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    xa_key = doc.agency(XA).keys[0]
    _assert_refused(doc, lambda d: d.with_key(XB, xa_key), UsageError)
    with pytest.raises(UsageError, match="listed for both"):
        doc.with_key(XB, xa_key)
    stolen = make_agency(AgencyKeySet.generate("XC-CUSTOMS"))
    stolen = stolen.model_copy(update={"keys": (*stolen.keys, xa_key)})
    _assert_refused(doc, lambda d: d.with_agency(stolen), UsageError)


def test_same_kid_twice_for_one_agency(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    _assert_refused(doc, lambda d: d.with_key(XA, d.agency(XA).keys[0]), UsageError)


def test_agency_id_must_start_with_its_country(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    agency = make_agency(AgencyKeySet.generate("XC-CUSTOMS"))
    wrong = agency.model_copy(update={"country": "XD"})
    _assert_refused(doc, lambda d: d.with_agency(wrong), UsageError)
    with pytest.raises(UsageError, match="country code"):
        doc.with_agency(wrong)


@pytest.mark.parametrize("agency_id", ["xc-customs", "XC", "XC-", "XC-customs", "XC-A B", "X1-ABC"])
def test_agency_id_format(registry_builder: RegistryBuilder, agency_id: str) -> None:
    doc = registry_builder.document()
    agency = make_agency(AgencyKeySet.generate("XC-CUSTOMS"), with_keys=False)
    wrong = agency.model_copy(update={"id": agency_id})
    _assert_refused(doc, lambda d: d.with_agency(wrong), UsageError)


@pytest.mark.parametrize(
    "contact",
    [
        ContactPoint.model_construct(name="Desk", email=None, phone=None, available_24_7=False),
        ContactPoint.model_construct(
            name="Desk", email="no-at-sign", phone=None, available_24_7=False
        ),
        ContactPoint.model_construct(name="Desk", email="a b@c", phone=None, available_24_7=False),
        ContactPoint.model_construct(
            name="Desk", email=None, phone="call me", available_24_7=False
        ),
        ContactPoint.model_construct(name="", email="a@b", phone=None, available_24_7=False),
    ],
)
def test_bad_contact(registry_builder: RegistryBuilder, contact: ContactPoint) -> None:
    doc = registry_builder.document()
    agency = make_agency(AgencyKeySet.generate("XC-CUSTOMS"), with_keys=False)
    wrong = agency.model_copy(update={"contact": contact})
    _assert_refused(doc, lambda d: d.with_agency(wrong), UsageError)


def test_24_7_contact_must_be_available(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    agency = make_agency(AgencyKeySet.generate("XC-CUSTOMS"), with_keys=False)
    wrong = agency.model_copy(update={"contact_24_7": ContactPoint(name="Office", phone="+1 555")})
    _assert_refused(doc, lambda d: d.with_agency(wrong), UsageError)


def test_bad_key_entries(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    key = SigningKey.generate().public
    good = RegistryKey.from_public(key, not_before=NOW)
    bad_entries = [
        good.model_copy(update={"not_after": NOW}),  # empty window
        good.model_copy(update={"kid": SigningKey.generate().kid}),  # kid is not the thumbprint
        good.model_copy(update={"use": "enc"}),
        good.model_copy(update={"alg": "ECDH-ES+A256KW"}),
        good.model_copy(update={"revocation_reason": "no time given"}),
        good.model_copy(update={"jwk": {**good.jwk, "d": "AAAA"}}),
    ]
    for entry in bad_entries:
        _assert_refused(doc, lambda d, e=entry: d.with_key(XA, e), UsageError)


@pytest.mark.parametrize(
    "update",
    [
        {"revoked_at": NOW, "revocation_reason": ""},  # Text needs at least one character
        {"revoked_at": NOW, "revocation_reason": "x" * 501},
        {"not_before": datetime(2026, 1, 1)},  # naive
        {"revoked_at": datetime(2026, 1, 1)},  # naive
    ],
    ids=["empty-reason", "long-reason", "naive-not-before", "naive-revoked-at"],
)
def test_key_entry_field_rules_are_checked_by_with_key(
    registry_builder: RegistryBuilder, update: dict[str, Any]
) -> None:
    # An entry changed without validation (model_copy) must still be checked
    # when it enters the document, or the authority signs a registry that no
    # relying party can load.
    doc = registry_builder.document()
    entry = RegistryKey.from_public(SigningKey.generate().public, not_before=NOW)
    _assert_refused(doc, lambda d: d.with_key(XA, entry.model_copy(update=update)), UsageError)


def test_edits_of_unknown_things(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    _assert_refused(doc, lambda d: d.with_revoked_key(XA, "nope", at=NOW), UnknownKeyError)
    _assert_refused(doc, lambda d: d.with_suspension("XC-NONE", at=NOW), UnknownAgencyError)
    _assert_refused(
        doc,
        lambda d: d.with_key(
            "XC-NONE", RegistryKey.from_public(SigningKey.generate().public, not_before=NOW)
        ),
        UnknownAgencyError,
    )


def test_bad_edit_values(registry_builder: RegistryBuilder, xa_keys: AgencyKeySet) -> None:
    doc = registry_builder.document()
    kid = xa_keys.signing_key.kid
    _assert_refused(doc, lambda d: d.with_revoked_key(XA, kid, at=NOW, reason=""), UsageError)
    _assert_refused(doc, lambda d: d.with_suspension(XA, at=NOW, reason="x" * 501), UsageError)
    naive = datetime(2026, 1, 1)
    _assert_refused(doc, lambda d: d.with_suspension(XA, at=naive), UsageError)
    _assert_refused(doc, lambda d: d.with_revoked_key(XA, kid, at=naive), UsageError)


def test_successful_edits_return_copies(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    before = doc.model_dump(mode="json")
    suspended = doc.with_suspension(XA, at=NOW)
    assert suspended.agency(XA).status_at(NOW) == "suspended"
    assert doc.agency(XA).status_at(NOW) == "active"
    assert doc.model_dump(mode="json") == before
    extra = make_agency(AgencyKeySet.generate("XC-CUSTOMS"))
    added = doc.with_agency(extra)
    assert [a.id for a in added.agencies] == [XA, XB, "XC-CUSTOMS"]
    assert len(doc.agencies) == 2


def test_document_time_rules(registry_builder: RegistryBuilder) -> None:
    doc = registry_builder.document()
    with pytest.raises(UsageError):
        doc._replace(expires_at=doc.issued_at)
    with pytest.raises(UsageError):
        doc._replace(expires_at=None)


def test_signed_document_with_invalid_content_is_malformed(
    registry_builder: RegistryBuilder, xa_keys: AgencyKeySet
) -> None:
    # The authority signs something the document rules refuse: loading fails.
    value = registry_builder.document().model_dump(mode="json")
    value["agencies"][1]["keys"].append(value["agencies"][0]["keys"][0])
    with pytest.raises(MalformedInputError, match="listed for both"):
        registry_builder.load(sign_json(value, registry_builder.authority))


def test_utc_timestamps_in_the_signed_payload(signed_registry: bytes) -> None:
    payload = payload_of(signed_registry)
    assert payload["issued_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert datetime.fromisoformat(payload["expires_at"]) == NOW + REGISTRY_VALIDITY
    assert datetime.fromisoformat(payload["issued_at"]).tzinfo is not None
    assert NOW.tzinfo is UTC


@pytest.mark.parametrize(
    "offset",
    [
        timedelta(hours=5, minutes=30),
        timedelta(hours=-3),
        timedelta(minutes=19, seconds=32),  # Amsterdam mean time, used until 1937
        timedelta(seconds=-30),
    ],
    ids=["+05:30", "-03:00", "+00:19:32", "-00:00:30"],
)
def test_key_times_in_any_offset_survive_signing(
    registry_builder: RegistryBuilder, offset: timedelta
) -> None:
    key = SigningKey.generate().public
    start = datetime(2026, 11, 1, 8, 0, tzinfo=timezone(offset))
    entry = RegistryKey(
        kid=key.kid,
        use="sig",
        alg="Ed25519",
        jwk={m: key.to_jwk()[m] for m in ("kty", "crv", "x")},
        not_before=start,
    )
    document = registry_builder.document().with_key(XA, entry)
    loaded = registry_builder.registry(document)
    registered = loaded.agency(XA).keys[-1].not_before
    assert registered == start, f"signed not_before {registered} is not {start}"
    assert loaded.document == document
    with pytest.raises(KeyNotValidError):
        loaded.verify_key(XA, key.kid, at=start - SECOND)
    assert loaded.verify_key(XA, key.kid, at=start) == key
