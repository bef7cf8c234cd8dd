"""Record schemas shipped with safeshare, and how to find a schema by name.

Four realistic records of cross-border cooperation, each annotated field by
field for every purpose of the shipped vocabulary that needs the field
(``src/safeshare/data/purposes.json``); every other purpose gets the
field's default, ``withhold``:

* :class:`SubscriberInformation` -- what a service provider holds about a
  subscriber (Budapest Convention Art. 18(3); Second Additional Protocol
  Art. 7);
* :class:`TrafficRecords` -- one communication or session: addresses, ports,
  times, the cell and its location (traffic data, Budapest Art. 1(d));
* :class:`PersonOfInterest` -- a police record of a suspect: identity, last
  known address and sighting, free-text notes, special categories;
* :class:`FinancialTransaction` -- one payment or withdrawal (UNTOC
  Art. 12-13: tracing and confiscating proceeds).

The comments next to each field give the reasoning. The principles:

* **Investigation and proceedings** (``criminal_investigation``,
  ``prosecution``, ``judicial_proceedings``) see the facts of the record; a
  court needs the record as it is.
* **Locating a suspect** needs what finds and recognises the person: names,
  contact numbers, precise last-seen place and time, a description, and an
  officer-safety warning. It does not need the full date of birth (the year
  tells two namesakes apart), document numbers (pseudonymized: they still
  link records in the case), criminal history or health.
* **Intelligence analysis** looks at patterns, not people: identifiers are
  pseudonymized (linkable within the case, not readable), times, places,
  network addresses and amounts are generalized.
* **Special categories** (health, ethnic origin, criminal convictions) are
  withheld unless a purpose clearly needs them: criminal history for the
  proceedings; health only to prevent an imminent threat to life.
* **Emergency purposes** (``prevent_imminent_threat``,
  ``locate_missing_person``, ``identify_victim``) see contact and location
  data, which is what saves a life.

Data categories use the names of
:data:`~safeshare.purpose.vocabulary.DATA_CATEGORIES`. Records that are not
electronic-communication data (a person, a payment) use the closest one:
who someone is and how to reach them is ``subscriber``-like, where and when
something happened is ``traffic``-like, free text and notes are ``content``.

:func:`schema_by_name` finds a schema by its ``schema_id`` or, for a user's
own schema, by ``package.module:ClassName``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, ClassVar, Final, Literal

from pydantic import AfterValidator, Field, IPvAnyAddress
from pydantic_core import PydanticCustomError

from safeshare.errors import UsageError
from safeshare.privacy.generalize import DAY, MONTH, YEAR, Grid, IpPrefix, NumberBucket
from safeshare.privacy.schema import Coordinates, DataField, RecordSchema, Rule

__all__ = [
    "SCHEMAS",
    "Address",
    "FinancialTransaction",
    "PersonOfInterest",
    "SubscriberInformation",
    "TrafficRecords",
    "schema_by_name",
]

#: Purposes that work on the facts of the case (the record as it is).
PROCEEDINGS: Final = ("criminal_investigation", "prosecution", "judicial_proceedings")
#: Emergencies where contact and location data may save a life.
EMERGENCY: Final = ("prevent_imminent_threat", "locate_missing_person")

_Text = Annotated[str, Field(min_length=1, max_length=200)]
_LongText = Annotated[str, Field(min_length=1, max_length=4000)]
_Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-./()]")


def _international_phone(value: str) -> str:
    """A phone number in international format (what the blind index can normalize)."""
    digits = _PHONE_SEPARATORS.sub("", value)
    digits = digits[1:] if digits.startswith("+") else digits[2:] if digits.startswith("00") else ""
    if not (digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15):
        # A custom error type: its message (which quotes no value) reaches the caseworker;
        # ValueError messages of validators are not shown (they may quote the value).
        raise PydanticCustomError(
            "international_phone",
            "a phone number is written in international format: '+' (or '00'), the country "
            "code and the number, 3 to 15 digits (ITU-T E.164), e.g. +99 555 0100",
        )
    return value


_Phone = Annotated[str, Field(max_length=40), AfterValidator(_international_phone)]


def each(codes: Iterable[str], rule: Rule) -> dict[str, Rule]:
    """``{code: rule}`` for every code: one rule for a group of purposes."""
    return dict.fromkeys(codes, rule)


class Address(RecordSchema):
    """A postal address (a nested part: each line is decided on its own).

    Street and postal code place a person at a door; city and country only
    in a region. Locating and the proceedings need the door; analysis the
    region; emergencies the door.
    """

    street: Annotated[
        _Text | None,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "service_of_documents": "disclose",
            },
        ),
    ] = None
    postal_code: Annotated[
        Annotated[str, Field(min_length=1, max_length=16)] | None,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "service_of_documents": "disclose",
            },
        ),
    ] = None
    city: Annotated[
        _Text,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "service_of_documents": "disclose",
                "intelligence_analysis": "disclose",
                "identify_victim": "disclose",
            },
        ),
    ]
    country: Annotated[
        _Country,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "service_of_documents": "disclose",
                "intelligence_analysis": "disclose",
                "identify_victim": "disclose",
                "border_control": "disclose",
            },
        ),
    ]


class SubscriberInformation(RecordSchema):
    """What a service provider holds about a subscriber (Budapest Art. 18(3)).

    Art. 18(3): the type of service and its period, the subscriber's
    identity, postal address, telephone and other access numbers, billing
    and payment information. Under the Second Additional Protocol (Art. 7)
    subscriber information can be requested directly from a provider, and
    the IP address used at registration is ``identification_only`` data.
    """

    schema_id: ClassVar[str] = "subscriber_information"
    title: ClassVar[str] = "Subscriber information"

    # The subscriber's name identifies the person: needed by every purpose that
    # acts on the person; analysis only links records (pseudonym).
    subscriber_name: Annotated[
        _Text,
        DataField(
            category="subscriber",
            subject="name_dob",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "identify_victim": "disclose",
                "service_of_documents": "disclose",
                "asset_tracing": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ]
    # Tells namesakes apart. Locating and analysis need the year only.
    date_of_birth: Annotated[
        date | None,
        DataField(
            category="subscriber",
            subject="name_dob",
            generalize=YEAR,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "identify_victim": "disclose",
                "locate_suspect": "generalize",
                "locate_missing_person": "generalize",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    postal_address: Address | None = None
    # Contact numbers find a person and link the traffic data of the case.
    phone_numbers: Annotated[
        tuple[_Phone, ...],
        DataField(
            category="subscriber",
            subject="phone",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "identify_victim": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = ()
    email: Annotated[
        Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")] | None,
        DataField(
            category="subscriber",
            subject="email",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "identify_victim": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None
    # The provider's account id links this answer to later requests (traffic,
    # content). Locating does not read it: a pseudonym still links.
    account_id: Annotated[
        _Text,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "locate_suspect": "pseudonymize",
                "intelligence_analysis": "pseudonymize",
                **each(EMERGENCY, "pseudonymize"),
            },
        ),
    ]
    # Type of service ("mobile prepaid", "webmail"): not about the person.
    service_type: Annotated[
        _Text,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "evidence_preservation": "disclose",
                "intelligence_analysis": "disclose",
                **each(EMERGENCY, "disclose"),
                "identify_victim": "disclose",
            },
        ),
    ]
    # The period of service shows whether the number is still in use; analysis
    # needs the month only.
    service_start: Annotated[
        date,
        DataField(
            category="subscriber",
            generalize=MONTH,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "evidence_preservation": "disclose",
                **each(EMERGENCY, "disclose"),
                "intelligence_analysis": "generalize",
            },
        ),
    ]
    service_end: Annotated[
        date | None,
        DataField(
            category="subscriber",
            generalize=MONTH,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "evidence_preservation": "disclose",
                **each(EMERGENCY, "disclose"),
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    # How the service is paid ("credit card", "cash top-up"): anonymous prepaid
    # service is an investigative fact; not needed to locate.
    payment_method: Annotated[
        _Text | None,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "intelligence_analysis": "disclose",
            },
        ),
    ] = None
    # The paying bank account leads to the money: proceedings and asset tracing.
    payment_account: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{8,40}$")] | None,
        DataField(
            category="subscriber",
            subject="iban",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None
    # Used only to identify who registered: precise for the proceedings and
    # locating (it may lead to a place); the /24 network for analysis.
    registration_ip: Annotated[
        IPvAnyAddress | None,
        DataField(
            category="identification_only",
            subject="ip",
            generalize=IpPrefix(),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    registration_time: Annotated[
        datetime | None,
        DataField(
            category="identification_only",
            generalize=DAY,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None


class TrafficRecords(RecordSchema):
    """One communication or session as the provider logged it (traffic data).

    Budapest Art. 1(d): origin, destination, route, time, date, size,
    duration, type of service. Under the Second Additional Protocol the
    source address with its time and port is often ``identification_only``
    data; here the whole record is ``traffic``.
    """

    schema_id: ClassVar[str] = "traffic_records"
    title: ClassVar[str] = "Traffic records"

    # Which account the record belongs to: links to the subscriber answer.
    account_id: Annotated[
        _Text,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "locate_suspect": "pseudonymize",
                "intelligence_analysis": "pseudonymize",
                **each(EMERGENCY, "pseudonymize"),
            },
        ),
    ]
    # The suspect's own address: precise to locate; the network for analysis.
    source_ip: Annotated[
        IPvAnyAddress,
        DataField(
            category="traffic",
            subject="ip",
            generalize=IpPrefix(),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ]
    source_port: Annotated[
        Annotated[int, Field(ge=0, le=65535)] | None,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "evidence_preservation": "disclose",
            },
        ),
    ] = None
    # Whom the suspect talked to is about third parties: not needed to locate
    # the suspect, and generalized for analysis.
    destination_ip: Annotated[
        IPvAnyAddress | None,
        DataField(
            category="traffic",
            generalize=IpPrefix(),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    destination_port: Annotated[
        Annotated[int, Field(ge=0, le=65535)] | None,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "disclose",
            },
        ),
    ] = None
    # A third party's number (a call or message): a pseudonym for analysis links
    # contacts without naming them.
    destination_number: Annotated[
        _Phone | None,
        DataField(
            category="traffic",
            subject="phone",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None
    service: Annotated[
        Literal["voice", "sms", "data", "email", "messaging", "other"],
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "disclose",
            },
        ),
    ]
    # When: precise to locate and for the proceedings; the day for analysis.
    started_at: Annotated[
        datetime,
        DataField(
            category="traffic",
            generalize=DAY,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ]
    duration_seconds: Annotated[
        Annotated[int, Field(ge=0)] | None,
        DataField(
            category="traffic",
            generalize=NumberBucket(),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    bytes_transferred: Annotated[
        Annotated[int, Field(ge=0)] | None,
        DataField(
            category="traffic",
            generalize=NumberBucket(),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    # The cell and its location say where the device was: exactly what locating
    # (and an emergency) needs; a 0.1 degree grid (about 11 km) for analysis.
    cell_id: Annotated[
        _Text | None,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "evidence_preservation": "disclose",
            },
        ),
    ] = None
    cell_location: Annotated[
        Coordinates | None,
        DataField(
            category="traffic",
            generalize=Grid(decimals=1),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                **each(EMERGENCY, "disclose"),
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    # Device identifiers link devices across records; not read to locate.
    imei: Annotated[
        Annotated[str, Field(pattern=r"^[0-9]{14,16}$")] | None,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "locate_suspect": "pseudonymize",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None
    imsi: Annotated[
        Annotated[str, Field(pattern=r"^[0-9]{6,15}$")] | None,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "evidence_preservation": "disclose",
                "locate_suspect": "pseudonymize",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None


class PersonOfInterest(RecordSchema):
    """A police record of a person of interest (a suspect), for cross-border requests."""

    schema_id: ClassVar[str] = "person_of_interest"
    title: ClassVar[str] = "Person of interest"

    # The name is how officers find and address the person; border checks match
    # it against documents. Analysis links people without naming them.
    full_name: Annotated[
        _Text,
        DataField(
            category="subscriber",
            subject="name_dob",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "border_control": "disclose",
                "service_of_documents": "disclose",
                "prevent_imminent_threat": "disclose",
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ]
    aliases: Annotated[
        tuple[_Text, ...],
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "border_control": "disclose",
                "prevent_imminent_threat": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = ()
    # The year tells namesakes apart when locating; documents are checked at the
    # border against the full date.
    date_of_birth: Annotated[
        date | None,
        DataField(
            category="subscriber",
            subject="name_dob",
            generalize=YEAR,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "border_control": "disclose",
                "service_of_documents": "disclose",
                "locate_suspect": "generalize",
                "prevent_imminent_threat": "generalize",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    nationality: Annotated[
        _Country | None,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "border_control": "disclose",
                "intelligence_analysis": "disclose",
            },
        ),
    ] = None
    # A document number is a strong identifier: checked at the border and in the
    # proceedings; a pseudonym links it when locating; not needed for analysis.
    passport_number: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z0-9]{5,20}$")] | None,
        DataField(
            category="subscriber",
            subject="passport",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "border_control": "disclose",
                "locate_suspect": "pseudonymize",
            },
        ),
    ] = None
    last_known_address: Address | None = None
    # Where and when the person was last seen: locating needs it precisely
    # (a coarser area would not find anyone); analysis the 0.1 degree grid.
    last_seen_location: Annotated[
        Coordinates | None,
        DataField(
            category="traffic",
            generalize=Grid(decimals=1),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "prevent_imminent_threat": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    last_seen_at: Annotated[
        datetime | None,
        DataField(
            category="traffic",
            generalize=DAY,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "prevent_imminent_threat": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    phone_numbers: Annotated[
        tuple[_Phone, ...],
        DataField(
            category="subscriber",
            subject="phone",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "prevent_imminent_threat": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = ()
    # A description without photograph (height, build, scars): officers must
    # recognise the person. Free text: never generalized.
    physical_description: Annotated[
        _LongText | None,
        DataField(
            category="content",
            free_text=True,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "border_control": "disclose",
                "prevent_imminent_threat": "disclose",
            },
        ),
    ] = None
    # Officer safety: a warning that the person may be armed or violent must
    # reach whoever approaches them.
    officer_safety_warning: Annotated[
        bool,
        DataField(
            category="content",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "border_control": "disclose",
                "prevent_imminent_threat": "disclose",
                "service_of_documents": "disclose",
            },
        ),
    ] = False
    # Criminal convictions (Art. 14(4)): for the proceedings only. Locating the
    # person does not need their history.
    criminal_record_summary: Annotated[
        _LongText | None,
        DataField(
            category="content",
            free_text=True,
            special_categories=("criminal_convictions",),
            purposes=each(PROCEEDINGS, "disclose"),
        ),
    ] = None
    # Health (Art. 14(4)): only when it matters for a life (medication, a
    # condition that endangers the person or others).
    health_notes: Annotated[
        _LongText | None,
        DataField(
            category="content",
            free_text=True,
            special_categories=("health",),
            purposes={"prevent_imminent_threat": "disclose"},
        ),
    ] = None
    # Ethnic origin (Art. 14(4)): no purpose of the vocabulary needs it.
    ethnic_origin_notes: Annotated[
        _LongText | None,
        DataField(
            category="content",
            free_text=True,
            special_categories=("racial_or_ethnic_origin",),
        ),
    ] = None


class FinancialTransaction(RecordSchema):
    """One payment, transfer or cash withdrawal (for tracing proceeds of crime)."""

    schema_id: ClassVar[str] = "financial_transaction"
    title: ClassVar[str] = "Financial transaction"

    transaction_id: Annotated[
        _Text,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "evidence_preservation": "disclose",
                "locate_suspect": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ]
    # The account the money left: the object of tracing and confiscation.
    account_iban: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{8,40}$")],
        DataField(
            category="subscriber",
            subject="iban",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "evidence_preservation": "disclose",
                "locate_suspect": "pseudonymize",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ]
    account_holder: Annotated[
        _Text,
        DataField(
            category="subscriber",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "locate_suspect": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ]
    # The other side may be an uninvolved third party: named for the
    # proceedings and tracing, linked by pseudonym in analysis, not needed to
    # locate the suspect.
    counterparty_iban: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{8,40}$")] | None,
        DataField(
            category="traffic",
            subject="iban",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None
    counterparty_name: Annotated[
        _Text | None,
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "intelligence_analysis": "pseudonymize",
            },
        ),
    ] = None
    # Amounts: exact for the proceedings and tracing; the order of magnitude for
    # analysis; not needed to locate.
    amount: Annotated[
        Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)],
        DataField(
            category="traffic",
            generalize=NumberBucket(),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ]
    currency: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z]{3}$")],
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "intelligence_analysis": "disclose",
            },
        ),
    ]
    channel: Annotated[
        Literal["transfer", "card_payment", "cash_withdrawal", "cash_deposit", "other"],
        DataField(
            category="traffic",
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "locate_suspect": "disclose",
                "intelligence_analysis": "disclose",
            },
        ),
    ]
    # A card payment or withdrawal places the card holder at a time and place:
    # precise to locate them, the day and a grid for analysis.
    executed_at: Annotated[
        datetime,
        DataField(
            category="traffic",
            generalize=DAY,
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "asset_tracing": "disclose",
                "confiscation": "disclose",
                "locate_suspect": "disclose",
                "evidence_preservation": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ]
    terminal_location: Annotated[
        Coordinates | None,
        DataField(
            category="traffic",
            generalize=Grid(decimals=1),
            purposes={
                **each(PROCEEDINGS, "disclose"),
                "locate_suspect": "disclose",
                "asset_tracing": "disclose",
                "intelligence_analysis": "generalize",
            },
        ),
    ] = None
    # The payment reference is free text written by the payer: it can say
    # anything about anyone. For the proceedings and tracing only.
    reference: Annotated[
        _LongText | None,
        DataField(
            category="content",
            free_text=True,
            purposes={**each(PROCEEDINGS, "disclose"), "asset_tracing": "disclose"},
        ),
    ] = None


#: The shipped schemas by ``schema_id``.
SCHEMAS: Final[Mapping[str, type[RecordSchema]]] = MappingProxyType(
    {
        schema.schema_id: schema
        for schema in (
            SubscriberInformation,
            TrafficRecords,
            PersonOfInterest,
            FinancialTransaction,
        )
        if schema.schema_id is not None
    }
)

_IMPORT_NAME: Final = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"
)


def schema_by_name(name: str) -> type[RecordSchema]:
    """The schema *name*: a shipped ``schema_id``, or ``package.module:ClassName``.

    A user's schema is imported (its module's code runs, as with any import)
    and must be a :class:`RecordSchema` subclass with a ``schema_id``.
    Anything else raises :class:`UsageError` saying what to fix.
    """
    if not isinstance(name, str):
        raise UsageError("a schema name must be text")
    if name in SCHEMAS:
        return SCHEMAS[name]
    shipped = ", ".join(sorted(SCHEMAS))
    if ":" not in name:
        raise UsageError(
            f"unknown schema {name[:64]!r}",
            hint=f"use a shipped schema ({shipped}) or your own as package.module:ClassName",
        )
    if _IMPORT_NAME.fullmatch(name) is None:
        raise UsageError(
            f"{name[:100]!r} is not of the form package.module:ClassName",
            hint="for example my_agency.schemas:VehicleRecord",
        )
    module_name, class_name = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(
            f"cannot import the schema module {module_name!r}: {exc}",
            hint="install the package, or add its directory to PYTHONPATH",
        ) from None
    except UsageError:
        raise  # a schema in the module has a wrong annotation: the message names it
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise UsageError(
            f"importing the schema module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    schema = getattr(module, class_name, None)
    if schema is None:
        raise UsageError(f"the module {module_name!r} has no {class_name!r}")
    if not (isinstance(schema, type) and issubclass(schema, RecordSchema)):
        raise UsageError(
            f"{name} is not a record schema (a subclass of safeshare.privacy.schema.RecordSchema)"
        )
    if not schema.schema_id:
        raise UsageError(
            f"{name} has no schema_id: only a whole record schema can be planned",
            hint="set schema_id: ClassVar[str] = '...' in the class",
        )
    return schema
