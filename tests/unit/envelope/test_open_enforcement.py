"""Purpose and actor enforcement in ``open_envelope`` (specs/safeshare-v1.md section 6.2 step 11).

Each enforced condition has a test that shows it enforced (refused, recorded
as a denial, the ``jti`` not consumed) and one that shows the legitimate path:
the envelope's own purpose, a compatible purpose, a consent grant (and its
revocation), acknowledgements; and the recording itself (before the data is
returned; a failing recorder stops the release).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from safeshare import _testnet
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder, MemoryRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import (
    DecryptionError,
    PolicyError,
    ReplayError,
    StorageError,
    UsageError,
)
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore, issue_grant, issue_revocation
from safeshare.purpose.vocabulary import Purpose, VocabularyFile, load_default, merge
from safeshare.storage import ReplayCache, open_store
from tests.conftest import NOW

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
ACTOR: Final = "officer 4711 (case desk)"
PURPOSE: Final = "criminal_investigation"
RECORD: Final[dict[str, Any]] = {"subscriber_name": "Jana Novak", "msisdn": "+99 555 0142"}
CASE_REF: Final = "XA-2026-0042"
CONDITIONS: Final = (
    "Do not contact the subject before 2026-12-15.",
    "The death penalty will not be sought on the basis of this data.",
)


@pytest.fixture(scope="module")
def net() -> _testnet.TestNetwork:
    return _testnet.build(NOW)


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayCache]:
    with open_store(tmp_path / "replay.db") as store:
        yield ReplayCache(store)


@pytest.fixture
def consents(tmp_path: Path) -> Iterator[ConsentStore]:
    with open_store(tmp_path / "consent.db") as store:
        yield ConsentStore(store)


def sealed(
    net: _testnet.TestNetwork,
    *,
    purpose: str = PURPOSE,
    handling: HandlingConditions | None = None,
    to: tuple[str, ...] = (XB,),
) -> bytes:
    return seal(
        RECORD,
        sender=net.keysets[XA],
        to=list(to),
        registry=net.registry,
        purpose=purpose,
        legal_basis="UNTOC.Art18",
        case_ref=CASE_REF,
        message_type="mla_response",
        handling=handling,
        now=NOW,
    )


def open_for(
    net: _testnet.TestNetwork,
    envelope: bytes,
    replay: ReplayCache,
    purpose: str,
    recorder: Any,
    **kwargs: Any,
) -> OpenedEnvelope:
    return open_envelope(
        envelope,
        recipient=net.keysets[kwargs.pop("agency", XB)],
        registry=net.registry,
        replay=replay,
        purpose=purpose,
        actor=ACTOR,
        recorder=recorder,
        now=NOW,
        **kwargs,
    )


def summary(entries: list[AuditEntry]) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.outcome, e.purpose) for e in entries]


def assert_no_record_content(entry: AuditEntry) -> None:
    text = repr(entry)
    for value in (*RECORD.values(), CASE_REF, *CONDITIONS):
        assert value not in text


# -- the signature ------------------------------------------------------------------


def test_purpose_actor_and_recorder_are_required_keywords() -> None:
    params = inspect.signature(open_envelope).parameters
    for name in ("purpose", "actor", "recorder"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default is inspect.Parameter.empty, name
    assert params["vocabulary"].default is None
    assert params["consents"].default is None
    assert tuple(params["acknowledged"].default) == ()


# -- the envelope's own purpose ---------------------------------------------------------


def test_own_purpose_opens_and_the_open_is_recorded(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    recorder = MemoryRecorder()
    opened = open_for(net, sealed(net), replay, PURPOSE, recorder)
    assert dict(opened.record) == RECORD
    assert (opened.opened_for, opened.actor) == (PURPOSE, ACTOR)
    (entry,) = recorder.entries
    assert entry == AuditEntry(
        action="open",
        time=int(NOW.timestamp()),
        actor=ACTOR,
        agency=XB,
        counterparty=XA,
        jti=opened.jti,
        envelope_digest=opened.digest,
        purpose=PURPOSE,
        outcome="success",
        reason="opened for the envelope's own purpose",
    )


# -- speciality: compatible purposes, one step -------------------------------------------


def test_a_compatible_purpose_opens(net: _testnet.TestNetwork, replay: ReplayCache) -> None:
    recorder = MemoryRecorder()
    opened = open_for(net, sealed(net), replay, "prosecution", recorder)
    assert opened.purpose == PURPOSE
    assert opened.opened_for == "prosecution"
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.purpose) == ("open", "success", "prosecution")
    assert entry.reason is not None
    assert "compatible with the envelope's purpose criminal_investigation" in entry.reason


def test_compatibility_is_one_step_not_transitive(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    """locate_suspect -> criminal_investigation -> prosecution: the second step is refused."""
    envelope = sealed(net, purpose="locate_suspect")
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError, match="which also allows criminal_investigation"):
        open_for(net, envelope, replay, "prosecution", recorder)
    assert open_for(net, envelope, replay, PURPOSE, recorder).opened_for == PURPOSE
    assert summary(recorder.entries) == [
        ("deny", "denied", "prosecution"),
        ("open", "success", PURPOSE),
    ]


# -- an incompatible purpose is refused, recorded, and consumes nothing ----------------


def test_an_incompatible_purpose_is_refused_and_recorded_as_a_denial(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net)
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError) as refused:
        open_for(net, envelope, replay, "intelligence_analysis", recorder)
    error = refused.value
    assert error.code == "policy_violation"
    # A message a caseworker can act on: what the envelope allows, what consent would need.
    assert (
        f"{XB} may not use this envelope from {XA} for intelligence_analysis: it was sent "
        "for criminal_investigation, which also allows prosecution, judicial_proceedings "
        "without consent"
    ) in error.message
    assert f"needs the prior consent of {XA}" in error.message
    assert error.hint is not None
    assert "open it for criminal_investigation, prosecution or judicial_proceedings" in error.hint
    (denial,) = recorder.entries
    assert f"ask {XA} for a consent grant (scope purpose, purpose intelligence_analysis)" in (
        error.hint
    )
    assert denial.envelope_digest is not None
    assert denial.envelope_digest in error.hint
    # Nothing of the record or the case in the error or the audit entry.
    for value in (*RECORD.values(), CASE_REF):
        assert value not in error.diagnostics()
    assert_no_record_content(denial)
    assert (denial.action, denial.outcome) == ("deny", "denied")
    assert (denial.actor, denial.agency, denial.counterparty) == (ACTOR, XB, XA)
    assert denial.purpose == "intelligence_analysis"
    assert denial.jti is not None
    assert denial.reason is not None
    assert "purpose intelligence_analysis is not allowed" in denial.reason

    # The jti was not consumed: the same envelope opens for its purpose, once.
    opened = open_for(net, envelope, replay, PURPOSE, recorder)
    assert (opened.jti, opened.digest) == (denial.jti, denial.envelope_digest)
    with pytest.raises(ReplayError):
        open_for(net, envelope, replay, PURPOSE, recorder)
    assert summary(recorder.entries) == [
        ("deny", "denied", "intelligence_analysis"),
        ("open", "success", PURPOSE),
    ]


def test_the_denial_is_in_the_audit_log(net: _testnet.TestNetwork, tmp_path: Path) -> None:
    envelope = sealed(net)
    with (
        open_store(tmp_path / "replay.db") as replay_store,
        open_store(tmp_path / "audit.db") as audit_store,
    ):
        log = AuditLog(audit_store, origin=agency_log_origin(XB, network="safeshare.example"))
        recorder = AuditLogRecorder(log)
        replay = ReplayCache(replay_store)
        with pytest.raises(PolicyError):
            open_for(net, envelope, replay, "border_control", recorder)
        assert log.size() == 1
        last = log.entry(log.size() - 1)
        assert (last.action, last.outcome, last.purpose, last.actor) == (
            "deny",
            "denied",
            "border_control",
            ACTOR,
        )
        assert_no_record_content(last)
        opened = open_for(net, envelope, replay, PURPOSE, recorder)
        assert log.size() == 2
        last = log.entry(1)
        assert (last.action, last.outcome, last.jti, last.envelope_digest) == (
            "open",
            "success",
            opened.jti,
            opened.digest,
        )
        assert log.verify() == 2


# -- unknown purpose codes ----------------------------------------------------------------


def test_an_unknown_purpose_code_is_refused_and_recorded(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net)
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError, match="'fishing_expedition' is not a purpose in this"):
        open_for(net, envelope, replay, "fishing_expedition", recorder)
    assert summary(recorder.entries) == [("deny", "denied", "fishing_expedition")]
    assert open_for(net, envelope, replay, PURPOSE, recorder).opened_for == PURPOSE


def test_an_envelope_purpose_outside_the_vocabulary_is_refused(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net, purpose="tax_audit")
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError, match="the envelope's purpose 'tax_audit' is not in this"):
        open_for(net, envelope, replay, "tax_audit", recorder)
    assert summary(recorder.entries) == [("deny", "denied", "tax_audit")]
    # With a vocabulary extension that defines it, the same envelope opens.
    extension = VocabularyFile(
        format="safeshare-vocabulary/v1",
        purposes=(
            Purpose(
                code="tax_audit",
                title="Tax audit",
                description="Audit of tax returns (a domestic purpose).",
                instruments=("UNTOC",),
            ),
        ),
    )
    vocabulary = merge(load_default(), extension)
    opened = open_for(net, envelope, replay, "tax_audit", recorder, vocabulary=vocabulary)
    assert opened.opened_for == "tax_audit"


def test_a_purpose_that_is_not_a_code_is_a_usage_error_before_anything(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net)
    recorder = MemoryRecorder()
    with pytest.raises(UsageError, match="purpose must be a purpose code"):
        open_for(net, envelope, replay, "Criminal Investigation", recorder)
    assert recorder.entries == []
    assert open_for(net, envelope, replay, PURPOSE, recorder).opened_for == PURPOSE


# -- consent --------------------------------------------------------------------------


def _digest_from_denial(
    net: _testnet.TestNetwork, envelope: bytes, replay: ReplayCache, purpose: str
) -> tuple[str, str]:
    """(jti, digest) of *envelope*, as the holder learns them from its refusal."""
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError):
        open_for(net, envelope, replay, purpose, recorder)
    (denial,) = recorder.entries
    assert denial.jti is not None
    assert denial.envelope_digest is not None
    return denial.jti, denial.envelope_digest


def _grant(net: _testnet.TestNetwork, jti: str, digest: str, purpose: str, holder: str = XB) -> str:
    return issue_grant(
        originator=net.keysets[XA],
        holder=holder,
        envelope_jti=jti,
        envelope_digest=digest,
        scope="purpose",
        purpose=purpose,
        valid_for=timedelta(days=30),
        now=NOW,
    )


def test_a_consent_grant_allows_a_new_purpose(
    net: _testnet.TestNetwork, replay: ReplayCache, consents: ConsentStore
) -> None:
    envelope = sealed(net)
    jti, digest = _digest_from_denial(net, envelope, replay, "intelligence_analysis")
    grant = consents.add(
        _grant(net, jti, digest, "intelligence_analysis"), registry=net.registry, now=NOW
    )
    recorder = MemoryRecorder()
    # Without the consent store the grant is not seen.
    with pytest.raises(PolicyError, match="no consent store was consulted"):
        open_for(net, envelope, replay, "intelligence_analysis", recorder)
    opened = open_for(net, envelope, replay, "intelligence_analysis", recorder, consents=consents)
    assert opened.opened_for == "intelligence_analysis"
    assert summary(recorder.entries) == [
        ("deny", "denied", "intelligence_analysis"),
        ("open", "success", "intelligence_analysis"),
    ]
    assert recorder.entries[1].reason == (
        f"opened for intelligence_analysis under consent grant {grant.grant_id}"
    )


def test_a_revoked_grant_no_longer_allows_it(
    net: _testnet.TestNetwork, replay: ReplayCache, consents: ConsentStore
) -> None:
    envelope = sealed(net)
    jti, digest = _digest_from_denial(net, envelope, replay, "intelligence_analysis")
    grant = consents.add(
        _grant(net, jti, digest, "intelligence_analysis"), registry=net.registry, now=NOW
    )
    consents.revoke(
        issue_revocation(
            originator=net.keysets[XA], grant_id=grant.grant_id, reason="case closed", now=NOW
        ),
        registry=net.registry,
        now=NOW,
    )
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError) as refused:
        open_for(net, envelope, replay, "intelligence_analysis", recorder, consents=consents)
    assert f"grant {grant.grant_id}" in refused.value.message
    assert "was revoked" in refused.value.message
    assert "case closed" in refused.value.message
    assert summary(recorder.entries) == [("deny", "denied", "intelligence_analysis")]
    # Still not consumed.
    assert open_for(net, envelope, replay, PURPOSE, recorder, consents=consents).jti == jti


@pytest.mark.parametrize("mismatch", ["other purpose", "other holder", "other envelope"])
def test_a_grant_for_another_use_does_not_allow_it(
    net: _testnet.TestNetwork, replay: ReplayCache, consents: ConsentStore, mismatch: str
) -> None:
    envelope = sealed(net, to=(XB, XC))
    jti, digest = _digest_from_denial(net, envelope, replay, "intelligence_analysis")
    if mismatch == "other purpose":
        token = _grant(net, jti, digest, "border_control")
    elif mismatch == "other holder":
        token = _grant(net, jti, digest, "intelligence_analysis", holder=XC)
    else:
        token = _grant(net, jti, "0" * 64, "intelligence_analysis")
    consents.add(token, registry=net.registry, now=NOW)
    with pytest.raises(PolicyError, match="consent missing"):
        open_for(
            net, envelope, replay, "intelligence_analysis", MemoryRecorder(), consents=consents
        )


# -- acknowledgements ---------------------------------------------------------------------


def test_conditions_must_be_acknowledged_before_release(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net, handling=HandlingConditions(acknowledgements=CONDITIONS))
    recorder = MemoryRecorder()
    for given in ((), CONDITIONS[:1], (CONDITIONS[0], CONDITIONS[1].upper())):
        with pytest.raises(PolicyError) as refused:
            open_for(net, envelope, replay, PURPOSE, recorder, acknowledged=given)
        missing = [text for text in CONDITIONS if text not in given]
        for text in missing:
            assert repr(text) in refused.value.message
        assert f"and {len(missing)} " in refused.value.message
        assert refused.value.hint is not None
        assert "--acknowledge TEXT" in refused.value.hint
    assert summary(recorder.entries) == [("deny", "denied", PURPOSE)] * 3
    for entry in recorder.entries:
        assert_no_record_content(entry)  # the conditions' texts are not logged either
    # Every condition acknowledged (extra texts do no harm): released, once.
    opened = open_for(
        net, envelope, replay, PURPOSE, recorder, acknowledged=[*CONDITIONS, "something else"]
    )
    assert dict(opened.record) == RECORD
    assert recorder.entries[-1].reason == (
        "opened for the envelope's own purpose; 2 handling conditions acknowledged"
    )


def test_acknowledgements_and_purpose_are_reported_together(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net, handling=HandlingConditions(acknowledgements=CONDITIONS))
    recorder = MemoryRecorder()
    with pytest.raises(PolicyError) as refused:
        open_for(net, envelope, replay, "border_control", recorder)
    assert "may not use this envelope" in refused.value.message
    assert "must be acknowledged" in refused.value.message
    (denial,) = recorder.entries
    assert denial.reason is not None
    assert "purpose border_control is not allowed" in denial.reason
    assert "handling conditions not acknowledged before release: 2 of 2" in denial.reason


# -- recording --------------------------------------------------------------------------


class FailingRecorder:
    """A recorder whose storage fails: every record raises."""

    def __init__(self) -> None:
        self.attempts: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> int:
        self.attempts.append(entry)
        raise StorageError("the audit database is not reachable")


def test_no_data_is_returned_when_the_open_cannot_be_recorded(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net)
    recorder = FailingRecorder()
    with pytest.raises(StorageError, match="not reachable"):
        open_for(net, envelope, replay, PURPOSE, recorder)
    assert [(e.action, e.outcome) for e in recorder.attempts] == [("open", "success")]
    # The record was attempted after the replay insert: the jti is consumed, so
    # the data never reaches anyone without a record (the sender must resend).
    with pytest.raises(ReplayError):
        open_for(net, envelope, replay, PURPOSE, MemoryRecorder())


def test_the_recorder_runs_before_the_data_is_returned(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    events: list[str] = []

    class Tracing:
        def record(self, entry: AuditEntry) -> int:
            events.append(f"record {entry.action}")
            return 0

    opened = open_for(net, sealed(net), replay, PURPOSE, Tracing())
    events.append("returned")
    assert events == ["record open", "returned"]
    assert opened.opened_for == PURPOSE


def test_a_denial_that_cannot_be_recorded_raises_the_storage_error(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net)
    with pytest.raises(StorageError) as failed:
        open_for(net, envelope, replay, "border_control", FailingRecorder())
    assert isinstance(failed.value.__cause__, PolicyError)
    assert open_for(net, envelope, replay, PURPOSE, MemoryRecorder()).opened_for == PURPOSE


def test_recorder_none_opens_without_recording(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    envelope = sealed(net)
    with pytest.raises(PolicyError):
        open_for(net, envelope, replay, "border_control", None)
    assert open_for(net, envelope, replay, PURPOSE, None).actor == ACTOR


def test_nothing_is_recorded_for_an_envelope_that_fails_verification(
    net: _testnet.TestNetwork, replay: ReplayCache
) -> None:
    """Denials are recorded for authentic envelopes; a forgery fails before authorization."""
    recorder = MemoryRecorder()
    with pytest.raises(DecryptionError):
        open_for(net, sealed(net), replay, "border_control", recorder, agency=XC)
    assert recorder.entries == []


# -- argument checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor": ""}, "actor must name"),
        ({"actor": "   "}, "actor must name"),
        ({"actor": "officer\n4711"}, "control characters"),
        ({"actor": "x" * 257}, "the limit is 256"),
        ({"recorder": object()}, "recorder must be an AccessRecorder"),
        ({"acknowledged": "Do not contact the subject."}, "not one text"),
        ({"acknowledged": [1]}, "must hold texts"),
        ({"vocabulary": {}}, "vocabulary must be"),
        ({"consents": "consent.db"}, "consents must be"),
    ],
)
def test_bad_arguments_are_usage_errors_and_record_nothing(
    net: _testnet.TestNetwork, replay: ReplayCache, kwargs: dict[str, Any], message: str
) -> None:
    envelope = sealed(net)
    args: dict[str, Any] = {
        "recipient": net.keysets[XB],
        "registry": net.registry,
        "replay": replay,
        "purpose": PURPOSE,
        "actor": ACTOR,
        "recorder": MemoryRecorder(),
        "now": NOW,
    } | kwargs
    with pytest.raises(UsageError, match=message):
        open_envelope(envelope, **args)
    assert open_for(net, envelope, replay, PURPOSE, None).opened_for == PURPOSE
