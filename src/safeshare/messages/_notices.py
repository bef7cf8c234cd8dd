"""Data-protection notices that follow a transfer (Second Additional Protocol Art. 14)."""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from safeshare.messages._base import (
    Check,
    Contact,
    EnvelopeRef,
    Message,
    Part,
    Short,
    Text,
    UtcDatetime,
)

__all__ = ["BreachNotification", "Correction", "RectificationNotice"]

R_14_7: Final = "Second Additional Protocol Art. 14(7)"
R_14_3: Final = "Second Additional Protocol Art. 14(3)"


class BreachNotification(Message):
    """Notification to the originator of a security incident affecting data it sent.

    Art. 14(7): what happened, when it was discovered, the data concerned,
    the measures taken, and a contact. The notice names the envelopes
    concerned; its purpose is normally ``data_protection_compliance``.
    """

    msg_type: ClassVar[str] = "breach_notification"
    title: ClassVar[str] = "Breach notification"

    about: tuple[EnvelopeRef, ...] = ()
    what_happened: Text | None = None
    discovered_at: UtcDatetime | None = None
    occurred_at: UtcDatetime | None = None
    data_concerned: Text | None = None
    measures_taken: Text | None = None
    likely_consequences: Text | None = None
    data_subjects_notified: bool | None = None
    contact: Contact | None = None

    def _check(self, check: Check) -> None:
        if not self.about:
            check.missing(
                "about",
                "list of the envelopes concerned",
                "name the envelopes (jti and digest) whose data was affected, so the originator "
                "can assess the risk to the people concerned.",
                R_14_7,
            )
        check.text(
            "what_happened",
            self.what_happened,
            "description of what happened",
            "Art. 14(7) requires the recipient to notify the incident; say what happened "
            "(loss, unauthorised access, disclosure, alteration).",
            R_14_7,
        )
        if self.discovered_at is None:
            check.missing(
                "discovered_at",
                "time of discovery",
                "the originator must know when the incident was discovered; notification is "
                "due promptly after discovery.",
                R_14_7,
            )
        check.not_in_future("discovered_at", self.discovered_at, "the time of discovery", R_14_7)
        if (
            self.occurred_at is not None
            and self.discovered_at is not None
            and self.occurred_at > self.discovered_at
        ):
            check.add(
                "occurred_at",
                "The incident is said to have occurred after it was discovered: check both times.",
                R_14_7,
            )
        check.text(
            "data_concerned",
            self.data_concerned,
            "description of the data concerned",
            "say which data and how many people are affected; the originator assesses the risk "
            "of harm from it.",
            R_14_7,
        )
        check.text(
            "measures_taken",
            self.measures_taken,
            "measures taken",
            "say what was done to stop the incident and limit its effects.",
            R_14_7,
        )
        if self.contact is None or not self.contact.reachable():
            check.missing(
                "contact",
                "contact (telephone or e-mail)",
                "the originator must be able to reach someone who can answer questions about "
                "the incident.",
                R_14_7,
            )


class Correction(Part):
    """One corrected member of a record: its path and the correct value."""

    field: Short | None = None
    """Path of the record member, e.g. ``subject.date_of_birth``."""
    corrected_value: Any = None

    def has_value(self) -> bool:
        """Whether a corrected value was given (``null`` counts as a value when stated)."""
        return "corrected_value" in self.model_fields_set


class RectificationNotice(Message):
    """Notice that data sent earlier is wrong, with the correction or an erasure (Art. 14(3)).

    Every recipient of the original envelope must receive it.
    """

    msg_type: ClassVar[str] = "rectification_notice"
    title: ClassVar[str] = "Rectification notice"

    about: EnvelopeRef | None = None
    action: Literal["rectify", "erase"] | None = None
    what_is_wrong: Text | None = None
    corrections: tuple[Correction, ...] = ()
    fields_to_erase: tuple[Short, ...] = ()
    """For an erasure: the members to erase (empty: all data of the envelope)."""

    def _check(self, check: Check) -> None:
        if self.about is None:
            check.missing(
                "about",
                "reference to the envelope",
                "name the envelope (jti and digest) whose data is wrong, so every recipient "
                "can find it.",
                R_14_3,
            )
        if self.action is None:
            check.missing(
                "action",
                "action",
                "say whether the data is to be rectified or erased.",
                R_14_3,
            )
        check.text(
            "what_is_wrong",
            self.what_is_wrong,
            "description of what is wrong",
            "Art. 14(3): data found inaccurate, or transferred in breach of the safeguards, "
            "is rectified or erased; the recipients need to know which and why.",
            R_14_3,
        )
        if self.action == "rectify":
            if not self.corrections:
                check.missing(
                    "corrections",
                    "corrections",
                    "give each wrong member and its corrected value.",
                    R_14_3,
                )
            for i, correction in enumerate(self.corrections):
                check.text(
                    f"corrections[{i}].field",
                    correction.field,
                    f"the member corrected by correction {i + 1}",
                    "name the record member (for example subject.date_of_birth).",
                    R_14_3,
                )
                if not correction.has_value():
                    check.missing(
                        f"corrections[{i}].corrected_value",
                        f"the corrected value of correction {i + 1}",
                        "give the correct value (or use action erase to delete the data).",
                        R_14_3,
                    )
        if self.action == "erase" and self.corrections:
            check.add(
                "corrections",
                "An erasure carries no corrected values: remove the corrections, or use action "
                "rectify.",
                R_14_3,
            )
