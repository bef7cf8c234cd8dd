"""Re-identification: asking the originator which value stands behind pseudonyms it sent.

An originator may replace identifiers in a record by keyed pseudonyms
(:mod:`safeshare.privacy.pseudonyms`): the recipient can correlate records of
its case, but not identify the person. When the identity becomes necessary,
the recipient asks the originator with a ``reidentification_request`` naming
the envelope (``original``) and the pseudonyms; it inherits the envelope's
purpose and case, and states the purpose the identity is needed for, which
must be one the envelope's purpose allows (speciality). The originator checks
it, resolves the pseudonyms from its vault (recording each resolution) and
answers with a ``disclosure_response`` (``in_reply_to`` this request) whose
records carry the values; a refusal is a ``disclosure_response`` with outcome
``no_data`` (or ``partially_disclosed``) and the ``withheld_reason``.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from safeshare.messages._base import (
    R_SPECIALITY,
    R_VOCABULARY,
    Check,
    Code,
    EnvelopeRef,
    Message,
    Short,
    Text,
)

__all__ = ["MAX_PSEUDONYMS", "ReidentificationRequest"]

#: Most pseudonyms one request may name.
MAX_PSEUDONYMS: Final = 64

R_REIDENTIFY: Final = (
    "safeshare: only the originator resolves pseudonyms, on a recorded request "
    "(specs/safeshare-v1.md section 11.6.13)"
)
R_NECESSITY: Final = "Second Additional Protocol Art. 14(2)(b) (data minimisation: necessity)"

_PSEUDONYM: Final = re.compile(r"pn_[A-Za-z0-9_-]{22}")


class ReidentificationRequest(Message):
    """A request to the originator to resolve pseudonyms of one envelope it sent.

    Names the envelope (``original``: jti and digest) and 1 to 64 pseudonyms
    as they appear in its record, the purpose the identities are needed for
    (``requested_purpose``: the envelope's purpose or one compatible with it)
    and why (``justification``). Inherits purpose and case from ``original``.
    The answer is a ``disclosure_response`` (a refusal: outcome ``no_data``
    and ``withheld_reason``).
    """

    msg_type: ClassVar[str] = "reidentification_request"
    title: ClassVar[str] = "Re-identification request"
    reference_field: ClassVar[str | None] = "original"

    original: EnvelopeRef | None = None
    """The envelope whose record holds the pseudonyms (jti and digest)."""
    pseudonyms: tuple[Short, ...] = ()
    """The pseudonyms to resolve (``pn_`` and 22 characters), as they appear in the record."""
    requested_purpose: Code | None = None
    """What the identities are needed for: the envelope's purpose or a compatible one."""
    justification: Text | None = None
    """Why the identity, and not the pseudonym, is necessary."""

    def _check(self, check: Check) -> None:
        if not self.pseudonyms:
            check.missing(
                "pseudonyms",
                "list of pseudonyms",
                "name the pseudonyms to be resolved exactly as they appear in the envelope's "
                "record (they start with pn_); the originator resolves nothing else.",
                R_REIDENTIFY,
            )
        elif len(self.pseudonyms) > MAX_PSEUDONYMS:
            check.add(
                "pseudonyms",
                f"{len(self.pseudonyms)} pseudonyms are named; one request may name at most "
                f"{MAX_PSEUDONYMS}: ask only for the identities the case needs, or split the "
                "request.",
                R_NECESSITY,
            )
        seen: set[str] = set()
        for i, pseudonym in enumerate(self.pseudonyms):
            if _PSEUDONYM.fullmatch(pseudonym) is None:
                check.add(
                    f"pseudonyms[{i}]",
                    f"Pseudonym {i + 1} does not have the form of a pseudonym: copy it exactly "
                    "from the envelope's record (pn_ followed by 22 letters, digits, '-' or "
                    "'_'); identifiers in clear do not belong in this request.",
                    R_REIDENTIFY,
                )
            elif pseudonym in seen:
                check.add(
                    f"pseudonyms[{i}]",
                    f"Pseudonym {i + 1} is listed twice: name each pseudonym once.",
                    R_REIDENTIFY,
                )
            seen.add(pseudonym)
        self._check_requested_purpose(check)
        check.text(
            "justification",
            self.justification,
            "justification",
            "say why the identity of the person, and not only the pseudonym, is necessary for "
            "the case; the originator discloses identities only where necessary.",
            R_NECESSITY,
        )

    def _check_requested_purpose(self, check: Check) -> None:
        vocabulary = check.vocabulary
        wanted = self.requested_purpose
        if wanted is None:
            check.missing(
                "requested_purpose",
                "purpose the identities are needed for",
                "state the purpose code (for example criminal_investigation); the originator "
                "resolves pseudonyms only for a purpose the envelope was sent for or one "
                "compatible with it.",
                R_SPECIALITY,
            )
            return
        if not vocabulary.has_purpose(wanted):
            check.add(
                "requested_purpose",
                f"Requested purpose {wanted!r} is not in the vocabulary: use a known purpose "
                "code; a purpose that cannot be named cannot be enforced.",
                R_VOCABULARY,
            )
            return
        sent_for = check.request.purpose if check.request is not None else self.purpose
        if sent_for is None or not vocabulary.has_purpose(sent_for):
            return  # reported on purpose (or on the reference) already
        if not vocabulary.is_compatible(sent_for, wanted):
            allowed = ", ".join(sorted(vocabulary.compatible_purposes(sent_for)))
            check.add(
                "requested_purpose",
                f"Requested purpose {wanted!r} is not allowed: the envelope was sent for "
                f"{sent_for!r}, which allows {allowed} without consent; ask the originator for "
                "a consent to the new purpose first (consent_request).",
                R_SPECIALITY,
            )
