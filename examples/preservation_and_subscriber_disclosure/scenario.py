"""Expedited preservation, then disclosure of subscriber data, between 24/7 points of contact.

XA-NPOL (National Police of Arcadia, country XA) asks XB-PROS (Office of the
Public Prosecutor of Borduria, country XB) through the 24/7 network to
preserve the records of an e-mail account (Budapest Convention Arts. 29 and
35), then to disclose who holds it (Second Additional Protocol Art. 7).
Every message is validated before it is sealed, every reply inherits the
purpose and case of the request it answers, and every seal and open is
recorded in the acting agency's audit log. See README.md.

Run: ``python examples/preservation_and_subscriber_disclosure/scenario.py``.
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
from safeshare.messages import (
    Authority,
    Contact,
    DataItem,
    DisclosureRequest,
    DisclosureResponse,
    Message,
    PreservationRequest,
    PreservationResponse,
    ReplyContext,
    format_problems,
    inherit,
)
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XA_ACTOR: Final = "XA-NPOL 24/7 point of contact, duty officer 0815"
XB_ACTOR: Final = "XB-PROS 24/7 point of contact, duty prosecutor 4711"
CASE: Final = "XA-2026-000123"
ACCOUNT: Final = "lettings@flats-arcadia.example"
#: The test network's agencies keep data at most one day; the conditions say so.
HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=1))

XA_24_7: Final = Authority(
    name="National Police of Arcadia, Cybercrime Unit",
    agency_id=XA,
    country="XA",
    functions="criminal police; 24/7 point of contact under Budapest Art. 35",
    contact=Contact(
        name="Cybercrime 24/7 duty desk",
        email="cyber-desk@npol.xa.example",
        phone="+99 1 2345 6789",
        available_24_7=True,
    ),
)
FACTS: Final = (
    "Between 1 and 20 October 2026 at least 40 residents of Arcadia City paid deposits for "
    "flats advertised on a rental website that did not exist. The advertiser used the e-mail "
    f"address {ACCOUNT}, hosted by Borduria Mail Ltd."
)
OFFENCE: Final = "computer-related fraud (Criminal Code of Arcadia, s. 263a)"


def _validated(
    t: Transcript, message: Message, now: datetime, request: ReplyContext | None = None
) -> bool:
    problems = message.validate(now=now, request=request)
    if problems:
        t.say(format_problems(problems, title=f"The {message.title.lower()}"))
    t.check(not problems, f"the {message.title.lower()} is complete (validate() found nothing)")
    return not problems


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
    actors = {XA: XA_ACTOR, XB: XB_ACTOR}
    t.say(f"Parties: {XA} ({_testnet.AGENCIES[XA][0]}) and {XB} ({_testnet.AGENCIES[XB][0]})")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    def send(message: Message, sender: str, to: str) -> bytes:
        envelope = seal(
            **message.seal_arguments(),
            sender=net.keysets[sender],
            to=[to],
            registry=net.registry,
            handling=HANDLING,
            now=now,
            recorder=AuditLogRecorder(logs[sender]),
            actor=actors[sender],
        )
        t.say(f"  {sender} sealed a {message.msg_type} for {to} ({len(envelope)} bytes)")
        return envelope

    def receive(envelope: bytes, recipient: str, purpose: str) -> OpenedEnvelope | None:
        opened = t.accept(
            f"{recipient} opens it for {purpose}",
            lambda: open_envelope(
                envelope,
                recipient=net.keysets[recipient],
                registry=net.registry,
                replay=replay[recipient],
                purpose=purpose,
                actor=actors[recipient],
                recorder=AuditLogRecorder(logs[recipient]),
                now=now,
            ),
        )
        if opened is not None:
            last = logs[recipient].entry(logs[recipient].size() - 1)
            t.say(
                f"  {recipient}'s audit log: {last.action}/{last.outcome} by {last.actor}, "
                f"purpose {last.purpose}, envelope {last.jti}"
            )
            t.check(
                last.action == "open" and last.jti == opened.jti,
                "the open is recorded in the recipient's audit log",
            )
        return opened

    t.step("XA-NPOL's 24/7 point of contact drafts an expedited preservation request")
    t.say("  Safeguard: Budapest Art. 29(2)(a)-(f), the contents of a preservation request,")
    t.say("  sent through the 24/7 network (Budapest Art. 35).")
    preservation = PreservationRequest(
        purpose="evidence_preservation",
        legal_basis="BUDAPEST.Art29",
        case_ref=CASE,
        requesting_authority=XA_24_7,
        offence=OFFENCE,
        summary_of_facts=FACTS,
        data_to_preserve=(
            DataItem(
                description="stored e-mails, login records and account details",
                identifiers=(ACCOUNT,),
                relationship_to_offence="the account used to advertise the fake flats",
                time_from=now - timedelta(days=60),
                time_to=now - timedelta(days=30),
            ),
        ),
        custodian="Borduria Mail Ltd., Borduria City",
        necessity="the provider deletes login records after 90 days",
        mla_request_to_follow=True,
        preservation_days=90,
    )
    if not _validated(t, preservation, now):
        return t.failures
    request_envelope = send(preservation, XA, XB)

    t.step("XB-PROS's 24/7 point of contact opens the preservation request")
    t.say("  Safeguard: speciality. The envelope is opened only for its own purpose")
    t.say("  (evidence_preservation), and the open is recorded before the data is released.")
    opened_request = receive(request_envelope, XB, "evidence_preservation")
    if opened_request is None:
        return t.failures

    t.step("XB-PROS answers with a preservation response that inherits purpose and case")
    t.say("  Safeguard: Budapest Art. 30 (the answer names what was preserved and until when);")
    t.say("  the reply references the request by jti and digest and keeps its purpose and case.")
    context = inherit(opened_request)
    preserved = context.reply(
        PreservationResponse,
        outcome="preserved",
        preserved_until=(now + timedelta(days=90)).date(),
        items_preserved=(f"mailbox and login records of {ACCOUNT}",),
        reference="XB-PRES-2026-0457",
    )
    t.check(
        (preserved.purpose, preserved.case_ref)
        == (opened_request.purpose, opened_request.case_ref),
        f"the response inherited purpose {preserved.purpose} and case {preserved.case_ref}",
    )
    if not _validated(t, preserved, now, context):
        return t.failures
    response_envelope = send(preserved, XB, XA)
    opened_response = receive(response_envelope, XA, "evidence_preservation")
    if opened_response is not None:
        t.check(
            opened_response.record.get("outcome") == "preserved",
            f"XA-NPOL reads: outcome preserved until {opened_response.record.get('preserved_until')}",
        )

    t.step("XA-NPOL requests disclosure of the subscriber data")
    t.say("  Safeguard: Second Additional Protocol Art. 7 (subscriber information only; content")
    t.say("  and traffic data would need mutual legal assistance), with the identifier searched.")
    disclosure = DisclosureRequest(
        purpose="criminal_investigation",
        legal_basis="BUDAPEST-2AP.Art7",
        case_ref=CASE,
        requesting_authority=XA_24_7,
        data_category="subscriber",
        data_requested=(
            DataItem(
                description="name, address and means of payment of the account holder",
                identifiers=(ACCOUNT,),
            ),
        ),
        service_provider="Borduria Mail Ltd., Borduria City",
        offence=OFFENCE,
        summary_of_facts=FACTS,
    )
    if not _validated(t, disclosure, now):
        return t.failures
    disclosure_envelope = send(disclosure, XA, XB)
    opened_disclosure = receive(disclosure_envelope, XB, "criminal_investigation")
    if opened_disclosure is None:
        return t.failures

    t.step("XB-PROS answers with a disclosure response")
    t.say("  Safeguard: the response inherits purpose criminal_investigation and the case, and")
    t.say("  carries handling conditions (TLP AMBER, retention 1 day; Second Protocol Art. 14).")
    answer_context = inherit(opened_disclosure)
    answer = answer_context.reply(
        DisclosureResponse,
        outcome="disclosed",
        data_category="subscriber",
        provider="Borduria Mail Ltd.",
        records=(
            {
                "account": ACCOUNT,
                "name": "Alex Example",
                "address": "1 Example Street, Borduria City",
                "registered": "2026-09-28",
            },
        ),
    )
    if not _validated(t, answer, now, answer_context):
        return t.failures
    answer_envelope = send(answer, XB, XA)
    opened_answer = receive(answer_envelope, XA, "criminal_investigation")
    if opened_answer is not None:
        t.check(
            opened_answer.case_ref == CASE and opened_answer.purpose == "criminal_investigation",
            f"the subscriber data arrived for case {opened_answer.case_ref}, "
            f"purpose {opened_answer.purpose}",
        )

    t.step("The audit logs")
    for agency, log in logs.items():
        actions = [entry.action for _, entry in log.entries()]
        t.say(f"  {agency}: {', '.join(actions)}")
        t.check(
            actions.count("seal") == 2 and actions.count("open") == 2,
            f"{agency}'s log holds its two seals and its two opens",
        )
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="preservation")


if __name__ == "__main__":
    raise SystemExit(main())
