"""Generalizations: coarser values that still serve the purpose (``specs/safeshare-v1.md`` section 12.5).

A field whose action is ``generalize`` is disclosed as a coarser value in
place of the original; the original never leaves the sender. Each
generalization is a small frozen value object (so schemas can declare it in
a type annotation) with three parts:

* :attr:`Generalization.label`: a short name for plans and explanations
  (``"year"``, ``"ipv4/24,ipv6/48"``, ``"grid/0.1deg"``, ``"magnitude"``);
* :meth:`Generalization.fits`: whether it applies to a kind of value
  (:data:`ValueKind`, derived from the field's type by the schema);
* :meth:`Generalization.apply`: the coarser JSON value of one value.

The generalizations:

* :class:`DatePrecision` -- a date or date-time to its ``year`` (``"1984"``) or
  ``month`` (``"1984-07"``); a date-time also to its ``day`` (``"1984-07-15"``).
  Text is an RFC 3339 ``full-date`` or ``date-time`` (or a date-time without
  an offset), see :data:`RFC3339`. Aware date-times are converted to UTC
  first, naive ones are taken as they are.
* :class:`IpPrefix` -- an IP address to the network that contains it, as CIDR
  text: IPv4 to ``/24`` and IPv6 to ``/48`` by default
  (``"203.0.113.0/24"``, ``"2001:db8:1::/48"``). An IPv4-mapped IPv6 address
  is treated as the IPv4 address it maps, and an IPv6 zone index
  (``%eth0``) is dropped (:func:`parse_ip_address`).
* :class:`Grid` -- coordinates ``(latitude, longitude)`` rounded to a grid of
  *decimals* decimal degrees (1 decimal: about 11 km north-south).
* :class:`NamedAreas` -- coordinates to the name of the first listed area
  (a latitude/longitude box) that contains them, else a fixed text.
* :class:`NumberBucket` -- a number to a range: by order of magnitude
  (``"1000-9999"``) or to buckets of a fixed width (``"1500-1999"``).

Free text has no generalization: a text can hide a name, a number or a
health condition anywhere in it, and no mechanical coarsening removes them.
A field declared as free text whose action is ``generalize`` is *withheld*
by the plan instead, and the plan says so (``safeshare.privacy.plan``).

Security properties: every output is computed from the value alone (no
randomness, no secret), is never more precise than the original, and for the
same input is always the same (so a recipient can compare generalized values
across records, and learns nothing more than the coarse value). Error
messages never quote the value being generalized (it may be a value that
must not leave the sender); they say what was expected.

Errors: a generalization configured wrongly (a prefix length out of range,
an unknown date unit, an empty area list) raises
:class:`~safeshare.errors.UsageError` when it is constructed; a value that is
not of the kind expected raises :class:`~safeshare.errors.MalformedInputError`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias, get_args

from safeshare.errors import MalformedInputError, UsageError

__all__ = [
    "DAY",
    "MONTH",
    "NUMBER_TEXT",
    "RFC3339",
    "VALUE_KINDS",
    "YEAR",
    "DatePrecision",
    "DateUnit",
    "Generalization",
    "Grid",
    "IpPrefix",
    "NamedAreas",
    "NumberBucket",
    "ValueKind",
    "parse_ip_address",
]

ValueKind: TypeAlias = Literal[
    "text", "date", "datetime", "ip", "number", "coordinates", "bool", "model", "other"
]
"""What a field holds, as far as minimization cares (derived from its type by the schema).

``text``: ``str`` (or a ``Literal`` of strings); ``date``: :class:`datetime.date`;
``datetime``: :class:`datetime.datetime`; ``ip``: an IP address type;
``number``: ``int``, ``float`` or :class:`~decimal.Decimal`; ``coordinates``:
:data:`safeshare.privacy.schema.Coordinates`; ``bool``; ``model``: a nested
record; ``other``: anything else (disclosed, withheld or pseudonymized whole).
"""
VALUE_KINDS: Final[tuple[ValueKind, ...]] = get_args(ValueKind)

DateUnit: TypeAlias = Literal["year", "month", "day"]
_DATE_UNITS: Final[tuple[DateUnit, ...]] = get_args(DateUnit)

#: Most decimals of a :class:`Grid`: 5 decimals is about 1 m, already no generalization.
_MAX_GRID_DECIMALS: Final = 4
_MAX_AREAS: Final = 10_000
_MAX_AREA_NAME: Final = 200


class Generalization(ABC):
    """A way to make a value coarser. Subclasses are frozen dataclasses."""

    __slots__ = ()

    @property
    @abstractmethod
    def label(self) -> str:
        """A short name for plans and explanations, e.g. ``"year"``."""

    @abstractmethod
    def fits(self, kind: ValueKind) -> bool:
        """Whether this generalization applies to values of *kind*."""

    @abstractmethod
    def apply(self, value: Any) -> Any:
        """The coarser JSON value of *value* (one value; lists are mapped by the plan)."""

    @property
    def expects(self) -> str:
        """What kind of value it takes, in words (for error messages)."""
        return "a value"


# -- dates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DatePrecision(Generalization):
    """A date or date-time cut to its year, month, or (date-times only) day.

    Output: ``"YYYY"``, ``"YYYY-MM"`` or ``"YYYY-MM-DD"`` (ISO 8601 reduced
    precision). Text must match :data:`RFC3339` (an RFC 3339 ``full-date`` or
    ``date-time``, or a date-time without an offset, taken as it is);
    :class:`date` and :class:`datetime` objects are accepted too. A date-time
    with an offset is converted to UTC first, its leap second ``60`` read as
    ``59``; one that is outside the years 0001-9999 in UTC is malformed.
    """

    unit: DateUnit

    def __post_init__(self) -> None:
        if self.unit not in _DATE_UNITS:
            raise UsageError(
                f"unknown date precision {self.unit!r}; use one of: {', '.join(_DATE_UNITS)}"
            )

    @property
    def label(self) -> str:
        return self.unit

    @property
    def expects(self) -> str:
        return "a date-time" if self.unit == "day" else "a date or date-time"

    def fits(self, kind: ValueKind) -> bool:
        # A date cut to its day is the whole date: no generalization at all.
        return kind == "datetime" if self.unit == "day" else kind in ("date", "datetime")

    def apply(self, value: Any) -> str:
        moment = _as_date(value)
        if isinstance(moment, datetime) and moment.utcoffset() is not None:
            try:
                moment = moment.astimezone(UTC)
            except (OverflowError, ValueError):
                raise MalformedInputError(
                    "the date-time is outside the years 0001-9999 once converted to UTC"
                ) from None
        if self.unit == "year":
            return f"{moment.year:04d}"
        if self.unit == "month":
            return f"{moment.year:04d}-{moment.month:02d}"
        if not isinstance(moment, datetime):
            raise MalformedInputError(
                "a date cannot be generalized to its day (that is the whole date); "
                "use the year or the month"
            )
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


#: A date or date-time to its year (``"1984"``).
YEAR: Final = DatePrecision("year")
#: A date or date-time to its month (``"1984-07"``).
MONTH: Final = DatePrecision("month")
#: A date-time to its day (``"1984-07-15"``).
DAY: Final = DatePrecision("day")


#: The date and date-time text :class:`DatePrecision` takes: RFC 3339 section 5.6
#: ``full-date`` or ``date-time`` (``T`` and ``Z`` in either case, any number of
#: fractional-second digits, second ``60`` for a leap second), and a date-time
#: without the offset. ASCII digits only; the ranges are checked after the match.
RFC3339: Final = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]+)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))?)?"
)


def _as_date(value: Any) -> date:
    if isinstance(value, date):  # datetime is a subclass of date
        return value
    match = RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        try:
            return _from_rfc3339(match)
        except (ValueError, OverflowError):
            pass
    raise MalformedInputError(
        "the value is not a date or date-time; give an RFC 3339 date (1984-07-15) or "
        "date-time (1984-07-15T10:30:00Z), years 0001-9999"
    )


def _from_rfc3339(match: re.Match[str]) -> date:
    """The date or date-time of an :data:`RFC3339` match; ValueError if a field is out of range."""
    day = date(int(match["year"]), int(match["month"]), int(match["day"]))  # year 0: ValueError
    if match["hour"] is None:
        return day
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError("time out of range")
    zone = None
    if match["utc"] is not None:
        zone = UTC
    elif match["sign"] is not None:
        off_hour, off_minute = int(match["off_hour"]), int(match["off_minute"])
        if off_hour > 23 or off_minute > 59:
            raise ValueError("offset out of range")
        offset = timedelta(hours=off_hour, minutes=off_minute)
        zone = timezone(-offset if match["sign"] == "-" else offset)
    # A leap second (60) is read as 59: the same year, month and day in every case.
    return datetime(day.year, day.month, day.day, hour, minute, min(second, 59), tzinfo=zone)


# -- IP addresses --------------------------------------------------------------------


@dataclass(frozen=True)
class IpPrefix(Generalization):
    """An IP address to the network prefix that contains it, as CIDR text.

    IPv4 addresses keep *ipv4* bits (default 24: ``203.0.113.77`` becomes
    ``203.0.113.0/24``), IPv6 addresses keep *ipv6* bits (default 48, a
    typical site allocation). A zone index (``%eth0``) is dropped.
    """

    ipv4: int = 24
    ipv6: int = 48

    def __post_init__(self) -> None:
        for name, value, top in (("ipv4", self.ipv4, 31), ("ipv6", self.ipv6, 127)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise UsageError(
                    f"the {name} prefix length must be a whole number from 0 to {top} "
                    f"(a /{top + 1} keeps the whole address)"
                )

    @property
    def label(self) -> str:
        return f"ipv4/{self.ipv4},ipv6/{self.ipv6}"

    @property
    def expects(self) -> str:
        return "an IP address"

    def fits(self, kind: ValueKind) -> bool:
        return kind in ("ip", "text")

    def apply(self, value: Any) -> str:
        address = _as_ip(value)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if isinstance(address, ipaddress.IPv4Address):
            return str(ipaddress.IPv4Network((int(address), self.ipv4), strict=False))
        return str(ipaddress.IPv6Network((int(address), self.ipv6), strict=False))


#: An IPv6 zone index (RFC 4007 section 11) after ``%``: the characters RFC 6874 allows
#: unencoded in a URI's zone (RFC 3986 ``unreserved``).
_ZONE: Final = re.compile(r"[A-Za-z0-9._~-]+")


def parse_ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address of *text* without its zone index; :class:`ValueError` if it is none.

    *text* is an IPv4 address in dotted decimal (no leading zeros) or an IPv6
    address in RFC 4291 section 2.2 text form; an IPv6 address may end in
    ``%`` and a zone index of 1 or more of ``A-Z a-z 0-9 - . _ ~`` (RFC 4007
    section 11, RFC 6874), which is dropped: ``fe80::1%eth0`` is ``fe80::1``.
    No white space, no prefix length. Used by :class:`IpPrefix` and the blind
    index (:mod:`safeshare.privacy.blind_index`), so both read one address alike.
    """
    address_text, percent, zone = text.partition("%")
    if percent and _ZONE.fullmatch(zone) is None:
        raise ValueError("not a zone index")
    address = ipaddress.ip_address(address_text)
    if percent and not isinstance(address, ipaddress.IPv6Address):
        raise ValueError("a zone index belongs to an IPv6 address only")
    return address


def _as_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    if isinstance(value, str) and len(value) <= 100:
        try:
            return parse_ip_address(value)
        except ValueError:
            pass
    raise MalformedInputError(
        "the value is not an IP address; give an IPv4 (203.0.113.7) or IPv6 (2001:db8::7) address"
    )


# -- coordinates ---------------------------------------------------------------------


def _as_coordinates(value: Any) -> tuple[float, float]:
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str | bytes)
        and len(value) == 2
        and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in value)
    ):
        lat, lon = float(value[0]), float(value[1])
        if math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    raise MalformedInputError(
        "the value is not a pair of coordinates; give [latitude, longitude] in decimal "
        "degrees, latitude from -90 to 90 and longitude from -180 to 180"
    )


@dataclass(frozen=True)
class Grid(Generalization):
    """Coordinates rounded to a grid of *decimals* decimal degrees.

    One decimal is about 11 km north-south (less east-west away from the
    equator), two about 1.1 km; 0 to 4 decimals are accepted (5 would be
    about 1 m: no generalization). Output: ``[latitude, longitude]``.
    """

    decimals: int = 1

    def __post_init__(self) -> None:
        d = self.decimals
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= _MAX_GRID_DECIMALS:
            raise UsageError(
                f"a grid has 0 to {_MAX_GRID_DECIMALS} decimals (1 decimal is about 11 km)"
            )

    @property
    def label(self) -> str:
        step = "1" if self.decimals == 0 else "0." + "0" * (self.decimals - 1) + "1"
        return f"grid/{step}deg"

    @property
    def expects(self) -> str:
        return "coordinates"

    def fits(self, kind: ValueKind) -> bool:
        return kind == "coordinates"

    def apply(self, value: Any) -> list[float]:
        lat, lon = _as_coordinates(value)
        # round() of a float can land on -0.0; normalise it so that equal cells print equally.
        return [round(lat, self.decimals) + 0.0, round(lon, self.decimals) + 0.0]


_AREA_NAME: Final = re.compile(r"\S(?:.*\S)?")


@dataclass(frozen=True)
class NamedAreas(Generalization):
    """Coordinates to the name of the first area that contains them.

    *areas* lists ``(name, (south, west, north, east))`` boxes in decimal
    degrees, checked in order (list small areas before the larger ones that
    contain them); a point in none of them becomes *otherwise*. Boxes that
    cross the antimeridian are not supported: split them in two.
    """

    areas: tuple[tuple[str, tuple[float, float, float, float]], ...]
    otherwise: str = "outside the listed areas"

    def __post_init__(self) -> None:
        if not isinstance(self.areas, tuple) or not 1 <= len(self.areas) <= _MAX_AREAS:
            raise UsageError(f"NamedAreas needs a tuple of 1 to {_MAX_AREAS} areas")
        for position, area in enumerate(self.areas, start=1):
            if not (isinstance(area, tuple) and len(area) == 2):
                raise UsageError(f"area #{position} must be (name, (south, west, north, east))")
            name, box = area
            _check_area_name(name, f"area #{position}")
            if not (
                isinstance(box, tuple)
                and len(box) == 4
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
            ):
                raise UsageError(
                    f"area {name!r}: the box must be four numbers (south, west, north, east)"
                )
            south, west, north, east = box
            if not (-90 <= south <= north <= 90 and -180 <= west <= east <= 180):
                raise UsageError(
                    f"area {name!r}: the box must have -90 <= south <= north <= 90 and "
                    "-180 <= west <= east <= 180 (split a box that crosses the antimeridian)"
                )
        _check_area_name(self.otherwise, "otherwise")

    @property
    def label(self) -> str:
        return "area"

    @property
    def expects(self) -> str:
        return "coordinates"

    def fits(self, kind: ValueKind) -> bool:
        return kind == "coordinates"

    def apply(self, value: Any) -> str:
        lat, lon = _as_coordinates(value)
        for name, (south, west, north, east) in self.areas:
            if south <= lat <= north and west <= lon <= east:
                return name
        return self.otherwise


def _check_area_name(name: object, what: str) -> None:
    if (
        not isinstance(name, str)
        or len(name) > _MAX_AREA_NAME
        or _AREA_NAME.fullmatch(name) is None
        or not name.isprintable()
    ):
        raise UsageError(
            f"{what}: an area name is 1 to {_MAX_AREA_NAME} printable characters, "
            "not starting or ending with a space"
        )


# -- numbers -------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberBucket(Generalization):
    """A number to the range it falls in.

    Without *width*, by order of magnitude of its integer part: 0 to 9
    ``"0-9"``, 1234 ``"1000-9999"``, -250 ``"-(100-999)"``. With *width*,
    to buckets of that many units starting at multiples of it: width 500
    makes 1234 ``"1000-1499"``, -20 ``"-500 to -1"``. Integers are written
    as inclusive ranges; fractional values (float, Decimal) as half-open
    ones (``"1000 to <1500"``, 1234.5 ``"1000 to <10000"``), since 1499.5 is
    in the bucket too.

    A number is an ``int``, a finite ``float`` or ``Decimal``, or text that
    matches :data:`NUMBER_TEXT` (ASCII only): an integer if it has neither a
    fraction nor an exponent, else a fractional value. Its magnitude must not
    exceed the largest finite binary64 number (about 1.8e308); anything else
    is malformed.
    """

    width: int | None = None

    def __post_init__(self) -> None:
        w = self.width
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 2):
            raise UsageError("a bucket width must be a whole number of at least 2, or None")

    @property
    def label(self) -> str:
        return "magnitude" if self.width is None else f"bucket/{self.width}"

    @property
    def expects(self) -> str:
        return "a number"

    def fits(self, kind: ValueKind) -> bool:
        return kind == "number"

    def apply(self, value: Any) -> str:
        number = _as_number(value)
        whole = isinstance(number, int)
        if self.width is None:
            magnitude = abs(int(number))  # the integer part: int() truncates toward zero
            digits = len(str(magnitude))
            low = 0 if digits == 1 else 10 ** (digits - 1)
            high = 10**digits
            text = _range(low, high, whole=whole)
            return f"-({text})" if number < 0 else text
        # floor(x / w) == floor(x) // w for a whole w > 0: exact for every number.
        low = math.floor(number) // self.width * self.width
        return _range(low, low + self.width, whole=whole)


def _range(low: int, end: int, *, whole: bool) -> str:
    """The range [low, end): inclusive for integers, half-open for fractions."""
    if whole:
        return f"{low}-{end - 1}" if low >= 0 else f"{low} to {end - 1}"
    return f"{low} to <{end}"


#: A number as text: an optional ``-``, ASCII digits, an optional fraction and exponent
#: (the JSON number grammar, RFC 8259 section 6, with leading zeros allowed and no ``+``).
NUMBER_TEXT: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INTEGER_TEXT: Final = re.compile(r"-?[0-9]+")
#: The largest magnitude accepted: the largest finite IEEE 754 binary64 number.
_MAX_NUMBER: Final = Decimal(sys.float_info.max)
_MAX_INTEGER: Final = int(sys.float_info.max)


def _as_number(value: Any) -> int | float | Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) <= _MAX_INTEGER:
            return value
    elif isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, Decimal):
        if value.is_finite() and value.copy_abs() <= _MAX_NUMBER:
            return value
    elif isinstance(value, str) and NUMBER_TEXT.fullmatch(value) is not None:
        try:
            number = Decimal(value)
        except ArithmeticError:  # an exponent beyond what Decimal holds
            number = Decimal("Infinity")
        if number.copy_abs() <= _MAX_NUMBER:
            return int(number) if _INTEGER_TEXT.fullmatch(value) else number
    raise MalformedInputError(
        "the value is not a finite number; give a number or its digits such as 1234.56 "
        "(ASCII, optionally with an exponent such as 1.5e3)"
    )
