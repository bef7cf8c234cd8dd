"""Consent: asking the originator for a new use of data it sent, and its answer.

Data sent for one purpose may not be used for another, nor transferred
onward, nor (under the default handling conditions) used as evidence, without
the originator's prior consent (UNTOC Art. 18(19); Second Additional Protocol
Art. 14(9)-(10)). A consent request names the original envelope and inherits
its purpose and case; the grant (signed by the originator) binds the new use
to that envelope's digest and expires.
"""

from __future__ import annotations

from typing import ClassVar, Final

from safeshare.messages._base import (
    AgencyId,
    CaseRef,
    Check,
    Code,
    EnvelopeRef,
    Message,
    Text,
    UtcDatetime,
)
from safeshare.messages._replies import Reply

__all__ = ["ConsentGrant", "ConsentRefusal", "ConsentRequest"]

R_CONSENT: Final = "UNTOC Art. 18(19); Second Additional Protocol Art. 14(10)"


def _scope(check: Check, message: ConsentRequest | ConsentGrant) -> None:
    """A consent is for a new purpose, onward transfer to named agencies, or evidential use."""
    if message.new_purpose is None and not message.new_recipients and not message.use_as_evidence:
        check.missing(
            "new_purpose",
            "what the consent is for",
            "name the new purpose, the agencies the data would be transferred to "
            "(new_recipients), or ask for use as evidence (use_as_evidence); a consent "
            "without a scope cannot be checked.",
            R_CONSENT,
        )
    if message.new_purpose is not None and not check.vocabulary.has_purpose(message.new_purpose):
        check.add(
            "new_purpose",
            f"New purpose {message.new_purpose!r} is not in the vocabulary: use a known purpose "
            "code; a use that cannot be named cannot be enforced.",
            "safeshare vocabulary (specs/safeshare-v1.md section 8)",
        )
    seen: set[str] = set()
    for i, agency in enumerate(message.new_recipients):
        if agency in seen:
            check.add(
                f"new_recipients[{i}]",
                f"Agency {agency} is listed twice in new_recipients.",
                R_CONSENT,
            )
        seen.add(agency)


class ConsentRequest(Message):
    """A request to the originator to allow a new use of the data of one envelope."""

    msg_type: ClassVar[str] = "consent_request"
    title: ClassVar[str] = "Consent request"
    reference_field: ClassVar[str | None] = "original"

    original: EnvelopeRef | None = None
    """The envelope whose data the new use concerns (jti and digest)."""
    new_purpose: Code | None = None
    new_recipients: tuple[AgencyId, ...] = ()
    use_as_evidence: bool = False
    new_case_ref: CaseRef | None = None
    """The other case the data would be used in, if any."""
    justification: Text | None = None
    requested_until: UtcDatetime | None = None

    def _check(self, check: Check) -> None:
        _scope(check, self)
        check.text(
            "justification",
            self.justification,
            "justification",
            "say why the new use is needed; consent is at the originator's discretion and "
            "requests without reasons are usually refused.",
            R_CONSENT,
        )
        if self.requested_until is not None and self.requested_until <= check.now:
            check.add(
                "requested_until",
                "The requested end of the consent lies in the past.",
                R_CONSENT,
            )


class ConsentGrant(Reply):
    """The originator's consent to a new use, bound to the original envelope and expiring."""

    msg_type: ClassVar[str] = "consent_grant"
    title: ClassVar[str] = "Consent grant"
    answers: ClassVar[frozenset[str]] = frozenset({"consent_request"})

    original: EnvelopeRef | None = None
    """The envelope the consent applies to: its jti and digest (the grant is bound to them)."""
    new_purpose: Code | None = None
    new_recipients: tuple[AgencyId, ...] = ()
    use_as_evidence: bool = False
    new_case_ref: CaseRef | None = None
    expires_at: UtcDatetime | None = None
    conditions: tuple[Text, ...] = ()

    def _check(self, check: Check) -> None:
        if self.original is None:
            check.missing(
                "original",
                "reference to the original envelope",
                "a consent applies to the data of one envelope; it is bound to that envelope's "
                "jti and digest and is worthless for any other.",
                R_CONSENT,
            )
        _scope(check, self)
        if self.expires_at is None:
            check.missing(
                "expires_at",
                "expiry",
                "a consent must end; without an expiry it would allow the new use for ever.",
                R_CONSENT,
            )
        elif self.expires_at <= check.now:
            check.add(
                "expires_at",
                "The consent has already expired: its expiry lies in the past.",
                R_CONSENT,
            )


class ConsentRefusal(Reply):
    """The originator refuses a requested new use."""

    msg_type: ClassVar[str] = "consent_refusal"
    title: ClassVar[str] = "Consent refusal"
    answers: ClassVar[frozenset[str]] = frozenset({"consent_request"})

    original: EnvelopeRef | None = None
    reasons: Text | None = None

    def _check(self, check: Check) -> None:
        if self.original is None:
            check.missing(
                "original",
                "reference to the original envelope",
                "name the envelope whose data may not be used, so the refusal is recorded "
                "against it.",
                R_CONSENT,
            )
        check.text(
            "reasons",
            self.reasons,
            "reasons",
            "say why the new use is refused, so the requesting agency knows whether another "
            "request could succeed.",
            "UNTOC Art. 18(23) (by analogy)",
        )
