"""Generalizations: dates, IP prefixes, coordinates, numbers (specs/safeshare-v1.md section 12.5)."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare.errors import MalformedInputError, UsageError
from safeshare.privacy.generalize import (
    DAY,
    MONTH,
    VALUE_KINDS,
    YEAR,
    DatePrecision,
    Generalization,
    Grid,
    IpPrefix,
    NamedAreas,
    NumberBucket,
    parse_ip_address,
)

# -- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generalization", "value", "expected"),
    [
        (YEAR, date(1990, 4, 12), "1990"),
        (MONTH, date(1990, 4, 12), "1990-04"),
        (YEAR, datetime(2026, 11, 28, 21, 15, tzinfo=UTC), "2026"),
        (MONTH, datetime(2026, 11, 28, 21, 15, tzinfo=UTC), "2026-11"),
        (DAY, datetime(2026, 11, 28, 21, 15, tzinfo=UTC), "2026-11-28"),
        (YEAR, date(33, 1, 2), "0033"),
        (YEAR, "1990-04-12", "1990"),
        (DAY, "2026-11-28T21:15:00Z", "2026-11-28"),
        (DAY, "2026-11-28T21:15:00", "2026-11-28"),
    ],
)
def test_dates_are_cut_to_their_unit(
    generalization: DatePrecision, value: Any, expected: str
) -> None:
    assert generalization.apply(value) == expected


def test_aware_datetimes_are_generalized_in_utc() -> None:
    # 00:30 on 1 January at UTC+2 is still 31 December in UTC.
    local = datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert DAY.apply(local) == "2025-12-31"
    assert YEAR.apply(local) == "2025"
    assert MONTH.apply(local) == "2025-12"


def test_naive_datetimes_are_taken_as_they_are() -> None:
    assert DAY.apply(datetime(2026, 1, 1, 0, 30)) == "2026-01-01"


def test_a_date_cannot_be_cut_to_its_day() -> None:
    assert not DAY.fits("date")
    assert DAY.fits("datetime")
    with pytest.raises(MalformedInputError, match="whole date"):
        DAY.apply(date(1990, 4, 12))


@pytest.mark.parametrize("value", ["12/04/1990", "1990-13-01", "", 19900412, None, "x" * 100])
def test_a_value_that_is_not_a_date_is_malformed_and_not_quoted(value: object) -> None:
    with pytest.raises(MalformedInputError, match="not a date") as info:
        YEAR.apply(value)
    if isinstance(value, str) and value:
        assert value not in info.value.message


@pytest.mark.parametrize(
    ("generalization", "value", "expected"),
    [
        (DAY, "2026-11-28t21:15:00z", "2026-11-28"),  # RFC 3339 section 5.6, NOTE
        (DAY, "2026-11-28T21:15:00.123456789012+01:00", "2026-11-28"),
        (DAY, "2026-11-28T23:30:00-00:00", "2026-11-28"),  # unknown local offset: UTC
        (YEAR, "1990-12-31T23:59:60Z", "1990"),  # a leap second, read as 23:59:59
        (DAY, "1990-12-31T15:59:60-08:00", "1990-12-31"),  # RFC 3339 section 5.8
        (DAY, "1990-12-31T23:59:60.5", "1990-12-31"),
        (MONTH, "2026-11-30T23:59:60-01:00", "2026-12"),
        (YEAR, "9999-12-31T23:59:59Z", "9999"),
        (YEAR, "0001-01-01T00:00:00+00:00", "0001"),
        (YEAR, "9999-12-31", "9999"),
    ],
)
def test_rfc3339_text(generalization: DatePrecision, value: str, expected: str) -> None:
    assert generalization.apply(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28 21:15:00Z",  # a space: not RFC 3339's 'T'
        "2026-11-28T21:15Z",  # no seconds
        "2026-11-28T21:15:00.Z",
        "2026-11-28T21:15:00+0100",
        "2026-11-28T21:15:00+01",
        "2026-11-28T21:15:00+24:00",
        "2026-11-28T21:15:00+01:60",
        "2026-11-28T24:00:00Z",
        "2026-11-28T23:60:00Z",
        "2026-11-28T23:59:61Z",
        "2026-11-28T21:15:00Z+01:00",
        "20261128",  # ISO 8601 basic format, which date.fromisoformat takes
        "2026-W48-6",  # an ISO 8601 week date, ditto
        "2026-332",  # an ordinal date
        "+2026-11-28",
        "0000-01-01",
        "2026-11-28\n",
        " 2026-11-28",
        "\uff12\uff10\uff12\uff16-11-28",  # fullwidth digits
        "\u0662\u0660\u0662\u0666-11-28",  # Arabic-Indic digits
        "2026-02-29",
    ],
)
def test_text_that_is_not_rfc3339_is_malformed(value: str) -> None:
    for generalization in (YEAR, MONTH, DAY):
        with pytest.raises(MalformedInputError, match="not a date") as info:
            generalization.apply(value)
        assert value.strip() not in info.value.message


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:30:00-01:00",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:59:60-00:01",
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_date_times_outside_the_calendar_in_utc_are_malformed(value: Any) -> None:
    for generalization in (YEAR, MONTH, DAY):
        with pytest.raises(MalformedInputError, match="outside the years 0001-9999") as info:
            generalization.apply(value)
        assert str(value) not in info.value.message


OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=OFFSETS | st.none()), st.sampled_from([YEAR, MONTH, DAY]))
def test_text_and_objects_are_generalized_alike(moment: datetime, unit: DatePrecision) -> None:
    """The RFC 3339 text of a date-time (isoformat) and the object give one answer."""
    try:
        expected = unit.apply(moment)
    except MalformedInputError:
        with pytest.raises(MalformedInputError):
            unit.apply(moment.isoformat())
        return
    assert unit.apply(moment.isoformat()) == expected


def test_an_unknown_date_unit_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown date precision 'week'"):
        DatePrecision("week")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", VALUE_KINDS)
def test_date_precisions_fit_only_dates(kind: str) -> None:
    assert YEAR.fits(kind) == (kind in ("date", "datetime"))  # type: ignore[arg-type]
    assert MONTH.fits(kind) == (kind in ("date", "datetime"))  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.dates())
def test_a_generalized_date_is_a_prefix_of_the_date(value: date) -> None:
    assert value.isoformat().startswith(YEAR.apply(value))
    assert value.isoformat().startswith(MONTH.apply(value))
    assert len(MONTH.apply(value)) < len(value.isoformat())


# -- IP addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generalization", "value", "expected"),
    [
        (IpPrefix(), "203.0.113.77", "203.0.113.0/24"),
        (IpPrefix(), ipaddress.ip_address("203.0.113.77"), "203.0.113.0/24"),
        (IpPrefix(ipv4=16), "203.0.113.77", "203.0.0.0/16"),
        (IpPrefix(ipv4=0), "203.0.113.77", "0.0.0.0/0"),
        (IpPrefix(), "2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"),
        (IpPrefix(ipv6=32), "2001:db8:1:2::6", "2001:db8::/32"),
        (IpPrefix(), "fe80::1%eth0", "fe80::/48"),
        (IpPrefix(), "::ffff:198.51.100.9", "198.51.100.0/24"),
    ],
)
def test_ip_addresses_become_their_network(
    generalization: IpPrefix, value: Any, expected: str
) -> None:
    assert generalization.apply(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fe80::1%eth0", "fe80::1"),
        ("fe80::1%3", "fe80::1"),
        ("FE80::1%br-lan.10_a~", "fe80::1"),
        ("::ffff:198.51.100.9%eth0", "::ffff:c633:6409"),
        ("2001:db8::1", "2001:db8::1"),
        ("198.51.100.9", "198.51.100.9"),
    ],
)
def test_a_zone_index_is_dropped(text: str, expected: str) -> None:
    address = parse_ip_address(text)
    assert str(address) == expected
    assert getattr(address, "scope_id", None) is None


@pytest.mark.parametrize(
    "text",
    [
        "198.51.100.9%eth0",  # a zone index belongs to IPv6 only
        "fe80::1%",
        "fe80::1%eth 0",
        "fe80::1%eth0%1",
        "fe80::1%eth/0",
        "fe80::1%\u00e9",
        "%eth0",
        " fe80::1",
        "fe80::1/64",
    ],
)
def test_what_is_not_an_address_with_a_zone_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - ipaddress's and our own
        parse_ip_address(text)
    with pytest.raises(MalformedInputError, match="not an IP address") as info:
        IpPrefix().apply(text)
    assert text.strip() not in info.value.message


def test_the_ip_label_names_both_prefix_lengths() -> None:
    assert IpPrefix().label == "ipv4/24,ipv6/48"
    assert IpPrefix(ipv4=20, ipv6=56).label == "ipv4/20,ipv6/56"


@pytest.mark.parametrize(
    "kwargs", [{"ipv4": 32}, {"ipv4": -1}, {"ipv6": 128}, {"ipv4": True}, {"ipv6": 4.0}]
)
def test_a_prefix_length_that_keeps_the_address_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="prefix length"):
        IpPrefix(**kwargs)


@pytest.mark.parametrize("value", ["10.0.0", "not an address", 3405803853, None, "1.2.3.4/24"])
def test_a_value_that_is_not_an_ip_address_is_malformed(value: object) -> None:
    with pytest.raises(MalformedInputError, match="not an IP address") as info:
        IpPrefix().apply(value)
    if isinstance(value, str):
        assert value not in info.value.message


def test_ip_prefix_fits_ip_and_text_fields() -> None:
    assert {k for k in VALUE_KINDS if IpPrefix().fits(k)} == {"ip", "text"}


@settings(max_examples=100, deadline=None)
@given(st.ip_addresses(v=4))
def test_a_generalized_ipv4_network_contains_the_address(address: ipaddress.IPv4Address) -> None:
    network = ipaddress.ip_network(IpPrefix().apply(address))
    assert address in network
    assert network.prefixlen == 24


# -- coordinates -----------------------------------------------------------------------


def test_coordinates_are_rounded_to_the_grid() -> None:
    assert Grid().apply((48.2082, 16.3738)) == [48.2, 16.4]
    assert Grid(decimals=2).apply([48.2082, 16.3738]) == [48.21, 16.37]
    assert Grid(decimals=0).apply([48.6, -16.3738]) == [49.0, -16.0]
    assert Grid().apply([-0.04, 0.0]) == [0.0, 0.0]
    assert math.copysign(1.0, Grid().apply([-0.04, 0.0])[0]) == 1.0  # no "-0.0"


def test_grid_labels_say_the_step() -> None:
    assert Grid().label == "grid/0.1deg"
    assert Grid(decimals=0).label == "grid/1deg"
    assert Grid(decimals=3).label == "grid/0.001deg"


@pytest.mark.parametrize("decimals", [-1, 5, True, 1.0])
def test_a_grid_finer_than_4_decimals_is_refused(decimals: Any) -> None:
    with pytest.raises(UsageError, match="0 to 4 decimals"):
        Grid(decimals=decimals)


@pytest.mark.parametrize(
    "value",
    [
        [91.0, 0.0],
        [0.0, 180.5],
        [float("nan"), 0.0],
        [0.0, float("inf")],
        [1.0],
        [1.0, 2.0, 3.0],
        [True, 2.0],
        "48.2,16.3",
        None,
    ],
)
def test_values_that_are_not_coordinates_are_malformed(value: object) -> None:
    with pytest.raises(MalformedInputError, match="not a pair of coordinates"):
        Grid().apply(value)
    with pytest.raises(MalformedInputError, match="not a pair of coordinates"):
        AREAS.apply(value)


AREAS = NamedAreas(
    areas=(
        ("Vienna (city)", (48.11, 16.18, 48.33, 16.58)),
        ("Austria", (46.37, 9.53, 49.02, 17.16)),
    ),
    otherwise="outside Austria",
)


def test_named_areas_give_the_first_area_that_contains_the_point() -> None:
    assert AREAS.apply([48.2082, 16.3738]) == "Vienna (city)"
    assert AREAS.apply([47.07, 15.44]) == "Austria"  # Graz
    assert AREAS.apply([52.52, 13.40]) == "outside Austria"  # Berlin
    assert AREAS.label == "area"
    assert AREAS.fits("coordinates")
    assert not AREAS.fits("text")


@pytest.mark.parametrize(
    ("areas", "otherwise", "message"),
    [
        ((), "other", "1 to 10000 areas"),
        ([("A", (0.0, 0.0, 1.0, 1.0))], "other", "1 to 10000 areas"),
        ((("A", (1.0, 0.0, 0.0, 1.0)),), "other", "south <= north"),
        ((("A", (0.0, 10.0, 1.0, -10.0)),), "other", "antimeridian"),
        ((("A", (0.0, 0.0, 1.0)),), "other", "four numbers"),
        ((("A", (0.0, 0.0, 1.0, True)),), "other", "four numbers"),
        ((("", (0.0, 0.0, 1.0, 1.0)),), "other", "area #1"),
        ((("A", (0.0, 0.0, 1.0, 1.0)),), " padded ", "otherwise"),
        ((("A",),), "other", "must be \\(name"),
    ],
)
def test_badly_configured_areas_are_refused(areas: Any, otherwise: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        NamedAreas(areas=areas, otherwise=otherwise)


# -- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0-9"),
        (7, "0-9"),
        (10, "10-99"),
        (1234, "1000-9999"),
        (9999, "1000-9999"),
        (10000, "10000-99999"),
        (-250, "-(100-999)"),
        (1234.5, "1000 to <10000"),
        (Decimal("1234.56"), "1000 to <10000"),
        (Decimal("0.5"), "0 to <10"),
        ("1234", "1000-9999"),
        ("1234.56", "1000 to <10000"),
        ("-0", "0-9"),
        ("007", "0-9"),
        ("1e3", "1000 to <10000"),  # an exponent: a fractional number, as JSON parsers read it
        ("1.5E+3", "1000 to <10000"),
        ("-2.5e-1", "-(0 to <10)"),
        ("1e-999999999", "0 to <10"),
        (10**308, "1" + "0" * 308 + "-" + "9" * 309),
    ],
)
def test_magnitude_buckets(value: Any, expected: str) -> None:
    assert NumberBucket().apply(value) == expected


@pytest.mark.parametrize(
    ("width", "value", "expected"),
    [
        (500, 1234, "1000-1499"),
        (500, 1500, "1500-1999"),
        (500, 0, "0-499"),
        (500, -20, "-500 to -1"),
        (500, 1234.5, "1000 to <1500"),
        (500, Decimal("-0.5"), "-500 to <0"),
        (10, 99, "90-99"),
        (500, "1E3", "1000 to <1500"),
        (500, "-1e-400", "-500 to <0"),
        # exact: 28-digit Decimal division would round this up to 1 and give [500, 1000)
        (500, Decimal("499.99999999999999999999999999999999"), "0 to <500"),
        (500, "-499.99999999999999999999999999999999", "-500 to <0"),
    ],
)
def test_fixed_width_buckets(width: int, value: Any, expected: str) -> None:
    assert NumberBucket(width=width).apply(value) == expected


def test_number_bucket_labels() -> None:
    assert NumberBucket().label == "magnitude"
    assert NumberBucket(width=1000).label == "bucket/1000"


@pytest.mark.parametrize("width", [0, 1, -5, True, 2.5])
def test_a_bucket_width_below_2_is_refused(width: Any) -> None:
    with pytest.raises(UsageError, match="width"):
        NumberBucket(width=width)


@pytest.mark.parametrize(
    "value", [True, float("nan"), float("inf"), Decimal("NaN"), "12a", "", None, [1]]
)
def test_values_that_are_not_finite_numbers_are_malformed(value: object) -> None:
    with pytest.raises(MalformedInputError, match="not a finite number"):
        NumberBucket().apply(value)


@pytest.mark.parametrize(
    "value",
    [
        "+1500",
        " 1500",
        "1500 ",
        "1_500",
        "\u0661\u0665\u0660\u0660",  # Arabic-Indic digits, which Decimal() takes
        "\uff11\uff15\uff10\uff10",  # fullwidth digits
        "1500.",
        ".5",
        "0x5dc",
        "1e",
        "1e+",
        "--1",
        "1.5.2",
        "Infinity",
        "-inf",
        "sNaN",
        "1e309",  # beyond binary64
        "1.8e308",
        "1e1000000000000000000",  # beyond even Decimal's exponents
        Decimal("1e400"),
        10**400,
        -(10**5000),  # more digits than int() writes as text
    ],
    ids=lambda value: f"int-{value.bit_length()}-bits" if isinstance(value, int) else repr(value),
)
def test_number_text_outside_the_grammar_or_range_is_malformed(value: Any) -> None:
    for generalization in (NumberBucket(), NumberBucket(width=500)):
        with pytest.raises(MalformedInputError, match="not a finite number") as info:
            generalization.apply(value)
        if isinstance(value, str) and len(value.strip()) > 2:
            assert value.strip() not in info.value.message


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30),
    st.integers(min_value=2, max_value=10**6),
)
def test_a_number_lies_in_its_bucket_exactly(value: Decimal, width: int) -> None:
    written = format(value, "f")
    text = NumberBucket(width=width).apply(written if "." in written else written + ".0")
    low, high = (int(part) for part in text.split(" to <"))
    assert low <= value < high
    assert high - low == width


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=2, max_value=10**6))
def test_an_integer_lies_in_its_bucket(value: int, width: int) -> None:
    low, high = (int(part) for part in NumberBucket(width=width).apply(value).split("-"))
    assert low <= value <= high
    assert high - low == width - 1
    low, high = (int(part) for part in NumberBucket().apply(value).split("-"))
    assert low <= value <= high


# -- common ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "generalization",
    [YEAR, IpPrefix(), Grid(), AREAS, NumberBucket()],
)
def test_generalizations_are_frozen_and_hashable(generalization: Generalization) -> None:
    assert hash(generalization) == hash(generalization)
    with pytest.raises(AttributeError):
        generalization.label = "changed"  # type: ignore[misc]
    assert generalization.expects  # words for error messages
