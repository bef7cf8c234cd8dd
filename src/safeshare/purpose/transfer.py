"""The transfer check before sealing: may these recipients receive data on these conditions?

Before an envelope is sealed, the sender compares each recipient's entry in
the trust registry with the envelope's handling conditions
(:class:`~safeshare.purpose.conditions.HandlingConditions`). The registry
entry says what the agency *declares* it will honour
(:class:`~safeshare.registry.Safeguards`, Second Additional Protocol Art. 14);
the conditions say what the originator *requires*. :func:`check_transfer`
returns every :class:`Mismatch` between the two, each with an explanation a
caseworker can act on:

==========================  ==============================================================
``suspended``               transfers with the agency are suspended at the time of sealing
                            (Art. 14(15)). **Never overridable.**
``retention``               the agency declares ``max_retention_days`` longer than the
                            conditions' ``retention.max_days`` (Art. 14(5)).
``onward_transfer``         the agency's onward-transfer policy is looser than the
                            conditions allow (Art. 14(9)-(10)); see the order below.
``automated_decision``      the conditions forbid decisions based solely on automated
                            processing and the agency does not declare that it refrains
                            from them (Art. 14(6)).
``special_categories``      the data includes special categories (Art. 14(4)) and the
                            agency does not declare every safeguard the registry can
                            express for them (see below).
``instrument``              the legal basis belongs to an instrument the agency does not
                            list in ``accepted_instruments``.
==========================  ==============================================================

Onward transfer, strictest first. The conditions: ``forbidden`` <
``with_prior_authorisation`` < ``allowed_to_listed``; the agency's declared
policy (:data:`~safeshare.registry.ONWARD_STRICTNESS`): ``never`` <
``with_prior_authorisation`` < ``domestic_same_conditions``. The two scales
are compared rank by rank: a policy ranked above the conditions is looser
than they allow (e.g. an agency that shares domestically under the same
conditions without asking, ``domestic_same_conditions``, cannot receive data
whose onward transfer needs the originator's prior authorisation).

Special categories, kept simple: the registry expresses two safeguards that
protect data subjects from the prejudicial effects of processing sensitive
data, ``no_solely_automated_decisions`` (no profiling-style decisions) and
``breach_notification_hours`` (the originator is told of an incident). When
the conditions list any special category, the recipient must declare
**both**; a missing one is reported (the automated-decision declaration only
once: when the ``automated_decision`` mismatch already reports it, this check
does not repeat it).

The instrument of the legal basis is the vocabulary's
(:class:`~safeshare.purpose.vocabulary.LegalBasis` ``instrument``) when the
code is in it; otherwise the longest known instrument code that, followed by
``"."``, starts the legal basis (legal-basis codes are ``INSTRUMENT.Article``).
For a code that matches no known instrument (say a bilateral treaty of a
vocabulary extension the sender has not loaded), the recipient accepts it
when one of its ``accepted_instruments`` followed by ``"."`` starts the
code; otherwise it is a mismatch: the recipient has not declared that it
accepts the instrument, so the check fails closed.

A refused transfer can go ahead only through a :class:`TransferOverride`: an
explicit decision by a named person, with a reason, that acknowledges exactly
the mismatches found (no more, no fewer, so a decision taken for one situation
cannot silently cover another). :func:`~safeshare.envelope.seal` records the
decision in the audit log (action ``override``). A suspension is never
overridable: :func:`transfer_refusal` raises
:class:`~safeshare.errors.AgencySuspendedError` for it, override or not.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from safeshare._internal.clock import require_aware
from safeshare.errors import AgencySuspendedError, PolicyError, SafeShareError, UsageError
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.vocabulary import Vocabulary, load_default
from safeshare.registry import ONWARD_STRICTNESS, Agency, TrustRegistry

__all__ = [
    "CONDITION_STRICTNESS",
    "MISMATCH_KINDS",
    "Mismatch",
    "MismatchKind",
    "TransferOverride",
    "check_transfer",
    "transfer_refusal",
]

MismatchKind = Literal[
    "suspended",
    "retention",
    "onward_transfer",
    "automated_decision",
    "special_categories",
    "instrument",
]
"""What a recipient's declared safeguards fail to satisfy (see the module docstring)."""
#: Every mismatch kind, in the order the checks run.
MISMATCH_KINDS: Final[tuple[MismatchKind, ...]] = get_args(MismatchKind)

#: The conditions' onward-transfer values, strictest first (ranks as in ONWARD_STRICTNESS).
CONDITION_STRICTNESS: Final[dict[str, int]] = {
    "forbidden": 0,
    "with_prior_authorisation": 1,
    "allowed_to_listed": 2,
}

#: Longest reason of an override, in characters (the audit entry holds it).
MAX_OVERRIDE_REASON: Final = 500
#: Longest ``decided_by``, in characters (as an audit entry's actor).
MAX_DECIDED_BY: Final = 256

_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_KEY: Final = re.compile(r"([A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}):([a-z_]+)")

_ART: Final = "Second Additional Protocol Art. 14"

_POLICY_WORDS: Final[dict[str, str]] = {
    "never": "never transfers data onward",
    "with_prior_authorisation": (
        "transfers data onward only with the originator's prior authorisation"
    ),
    "domestic_same_conditions": (
        "shares data with other authorities of its own country under the same conditions "
        "without asking the originator"
    ),
}
_CONDITION_WORDS: Final[dict[str, str]] = {
    "forbidden": "forbid any onward transfer",
    "with_prior_authorisation": (
        "require the originator's prior authorisation for every onward transfer"
    ),
    "allowed_to_listed": "allow onward transfer only to the agencies they list",
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way a recipient's declared safeguards do not satisfy the conditions."""

    recipient: str
    """The recipient agency's id."""
    kind: MismatchKind
    explanation: str
    """What does not match, in words (names the recipient, the declaration and the condition)."""

    @property
    def key(self) -> str:
        """``"XB-PROS:retention"``: what a :class:`TransferOverride` acknowledges."""
        return f"{self.recipient}:{self.kind}"

    @property
    def overridable(self) -> bool:
        """False for a suspension (Art. 14(15)); true for every other kind."""
        return self.kind != "suspended"

    def __str__(self) -> str:
        return self.explanation


@dataclass(frozen=True, slots=True)
class TransferOverride:
    """An explicit, recorded decision to transfer despite the mismatches it names.

    *decided_by* is the person (or office) who takes the decision (recorded
    as the actor of the audit entry), *reason* why (recorded too: write no
    personal data into it). *mismatches_acknowledged* names each mismatch
    the decision covers: :class:`Mismatch` objects or their
    :attr:`Mismatch.key` (``"XB-PROS:retention"``); it is stored as the
    frozenset of keys (:attr:`keys`). :func:`~safeshare.envelope.seal`
    accepts the override only if the keys are exactly those of the
    mismatches it finds.
    """

    decided_by: str
    reason: str
    mismatches_acknowledged: Collection[str | Mismatch]
    """After construction: the frozenset of the acknowledged keys (:attr:`keys`)."""

    def __post_init__(self) -> None:
        _check_text(self.decided_by, "decided_by", MAX_DECIDED_BY)
        _check_text(self.reason, "reason", MAX_OVERRIDE_REASON)
        given: object = self.mismatches_acknowledged
        if isinstance(given, str | bytes) or not isinstance(given, Iterable):
            raise UsageError(
                "mismatches_acknowledged must be a collection of mismatches or their keys "
                '(e.g. ["XB-PROS:retention"]), not one text'
            )
        keys: set[str] = set()
        for item in given:
            key = item.key if isinstance(item, Mismatch) else item
            if not isinstance(key, str) or (match := _KEY.fullmatch(key)) is None:
                raise UsageError(
                    f"{str(key)[:80]!r} does not name a mismatch: use Mismatch.key, "
                    "'AGENCY:kind' such as 'XB-PROS:retention'"
                )
            if match.group(2) not in MISMATCH_KINDS:
                raise UsageError(
                    f"{key!r}: unknown mismatch kind {match.group(2)!r}; known: "
                    + ", ".join(MISMATCH_KINDS)
                )
            keys.add(key)
        if not keys:
            raise UsageError("an override must name the mismatches it acknowledges")
        object.__setattr__(self, "mismatches_acknowledged", frozenset(keys))

    @property
    def keys(self) -> frozenset[str]:
        """The keys of the acknowledged mismatches (``"XB-PROS:retention"``, ...)."""
        return frozenset(str(key) for key in self.mismatches_acknowledged)


def _check_text(value: object, name: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"an override needs {name} (a non-empty text)")
    if len(value) > limit:
        raise UsageError(f"override {name} is {len(value)} characters long; the limit is {limit}")
    if _CONTROL.search(value):
        raise UsageError(f"override {name} must not contain control characters or line breaks")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"override {name} is not valid Unicode (lone surrogate)") from None


# -- the check ------------------------------------------------------------------------------


def check_transfer(
    registry: TrustRegistry,
    recipients: Sequence[str],
    handling: HandlingConditions,
    *,
    now: datetime,
    legal_basis: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> list[Mismatch]:
    """Every mismatch between the recipients' declared safeguards and *handling*.

    Each recipient (in order, each once) is looked up in *registry*
    (:class:`~safeshare.errors.UnknownAgencyError` if absent) and checked at
    *now* as described in the module docstring. The instrument check runs
    only with *legal_basis*, resolved through *vocabulary* (default: the
    shipped one). An empty list means the transfer may go ahead.
    """
    if not isinstance(registry, TrustRegistry):
        raise UsageError("check_transfer() takes the verified safeshare.registry.TrustRegistry")
    if not isinstance(handling, HandlingConditions):
        raise UsageError("check_transfer() takes the envelope's HandlingConditions")
    if isinstance(recipients, str) or not isinstance(recipients, Sequence):
        raise UsageError("recipients must be a sequence of agency ids (not one text)")
    now = require_aware(now, "now")
    if legal_basis is not None and vocabulary is None:
        vocabulary = load_default()
    mismatches: list[Mismatch] = []
    for agency_id in dict.fromkeys(recipients):
        agency = registry.agency(agency_id)
        mismatches += _check_one(
            registry,
            agency,
            handling=handling,
            now=now,
            legal_basis=legal_basis,
            vocabulary=vocabulary,
        )
    return mismatches


def _check_one(
    registry: TrustRegistry,
    agency: Agency,
    *,
    handling: HandlingConditions,
    now: datetime,
    legal_basis: str | None,
    vocabulary: Vocabulary | None,
) -> list[Mismatch]:
    found: list[Mismatch] = []
    who = agency.id
    s = agency.safeguards

    def add(kind: MismatchKind, text: str) -> None:
        found.append(Mismatch(recipient=who, kind=kind, explanation=f"{who}: {text}"))

    try:
        registry.check_active(who, at=now)
    except AgencySuspendedError as exc:
        add("suspended", f"{exc.message}; no data may be sent to it ({_ART}(15))")

    allowed_days = handling.retention.max_days
    if s.max_retention_days > allowed_days:
        add(
            "retention",
            f"commits to keep data up to {s.max_retention_days} days; the conditions allow "
            f"{allowed_days} ({_ART}(5))",
        )

    policy_rank = ONWARD_STRICTNESS[s.onward_transfer]
    condition_rank = CONDITION_STRICTNESS[handling.onward_transfer]
    if policy_rank > condition_rank:
        add(
            "onward_transfer",
            f"declares that it {_POLICY_WORDS[s.onward_transfer]} (policy "
            f"{s.onward_transfer}); the conditions {_CONDITION_WORDS[handling.onward_transfer]} "
            f"(onward_transfer {handling.onward_transfer}), so its policy is looser "
            f"({_ART}(9)-(10))",
        )

    automated_reported = False
    if handling.no_solely_automated_decision and not s.no_solely_automated_decisions:
        automated_reported = True
        add(
            "automated_decision",
            "does not declare that it refrains from decisions based solely on automated "
            "processing; the conditions forbid such decisions "
            f"(no_solely_automated_decision, {_ART}(6))",
        )

    if handling.special_categories:
        missing: list[str] = []
        if not s.no_solely_automated_decisions and not automated_reported:
            missing.append("that it takes no decision based solely on automated processing")
        if s.breach_notification_hours is None:
            missing.append("a commitment to notify the originator of a data breach")
        if missing:
            add(
                "special_categories",
                "the data includes special categories ("
                + ", ".join(handling.special_categories)
                + "), which need the recipient's safeguards against prejudicial effects "
                f"({_ART}(4)); it does not declare " + " nor ".join(missing),
            )

    if legal_basis is not None and vocabulary is not None:
        problem = _instrument_problem(legal_basis, s.accepted_instruments, vocabulary)
        if problem is not None:
            add("instrument", problem)
    return found


def _instrument_problem(
    legal_basis: str, accepted: Collection[str], vocabulary: Vocabulary
) -> str | None:
    """Why the recipient does not accept the instrument of *legal_basis*, or None."""
    instrument: str | None = None
    if vocabulary.has_legal_basis(legal_basis):
        instrument = vocabulary.legal_basis(legal_basis).instrument
    else:
        # Codes are INSTRUMENT.Article; instrument codes may contain dots too.
        candidates = [legal_basis[:i] for i, ch in enumerate(legal_basis) if ch == "." and i > 0]
        known = [c for c in candidates if vocabulary.has_instrument(c)]
        if known:
            instrument = max(known, key=len)
        elif any(legal_basis.startswith(code + ".") for code in accepted):
            return None
    listed = ", ".join(accepted)
    if instrument is None:
        return (
            f"the legal basis {legal_basis!r} belongs to no instrument it accepts "
            f"(it accepts {listed}), and the vocabulary does not know the legal basis"
        )
    if instrument in accepted:
        return None
    return (
        f"does not accept the instrument {instrument} of the legal basis {legal_basis} "
        f"(it accepts {listed})"
    )


# -- the decision ---------------------------------------------------------------------------


def transfer_refusal(
    mismatches: Sequence[Mismatch], override: TransferOverride | None
) -> SafeShareError | None:
    """The error that refuses the transfer, or None when it may go ahead.

    * any ``suspended`` mismatch: :class:`~safeshare.errors.AgencySuspendedError`
      listing every mismatch, with or without an override (Art. 14(15));
    * other mismatches and no override:
      :class:`~safeshare.errors.PolicyError` listing every mismatch;
    * an override whose acknowledged keys are not exactly the mismatches'
      keys (or an override where there is nothing to override):
      :class:`~safeshare.errors.PolicyError` naming the difference.
    """
    if override is not None and not isinstance(override, TransferOverride):
        raise UsageError("override must be a safeshare.purpose.transfer.TransferOverride")
    listed = "; ".join(m.explanation for m in mismatches)
    if any(not m.overridable for m in mismatches):
        return AgencySuspendedError(
            f"transfer refused: {listed}",
            hint="a suspension cannot be overridden; remove the suspended agency from the "
            "recipients, or wait until the registry authority lifts the suspension",
        )
    found = {m.key for m in mismatches}
    if override is None:
        if not mismatches:
            return None
        keys = ", ".join(sorted(found))
        return PolicyError(
            f"transfer refused: the recipients' declared safeguards do not satisfy the "
            f"handling conditions: {listed}",
            hint=(
                "seal to recipients whose safeguards match, adjust the conditions, or have "
                "the decision taken explicitly with an override acknowledging exactly "
                f"{keys} (it is recorded in the audit log)"
            ),
        )
    acknowledged = override.keys
    if acknowledged == found:
        return None
    problems = []
    if not found:
        problems.append("there is no mismatch to override")
    if missing := sorted(found - acknowledged):
        problems.append(f"it does not acknowledge {', '.join(missing)}")
    if extra := sorted(acknowledged - found):
        problems.append(f"it acknowledges {', '.join(extra)}, which the check did not find")
    mismatch_text = f"; the mismatches found: {listed}" if mismatches else ""
    return PolicyError(
        "transfer refused: the override does not cover exactly the mismatches found ("
        + "; ".join(problems)
        + ")"
        + mismatch_text,
        hint="an override must acknowledge exactly the mismatches of this transfer "
        "(TransferOverride.mismatches_acknowledged: their Mismatch.key values)",
    )
