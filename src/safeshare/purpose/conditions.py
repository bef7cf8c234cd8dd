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
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = ["Evaluation", "HandlingConditions", "Retention"]

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
    no decision based solely on automated processing.
    """

    model_config = _STRICT

    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] = "AMBER"
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
        return self
