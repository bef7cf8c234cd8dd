"""Consent paths record through the audit log: grants, revocations, refusals.

Tests that touch a database run on SQLite and PostgreSQL (``store_factory``):
the consent store and the audit log share one database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import pytest

from safeshare import _testnet
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder, MemoryRecorder
from safeshare.errors import (
    ExpiredError,
    MalformedInputError,
    ReplayError,
    StorageError,
    UsageError,
    VerificationError,
)
from safeshare.purpose import consent as consent_module
from safeshare.purpose.consent import (
    ConsentStore,
    record_grant_issued,
    record_revocation_issued,
    verify_grant,
)
from tests.conftest import NOW
from tests.pg import StoreFactory
from tests.unit.purpose.test_consent import (
    DIGEST,
    HOLDER,
    ORIGINATOR,
    THIRD,
    claims_of,
    grant_token,
    revocation_token,
)

ACTOR: Final = "officer 4711"


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def both(store_factory: StoreFactory) -> tuple[ConsentStore, AuditLog]:
    """The holder's consent store and audit log, in one database."""
    store = store_factory()
    log = AuditLog(store, origin=agency_log_origin(HOLDER, network="safeshare.example"))
    return ConsentStore(store), log


def entries(log: AuditLog) -> list[AuditEntry]:
    return [entry for _, entry in log.entries()]


# -- the holder ---------------------------------------------------------------------------------


def test_add_records_consent_grant(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    token = grant_token(net)
    grant = consent.add(
        token, registry=net.registry, now=NOW, recorder=AuditLogRecorder(log), actor=ACTOR
    )
    [entry] = entries(log)
    assert entry.action == "consent_grant"
    assert entry.outcome == "success"
    assert entry.agency == HOLDER
    assert entry.counterparty == ORIGINATOR
    assert entry.jti == grant.grant_id
    assert entry.envelope_digest == DIGEST
    assert entry.purpose == "prosecution"
    assert entry.actor == ACTOR
    assert entry.time == int(NOW.timestamp())
    # Metadata only: never the token or its conditions.
    assert token not in (entry.reason or "")
    # Adding the same token again is idempotent, and recorded as such.
    consent.add(token, registry=net.registry, now=NOW, recorder=AuditLogRecorder(log), actor=ACTOR)
    assert "already on file" in (entries(log)[1].reason or "")
    assert log.verify() == 2


def test_revoke_records_consent_revoke(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    recorder = AuditLogRecorder(log)
    grant = consent.add(
        grant_token(net), registry=net.registry, now=NOW, recorder=recorder, actor=ACTOR
    )
    consent.revoke(
        revocation_token(net, grant.grant_id),
        registry=net.registry,
        now=NOW,
        recorder=recorder,
        actor=ACTOR,
    )
    entry = entries(log)[-1]
    assert entry.action == "consent_revoke"
    assert entry.outcome == "success"
    assert (entry.agency, entry.counterparty) == (HOLDER, ORIGINATOR)
    assert entry.jti == grant.grant_id
    assert entry.envelope_digest == DIGEST
    # The originator's free-text reason is not copied into the log.
    assert "case closed" not in (entry.reason or "")


def test_revocation_of_a_grant_not_on_file_is_recorded_without_digest(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    grant_id = claims_of(grant_token(net))["jti"]
    consent.revoke(
        revocation_token(net, grant_id),
        registry=net.registry,
        now=NOW,
        recorder=AuditLogRecorder(log),
        actor=ACTOR,
    )
    [entry] = entries(log)
    assert (entry.action, entry.jti, entry.envelope_digest) == ("consent_revoke", grant_id, None)


def test_expired_grant_is_refused_and_recorded_as_deny(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    token = grant_token(net, valid_for=timedelta(hours=1))
    later = NOW + timedelta(hours=2)
    with pytest.raises(ExpiredError):
        consent.add(
            token, registry=net.registry, now=later, recorder=AuditLogRecorder(log), actor=ACTOR
        )
    [entry] = entries(log)
    assert (entry.action, entry.outcome) == ("deny", "denied")
    assert entry.agency == HOLDER
    assert entry.counterparty == ORIGINATOR
    assert entry.jti == claims_of(token)["jti"]
    assert entry.envelope_digest == DIGEST
    assert (entry.reason or "").startswith("consent grant refused: ")
    assert consent.grants_for(DIGEST) == []


def test_garbage_token_is_recorded_as_deny_without_claims(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    with pytest.raises(MalformedInputError):
        consent.add(
            "not\na token", registry=net.registry, recorder=AuditLogRecorder(log), actor=ACTOR
        )
    [entry] = entries(log)
    assert entry.action == "deny"
    assert (entry.counterparty, entry.jti, entry.envelope_digest) == (None, None, None)


def test_grant_for_another_holder_is_refused_when_our_agency_is_known(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    with pytest.raises(VerificationError, match=f"for {THIRD}, not for us"):
        consent.add(
            grant_token(net, holder=THIRD),
            registry=net.registry,
            now=NOW,
            recorder=AuditLogRecorder(log),
            actor=ACTOR,
        )
    assert [e.action for e in entries(log)] == ["deny"]
    assert consent.grants_for(DIGEST) == []


def test_replayed_grant_id_is_recorded_as_deny(
    net: _testnet.TestNetwork,
    both: tuple[ConsentStore, AuditLog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consent, log = both
    recorder = AuditLogRecorder(log)
    first = grant_token(net)
    reused = claims_of(first)["jti"]
    # Same id, other content: the originator reused a grant id.
    monkeypatch.setattr(consent_module, "_new_jti", lambda *_: reused)
    second = grant_token(net, purpose="intelligence")
    consent.add(first, registry=net.registry, now=NOW, recorder=recorder, actor=ACTOR)
    with pytest.raises(ReplayError):
        consent.add(second, registry=net.registry, now=NOW, recorder=recorder, actor=ACTOR)
    assert [e.action for e in entries(log)] == ["consent_grant", "deny"]
    assert entries(log)[1].jti == reused


def test_revocation_by_another_agency_is_recorded_as_deny(
    net: _testnet.TestNetwork, both: tuple[ConsentStore, AuditLog]
) -> None:
    consent, log = both
    recorder = AuditLogRecorder(log)
    grant = consent.add(
        grant_token(net), registry=net.registry, now=NOW, recorder=recorder, actor=ACTOR
    )
    with pytest.raises(VerificationError, match="only the originator"):
        consent.revoke(
            revocation_token(net, grant.grant_id, originator=THIRD),
            registry=net.registry,
            now=NOW,
            recorder=recorder,
            actor=ACTOR,
        )
    entry = entries(log)[-1]
    assert (entry.action, entry.counterparty, entry.jti) == ("deny", THIRD, grant.grant_id)
    assert consent.revocation_for(grant) is None


def test_recording_failure_is_raised_chained_to_the_refusal(
    net: _testnet.TestNetwork, store_factory: StoreFactory
) -> None:
    class Broken:
        def record(self, entry: AuditEntry) -> int:
            raise StorageError("disk full")

    consent = ConsentStore(store_factory())
    with pytest.raises(StorageError) as caught:
        consent.add(
            grant_token(net, valid_for=timedelta(seconds=1)),
            registry=net.registry,
            now=NOW + timedelta(hours=1),
            recorder=Broken(),
            actor=ACTOR,
            agency=HOLDER,
        )
    assert isinstance(caught.value.__cause__, ExpiredError)


def test_memory_recorder_needs_our_agency(
    net: _testnet.TestNetwork, store_factory: StoreFactory
) -> None:
    consent = ConsentStore(store_factory())
    with pytest.raises(UsageError, match="agency="):
        consent.add(grant_token(net), registry=net.registry, recorder=MemoryRecorder(), actor="a")
    recorder = MemoryRecorder()
    consent.add(
        grant_token(net),
        registry=net.registry,
        now=NOW,
        recorder=recorder,
        actor="a",
        agency=HOLDER,
    )
    assert [e.action for e in recorder.entries] == ["consent_grant"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recorder": MemoryRecorder(), "agency": HOLDER}, "actor="),
        ({"recorder": MemoryRecorder(), "actor": "", "agency": HOLDER}, "actor="),
        ({"recorder": MemoryRecorder(), "actor": "a\nb", "agency": HOLDER}, "control"),
        ({"recorder": MemoryRecorder(), "actor": "a", "agency": "nope"}, "agency id"),
        ({"actor": "a"}, "only used with a recorder"),
        ({"recorder": object(), "actor": "a", "agency": HOLDER}, "AccessRecorder"),
    ],
)
def test_recording_arguments_are_checked_first(
    net: _testnet.TestNetwork, store_factory: StoreFactory, kwargs: dict[str, object], match: str
) -> None:
    consent = ConsentStore(store_factory())
    with pytest.raises(UsageError, match=match):
        consent.add(grant_token(net), registry=net.registry, now=NOW, **kwargs)  # type: ignore[arg-type]
    assert consent.grants_for(DIGEST) == []


# -- the originator -----------------------------------------------------------------------------


def test_originator_records_what_it_issues(net: _testnet.TestNetwork) -> None:
    recorder = MemoryRecorder()
    grant = verify_grant(grant_token(net), registry=net.registry, now=NOW)
    assert record_grant_issued(recorder, grant, actor=ACTOR, now=NOW) == 0
    token = revocation_token(net, grant.grant_id)
    assert (
        record_revocation_issued(
            recorder, token, actor=ACTOR, now=NOW, holder=HOLDER, envelope_digest=DIGEST
        )
        == 1
    )
    issued, revoked = recorder.entries
    assert (issued.action, issued.agency, issued.counterparty) == (
        "consent_grant",
        ORIGINATOR,
        HOLDER,
    )
    assert (issued.jti, issued.envelope_digest, issued.purpose) == (
        grant.grant_id,
        DIGEST,
        "prosecution",
    )
    assert (revoked.action, revoked.agency, revoked.counterparty, revoked.jti) == (
        "consent_revoke",
        ORIGINATOR,
        HOLDER,
        grant.grant_id,
    )
    assert revoked.envelope_digest == DIGEST


def test_record_revocation_issued_refuses_other_input(net: _testnet.TestNetwork) -> None:
    with pytest.raises(UsageError):
        record_revocation_issued(MemoryRecorder(), "x.y.z", actor=ACTOR)
    with pytest.raises(UsageError):
        record_grant_issued(MemoryRecorder(), "grant", actor=ACTOR)  # type: ignore[arg-type]
