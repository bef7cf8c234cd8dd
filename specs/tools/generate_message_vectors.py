"""Write the message test vectors in ``specs/vectors/messages/`` (one JSON file per case).

Usage: ``python specs/tools/generate_message_vectors.py [--check]``. With
``--check`` it writes nothing and exits 1, listing every file that differs,
is missing or should not be there. The format is described in
``specs/safeshare-v1.md`` section 14.6.3.

Every vector is a message draft, the clock (``now``), and for messages that
follow another envelope the verified claims of that envelope (``request``).
The expected result is ``{"valid": true}`` or ``{"valid": false, "problems":
[...]}`` with the sorted ``field`` of every problem that
:func:`safeshare.messages.validate_message` must report against the default
vocabulary. :data:`EXAMPLES` holds a complete draft of every message type;
invalid cases change it. Nothing here reads the clock or the OS random
generator; output is ``strictjson.pretty``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: make ``specs.tools`` importable
    sys.path.insert(0, str(_ROOT))

from safeshare._internal import strictjson  # noqa: E402
from safeshare._internal.b64 import b64u_encode  # noqa: E402
from safeshare.messages import inherit, validate_message  # noqa: E402
from specs.tools._files import write_or_check  # noqa: E402

VECTOR_DIR: Final = _ROOT / "specs" / "vectors" / "messages"

#: The fixed clock of every message vector.
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
CASE: Final = "XA-2026-000123"


def envelope_ref(label: str, msg_type: str | None) -> dict[str, Any]:
    """A fixed, well-formed reference (jti, digest) for the envelope named *label*."""
    seed = hashlib.sha256(b"safeshare-message-vectors-v1\x00" + label.encode()).digest()
    ref: dict[str, Any] = {
        "jti": b64u_encode(seed[:16]),
        "digest": hashlib.sha256(seed).hexdigest(),
    }
    if msg_type is not None:
        ref["msg_type"] = msg_type
    return ref


def pseudonym(label: str) -> str:
    """A fixed, well-formed pseudonym (``pn_`` and 22 base64url characters) named *label*."""
    seed = hashlib.sha256(b"safeshare-message-vectors-v1-pseudonym\x00" + label.encode()).digest()
    return "pn_" + b64u_encode(seed[:16])


def request_claims(
    label: str, msg_type: str, purpose: str, legal_basis: str, case_ref: str = CASE
) -> dict[str, Any]:
    """The verified claims of a request, as a vector's ``request`` member."""
    return {
        **envelope_ref(label, msg_type),
        "msg_type": msg_type,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "case_ref": case_ref,
    }


REQUESTING: Final[dict[str, Any]] = {
    "name": "National Police of Arcadia, Cybercrime Unit",
    "agency_id": "XA-NPOL",
    "country": "XA",
    "functions": "criminal police; investigates computer-related offences",
    "contact": {
        "name": "Cybercrime duty desk",
        "email": "cyber-desk@npol.xa.example",
        "phone": "+99 1 2345 6789",
        "available_24_7": True,
    },
}
CONDUCTING: Final[dict[str, Any]] = {
    "name": "Public Prosecutor's Office of Arcadia City",
    "country": "XA",
    "functions": "public prosecutor directing the investigation",
}
REQUESTED: Final[dict[str, Any]] = {
    "name": "Prosecution Service of Borduria, International Cooperation Desk",
    "agency_id": "XB-PROS",
    "country": "XB",
    "functions": "central authority for mutual legal assistance",
}
CONTACT: Final[dict[str, Any]] = {
    "name": "Data Protection Officer",
    "email": "dpo@pros.xb.example",
    "phone": "+98 2 3456 7890",
}
FACTS: Final = (
    "Between 1 and 20 October 2026 at least 40 residents of Arcadia City paid deposits "
    "for flats advertised on a rental website that did not exist. The payments went to an "
    "account at Bank of Borduria; the advertiser used the e-mail address "
    "lettings@flats-arcadia.example and logged in from IP address 198.51.100.23."
)

# -- the request envelopes the replies follow ---------------------------------------

REQ_PRESERVATION: Final = request_claims(
    "preservation-request", "preservation_request", "evidence_preservation", "BUDAPEST.Art29"
)
REQ_DISCLOSURE: Final = request_claims(
    "disclosure-request", "disclosure_request", "criminal_investigation", "BUDAPEST-2AP.Art7"
)
REQ_MLA: Final = request_claims(
    "mla-request", "mla_request", "criminal_investigation", "UNTOC.Art18"
)
REQ_EMERGENCY: Final = request_claims(
    "emergency-request", "emergency_request", "prevent_imminent_threat", "BUDAPEST-2AP.Art9"
)
REQ_SPONTANEOUS: Final = request_claims(
    "spontaneous-information", "spontaneous_information", "criminal_investigation", "BUDAPEST.Art26"
)
REQ_CONSENT: Final = request_claims(
    "consent-request", "consent_request", "criminal_investigation", "UNTOC.Art18"
)
#: The envelope whose data the consent messages concern (an MLA response received earlier).
ORIGINAL: Final = request_claims(
    "original-mla-response", "mla_response", "criminal_investigation", "UNTOC.Art18"
)
#: The re-identification request a disclosure response answers.
REQ_REIDENTIFICATION: Final = request_claims(
    "reidentification-request", "reidentification_request", "criminal_investigation", "UNTOC.Art18"
)


def _claims(request: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "purpose": request["purpose"],
        "legal_basis": request["legal_basis"],
        "case_ref": request["case_ref"],
    }


def _ref(request: Mapping[str, Any]) -> dict[str, Any]:
    return {"jti": request["jti"], "digest": request["digest"], "msg_type": request["msg_type"]}


#: A complete draft of every message type, and the request it follows (if any).
EXAMPLES: Final[dict[str, tuple[dict[str, Any], dict[str, Any] | None]]] = {
    "preservation_request": (
        {
            "purpose": "evidence_preservation",
            "legal_basis": "BUDAPEST.Art29",
            "case_ref": CASE,
            "requesting_authority": REQUESTING,
            "offence": "computer-related fraud (Criminal Code of Arcadia, s. 263a)",
            "summary_of_facts": FACTS,
            "data_to_preserve": [
                {
                    "description": "all stored e-mails, login records and account details",
                    "identifiers": ["lettings@flats-arcadia.example"],
                    "time_from": "2026-10-01T00:00:00Z",
                    "time_to": "2026-10-31T23:59:59Z",
                    "relationship_to_offence": "the account used to advertise the fake flats "
                    "and to correspond with the victims",
                }
            ],
            "custodian": "Borduria Mail Ltd., Borduria City",
            "necessity": "the provider deletes login records after 90 days",
            "mla_request_to_follow": True,
            "preservation_days": 90,
        },
        None,
    ),
    "preservation_response": (
        {
            **_claims(REQ_PRESERVATION),
            "in_reply_to": _ref(REQ_PRESERVATION),
            "outcome": "preserved",
            "preserved_until": "2027-02-27",
            "items_preserved": ["mailbox and login records of lettings@flats-arcadia.example"],
            "reference": "XB-PRES-2026-0457",
        },
        REQ_PRESERVATION,
    ),
    "disclosure_request": (
        {
            "purpose": "criminal_investigation",
            "legal_basis": "BUDAPEST-2AP.Art7",
            "case_ref": CASE,
            "requesting_authority": REQUESTING,
            "data_category": "subscriber",
            "data_requested": [
                {
                    "description": "name, address, telephone number and means of payment of "
                    "the account holder",
                    "identifiers": ["lettings@flats-arcadia.example"],
                }
            ],
            "service_provider": "Borduria Mail Ltd., Borduria City",
            "offence": "computer-related fraud (Criminal Code of Arcadia, s. 263a)",
        },
        None,
    ),
    "disclosure_response": (
        {
            **_claims(REQ_DISCLOSURE),
            "in_reply_to": _ref(REQ_DISCLOSURE),
            "outcome": "disclosed",
            "data_category": "subscriber",
            "records": [
                {
                    "account": "lettings@flats-arcadia.example",
                    "name": "Alex Example",
                    "address": "1 Example Street, Borduria City",
                    "registered": "2026-09-28",
                }
            ],
            "provider": "Borduria Mail Ltd.",
        },
        REQ_DISCLOSURE,
    ),
    "mla_request": (
        {
            "purpose": "criminal_investigation",
            "legal_basis": "UNTOC.Art18",
            "case_ref": CASE,
            "requesting_authority": REQUESTING,
            "subject_matter": "investigation of an organised rental fraud against at least 40 "
            "victims, committed by a group operating from Borduria",
            "proceeding_type": "investigation",
            "conducting_authority": CONDUCTING,
            "summary_of_facts": FACTS,
            "offences": ["computer-related fraud", "participation in an organised criminal group"],
            "applicable_law": "Criminal Code of Arcadia, ss. 129 and 263a",
            "assistance_types": ["providing_documents", "providing_information"],
            "assistance_sought": "Obtain from Bank of Borduria the opening documents and the "
            "statements from 1 September to 30 November 2026 of account BD00 1234 5678 9012, "
            "and the identity documents used to open it.",
            "particular_procedure": "certified copies, with a certificate of authenticity from "
            "the bank",
            "persons_concerned": [
                {
                    "role": "suspect",
                    "name": "Alex Example",
                    "date_of_birth": "1990-01-01",
                    "nationalities": ["XB"],
                    "location": "Borduria City (last known address: 1 Example Street)",
                }
            ],
            "purpose_statement": "to identify the persons who controlled the account and to "
            "trace the victims' payments, as evidence in the investigation",
            "data_categories": ["subscriber"],
            "confidentiality_required": True,
        },
        None,
    ),
    "mla_response": (
        {
            **_claims(REQ_MLA),
            "in_reply_to": _ref(REQ_MLA),
            "outcome": "executed",
            "results": [
                {
                    "description": "certified copies of the account opening documents and "
                    "statements, produced by Bank of Borduria on 20 November 2026",
                    "reference": "XB-MLA-2026-0099/1",
                }
            ],
            "use_conditions": ["to be used only in case XA-2026-000123 (UNTOC Art. 18(19))"],
        },
        REQ_MLA,
    ),
    "spontaneous_information": (
        {
            "purpose": "criminal_investigation",
            "legal_basis": "BUDAPEST.Art26",
            "case_ref": "XB-2026-SPONT-0012",
            "providing_authority": REQUESTED,
            "information": "A server seized in Borduria holds copies of the fake rental "
            "advertisements and a list of 212 e-mail addresses of people who answered them, "
            "many of them in Arcadia.",
            "records": [{"addresses_in_arcadia": 87, "server_seized": "2026-11-20"}],
            "relevance": "the victims are in Arcadia; Arcadian authorities may open or extend "
            "an investigation and identify further victims",
            "offence": "computer-related fraud",
            "confidentiality_requested": True,
            "use_restrictions": [
                "not to be used as evidence without a request for mutual legal assistance"
            ],
        },
        None,
    ),
    "emergency_request": (
        {
            "purpose": "prevent_imminent_threat",
            "legal_basis": "BUDAPEST-2AP.Art9",
            "case_ref": "XA-2026-EM-0007",
            "requesting_authority": REQUESTING,
            "contact_24_7": {
                "name": "Cybercrime duty desk",
                "phone": "+99 1 2345 6789",
                "available_24_7": True,
            },
            "emergency_description": "A user of a chat service announced at 10:40 today that "
            "he will kill himself tonight and posted a photograph of tablets; his location is "
            "unknown.",
            "risk_to_life_or_safety": True,
            "persons_at_risk": [
                {"role": "person_at_risk", "identifiers": ["chat user 'nightfall_77'"]}
            ],
            "assistance_sought": "Disclose the subscriber data and the IP addresses of the "
            "last logins of the account, so that the user can be located.",
            "data_category": "traffic",
            "data_requested": [
                {
                    "description": "IP addresses and times of the last ten logins",
                    "identifiers": ["nightfall_77"],
                    "time_from": "2026-11-28T00:00:00Z",
                    "time_to": "2026-11-29T12:00:00Z",
                }
            ],
            "service_provider": "Borduria Chat Ltd.",
        },
        None,
    ),
    "consent_request": (
        {
            **_claims(ORIGINAL),
            "original": _ref(ORIGINAL),
            "new_purpose": "asset_tracing",
            "use_as_evidence": True,
            "justification": "The bank records show transfers of the victims' payments to "
            "property in Arcadia; we need to trace and freeze it.",
        },
        ORIGINAL,
    ),
    "consent_grant": (
        {
            **_claims(REQ_CONSENT),
            "in_reply_to": _ref(REQ_CONSENT),
            "original": _ref(ORIGINAL),
            "new_purpose": "asset_tracing",
            "use_as_evidence": True,
            "expires_at": "2027-11-29T00:00:00Z",
            "conditions": ["the bank records may not be transferred to a third State"],
        },
        REQ_CONSENT,
    ),
    "consent_refusal": (
        {
            **_claims(REQ_CONSENT),
            "in_reply_to": _ref(REQ_CONSENT),
            "original": _ref(ORIGINAL),
            "reasons": "The property concerned is the subject of proceedings in Borduria.",
        },
        REQ_CONSENT,
    ),
    "refusal": (
        {
            **_claims(REQ_MLA),
            "in_reply_to": _ref(REQ_MLA),
            "grounds": ["insufficient_information"],
            "reasons": "The request does not show a link between the account and the offence.",
            "missing_information": ["the payments of the victims to the account, with dates"],
            "consultation_offered": True,
        },
        REQ_MLA,
    ),
    "status_update": (
        {
            **_claims(REQ_MLA),
            "in_reply_to": _ref(REQ_MLA),
            "status": "in_progress",
            "details": "The production order was served on the bank on 10 November 2026.",
            "expected_completion": "2026-12-15",
        },
        REQ_MLA,
    ),
    "cannot_comply_notice": (
        {
            **_claims(REQ_MLA),
            "in_reply_to": _ref(REQ_MLA),
            "condition": "confidentiality",
            "explanation": "Borduran law requires the bank to inform the account holder of a "
            "production order after 30 days.",
            "execution_suspended": True,
        },
        REQ_MLA,
    ),
    "breach_notification": (
        {
            "purpose": "data_protection_compliance",
            "legal_basis": "BUDAPEST-2AP.Art14",
            "case_ref": CASE,
            "about": [_ref(ORIGINAL)],
            "what_happened": "A laptop holding an export of the case file was stolen from a "
            "car; the disk was encrypted but the password was written on a note in the bag.",
            "discovered_at": "2026-11-28T08:30:00Z",
            "occurred_at": "2026-11-27T19:00:00Z",
            "data_concerned": "the bank records received in the MLA response (about 40 "
            "people's payment details)",
            "measures_taken": "accounts and passwords changed, remote wipe ordered, theft "
            "reported to the police",
            "data_subjects_notified": False,
            "contact": CONTACT,
        },
        None,
    ),
    "rectification_notice": (
        {
            "purpose": "data_protection_compliance",
            "legal_basis": "BUDAPEST-2AP.Art14",
            "case_ref": CASE,
            "about": _ref(ORIGINAL),
            "action": "rectify",
            "what_is_wrong": "The date of birth of the account holder was transcribed wrongly.",
            "corrections": [{"field": "subject.date_of_birth", "corrected_value": "1990-10-01"}],
        },
        None,
    ),
    "receipt": (
        {
            **_claims(REQ_MLA),
            "in_reply_to": _ref(REQ_MLA),
            "received_at": "2026-11-29T11:58:00Z",
            "acknowledged_conditions": ["to be used only in case XA-2026-000123"],
        },
        REQ_MLA,
    ),
    "reidentification_request": (
        {
            **_claims(ORIGINAL),
            "original": _ref(ORIGINAL),
            "pseudonyms": [pseudonym("account-holder"), pseudonym("second-signatory")],
            "requested_purpose": "prosecution",
            "justification": "The account holder and the second signatory are to be charged; "
            "the indictment must name them, and the pseudonyms cannot be served.",
        },
        ORIGINAL,
    ),
}


@dataclass(frozen=True)
class Case:
    """One vector: a draft, the request it follows, and the fields expected to have problems."""

    id: str
    description: str
    msg_type: str
    message: dict[str, Any]
    request: dict[str, Any] | None
    problems: tuple[str, ...] | None = None
    """None for a valid case; else the fields of the expected problems."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        expected: dict[str, Any] = (
            {"valid": True}
            if self.problems is None
            else {"valid": False, "problems": sorted(self.problems)}
        )
        return {
            "id": self.id,
            "description": self.description,
            "msg_type": self.msg_type,
            "now": NOW_TEXT,
            "request": self.request,
            "message": self.message,
            "expected": expected,
        }


CASES: list[Case] = []


def _example(msg_type: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    message, request = EXAMPLES[msg_type]
    return copy.deepcopy(message), copy.deepcopy(request)


def valid(case_id: str, msg_type: str, description: str) -> None:
    """Register the complete example of *msg_type* as a valid case."""
    message, request = _example(msg_type)
    CASES.append(Case(case_id, description, msg_type, message, request))


def invalid(
    case_id: str,
    msg_type: str,
    description: str,
    change: Callable[[dict[str, Any]], None],
    problems: tuple[str, ...],
    *,
    request: Callable[[dict[str, Any] | None], dict[str, Any] | None] | None = None,
) -> None:
    """Register the example of *msg_type*, changed by *change*, expecting *problems*."""
    message, req = _example(msg_type)
    change(message)
    if request is not None:
        req = request(req)
    CASES.append(Case(case_id, description, msg_type, message, req, problems))


def drop(*names: str) -> Callable[[dict[str, Any]], None]:
    """A change that removes the members *names* (dotted paths allowed)."""

    def change(message: dict[str, Any]) -> None:
        for name in names:
            target: Any = message
            *path, last = name.split(".")
            for part in path:
                target = target[int(part)] if isinstance(target, list) else target[part]
            del target[last]

    return change


def put(**values: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets members."""

    def change(message: dict[str, Any]) -> None:
        message.update(copy.deepcopy(values))

    return change


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Apply several changes in order."""

    def change(message: dict[str, Any]) -> None:
        for c in changes:
            c(message)

    return change


# -- the cases ---------------------------------------------------------------------------

for _msg_type in EXAMPLES:
    valid(
        f"valid-{_msg_type.replace('_', '-')}",
        _msg_type,
        f"A complete {_msg_type}: every completeness rule is met (specs/safeshare-v1.md section 11).",
    )

valid_service = copy.deepcopy(EXAMPLES["mla_request"][0])
valid_service.update(
    purpose="service_of_documents",
    assistance_types=["service_of_documents"],
    assistance_sought="Serve the enclosed summons to appear on 2 February 2027 on Alex Example.",
    purpose_statement="to summon the accused to the trial",
)
del valid_service["summary_of_facts"]
CASES.append(
    Case(
        "valid-mla-request-service-of-documents-without-facts",
        "An MLA request only to serve judicial documents needs no summary of facts "
        "(UNTOC Art. 18(15)(c)).",
        "mla_request",
        valid_service,
        None,
    )
)

valid_content = copy.deepcopy(EXAMPLES["disclosure_request"][0])
valid_content.update(
    legal_basis="UNTOC.Art18",
    data_category="content",
    data_requested=[
        {
            "description": "the e-mails exchanged with the victims",
            "identifiers": ["lettings@flats-arcadia.example"],
            "time_from": "2026-10-01T00:00:00Z",
            "time_to": "2026-10-31T23:59:59Z",
        }
    ],
    summary_of_facts=FACTS,
    justification="the e-mails show what the victims were promised and who answered them; "
    "subscriber data alone does not show who operated the account",
)
CASES.append(
    Case(
        "valid-disclosure-request-content-by-mla",
        "Content data requested under a mutual legal assistance basis (UNTOC.Art18), with a "
        "period, a summary of facts and a justification.",
        "disclosure_request",
        valid_content,
        None,
    )
)

CASES.append(
    Case(
        "valid-disclosure-response-to-reidentification-request",
        "The originator answers a re-identification request with a disclosure response that "
        "pairs each pseudonym with its value; it inherits the request's purpose and case.",
        "disclosure_response",
        {
            **_claims(REQ_REIDENTIFICATION),
            "in_reply_to": _ref(REQ_REIDENTIFICATION),
            "outcome": "disclosed",
            "data_category": "subscriber",
            "records": [
                {"pseudonym": pseudonym("account-holder"), "value": "Alex Example"},
                {"pseudonym": pseudonym("second-signatory"), "value": "Sam Example"},
            ],
        },
        copy.deepcopy(REQ_REIDENTIFICATION),
    )
)

valid_erase = copy.deepcopy(EXAMPLES["rectification_notice"][0])
valid_erase.update(
    action="erase",
    what_is_wrong="The record of the second account holder was sent by mistake.",
    fields_to_erase=["second_holder"],
)
del valid_erase["corrections"]
CASES.append(
    Case(
        "valid-rectification-notice-erase",
        "An erasure notice names the envelope and the members to erase; it has no corrections "
        "(Second Additional Protocol Art. 14(3)).",
        "rectification_notice",
        valid_erase,
        None,
    )
)

invalid(
    "invalid-mla-request-missing-untoc-18-15-items",
    "mla_request",
    "An MLA request missing the requesting authority, the subject matter and nature of the "
    "proceeding, the conducting authority, the summary of facts, the assistance sought, the "
    "persons concerned and the purpose statement: every UNTOC Art. 18(15) problem is reported "
    "in one call.",
    drop(
        "requesting_authority",
        "subject_matter",
        "proceeding_type",
        "conducting_authority",
        "summary_of_facts",
        "assistance_sought",
        "persons_concerned",
        "purpose_statement",
    ),
    (
        "requesting_authority",
        "subject_matter",
        "proceeding_type",
        "conducting_authority",
        "summary_of_facts",
        "assistance_sought",
        "persons_concerned",
        "purpose_statement",
    ),
)
invalid(
    "invalid-mla-request-conducting-authority-without-functions",
    "mla_request",
    "The authority conducting the proceeding is named without its functions (UNTOC Art. "
    "18(15)(b)).",
    drop("conducting_authority.functions"),
    ("conducting_authority.functions",),
)
invalid(
    "invalid-mla-request-unknown-member",
    "mla_request",
    "A member the format does not define is refused (strict schema).",
    put(suspect_name="Alex Example"),
    ("suspect_name",),
)
invalid(
    "invalid-mla-request-no-claims",
    "mla_request",
    "Purpose, legal basis and case reference are all missing.",
    drop("purpose", "legal_basis", "case_ref"),
    ("purpose", "legal_basis", "case_ref"),
)
invalid(
    "invalid-mla-request-unknown-purpose",
    "mla_request",
    "A purpose that is not in the vocabulary cannot be enforced.",
    put(purpose="general_surveillance"),
    ("purpose",),
)
invalid(
    "invalid-mla-request-basis-without-mla",
    "mla_request",
    "BUDAPEST.Art29 (preservation) does not provide for an MLA request, nor for the purpose "
    "criminal_investigation.",
    put(legal_basis="BUDAPEST.Art29"),
    ("legal_basis", "purpose"),
)
invalid(
    "invalid-preservation-request-missing-29-2-items",
    "preservation_request",
    "No custodian or location, no necessity, no statement that an MLA request will follow "
    "(Budapest Art. 29(2)(d)-(f)).",
    drop("custodian", "necessity", "mla_request_to_follow"),
    ("custodian", "necessity", "mla_request_to_follow"),
)
invalid(
    "invalid-preservation-request-no-mla-to-follow",
    "preservation_request",
    "Preservation under Art. 29 is only for data an MLA request will follow.",
    put(mla_request_to_follow=False),
    ("mla_request_to_follow",),
)
invalid(
    "invalid-preservation-request-item-without-relationship",
    "preservation_request",
    "A data item without its relationship to the offence (Budapest Art. 29(2)(c)).",
    drop("data_to_preserve.0.relationship_to_offence"),
    ("data_to_preserve[0].relationship_to_offence",),
)
invalid(
    "invalid-preservation-response-preserved-without-date",
    "preservation_response",
    "Data preserved, but the date until which it is kept is missing (Budapest Art. 29(7)).",
    drop("preserved_until"),
    ("preserved_until",),
)
invalid(
    "invalid-disclosure-response-changed-purpose",
    "disclosure_response",
    "The response changes the purpose of the request it answers (prosecution instead of "
    "criminal_investigation, although the legal basis allows both): a reply inherits it.",
    put(purpose="prosecution"),
    ("purpose",),
)
invalid(
    "invalid-preservation-response-answers-wrong-type",
    "preservation_response",
    "A preservation response that names an MLA request as the request it answers.",
    put(in_reply_to={**_ref(REQ_MLA)}),
    ("in_reply_to", "in_reply_to.msg_type"),
)
invalid(
    "invalid-disclosure-request-content-under-2ap-art7",
    "disclosure_request",
    "Content data requested under Second Additional Protocol Art. 7 (subscriber information "
    "only): content needs mutual legal assistance; without a period, summary of facts and "
    "justification.",
    put(data_category="content"),
    (
        "legal_basis",
        "data_requested[0].time_from",
        "summary_of_facts",
        "justification",
    ),
)
invalid(
    "invalid-disclosure-request-traffic-under-2ap-art7",
    "disclosure_request",
    "Traffic data is not covered by Second Additional Protocol Art. 7; the data also lacks a "
    "period and a justification.",
    put(data_category="traffic"),
    ("data_category", "data_requested[0].time_from", "justification"),
)
invalid(
    "invalid-disclosure-request-identification-without-time",
    "disclosure_request",
    "Identification-only data (an IP address) without the time of the connection; and the "
    "category is not covered by Art. 7.",
    both(
        put(
            data_category="identification_only",
            data_requested=[
                {"description": "user of the IP address", "identifiers": ["198.51.100.23"]}
            ],
        ),
    ),
    ("data_requested[0].time_from", "data_category"),
)
invalid(
    "invalid-disclosure-request-subscriber-without-identifier",
    "disclosure_request",
    "Subscriber data without an account, number or address to look it up by.",
    put(data_requested=[{"description": "the holder of the account used for the fraud"}]),
    ("data_requested[0].identifiers",),
)
invalid(
    "invalid-disclosure-request-no-category",
    "disclosure_request",
    "The data category is missing.",
    drop("data_category"),
    ("data_category",),
)
invalid(
    "invalid-disclosure-response-disclosed-without-records",
    "disclosure_response",
    "The outcome says data is disclosed but none is attached.",
    drop("records"),
    ("records",),
)
invalid(
    "invalid-mla-response-partial-without-explanation",
    "mla_response",
    "Partly executed, without saying which parts were not executed and why (UNTOC Art. 18(23)).",
    put(outcome="partially_executed"),
    ("not_executed",),
)
invalid(
    "invalid-spontaneous-information-missing-relevance",
    "spontaneous_information",
    "Information sent without a request must say why it could assist the recipient (UNTOC "
    "Art. 18(4)).",
    drop("relevance"),
    ("relevance",),
)
invalid(
    "invalid-emergency-request-missing-description",
    "emergency_request",
    "An emergency request without a description of the emergency.",
    drop("emergency_description"),
    ("emergency_description",),
)
invalid(
    "invalid-emergency-request-no-risk",
    "emergency_request",
    "The requester does not confirm a risk to life or safety and gives no 24/7 contact.",
    both(put(risk_to_life_or_safety=False), drop("contact_24_7")),
    ("risk_to_life_or_safety", "contact_24_7"),
)
invalid(
    "invalid-consent-request-without-scope",
    "consent_request",
    "A consent request that asks for nothing and gives no justification.",
    drop("new_purpose", "use_as_evidence", "justification"),
    ("new_purpose", "justification"),
)
invalid(
    "invalid-consent-request-changed-case",
    "consent_request",
    "A consent request in another case than the envelope it concerns.",
    put(case_ref="XA-2026-999999"),
    ("case_ref",),
)
invalid(
    "invalid-reidentification-request-incomplete",
    "reidentification_request",
    "A re-identification request without pseudonyms, requested purpose or justification.",
    drop("pseudonyms", "requested_purpose", "justification"),
    ("pseudonyms", "requested_purpose", "justification"),
)
invalid(
    "invalid-reidentification-request-purpose-not-allowed",
    "reidentification_request",
    "The identities are requested for intelligence analysis, which the envelope's purpose "
    "(criminal_investigation) does not allow without consent (speciality).",
    put(requested_purpose="intelligence_analysis"),
    ("requested_purpose",),
)
invalid(
    "invalid-reidentification-request-unknown-purpose",
    "reidentification_request",
    "A requested purpose that is not in the vocabulary.",
    put(requested_purpose="general_surveillance"),
    ("requested_purpose",),
)
invalid(
    "invalid-reidentification-request-not-pseudonyms",
    "reidentification_request",
    "An identifier in clear instead of a pseudonym, and a pseudonym listed twice.",
    put(
        pseudonyms=[
            pseudonym("account-holder"),
            "+99 555 0100",
            pseudonym("account-holder"),
        ]
    ),
    ("pseudonyms[1]", "pseudonyms[2]"),
)
invalid(
    "invalid-reidentification-request-too-many",
    "reidentification_request",
    "More than 64 pseudonyms in one request.",
    put(pseudonyms=[pseudonym(f"subject-{i}") for i in range(65)]),
    ("pseudonyms",),
)
invalid(
    "invalid-reidentification-request-changed-case",
    "reidentification_request",
    "A re-identification request in another case than the envelope whose pseudonyms it names "
    "(pseudonyms are only resolved in the case they were issued in).",
    put(case_ref="XA-2026-999999"),
    ("case_ref",),
)
invalid(
    "invalid-reidentification-request-without-original",
    "reidentification_request",
    "A re-identification request that does not name the envelope holding the pseudonyms.",
    drop("original"),
    ("original",),
)
invalid(
    "invalid-consent-grant-without-expiry",
    "consent_grant",
    "A consent grant without an expiry.",
    drop("expires_at"),
    ("expires_at",),
)
invalid(
    "invalid-consent-grant-expired",
    "consent_grant",
    "A consent grant whose expiry is before now.",
    put(expires_at="2026-11-01T00:00:00Z"),
    ("expires_at",),
)
invalid(
    "invalid-consent-grant-without-original",
    "consent_grant",
    "A consent grant not bound to the original envelope's jti and digest.",
    drop("original"),
    ("original",),
)
invalid(
    "invalid-consent-refusal-without-reasons",
    "consent_refusal",
    "A consent refusal without reasons.",
    drop("reasons"),
    ("reasons",),
)
invalid(
    "invalid-refusal-without-reasons",
    "refusal",
    "A refusal without reasons (UNTOC Art. 18(23)) and without saying what is missing.",
    drop("reasons", "missing_information"),
    ("reasons", "missing_information"),
)
invalid(
    "invalid-status-update-postponed-without-reason",
    "status_update",
    "Execution postponed without the reason (UNTOC Art. 18(25)).",
    put(status="postponed"),
    ("postponement_reason",),
)
invalid(
    "invalid-cannot-comply-notice-without-explanation",
    "cannot_comply_notice",
    "A cannot-comply notice that does not say why (UNTOC Art. 18(20)).",
    drop("explanation"),
    ("explanation",),
)
invalid(
    "invalid-cannot-comply-notice-for-consent-grant",
    "cannot_comply_notice",
    "A cannot-comply notice answering a consent request (it answers requests and "
    "spontaneous information only).",
    put(in_reply_to=_ref(REQ_CONSENT)),
    ("in_reply_to", "in_reply_to.msg_type"),
)
invalid(
    "invalid-breach-notification-missing-measures-and-contact",
    "breach_notification",
    "A breach notification without the measures taken and without a contact "
    "(Second Additional Protocol Art. 14(7)).",
    drop("measures_taken", "contact"),
    ("measures_taken", "contact"),
)
invalid(
    "invalid-breach-notification-discovered-in-future",
    "breach_notification",
    "The time of discovery lies in the future.",
    put(discovered_at="2026-12-01T00:00:00Z"),
    ("discovered_at",),
)
invalid(
    "invalid-rectification-notice-without-value",
    "rectification_notice",
    "A rectification without the corrected value.",
    drop("corrections.0.corrected_value"),
    ("corrections[0].corrected_value",),
)
invalid(
    "invalid-rectification-notice-without-envelope",
    "rectification_notice",
    "A rectification that does not name the envelope concerned.",
    drop("about"),
    ("about",),
)
invalid(
    "invalid-receipt-without-reference",
    "receipt",
    "A receipt that does not name the envelope it acknowledges, checked against the request.",
    drop("in_reply_to"),
    ("in_reply_to",),
)
invalid(
    "invalid-receipt-changed-case",
    "receipt",
    "A receipt whose case differs from the request's.",
    put(case_ref="XA-2026-000999"),
    ("case_ref",),
)
invalid(
    "invalid-receipt-wrong-request",
    "receipt",
    "A receipt checked against another request than the one it names.",
    lambda m: None,
    ("in_reply_to",),
    request=lambda r: dict(REQ_DISCLOSURE),
)
CASES.append(
    Case(
        "invalid-unknown-message-type",
        "A message type that the profile does not define.",
        "no_such_message",
        {"purpose": "criminal_investigation"},
        None,
        ("msg_type",),
    )
)


# -- writing ------------------------------------------------------------------------


def check_cases() -> None:
    """Every case's expectation must be what the library reports (a generator bug otherwise)."""
    ids = [c.id for c in CASES]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate vector ids")
    for case in CASES:
        request = inherit(case.request) if case.request is not None else None
        problems = validate_message(case.msg_type, case.message, request=request, now=NOW)
        got = sorted(p.field for p in problems)
        want = sorted(case.problems) if case.problems is not None else []
        if got != want:
            detail = "\n".join(f"  {p}" for p in problems)
            raise SystemExit(f"{case.id}: expected {want}, got {got}\n{detail}")


def rendered() -> dict[str, bytes]:
    """File name -> exact bytes."""
    return {f"{c.id}.json": strictjson.pretty(c.to_json()) for c in CASES}


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the vector files."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on drift")
    parser.add_argument("--dir", type=Path, default=VECTOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_cases()
    return write_or_check(
        rendered(),
        args.dir,
        check=args.check,
        name="message vectors",
        generator="generate_message_vectors.py",
    )


if __name__ == "__main__":
    sys.exit(main())
