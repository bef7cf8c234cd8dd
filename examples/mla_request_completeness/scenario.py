"""A formal MLA request that first fails completeness validation, is corrected, sent, answered.

XC-CUST (Carpanian Customs Service, country XC) drafts a mutual legal
assistance request to XB-PROS (Office of the Public Prosecutor of Borduria,
country XB). ``validate()`` lists every UNTOC Art. 18(15) item the draft
lacks; the corrected request validates, is sealed and opened, and XB-PROS's
MLA response inherits its purpose and case. See README.md.

Run: ``python examples/mla_request_completeness/scenario.py``.
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
from safeshare.envelope import open_envelope, seal
from safeshare.errors import PolicyError
from safeshare.messages import (
    Authority,
    Contact,
    MlaRequest,
    MlaResponse,
    Person,
    Result,
    format_problems,
    inherit,
)
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.storage import ReplayCache, open_store

NETWORK: Final = "examples.safeshare.example"
XC: Final = "XC-CUST"
XB: Final = "XB-PROS"
XC_ACTOR: Final = "XC-CUST liaison officer 2203"
XB_ACTOR: Final = "XB-PROS central authority, prosecutor 4711"
CASE: Final = "XC-2026-CUS-0311"
#: The test network's agencies keep data at most one day; the conditions say so.
HANDLING: Final = HandlingConditions(tlp="AMBER", retention=Retention(max_days=1))

REQUESTER: Final = Authority(
    name="Carpanian Customs Service, Investigation Division",
    agency_id=XC,
    country="XC",
    functions="customs investigation service; investigates smuggling offences",
    contact=Contact(name="Liaison office", email="liaison@cust.xc.example"),
)


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
        for agency in (XC, XB)
    }
    replay = {
        agency: ReplayCache(stack.enter_context(open_store(workdir / f"{agency}.replay.db")))
        for agency in logs
    }
    t.say(f"Parties: {XC} ({_testnet.AGENCIES[XC][0]}) and {XB} ({_testnet.AGENCIES[XB][0]})")
    t.say(f"Time of the scenario: {now.isoformat()}; every agency and person is fictional.")

    t.step("XC-CUST drafts an MLA request in a hurry")
    t.say("  Safeguard: UNTOC Art. 18(15), the contents of a request for mutual legal assistance.")
    draft = MlaRequest(
        purpose="criminal_investigation",
        legal_basis="UNTOC.Art18",
        case_ref=CASE,
        requesting_authority=REQUESTER,
        assistance_types=("providing_documents",),
        assistance_sought="bank statements",
    )
    problems = draft.validate(now=now)
    t.say(format_problems(problems, title="The MLA request draft"))
    rules = {p.rule for p in problems}
    t.check(len(problems) >= 3, f"validate() lists every problem at once ({len(problems)})")
    t.check(any("18(15)" in rule for rule in rules), "the problems cite UNTOC Art. 18(15) items")

    t.step("Sealing the incomplete draft is refused")
    try:
        draft.require_valid(now=now)
    except PolicyError as exc:
        t.say(f"  refused as expected: PolicyError: {exc.message.splitlines()[0]}")
    else:
        t.check(False, "require_valid() refuses the incomplete draft")

    t.step("XC-CUST completes the request; it validates")
    request = draft.model_copy(
        update={
            "subject_matter": "investigation of cigarette smuggling by an organised group "
            "operating from Borduria",
            "proceeding_type": "investigation",
            "conducting_authority": Authority(
                name="Public Prosecutor's Office of Carpania City",
                country="XC",
                functions="public prosecutor directing the investigation",
            ),
            "summary_of_facts": "Between March and September 2026 twelve lorries carrying "
            "undeclared cigarettes crossed into Carpania; the freight was paid from an account "
            "at Bank of Borduria held by Example Logistics Ltd.",
            "offences": ("smuggling of excise goods", "participation in an organised group"),
            "applicable_law": "Customs Code of Carpania, s. 373",
            "assistance_sought": "Obtain from Bank of Borduria the opening documents and the "
            "statements from 1 March to 30 September 2026 of the account of Example Logistics "
            "Ltd.",
            "persons_concerned": (
                Person(
                    role="suspect",
                    name="Example Logistics Ltd.",
                    nationalities=("XB",),
                    location="Borduria City",
                ),
            ),
            "purpose_statement": "to trace the payments for the smuggled freight, as evidence in "
            "the investigation",
            "data_categories": ("subscriber",),
        }
    )
    remaining = request.validate(now=now)
    if remaining:
        t.say(format_problems(remaining, title="The MLA request"))
    t.check(not remaining, "the corrected MLA request is complete (validate() found nothing)")
    if remaining:
        return t.failures

    t.step("XC-CUST seals the request for XB-PROS; XB-PROS opens it")
    t.say("  Safeguard: the request's purpose and case become signed claims; the open is")
    t.say("  recorded in XB-PROS's audit log (speciality, UNTOC Art. 18(19)).")
    envelope = t.accept(
        "XC-CUST seals the MLA request",
        lambda: seal(
            **request.seal_arguments(),
            sender=net.keysets[XC],
            to=[XB],
            registry=net.registry,
            handling=HANDLING,
            now=now,
            recorder=AuditLogRecorder(logs[XC]),
            actor=XC_ACTOR,
        ),
    )
    if envelope is None:
        return t.failures
    opened = t.accept(
        "XB-PROS opens it for criminal_investigation",
        lambda: open_envelope(
            envelope,
            recipient=net.keysets[XB],
            registry=net.registry,
            replay=replay[XB],
            purpose="criminal_investigation",
            actor=XB_ACTOR,
            recorder=AuditLogRecorder(logs[XB]),
            now=now,
        ),
    )
    if opened is None:
        return t.failures
    received = MlaRequest.from_envelope(opened)
    t.check(not received.validate(now=now), "the request as received is complete on XB-PROS's side")

    t.step("XB-PROS executes the request and answers")
    t.say("  Safeguard: the MLA response inherits purpose and case, and states the use")
    t.say("  condition of UNTOC Art. 18(19) (use only for the proceedings stated).")
    context = inherit(opened)
    response = context.reply(
        MlaResponse,
        outcome="executed",
        results=(
            Result(
                description="certified copies of the account opening documents and statements",
                reference="XB-MLA-2026-0101/1",
            ),
        ),
        use_conditions=(f"to be used only in case {CASE} (UNTOC Art. 18(19))",),
    )
    answer_problems = response.validate(now=now, request=context)
    if answer_problems:
        t.say(format_problems(answer_problems, title="The MLA response"))
    t.check(not answer_problems, "the MLA response is complete and kept purpose and case")
    answer = t.accept(
        "XB-PROS seals the MLA response",
        lambda: seal(
            **response.seal_arguments(),
            sender=net.keysets[XB],
            to=[XC],
            registry=net.registry,
            handling=HANDLING,
            now=now,
            recorder=AuditLogRecorder(logs[XB]),
            actor=XB_ACTOR,
        ),
    )
    if answer is None:
        return t.failures
    opened_answer = t.accept(
        "XC-CUST opens the answer for criminal_investigation",
        lambda: open_envelope(
            answer,
            recipient=net.keysets[XC],
            registry=net.registry,
            replay=replay[XC],
            purpose="criminal_investigation",
            actor=XC_ACTOR,
            recorder=AuditLogRecorder(logs[XC]),
            now=now,
        ),
    )
    if opened_answer is not None:
        t.check(
            (opened_answer.purpose, opened_answer.case_ref) == ("criminal_investigation", CASE)
            and opened_answer.record.get("in_reply_to", {}).get("jti") == opened.jti,
            f"the answer follows request {opened.jti}, purpose {opened_answer.purpose}, "
            f"case {opened_answer.case_ref}",
        )
    for agency, log in logs.items():
        t.say(f"  {agency}'s audit log: {', '.join(e.action for _, e in log.entries())}")
    return t.failures


def main() -> int:
    """Run the scenario in a temporary directory; 0 if every step behaved as expected."""
    return run_scenario(run, name="mla")


if __name__ == "__main__":
    raise SystemExit(main())
