"""seal / open_envelope through the public API.

The hostile inputs are in the test vectors (tests/vectors); these tests cover
the API's own promises: several recipients, sealing-time refusals, key
rotation, immutability, no leak through errors, and exactly-once opening
across processes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from safeshare import _testnet
from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare.envelope import MAX_RECIPIENTS, OpenedEnvelope, open_envelope, seal
from safeshare.errors import (
    AgencySuspendedError,
    DecryptionError,
    ReplayError,
    SafeShareError,
    UnknownAgencyError,
    UsageError,
)
from safeshare.keys import SECRET_KEY_ACCESS, AgencyKeySet, VerifyKey
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.registry import RegistryKey, TrustRegistry
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW

RECORD: dict[str, Any] = {
    "subscriber_name": "Jana Novak",
    "msisdn": "+99 555 0142",
    "imsi": "999010000000142",
    "address": {"street": "Lindenweg 4", "city": "Arcadia City"},
    "contract_start": "2021-03-01",
    "payment_method": "prepaid",
    "registration_ip": "198.51.100.23",
    "email": "jana.novak@mail.example",
}
SEAL_ARGS: dict[str, Any] = {
    "purpose": "criminal_investigation",
    "legal_basis": "BUDAPEST-2AP.Art7",
    "case_ref": "XA-2026-0042",
    "message_type": "disclosure_response",
}
ACTOR = "officer 4711"


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayCache]:
    with open_store(tmp_path / "replay.db") as store:
        yield ReplayCache(store)


def _seal(net: _testnet.TestNetwork, to: list[str], **kwargs: Any) -> bytes:
    args = SEAL_ARGS | kwargs
    return seal(
        RECORD, sender=net.keysets["XA-NPOL"], to=to, registry=net.registry, now=NOW, **args
    )


def _open(
    net: _testnet.TestNetwork, envelope: bytes, agency: str, replay: ReplayCache
) -> OpenedEnvelope:
    return open_envelope(
        envelope,
        recipient=net.keysets[agency],
        registry=net.registry,
        replay=replay,
        purpose=SEAL_ARGS["purpose"],
        actor=ACTOR,
        recorder=None,  # recording is tested in tests/unit/envelope/test_open_enforcement.py
        now=NOW,
    )


def test_each_recipient_opens_the_same_verified_claims(
    net: _testnet.TestNetwork, tmp_path: Path
) -> None:
    envelope = _seal(net, ["XB-PROS", "XC-CUST"])
    claims = []
    for agency in ("XB-PROS", "XC-CUST"):
        with open_store(tmp_path / f"{agency}.db") as store:
            opened = _open(net, envelope, agency, ReplayCache(store))
        assert opened.recipient == agency
        claims.append(opened.verified_claims())
    assert claims[0] == claims[1]
    assert claims[0]["record"] == RECORD
    assert claims[0]["iss"] == "XA-NPOL"
    assert claims[0]["aud"] == ["XB-PROS", "XC-CUST"]
    assert claims[0]["purpose"] == SEAL_ARGS["purpose"]
    assert claims[0]["case_ref"] == SEAL_ARGS["case_ref"]
    assert claims[0]["exp"] - claims[0]["iat"] == 7 * 24 * 3600
    sealed_to = {net.registry.encryption_key(a, at=NOW).kid for a in ("XB-PROS", "XC-CUST")}
    assert set(claims[0]["sealed_to"]) == sealed_to


def test_an_agency_not_addressed_cannot_open(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = _seal(net, ["XB-PROS"])
    with pytest.raises(DecryptionError):
        _open(net, envelope, "XC-CUST", replay)


def test_handling_conditions_travel_signed(net: _testnet.TestNetwork, replay: ReplayCache) -> None:
    handling = HandlingConditions(
        tlp="RED", retention=Retention(max_days=30, review_days=10), special_categories=("health",)
    )
    opened = _open(net, _seal(net, ["XB-PROS"], handling=handling), "XB-PROS", replay)
    assert opened.handling == handling


def test_the_result_is_immutable(net: _testnet.TestNetwork, replay: ReplayCache) -> None:
    opened = _open(net, _seal(net, ["XB-PROS"]), "XB-PROS", replay)
    with pytest.raises(TypeError):
        opened.record["msisdn"] = "changed"  # type: ignore[index]
    with pytest.raises(TypeError):
        opened.record["address"]["city"] = "elsewhere"
    with pytest.raises(AttributeError):
        opened.purpose = "other"  # type: ignore[misc]


def test_the_record_is_read_only_at_every_level(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    """Objects are mapping proxies and arrays tuples, all the way down (built by reveal)."""
    record = {"logins": [{"ip": "198.51.100.23", "ports": [1, 2]}, []], "n": {"m": {"k": None}}}
    envelope = seal(
        record,
        sender=net.keysets["XA-NPOL"],
        to=["XB-PROS"],
        registry=net.registry,
        now=NOW,
        **SEAL_ARGS,
    )
    opened = _open(net, envelope, "XB-PROS", replay)

    def check(value: Any, plain: Any) -> None:
        if isinstance(plain, dict):
            assert type(value) is MappingProxyType
            assert sorted(value) == sorted(plain)  # disclosed members come in digest order
            for key in plain:
                check(value[key], plain[key])
        elif isinstance(plain, list):
            assert type(value) is tuple
            for item, plain_item in zip(value, plain, strict=True):
                check(item, plain_item)
        else:
            assert value == plain

    check(opened.record, record)
    assert opened.verified_claims()["record"] == record


def test_unencrypted_parts_reveal_no_purpose_case_or_record(net: _testnet.TestNetwork) -> None:
    envelope = _seal(net, ["XB-PROS"])
    doc = strictjson.loads(envelope, what="test", max_bytes=1 << 20)
    visible = strictjson.dumps({k: v for k, v in doc.items() if k != "ciphertext"})
    visible += b64u_decode(doc["protected"])
    for secret in (SEAL_ARGS["case_ref"], SEAL_ARGS["purpose"], RECORD["msisdn"], "XA-NPOL"):
        assert secret.encode() not in visible
        assert secret.encode() not in envelope


@pytest.mark.parametrize(
    ("to", "kwargs", "error"),
    [
        (["XB-PROS", "XB-PROS"], {}, UsageError),
        ([], {}, UsageError),
        (["XZ-NOBODY"], {}, UnknownAgencyError),
        (["XB-PROS"], {"message_type": "gossip"}, UsageError),
        (["XB-PROS"], {"purpose": "Not A Code"}, UsageError),
        (["XB-PROS"], {"case_ref": ""}, UsageError),
        (["XB-PROS"], {"ttl": timedelta(days=91)}, UsageError),
        (["XB-PROS"], {"ttl": timedelta(0)}, UsageError),
    ],
)
def test_sealing_refuses_bad_arguments(
    net: _testnet.TestNetwork, to: list[str], kwargs: dict[str, Any], error: type[SafeShareError]
) -> None:
    with pytest.raises(error):
        _seal(net, to, **kwargs)


def test_sealing_refuses_too_many_recipients(net: _testnet.TestNetwork) -> None:
    with pytest.raises(UsageError, match=str(MAX_RECIPIENTS)):
        _seal(net, [f"XB-P{i}" for i in range(MAX_RECIPIENTS + 1)])


@pytest.mark.parametrize("record", [{"when": datetime(2026, 1, 1)}, {"blob": b"\x00"}, {1: "x"}])
def test_sealing_refuses_records_that_are_not_json(
    net: _testnet.TestNetwork, record: dict[Any, Any]
) -> None:
    with pytest.raises(UsageError):
        seal(
            record,
            sender=net.keysets["XA-NPOL"],
            to=["XB-PROS"],
            registry=net.registry,
            now=NOW,
            **SEAL_ARGS,
        )


def test_sealing_to_a_suspended_agency_is_refused_before_anything_is_built(
    net: _testnet.TestNetwork,
) -> None:
    suspended = net.resign(net.document.with_suspension("XC-CUST", at=NOW - timedelta(hours=1)))
    with pytest.raises(AgencySuspendedError, match="XC-CUST"):
        seal(
            RECORD,
            sender=suspended.keysets["XA-NPOL"],
            to=["XB-PROS", "XC-CUST"],
            registry=suspended.registry,
            now=NOW,
            **SEAL_ARGS,
        )


def test_a_sender_whose_key_is_not_registered_cannot_seal(net: _testnet.TestNetwork) -> None:
    rotated = net.keysets["XA-NPOL"].with_new_signing_key()
    with pytest.raises(SafeShareError, match="has no key"):
        seal(RECORD, sender=rotated, to=["XB-PROS"], registry=net.registry, now=NOW, **SEAL_ARGS)


def test_key_rotation_old_envelopes_still_open_new_ones_use_the_new_key(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    old_envelope = _seal(net, ["XB-PROS"])
    xb_rotated = net.keysets["XB-PROS"].with_new_encryption_key()
    new_key = RegistryKey.from_public(xb_rotated.decryption_key.public, not_before=NOW)
    rotated = net.resign(net.document.with_key("XB-PROS", new_key))
    new_envelope = seal(
        RECORD,
        sender=net.keysets["XA-NPOL"],
        to=["XB-PROS"],
        registry=rotated.registry,
        now=NOW,
        **SEAL_ARGS,
    )
    for envelope in (old_envelope, new_envelope):
        opened = open_envelope(
            envelope,
            recipient=xb_rotated,
            registry=rotated.registry,
            replay=replay,
            purpose=SEAL_ARGS["purpose"],
            actor=ACTOR,
            recorder=None,
            now=NOW,
        )
        assert dict(opened.record) | {"address": RECORD["address"]} == RECORD
    assert opened.recipient_kid == xb_rotated.decryption_key.kid
    # The old key set (without the new key) cannot open the new envelope.
    with pytest.raises(DecryptionError):
        _open(net, new_envelope, "XB-PROS", replay)


def test_errors_leak_no_record_content(net: _testnet.TestNetwork, replay: ReplayCache) -> None:
    envelope = _seal(net, ["XB-PROS"])
    _open(net, envelope, "XB-PROS", replay)
    with pytest.raises(ReplayError) as replayed:
        _open(net, envelope, "XB-PROS", replay)
    text = replayed.value.diagnostics() + repr(replayed.value.args)
    for value in ("Jana Novak", "+99 555 0142", "XA-2026-0042", "criminal_investigation"):
        assert value not in text


def _open_in_child(args: tuple[bytes, dict[str, Any], bytes, str, str, str]) -> str:
    envelope, keys_jwks, signed_registry, authority_jwk_x, db, now_text = args
    keys = AgencyKeySet.from_private_jwks(keys_jwks)
    now = datetime.fromisoformat(now_text)
    registry = TrustRegistry.from_signed(
        signed_registry, VerifyKey(b64u_decode(authority_jwk_x)), now=now
    )
    with open_store(db) as store:
        try:
            open_envelope(
                envelope,
                recipient=keys,
                registry=registry,
                replay=ReplayCache(store),
                purpose=SEAL_ARGS["purpose"],
                actor=ACTOR,
                recorder=None,
                now=now,
            )
        except ReplayError:
            return "replay"
    return "opened"


def test_two_processes_opening_one_envelope_accept_it_exactly_once(
    net: _testnet.TestNetwork, tmp_path: Path
) -> None:
    envelope = _seal(net, ["XB-PROS"])
    db = str(tmp_path / "shared.db")
    with open_store(db) as store:  # create the schema once, then share the file
        ReplayCache(store)
    args = (
        envelope,
        net.keysets["XB-PROS"].private_jwks(SECRET_KEY_ACCESS),
        net.signed,
        net.authority.public.to_jwk()["x"],
        db,
        NOW.isoformat(),
    )
    ctx = multiprocessing.get_context("spawn")
    workers = min(4, (os.cpu_count() or 2) * 2)
    with ctx.Pool(workers) as pool:
        results = pool.map(_open_in_child, [args] * workers)
    assert sorted(results) == ["opened"] + ["replay"] * (workers - 1)
