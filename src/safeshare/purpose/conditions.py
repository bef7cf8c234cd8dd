"""Handling conditions: what the originator allows the recipient to do.

The conditions travel inside the signed claims of every envelope (claim
``handling``), so a recipient cannot strip or weaken them without breaking the
originator's signature. The vocabularies are the ones agencies use today:

* FIRST Traffic Light Protocol 2.0 (``CLEAR``, ``GREEN``, ``AMBER``,
  ``AMBER+STRICT``, ``RED``);
* handling codes in the style of Europol SIENA (``H0``-``H3``);
* the 4x4 evaluation of source (A, B, C, X) and information (1-4).

The safeguards behind the other fields are the Budapest Convention Second
Additional Protocol Art. 14 (retention, onward transfer, sensitive data,
automated decisions) and UNTOC Art. 18(19)-(20) (speciality, confidentiality
of the request).

Special categories of data (Art. 14(4): biometric, genetic, health, data about
minors, ...) may be transferred only "under appropriate safeguards to guard
against the risk of unwarranted prejudicial impact from the use of such
data". Conditions that list any special category must therefore be strict
(checked on construction, so also on every envelope opened):

* ``tlp`` is ``AMBER``, ``AMBER+STRICT`` or ``RED`` (never ``CLEAR`` or
  ``GREEN``, which allow disclosure beyond the recipient's organisation);
* ``onward_transfer`` is ``forbidden`` or ``with_prior_authorisation``
  (``allowed_to_listed`` would let the data travel on without the
  originator weighing each transfer);
* ``no_solely_automated_decision`` is true (Art. 14(6)).

:meth:`HandlingConditions.for_special_categories` builds the protective
defaults for such data.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "SPECIAL_CATEGORY_RETENTION_DAYS",
    "SPECIAL_CATEGORY_REVIEW_DAYS",
    "SPECIAL_CATEGORY_TLP",
    "Evaluation",
    "HandlingConditions",
    "Retention",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)

AgencyRef = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}$")]

SpecialCategory = Literal[
    "biometric",
    "genetic",
    "health",
    "minor",
    "racial_or_ethnic_origin",
    "political_opinions",
    "religious_beliefs",
    "trade_union_membership",
    "sex_life_or_orientation",
    "criminal_convictions",
]

Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]

#: TLP of :meth:`HandlingConditions.for_special_categories`: the recipient's
#: organisation only, no clients or partners (TLP 2.0).
SPECIAL_CATEGORY_TLP: Final = "AMBER+STRICT"
#: Retention of :meth:`HandlingConditions.for_special_categories`, in days.
SPECIAL_CATEGORY_RETENTION_DAYS: Final = 90
#: Review date of :meth:`HandlingConditions.for_special_categories`, in days.
SPECIAL_CATEGORY_REVIEW_DAYS: Final = 30

#: TLP levels that allow disclosure beyond the recipient's organisation.
_OPEN_TLP: Final = frozenset({"CLEAR", "GREEN"})
_SPECIAL_RULE: Final = "Second Additional Protocol Art. 14(4)"
#: The rules for special categories, as JSON Schema (exported with the model).
_SPECIAL_SCHEMA: Final[dict[str, Any]] = {
    "if": {
        "properties": {"special_categories": {"minItems": 1}},
        "required": ["special_categories"],
    },
    "then": {
        "properties": {
            "tlp": {"enum": ["AMBER", "AMBER+STRICT", "RED"]},
            "onward_transfer": {"enum": ["forbidden", "with_prior_authorisation"]},
            "no_solely_automated_decision": {"const": True},
        }
    },
}


class Evaluation(BaseModel):
    """The 4x4 evaluation: reliability of the source and of the information."""

    model_config = _STRICT

    source: Literal["A", "B", "C", "X"]
    information: Literal[1, 2, 3, 4]


class Retention(BaseModel):
    """How long the recipient may keep the data (Art. 14 para. 5)."""

    model_config = _STRICT

    max_days: int = Field(ge=1, le=36_500)
    review_days: int | None = Field(default=None, ge=1, le=36_500)

    @model_validator(mode="after")
    def _review_before_end(self) -> Self:
        if self.review_days is not None and self.review_days > self.max_days:
            raise ValueError("review_days must not be later than max_days")
        return self


class HandlingConditions(BaseModel):
    """The conditions attached to a transfer (signed, enforced on open and use).

    The defaults are the protective ones: AMBER, no onward transfer without
    the originator's prior authorisation, evidential use only with consent,
    no decision based solely on automated processing. Conditions for data of
    special categories (Art. 14(4)) must be stricter still: TLP AMBER,
    AMBER+STRICT or RED; onward transfer forbidden or with prior
    authorisation; no decision based solely on automated processing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_SPECIAL_SCHEMA)

    tlp: Tlp = "AMBER"
    handling_code: Literal["H0", "H1", "H2", "H3"] | None = None
    evaluation: Evaluation | None = None
    onward_transfer: Literal["forbidden", "with_prior_authorisation", "allowed_to_listed"] = (
        "with_prior_authorisation"
    )
    onward_allowed_to: tuple[AgencyRef, ...] = ()
    evidential_use: Literal["allowed", "with_consent"] = "with_consent"
    confidential_request: bool = False
    retention: Retention = Retention(max_days=365)
    special_categories: tuple[SpecialCategory, ...] = ()
    no_solely_automated_decision: bool = True
    acknowledgements: tuple[
        Annotated[str, StringConstraints(min_length=1, max_length=2000)], ...
    ] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.onward_transfer == "allowed_to_listed") != bool(self.onward_allowed_to):
            raise ValueError(
                "onward_allowed_to lists the agencies exactly when onward_transfer is "
                "'allowed_to_listed'"
            )
        if len(set(self.special_categories)) != len(self.special_categories):
            raise ValueError("a special category is listed twice")
        if self.special_categories:
            problems = self._special_category_problems()
            if problems:
                raise ValueError(
                    "the data includes special categories ("
                    + ", ".join(self.special_categories)
                    + f"), which need stricter conditions ({_SPECIAL_RULE}): "
                    + "; ".join(problems)
                )
        return self

    def _special_category_problems(self) -> list[str]:
        problems: list[str] = []
        if self.tlp in _OPEN_TLP:
            problems.append(
                f"tlp must be AMBER, AMBER+STRICT or RED, not {self.tlp} (it allows disclosure "
                "beyond the recipient's organisation)"
            )
        if self.onward_transfer == "allowed_to_listed":
            problems.append(
                "onward_transfer must be 'forbidden' or 'with_prior_authorisation', not "
                "'allowed_to_listed' (each onward transfer needs the originator's decision)"
            )
        if not self.no_solely_automated_decision:
            problems.append(
                "no_solely_automated_decision must be true (no decision based solely on "
                "automated processing, Art. 14(6))"
            )
        return problems

    @classmethod
    def for_special_categories(cls, *categories: SpecialCategory, **overrides: Any) -> Self:
        """Protective conditions for data of special *categories* (Art. 14(4)).

        The defaults: TLP ``AMBER+STRICT`` (:data:`SPECIAL_CATEGORY_TLP`: the
        recipient's organisation only; ``RED``, named individuals only, would
        keep the data from the team working the case), onward transfer only
        with the originator's prior authorisation, use as evidence only with
        its consent, retention :data:`SPECIAL_CATEGORY_RETENTION_DAYS` days
        with a review after :data:`SPECIAL_CATEGORY_REVIEW_DAYS`, no decision
        based solely on automated processing. *overrides* replace members
        (e.g. ``tlp="RED"``, ``retention=Retention(max_days=30)``); the result
        is validated like any conditions, so an override cannot weaken them
        below the rules for special categories (:class:`ValueError`, a
        pydantic ``ValidationError``).
        """
        if not categories:
            raise ValueError("for_special_categories() needs at least one special category")
        if "special_categories" in overrides:
            raise ValueError("give the special categories as positional arguments only")
        members: dict[str, Any] = {
            "tlp": SPECIAL_CATEGORY_TLP,
            "onward_transfer": "with_prior_authorisation",
            "evidential_use": "with_consent",
            "retention": Retention(
                max_days=SPECIAL_CATEGORY_RETENTION_DAYS,
                review_days=SPECIAL_CATEGORY_REVIEW_DAYS,
            ),
            "no_solely_automated_decision": True,
            **overrides,
            "special_categories": tuple(categories),
        }
        return cls.model_validate(members)
