"""Enforcement where data is opened: who opens an envelope, and for which purpose.

Opening an envelope (:func:`safeshare.envelope.open_envelope`) requires the
caller to state the **purpose** it opens the envelope for and the **actor**
(the officer or system) that opens it. After every cryptographic and claims
check has passed, and before the envelope's ``jti`` is recorded in the replay
cache, :func:`enforce_open` decides whether that open is allowed
(``specs/safeshare-v1.md`` section 6.2 step 11 and section 9.1):

1. **Purpose** (speciality: UNTOC Art. 18(19); Second Additional Protocol
   Art. 14(2)). The requested purpose is allowed when it is the envelope's
   ``purpose``; or when the vocabulary lists it in the ``compatible_with`` of
   the envelope's purpose (one step, never transitively, within the same
   case: :meth:`~safeshare.purpose.vocabulary.Vocabulary.is_compatible`); or
   when the recipient holds a valid consent grant of the envelope's issuer
   for exactly this envelope (its digest), this recipient and this purpose
   (:meth:`~safeshare.purpose.consent.ConsentStore.find`, scope ``purpose``).
   A purpose code that is not in the recipient's vocabulary, requested or
   signed in the envelope, cannot be enforced and is refused.
2. **Acknowledgements.** Every free-text condition in the envelope's
   ``handling.acknowledgements`` must be among the texts the caller
   acknowledged, exactly as written, before any data is released.

A refusal is recorded as an :class:`~safeshare.audit.entry.AuditEntry` with
action ``deny`` and outcome ``denied`` (through the caller's
:class:`~safeshare.audit.recorder.AccessRecorder`), then raised as
:class:`~safeshare.errors.PolicyError` (code ``policy_violation``) with a
message a caseworker can act on: which purposes the envelope allows, and
which consent would be needed (with the envelope's digest to ask for it). The
envelope's ``jti`` is not consumed by a refusal: the same envelope opens
afterwards for an allowed purpose. An allowed open is recorded (action
``open``, outcome ``success``) by :meth:`AuthorizedOpen.record` after the
replay insert; ``open_envelope`` returns the data only once the recorder has
returned (for :class:`~safeshare.audit.recorder.AuditLogRecorder`: once the
entry is durably committed).

Audit entries carry metadata only: the actor, the two agencies, the ``jti``
and digest, the requested purpose, and a short reason that never quotes
record content (nor the texts of the conditions).

:func:`decide_open` is the decision alone (no recording, never raises for a
refusal); :func:`authorize_open` raises :class:`PolicyError` on a refusal.
Both are usable on their own, e.g. to check a planned use of data already
opened.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from safeshare._internal.clock import require_aware, to_unix
from safeshare.audit.entry import MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, AuditEntry
from safeshare.audit.recorder import AccessRecorder
from safeshare.errors import PolicyError, SafeShareError, UsageError
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore
from safeshare.purpose.vocabulary import Vocabulary, load_default
from safeshare.registry import TrustRegistry

__all__ = [
    "SPECIALITY_RULE",
    "AuthorizedOpen",
    "OpenBasis",
    "OpenDecision",
    "OpenRequest",
    "authorize_open",
    "decide_open",
    "enforce_open",
    "open_request",
]

OpenBasis = Literal["envelope_purpose", "compatible_purpose", "consent"]
"""Why an open was allowed: the envelope's own purpose, a compatible one, or a consent grant."""

#: The rule behind purpose limitation, cited in refusals.
SPECIALITY_RULE: Final = "UNTOC Art. 18(19); Second Additional Protocol Art. 14(2)"

_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
# As in audit entries: C0 and C1 controls, DEL, Unicode line/paragraph separators.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# -- the request: who opens, for what ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """The caller's side of an open, checked: purpose, actor, acknowledgements, sources.

    Build it with :func:`open_request` (which checks every argument).
    """

    purpose: str
    """The purpose code the caller opens the envelope for."""
    actor: str
    """The officer or system that opens it (recorded in the audit log)."""
    acknowledged: frozenset[str]
    """The handling conditions the caller has explicitly acknowledged, as written."""
    vocabulary: Vocabulary
    consents: ConsentStore | None
    recorder: AccessRecorder | None


def open_request(
    *,
    purpose: str,
    actor: str,
    recorder: AccessRecorder | None,
    vocabulary: Vocabulary | None = None,
    consents: ConsentStore | None = None,
    acknowledged: Collection[str] = (),
) -> OpenRequest:
    """Check the purpose/actor arguments of ``open_envelope``; :class:`UsageError` if bad.

    *purpose* must have the shape of a purpose code (whether the vocabulary
    knows it is decided later, and a refusal is recorded); *actor* is 1-256
    characters without control characters; *vocabulary* defaults to
    :func:`~safeshare.purpose.vocabulary.load_default` (read once).
    """
    if not isinstance(purpose, str) or _CODE.fullmatch(purpose) is None:
        raise UsageError(
            "purpose must be a purpose code such as criminal_investigation "
            "(lower-case letters, digits, '_', '.', '-'; at most 64 characters)",
            hint="the purpose codes are listed in specs/safeshare-v1.md section 8.3",
        )
    _check_actor(actor)
    # The structural check of the AccessRecorder protocol, without the (slow)
    # runtime_checkable isinstance on every open.
    if recorder is not None and not callable(getattr(recorder, "record", None)):
        raise UsageError(
            "recorder must be an AccessRecorder (e.g. AuditLogRecorder(log)) or None",
            hint="pass None only if the caller records the access itself",
        )
    if vocabulary is None:
        vocabulary = load_default()
    elif not isinstance(vocabulary, Vocabulary):
        raise UsageError("vocabulary must be a safeshare.purpose.vocabulary.Vocabulary")
    if consents is not None and not isinstance(consents, ConsentStore):
        raise UsageError("consents must be a safeshare.purpose.consent.ConsentStore")
    return OpenRequest(
        purpose=purpose,
        actor=actor,
        acknowledged=_acknowledged(acknowledged),
        vocabulary=vocabulary,
        consents=consents,
        recorder=recorder,
    )


def _check_actor(actor: object) -> None:
    if not isinstance(actor, str) or not actor or not actor.strip():
        raise UsageError(
            "actor must name the officer or system that opens the envelope",
            hint="for example an officer's badge number or a service account name",
        )
    if len(actor) > MAX_ACTOR_LENGTH:
        raise UsageError(f"actor is {len(actor)} characters long; the limit is {MAX_ACTOR_LENGTH}")
    if _CONTROL.search(actor):
        raise UsageError("actor must not contain control characters or line breaks")
    try:
        actor.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("actor is not valid Unicode (lone surrogate)") from None


_NOTHING: Final[frozenset[str]] = frozenset()


def _acknowledged(acknowledged: object) -> frozenset[str]:
    if isinstance(acknowledged, str | bytes) or not isinstance(acknowledged, Collection):
        raise UsageError("acknowledged must be a collection of texts (not one text)")
    if not acknowledged:
        return _NOTHING
    if not all(isinstance(text, str) for text in acknowledged):
        raise UsageError("acknowledged must hold texts (str)")
    return acknowledged if type(acknowledged) is frozenset else frozenset(acknowledged)


# -- the decision ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenDecision:
    """Whether an envelope may be opened for a purpose, and why (or why not)."""

    purpose: str
    """The purpose requested."""
    envelope_purpose: str
    """The purpose the envelope was sent for (signed claim ``purpose``)."""
    allowed_by: OpenBasis | None
    """How the purpose is allowed; None when it is not."""
    grant_id: str | None
    """The consent grant that allows it (``allowed_by == "consent"``)."""
    problems: tuple[str, ...]
    """Why the open is refused, for people (empty when it is allowed)."""
    reasons: tuple[str, ...]
    """The same, short and without any condition text: for the audit entry."""
    hint: str | None
    """What the caller can do about a refusal."""
    acknowledged_count: int
    """How many handling conditions the envelope asks to acknowledge (all were, if allowed)."""

    @property
    def allowed(self) -> bool:
        """True when the open is allowed: purpose allowed and every condition acknowledged."""
        return not self.problems

    def audit_reason(self) -> str:
        """The ``reason`` of the audit entry: short, metadata only, no record content."""
        if self.allowed:
            if self.allowed_by == "envelope_purpose":
                text = "opened for the envelope's own purpose"
            elif self.allowed_by == "compatible_purpose":
                text = (
                    f"opened for {self.purpose}, compatible with the envelope's purpose "
                    f"{self.envelope_purpose} ({SPECIALITY_RULE})"
                )
            else:
                text = f"opened for {self.purpose} under consent grant {self.grant_id}"
            if self.acknowledged_count:
                text += f"; {_conditions(self.acknowledged_count)} acknowledged"
        else:
            text = "; ".join(self.reasons)
        return _clip(text, MAX_REASON_LENGTH)

    def error(self) -> PolicyError:
        """The :class:`PolicyError` that reports this refusal (UsageError if allowed)."""
        if self.allowed:
            raise UsageError("this open is allowed; there is no refusal to report")
        return PolicyError("; ".join(self.problems), hint=self.hint)


def _conditions(n: int) -> str:
    return "1 handling condition" if n == 1 else f"{n} handling conditions"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decide_open(
    *,
    purpose: str,
    issuer: str,
    recipient: str,
    envelope_purpose: str,
    envelope_digest: str,
    handling: HandlingConditions,
    vocabulary: Vocabulary,
    consents: ConsentStore | None = None,
    acknowledged: Collection[str] = (),
    registry: TrustRegistry | None = None,
    now: datetime,
) -> OpenDecision:
    """Decide whether *recipient* may open the envelope for *purpose*; never raises a refusal.

    *issuer*, *envelope_purpose*, *envelope_digest* and *handling* are the
    verified envelope's (``OpenedEnvelope.issuer``, ``.purpose``, ``.digest``,
    ``.handling``). *consents*, when given, is searched for a grant of
    *issuer* to *recipient* for exactly this envelope and purpose, valid at
    *now* (and, with *registry*, not signed with a key revoked since).
    """
    now = require_aware(now, "now")
    acknowledged_set = _acknowledged(acknowledged)
    problems: list[str] = []
    reasons: list[str] = []
    hints: list[str] = []
    allowed_by: OpenBasis | None = None
    grant_id: str | None = None

    known = _purpose_codes(vocabulary)
    requested_known = purpose in known
    envelope_known = envelope_purpose in known
    if not requested_known:
        problems.append(
            f"{purpose!r} is not a purpose in this agency's vocabulary, so the envelope cannot "
            "be opened for it"
        )
        reasons.append(f"unknown purpose code {purpose}")
        hints.append(
            "use a purpose code of the vocabulary (specs/safeshare-v1.md section 8.3)"
            + (f", such as the envelope's purpose {envelope_purpose}" if envelope_known else "")
        )
    if not envelope_known:
        problems.append(
            f"the envelope's purpose {envelope_purpose!r} is not in this agency's vocabulary, "
            f"so the conditions of {issuer} cannot be enforced and the envelope is not opened"
        )
        reasons.append(f"the envelope's purpose {envelope_purpose} is not in the vocabulary")
        hints.append(
            "if the purpose is legitimate, add it with a vocabulary extension "
            "(specs/safeshare-v1.md section 8.8)"
        )
    if requested_known and envelope_known:
        if purpose == envelope_purpose:
            allowed_by = "envelope_purpose"
        elif vocabulary.is_compatible(envelope_purpose, purpose):
            allowed_by = "compatible_purpose"
        else:
            grant = (
                None
                if consents is None
                else consents.find(
                    envelope_digest=envelope_digest,
                    holder=recipient,
                    originator=issuer,
                    scope="purpose",
                    purpose=purpose,
                    now=now,
                    registry=registry,
                )
            )
            if grant is not None:
                allowed_by = "consent"
                grant_id = grant.grant_id
            else:
                compatible = list(vocabulary.purpose(envelope_purpose).compatible_with)
                problems.append(
                    _purpose_refusal(
                        purpose=purpose,
                        issuer=issuer,
                        recipient=recipient,
                        envelope_purpose=envelope_purpose,
                        compatible=compatible,
                    )
                )
                problems.append(
                    _consent_missing(
                        consents,
                        envelope_digest=envelope_digest,
                        recipient=recipient,
                        issuer=issuer,
                        purpose=purpose,
                        registry=registry,
                        now=now,
                    )
                )
                reasons.append(
                    f"purpose {purpose} is not allowed: the envelope was sent for "
                    f"{envelope_purpose} (without consent also: "
                    f"{', '.join(compatible) or 'nothing else'})"
                    " and no valid consent grant of the originator for it was found"
                    + ("" if consents is not None else " (no consent store consulted)")
                )
                hints.append(
                    f"open it for {_alternatives([envelope_purpose, *compatible])}, or ask "
                    f"{issuer} for a consent grant "
                    f"(scope purpose, purpose {purpose}) for the envelope with digest "
                    f"{envelope_digest} and record it ('safeshare consent add'); then open it "
                    "again with the consent store (--consent-db)"
                )

    required = handling.acknowledgements
    missing = [text for text in required if text not in acknowledged_set]
    if missing:
        # Quoted in full: they must be acknowledged exactly as written.
        listed = "; ".join(repr(text) for text in missing)
        problems.append(
            f"{issuer} attached {_conditions(len(required))} that must be acknowledged before "
            f"the data is released, and {len(missing)} {'is' if len(missing) == 1 else 'are'} "
            f"not: {listed}"
        )
        reasons.append(
            f"handling conditions not acknowledged before release: {len(missing)} of "
            f"{len(required)}"
        )
        hints.append(
            "acknowledge each condition exactly as written (open_envelope(acknowledged=...), "
            "'safeshare open --acknowledge TEXT')"
        )

    return OpenDecision(
        purpose=purpose,
        envelope_purpose=envelope_purpose,
        allowed_by=None if problems else allowed_by,
        grant_id=None if problems else grant_id,
        problems=tuple(problems),
        reasons=tuple(reasons),
        hint="; ".join(hints) or None,
        acknowledged_count=len(required),
    )


# Purpose codes per vocabulary (vocabularies are immutable); the vocabulary is
# kept with its codes so that its id cannot be reused while the entry exists.
_CODES: dict[int, tuple[Vocabulary, frozenset[str]]] = {}
_MAX_CODES: Final = 32


def _purpose_codes(vocabulary: Vocabulary) -> frozenset[str]:
    hit = _CODES.get(id(vocabulary))
    if hit is not None and hit[0] is vocabulary:
        return hit[1]
    codes = frozenset(p.code for p in vocabulary.purposes)
    if len(_CODES) >= _MAX_CODES:
        _CODES.clear()
    _CODES[id(vocabulary)] = (vocabulary, codes)
    return codes


def _alternatives(purposes: list[str]) -> str:
    if len(purposes) == 1:
        return purposes[0]
    return ", ".join(purposes[:-1]) + " or " + purposes[-1]


def _purpose_refusal(
    *,
    purpose: str,
    issuer: str,
    recipient: str,
    envelope_purpose: str,
    compatible: list[str],
) -> str:
    also = (
        f"which also allows {', '.join(compatible)} without consent"
        if compatible
        else "which allows no other purpose without consent"
    )
    return (
        f"{recipient} may not use this envelope from {issuer} for {purpose}: it was sent for "
        f"{envelope_purpose}, {also} (speciality: {SPECIALITY_RULE}), so {purpose} needs "
        f"the prior consent of {issuer}"
    )


def _consent_missing(
    consents: ConsentStore | None,
    *,
    envelope_digest: str,
    recipient: str,
    issuer: str,
    purpose: str,
    registry: TrustRegistry | None,
    now: datetime,
) -> str:
    """Why no consent serves, in words (the consent store's own explanation)."""
    if consents is None:
        return f"no consent store was consulted for a consent grant of {issuer}"
    try:
        consents.require(
            envelope_digest=envelope_digest,
            holder=recipient,
            originator=issuer,
            scope="purpose",
            purpose=purpose,
            now=now,
            registry=registry,
        )
    except PolicyError as exc:
        return exc.message
    return f"no valid consent grant of {issuer} was found"  # pragma: no cover - find() found none


def authorize_open(
    *,
    purpose: str,
    issuer: str,
    recipient: str,
    envelope_purpose: str,
    envelope_digest: str,
    handling: HandlingConditions,
    vocabulary: Vocabulary,
    consents: ConsentStore | None = None,
    acknowledged: Collection[str] = (),
    registry: TrustRegistry | None = None,
    now: datetime,
) -> OpenDecision:
    """:func:`decide_open`, raising :class:`PolicyError` when the open is refused.

    Records nothing; :func:`enforce_open` is the variant that records.
    """
    decision = decide_open(
        purpose=purpose,
        issuer=issuer,
        recipient=recipient,
        envelope_purpose=envelope_purpose,
        envelope_digest=envelope_digest,
        handling=handling,
        vocabulary=vocabulary,
        consents=consents,
        acknowledged=acknowledged,
        registry=registry,
        now=now,
    )
    if not decision.allowed:
        raise decision.error()
    return decision


# -- enforcement with recording ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizedOpen:
    """An open that :func:`enforce_open` allowed; :meth:`record` writes its audit entry."""

    request: OpenRequest
    decision: OpenDecision
    issuer: str
    recipient: str
    jti: str
    envelope_digest: str
    at: datetime
    """When the open happened."""
    forwarded_by: str | None = None
    """The agency that forwarded the envelope to us (None: the originator sent it)."""

    def entry(self, action: Literal["open", "deny"] = "open") -> AuditEntry:
        """The audit entry of this open (``open``/``success``; ``deny``/``denied``).

        A forwarded envelope's open is recorded as ``receive_forward`` with the
        forwarding agency as counterparty; the reason names the originator.
        """
        reason = self.decision.audit_reason()
        if self.forwarded_by is not None:
            reason = _clip(
                f"forwarded by {self.forwarded_by} from {self.issuer}: {reason}", MAX_REASON_LENGTH
            )
        return AuditEntry(
            action="receive_forward" if self.forwarded_by and action == "open" else action,
            time=to_unix(self.at),
            actor=self.request.actor,
            agency=self.recipient,
            counterparty=self.forwarded_by or self.issuer,
            jti=self.jti,
            envelope_digest=self.envelope_digest,
            purpose=self.request.purpose,
            outcome="success" if action == "open" else "denied",
            reason=reason,
        )

    def record(self) -> int | None:
        """Record the open through the request's recorder; its index, or None without one.

        The entry is built only when there is a recorder. The recorder's
        error (e.g. :class:`~safeshare.errors.StorageError`) propagates: then
        the access is not recorded and the data must not be released.
        """
        recorder = self.request.recorder
        return None if recorder is None else recorder.record(self.entry())


def enforce_open(
    request: OpenRequest,
    *,
    issuer: str,
    recipient: str,
    jti: str,
    envelope_digest: str,
    envelope_purpose: str,
    handling: HandlingConditions,
    registry: TrustRegistry | None,
    now: datetime,
    forwarded_by: str | None = None,
) -> AuthorizedOpen:
    """Decide the open; on a refusal record a denial and raise :class:`PolicyError`.

    The denial is recorded before the error is raised; if recording it
    fails, the recorder's error propagates instead (the open is refused
    either way). On success nothing is recorded yet: call
    :meth:`AuthorizedOpen.record` once the open is final (after the replay
    insert), before releasing the data.
    """
    now = require_aware(now, "now")
    decision = decide_open(
        purpose=request.purpose,
        issuer=issuer,
        recipient=recipient,
        envelope_purpose=envelope_purpose,
        envelope_digest=envelope_digest,
        handling=handling,
        vocabulary=request.vocabulary,
        consents=request.consents,
        acknowledged=request.acknowledged,
        registry=registry,
        now=now,
    )

    opening = AuthorizedOpen(
        request=request,
        decision=decision,
        issuer=issuer,
        recipient=recipient,
        jti=jti,
        envelope_digest=envelope_digest,
        at=now,
        forwarded_by=forwarded_by,
    )
    if not decision.allowed:
        error = decision.error()
        if request.recorder is not None:
            try:
                request.recorder.record(opening.entry("deny"))
            except SafeShareError as exc:
                raise exc from error
        raise error
    return opening
