"""Record schemas: the DataField annotation and the checks made when a schema is defined."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum, StrEnum
from ipaddress import IPv4Address
from typing import Annotated, Any, ClassVar, Final, Literal, Optional

import pytest
from pydantic import BaseModel, Field, IPvAnyAddress, create_model

from safeshare.errors import UsageError
from safeshare.privacy.generalize import DAY, MONTH, YEAR, Grid, IpPrefix, NumberBucket
from safeshare.privacy.plan import plan_for
from safeshare.privacy.schema import (
    ACTIONS,
    SUBJECT_KINDS,
    Coordinates,
    DataField,
    RecordSchema,
    Rule,
    check_schema,
    nested_paths,
    schema_fields,
    subject_fields,
)

SUB: Final = "subscriber"


class Place(RecordSchema):
    city: Annotated[str, DataField(category=SUB, purposes={"locate_suspect": "disclose"})]
    zone: Annotated[
        Optional[str],  # noqa: UP045 - the Optional spelling is supported too
        DataField(category=SUB),
    ] = None


class Color(StrEnum):
    RED = "red"


class Level(Enum):
    LOW = 1


class Sample(RecordSchema):
    schema_id: ClassVar[str] = "sample"
    title: ClassVar[str] = "Sample"

    name: Annotated[str, DataField(category=SUB, subject="name_dob")]
    born: Annotated[date | None, DataField(category=SUB, subject="name_dob", generalize=YEAR)] = (
        None
    )
    seen: Annotated[datetime, DataField(category="traffic", generalize=DAY)]
    ip: Annotated[IPvAnyAddress, DataField(category="traffic", subject="ip")]
    v4: Annotated[IPv4Address | None, DataField(category="traffic")] = None
    where: Annotated[Coordinates | None, DataField(category="traffic", generalize=Grid())] = None
    amount: Annotated[int, DataField(category="traffic", generalize=NumberBucket())] = 0
    phones: Annotated[list[str], DataField(category=SUB, subject="phone")] = Field(
        default_factory=list
    )
    tags: Annotated[tuple[str, ...], DataField(category="content")] = ()
    color: Annotated[Color, DataField(category="content")] = Color.RED
    level: Annotated[Level, DataField(category="content")] = Level.LOW
    kind: Annotated[Literal["a", "b"], DataField(category="content")] = "a"
    flag: Annotated[bool, DataField(category="content")] = False
    extra: Annotated[dict[str, int], DataField(category="content")] = Field(default_factory=dict)
    optional_text: Annotated[str, DataField(category="content")] | None = None
    home: Place
    other: Place | None = None


def test_schema_fields_lists_every_leaf_depth_first_with_its_kind() -> None:
    fields = {f.path: (f.kind, f.many, f.owner) for f in schema_fields(Sample)}
    assert list(fields) == [
        ("name",),
        ("born",),
        ("seen",),
        ("ip",),
        ("v4",),
        ("where",),
        ("amount",),
        ("phones",),
        ("tags",),
        ("color",),
        ("level",),
        ("kind",),
        ("flag",),
        ("extra",),
        ("optional_text",),
        ("home", "city"),
        ("home", "zone"),
        ("other", "city"),
        ("other", "zone"),
    ]
    assert fields[("name",)] == ("text", False, "Sample")
    assert fields[("born",)] == ("date", False, "Sample")
    assert fields[("seen",)] == ("datetime", False, "Sample")
    assert fields[("ip",)] == ("ip", False, "Sample")
    assert fields[("v4",)] == ("ip", False, "Sample")
    assert fields[("where",)] == ("coordinates", False, "Sample")
    assert fields[("amount",)] == ("number", False, "Sample")
    assert fields[("phones",)] == ("text", True, "Sample")
    assert fields[("tags",)] == ("text", True, "Sample")
    assert fields[("color",)] == ("text", False, "Sample")
    assert fields[("level",)] == ("other", False, "Sample")
    assert fields[("kind",)] == ("text", False, "Sample")
    assert fields[("flag",)] == ("bool", False, "Sample")
    assert fields[("extra",)] == ("other", False, "Sample")
    assert fields[("optional_text",)] == ("text", False, "Sample")
    assert fields[("home", "city")] == ("text", False, "Place")
    assert fields[("home", "zone")] == ("text", False, "Place")


def test_qualname_names_the_declaring_class() -> None:
    by_path = {f.path: f for f in schema_fields(Sample)}
    assert by_path[("home", "city")].qualname == "Place.city"
    assert by_path[("born",)].qualname == "Sample.born"
    assert by_path[("home", "city")].name == "city"


def test_subject_fields_and_nested_paths() -> None:
    assert subject_fields(Sample) == (
        (("name",), "name_dob"),
        (("born",), "name_dob"),
        (("ip",), "ip"),
        (("phones",), "phone"),
    )
    assert nested_paths(Sample) == frozenset({("home",), ("other",)})
    assert nested_paths(Place) == frozenset()


def test_data_field_is_immutable_hashable_and_compares_by_value() -> None:
    a = DataField(category=SUB, purposes={"locate_suspect": "disclose"}, generalize=YEAR)
    b = DataField(category=SUB, purposes={"locate_suspect": "disclose"}, generalize=YEAR)
    c = DataField(category=SUB, purposes={"locate_suspect": "withhold"}, generalize=YEAR)
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert a != "DataField"
    with pytest.raises(AttributeError):
        a.category = "content"
    with pytest.raises(TypeError):
        a.purposes["prosecution"] = "disclose"  # type: ignore[index]
    assert a.rule_for("locate_suspect") == ("disclose", True)
    assert a.rule_for("prosecution") == ("withhold", False)
    text = repr(
        DataField(
            category=SUB,
            special_categories=("health",),
            subject="phone",
            free_text=True,
            generalize=MONTH,
        )
    )
    assert "special_categories=('health',)" in text
    assert "subject='phone'" in text
    assert "free_text=True" in text
    assert "generalize=DatePrecision(unit='month')" in text


def test_the_annotated_optional_form_is_found() -> None:
    spec = next(f.spec for f in schema_fields(Sample) if f.path == ("optional_text",))
    assert spec.category == "content"


def test_an_incomplete_schema_is_checked_when_it_is_planned() -> None:
    class Later(RecordSchema):
        schema_id: ClassVar[str] = "later"
        part: Undefined  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(UsageError, match="Later is not fully defined"):
        plan_for(Later, "locate_suspect")


# -- refusals --------------------------------------------------------------------------


def make(fields: dict[str, Any], *, base: type[BaseModel] = RecordSchema) -> type[BaseModel]:
    """A schema class built from *fields* (name -> (annotation, default))."""
    model: type[BaseModel] = create_model("Bad", __base__=base, **fields)
    return model


def refused(fields: dict[str, Any]) -> str:
    with pytest.raises(UsageError) as info:
        make(fields)
    return info.value.message


def test_a_field_without_data_field_is_refused_naming_it() -> None:
    message = refused({"name": (str, ...)})
    assert message.startswith("Bad.name has no DataField annotation")


def test_a_field_of_a_plain_nested_model_without_data_field_is_refused() -> None:
    class Plain(BaseModel):
        street: str

    message = refused({"home": (Plain, ...)})
    assert message.startswith("Plain.street has no DataField annotation")


def test_two_data_fields_are_refused() -> None:
    message = refused(
        {"name": (Annotated[str, DataField(category=SUB), DataField(category=SUB)], ...)}
    )
    assert message == "Bad.name has 2 DataField annotations; give exactly one"


def test_a_data_field_on_a_nested_record_is_refused() -> None:
    message = refused({"home": (Annotated[Place, DataField(category=SUB)], ...)})
    assert "Bad.home is a nested record (Place)" in message


def test_a_list_of_records_is_refused() -> None:
    message = refused({"homes": (list[Place], ...)})
    assert "Bad.homes: a list of records" in message
    message = refused({"grid": (Annotated[list[list[str]], DataField(category=SUB)], ...)})
    assert "Bad.grid: a list of records or of lists" in message


def test_a_field_that_is_a_record_or_something_else_is_refused() -> None:
    message = refused({"home": (Annotated[Place | str, DataField(category=SUB)], ...)})
    assert "Bad.home: a field that is a nested record or a list" in message


def test_an_alias_is_refused() -> None:
    message = refused(
        {"name": (Annotated[str, DataField(category=SUB), Field(alias="fullName")], ...)}
    )
    assert message.startswith("Bad.name: record schema fields cannot have an alias")


def test_a_schema_that_contains_itself_is_refused() -> None:
    class Node(BaseModel):
        label: Annotated[str, DataField(category=SUB)]
        child: Node | None = None

    Node.model_rebuild()
    with pytest.raises(UsageError, match="contains itself through Node"):
        check_schema(Node)


def test_schema_fields_takes_a_model_class() -> None:
    with pytest.raises(UsageError, match="pydantic model class, not str"):
        schema_fields("Sample")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (
            Annotated[str, DataField(category="identification")],  # type: ignore[arg-type]
            "Bad.f: unknown data category 'identification'",
        ),
        (
            Annotated[str, DataField(category=SUB, special_categories=("medical",))],  # type: ignore[arg-type]
            "Bad.f: unknown special category 'medical'",
        ),
        (
            Annotated[str, DataField(category=SUB, special_categories=("health", "health"))],
            "Bad.f: the special category 'health' is listed twice",
        ),
        (
            Annotated[str, DataField(category=SUB, subject="fingerprint")],  # type: ignore[arg-type]
            "Bad.f: unknown subject kind 'fingerprint'",
        ),
        (
            Annotated[date, DataField(category=SUB, subject="phone")],
            "Bad.f: subject='phone' needs a text field",
        ),
        (
            Annotated[int, DataField(category=SUB, subject="ip")],
            "Bad.f: subject='ip' needs a text field",
        ),
        (
            Annotated[str, DataField(category=SUB, purposes={"locate_suspect": "publish"})],  # type: ignore[dict-item]
            "Bad.f: purpose 'locate_suspect' -> 'publish' is not an action",
        ),
        (
            Annotated[str, DataField(category=SUB, default="show")],  # type: ignore[arg-type]
            "Bad.f: default -> 'show' is not an action",
        ),
        (
            Annotated[date, DataField(category=SUB, purposes={"locate_suspect": "generalize"})],
            "Bad.f: purpose 'locate_suspect' -> generalize, but the field has no generalization",
        ),
        (
            Annotated[str, DataField(category=SUB, default="generalize")],
            "Bad.f: default -> generalize, but the field has no generalization that fits its "
            "type (text)",
        ),
        (
            Annotated[date, DataField(category=SUB, generalize=IpPrefix())],
            "Bad.f: generalize=: the generalization 'ipv4/24,ipv6/48' takes an IP address, but "
            "the field holds a date",
        ),
        (
            Annotated[date, DataField(category=SUB, purposes={"locate_suspect": DAY})],
            "Bad.f: purpose 'locate_suspect': the generalization 'day' takes a date-time",
        ),
        (
            Annotated[list[str], DataField(category=SUB, generalize=YEAR)],
            "but the field holds a list of text",
        ),
        (
            Annotated[bool, DataField(category=SUB, generalize=NumberBucket())],
            "the field holds a yes/no value",
        ),
        (
            Annotated[str, DataField(category=SUB, generalize="year")],  # type: ignore[arg-type]
            "Bad.f: generalize= must be a generalization",
        ),
        (
            Annotated[date, DataField(category=SUB, free_text=True)],
            "Bad.f: only a text field can be free text",
        ),
        (
            Annotated[str, DataField(category=SUB, free_text=True, generalize=IpPrefix())],
            "Bad.f: free text cannot be generalized; remove generalize=",
        ),
        (
            Annotated[str, DataField(category=SUB, free_text=True, purposes={"x": IpPrefix()})],
            "Bad.f: purpose 'x': free text cannot be generalized",
        ),
        (
            Annotated[str, DataField(category=SUB, free_text="yes")],  # type: ignore[arg-type]
            "Bad.f: free_text must be True or False",
        ),
        (
            Annotated[
                str,
                DataField(category=SUB, special_categories=("health",), default="disclose"),
            ],
            "Bad.f holds special categories of data (health) and may not be disclosed by default",
        ),
        (
            Annotated[str, DataField(category=SUB, purposes={"Locate Suspect": "disclose"})],
            "Bad.f: 'Locate Suspect' in purposes is not a purpose code",
        ),
    ],
)
def test_wrong_annotations_are_refused_naming_the_field(annotation: Any, message: str) -> None:
    assert message in refused({"f": (annotation, ...)})


class Weight(float, Enum):
    LIGHT = 0.5


class Code(Enum):
    ONE = 1


PSEUDONYMIZE: Final[dict[str, Rule]] = {"intelligence_analysis": "pseudonymize"}


@pytest.mark.parametrize(
    "annotation",
    [
        float,
        float | None,
        Annotated[float, Field(ge=0)],
        int | float,
        Coordinates,
        Coordinates | None,
        list[float],
        tuple[float, ...],
        dict[str, float],
        Literal[0.5, 1],
        Weight,
    ],
    ids=repr,
)
def test_a_field_that_can_hold_a_float_is_never_pseudonymized(annotation: Any) -> None:
    for spec in (
        DataField(category=SUB, purposes=PSEUDONYMIZE),
        DataField(category=SUB, default="pseudonymize"),
    ):
        with pytest.raises(UsageError) as info:
            make({"f": (Annotated[annotation, spec], ...)})
        assert info.value.message.startswith("Bad.f: pseudonymize needs text or integer values")
        assert "float" in info.value.message
        assert info.value.hint is not None
        assert "withhold" in info.value.hint


@pytest.mark.parametrize(
    "annotation",
    [str, int, int | None, list[str], Literal["a", 1], Code, date, datetime, IPvAnyAddress],
    ids=repr,
)
def test_text_integers_and_what_dumps_as_text_may_be_pseudonymized(annotation: Any) -> None:
    make({"f": (Annotated[annotation, DataField(category=SUB, purposes=PSEUDONYMIZE)], ...)})


def test_a_float_field_may_be_disclosed_withheld_or_generalized() -> None:
    rules: dict[str, Rule] = {"locate_suspect": "disclose", "intelligence_analysis": NumberBucket()}
    make({"f": (Annotated[float, DataField(category=SUB, purposes=rules)], ...)})


def test_a_special_category_may_be_disclosed_for_a_listed_purpose() -> None:
    model = make(
        {
            "f": (
                Annotated[
                    str,
                    DataField(
                        category=SUB,
                        special_categories=("health",),
                        purposes={"prevent_imminent_threat": "disclose"},
                    ),
                ],
                ...,
            )
        }
    )
    assert schema_fields(model)[0].spec.special_categories == ("health",)


def test_free_text_may_have_a_generalize_rule() -> None:
    model = make(
        {"f": (Annotated[str, DataField(category=SUB, free_text=True, default="generalize")], ...)}
    )
    assert schema_fields(model)[0].spec.free_text


@pytest.mark.parametrize(
    "fields",
    [
        {"name": (Annotated[str, DataField(category=SUB, subject="name_dob")], ...)},
        {
            "a": (Annotated[str, DataField(category=SUB, subject="name_dob")], ...),
            "b": (Annotated[str, DataField(category=SUB, subject="name_dob")], ...),
        },
        {
            "a": (Annotated[list[str], DataField(category=SUB, subject="name_dob")], ...),
            "b": (Annotated[date, DataField(category=SUB, subject="name_dob")], ...),
        },
    ],
)
def test_name_dob_needs_one_name_and_one_date(fields: dict[str, Any]) -> None:
    assert "Bad: subject='name_dob' marks exactly two fields" in refused(fields)


def test_data_field_refuses_a_purposes_value_that_is_not_a_mapping() -> None:
    with pytest.raises(UsageError, match="must be a mapping of purpose code to action"):
        DataField(category=SUB, purposes=["locate_suspect"])  # type: ignore[arg-type]


def test_data_field_refuses_special_categories_given_as_text() -> None:
    with pytest.raises(UsageError, match=r"takes a tuple, e.g. \('health',\)"):
        DataField(category=SUB, special_categories="health")  # type: ignore[arg-type]


@pytest.mark.parametrize("schema_id", ["Bad", "1st", "has-dash", "x" * 65])
def test_a_bad_schema_id_is_refused(schema_id: str) -> None:
    with pytest.raises(UsageError, match=r"Bad\.schema_id must be lower-case"):
        type("Bad", (RecordSchema,), {"schema_id": schema_id, "__annotations__": {}})


def test_the_vocabularies_are_what_the_spec_lists() -> None:
    assert ACTIONS == ("disclose", "withhold", "pseudonymize", "generalize")
    assert set(SUBJECT_KINDS) == {"phone", "email", "passport", "iban", "name_dob", "ip"}


def test_subject_kinds_are_the_kinds_the_blind_index_normalizes() -> None:
    from safeshare.privacy import blind_index

    assert set(SUBJECT_KINDS) == set(blind_index.SUBJECT_KINDS)


def test_record_schemas_are_frozen_and_refuse_unknown_members() -> None:
    place = Place(city="Atown")
    with pytest.raises(ValueError, match="frozen"):
        place.city = "Btown"  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Place.model_validate({"city": "Atown", "planet": "Earth"})


@pytest.mark.filterwarnings("ignore:Field name")
@pytest.mark.parametrize("name", ["title", "schema_id"])
def test_a_field_may_not_shadow_a_class_variable(name: str) -> None:
    message = refused({name: (Annotated[str, DataField(category=SUB)], ...)})
    assert message.startswith(f"Bad.{name}: '{name}' is the name of a RecordSchema class variable")
