"""The consent store: exact matching, expiry, revocation; on SQLite and PostgreSQL.

Every test that touches the database runs on both back ends (``store_factory``).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import (
    ExpiredError,
    MalformedInputError,
    PolicyError,
    ReplayError,
    UnknownKeyError,
    UsageError,
    VerificationError,
)
from safeshare.purpose.consent import (
    CONSENT_SCHEMA,
    REVOCATION_TYP,
    ConsentGrant,
    ConsentScope,
    ConsentStore,
)
from safeshare.storage import ReplayCache, Store, open_store
from tests.conftest import NOW
from tests.pg import StoreFactory
from tests.unit.purpose.test_consent import (
    DIGEST,
    FOURTH,
    HOLDER,
    ORIGINATOR,
    OTHER_DIGEST,
    THIRD,
    VALID_FOR,
    claims_of,
    forge,
    grant_token,
    revocation_token,
)

#: A query that matches the default grant of ``grant_token(net)`` exactly.
QUERY: Final[dict[str, Any]] = {
    "envelope_digest": DIGEST,
    "holder": HOLDER,
    "originator": ORIGINATOR,
    "scope": "purpose",
    "purpose": "prosecution",
    "now": NOW,
}


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def consent(store_factory: StoreFactory) -> ConsentStore:
    return ConsentStore(store_factory())


def find(consent: ConsentStore, **changes: Any) -> ConsentGrant | None:
    return consent.find(**(QUERY | changes))


def require(consent: ConsentStore, **changes: Any) -> ConsentGrant:
    return consent.require(**(QUERY | changes))


# -- the legitimate path ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opened(net: _testnet.TestNetwork, tmp_path_factory: pytest.TempPathFactory) -> OpenedEnvelope:
    """A real envelope from ORIGINATOR, opened by HOLDER."""
    envelope = seal(
        {"subscriber_name": "Jana Novak", "msisdn": "+99 555 0142"},
        sender=net.keysets[ORIGINATOR],
        to=[HOLDER],
        registry=net.registry,
        purpose="criminal_investigation",
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref="XA-2026-0042",
        message_type="disclosure_response",
        now=NOW,
    )
    with open_store(tmp_path_factory.mktemp("consent") / "replay.db") as store:
        return open_envelope(
            envelope,
            recipient=net.keysets[HOLDER],
            registry=net.registry,
            replay=ReplayCache(store),
            purpose="criminal_investigation",
            actor="holder officer",
            recorder=None,
            now=NOW,
        )


def test_round_trip_with_a_real_envelope(
    net: _testnet.TestNetwork, consent: ConsentStore, opened: OpenedEnvelope
) -> None:
    token = grant_token(
        net,
        "onward_transfer",
        digest=opened.digest,
        envelope_jti=opened.jti,
        conditions=["Only for case XA-2026-0042."],
    )
    added = consent.add(token, registry=net.registry, now=NOW)
    query: dict[str, Any] = {
        "envelope_digest": opened.digest,
        "holder": opened.recipient,
        "originator": opened.issuer,
        "scope": "onward_transfer",
        "onward_recipient": THIRD,
        "now": NOW + timedelta(days=1),
    }
    assert consent.find(**query) == added
    assert consent.require(**query) == added
    assert added.envelope_jti == opened.jti
    assert added.conditions == ("Only for case XA-2026-0042.",)
    assert added.token == token
    assert consent.grants_for(opened.digest) == [added]
    assert consent.revocation_for(added) is None


@pytest.mark.parametrize("scope", ["purpose", "onward_transfer", "evidential_use"])
def test_each_scope_is_found(
    net: _testnet.TestNetwork, consent: ConsentStore, scope: ConsentScope
) -> None:
    grant = consent.add(grant_token(net, scope), registry=net.registry, now=NOW)
    changes: dict[str, Any] = {
        "scope": scope,
        "purpose": grant.purpose,
        "onward_recipient": grant.onward_recipient,
    }
    assert find(consent, **changes) == grant


def test_add_is_idempotent(net: _testnet.TestNetwork, store_factory: StoreFactory) -> None:
    token = grant_token(net)
    first = ConsentStore(store_factory()).add(token, registry=net.registry, now=NOW)
    again = ConsentStore(store_factory())  # another connection to the same database
    assert again.add(token, registry=net.registry, now=NOW + timedelta(hours=1)) == first
    assert again.grants_for(DIGEST) == [first]


def test_a_reused_grant_id_with_other_content_is_refused(
    net: _testnet.TestNetwork, consent: ConsentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: b"\x07" * n)
    first = consent.add(grant_token(net), registry=net.registry, now=NOW)
    with pytest.raises(ReplayError, match="already granted a different consent"):
        consent.add(grant_token(net, digest=OTHER_DIGEST), registry=net.registry, now=NOW)
    assert consent.grants_for(DIGEST) == [first]
    assert consent.grants_for(OTHER_DIGEST) == []


def test_grant_ids_are_per_originator(
    net: _testnet.TestNetwork, consent: ConsentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: b"\x07" * n)
    ours = consent.add(grant_token(net), registry=net.registry, now=NOW)
    theirs = consent.add(grant_token(net, originator=THIRD), registry=net.registry, now=NOW)
    assert ours.grant_id == theirs.grant_id
    assert consent.grants_for(DIGEST) == [ours, theirs]


def test_of_several_valid_grants_the_longest_lasting_is_returned(
    net: _testnet.TestNetwork, consent: ConsentStore
) -> None:
    for days in (2, 90, 10):
        consent.add(
            grant_token(net, valid_for=timedelta(days=days)), registry=net.registry, now=NOW
        )
    grants = consent.grants_for(DIGEST)
    longest = max(grants, key=lambda g: g.expires_at)
    assert longest.expires_at == NOW + timedelta(days=90)
    assert find(consent) == longest
    assert find(consent, now=NOW + timedelta(days=50)) == longest


# -- each mismatch: nothing found, and the refusal says what is missing ----------------------------


@pytest.mark.parametrize(
    ("scope", "changes", "expected"),
    [
        pytest.param(
            "purpose",
            {"envelope_digest": OTHER_DIGEST},
            (
                "XB-PROS holds no valid consent of XA-NPOL to the use for purpose 'prosecution' of the "
                f"data of envelope {OTHER_DIGEST[:16]}",
                "no consent of any kind is on file",
            ),
            id="other-envelope",
        ),
        pytest.param(
            "purpose",
            {"holder": THIRD},
            (
                "XC-CUST holds no valid consent of XA-NPOL to the use for purpose 'prosecution'",
                "no consent of any kind is on file",
            ),
            id="other-holder",
        ),
        pytest.param(
            "purpose",
            {"scope": "evidential_use", "purpose": None},
            ("to the use as evidence", "(use for purpose 'prosecution') is for another use"),
            id="other-scope",
        ),
        pytest.param(
            "purpose",
            {"purpose": "intelligence_analysis"},
            (
                "to the use for purpose 'intelligence_analysis'",
                "(use for purpose 'prosecution') is for another use",
            ),
            id="other-purpose",
        ),
        pytest.param(
            "onward_transfer",
            {"scope": "onward_transfer", "purpose": None, "onward_recipient": FOURTH},
            ("to the onward transfer to XD-FIU", "(onward transfer to XC-CUST) is for another use"),
            id="other-onward-recipient",
        ),
        pytest.param(
            "onward_transfer",
            {"scope": "purpose"},
            (
                "to the use for purpose 'prosecution'",
                "(onward transfer to XC-CUST) is for another use",
            ),
            id="onward-grant-is-no-new-purpose",
        ),
        pytest.param(
            "purpose",
            {"originator": THIRD},
            (
                "XB-PROS holds no valid consent of XC-CUST",
                "of XA-NPOL (use for purpose 'prosecution') is not from the originator XC-CUST",
            ),
            id="other-originator",
        ),
    ],
)
def test_mismatch(
    net: _testnet.TestNetwork,
    consent: ConsentStore,
    scope: ConsentScope,
    changes: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    missing, on_file = expected
    consent.add(grant_token(net, scope), registry=net.registry, now=NOW)
    assert find(consent, **changes) is None
    with pytest.raises(PolicyError, match=r"^consent missing: ") as info:
        require(consent, **changes)
    message = info.value.message
    assert missing in message
    assert on_file in message
    assert info.value.hint is not None
    assert "ask" in info.value.hint


def test_a_valid_grant_by_someone_other_than_the_originator_is_never_used(
    net: _testnet.TestNetwork, consent: ConsentStore
) -> None:
    """XC-CUST (not the envelope's issuer) grants XB-PROS a use of XA-NPOL's data."""
    consent.add(grant_token(net, originator=THIRD), registry=net.registry, now=NOW)
    assert find(consent) is None
    with pytest.raises(PolicyError, match="is not from the originator XA-NPOL"):
        require(consent)
    assert find(consent, originator=THIRD) is not None  # it is valid for XC-CUST's envelope


def test_the_legal_rule_is_named(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    with pytest.raises(PolicyError, match=re.escape("Second Additional Protocol Art. 14(9)-(10)")):
        require(consent, scope="onward_transfer", purpose=None, onward_recipient=THIRD)
    with pytest.raises(PolicyError, match=re.escape("UNTOC Art. 18(19)")):
        require(consent)


def test_a_long_list_of_grants_on_file_is_cut(
    net: _testnet.TestNetwork, consent: ConsentStore
) -> None:
    for purpose in ("a1", "a2", "a3", "a4", "a5", "a6", "a7"):
        consent.add(grant_token(net, purpose=purpose), registry=net.registry, now=NOW)
    with pytest.raises(PolicyError, match=r"; and 2 more$"):
        require(consent)


# -- time and revocation ------------------------------------------------------------------------


def test_expired(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    grant = consent.add(grant_token(net), registry=net.registry, now=NOW)
    assert find(consent, now=NOW + VALID_FOR - timedelta(microseconds=1)) == grant
    assert find(consent, now=NOW + VALID_FOR) is None
    with pytest.raises(PolicyError, match=f"{grant.grant_id}.* expired at 2026-12-29T12:00:00Z"):
        require(consent, now=NOW + VALID_FOR + timedelta(days=1))
    assert consent.grants_for(DIGEST) == [grant]  # still listed


def test_an_expired_grant_is_not_added(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    with pytest.raises(ExpiredError):
        consent.add(grant_token(net), registry=net.registry, now=NOW + VALID_FOR)
    assert consent.grants_for(DIGEST) == []


def test_not_yet_valid(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    consent.add(grant_token(net), registry=net.registry, now=NOW)
    assert find(consent, now=NOW - timedelta(minutes=5)) is not None  # the clock skew allowed
    assert find(consent, now=NOW - timedelta(minutes=6)) is None
    with pytest.raises(PolicyError, match="is valid only from 2026-11-29T12:00:00Z"):
        require(consent, now=NOW - timedelta(hours=1))


def test_revoked(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    grant = consent.add(grant_token(net), registry=net.registry, now=NOW)
    later = NOW + timedelta(days=1)
    revocation = consent.revoke(
        revocation_token(net, grant.grant_id, now=later), registry=net.registry, now=later
    )
    assert revocation.grant_id == grant.grant_id
    for when in (later, NOW, NOW + timedelta(days=2)):  # revoked is revoked, whatever now says
        assert find(consent, now=when) is None
    with pytest.raises(PolicyError, match="was revoked at 2026-11-30T12:00:00Z: case closed"):
        require(consent, now=later)
    assert consent.grants_for(DIGEST) == [grant]
    assert consent.revocation_for(grant) == revocation


def test_revoking_twice_keeps_the_first(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    grant = consent.add(grant_token(net), registry=net.registry, now=NOW)
    first = consent.revoke(revocation_token(net, grant.grant_id), registry=net.registry, now=NOW)
    consent.revoke(first.token, registry=net.registry, now=NOW)
    consent.revoke(
        revocation_token(net, grant.grant_id, reason="again"), registry=net.registry, now=NOW
    )
    assert consent.revocation_for(grant) == first
    assert find(consent) is None


def test_a_revocation_that_arrives_first_applies_later(
    net: _testnet.TestNetwork, consent: ConsentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: b"\x01" * n)
    token = grant_token(net)
    grant_id = claims_of(token)["jti"]
    consent.revoke(revocation_token(net, grant_id), registry=net.registry, now=NOW)
    consent.add(token, registry=net.registry, now=NOW)
    assert find(consent) is None


def test_a_revocation_by_another_agency_is_refused(
    net: _testnet.TestNetwork, consent: ConsentStore
) -> None:
    grant = consent.add(grant_token(net), registry=net.registry, now=NOW)
    with pytest.raises(VerificationError, match="XC-CUST cannot revoke it"):
        consent.revoke(
            revocation_token(net, grant.grant_id, originator=THIRD),
            registry=net.registry,
            now=NOW,
        )
    assert find(consent) == grant
    assert consent.revocation_for(grant) is None


def test_a_revocation_forged_in_the_originators_name_is_refused(
    net: _testnet.TestNetwork, consent: ConsentStore
) -> None:
    grant = consent.add(grant_token(net), registry=net.registry, now=NOW)
    claims = claims_of(revocation_token(net, grant.grant_id))
    forged = forge(claims, net.keysets[THIRD].signing_key, {"typ": REVOCATION_TYP})
    with pytest.raises(UnknownKeyError):
        consent.revoke(forged, registry=net.registry, now=NOW)
    assert find(consent) == grant


def test_an_early_revocation_by_another_agency_does_not_touch_the_grant(
    net: _testnet.TestNetwork, consent: ConsentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XC-CUST revokes "grant id J" before XA-NPOL's grant J arrives: no effect on it."""
    monkeypatch.setattr(os, "urandom", lambda n: b"\x02" * n)
    token = grant_token(net)
    grant_id = claims_of(token)["jti"]
    consent.revoke(
        revocation_token(net, grant_id, originator=THIRD), registry=net.registry, now=NOW
    )
    grant = consent.add(token, registry=net.registry, now=NOW)
    assert find(consent) == grant


def test_a_key_revoked_after_adding(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    grant = consent.add(grant_token(net), registry=net.registry, now=NOW)
    kid = net.keysets[ORIGINATOR].signing_key.kid
    later = NOW + timedelta(days=1)
    revoked = net.resign(
        net.document.with_revoked_key(ORIGINATOR, kid, at=later, reason="compromised")
    ).registry
    assert find(consent, now=later, registry=revoked) is None
    assert find(consent, now=later - timedelta(seconds=1), registry=revoked) == grant
    assert find(consent, now=later) == grant  # without a registry, the store's record stands
    with pytest.raises(PolicyError, match="signed with a key revoked in the registry"):
        require(consent, now=later, registry=revoked)


def test_tampered_grant_is_not_added(net: _testnet.TestNetwork, consent: ConsentStore) -> None:
    protected, _, signature = grant_token(net).split(".")
    _, payload, _ = grant_token(net, holder=THIRD).split(".")
    with pytest.raises(VerificationError):
        consent.add(f"{protected}.{payload}.{signature}", registry=net.registry, now=NOW)
    with pytest.raises(MalformedInputError):
        consent.add(revocation_token(net, "A" * 22), registry=net.registry, now=NOW)
    assert consent.grants_for(DIGEST) == []


# -- argument checks and schema -------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"envelope_digest": DIGEST.upper()},
        {"envelope_digest": "sha-256:" + DIGEST},
        {"holder": "xb-pros"},
        {"originator": None},
        {"scope": "anything"},
        {"purpose": None},
        {"purpose": "Prosecution"},
        {"scope": "evidential_use"},
        {"scope": "onward_transfer", "purpose": None},
        {"onward_recipient": THIRD},
        {"now": NOW.replace(tzinfo=None)},
        {"registry": "registry.json"},
    ],
)
def test_query_argument_checks(consent: ConsentStore, changes: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        find(consent, **changes)
    with pytest.raises(UsageError):
        require(consent, **changes)


def test_store_argument_checks(consent: ConsentStore) -> None:
    with pytest.raises(UsageError):
        ConsentStore("consent.db")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        consent.grants_for(DIGEST.upper())
    with pytest.raises(UsageError):
        consent.revocation_for("grant")  # type: ignore[arg-type]


def test_schema_is_applied_once(store_factory: StoreFactory) -> None:
    store: Store = store_factory()
    ConsentStore(store)
    ConsentStore(store)
    ConsentStore(store_factory())
    with store.transaction(write=False) as cur:
        rows = cur.execute(
            "SELECT version FROM safeshare_schema WHERE component = ?", (CONSENT_SCHEMA.component,)
        )
        assert rows == [(1,)]
        assert cur.execute("SELECT count(*) FROM safeshare_consent_grant") == [(0,)]
        assert cur.execute("SELECT count(*) FROM safeshare_consent_revocation") == [(0,)]
