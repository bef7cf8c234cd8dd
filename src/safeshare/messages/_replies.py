"""Messages that answer a request: they name it (``in_reply_to``) and inherit its purpose and case."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Final, Literal

from safeshare.messages._base import (
    Check,
    EnvelopeRef,
    Message,
    Part,
    Short,
    Text,
    UtcDatetime,
)
from safeshare.purpose.vocabulary import DataCategory

__all__ = [
    "REQUEST_TYPES",
    "CannotComplyNotice",
    "DisclosureResponse",
    "MlaResponse",
    "PreservationResponse",
    "Receipt",
    "Refusal",
    "Reply",
    "Result",
    "StatusUpdate",
]

R_RECEIPT: Final = "safeshare: receipts (specs/safeshare-v1.md section 11.6.12)"

#: The message types that ask the recipient to act.
REQUEST_TYPES: Final = frozenset(
    {"preservation_request", "disclosure_request", "mla_request", "emergency_request"}
)


class Reply(Message):
    """Base of the messages that answer another message."""

    reference_field: ClassVar[str | None] = "in_reply_to"

    in_reply_to: EnvelopeRef | None = None
    """The request answered: its ``jti``, digest and ``msg_type`` (from :func:`inherit`)."""


class PreservationResponse(Reply):
    """The answer to a preservation request: what was preserved, until when."""

    msg_type: ClassVar[str] = "preservation_response"
    title: ClassVar[str] = "Preservation response"
    answers: ClassVar[frozenset[str]] = frozenset({"preservation_request"})

    outcome: Literal["preserved", "partially_preserved", "not_preserved"] | None = None
    preserved_until: date | None = None
    items_preserved: tuple[Text, ...] = ()
    reason: Text | None = None
    """Why some or all data could not be preserved."""
    other_service_providers: tuple[Text, ...] = ()
    """Providers in other States found in the traffic data (Budapest Art. 30)."""
    reference: Short | None = None
    """The requested authority's own reference."""

    def _check(self, check: Check) -> None:
        if self.outcome is None:
            check.missing(
                "outcome",
                "outcome",
                "say whether the data was preserved, partially preserved or not preserved.",
                "Budapest Convention Art. 29",
            )
        if self.outcome in ("preserved", "partially_preserved") and self.preserved_until is None:
            check.missing(
                "preserved_until",
                "date until which the data is preserved",
                "the requesting authority must send its mutual assistance request before this "
                "date (Budapest Art. 29(7): at least 60 days).",
                "Budapest Convention Art. 29(7)",
            )
        if self.outcome in ("partially_preserved", "not_preserved"):
            check.text(
                "reason",
                self.reason,
                "reason",
                "say why data could not be preserved, so the requesting authority can decide "
                "what to do next (Budapest Art. 29(6)).",
                "Budapest Convention Art. 29(6)",
            )


class DisclosureResponse(Reply):
    """The answer to a disclosure or emergency request, carrying the data disclosed."""

    msg_type: ClassVar[str] = "disclosure_response"
    title: ClassVar[str] = "Disclosure response"
    answers: ClassVar[frozenset[str]] = frozenset(
        {"disclosure_request", "emergency_request", "reidentification_request"}
    )

    outcome: Literal["disclosed", "partially_disclosed", "no_data"] | None = None
    data_category: DataCategory | None = None
    records: tuple[dict[str, Any], ...] = ()
    """The data disclosed (each member selectively disclosable in the envelope)."""
    provider: Text | None = None
    withheld_reason: Text | None = None

    @staticmethod
    def _resolves_pseudonyms(check: Check) -> bool:
        """Whether this answers a re-identification request (given as ``request=``)."""
        return check.request is not None and (
            check.request.in_reply_to.msg_type == "reidentification_request"
        )

    def _check_claims(self, check: Check) -> None:
        before = len(check.problems)
        super()._check_claims(check)
        if check.basis is not None and self._resolves_pseudonyms(check):
            # The identities behind pseudonyms belong to the transfer that carried them:
            # the legal basis that covered it covers their resolution, as it covers the
            # re-identification request (a follow-up message type).
            check.problems[before:] = [
                p for p in check.problems[before:] if p.field != "legal_basis"
            ]

    def _check(self, check: Check) -> None:
        if self.outcome is None:
            check.missing(
                "outcome",
                "outcome",
                "say whether data is disclosed, partially disclosed, or none was found.",
                "UNTOC Art. 18(24)",
            )
        if self.outcome in ("disclosed", "partially_disclosed") and not self.records:
            check.missing(
                "records",
                "disclosed data",
                "the outcome says data is disclosed, but none is attached.",
                "UNTOC Art. 18(24)",
            )
        if self.outcome == "no_data" and self.records:
            check.add(
                "records",
                "The outcome is no_data but records are attached: correct the outcome or "
                "remove the records.",
                "UNTOC Art. 18(24)",
            )
        if self.records and self.data_category is None:
            check.missing(
                "data_category",
                "data category",
                "say which category the disclosed data belongs to; the recipient's safeguards "
                "depend on it.",
                "Regulation (EU) 2023/1543 Art. 3 (data categories)",
            )
        if self.outcome == "partially_disclosed":
            check.text(
                "withheld_reason",
                self.withheld_reason,
                "reason for withholding part of the data",
                "reasons must be given when assistance is refused, even in part.",
                "UNTOC Art. 18(23)",
            )
        if not self._resolves_pseudonyms(check):
            check.category(
                "data_category", self.data_category, self.msg_type, content_procedures=None
            )


class Result(Part):
    """One result of executing an MLA request: evidence, a document, information."""

    description: Text | None = None
    reference: Short | None = None
    data_category: DataCategory | None = None
    data: dict[str, Any] | None = None


class MlaResponse(Reply):
    """The answer to an MLA request: the results of executing it."""

    msg_type: ClassVar[str] = "mla_response"
    title: ClassVar[str] = "MLA response"
    answers: ClassVar[frozenset[str]] = frozenset({"mla_request"})

    outcome: Literal["executed", "partially_executed"] | None = None
    results: tuple[Result, ...] = ()
    """Evidence, documents and information obtained."""
    execution_notes: Text | None = None
    not_executed: Text | None = None
    """Which parts were not executed, and why."""
    use_conditions: tuple[Text, ...] = ()

    def _check(self, check: Check) -> None:
        if self.outcome is None:
            check.missing(
                "outcome",
                "outcome",
                "say whether the request was executed in full or in part (a full refusal is a "
                "refusal message).",
                "UNTOC Art. 18(24)",
            )
        if not self.results:
            check.missing(
                "results",
                "results",
                "attach the evidence, documents or information obtained.",
                "UNTOC Art. 18(24)",
            )
        for i, result in enumerate(self.results):
            check.text(
                f"results[{i}].description",
                result.description,
                f"a description of result {i + 1}",
                "say what each result is and how it was obtained, so that it can be used as "
                "evidence.",
                "UNTOC Art. 18(24)",
            )
            check.category(
                f"results[{i}].data_category",
                result.data_category,
                self.msg_type,
                content_procedures=None,
            )
        if self.outcome == "partially_executed":
            check.text(
                "not_executed",
                self.not_executed,
                "explanation of the parts not executed",
                "reasons must be given for any refusal of mutual legal assistance, even in part.",
                "UNTOC Art. 18(23)",
            )


RefusalGround = Literal[
    "not_in_conformity",
    "essential_interests",
    "prohibited_by_domestic_law",
    "contrary_to_legal_system",
    "political_offence",
    "dual_criminality",
    "insufficient_information",
    "other",
]
"""Grounds for refusal: UNTOC Art. 18(21)(a)-(d), Budapest Art. 27(4), and others."""


class Refusal(Reply):
    """A refusal of a request, with its grounds and reasons (UNTOC Art. 18(21), (23))."""

    msg_type: ClassVar[str] = "refusal"
    title: ClassVar[str] = "Refusal"
    answers: ClassVar[frozenset[str]] = REQUEST_TYPES

    grounds: tuple[RefusalGround, ...] = ()
    reasons: Text | None = None
    missing_information: tuple[Text, ...] = ()
    """What the request lacks, when it is refused for being incomplete."""
    consultation_offered: bool | None = None

    def _check(self, check: Check) -> None:
        if not self.grounds:
            check.missing(
                "grounds",
                "grounds for refusal",
                "name the ground(s) relied on (UNTOC Art. 18(21)).",
                "UNTOC Art. 18(21)",
            )
        check.text(
            "reasons",
            self.reasons,
            "reasons",
            "UNTOC Art. 18(23): reasons shall be given for any refusal of mutual legal assistance.",
            "UNTOC Art. 18(23)",
        )
        if (
            "insufficient_information" in self.grounds or "not_in_conformity" in self.grounds
        ) and not self.missing_information:
            check.missing(
                "missing_information",
                "list of missing information",
                "say what the request lacks so it can be completed and sent again; UNTOC "
                "Art. 18(26) asks the requested State to consult before refusing.",
                "UNTOC Art. 18(26)",
            )


class StatusUpdate(Reply):
    """The state of a request being executed (UNTOC Art. 18(24)-(25))."""

    msg_type: ClassVar[str] = "status_update"
    title: ClassVar[str] = "Status update"
    answers: ClassVar[frozenset[str]] = REQUEST_TYPES | {"consent_request"}

    status: (
        Literal[
            "received",
            "in_progress",
            "executed",
            "partially_executed",
            "postponed",
            "awaiting_information",
            "closed",
        ]
        | None
    ) = None
    details: Text | None = None
    expected_completion: date | None = None
    postponement_reason: Text | None = None
    information_needed: tuple[Text, ...] = ()

    def _check(self, check: Check) -> None:
        if self.status is None:
            check.missing(
                "status",
                "status",
                "say where the request stands (UNTOC Art. 18(24): the requested State responds "
                "to reasonable requests on the status and progress of its handling).",
                "UNTOC Art. 18(24)",
            )
        if self.status == "postponed":
            check.text(
                "postponement_reason",
                self.postponement_reason,
                "reason for the postponement",
                "UNTOC Art. 18(25) allows postponing assistance only because it interferes with "
                "an ongoing investigation, prosecution or proceeding; say so.",
                "UNTOC Art. 18(25)",
            )
        if self.status == "awaiting_information" and not self.information_needed:
            check.missing(
                "information_needed",
                "list of the information needed",
                "say what the requesting authority must supply for the request to proceed.",
                "UNTOC Art. 18(24)",
            )


class CannotComplyNotice(Reply):
    """Notice that a condition of the request (confidentiality, use restrictions) cannot be met.

    UNTOC Art. 18(20): if the requested State cannot comply with the
    confidentiality of a request, it promptly informs the requesting State;
    Budapest Art. 26(2): a recipient of spontaneous information that cannot
    meet its conditions says so, and the sender decides whether to provide it.
    """

    msg_type: ClassVar[str] = "cannot_comply_notice"
    title: ClassVar[str] = "Cannot-comply notice"
    answers: ClassVar[frozenset[str]] = REQUEST_TYPES | {"spontaneous_information"}

    condition: Literal["confidentiality", "use_restriction", "other"] | None = None
    explanation: Text | None = None
    execution_suspended: bool | None = None
    """True while the requested side waits for the requester's decision."""

    def _check(self, check: Check) -> None:
        if self.condition is None:
            check.missing(
                "condition",
                "condition that cannot be met",
                "say whether it is the confidentiality of the request or a restriction on use.",
                "UNTOC Art. 18(20); Budapest Convention Art. 26(2)",
            )
        check.text(
            "explanation",
            self.explanation,
            "explanation",
            "say why the condition cannot be met (for example a duty to disclose under domestic "
            "law); the other side decides on that basis whether to proceed.",
            "UNTOC Art. 18(20); Budapest Convention Art. 26(2)",
        )


class Receipt(Reply):
    """Acknowledgement that an envelope was received (and, optionally, its conditions accepted)."""

    msg_type: ClassVar[str] = "receipt"
    title: ClassVar[str] = "Receipt"

    received_at: UtcDatetime | None = None
    acknowledged_conditions: tuple[Text, ...] = ()
    """The free-text conditions (``handling.acknowledgements``) the recipient acknowledges."""
    note: Text | None = None

    def _check(self, check: Check) -> None:
        if self.in_reply_to is not None and self.in_reply_to.msg_type == "receipt":
            check.add(
                "in_reply_to.msg_type",
                "A receipt does not acknowledge another receipt.",
                R_RECEIPT,
            )
        if self.received_at is None:
            check.missing(
                "received_at",
                "time of receipt",
                "a receipt records when the envelope arrived; time limits run from it.",
                R_RECEIPT,
            )
        check.not_in_future("received_at", self.received_at, "the time of receipt", R_RECEIPT)
