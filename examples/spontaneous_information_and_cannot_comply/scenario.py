"""Spontaneous information under a confidentiality condition, then a request that cannot be met.

XA-NPOL (National Police of Arcadia, country XA) sends XB-PROS (Office of the
Public Prosecutor of Borduria, country XB) information it was not asked for
(Budapest Convention Art. 26; UNTOC Art. 18(4)) on condition that it is kept
confidential. XB-PROS can open it only by acknowledging the conditions, and
says so in a receipt. XB-PROS then asks XA-NPOL for mutual legal assistance
and requires the request to stay confidential; XA-NPOL's law obliges it to
notify the person concerned, so it answers with a cannot-comply notice
(UNTOC Art. 18(20); Budapest Art. 27(8)) and suspends execution until XB-PROS
decides. Every message is validated, sealed, opened and recorded. See
README.md.

Run: ``python examples/spontaneous_information_and_cannot_comply/scenario.py``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
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
    CannotComplyNotice,
    Contact,
    Message,
    MlaRequest,
    Person,
    Receipt,
    ReplyContext,
    SpontaneousInformation,
    format_problems,
    inherit,
)
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XA_ACTOR: Final = "XA-NPOL cybercrime unit, analyst 0815"
XB_ACTOR: Final = "XB-PROS cybercrime section, prosecutor 4711"
PURPOSE: Final = "criminal_investigation"
XA_CASE: Final = "XA-2026-CYB-0777"
XB_CASE: Final = "XB-2026-PROS-1204"
SERVER: Final = "198.51.100.23"

#: The confidentiality condition of Budapest Art. 26(2), as texts XB-PROS must acknowledge.
KEEP_CONFIDENTIAL: Final = (
    "Keep this information confidential: do not disclose it, nor the fact that it was "
    "sent, outside the Office of the Public Prosecutor without XA-NPOL's prior consent "
    "(Budapest Convention Art. 26(2))."
)
NO_EVIDENCE: Final = (
    "Use this information only to open or steer an investigation; do not use it as "
    "evidence without a request for mutual legal assistance."
)
#: Conditions of the spontaneous information: confidential, TLP AMBER+STRICT, kept one day
#: (the test network's agencies declare one day), two conditions to acknowledge on open.
CONFIDENTIAL: Final = HandlingConditions(
    tlp="AMBER+STRICT",
    confidential_request=True,
    retention=Retention(max_days=1),
    acknowledgements=(KEEP_CONFIDENTIAL, NO_EVIDENCE),
)
#: Conditions of the request and the notice: TLP AMBER, the request itself confidential.
REQUEST_HANDLING: Final = HandlingConditions(
    tlp="AMBER", confidential_request=True, retention=Retention(max_days=1)
)

XA_UNIT: Final = Authority(
    name="National Police of Arcadia, Cybercrime Unit",
    agency_id=XA,
    country="XA",
    functions="criminal police; cybercrime investigations",
    contact=Contact(name="Cybercrime desk", email="cyber-desk@npol.xa.example"),
)
XB_OFFICE: Final = Authority(
    name="Office of the Public Prosecutor of Borduria, Cybercrime Section",
    agency_id=XB,
    country="XB",
    functions="public prosecutor directing criminal investigations",
    contact=Contact(name="Cybercrime section", email="cyber@pros.xb.example"),
)


def kind(message: Message) -> str:
    """The message type's name in a sentence: "spontaneous information", "MLA request"."""
    title = message.title
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


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
    t.say(f"Parties: {XA} ({_testnet.AGENCIES[XA][0]}), the provider of the information,")
    t.say(f"         {XB} ({_testnet.AGENCIES[XB][0]}), its recipient.")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    def last_entry(agency: str) -> str:
        log = logs[agency]
        entry = log.entry(log.size() - 1)
        return (
            f"{agency}'s audit log #{log.size() - 1}: {entry.action}/{entry.outcome} by "
            f"{entry.actor}, purpose {entry.purpose}, envelope {entry.jti}"
        )

    def validated(message: Message, request: ReplyContext | None = None) -> bool:
        problems = message.validate(now=now, request=request)
        if problems:
            t.say(format_problems(problems, title=f"The {kind(message)}"))
        t.check(not problems, f"the {kind(message)} is complete (validate() found nothing)")
        return not problems

    def send(message: Message, sender: str, to: str, handling: HandlingConditions) -> bytes | None:
        envelope = t.accept(
            f"{sender} seals the {kind(message)} for {to}",
            lambda: seal(
                **message.seal_arguments(),
                sender=net.keysets[sender],
                to=[to],
                registry=net.registry,
                handling=handling,
                now=now,
                recorder=AuditLogRecorder(logs[sender]),
                actor=actors[sender],
            ),
        )
        if envelope is not None:
            t.say(f"  {last_entry(sender)}")
        return envelope

    def open_as(
        envelope: bytes, recipient: str, acknowledged: tuple[str, ...] = ()
    ) -> OpenedEnvelope:
        return open_envelope(
            envelope,
            recipient=net.keysets[recipient],
            registry=net.registry,
            replay=replay[recipient],
            purpose=PURPOSE,
            actor=actors[recipient],
            recorder=AuditLogRecorder(logs[recipient]),
            acknowledged=acknowledged,
            now=now,
        )

    def receive(
        envelope: bytes, recipient: str, acknowledged: tuple[str, ...] = ()
    ) -> OpenedEnvelope | None:
        opened = t.accept(
            f"{recipient} opens it for {PURPOSE}"
            + (f", acknowledging {len(acknowledged)} condition(s)" if acknowledged else ""),
            lambda: open_as(envelope, recipient, acknowledged),
        )
        if opened is not None:
            t.say(f"  {last_entry(recipient)}")
            entry = logs[recipient].entry(logs[recipient].size() - 1)
            t.check(
                entry.action == "open" and entry.jti == opened.jti,
                f"the open is recorded in {recipient}'s audit log before the data is released",
            )
        return opened

    # -- 1 -------------------------------------------------------------------------------
    t.step("XA-NPOL sends spontaneous information, on condition that it stays confidential")
    t.say("  Safeguard: Budapest Convention Art. 26(1) and UNTOC Art. 18(4) (information sent")
    t.say("  without a request); Art. 26(2) (the provider may require confidentiality). The")
    t.say("  conditions are signed claims: confidential_request, TLP AMBER+STRICT, and two")
    t.say("  texts the recipient must acknowledge before it sees anything.")
    information = SpontaneousInformation(
        purpose=PURPOSE,
        legal_basis="BUDAPEST.Art26",
        case_ref=XA_CASE,
        providing_authority=XA_UNIT,
        information=(
            f"A phishing kit seized in Arcadia sends the bank credentials it collects to the "
            f"server {SERVER}, hosted in Borduria. About 300 Bordurian bank customers are "
            "among the victims identified so far."
        ),
        records=({"server": SERVER, "hosting_provider": "Borduria Hosting Ltd."},),
        relevance="the victims and the server are in Borduria; the information could assist "
        "a Bordurian investigation of the fraud",
        offence="computer-related fraud; illegal access",
        confidentiality_requested=True,
        use_restrictions=(NO_EVIDENCE,),
    )
    if not validated(information):
        return t.failures
    spontaneous = send(information, XA, XB, CONFIDENTIAL)
    if spontaneous is None:
        return t.failures

    # -- 2 -------------------------------------------------------------------------------
    t.step("XB-PROS tries to open it without acknowledging the conditions")
    t.say("  Safeguard: Budapest Art. 26(2): a recipient that accepts the information is bound")
    t.say("  by its conditions. Nothing is released until every condition is acknowledged, as")
    t.say("  written; the refusal is recorded and does not consume the envelope.")
    t.refuse(f"{XB} opens it acknowledging nothing", lambda: open_as(spontaneous, XB))
    t.say(f"  {last_entry(XB)}")
    denial = logs[XB].entry(logs[XB].size() - 1)
    t.check(
        denial.action == "deny" and denial.outcome == "denied",
        "the refused open is recorded as a denial in XB-PROS's audit log",
    )
    t.refuse(
        f"{XB} opens it acknowledging only the first condition",
        lambda: open_as(spontaneous, XB, (KEEP_CONFIDENTIAL,)),
    )

    # -- 3 -------------------------------------------------------------------------------
    t.step("XB-PROS acknowledges both conditions and opens it; its receipt says so")
    t.say("  Safeguard: Budapest Art. 26(2), acceptance of the conditions; the receipt tells")
    t.say("  XA-NPOL which conditions XB-PROS acknowledged and when.")
    opened_info = receive(spontaneous, XB, (KEEP_CONFIDENTIAL, NO_EVIDENCE))
    if opened_info is None:
        return t.failures
    t.check(
        opened_info.handling.confidential_request
        and opened_info.handling.acknowledgements == (KEEP_CONFIDENTIAL, NO_EVIDENCE),
        "XB-PROS reads the signed conditions: confidential, two acknowledgements",
    )
    receipt_context = inherit(opened_info)
    receipt = receipt_context.reply(
        Receipt,
        received_at=now,
        acknowledged_conditions=opened_info.handling.acknowledgements,
        note="received by the cybercrime section; access restricted to the case team",
    )
    if not validated(receipt, receipt_context):
        return t.failures
    receipt_envelope = send(receipt, XB, XA, REQUEST_HANDLING)
    if receipt_envelope is None:
        return t.failures
    opened_receipt = receive(receipt_envelope, XA)
    if opened_receipt is not None:
        received = Receipt.from_envelope(opened_receipt)
        t.check(
            received.acknowledged_conditions == (KEEP_CONFIDENTIAL, NO_EVIDENCE)
            and received.in_reply_to is not None
            and received.in_reply_to.jti == opened_info.jti,
            f"XA-NPOL reads that XB-PROS acknowledged both conditions of {opened_info.jti}",
        )

    # -- 4 -------------------------------------------------------------------------------
    t.step("XB-PROS asks XA-NPOL for mutual legal assistance and requires confidentiality")
    t.say("  Safeguard: UNTOC Art. 18(15) (contents of the request) and Art. 18(20) (the")
    t.say("  requesting State may require that the fact and substance of the request be kept")
    t.say("  confidential); Budapest Art. 27(8) likewise.")
    request = MlaRequest(
        purpose=PURPOSE,
        legal_basis="UNTOC.Art18",
        case_ref=XB_CASE,
        requesting_authority=XB_OFFICE,
        subject_matter="investigation of a phishing campaign against customers of Bordurian banks",
        proceeding_type="investigation",
        conducting_authority=XB_OFFICE,
        summary_of_facts=(
            f"Credentials of Bordurian bank customers were sent to the server {SERVER}; "
            "the kit that sent them was seized in Arcadia."
        ),
        offences=("computer-related fraud", "illegal access"),
        assistance_types=("providing_documents",),
        assistance_sought="a forensic copy of the seized phishing kit and the list of the "
        "credentials it had collected",
        persons_concerned=(Person(role="suspect", name="the operator of the seized phishing kit"),),
        purpose_statement="to identify the victims in Borduria and the operator of the server",
        confidentiality_required=True,
    )
    if not validated(request):
        return t.failures
    request_envelope = send(request, XB, XA, REQUEST_HANDLING)
    if request_envelope is None:
        return t.failures
    opened_request = receive(request_envelope, XA)
    if opened_request is None:
        return t.failures
    received_request = MlaRequest.from_envelope(opened_request)
    t.check(
        received_request.confidentiality_required,
        "XA-NPOL reads that the request must be kept confidential",
    )

    # -- 5 -------------------------------------------------------------------------------
    t.step("XA-NPOL cannot keep the request confidential: a cannot-comply notice")
    t.say("  Safeguard: UNTOC Art. 18(20) and Budapest Art. 27(8): a requested State that")
    t.say("  cannot comply with the confidentiality requirement promptly informs the requesting")
    t.say("  State, which decides whether the request should nevertheless be executed.")
    context = inherit(opened_request)
    hurried = context.reply(CannotComplyNotice, condition="confidentiality")
    problems = hurried.validate(now=now, request=context)
    t.say(format_problems(problems, title="The first draft of the notice"))
    t.check(
        [p.field for p in problems] == ["explanation"],
        "a notice without an explanation is incomplete: the requester could not decide",
    )
    t.refuse("sealing the notice without an explanation", lambda: hurried.require_valid(now=now))
    notice = context.reply(
        CannotComplyNotice,
        condition="confidentiality",
        explanation=(
            "Under the Arcadian Code of Criminal Procedure, s. 101, the owner of seized data "
            "must be notified before copies are handed to a foreign authority. Executing the "
            "request would disclose it to the suspect's lawyer."
        ),
        execution_suspended=True,
    )
    if not validated(notice, context):
        return t.failures
    notice_envelope = send(notice, XA, XB, REQUEST_HANDLING)
    if notice_envelope is None:
        return t.failures
    opened_notice = receive(notice_envelope, XB)
    if opened_notice is not None:
        received_notice = CannotComplyNotice.from_envelope(opened_notice)
        follows = received_notice.in_reply_to
        t.check(
            received_notice.condition == "confidentiality"
            and received_notice.execution_suspended is True
            and follows is not None
            and follows.jti == opened_request.jti
            and follows.digest == opened_request.digest,
            f"XB-PROS reads: confidentiality cannot be met for request {opened_request.jti}; "
            "execution is suspended until it decides",
        )
        t.check(
            not received_notice.validate(now=now, request=inherit(opened_request)),
            "the notice kept the purpose and case of the request it answers",
        )
        t.check(
            (opened_notice.purpose, opened_notice.case_ref) == (PURPOSE, XB_CASE),
            f"the notice travels under purpose {opened_notice.purpose}, case "
            f"{opened_notice.case_ref}",
        )

    # -- 6 -------------------------------------------------------------------------------
    t.step("The audit logs")
    t.say("  Safeguard: records of every transfer and access (Second Additional Protocol")
    t.say("  Art. 14(8)), metadata only.")
    expected = {
        XA: ["seal", "open", "open", "seal"],
        XB: ["deny", "deny", "open", "seal", "seal", "open"],
    }
    for agency, log in logs.items():
        actions = [entry.action for _, entry in log.entries()]
        t.say(f"  {agency}: {', '.join(actions)}")
        t.check(
            actions == expected[agency],
            f"{agency}'s log holds every seal, open and refusal, in order",
        )
        t.check(log.verify() == len(actions), f"{agency}'s log re-derives to its Merkle tree")
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="spontaneous")


if __name__ == "__main__":
    raise SystemExit(main())
