"""Purpose limitation on open, evidential use with consent, and a retention purge.

XA-NPOL (National Police of Arcadia, country XA) has sent subscriber data to
XB-PROS (Office of the Public Prosecutor of Borduria, country XB) for a
criminal investigation. An officer of XB-PROS tries to open it for an
incompatible purpose (refused and recorded), opens it for its purpose, asks
to use it as evidence (refused without XA-NPOL's consent, allowed with it),
and after the retention period the record is purged and the purge recorded.
See README.md.

Run: ``python examples/purpose_limitation_and_retention/scenario.py``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from safeshare import _testnet
from safeshare._transcript import Transcript, run_scenario
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.purpose.retention import RetentionStore
from safeshare.purpose.use import check_evidential_use
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
OFFICER: Final = "XB-PROS officer 4711"
PURPOSE: Final = "criminal_investigation"
OTHER_PURPOSE: Final = "intelligence_analysis"
CASE: Final = "XA-2026-000123"
#: Evidential use only with the originator's consent; kept at most one day.
HANDLING: Final = HandlingConditions(
    tlp="AMBER", evidential_use="with_consent", retention=Retention(max_days=1)
)
RECORD: Final = {
    "account": "lettings@flats-arcadia.example",
    "name": "Alex Example",
    "address": "1 Example Street, Borduria City",
}


def run(workdir: Path, now: datetime) -> list[str]:
    """Run the scenario in *workdir*; return what did not behave as expected."""
    with contextlib.ExitStack() as stack:
        return _run(stack, workdir, now)


def _run(stack: contextlib.ExitStack, workdir: Path, now: datetime) -> list[str]:
    t = Transcript()
    net = _testnet.build(now)
    log = AuditLog(
        stack.enter_context(open_store(workdir / f"{XB}.audit.db")),
        origin=agency_log_origin(XB, network=NETWORK),
    )
    recorder = AuditLogRecorder(log)
    replay = ReplayCache(stack.enter_context(open_store(workdir / f"{XB}.replay.db")))
    consents = ConsentStore(stack.enter_context(open_store(workdir / f"{XB}.consent.db")))
    retained = RetentionStore(stack.enter_context(open_store(workdir / f"{XB}.retention.db")))
    t.say(f"Parties: {XA} ({_testnet.AGENCIES[XA][0]}), the originator, and")
    t.say(f"         {XB} ({_testnet.AGENCIES[XB][0]}), the recipient.")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    def last_entry() -> str:
        entry = log.entry(log.size() - 1)
        return (
            f"{entry.action}/{entry.outcome} by {entry.actor}, purpose {entry.purpose}, "
            f"envelope {entry.jti}: {entry.reason}"
        )

    t.step("XA-NPOL sends subscriber data to XB-PROS for a criminal investigation")
    t.say("  Conditions: evidential use only with consent, retention 1 day (Second Protocol")
    t.say("  Art. 14(2), 14(5); UNTOC Art. 18(19)).")
    envelope = seal(
        RECORD,
        sender=net.keysets[XA],
        to=[XB],
        registry=net.registry,
        purpose=PURPOSE,
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref=CASE,
        message_type="disclosure_response",
        handling=HANDLING,
        now=now,
    )
    t.say(f"  sealed: {len(envelope)} bytes, purpose {PURPOSE}, case {CASE}")

    def open_for(purpose: str) -> OpenedEnvelope:
        return open_envelope(
            envelope,
            recipient=net.keysets[XB],
            registry=net.registry,
            replay=replay,
            purpose=purpose,
            actor=OFFICER,
            recorder=recorder,
            now=now,
        )

    t.step("An officer opens the data for an incompatible purpose")
    t.say("  Safeguard: speciality / purpose limitation (Second Protocol Art. 14(2); UNTOC")
    t.say("  Art. 18(19)): intelligence analysis is not compatible with the purpose sent.")
    t.refuse(f"{OFFICER} opens the envelope for {OTHER_PURPOSE}", lambda: open_for(OTHER_PURPOSE))
    t.say(f"  audit log: {last_entry()}")
    denial = log.entry(log.size() - 1)
    t.check(
        denial.action == "deny" and denial.outcome == "denied" and denial.purpose == OTHER_PURPOSE,
        "the refusal is recorded as a denial in XB-PROS's audit log",
    )

    t.step("The officer opens the data for its purpose")
    t.say("  The refused attempt did not consume the envelope's jti: it still opens once.")
    opened = t.accept(f"{OFFICER} opens the envelope for {PURPOSE}", lambda: open_for(PURPOSE))
    if opened is None:
        return t.failures
    t.say(f"  audit log: {last_entry()}")
    kept = t.accept(
        "XB-PROS keeps the record until its retention ends",
        lambda: retained.keep(opened, now=now),
    )
    if kept is not None:
        t.say(f"  retained until {kept.retain_until.isoformat()}")

    t.step("The officer asks to use the data as evidence, without consent")
    t.say("  Safeguard: evidential use only with the originator's consent (condition")
    t.say("  evidential_use: with_consent; Second Protocol Art. 14(2)(b)).")
    t.refuse(
        "use the data as evidence in judicial proceedings",
        lambda: check_evidential_use(
            opened,
            consents=consents,
            registry=net.registry,
            recorder=recorder,
            actor=OFFICER,
            now=now,
        ),
    )
    t.say(f"  audit log: {last_entry()}")
    t.check(log.entry(log.size() - 1).outcome == "denied", "the refused use is recorded")

    t.step("XA-NPOL grants consent to evidential use; XB-PROS records it; now it is allowed")
    token = issue_grant(
        originator=net.keysets[XA],
        holder=XB,
        envelope_jti=opened.jti,
        envelope_digest=opened.digest,
        scope="evidential_use",
        valid_for=timedelta(days=30),
        now=now,
    )
    grant = t.accept(
        "XB-PROS verifies and records XA-NPOL's signed consent grant",
        lambda: consents.add(
            token, registry=net.registry, now=now, recorder=recorder, actor=OFFICER
        ),
    )
    if grant is not None:
        t.say(f"  grant {grant.grant_id}: {grant.describe()}")
    t.accept(
        "use the data as evidence in judicial proceedings",
        lambda: check_evidential_use(
            opened,
            consents=consents,
            registry=net.registry,
            recorder=recorder,
            actor=OFFICER,
            now=now,
        ),
    )
    t.say(f"  audit log: {last_entry()}")

    t.step("Two days later the retention period has ended: purge")
    t.say("  Safeguard: retention limit (Second Protocol Art. 14(5)); the deletion is recorded.")
    later = now + timedelta(days=2)
    purged = t.accept(
        "XB-PROS purges what has expired",
        lambda: retained.purge(
            now=later, recorder=recorder, actor="XB-PROS retention job", agency=XB
        ),
    )
    if purged is not None:
        t.check([p.jti for p in purged] == [opened.jti], f"the record {opened.jti} was deleted")
    t.check(retained.get(opened.jti, XA, now=later) is None, "the record is gone")
    t.say(f"  audit log: {last_entry()}")
    t.check(log.entry(log.size() - 1).action == "purge", "the purge is recorded")

    t.step("XB-PROS's audit log")
    for index, entry in log.entries():
        t.say(f"  {index}: {entry.action}/{entry.outcome} purpose {entry.purpose}")
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="purpose")


if __name__ == "__main__":
    raise SystemExit(main())
