"""Messages that start an exchange: requests and spontaneous information."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Final, Literal

from pydantic import Field

from safeshare.messages._base import (
    R_SAFEGUARDS,
    Authority,
    Check,
    Contact,
    DataItem,
    EnvelopeRef,
    Message,
    Person,
    Short,
    Text,
    blank,
)
from safeshare.purpose.vocabulary import DataCategory

__all__ = [
    "DisclosureRequest",
    "EmergencyRequest",
    "MlaRequest",
    "PreservationRequest",
    "SpontaneousInformation",
]

R_29_2: Final = "Budapest Convention Art. 29(2)"
R_18_15: Final = "UNTOC Art. 18(15)"
R_EMERGENCY: Final = "Second Additional Protocol Arts. 9 and 10"
R_24_7: Final = "Budapest Convention Art. 35; Second Additional Protocol Art. 9"
R_SPONTANEOUS: Final = "UNTOC Art. 18(4); Budapest Convention Art. 26(1)"
R_DISCLOSURE: Final = "Second Additional Protocol Art. 7; UNTOC Art. 18(15)(d)"
R_CATEGORY: Final = "Regulation (EU) 2023/1543 Art. 3 (data categories)"

AssistanceType = Literal[
    "taking_evidence",
    "service_of_documents",
    "search_and_seizure",
    "examining_objects_and_sites",
    "providing_information",
    "providing_documents",
    "tracing_proceeds",
    "voluntary_appearance",
    "other",
]
"""The kinds of assistance of UNTOC Art. 18(3)(a)-(i)."""


class PreservationRequest(Message):
    """A request to preserve stored data pending a request for its disclosure.

    Contents: Budapest Convention Art. 29(2)(a)-(f) (the UN Convention against
    Cybercrime asks for the same).
    """

    msg_type: ClassVar[str] = "preservation_request"
    title: ClassVar[str] = "Preservation request"

    requesting_authority: Authority | None = None
    offence: Text | None = None
    summary_of_facts: Text | None = None
    data_to_preserve: tuple[DataItem, ...] = ()
    custodian: Text | None = None
    """Who holds the data (service provider), as far as known."""
    system_location: Text | None = None
    necessity: Text | None = None
    """Why the data must be preserved now (risk of loss or change)."""
    mla_request_to_follow: bool | None = None
    preservation_days: int | None = Field(default=None, ge=1, le=3650)

    def _check(self, check: Check) -> None:
        check.authority(
            "requesting_authority",
            self.requesting_authority,
            "requesting authority",
            "Budapest Art. 29(2)(a) requires the authority seeking the preservation; the "
            "requested Party must know who asks and where to answer.",
            f"{R_29_2}(a)",
        )
        check.text(
            "offence",
            self.offence,
            "offence",
            "Budapest Art. 29(2)(b) requires the offence under investigation; it is how the "
            "requested Party judges whether it can help.",
            f"{R_29_2}(b)",
        )
        check.text(
            "summary_of_facts",
            self.summary_of_facts,
            "summary of facts",
            "Budapest Art. 29(2)(b) requires a brief summary of the related facts; requests "
            "without it are commonly refused.",
            f"{R_29_2}(b)",
        )
        if not self.data_to_preserve:
            check.missing(
                "data_to_preserve",
                "data to preserve",
                "Budapest Art. 29(2)(c) requires the stored data to be preserved; the holder "
                "cannot preserve data that is not specified.",
                f"{R_29_2}(c)",
            )
        check.items("data_to_preserve", self.data_to_preserve, f"{R_29_2}(c)")
        for i, item in enumerate(self.data_to_preserve):
            check.text(
                f"data_to_preserve[{i}].relationship_to_offence",
                item.relationship_to_offence,
                f"the relationship of item {i + 1} to the offence",
                "Budapest Art. 29(2)(c) requires the data's relationship to the offence.",
                f"{R_29_2}(c)",
            )
        if blank(self.custodian) and blank(self.system_location):
            check.missing(
                "custodian",
                "custodian or location of the data",
                "Budapest Art. 29(2)(d) asks for any available information identifying who "
                "holds the data or where the computer system is; without it the data cannot be "
                "found.",
                f"{R_29_2}(d)",
            )
        check.text(
            "necessity",
            self.necessity,
            "necessity of the preservation",
            "Budapest Art. 29(2)(e) requires the reason why the data must be preserved (for "
            "example that it may be deleted).",
            f"{R_29_2}(e)",
        )
        if self.mla_request_to_follow is None:
            check.missing(
                "mla_request_to_follow",
                "statement that a mutual assistance request will follow",
                "Budapest Art. 29(2)(f) requires you to say that a request for the search, "
                "seizure or disclosure of the data will be submitted.",
                f"{R_29_2}(f)",
            )
        elif not self.mla_request_to_follow:
            check.add(
                "mla_request_to_follow",
                "Preservation is only for data that a mutual assistance request will follow "
                "(Budapest Art. 29(1) and (2)(f)); if none will follow, this procedure does not "
                "apply.",
                f"{R_29_2}(f)",
            )


def _disclosure_items(
    check: Check, field: str, category: DataCategory | None, items: tuple[DataItem, ...]
) -> None:
    """The rules each data category needs."""
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if category == "subscriber" and not item.identifiers:
            check.add(
                f"{where}.identifiers",
                f"Item {i + 1} has no identifier: subscriber data can only be looked up for a "
                "named account, telephone number, e-mail address or IP address with time.",
                R_CATEGORY,
            )
        elif category == "identification_only":
            if not item.identifiers:
                check.add(
                    f"{where}.identifiers",
                    f"Item {i + 1} has no identifier: say which address or account the user "
                    "is to be identified from (for example the IP address and source port).",
                    R_CATEGORY,
                )
            if item.time_from is None:
                check.missing(
                    f"{where}.time_from",
                    f"the time of item {i + 1}",
                    "an IP address identifies a user only together with the exact time of "
                    "the connection (and time zone).",
                    R_CATEGORY,
                )
        elif category in ("traffic", "content") and (
            item.time_from is None or item.time_to is None
        ):
            check.missing(
                f"{where}.time_from" if item.time_from is None else f"{where}.time_to",
                f"the period of item {i + 1}",
                f"{category} data must be limited to a period (time_from and time_to); an "
                "open-ended request is disproportionate and is refused.",
                R_SAFEGUARDS,
            )


class DisclosureRequest(Message):
    """A request for the disclosure of subscriber, identification-only, traffic or content data.

    Each data category brings its rules: subscriber data needs an identifier,
    identification-only data an identifier and a time, traffic and content
    data a period and a justification, and content data a mutual legal
    assistance basis (never Second Additional Protocol Art. 7).
    """

    msg_type: ClassVar[str] = "disclosure_request"
    title: ClassVar[str] = "Disclosure request"

    requesting_authority: Authority | None = None
    data_category: DataCategory | None = None
    data_requested: tuple[DataItem, ...] = ()
    service_provider: Text | None = None
    offence: Text | None = None
    summary_of_facts: Text | None = None
    justification: Text | None = None
    """Why this data is needed for the proceeding (necessity and proportionality)."""
    preservation_ref: EnvelopeRef | None = None
    """The preservation request made earlier for this data, if any."""
    deadline: date | None = None
    urgency_reason: Text | None = None

    def _check(self, check: Check) -> None:
        basis = check.basis
        mla = basis is not None and basis.procedure == "mutual_legal_assistance"
        check.authority(
            "requesting_authority",
            self.requesting_authority,
            "requesting authority",
            "the authority that asks for the data must be identified (UNTOC Art. 18(15)(a); "
            "Second Additional Protocol Art. 7 for orders to providers).",
            "UNTOC Art. 18(15)(a); Second Additional Protocol Art. 7",
        )
        if self.data_category is None:
            check.missing(
                "data_category",
                "data category",
                "say whether subscriber, identification-only, traffic or content data is "
                "requested; the category decides which legal basis and safeguards apply.",
                R_CATEGORY,
            )
        if not self.data_requested:
            check.missing(
                "data_requested",
                "description of the data requested",
                "describe the specific data sought and the accounts or addresses it concerns; "
                "a request for unspecified data cannot be executed.",
                R_DISCLOSURE,
            )
        check.items("data_requested", self.data_requested, R_DISCLOSURE)
        _disclosure_items(check, "data_requested", self.data_category, self.data_requested)
        check.text(
            "service_provider",
            self.service_provider,
            "service provider",
            "name the provider that holds the data; without it the request cannot be executed.",
            "Second Additional Protocol Art. 7; Budapest Convention Art. 29(2)(d)",
        )
        check.text(
            "offence",
            self.offence,
            "offence",
            "the offence under investigation must be stated; it is how the requested side "
            "judges whether the request is lawful.",
            "UNTOC Art. 18(15)(b); Second Additional Protocol Art. 7",
        )
        if mla or self.data_category == "content":
            check.text(
                "summary_of_facts",
                self.summary_of_facts,
                "summary of facts",
                "UNTOC Art. 18(15)(c) requires a summary of the relevant facts for mutual "
                "legal assistance; requests without it are commonly refused.",
                "UNTOC Art. 18(15)(c)",
            )
        if self.data_category in ("traffic", "content"):
            check.text(
                "justification",
                self.justification,
                "justification",
                f"explain why the {self.data_category} data is needed and why less intrusive "
                "data would not do (necessity and proportionality).",
                R_SAFEGUARDS,
            )
        check.category("data_category", self.data_category, self.msg_type)
        if self.deadline is not None and blank(self.urgency_reason):
            check.missing(
                "urgency_reason",
                "reason for the deadline",
                "say why the data is needed by that date (for example a trial date or a "
                "retention period ending); deadlines without reasons are not prioritised.",
                "UNTOC Art. 18(24)",
            )


class MlaRequest(Message):
    """A request for mutual legal assistance, with the contents of UNTOC Art. 18(15).

    (a) the requesting authority; (b) the subject matter and nature of the
    proceeding and the name and functions of the authority conducting it;
    (c) a summary of the relevant facts, except for service of judicial
    documents; (d) the assistance sought and any particular procedure;
    (e) where possible, the identity, location and nationality of any person
    concerned; (f) the purpose for which the evidence, information or action
    is sought.
    """

    msg_type: ClassVar[str] = "mla_request"
    title: ClassVar[str] = "MLA request"

    requesting_authority: Authority | None = None
    subject_matter: Text | None = None
    proceeding_type: Literal["investigation", "prosecution", "judicial_proceeding"] | None = None
    conducting_authority: Authority | None = None
    summary_of_facts: Text | None = None
    offences: tuple[Short, ...] = ()
    applicable_law: Text | None = None
    assistance_types: tuple[AssistanceType, ...] = ()
    assistance_sought: Text | None = None
    particular_procedure: Text | None = None
    persons_concerned: tuple[Person, ...] = ()
    persons_not_identified_reason: Text | None = None
    purpose_statement: Text | None = None
    """UNTOC Art. 18(15)(f): what the evidence, information or action is sought for."""
    data_categories: tuple[DataCategory, ...] = ()
    confidentiality_required: bool = False
    """UNTOC Art. 18(20): keep the fact and substance of the request confidential."""
    deadline: date | None = None
    urgency_reason: Text | None = None

    def _service_only(self) -> bool:
        if self.purpose == "service_of_documents":
            return True
        return bool(self.assistance_types) and set(self.assistance_types) == {
            "service_of_documents"
        }

    def _check(self, check: Check) -> None:
        check.authority(
            "requesting_authority",
            self.requesting_authority,
            "requesting authority",
            "UNTOC Art. 18(15)(a) requires the identity of the authority making the request; "
            "the requested State must know who asks and where to answer.",
            f"{R_18_15}(a)",
        )
        check.text(
            "subject_matter",
            self.subject_matter,
            "subject matter of the proceeding",
            "UNTOC Art. 18(15)(b) requires the subject matter and nature of the investigation, "
            "prosecution or judicial proceeding to which the request relates.",
            f"{R_18_15}(b)",
        )
        if self.proceeding_type is None:
            check.missing(
                "proceeding_type",
                "nature of the proceeding",
                "UNTOC Art. 18(15)(b) requires it; say whether it is an investigation, a "
                "prosecution or a judicial proceeding.",
                f"{R_18_15}(b)",
            )
        check.authority(
            "conducting_authority",
            self.conducting_authority,
            "authority conducting the proceeding",
            "UNTOC Art. 18(15)(b) requires the name and functions of the authority conducting "
            "the investigation, prosecution or proceeding.",
            f"{R_18_15}(b)",
            functions=True,
        )
        if not self._service_only():
            check.text(
                "summary_of_facts",
                self.summary_of_facts,
                "summary of facts",
                "UNTOC Art. 18(15)(c) requires it (except for requests to serve judicial "
                "documents); requests without it are commonly refused.",
                f"{R_18_15}(c)",
            )
        check.text(
            "assistance_sought",
            self.assistance_sought,
            "description of the assistance sought",
            "UNTOC Art. 18(15)(d) requires a description of what the requested State is asked "
            "to do; it cannot act on a request that does not say so.",
            f"{R_18_15}(d)",
        )
        if not self.persons_concerned and blank(self.persons_not_identified_reason):
            check.missing(
                "persons_concerned",
                "list of persons concerned",
                "UNTOC Art. 18(15)(e) asks, where possible, for the identity, location and "
                "nationality of each person concerned; name them, or say in "
                "persons_not_identified_reason why none can be named yet.",
                f"{R_18_15}(e)",
            )
        for i, person in enumerate(self.persons_concerned):
            if blank(person.name) and not person.identifiers and blank(person.description):
                check.add(
                    f"persons_concerned[{i}].name",
                    f"Person {i + 1} is not identified: give a name, an identifier or a "
                    "description (UNTOC Art. 18(15)(e)); the requested State cannot act on an "
                    "unidentified person.",
                    f"{R_18_15}(e)",
                )
        check.text(
            "purpose_statement",
            self.purpose_statement,
            "statement of the purpose of the request",
            "UNTOC Art. 18(15)(f) requires the purpose for which the evidence, information or "
            "action is sought; it also limits what the evidence may later be used for "
            "(Art. 18(19)).",
            f"{R_18_15}(f)",
        )
        for i, category in enumerate(dict.fromkeys(self.data_categories)):
            check.category(f"data_categories[{i}]", category, self.msg_type)
        if self.deadline is not None and blank(self.urgency_reason):
            check.missing(
                "urgency_reason",
                "reason for the deadline",
                "UNTOC Art. 18(24) asks the requested State to take full account of deadlines "
                "for which reasons are given in the request.",
                "UNTOC Art. 18(24)",
            )


class SpontaneousInformation(Message):
    """Information sent without a request (UNTOC Art. 18(4)-(5); Budapest Art. 26).

    The sender may ask for confidentiality or restrict the use of the
    information; the recipient is bound by those conditions or says it cannot
    comply (a ``cannot_comply_notice``).
    """

    msg_type: ClassVar[str] = "spontaneous_information"
    title: ClassVar[str] = "Spontaneous information"

    providing_authority: Authority | None = None
    information: Text | None = None
    records: tuple[dict[str, object], ...] = ()
    """Structured data sent with the information (each member selectively disclosable)."""
    relevance: Text | None = None
    """Why it could assist the recipient's inquiries or proceedings."""
    offence: Text | None = None
    persons_concerned: tuple[Person, ...] = ()
    confidentiality_requested: bool = False
    use_restrictions: tuple[Text, ...] = ()

    def _check(self, check: Check) -> None:
        check.authority(
            "providing_authority",
            self.providing_authority,
            "providing authority",
            "the recipient must know which authority the information comes from, to assess "
            "it and to ask for more.",
            R_SPONTANEOUS,
        )
        if blank(self.information) and not self.records:
            check.missing(
                "information",
                "information",
                "say what is being shared (a summary, and any records); an empty message "
                "cannot assist anyone.",
                R_SPONTANEOUS,
            )
        check.text(
            "relevance",
            self.relevance,
            "relevance",
            "say why you believe the information could assist the recipient in inquiries or "
            "criminal proceedings; that belief is the condition for sending it without a "
            "request.",
            R_SPONTANEOUS,
        )
        for i, restriction in enumerate(self.use_restrictions):
            if blank(restriction):
                check.add(
                    f"use_restrictions[{i}]",
                    f"Use restriction {i + 1} is empty: state the condition, or remove it.",
                    "UNTOC Art. 18(5); Budapest Convention Art. 26(2)",
                )


class EmergencyRequest(Message):
    """A 24/7 request where a person's life or safety is at imminent risk.

    Requires a description of the emergency: a significant and imminent risk
    to the life or safety of a natural person (Second Additional Protocol
    Arts. 9 and 10); the 24/7 contact to reach the requester at any hour; the
    assistance sought.
    """

    msg_type: ClassVar[str] = "emergency_request"
    title: ClassVar[str] = "Emergency request"

    requesting_authority: Authority | None = None
    contact_24_7: Contact | None = None
    emergency_description: Text | None = None
    risk_to_life_or_safety: bool | None = None
    """The requester confirms a significant and imminent risk to a person's life or safety."""
    persons_at_risk: tuple[Person, ...] = ()
    assistance_sought: Text | None = None
    data_category: DataCategory | None = None
    data_requested: tuple[DataItem, ...] = ()
    service_provider: Text | None = None
    offence: Text | None = None

    def _check(self, check: Check) -> None:
        check.authority(
            "requesting_authority",
            self.requesting_authority,
            "requesting authority",
            "the requested side must know which authority declares the emergency.",
            R_EMERGENCY,
        )
        check.text(
            "emergency_description",
            self.emergency_description,
            "description of the emergency",
            "a request is an emergency only where there is a significant and imminent risk to "
            "the life or safety of a natural person; describe the facts that show it, or the "
            "request will be handled as an ordinary one.",
            R_EMERGENCY,
        )
        if self.risk_to_life_or_safety is None:
            check.missing(
                "risk_to_life_or_safety",
                "confirmation of the risk to life or safety",
                "confirm that a person's life or safety is at significant and imminent risk; "
                "emergency procedures are only available then.",
                R_EMERGENCY,
            )
        elif not self.risk_to_life_or_safety:
            check.add(
                "risk_to_life_or_safety",
                "Without an imminent risk to a person's life or safety this is not an "
                "emergency: send a disclosure request or an MLA request instead.",
                R_EMERGENCY,
            )
        if self.contact_24_7 is None or not self.contact_24_7.reachable():
            check.missing(
                "contact_24_7",
                "24/7 contact (telephone or e-mail)",
                "the requested authority must be able to reach you at any hour to act on an "
                "emergency.",
                R_24_7,
            )
        check.text(
            "assistance_sought",
            self.assistance_sought,
            "description of the assistance sought",
            "say exactly what must be done or disclosed; in an emergency there is no time for "
            "questions back.",
            R_EMERGENCY,
        )
        if self.data_category is not None and not self.data_requested:
            check.missing(
                "data_requested",
                "description of the data requested",
                "a data category is named but no data: describe the accounts or addresses "
                "concerned.",
                R_EMERGENCY,
            )
        check.items("data_requested", self.data_requested, R_EMERGENCY)
        check.category(
            "data_category",
            self.data_category,
            self.msg_type,
            content_procedures=("mutual_legal_assistance", "emergency_disclosure"),
        )
