"""Sealing by a record schema: the issue's "done when", end to end.

A person-of-interest record sealed for ``locate_suspect`` discloses only what
that purpose allows (withheld fields are undisclosed digests, the passport a
pseudonym, the birth date a year); B forwards part of it to C with the
originator's consent, member by member inside the nested address; C verifies
the whole chain; the pseudonym resolves only at the originator, through its
vault; and the seal entries carry blind-index tokens, not identifiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare._internal.b64 import b64u_decode
from safeshare._jose import jwe, sdjwt
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import (
    ENVELOPE_TYP,
    SD_JWT_TYP,
    OpenedEnvelope,
    forward,
    open_envelope,
    seal,
)
from safeshare.errors import MalformedInputError, UsageError
from safeshare.keys import AgencyKeySet
from safeshare.privacy.blind_index import subject_token
from safeshare.privacy.pseudonyms import PseudonymVault
from safeshare.privacy.schemas import PersonOfInterest
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
PURPOSE: Final = "locate_suspect"
CASE: Final = "XA/2026/0099"
ACTOR: Final = "officer 5"
POI: Final[dict[str, Any]] = {
    "full_name": "Alex Example",
    "aliases": ["A. X."],
    "date_of_birth": "1990-04-12",
    "nationality": "XA",
    "passport_number": "P1234567",
    "last_known_address": {"street": "1 Main Street", "city": "Atown", "country": "XA"},
    "last_seen_location": [48.2082, 16.3738],
    "last_seen_at": "2026-11-28T21:15:00Z",
    "phone_numbers": ["+99 555 0100"],
    "physical_description": "about 1.85 m, slim",
    "officer_safety_warning": True,
    "criminal_record_summary": "2019: fraud, 2 years suspended",
    "health_notes": "diabetic, needs insulin daily",
    "ethnic_origin_notes": "recorded at the request of the subject",
}
WITHHELD: Final = ("2019: fraud", "diabetic", "insulin", "recorded at the request")


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture(scope="module")
def originator(net: _testnet.TestNetwork) -> AgencyKeySet:
    return net.keysets[XA].with_privacy_secret()


class Stores:
    def __init__(self, root: Path, stack: ExitStack) -> None:
        self.store = {
            a: stack.enter_context(open_store(f"sqlite:///{root / a}.db")) for a in (XA, XB, XC)
        }
        self.replay = {a: ReplayCache(s) for a, s in self.store.items()}
        self.consents = {a: ConsentStore(s) for a, s in self.store.items()}
        self.recorder = {a: MemoryRecorder() for a in self.store}
        self.vault = PseudonymVault(self.store[XA])


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with ExitStack() as stack:
        yield Stores(tmp_path, stack)


def seal_poi(net: _testnet.TestNetwork, originator: AgencyKeySet, st: Stores, **kw: Any) -> bytes:
    return seal(
        kw.pop("record", POI),
        sender=originator,
        to=kw.pop("to", [XB]),
        registry=net.registry,
        purpose=kw.pop("purpose", PURPOSE),
        legal_basis="UNTOC.Art18",
        case_ref=CASE,
        message_type="spontaneous_information",
        schema=PersonOfInterest,
        vault=st.vault,
        recorder=st.recorder[XA],
        actor=ACTOR,
        now=NOW,
        **kw,
    )


def open_at(net: _testnet.TestNetwork, st: Stores, agency: str, envelope: bytes) -> OpenedEnvelope:
    return open_envelope(
        envelope,
        recipient=net.keysets[agency],
        registry=net.registry,
        replay=st.replay[agency],
        purpose=PURPOSE,
        actor=ACTOR,
        recorder=st.recorder[agency],
        now=NOW + timedelta(minutes=5),
    )


def plaintext(net: _testnet.TestNetwork, agency: str, envelope: bytes) -> str:
    parsed = jwe.parse(json.loads(envelope), typ=ENVELOPE_TYP, cty=SD_JWT_TYP, max_recipients=32)
    return jwe.decrypt(parsed, net.keysets[agency].decryption_keys)[0].decode("ascii")


def decoded_disclosures(token: str) -> str:
    _, disclosures, _ = sdjwt.split(token)
    return "\n".join(b64u_decode(d, what="disclosure").decode("utf-8") for d in disclosures)


def test_locate_suspect_discloses_only_what_the_purpose_allows(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores
) -> None:
    envelope = seal_poi(net, originator, stores)
    token = plaintext(net, XB, envelope)
    revealed = decoded_disclosures(token)
    for secret in (*WITHHELD, "P1234567", "1990-04-12", "criminal_record_summary", "health_notes"):
        assert secret not in token
        assert secret not in revealed
    opened = open_at(net, stores, XB, envelope)
    record = opened.verified_claims()["record"]
    assert set(record) == {
        "full_name",
        "aliases",
        "date_of_birth",
        "nationality",
        "passport_number",
        "last_known_address",
        "last_seen_location",
        "last_seen_at",
        "phone_numbers",
        "physical_description",
        "officer_safety_warning",
    }
    assert record["date_of_birth"] == "1990"
    expected = originator.privacy_secret.pseudonym(
        "P1234567", issuer=XA, recipient=XB, case_ref=CASE
    )
    assert record["passport_number"] == expected
    assert record["last_known_address"] == {**POI["last_known_address"], "postal_code": None}


def test_the_pseudonym_is_in_the_originators_vault_encrypted(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores, tmp_path: Path
) -> None:
    envelope = seal_poi(net, originator, stores)
    opened = open_at(net, stores, XB, envelope)
    entries = stores.vault.entries_for(XA, opened.jti)
    assert [e.pseudonym for e in entries] == [opened.record["passport_number"]]
    assert b"P1234567" not in (tmp_path / f"{XA}.db").read_bytes()


def test_seal_entries_carry_blind_index_tokens_not_identifiers(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores
) -> None:
    seal_poi(net, originator, stores)
    (entry,) = [e for e in stores.recorder[XA].entries if e.action == "seal"]
    token = subject_token(originator.privacy_secret, "passport", "P1234567")
    assert token in entry.subjects
    text = repr(entry)
    for identifier in ("P1234567", "Alex Example", "+99 555 0100"):
        assert identifier not in text


def test_b_forwards_part_of_the_nested_address_to_c_with_consent(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores
) -> None:
    at_b = open_at(net, stores, XB, seal_poi(net, originator, stores))
    grant = issue_grant(
        originator=originator,
        holder=XB,
        envelope_jti=at_b.jti,
        envelope_digest=at_b.digest,
        scope="onward_transfer",
        onward_recipient=XC,
        valid_for=timedelta(days=3),
        now=NOW,
    )
    stores.consents[XB].add(grant, registry=net.registry, now=NOW)
    envelope = forward(
        at_b,
        sender=net.keysets[XB],
        to=XC,
        registry=net.registry,
        disclose=["full_name", "last_known_address.city"],
        actor=ACTOR,
        recorder=stores.recorder[XB],
        consents=stores.consents[XB],
        now=NOW + timedelta(minutes=5),
    )
    token = plaintext(net, XC, envelope)
    assert "1 Main Street" not in decoded_disclosures(token)
    at_c = open_at(net, stores, XC, envelope)
    assert at_c.verified_claims()["record"] == {
        "full_name": "Alex Example",
        "last_known_address": {"city": "Atown"},
    }
    assert [(h.forwarder, h.recipient) for h in at_c.provenance] == [(XB, XC)]


def test_special_categories_disclosed_must_be_declared(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores
) -> None:
    with pytest.raises(UsageError, match="special categories"):
        seal_poi(net, originator, stores, purpose="prevent_imminent_threat")
    # Declared: it seals (the health notes are then disclosed to the one recipient).
    seal_poi(
        net,
        originator,
        stores,
        purpose="prevent_imminent_threat",
        handling=HandlingConditions.for_special_categories("health"),
    )


def test_pseudonyms_need_one_recipient_and_a_privacy_secret(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores
) -> None:
    with pytest.raises(UsageError, match="one recipient"):
        seal_poi(net, originator, stores, to=[XB, XC])
    keys = net.keysets[XA]
    without = AgencyKeySet(XA, keys.signing_keys, keys.decryption_keys)
    with pytest.raises(UsageError, match="no privacy secret"):
        seal_poi(net, without, stores)


def test_a_record_that_does_not_match_the_schema_is_refused_without_echoing_values(
    net: _testnet.TestNetwork, originator: AgencyKeySet, stores: Stores
) -> None:
    bad = {**POI, "date_of_birth": "SECRET-not-a-date"}
    with pytest.raises(MalformedInputError) as info:
        seal_poi(net, originator, stores, record=bad)
    assert "SECRET-not-a-date" not in str(info.value)
    assert "date_of_birth" in str(info.value)
