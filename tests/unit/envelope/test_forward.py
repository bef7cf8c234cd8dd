"""Onward transfer with key binding: A -> B -> C (-> D), and every tampering rejected.

specs/safeshare-v1.md section 7. The chain's envelopes are real (testnet keys,
registry, SQLite replay caches and consent stores); tampering is done on the
decrypted token and re-encrypted to the recipient, so that each case reaches
the check it is about.
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
from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._jose import jwe, jws, sdjwt
from safeshare.audit.recorder import MemoryRecorder
from safeshare.envelope import (
    ENVELOPE_TYP,
    SD_JWT_TYP,
    OpenedEnvelope,
    forward,
    open_envelope,
    seal,
)
from safeshare.errors import (
    MalformedInputError,
    PolicyError,
    ReplayError,
    SafeShareError,
    UsageError,
    VerificationError,
)
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW

XA: Final = "XA-NPOL"  # originator
XB: Final = "XB-PROS"  # central authority
XC: Final = "XC-CUST"  # domestic unit
XD: Final = "XD-FIU"
PURPOSE: Final = "locate_suspect"
ACTOR: Final = "officer 12"
RECORD: Final[dict[str, Any]] = {
    "full_name": "Jan Kowalczyk",
    "date_of_birth": "1984-03-02",
    "passport": "XA1234567",
    "last_seen": {"city": "Gdańsk", "street": "ul. Długa 5", "at": "2026-11-20T14:00:00Z"},
    "phones": ["+48111222333", "+48999888777"],
}
LATER: Final = NOW + timedelta(hours=1)


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


class Agencies:
    """Per-agency replay caches, consent stores and recorders in a temporary directory."""

    def __init__(self, root: Path, stack: ExitStack) -> None:
        self.replay: dict[str, ReplayCache] = {}
        self.consents: dict[str, ConsentStore] = {}
        self.recorder: dict[str, MemoryRecorder] = {}
        for agency in (XA, XB, XC, XD):
            store = stack.enter_context(open_store(f"sqlite:///{root / agency}.db"))
            self.replay[agency] = ReplayCache(store)
            self.consents[agency] = ConsentStore(store)
            self.recorder[agency] = MemoryRecorder()


@pytest.fixture
def agencies(tmp_path: Path) -> Iterator[Agencies]:
    with ExitStack() as stack:
        yield Agencies(tmp_path, stack)


def seal_to_b(net: _testnet.TestNetwork, **handling: Any) -> bytes:
    return seal(
        RECORD,
        sender=net.keysets[XA],
        to=[XB],
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis="UNTOC.Art18",
        case_ref="XA/2026/77",
        message_type="spontaneous_information",
        handling=HandlingConditions.model_validate(handling),
        now=NOW,
    )


def open_as(
    net: _testnet.TestNetwork, ag: Agencies, agency: str, envelope: bytes, **kw: Any
) -> OpenedEnvelope:
    return open_envelope(
        envelope,
        recipient=net.keysets[agency],
        registry=net.registry,
        replay=ag.replay[agency],
        purpose=PURPOSE,
        actor=ACTOR,
        recorder=ag.recorder[agency],
        now=kw.pop("now", LATER),
        **kw,
    )


def consent(
    net: _testnet.TestNetwork, ag: Agencies, opened: OpenedEnvelope, holder: str, to: str
) -> str:
    """XA grants *holder* the onward transfer of *opened* to *to*; the holder files it."""
    token = issue_grant(
        originator=net.keysets[XA],
        holder=holder,
        envelope_jti=opened.jti,
        envelope_digest=opened.digest,
        scope="onward_transfer",
        onward_recipient=to,
        valid_for=timedelta(days=10),
        now=NOW,
    )
    ag.consents[holder].add(token, registry=net.registry, now=NOW)
    return token


def fwd(
    net: _testnet.TestNetwork,
    ag: Agencies,
    opened: OpenedEnvelope,
    to: str,
    disclose: list[str],
    **kw: Any,
) -> bytes:
    return forward(
        opened,
        sender=net.keysets[opened.recipient],
        to=to,
        registry=net.registry,
        disclose=disclose,
        actor=ACTOR,
        recorder=ag.recorder[opened.recipient],
        consents=ag.consents[opened.recipient],
        now=kw.pop("now", LATER),
        **kw,
    )


def chain_to_c(
    net: _testnet.TestNetwork, ag: Agencies, disclose: list[str] | None = None
) -> tuple[OpenedEnvelope, bytes]:
    """A seals to B; B opens; A consents; B forwards to C. Returns (B's opened, C's envelope)."""
    at_b = open_as(net, ag, XB, seal_to_b(net))
    consent(net, ag, at_b, XB, XC)
    return at_b, fwd(net, ag, at_b, XC, disclose or ["full_name", "last_seen"])


# -- the working chain -----------------------------------------------------------------------


def test_direct_envelope_to_one_agency_binds_its_signing_key(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    bound = at_b.holder_binding
    assert bound is not None
    assert bound["jwk"]["x"] == net.registry.signing_key(XB, at=NOW).to_jwk()["x"]
    assert at_b.provenance == ()
    assert at_b.forwarded_by is None


def test_envelope_to_several_agencies_or_forbidding_onward_transfer_binds_no_key(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    forbidden = open_as(net, agencies, XB, seal_to_b(net, onward_transfer="forbidden"))
    assert forbidden.holder_binding is None
    with pytest.raises(PolicyError, match="binds no key"):
        fwd(net, agencies, forbidden, XC, ["full_name"])


def test_b_forwards_a_subset_to_c_who_verifies_the_chain(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b, envelope = chain_to_c(net, agencies)
    at_c = open_as(net, agencies, XC, envelope)
    assert set(at_c.record) == {"full_name", "last_seen"}
    assert at_c.record["last_seen"]["city"] == "Gdańsk"
    assert at_c.issuer == XA
    assert at_c.jti == at_b.jti
    assert at_c.digest == at_b.digest
    assert [(h.forwarder, h.recipient) for h in at_c.provenance] == [(XB, XC)]
    assert at_c.provenance[0].consent_id is not None
    assert at_c.forwarded_by == XB
    # C's access is recorded as a received forward from XB; B's as a forward to XC.
    entry = agencies.recorder[XC].entries[-1]
    assert (entry.action, entry.counterparty, entry.jti) == ("receive_forward", XB, at_b.jti)
    assert [e.action for e in agencies.recorder[XB].entries] == ["open", "forward"]


def test_nothing_undisclosed_is_in_the_plaintext_c_decrypts(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies, ["full_name"])
    token = decrypt(net, XC, envelope)
    _, disclosures, _kb = sdjwt.split(token)
    plain = "".join(b64u_decode(d, what="d").decode() for d in disclosures)
    assert "Jan Kowalczyk" in plain
    for secret in ("1984-03-02", "XA1234567", "Gdańsk", "+48111222333", "Długa"):
        assert secret not in plain
        assert secret not in token


def test_chain_of_three_hops_verifies_end_to_end(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, to_c = chain_to_c(net, agencies, ["full_name", "last_seen"])
    at_c = open_as(net, agencies, XC, to_c)
    consent(net, agencies, at_c, XC, XD)
    to_d = fwd(net, agencies, at_c, XD, ["last_seen"], now=LATER + timedelta(minutes=5))
    at_d = open_as(net, agencies, XD, to_d, now=LATER + timedelta(minutes=10))
    assert set(at_d.record) == {"last_seen"}
    assert [(h.forwarder, h.recipient) for h in at_d.provenance] == [(XB, XC), (XC, XD)]
    assert at_d.issuer == XA


def test_forwarded_twice_is_a_replay(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    _, envelope = chain_to_c(net, agencies)
    open_as(net, agencies, XC, envelope)
    with pytest.raises(ReplayError):
        open_as(net, agencies, XC, envelope)


# -- refusals at the forwarder ---------------------------------------------------------------


def test_forwarding_without_consent_is_refused_and_recorded(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    with pytest.raises(PolicyError, match="consent missing"):
        fwd(net, agencies, at_b, XC, ["full_name"])
    assert agencies.recorder[XB].entries[-1].action == "deny"


def test_forwarding_a_field_b_never_received_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    consent(net, agencies, at_b, XB, XC)
    with pytest.raises(UsageError, match="not disclosed to us"):
        fwd(net, agencies, at_b, XC, ["shoe_size"])


def test_forwarding_part_of_a_value_concealed_as_a_whole_is_refused(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    consent(net, agencies, at_b, XB, XC)
    with pytest.raises(UsageError, match="concealed 'record/last_seen' as a whole"):
        fwd(net, agencies, at_b, XC, ["last_seen.city"])


def test_forwarding_needs_the_bound_key(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    consent(net, agencies, at_b, XB, XC)
    with pytest.raises(UsageError):
        forward(
            at_b,
            sender=net.keysets[XC],
            to=XD,
            registry=net.registry,
            disclose=["full_name"],
            actor=ACTOR,
            recorder=agencies.recorder[XB],
            now=LATER,
        )


# -- tampering, each rejected at C with its error type -----------------------------------------


def decrypt(net: _testnet.TestNetwork, agency: str, envelope: bytes) -> str:
    parsed = jwe.parse(json.loads(envelope), typ=ENVELOPE_TYP, cty=SD_JWT_TYP, max_recipients=32)
    plaintext, _ = jwe.decrypt(parsed, net.keysets[agency].decryption_keys)
    return plaintext.decode("ascii")


def reencrypt(net: _testnet.TestNetwork, agency: str, token: str) -> bytes:
    key = net.registry.encryption_key(agency, at=NOW)
    return strictjson.dumps(
        jwe.encrypt(token.encode("ascii"), [key], typ=ENVELOPE_TYP, cty=SD_JWT_TYP)
    )


def parts(token: str) -> tuple[str, list[str], str]:
    issuer_jwt, disclosures, kb = sdjwt.split(token)
    assert kb is not None
    return issuer_jwt, disclosures, kb


def join(issuer_jwt: str, disclosures: list[str], kb: str) -> str:
    return "~".join([issuer_jwt, *disclosures, kb])


def resign_hop(net: _testnet.TestNetwork, kb: str, signer: str, **changes: Any) -> str:
    """The hop with *changes* to its claims, signed by *signer*'s current key."""
    claims = json.loads(b64u_decode(kb.split(".")[1], what="kb"))
    claims.update(changes)
    for name in [k for k, v in changes.items() if v is None]:
        del claims[name]
    return jws.sign_compact(
        {"typ": "kb+jwt"}, strictjson.dumps(claims), net.keysets[signer].signing_key
    )


def test_added_disclosure_after_binding_is_rejected(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b, envelope = chain_to_c(net, agencies, ["full_name"])
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    _, all_of_b, _ = sdjwt.split(at_b.presentation)
    extra = [d for d in all_of_b if d not in disclosures][:1]
    with pytest.raises(VerificationError, match="sd_hash"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures + extra, kb)))


def test_removed_disclosure_after_binding_is_rejected(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    with pytest.raises(VerificationError, match="sd_hash"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures[1:], kb)))


def test_reordered_disclosures_after_binding_are_rejected(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    assert len(disclosures) >= 2
    reordered = list(reversed(disclosures))
    with pytest.raises(VerificationError, match="sd_hash"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, reordered, kb)))


def test_stripped_key_binding_is_rejected(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, _ = parts(decrypt(net, XC, envelope))
    with pytest.raises(VerificationError, match="not addressed to"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures, "")))


def test_wrong_audience_is_rejected(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    _, envelope = chain_to_c(net, agencies)
    # B's genuine forward to C, re-encrypted by C to D: the hop names C, not D.
    token = decrypt(net, XC, envelope)
    with pytest.raises(VerificationError, match="not to us"):
        open_as(net, agencies, XD, reencrypt(net, XD, token))


def test_hop_signed_by_another_key_than_the_bound_one_is_rejected(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    forged = resign_hop(net, kb, XD, iss=XB)
    with pytest.raises(VerificationError, match="bound to"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures, forged)))


def test_missing_consent_is_rejected(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    stripped = resign_hop(net, kb, XB, consent=None)
    with pytest.raises(PolicyError, match="no consent grant"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures, stripped)))


def test_foreign_consent_is_rejected(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    # A genuine grant of XA, but for another envelope.
    other = open_as(net, agencies, XB, seal_to_b(net))
    foreign = consent(net, agencies, other, XB, XC)
    swapped = resign_hop(net, kb, XB, consent=foreign)
    with pytest.raises(PolicyError, match="does not authorise"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures, swapped)))


def test_consent_for_another_recipient_is_rejected(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    at_b = open_as(net, agencies, XB, seal_to_b(net))
    for_d = consent(net, agencies, at_b, XB, XD)
    consent(net, agencies, at_b, XB, XC)
    envelope = fwd(net, agencies, at_b, XC, ["full_name"])
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    swapped = resign_hop(net, kb, XB, consent=for_d)
    with pytest.raises(PolicyError, match="onward recipient"):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures, swapped)))


def test_widening_in_a_later_hop_is_rejected(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    # B passes only the name to C; C claims (re-signing its own hop) to pass on more.
    at_b, to_c = chain_to_c(net, agencies, ["full_name"])
    at_c = open_as(net, agencies, XC, to_c)
    consent(net, agencies, at_c, XC, XD)
    to_d = fwd(net, agencies, at_c, XD, ["full_name"])
    issuer_jwt, disclosures, kb = parts(decrypt(net, XD, to_d))
    _, all_of_b, _ = sdjwt.split(at_b.presentation)
    wider = disclosures + [d for d in all_of_b if d not in disclosures][:1]
    presentation = sdjwt.serialize(issuer_jwt, wider)
    digests = sorted(sdjwt.digest_of(d) for d in wider)
    widened = resign_hop(net, kb, XC, disclosed=digests, sd_hash=sdjwt.sd_hash(presentation))
    with pytest.raises(VerificationError, match="did not receive"):
        open_as(net, agencies, XD, reencrypt(net, XD, presentation + widened))


def test_the_originators_signature_still_binds_every_disclosure(
    net: _testnet.TestNetwork, agencies: Agencies
) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, kb = parts(decrypt(net, XC, envelope))
    salt, name, _ = json.loads(b64u_decode(disclosures[0], what="d"))
    fake = b64u_encode(strictjson.dumps([salt, name, "someone else"]))
    with pytest.raises(SafeShareError):
        open_as(
            net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, [fake, *disclosures[1:]], kb))
        )


def test_garbage_hop_is_malformed(net: _testnet.TestNetwork, agencies: Agencies) -> None:
    _, envelope = chain_to_c(net, agencies)
    issuer_jwt, disclosures, _ = parts(decrypt(net, XC, envelope))
    with pytest.raises(MalformedInputError):
        open_as(net, agencies, XC, reencrypt(net, XC, join(issuer_jwt, disclosures, "a.b.c")))
