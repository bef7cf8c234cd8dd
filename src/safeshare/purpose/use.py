"""Use checks: may data already opened be used as evidence, transferred onward, decided on?

Opening an envelope checks the purpose (:mod:`safeshare.purpose.enforce`).
What the recipient does *later* with the data is bound by the rest of the
signed handling conditions; these functions check one planned use against
them, for the opened result (:class:`~safeshare.envelope.OpenedEnvelope`):

* :func:`check_evidential_use`: use as evidence in judicial proceedings.
  ``evidential_use: allowed`` permits it; ``with_consent`` needs a valid
  consent grant of the originator with scope ``evidential_use``
  (:meth:`~safeshare.purpose.consent.ConsentStore.require`; UNTOC Art.
  18(19)).
* :func:`check_onward_transfer`: sending the data to another agency
  (Second Additional Protocol Art. 14(9)-(10)). ``forbidden`` refuses it,
  consent or not (the signed condition does not change; the originator can
  send the data to that agency itself); ``with_prior_authorisation`` needs a
  valid consent grant with scope ``onward_transfer`` for exactly that agency;
  ``allowed_to_listed`` permits only the agencies the conditions list. In
  every case the target must be in the trust registry and not suspended at
  *now* (Art. 14(15)). The forwarding itself is a new seal, which runs the
  transfer check (:mod:`safeshare.purpose.transfer`) against the target's
  declared safeguards.
* :func:`check_automated_decision`: taking a decision based solely on
  automated processing. Refused when the conditions say
  ``no_solely_automated_decision`` (Art. 14(6)); a decision a person takes
  is always permitted.

Every check also refuses any use once the retention period has ended
(``iat`` + ``retention.max_days``, Art. 14(5)): the data should be gone.

Each function returns None when the use is permitted and raises
:class:`~safeshare.errors.PolicyError` (listing every reason at once) when it
is not. With a *recorder* (and the *actor* who uses the data), the decision
is recorded first, as one metadata-only
:class:`~safeshare.audit.entry.AuditEntry`: a refusal as ``deny`` /
``denied``; a permitted onward transfer as ``forward`` (counterparty: the
target); a permitted evidential use or automated decision as ``open`` (an
access to the data; the reason names the use), since the audit vocabulary
has no separate action for later uses. The caller may act only after the
function returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from safeshare._internal.clock import resolve_now, rfc3339, to_unix
from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.errors import (
    AgencySuspendedError,
    MalformedInputError,
    PolicyError,
    SafeShareError,
    UnknownAgencyError,
    UsageError,
)
from safeshare.purpose.consent import ConsentGrant, ConsentStore
from safeshare.registry import TrustRegistry

if TYPE_CHECKING:
    from safeshare.audit.recorder import AccessRecorder
    from safeshare.envelope import OpenedEnvelope

__all__ = [
    "check_automated_decision",
    "check_evidential_use",
    "check_onward_transfer",
]

_AGENCY: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")
_ART: Final = "Second Additional Protocol Art. 14"


@dataclass(frozen=True, slots=True)
class _Use:
    """One planned use: the opened envelope, who uses it, when, and where it is recorded."""

    opened: OpenedEnvelope
    recorder: AccessRecorder | None
    actor: str | None
    now: datetime

    def record(
        self,
        action: Literal["open", "forward", "deny"],
        reason: str,
        counterparty: str | None = None,
    ) -> None:
        if self.recorder is None:
            return
        opened = self.opened
        opened_for = getattr(opened, "opened_for", None)
        self.recorder.record(
            AuditEntry(
                action=action,
                time=to_unix(self.now),
                actor=str(self.actor),
                agency=opened.recipient,
                counterparty=counterparty or opened.issuer,
                jti=opened.jti,
                envelope_digest=opened.digest,
                purpose=opened_for if isinstance(opened_for, str) else opened.purpose,
                outcome="denied" if action == "deny" else "success",
                reason=_clip(reason),
            )
        )

    def refuse(
        self, what: str, problems: list[str], hint: str | None, counterparty: str | None = None
    ) -> PolicyError:
        """Record the refusal (``deny``) and return the error to raise."""
        error = PolicyError(f"{what} refused: " + "; ".join(problems), hint=hint)
        try:
            self.record("deny", f"{what} refused: " + "; ".join(problems), counterparty)
        except SafeShareError as exc:
            raise exc from error
        return error

    def retention_problem(self) -> str | None:
        opened = self.opened
        ends = opened.issued_at + timedelta(days=opened.handling.retention.max_days)
        if self.now >= ends:
            return (
                f"the retention of this data ended at {rfc3339(ends)} (handling condition "
                f"retention: {opened.handling.retention.max_days} days, {_ART}(5)); it must be "
                "deleted, not used"
            )
        return None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 3] + "..."


def _use(
    opened: OpenedEnvelope,
    recorder: AccessRecorder | None,
    actor: str | None,
    now: datetime | None,
) -> _Use:
    # Imported here: safeshare.envelope imports safeshare.purpose (enforcement on open).
    from safeshare.envelope import OpenedEnvelope  # noqa: PLC0415

    if not isinstance(opened, OpenedEnvelope):
        raise UsageError("a use check takes an OpenedEnvelope (the result of open_envelope)")
    if recorder is not None:
        if not callable(getattr(recorder, "record", None)):
            raise UsageError("recorder must be an AccessRecorder (e.g. AuditLogRecorder(log))")
        if actor is None:
            raise UsageError("recording a use needs the actor (the officer or system): actor=")
        try:
            AuditEntry(
                action="open", time=0, actor=actor, agency=opened.recipient, outcome="success"
            )
        except MalformedInputError as exc:
            raise UsageError(f"cannot record the use: {exc.message}") from None
    return _Use(opened, recorder, actor, resolve_now(now))


def _consent_hint(opened: OpenedEnvelope, scope: str, to_agency: str | None = None) -> str:
    target = f" to {to_agency}" if to_agency else ""
    return (
        f"ask {opened.issuer} for a consent grant with scope {scope}{target} for the envelope "
        f"with digest {opened.digest} and record it ('safeshare consent add'); then check again "
        "with the consent store"
    )


def _check_consents(consents: object) -> ConsentStore | None:
    if consents is not None and not isinstance(consents, ConsentStore):
        raise UsageError("consents must be a safeshare.purpose.consent.ConsentStore or None")
    return consents


# -- evidential use ---------------------------------------------------------------------------


def check_evidential_use(
    opened: OpenedEnvelope,
    *,
    consents: ConsentStore | None = None,
    registry: TrustRegistry | None = None,
    recorder: AccessRecorder | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> None:
    """Permit using *opened*'s data as evidence in judicial proceedings, or raise PolicyError.

    Permitted when the conditions say ``evidential_use: allowed``, or when
    *consents* holds a valid grant of the originator (the envelope's issuer)
    to us (the recipient) with scope ``evidential_use`` for exactly this
    envelope at *now* (with *registry*, not signed with a key revoked since).
    """
    use = _use(opened, recorder, actor, now)
    consents = _check_consents(consents)
    what = f"use as evidence of the data of envelope {opened.jti} from {opened.issuer}"
    problems: list[str] = []
    retention = use.retention_problem()
    if retention:
        problems.append(retention)
    basis = "allowed by the conditions (evidential_use: allowed)"
    missing: str | None = None
    if opened.handling.evidential_use == "with_consent":
        if consents is None:
            missing = (
                f"the conditions of {opened.issuer} allow use as evidence only with its consent "
                "(evidential_use: with_consent) and no consent store was consulted"
            )
        else:
            try:
                grant = consents.require(
                    envelope_digest=opened.digest,
                    holder=opened.recipient,
                    originator=opened.issuer,
                    scope="evidential_use",
                    now=use.now,
                    registry=registry,
                )
                basis = f"consent grant {grant.grant_id} of {opened.issuer}"
            except PolicyError as exc:
                missing = exc.message
    hint: str | None = None
    if missing is not None:
        problems.append(missing)
        hint = _consent_hint(opened, "evidential_use")
    if problems:
        raise use.refuse(what, problems, hint)
    use.record("open", f"use as evidence in judicial proceedings: {basis}")


# -- onward transfer --------------------------------------------------------------------------


def check_onward_transfer(
    opened: OpenedEnvelope,
    to_agency: str,
    *,
    registry: TrustRegistry,
    consents: ConsentStore | None = None,
    recorder: AccessRecorder | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> ConsentGrant | None:
    """Permit transferring *opened*'s data to *to_agency*, or raise PolicyError.

    See the module docstring for the rules. *registry* is the verified trust
    registry: the target must be in it and active at *now*; with
    ``with_prior_authorisation`` it also serves to distrust a grant signed
    with a key revoked since. Returns the consent grant that permits the
    transfer (``with_prior_authorisation``), None when the conditions alone
    permit it.
    """
    use = _use(opened, recorder, actor, now)
    consents = _check_consents(consents)
    if not isinstance(registry, TrustRegistry):
        raise UsageError("check_onward_transfer() takes the verified TrustRegistry")
    if not isinstance(to_agency, str) or _AGENCY.fullmatch(to_agency) is None:
        raise UsageError("to_agency must be an agency id such as XC-CUST")
    if to_agency == opened.recipient:
        raise UsageError(f"{to_agency} is the recipient itself: that is no onward transfer")
    if to_agency == opened.issuer:
        raise UsageError(
            f"{to_agency} is the originator of the data: returning data to its originator is "
            "no onward transfer"
        )
    h = opened.handling
    what = (
        f"onward transfer of the data of envelope {opened.jti} from {opened.issuer} to {to_agency}"
    )
    problems: list[str] = []
    hint: str | None = None
    retention = use.retention_problem()
    if retention:
        problems.append(retention)
    try:
        registry.check_active(to_agency, at=use.now)
    except AgencySuspendedError as exc:
        problems.append(f"{exc.message}; no data may be sent to it ({_ART}(15))")
    except UnknownAgencyError as exc:
        problems.append(exc.message)
    basis = ""
    grant: ConsentGrant | None = None
    if h.onward_transfer == "forbidden":
        problems.append(
            f"the conditions of {opened.issuer} forbid any onward transfer "
            f"(onward_transfer: forbidden, {_ART}(10)); a consent grant does not change them"
        )
        hint = f"ask {opened.issuer} to send the data to {to_agency} itself"
    elif h.onward_transfer == "allowed_to_listed":
        if to_agency in h.onward_allowed_to:
            basis = "the conditions list it (onward_transfer: allowed_to_listed)"
        else:
            problems.append(
                f"the conditions of {opened.issuer} allow onward transfer only to "
                f"{', '.join(h.onward_allowed_to)} (onward_transfer: allowed_to_listed), "
                f"not to {to_agency}"
            )
            hint = f"ask {opened.issuer} to send the data to {to_agency} itself"
    elif consents is None:
        problems.append(
            f"the conditions of {opened.issuer} allow onward transfer only with its prior "
            f"authorisation (onward_transfer: with_prior_authorisation, {_ART}(10)) and no "
            "consent store was consulted"
        )
        hint = _consent_hint(opened, "onward_transfer", to_agency)
    else:
        try:
            grant = consents.require(
                envelope_digest=opened.digest,
                holder=opened.recipient,
                originator=opened.issuer,
                scope="onward_transfer",
                onward_recipient=to_agency,
                now=use.now,
                registry=registry,
            )
            basis = f"prior authorisation: consent grant {grant.grant_id} of {opened.issuer}"
        except PolicyError as exc:
            problems.append(exc.message)
            hint = _consent_hint(opened, "onward_transfer", to_agency)
    if problems:
        raise use.refuse(what, problems, hint, counterparty=to_agency)
    use.record("forward", f"onward transfer permitted: {basis}", counterparty=to_agency)
    return grant


# -- automated decisions ----------------------------------------------------------------------


def check_automated_decision(
    opened: OpenedEnvelope,
    *,
    solely_automated: bool,
    recorder: AccessRecorder | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> None:
    """Permit a decision about a person based on *opened*'s data, or raise PolicyError.

    *solely_automated* says whether the decision is taken by automated
    processing alone (no person weighs it). Refused when it is and the
    conditions say ``no_solely_automated_decision`` (Art. 14(6)).
    """
    use = _use(opened, recorder, actor, now)
    if not isinstance(solely_automated, bool):
        raise UsageError("solely_automated must be True or False")
    what = f"decision based on the data of envelope {opened.jti} from {opened.issuer}"
    problems: list[str] = []
    retention = use.retention_problem()
    if retention:
        problems.append(retention)
    hint: str | None = None
    if solely_automated and opened.handling.no_solely_automated_decision:
        problems.append(
            f"the conditions of {opened.issuer} forbid decisions based solely on automated "
            f"processing (no_solely_automated_decision, {_ART}(6))"
        )
        hint = "have a person review the case and take the decision"
    if problems:
        raise use.refuse(what, problems, hint)
    kind = "solely automated" if solely_automated else "taken by a person"
    use.record("open", f"decision {kind}: permitted by the conditions")
