"""Each completeness rule produces its own problem, with its wording and its source.

Every row starts from the complete example of a type (which has no problems),
breaks exactly one rule, and expects exactly the problems of that rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from specs.tools.generate_message_vectors import EXAMPLES

from safeshare.messages import Problem, inherit, validate_message

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
Change = Callable[[dict[str, Any]], None]


def drop(*names: str) -> Change:
    def change(data: dict[str, Any]) -> None:
        for name in names:
            target: Any = data
            *path, last = name.split(".")
            for part in path:
                target = target[int(part)] if isinstance(target, list) else target[part]
            del target[last]

    return change


def put(**values: Any) -> Change:
    def change(data: dict[str, Any]) -> None:
        data.update(copy.deepcopy(values))

    return change


def both(*changes: Change) -> Change:
    def change(data: dict[str, Any]) -> None:
        for c in changes:
            c(data)

    return change


@dataclass(frozen=True)
class Rule:
    msg_type: str
    change: Change
    fields: tuple[str, ...]
    words: str
    """A fragment every problem's message must contain."""
    rule: str
    """A fragment every problem's rule must contain."""


RULES: dict[str, Rule] = {
    # claims and vocabulary (any type)
    "purpose-missing": Rule(
        "mla_request", drop("purpose"), ("purpose",), "Purpose is missing", "18(19)"
    ),
    "purpose-unknown": Rule(
        "mla_request", put(purpose="fishing"), ("purpose",), "not in the vocabulary", "vocabulary"
    ),
    "basis-missing": Rule(
        "mla_request", drop("legal_basis"), ("legal_basis",), "Legal basis is missing", "vocabulary"
    ),
    "basis-unknown": Rule(
        "mla_request",
        put(legal_basis="UNTOC.Art99"),
        ("legal_basis",),
        "not in the vocabulary",
        "vocabulary",
    ),
    "basis-wrong-type": Rule(
        "mla_request",
        put(legal_basis="BUDAPEST-2AP.Art7"),
        ("legal_basis",),
        "does not provide for a mla request",
        "vocabulary",
    ),
    "purpose-not-under-basis": Rule(
        "mla_request",
        put(purpose="border_control"),
        ("purpose",),
        "cannot be pursued under UNTOC.Art18",
        "vocabulary",
    ),
    "case-missing": Rule(
        "mla_request", drop("case_ref"), ("case_ref",), "Case reference is missing", "case"
    ),
    "case-blank": Rule(
        "mla_request", put(case_ref="   "), ("case_ref",), "Case reference is missing", "case"
    ),
    # preservation request: Budapest Art. 29(2)
    "pres-authority": Rule(
        "preservation_request",
        drop("requesting_authority"),
        ("requesting_authority",),
        "Requesting authority is missing",
        "29(2)(a)",
    ),
    "pres-authority-name": Rule(
        "preservation_request",
        drop("requesting_authority.name"),
        ("requesting_authority.name",),
        "name of the requesting authority",
        "29(2)(a)",
    ),
    "pres-offence": Rule(
        "preservation_request", drop("offence"), ("offence",), "Offence is missing", "29(2)(b)"
    ),
    "pres-facts": Rule(
        "preservation_request",
        drop("summary_of_facts"),
        ("summary_of_facts",),
        "Summary of facts is missing",
        "29(2)(b)",
    ),
    "pres-data": Rule(
        "preservation_request",
        drop("data_to_preserve"),
        ("data_to_preserve",),
        "Data to preserve is missing",
        "29(2)(c)",
    ),
    "pres-item-empty": Rule(
        "preservation_request",
        put(data_to_preserve=[{"relationship_to_offence": "x"}]),
        ("data_to_preserve[0]",),
        "says nothing about the data",
        "29(2)(c)",
    ),
    "pres-item-order": Rule(
        "preservation_request",
        put(
            data_to_preserve=[
                {
                    "identifiers": ["a"],
                    "relationship_to_offence": "x",
                    "time_from": "2026-10-02T00:00:00Z",
                    "time_to": "2026-10-01T00:00:00Z",
                }
            ]
        ),
        ("data_to_preserve[0].time_to",),
        "ends before it starts",
        "29(2)(c)",
    ),
    "pres-relationship": Rule(
        "preservation_request",
        drop("data_to_preserve.0.relationship_to_offence"),
        ("data_to_preserve[0].relationship_to_offence",),
        "relationship of item 1",
        "29(2)(c)",
    ),
    "pres-custodian": Rule(
        "preservation_request",
        drop("custodian"),
        ("custodian",),
        "Custodian or location",
        "29(2)(d)",
    ),
    "pres-necessity": Rule(
        "preservation_request",
        drop("necessity"),
        ("necessity",),
        "Necessity of the preservation is missing",
        "29(2)(e)",
    ),
    "pres-mla-missing": Rule(
        "preservation_request",
        drop("mla_request_to_follow"),
        ("mla_request_to_follow",),
        "mutual assistance request will follow",
        "29(2)(f)",
    ),
    "pres-mla-false": Rule(
        "preservation_request",
        put(mla_request_to_follow=False),
        ("mla_request_to_follow",),
        "only for data that a mutual assistance request will follow",
        "29(2)(f)",
    ),
    # preservation response
    "presr-outcome": Rule(
        "preservation_response", drop("outcome"), ("outcome",), "Outcome is missing", "Art. 29"
    ),
    "presr-until": Rule(
        "preservation_response", drop("preserved_until"), ("preserved_until",), "60 days", "29(7)"
    ),
    "presr-reason": Rule(
        "preservation_response",
        put(outcome="not_preserved"),
        ("reason",),
        "Reason is missing",
        "29(6)",
    ),
    # disclosure request
    "disc-authority": Rule(
        "disclosure_request",
        drop("requesting_authority"),
        ("requesting_authority",),
        "Requesting authority is missing",
        "18(15)(a)",
    ),
    "disc-category": Rule(
        "disclosure_request",
        drop("data_category"),
        ("data_category",),
        "Data category is missing",
        "2023/1543",
    ),
    "disc-data": Rule(
        "disclosure_request",
        drop("data_requested"),
        ("data_requested",),
        "data requested is missing",
        "Art. 7",
    ),
    "disc-provider": Rule(
        "disclosure_request",
        drop("service_provider"),
        ("service_provider",),
        "Service provider is missing",
        "Art. 7",
    ),
    "disc-offence": Rule(
        "disclosure_request", drop("offence"), ("offence",), "Offence is missing", "18(15)(b)"
    ),
    "disc-subscriber-id": Rule(
        "disclosure_request",
        put(data_requested=[{"description": "the account holder"}]),
        ("data_requested[0].identifiers",),
        "subscriber data can only be looked up",
        "2023/1543",
    ),
    "disc-content-not-art7": Rule(
        "disclosure_request",
        put(
            data_category="content",
            summary_of_facts="facts",
            justification="needed",
            data_requested=[
                {
                    "identifiers": ["a"],
                    "time_from": "2026-10-01T00:00:00Z",
                    "time_to": "2026-10-02T00:00:00Z",
                }
            ],
        ),
        ("legal_basis",),
        "only be obtained by mutual legal assistance",
        "content data requires mutual legal assistance",
    ),
    "disc-category-not-covered": Rule(
        "disclosure_request",
        put(
            data_category="traffic",
            justification="needed",
            data_requested=[
                {
                    "identifiers": ["a"],
                    "time_from": "2026-10-01T00:00:00Z",
                    "time_to": "2026-10-02T00:00:00Z",
                }
            ],
        ),
        ("data_category",),
        "does not cover traffic data",
        "vocabulary",
    ),
    "disc-traffic-period": Rule(
        "disclosure_request",
        put(
            legal_basis="UNTOC.Art18",
            data_category="traffic",
            summary_of_facts="facts",
            justification="needed",
            data_requested=[{"identifiers": ["a"], "time_from": "2026-10-01T00:00:00Z"}],
        ),
        ("data_requested[0].time_to",),
        "must be limited to a period",
        "Art. 15",
    ),
    "disc-traffic-justification": Rule(
        "disclosure_request",
        put(
            legal_basis="UNTOC.Art18",
            data_category="traffic",
            summary_of_facts="facts",
            data_requested=[
                {
                    "identifiers": ["a"],
                    "time_from": "2026-10-01T00:00:00Z",
                    "time_to": "2026-10-02T00:00:00Z",
                }
            ],
        ),
        ("justification",),
        "less intrusive",
        "Art. 15",
    ),
    "disc-identification-time": Rule(
        "disclosure_request",
        put(
            legal_basis="BUDAPEST-2AP.Art8",
            data_category="identification_only",
            data_requested=[{"identifiers": ["198.51.100.23:51234"]}],
        ),
        ("data_requested[0].time_from",),
        "exact time of the connection",
        "2023/1543",
    ),
    "disc-identification-id": Rule(
        "disclosure_request",
        put(
            legal_basis="BUDAPEST-2AP.Art8",
            data_category="identification_only",
            data_requested=[{"description": "the user", "time_from": "2026-10-01T10:00:00Z"}],
        ),
        ("data_requested[0].identifiers",),
        "which address or account",
        "2023/1543",
    ),
    "disc-mla-facts": Rule(
        "disclosure_request",
        put(legal_basis="UNTOC.Art18"),
        ("summary_of_facts",),
        "Summary of facts is missing",
        "18(15)(c)",
    ),
    "disc-deadline-reason": Rule(
        "disclosure_request",
        put(deadline="2026-12-24"),
        ("urgency_reason",),
        "Reason for the deadline is missing",
        "18(24)",
    ),
    # disclosure response
    "discr-outcome": Rule(
        "disclosure_response", drop("outcome"), ("outcome",), "Outcome is missing", "18(24)"
    ),
    "discr-records": Rule(
        "disclosure_response", drop("records"), ("records",), "none is attached", "18(24)"
    ),
    "discr-no-data-with-records": Rule(
        "disclosure_response", put(outcome="no_data"), ("records",), "outcome is no_data", "18(24)"
    ),
    "discr-category": Rule(
        "disclosure_response",
        drop("data_category"),
        ("data_category",),
        "Data category is missing",
        "2023/1543",
    ),
    "discr-withheld": Rule(
        "disclosure_response",
        put(outcome="partially_disclosed"),
        ("withheld_reason",),
        "withholding",
        "18(23)",
    ),
    "discr-category-covered": Rule(
        "disclosure_response",
        put(data_category="content"),
        ("data_category",),
        "does not cover content data",
        "vocabulary",
    ),
    # MLA request: UNTOC Art. 18(15)
    "mla-a": Rule(
        "mla_request",
        drop("requesting_authority"),
        ("requesting_authority",),
        "identity of the authority making the request",
        "18(15)(a)",
    ),
    "mla-b-subject": Rule(
        "mla_request",
        drop("subject_matter"),
        ("subject_matter",),
        "subject matter and nature",
        "18(15)(b)",
    ),
    "mla-b-nature": Rule(
        "mla_request",
        drop("proceeding_type"),
        ("proceeding_type",),
        "Nature of the proceeding is missing",
        "18(15)(b)",
    ),
    "mla-b-conducting": Rule(
        "mla_request",
        drop("conducting_authority"),
        ("conducting_authority",),
        "name and functions of the authority",
        "18(15)(b)",
    ),
    "mla-b-functions": Rule(
        "mla_request",
        drop("conducting_authority.functions"),
        ("conducting_authority.functions",),
        "functions of the authority conducting",
        "18(15)(b)",
    ),
    "mla-c": Rule(
        "mla_request",
        drop("summary_of_facts"),
        ("summary_of_facts",),
        "commonly refused",
        "18(15)(c)",
    ),
    "mla-d": Rule(
        "mla_request",
        drop("assistance_sought"),
        ("assistance_sought",),
        "Description of the assistance sought is missing",
        "18(15)(d)",
    ),
    "mla-e": Rule(
        "mla_request",
        drop("persons_concerned"),
        ("persons_concerned",),
        "identity, location and nationality",
        "18(15)(e)",
    ),
    "mla-e-person": Rule(
        "mla_request",
        put(persons_concerned=[{"role": "suspect", "nationalities": ["XB"]}]),
        ("persons_concerned[0].name",),
        "Person 1 is not identified",
        "18(15)(e)",
    ),
    "mla-f": Rule(
        "mla_request",
        drop("purpose_statement"),
        ("purpose_statement",),
        "purpose for which the evidence",
        "18(15)(f)",
    ),
    "mla-deadline": Rule(
        "mla_request", put(deadline="2027-01-15"), ("urgency_reason",), "deadlines", "18(24)"
    ),
    "mla-category": Rule(
        "mla_request",
        put(legal_basis="BUDAPEST-2AP.Art10", data_categories=["subscriber"]),
        (),
        "",
        "",
    ),
    # MLA response
    "mlar-outcome": Rule(
        "mla_response", drop("outcome"), ("outcome",), "Outcome is missing", "18(24)"
    ),
    "mlar-results": Rule(
        "mla_response", drop("results"), ("results",), "Results is missing", "18(24)"
    ),
    "mlar-description": Rule(
        "mla_response",
        drop("results.0.description"),
        ("results[0].description",),
        "description of result 1",
        "18(24)",
    ),
    "mlar-partial": Rule(
        "mla_response",
        put(outcome="partially_executed"),
        ("not_executed",),
        "even in part",
        "18(23)",
    ),
    # spontaneous information
    "spont-authority": Rule(
        "spontaneous_information",
        drop("providing_authority"),
        ("providing_authority",),
        "Providing authority is missing",
        "18(4)",
    ),
    "spont-information": Rule(
        "spontaneous_information",
        drop("information", "records"),
        ("information",),
        "Information is missing",
        "18(4)",
    ),
    "spont-records-suffice": Rule("spontaneous_information", drop("information"), (), "", ""),
    "spont-relevance": Rule(
        "spontaneous_information", drop("relevance"), ("relevance",), "without a request", "26(1)"
    ),
    "spont-restriction": Rule(
        "spontaneous_information",
        put(use_restrictions=[" "]),
        ("use_restrictions[0]",),
        "Use restriction 1 is empty",
        "26(2)",
    ),
    # emergency request
    "em-authority": Rule(
        "emergency_request",
        drop("requesting_authority"),
        ("requesting_authority",),
        "declares the emergency",
        "Arts. 9 and 10",
    ),
    "em-description": Rule(
        "emergency_request",
        drop("emergency_description"),
        ("emergency_description",),
        "Description of the emergency is missing",
        "Arts. 9 and 10",
    ),
    "em-risk-missing": Rule(
        "emergency_request",
        drop("risk_to_life_or_safety"),
        ("risk_to_life_or_safety",),
        "significant and imminent risk",
        "Arts. 9 and 10",
    ),
    "em-risk-false": Rule(
        "emergency_request",
        put(risk_to_life_or_safety=False),
        ("risk_to_life_or_safety",),
        "not an emergency",
        "Arts. 9 and 10",
    ),
    "em-contact": Rule(
        "emergency_request",
        put(contact_24_7={"name": "desk"}),
        ("contact_24_7",),
        "at any hour",
        "Art. 35",
    ),
    "em-assistance": Rule(
        "emergency_request",
        drop("assistance_sought"),
        ("assistance_sought",),
        "no time for questions",
        "Arts. 9 and 10",
    ),
    "em-data": Rule(
        "emergency_request",
        drop("data_requested"),
        ("data_requested",),
        "no data",
        "Arts. 9 and 10",
    ),
    "em-content-art9-ok": Rule("emergency_request", put(data_category="content"), (), "", ""),
    "em-content-art35": Rule(
        "emergency_request",
        put(legal_basis="BUDAPEST.Art35", purpose="locate_suspect", data_category="content"),
        ("legal_basis",),
        "(or, in an emergency, expedited disclosure)",
        "content data requires",
    ),
    # consent
    "cr-scope": Rule(
        "consent_request",
        drop("new_purpose", "use_as_evidence"),
        ("new_purpose",),
        "What the consent is for is missing",
        "18(19)",
    ),
    "cr-recipients-suffice": Rule(
        "consent_request",
        both(drop("new_purpose", "use_as_evidence"), put(new_recipients=["XC-CUST"])),
        (),
        "",
        "",
    ),
    "cr-duplicate-recipient": Rule(
        "consent_request",
        put(new_recipients=["XC-CUST", "XC-CUST"]),
        ("new_recipients[1]",),
        "listed twice",
        "18(19)",
    ),
    "cr-unknown-purpose": Rule(
        "consent_request",
        put(new_purpose="fishing"),
        ("new_purpose",),
        "not in the vocabulary",
        "vocabulary",
    ),
    "cr-justification": Rule(
        "consent_request",
        drop("justification"),
        ("justification",),
        "at the originator's discretion",
        "18(19)",
    ),
    "cr-until-past": Rule(
        "consent_request",
        put(requested_until="2026-01-01T00:00:00Z"),
        ("requested_until",),
        "lies in the past",
        "18(19)",
    ),
    "cr-original": Rule(
        "consent_request", drop("original"), ("original",), "jti and digest", "follow-up"
    ),
    "cg-original": Rule(
        "consent_grant",
        drop("original"),
        ("original",),
        "bound to that envelope's jti and digest",
        "14(10)",
    ),
    "cg-scope": Rule(
        "consent_grant",
        drop("new_purpose", "use_as_evidence"),
        ("new_purpose",),
        "What the consent is for is missing",
        "18(19)",
    ),
    "cg-expiry": Rule("consent_grant", drop("expires_at"), ("expires_at",), "for ever", "18(19)"),
    "cg-expired": Rule(
        "consent_grant",
        put(expires_at="2026-11-29T11:59:59Z"),
        ("expires_at",),
        "already expired",
        "18(19)",
    ),
    "cg-reply": Rule(
        "consent_grant", drop("in_reply_to"), ("in_reply_to",), "jti and digest", "follow-up"
    ),
    "cref-original": Rule(
        "consent_refusal", drop("original"), ("original",), "recorded against it", "18(19)"
    ),
    "cref-reasons": Rule(
        "consent_refusal", drop("reasons"), ("reasons",), "Reasons is missing", "18(23)"
    ),
    # refusal, status, cannot comply
    "ref-grounds": Rule(
        "refusal", drop("grounds"), ("grounds",), "Grounds for refusal is missing", "18(21)"
    ),
    "ref-reasons": Rule(
        "refusal", drop("reasons"), ("reasons",), "reasons shall be given", "18(23)"
    ),
    "ref-missing-info": Rule(
        "refusal",
        drop("missing_information"),
        ("missing_information",),
        "consult before refusing",
        "18(26)",
    ),
    "ref-other-ground": Rule(
        "refusal",
        both(drop("missing_information"), put(grounds=["essential_interests"])),
        (),
        "",
        "",
    ),
    "st-status": Rule(
        "status_update", drop("status"), ("status",), "status and progress", "18(24)"
    ),
    "st-postponed": Rule(
        "status_update",
        put(status="postponed"),
        ("postponement_reason",),
        "interferes with an ongoing investigation",
        "18(25)",
    ),
    "st-awaiting": Rule(
        "status_update",
        put(status="awaiting_information"),
        ("information_needed",),
        "must supply",
        "18(24)",
    ),
    "cc-condition": Rule(
        "cannot_comply_notice",
        drop("condition"),
        ("condition",),
        "Condition that cannot be met is missing",
        "18(20)",
    ),
    "cc-explanation": Rule(
        "cannot_comply_notice",
        drop("explanation"),
        ("explanation",),
        "Explanation is missing",
        "18(20)",
    ),
    # breach notification: Art. 14(7)
    "br-about": Rule(
        "breach_notification", drop("about"), ("about",), "envelopes concerned", "14(7)"
    ),
    "br-what": Rule(
        "breach_notification",
        drop("what_happened"),
        ("what_happened",),
        "what happened is missing",
        "14(7)",
    ),
    "br-when": Rule(
        "breach_notification",
        drop("discovered_at"),
        ("discovered_at",),
        "Time of discovery is missing",
        "14(7)",
    ),
    "br-future": Rule(
        "breach_notification",
        put(discovered_at="2026-11-29T12:06:00Z"),
        ("discovered_at",),
        "lies in the future",
        "14(7)",
    ),
    "br-skew-ok": Rule(
        "breach_notification", put(discovered_at="2026-11-29T12:04:00Z"), (), "", ""
    ),
    "br-order": Rule(
        "breach_notification",
        put(occurred_at="2026-11-28T09:00:00Z"),
        ("occurred_at",),
        "after it was discovered",
        "14(7)",
    ),
    "br-data": Rule(
        "breach_notification",
        drop("data_concerned"),
        ("data_concerned",),
        "data concerned is missing",
        "14(7)",
    ),
    "br-measures": Rule(
        "breach_notification",
        drop("measures_taken"),
        ("measures_taken",),
        "Measures taken is missing",
        "14(7)",
    ),
    "br-contact": Rule(
        "breach_notification", put(contact={"name": "DPO"}), ("contact",), "reach someone", "14(7)"
    ),
    # rectification: Art. 14(3)
    "rect-about": Rule(
        "rectification_notice", drop("about"), ("about",), "every recipient", "14(3)"
    ),
    "rect-action": Rule(
        "rectification_notice", drop("action"), ("action",), "rectified or erased", "14(3)"
    ),
    "rect-what": Rule(
        "rectification_notice",
        drop("what_is_wrong"),
        ("what_is_wrong",),
        "what is wrong is missing",
        "14(3)",
    ),
    "rect-corrections": Rule(
        "rectification_notice",
        drop("corrections"),
        ("corrections",),
        "Corrections is missing",
        "14(3)",
    ),
    "rect-field": Rule(
        "rectification_notice",
        drop("corrections.0.field"),
        ("corrections[0].field",),
        "member corrected",
        "14(3)",
    ),
    "rect-value": Rule(
        "rectification_notice",
        drop("corrections.0.corrected_value"),
        ("corrections[0].corrected_value",),
        "corrected value",
        "14(3)",
    ),
    "rect-null-value": Rule(
        "rectification_notice",
        put(corrections=[{"field": "alias", "corrected_value": None}]),
        (),
        "",
        "",
    ),
    "rect-erase-with-values": Rule(
        "rectification_notice",
        put(action="erase"),
        ("corrections",),
        "no corrected values",
        "14(3)",
    ),
    # receipt
    "rcpt-time": Rule(
        "receipt", drop("received_at"), ("received_at",), "Time of receipt is missing", "receipts"
    ),
    "rcpt-future": Rule(
        "receipt",
        put(received_at="2026-11-30T00:00:00Z"),
        ("received_at",),
        "lies in the future",
        "receipts",
    ),
    "rcpt-of-receipt": Rule(
        "receipt",
        put(in_reply_to={"jti": "A" * 22, "digest": "0" * 64, "msg_type": "receipt"}),
        ("in_reply_to.msg_type",),
        "does not acknowledge another receipt",
        "receipts",
    ),
}


def check(rule: Rule) -> list[Problem]:
    data = copy.deepcopy(EXAMPLES[rule.msg_type][0])
    rule.change(data)
    return validate_message(rule.msg_type, data, now=NOW)


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_produces_its_problem(name: str) -> None:
    rule = RULES[name]
    problems = check(rule)
    assert sorted(p.field for p in problems) == sorted(rule.fields), [str(p) for p in problems]
    for problem in problems:
        assert rule.words in problem.message, str(problem)
        assert rule.rule in problem.rule, str(problem)


def test_problems_are_written_for_caseworkers() -> None:
    """Missing-item problems say what is missing, then why it matters."""
    for name, rule in RULES.items():
        for problem in check(rule):
            assert not problem.message[0].islower(), name
            assert problem.message.endswith("."), name
            if " is missing: " in problem.message:
                _, why = problem.message.split(" is missing: ", 1)
                assert len(why) > 20, name


def test_a_follow_up_checked_against_its_request_passes() -> None:
    for msg_type, (data, request) in EXAMPLES.items():
        if request is not None:
            problems = validate_message(msg_type, data, request=inherit(request), now=NOW)
            assert problems == [], msg_type
