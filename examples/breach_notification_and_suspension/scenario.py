"""A breach at a recipient: breach notification, suspension by the registry, reinstatement.

XA-NPOL (National Police of Arcadia, country XA) has sent subscriber data to
XB-PROS (Office of the Public Prosecutor of Borduria, country XB). XB-PROS
discovers that a workstation of its cybercrime section was compromised and
the case files copied. It notifies XA-NPOL (Second Additional Protocol Art.
14(7)). The registry authority suspends transfers with XB-PROS (Art.
14(15)): sealing to it is refused, and an envelope XB-PROS signed after the
suspension started (its case system still used the old registry) is refused
on open, even after the suspension is lifted. Once XB-PROS is reinstated,
transfers resume. Every step is recorded in the audit logs. See README.md.

Run: ``python examples/breach_notification_and_suspension/scenario.py``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from safeshare import _testnet
from safeshare._transcript import Transcript, run_scenario
from safeshare.audit import AuditEntry, build_report
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.errors import AgencySuspendedError, RegistryRollbackError
from safeshare.messages import BreachNotification, Contact, EnvelopeRef, format_problems
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.registry import (
    RegistryDocument,
    RegistryState,
    TrustRegistry,
    record_registry_update,
    sign_registry,
)
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XA_ACTOR: Final = "XA-NPOL international desk, officer 0815"
XA_DPO: Final = "XA-NPOL data protection officer"
XB_ACTOR: Final = "XB-PROS cybercrime section, prosecutor 4711"
XB_SECURITY: Final = "XB-PROS information security officer"
XB_SYSTEM: Final = "XB-PROS case management system"
PURPOSE: Final = "criminal_investigation"
CASE: Final = "XA-2026-000123"
#: The test network's agencies keep data at most one day; the conditions say so.
HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=1))
SUSPENSION_REASON: Final = "personal data breach at XB-PROS under review (2AP Art. 14(15))"
RECORD: Final = {
    "account": "lettings@flats-arcadia.example",
    "name": "Alex Example",
    "address": "1 Example Street, Borduria City",
}
#: What XB-PROS's case system sends on its own: a status message about the case.
STATUS: Final = {"status": "in_progress", "details": "subscriber data received and filed"}

#: When things happen, after the start of the scenario.
BREACH_DISCOVERED: Final = timedelta(hours=2)
SUSPENDED_FROM: Final = timedelta(hours=3)
REINSTATED_FROM: Final = timedelta(days=2)


def run(workdir: Path, now: datetime) -> list[str]:
    """Run the scenario in *workdir*; return what did not behave as expected."""
    with contextlib.ExitStack() as stack:
        return _run(stack, workdir, now)


def _run(stack: contextlib.ExitStack, workdir: Path, now: datetime) -> list[str]:
    t = Transcript()
    net = _testnet.build(now)
    logs = {
        agency: AuditLog(
            stack.enter_context(open_store(workdir / f"{agency}.audit.db")),
            origin=agency_log_origin(agency, network=NETWORK),
        )
        for agency in (XA, XB)
    }
    replay = {
        agency: ReplayCache(stack.enter_context(open_store(workdir / f"{agency}.replay.db")))
        for agency in logs
    }
    #: Each agency remembers the newest registry it accepted (rollback protection).
    states = {agency: RegistryState(workdir / f"{agency}.registry-state.json") for agency in logs}
    registries = {
        agency: TrustRegistry.from_signed(
            net.signed, net.authority.public, now=now, state=states[agency]
        )
        for agency in logs
    }
    document: RegistryDocument = net.document
    t.say(f"Parties: {XA} ({_testnet.AGENCIES[XA][0]}), the originator of the data,")
    t.say(f"         {XB} ({_testnet.AGENCIES[XB][0]}), the recipient that suffers a breach,")
    t.say("         and the registry authority of the network, which signs the trust registry.")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    def last_entry(agency: str, back: int = 1) -> str:
        log = logs[agency]
        index = log.size() - back
        entry = log.entry(index)
        return (
            f"{agency}'s audit log #{index}: {entry.action}/{entry.outcome} by "
            f"{entry.actor}: {entry.reason}"
        )

    def record(agency: str, entry: AuditEntry) -> None:
        """Append an entry no library call records by itself (see README.md)."""
        AuditLogRecorder(logs[agency]).record(entry)
        t.say(f"  {last_entry(agency)}")

    def sealed(
        sender: str, registry: TrustRegistry, at: datetime, actor: str
    ) -> Callable[[], bytes]:
        """*sender* seals to the other agency: XA-NPOL subscriber data, XB-PROS a status."""
        return lambda: seal(
            RECORD if sender == XA else STATUS,
            sender=net.keysets[sender],
            to=[XB if sender == XA else XA],
            registry=registry,
            purpose=PURPOSE,
            legal_basis="BUDAPEST-2AP.Art7",
            case_ref=CASE,
            message_type="disclosure_response" if sender == XA else "status_update",
            handling=HANDLING,
            now=at,
            recorder=AuditLogRecorder(logs[sender]),
            actor=actor,
        )

    def opened_by(
        recipient: str, envelope: bytes, at: datetime, purpose: str = PURPOSE
    ) -> Callable[[], OpenedEnvelope]:
        return lambda: open_envelope(
            envelope,
            recipient=net.keysets[recipient],
            registry=registries[recipient],
            replay=replay[recipient],
            purpose=purpose,
            actor=XA_ACTOR if recipient == XA else XB_ACTOR,
            recorder=AuditLogRecorder(logs[recipient]),
            now=at,
        )

    def publish(doc: RegistryDocument, at: datetime, change: str) -> RegistryDocument:
        """The authority signs the next registry version; both agencies verify, record and
        load it (record_registry_update names the serial, digest and what changed)."""
        nxt = doc.next_version(now=at, valid_for=timedelta(days=30))
        signed = sign_registry(nxt, net.authority)
        t.say(f"  the registry authority signs serial {nxt.serial}: {change}")
        for agency, log in logs.items():
            loaded = t.accept(
                f"{agency} verifies serial {nxt.serial} against the pinned authority key",
                functools.partial(
                    TrustRegistry.from_signed,
                    signed,
                    net.authority.public,
                    now=at,
                    state=states[agency],
                ),
            )
            if loaded is not None:
                record_registry_update(
                    AuditLogRecorder(log),
                    loaded,
                    agency=agency,
                    actor=f"{agency} registry client",
                    now=at,
                    previous=registries[agency],
                )
                registries[agency] = loaded
                t.say(f"  {last_entry(agency)}")
        return nxt

    # -- 1 -------------------------------------------------------------------------------
    t.step("XA-NPOL sends subscriber data to XB-PROS; XB-PROS opens it")
    t.say("  Safeguard: speciality and records (Second Additional Protocol Art. 14(2), 14(8)).")
    first = t.accept(
        f"{XA} seals subscriber data for {XB}", sealed(XA, registries[XA], now, XA_ACTOR)
    )
    if first is None:
        return t.failures
    data = t.accept(f"{XB} opens it for {PURPOSE}", opened_by(XB, first, now))
    if data is None:
        return t.failures
    t.say(f"  {last_entry(XB)}")

    # -- 2 -------------------------------------------------------------------------------
    discovered = now + BREACH_DISCOVERED
    t.step("XB-PROS discovers a breach and notifies XA-NPOL")
    t.say("  Safeguard: Second Additional Protocol Art. 14(7): the recipient promptly notifies")
    t.say("  the transferring Party of a security incident with a significant risk of harm,")
    t.say("  saying what happened, when, which data, and what it has done.")
    draft = BreachNotification(
        purpose="data_protection_compliance",
        legal_basis="BUDAPEST-2AP.Art14",
        case_ref=CASE,
        about=(EnvelopeRef(jti=data.jti, digest=data.digest, msg_type=data.message_type),),
        what_happened="Malware on a workstation of the cybercrime section gave an unknown "
        "party access to the case files, which it copied.",
    )
    problems = draft.validate(now=discovered)
    t.say(format_problems(problems, title="The first draft of the notification"))
    t.check(
        {p.field for p in problems}
        == {"discovered_at", "data_concerned", "measures_taken", "contact"},
        "validate() lists what Art. 14(7) still needs: time, data, measures, contact",
    )
    notification = draft.model_copy(
        update={
            "discovered_at": discovered,
            "occurred_at": now + timedelta(hours=1),
            "data_concerned": f"the subscriber record of envelope {data.jti} (one person)",
            "measures_taken": "workstation isolated and wiped, passwords changed, the copy "
            "reported to the police; the registry authority informed",
            "data_subjects_notified": False,
            "contact": Contact(name=XB_SECURITY, email="security@pros.xb.example"),
        }
    )
    remaining = notification.validate(now=discovered)
    if remaining:
        t.say(format_problems(remaining, title="The breach notification"))
    t.check(not remaining, "the breach notification is complete (validate() found nothing)")
    if remaining:
        return t.failures
    notice = t.accept(
        f"{XB} seals the breach notification for {XA}",
        lambda: seal(
            **notification.seal_arguments(),
            sender=net.keysets[XB],
            to=[XA],
            registry=registries[XB],
            handling=HANDLING,
            now=discovered,
            recorder=AuditLogRecorder(logs[XB]),
            actor=XB_SECURITY,
        ),
    )
    if notice is None:
        return t.failures
    t.say(f"  {last_entry(XB, 2)}")
    t.say(f"  {last_entry(XB)}")
    sealed_entry, notified = (logs[XB].entry(logs[XB].size() - i) for i in (2, 1))
    t.check(
        (sealed_entry.action, notified.action) == ("seal", "notify_breach")
        and (notified.jti, notified.envelope_digest, notified.counterparty)
        == (sealed_entry.jti, sealed_entry.envelope_digest, XA),
        "seal() recorded the notification itself: a notify_breach entry beside the seal",
    )

    # -- 3 -------------------------------------------------------------------------------
    suspended_at = now + SUSPENDED_FROM
    t.step("The registry authority suspends transfers with XB-PROS")
    t.say("  Safeguard: Second Additional Protocol Art. 14(15): transfers may be suspended where")
    t.say("  there is a systematic or material breach of the safeguards. The suspension is a")
    t.say("  period in the signed registry; both agencies load the new version.")
    document = publish(
        document.with_suspension(XB, at=suspended_at, reason=SUSPENSION_REASON),
        suspended_at,
        f"{XB} suspended from {suspended_at.isoformat()}",
    )
    t.check(
        registries[XA].agency(XB).status_at(suspended_at) == "suspended",
        f"{XA}'s registry shows {XB} suspended",
    )
    t.refuse(
        f"{XA} goes back to serial 1, in which {XB} is not suspended",
        lambda: TrustRegistry.from_signed(
            net.signed, net.authority.public, now=suspended_at, state=states[XA]
        ),
        error=RegistryRollbackError,
    )

    # -- 4 -------------------------------------------------------------------------------
    later = suspended_at + timedelta(minutes=30)
    t.step("XA-NPOL reads the breach notification, signed before the suspension")
    t.say("  Safeguard: a suspension is judged at the envelope's signing time (iat): what")
    t.say("  XB-PROS signed before the suspension started stays valid.")
    read = t.accept(
        f"{XA}'s data protection officer opens the notification",
        lambda: open_envelope(
            notice,
            recipient=net.keysets[XA],
            registry=registries[XA],
            replay=replay[XA],
            purpose="data_protection_compliance",
            actor=XA_DPO,
            recorder=AuditLogRecorder(logs[XA]),
            now=later,
        ),
    )
    if read is not None:
        t.say(f"  {last_entry(XA)}")
        received = BreachNotification.from_envelope(read)
        t.check(
            [ref.jti for ref in received.about] == [data.jti],
            f"XA-NPOL learns which of its envelopes is affected: {data.jti}",
        )

    # -- 5 -------------------------------------------------------------------------------
    t.step("During the suspension: XA-NPOL cannot seal to XB-PROS")
    t.say("  Safeguard: Art. 14(15). The transfer check before sealing refuses a suspended")
    t.say("  recipient, always (no override), and records the refusal.")
    t.refuse(
        f"{XA} seals more subscriber data for {XB}",
        sealed(XA, registries[XA], later, XA_ACTOR),
        error=AgencySuspendedError,
    )
    t.say(f"  {last_entry(XA)}")
    denial = logs[XA].entry(logs[XA].size() - 1)
    t.check(
        (denial.action, denial.outcome, denial.counterparty) == ("deny", "denied", XB),
        "the refused transfer is recorded as a denial in XA-NPOL's audit log",
    )

    # -- 6 -------------------------------------------------------------------------------
    t.step("An envelope XB-PROS signed after the suspension started is refused")
    t.say("  Safeguard: Art. 14(15), enforced by the recipient. XB-PROS's case system has not")
    t.say("  loaded serial 2 and still seals with serial 1 (no suspension there); every")
    t.say("  recipient checks the signer's status at iat against its own current registry.")
    stolen = t.accept(
        f"{XB}'s case system, still on registry serial 1, seals a status message for {XA}",
        sealed(XB, net.registry, later, XB_SYSTEM),
    )
    if stolen is None:
        return t.failures

    def refuse_stolen(at: datetime) -> None:
        error = t.refuse(
            f"{XA} opens the envelope signed at {later.isoformat()}",
            opened_by(XA, stolen, at),
            error=AgencySuspendedError,
        )
        if error is not None:
            # open_envelope records purpose refusals itself, not registry refusals:
            # the agency records this one (see README.md).
            record(
                XA,
                AuditEntry(
                    action="deny",
                    time=int(at.timestamp()),
                    actor=XA_ACTOR,
                    agency=XA,
                    counterparty=XB,
                    purpose=PURPOSE,
                    outcome="denied",
                    reason=f"envelope refused: {error.code}: signer suspended at its iat",
                ),
            )

    refuse_stolen(later)

    # -- 7 -------------------------------------------------------------------------------
    reinstated_at = now + REINSTATED_FROM
    t.step("XB-PROS has remedied the breach; the registry authority lifts the suspension")
    t.say("  Safeguard: Art. 14(15): a suspension lasts while its reason does. The period")
    t.say("  stays on record in the registry, so what was signed inside it stays refused.")
    document = publish(
        document.with_reinstatement(XB, at=reinstated_at),
        reinstated_at,
        f"{XB} reinstated from {reinstated_at.isoformat()}",
    )
    period = registries[XA].agency(XB).suspensions[-1]
    t.check(
        (period.start, period.end) == (suspended_at, reinstated_at),
        f"the suspension period {period.start.isoformat()} .. "
        f"{reinstated_at.isoformat()} stays on record",
    )

    # -- 8 -------------------------------------------------------------------------------
    resumed = reinstated_at + timedelta(hours=1)
    t.step("Transfers resume; the envelope signed during the suspension stays refused")
    t.say("  Safeguard: Art. 14(15) again: after reinstatement XA-NPOL may seal to XB-PROS, but")
    t.say("  an envelope dated inside the suspension period is judged at its iat, and refused.")
    again = t.accept(
        f"{XA} seals subscriber data for {XB}", sealed(XA, registries[XA], resumed, XA_ACTOR)
    )
    if again is not None:
        t.accept(f"{XB} opens it for {PURPOSE}", opened_by(XB, again, resumed))
        t.say(f"  {last_entry(XB)}")
    refuse_stolen(resumed)

    # -- 9 -------------------------------------------------------------------------------
    t.step("The audit logs")
    t.say("  Safeguard: records of every transfer, refusal and notification (Second Additional")
    t.say("  Protocol Art. 14(8)), open to the oversight authority (Art. 14(14)).")
    expected = {
        XA: [
            "seal",
            "registry_update",
            "open",
            "deny",
            "deny",
            "registry_update",
            "seal",
            "deny",
        ],
        XB: [
            "open",
            "seal",
            "notify_breach",
            "registry_update",
            "seal",
            "registry_update",
            "open",
        ],
    }
    for agency, log in logs.items():
        actions = [entry.action for _, entry in log.entries()]
        t.say(f"  {agency}: {', '.join(actions)}")
        t.check(actions == expected[agency], f"{agency}'s log holds every step, in order")
    report = build_report(logs[XA], now=resumed)
    t.say(f"  {XA}'s oversight report lists {report.outcomes['denied']} denials:")
    for denied in report.denied:
        t.say(
            f"    #{denied.index} {denied.action} counterparty {denied.counterparty}: {denied.reason}"
        )
    t.check(
        [d.counterparty for d in report.denied] == [XB, XB, XB],
        "the oversight report shows the three refusals involving XB-PROS",
    )
    xb_report = build_report(logs[XB], now=resumed)
    by_action = {row.value: row.total for row in xb_report.tables["by_action"]}
    t.say(
        f"  {XB}'s oversight report counts by action: "
        + ", ".join(f"{action} {count}" for action, count in by_action.items())
    )
    t.check(
        (by_action.get("notify_breach"), by_action.get("registry_update")) == (1, 2),
        f"{XB}'s oversight report counts the breach notification and both registry updates",
    )
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="breach")


if __name__ == "__main__":
    raise SystemExit(main())
