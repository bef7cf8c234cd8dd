"""Record schemas: the records agencies share, annotated for minimization.

An agency describes a kind of record it shares as a pydantic model that
derives from :class:`RecordSchema`, and annotates every field with a
:class:`DataField`: the data category, special categories, whether it
identifies a data subject, and what each purpose does with it::

    class SubscriberRecord(RecordSchema):
        schema_id: ClassVar[str] = "subscriber_record"
        title: ClassVar[str] = "Subscriber record"

        name: Annotated[str, DataField(
            category="subscriber",
            purposes={"locate_suspect": "disclose", "intelligence_analysis": "pseudonymize"},
        )]
        born: Annotated[date | None, DataField(
            category="subscriber", purposes={"locate_suspect": "generalize"}, generalize=YEAR,
        )] = None

The four actions (``specs/safeshare-v1.md`` section 12.3):

* ``disclose``: the value is disclosed as it is;
* ``withhold``: the value stays an undisclosed SD-JWT digest (RFC 9901
  section 4.2.4.1): the recipient learns that *a* member exists, never its
  name or value;
* ``pseudonymize``: a keyed pseudonym replaces the value (the same value
  gives the same pseudonym within one issuer, recipient and case);
* ``generalize``: a coarser value replaces it
  (:mod:`safeshare.privacy.generalize`).

A purpose maps to an action or directly to a generalization
(``{"locate_suspect": YEAR}``, meaning "generalize to the year");
``generalize`` as a word uses the field's ``generalize=``. Purposes that a
field does not list get its ``default``, which is ``withhold``: privacy is
the default, and a new purpose discloses nothing until a schema author
decides it should.

Nested models (a field whose type is a pydantic model) are parts of the
record: each of their fields is annotated and decided on its own, under
the path ``("address", "city")``. A list of values (``list[str]``) is one
field: its action applies to the whole list, and pseudonymize or
generalize map over its elements. Lists of nested models are not supported
(each element would need decisions of its own).

Checks (:class:`~safeshare.errors.UsageError` naming the field): when a
schema class is defined (or, if it has unresolved forward references, when
it is first planned), every field must carry exactly one
:class:`DataField`; actions must be one of the four; a generalization must
fit the field's type, and ``generalize`` needs one (except on free text,
which the plan withholds); a field with a special category may not have
``disclose`` as its default; a subject kind must fit the field's type; a
field that can hold a float (``float``, coordinates, ``list[float]``...) may
not be pseudonymized, since a pseudonym is made only of text and integers
(:func:`safeshare.privacy.secret.canonical_json`).
Purpose codes are checked against the vocabulary when a plan is made
(:func:`safeshare.privacy.plan.plan_for`), since an agency may extend the
vocabulary with purposes of its own.

Security properties: a schema with a field that is not annotated is refused
(nothing is disclosed by oversight); a purpose the schema does not name discloses nothing;
special categories are never disclosed by default; the annotations are
immutable values, and a schema class is checked once, before any record of
it is minimized.

Subject identifiers: ``subject="phone"`` (``email``, ``passport``,
``iban``, ...) marks a field whose values identify a data subject; the
sender computes blind-index tokens of them with its own secret (see
:data:`SUBJECT_KINDS` and :func:`subject_fields`). The kind ``name_dob`` is
composite: exactly one text field and one date field of the same object
carry it, and together they form one identifier.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import (
    Annotated,
    Any,
    ClassVar,
    Final,
    Literal,
    TypeAlias,
    Union,
    get_args,
    get_origin,
)

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress
from pydantic.fields import FieldInfo

from safeshare.errors import UsageError
from safeshare.privacy.generalize import Generalization, ValueKind
from safeshare.purpose.conditions import SpecialCategory
from safeshare.purpose.vocabulary import DATA_CATEGORIES, DataCategory

__all__ = [
    "ACTIONS",
    "SPECIAL_CATEGORIES",
    "SUBJECT_KINDS",
    "Action",
    "Coordinates",
    "DataField",
    "Latitude",
    "Longitude",
    "RecordSchema",
    "Rule",
    "SchemaField",
    "SubjectKind",
    "check_schema",
    "nested_paths",
    "schema_fields",
    "subject_fields",
]

Action: TypeAlias = Literal["disclose", "withhold", "pseudonymize", "generalize"]
"""What happens to a field's value for a purpose."""
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

Rule: TypeAlias = "Action | Generalization"
"""What a schema says for a purpose: an action, or a generalization (meaning ``generalize``)."""

SubjectKind: TypeAlias = Literal["phone", "email", "passport", "iban", "name_dob", "ip"]
"""Kinds of data-subject identifiers: the kinds the blind index normalizes
(:mod:`safeshare.privacy.blind_index`); ``name_dob`` is a name and a date of birth."""
SUBJECT_KINDS: Final[tuple[SubjectKind, ...]] = get_args(SubjectKind)

SPECIAL_CATEGORIES: Final[tuple[SpecialCategory, ...]] = get_args(SpecialCategory)
"""Special categories of data (Second Additional Protocol Art. 14(4))."""

Latitude: TypeAlias = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude: TypeAlias = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Coordinates: TypeAlias = tuple[Latitude, Longitude]
"""A point as ``(latitude, longitude)`` in decimal degrees (WGS 84); JSON ``[lat, lon]``."""

#: The pattern of a purpose code (the ``purpose`` claim).
_PURPOSE_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
#: The pattern of a schema id.
_SCHEMA_ID: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_IP_TYPES: Final = (IPv4Address, IPv6Address, IPvAnyAddress)
#: Class variables of RecordSchema, which no field may shadow.
_RESERVED_NAMES: Final = frozenset({"schema_id", "title"})


class DataField:
    """The minimization annotation of one record field (use it in ``Annotated[...]``).

    * *category*: the data category (``subscriber``, ``identification_only``,
      ``traffic``, ``content``; :data:`~safeshare.purpose.vocabulary.DATA_CATEGORIES`);
    * *purposes*: purpose code -> :data:`Action` or :class:`Generalization`;
    * *default*: the rule for every purpose not listed (``withhold``);
    * *generalize*: the generalization that the action ``generalize`` uses;
    * *special_categories*: special categories of data the field holds
      (Art. 14(4)); such a field may not be disclosed by default;
    * *subject*: the kind of data-subject identifier the field holds, if any;
    * *free_text*: the field is free text, which cannot be generalized: a
      ``generalize`` rule withholds it instead (and the plan says so).

    Immutable and hashable. The values are checked when the schema class
    that uses it is defined, where the message can name the field.
    """

    __slots__ = (
        "_purposes",
        "category",
        "default",
        "free_text",
        "generalize",
        "special_categories",
        "subject",
    )

    category: DataCategory
    default: Rule
    generalize: Generalization | None
    special_categories: tuple[SpecialCategory, ...]
    subject: SubjectKind | None
    free_text: bool
    _purposes: tuple[tuple[str, Rule], ...]

    def __init__(
        self,
        *,
        category: DataCategory,
        purposes: Mapping[str, Rule] | None = None,
        default: Rule = "withhold",
        generalize: Generalization | None = None,
        special_categories: Iterable[SpecialCategory] = (),
        subject: SubjectKind | None = None,
        free_text: bool = False,
    ) -> None:
        if purposes is not None and not isinstance(purposes, Mapping):
            raise UsageError(
                "DataField(purposes=...) must be a mapping of purpose code to action, "
                "e.g. {'locate_suspect': 'disclose'}"
            )
        if isinstance(special_categories, str):
            raise UsageError(
                "DataField(special_categories=...) takes a tuple, e.g. ('health',), not a string"
            )
        values = {
            "category": category,
            "default": default,
            "generalize": generalize,
            "special_categories": tuple(special_categories),
            "subject": subject,
            "free_text": free_text,
            "_purposes": tuple((purposes or {}).items()),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def purposes(self) -> Mapping[str, Rule]:
        """The rules per purpose code (read-only)."""
        return types.MappingProxyType(dict(self._purposes))

    def rule_for(self, purpose: str) -> tuple[Rule, bool]:
        """The rule for *purpose* and whether it is listed (``False``: the default)."""
        for code, rule in self._purposes:
            if code == purpose:
                return rule, True
        return self.default, False

    def _key(self) -> tuple[object, ...]:
        return (
            self.category,
            self._purposes,
            self.default,
            self.generalize,
            self.special_categories,
            self.subject,
            self.free_text,
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("DataField is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataField) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [f"category={self.category!r}", f"purposes={dict(self._purposes)!r}"]
        parts.append(f"default={self.default!r}")
        if self.generalize is not None:
            parts.append(f"generalize={self.generalize!r}")
        if self.special_categories:
            parts.append(f"special_categories={self.special_categories!r}")
        if self.subject is not None:
            parts.append(f"subject={self.subject!r}")
        if self.free_text:
            parts.append("free_text=True")
        return f"DataField({', '.join(parts)})"


class RecordSchema(BaseModel):
    """Base class of record schemas: frozen, unknown members refused.

    A schema that is planned (a whole record) sets the class variables
    ``schema_id`` (``[a-z][a-z0-9_]{0,63}``, e.g. ``"subscriber_information"``)
    and ``title``; a schema used only as a nested part (an address) need
    not. The annotations are checked when the class is defined
    (:func:`check_schema`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_id: ClassVar[str | None] = None
    title: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        schema_id = cls.__dict__.get("schema_id")
        if schema_id is not None and (
            not isinstance(schema_id, str) or _SCHEMA_ID.fullmatch(schema_id) is None
        ):
            raise UsageError(
                f"{cls.__name__}.schema_id must be lower-case letters, digits and '_', "
                "starting with a letter (at most 64), e.g. 'subscriber_information'"
            )
        if cls.__pydantic_complete__:
            # Otherwise a forward reference is unresolved: checked when first planned.
            schema_fields(cls)


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One leaf field of a schema (a value, not a nested record), with its annotation."""

    #: Field names from the record's top level, e.g. ``("address", "city")``.
    path: tuple[str, ...]
    #: The name of the model class that declares the field.
    owner: str
    spec: DataField
    kind: ValueKind
    #: A list of values (the action applies to the whole list).
    many: bool

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def qualname(self) -> str:
        """``Owner.field``, as rules and messages name it."""
        return f"{self.owner}.{self.name}"


# -- the structure of a schema -------------------------------------------------------


def check_schema(schema: type[BaseModel]) -> None:
    """Check every annotation of *schema* (and its nested models); :class:`UsageError` if wrong."""
    schema_fields(schema)


def schema_fields(schema: type[BaseModel]) -> tuple[SchemaField, ...]:
    """The leaf fields of *schema*, depth first in declaration order, checked.

    Raises :class:`UsageError` naming the field for any wrong annotation
    (see the module documentation). The result is cached per class.
    """
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise UsageError(
            f"a record schema must be a pydantic model class, not {type(schema).__name__}"
        )
    return _schema_fields(schema)


def nested_paths(schema: type[BaseModel]) -> frozenset[tuple[str, ...]]:
    """The paths of the nested models of *schema* (objects, not leaf fields)."""
    return frozenset(
        field.path[:depth] for field in schema_fields(schema) for depth in range(1, len(field.path))
    )


def subject_fields(schema: type[BaseModel]) -> tuple[tuple[tuple[str, ...], SubjectKind], ...]:
    """``(path, kind)`` of every field that holds a data-subject identifier.

    What the blind index needs to know: which values identify a person, and
    of what kind. ``name_dob`` appears for both of its fields.
    """
    return tuple(
        (field.path, field.spec.subject)
        for field in schema_fields(schema)
        if field.spec.subject is not None
    )


@functools.cache
def _schema_fields(schema: type[BaseModel]) -> tuple[SchemaField, ...]:
    if not schema.__pydantic_complete__:
        try:
            schema.model_rebuild()
        except Exception as exc:  # noqa: BLE001 - pydantic raises several types here
            raise UsageError(
                f"the schema {schema.__name__} is not fully defined: {exc}",
                hint="define the nested models it refers to before planning it",
            ) from None
    out: list[SchemaField] = []
    _walk(schema, (), out, active=())
    return tuple(out)


def _walk(
    model: type[BaseModel],
    prefix: tuple[str, ...],
    out: list[SchemaField],
    *,
    active: tuple[type[BaseModel], ...],
) -> None:
    if model in active:
        raise UsageError(
            f"the schema {active[0].__name__} contains itself through {model.__name__}; "
            "a record schema must be a finite tree"
        )
    owner = model.__name__
    name_dob: list[SchemaField] = []
    for name, info in model.model_fields.items():
        where = f"{owner}.{name}"
        if name in _RESERVED_NAMES and issubclass(model, RecordSchema):
            raise UsageError(
                f"{where}: {name!r} is the name of a RecordSchema class variable; name the "
                "field otherwise (e.g. 'honorific' for a person's title)"
            )
        if info.alias is not None and info.alias != name:
            raise UsageError(
                f"{where}: record schema fields cannot have an alias; name the field "
                f"{info.alias!r} instead"
            )
        annotation = info.annotation
        kind, many, nested = _classify(annotation, where)
        spec = _find_data_field(info, where)
        path = (*prefix, name)
        if nested is not None:
            if spec is not None:
                raise UsageError(
                    f"{where} is a nested record ({nested.__name__}): annotate each of its "
                    "fields with a DataField instead of the field itself"
                )
            _walk(nested, path, out, active=(*active, model))
            continue
        if spec is None:
            raise UsageError(
                f"{where} has no DataField annotation: every field of a record schema must "
                "say its data category and what each purpose does with it",
                hint=f"write {name}: Annotated[<type>, DataField(category=..., purposes={{...}})]",
            )
        field = SchemaField(path=path, owner=owner, spec=spec, kind=kind, many=many)
        _check_data_field(field)
        _check_pseudonymizable(field, annotation)
        if spec.subject == "name_dob":
            name_dob.append(field)
        out.append(field)
    if name_dob:
        _check_name_dob(owner, name_dob)


def _find_data_field(info: FieldInfo, where: str) -> DataField | None:
    """The field's DataField: in its metadata, or inside ``Annotated[...] | None``."""
    found = [m for m in info.metadata if isinstance(m, DataField)]
    annotation = info.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            if get_origin(arg) is Annotated:
                found.extend(m for m in arg.__metadata__ if isinstance(m, DataField))
    if len(found) > 1:
        raise UsageError(f"{where} has {len(found)} DataField annotations; give exactly one")
    return found[0] if found else None


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _classify(annotation: Any, where: str) -> tuple[ValueKind, bool, type[BaseModel] | None]:
    """(kind, is a list, nested model class or None) of a field's type."""
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        options = [_strip(a) for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            annotation = options[0]
        elif all(isinstance(a, type) and issubclass(a, _IP_TYPES) for a in options):
            return "ip", False, None
        else:
            if any(_is_model(a) or _sequence_item(a) is not None for a in options):
                raise UsageError(
                    f"{where}: a field that is a nested record or a list in one case and "
                    "something else in another is not supported; give it one type"
                )
            return "other", False, None
    item = _sequence_item(annotation)
    if item is not None:
        kind, many, nested = _classify(item, where)
        if nested is not None or many:
            raise UsageError(
                f"{where}: a list of records or of lists is not supported; a list field holds "
                "values (text, dates, addresses...), and its action applies to the whole list"
            )
        return kind, True, None
    if _is_model(annotation):
        return "model", False, annotation
    return _leaf_kind(annotation), False, None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _sequence_item(annotation: Any) -> Any | None:
    """The element type of ``list[X]``, ``tuple[X, ...]``; None for anything else."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is list and len(args) == 1:
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _leaf_kind(annotation: Any) -> ValueKind:
    if get_origin(annotation) is Literal:
        return "text" if all(isinstance(a, str) for a in get_args(annotation)) else "other"
    if get_origin(annotation) is tuple:
        args = [_strip(a) for a in get_args(annotation)]
        return "coordinates" if args == [float, float] else "other"
    if not isinstance(annotation, type):
        return "other"
    if issubclass(annotation, bool):
        return "bool"
    if issubclass(annotation, str):  # includes StrEnum
        return "text"
    if issubclass(annotation, Enum):
        return "other"
    if issubclass(annotation, int | float | Decimal):
        return "number"
    if issubclass(annotation, datetime):
        return "datetime"
    if issubclass(annotation, date):
        return "date"
    if issubclass(annotation, _IP_TYPES):
        return "ip"
    return "other"


# -- checks of one annotation ---------------------------------------------------------


def _listing(values: Iterable[str]) -> str:
    return ", ".join(values)


def _check_data_field(field: SchemaField) -> None:
    spec, where = field.spec, field.qualname
    if spec.category not in DATA_CATEGORIES:
        raise UsageError(
            f"{where}: unknown data category {spec.category!r}",
            hint=f"use one of: {_listing(DATA_CATEGORIES)}",
        )
    seen: set[str] = set()
    for category in spec.special_categories:
        if category not in SPECIAL_CATEGORIES:
            raise UsageError(
                f"{where}: unknown special category {category!r}",
                hint=f"use one of: {_listing(SPECIAL_CATEGORIES)}",
            )
        if category in seen:
            raise UsageError(f"{where}: the special category {category!r} is listed twice")
        seen.add(category)
    if not isinstance(spec.free_text, bool):
        raise UsageError(f"{where}: free_text must be True or False")
    if spec.free_text:
        if field.kind != "text":
            raise UsageError(f"{where}: only a text field can be free text (free_text=True)")
        if spec.generalize is not None:
            raise UsageError(
                f"{where}: free text cannot be generalized; remove generalize= (a 'generalize' "
                "rule withholds free text)"
            )
    if spec.generalize is not None:
        _check_generalization(field, spec.generalize, "generalize=")
    _check_subject(field)
    for code, rule in spec._purposes:
        if not isinstance(code, str) or _PURPOSE_CODE.fullmatch(code) is None:
            raise UsageError(
                f"{where}: {str(code)[:64]!r} in purposes is not a purpose code (lower-case, "
                "e.g. 'locate_suspect')"
            )
        _check_rule(field, rule, f"purpose {code!r}")
    _check_rule(field, spec.default, "default")
    if spec.special_categories and spec.default == "disclose":
        raise UsageError(
            f"{where} holds special categories of data ({_listing(spec.special_categories)}) and "
            "may not be disclosed by default (Second Additional Protocol Art. 14(4))",
            hint="set default='withhold' and list the purposes that need the field",
        )


def _check_rule(field: SchemaField, rule: object, what: str) -> None:
    where = field.qualname
    if isinstance(rule, Generalization):
        _check_generalization(field, rule, what)
        return
    if rule not in ACTIONS:
        raise UsageError(
            f"{where}: {what} -> {str(rule)[:64]!r} is not an action",
            hint=f"use one of: {_listing(ACTIONS)}, or a generalization such as YEAR",
        )
    if rule == "generalize" and field.spec.generalize is None and not field.spec.free_text:
        raise UsageError(
            f"{where}: {what} -> generalize, but the field has no generalization that fits "
            f"its type ({_kind_words(field)})",
            hint=_generalization_hint(field),
        )


def _check_generalization(field: SchemaField, generalization: object, what: str) -> None:
    where = field.qualname
    if not isinstance(generalization, Generalization):
        raise UsageError(
            f"{where}: {what} must be a generalization (YEAR, MONTH, IpPrefix(), Grid(), "
            f"NumberBucket() ...), not {type(generalization).__name__}"
        )
    if field.spec.free_text:
        raise UsageError(f"{where}: {what}: free text cannot be generalized")
    if not generalization.fits(field.kind):
        raise UsageError(
            f"{where}: {what}: the generalization {generalization.label!r} takes "
            f"{generalization.expects}, but the field holds {_kind_words(field)}",
            hint=_generalization_hint(field),
        )


_KIND_WORDS: Final[Mapping[str, str]] = {
    "text": "text",
    "date": "a date",
    "datetime": "a date-time",
    "ip": "an IP address",
    "number": "a number",
    "coordinates": "coordinates",
    "bool": "a yes/no value",
    "model": "a nested record",
    "other": "a value of another type",
}

_HINTS: Final[Mapping[str, str]] = {
    "date": "give generalize=YEAR or MONTH",
    "datetime": "give generalize=YEAR, MONTH or DAY",
    "ip": "give generalize=IpPrefix() (IPv4 /24, IPv6 /48)",
    "number": "give generalize=NumberBucket() (order of magnitude) or NumberBucket(width=...)",
    "coordinates": "give generalize=Grid(decimals=1) or NamedAreas(...)",
    "text": (
        "text has no generalization: withhold or pseudonymize it, mark free text with "
        "free_text=True, or give IpPrefix() if it holds IP addresses"
    ),
}


def _kind_words(field: SchemaField) -> str:
    words = _KIND_WORDS[field.kind]
    return f"a list of {words}" if field.many else words


def _generalization_hint(field: SchemaField) -> str:
    return _HINTS.get(
        field.kind, "no generalization exists for this type: disclose, withhold or pseudonymize it"
    )


def _check_pseudonymizable(field: SchemaField, annotation: Any) -> None:
    """A field that can hold a float is never pseudonymized (a pseudonym keys text or integers)."""
    rules = [field.spec.default, *(rule for _, rule in field.spec._purposes)]
    if "pseudonymize" in rules and _holds_float(annotation, depth=0):
        raise UsageError(
            f"{field.qualname}: pseudonymize needs text or integer values, but the field can "
            "hold a float, which is never pseudonymized (a pseudonym is keyed on the canonical "
            "JSON of an identifier: text or an integer, specs/safeshare-v1.md section 12)",
            hint=(
                "give the field a str or int type if it holds an identifier, or withhold it, or "
                "generalize it (NumberBucket(), Grid())"
            ),
        )


def _holds_float(annotation: Any, *, depth: int) -> bool:
    """Whether a value of *annotation* can be, or contain, a float (after model_dump)."""
    if depth > 16:
        return False
    origin = get_origin(annotation)
    if origin is Literal:
        return any(isinstance(a, float) for a in get_args(annotation))
    if origin is Annotated:
        return _holds_float(get_args(annotation)[0], depth=depth + 1)
    if origin is None and isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return any(isinstance(member.value, float) for member in annotation)
        return issubclass(annotation, float)
    return any(_holds_float(a, depth=depth + 1) for a in get_args(annotation) if a is not Ellipsis)


def _check_subject(field: SchemaField) -> None:
    subject, where = field.spec.subject, field.qualname
    if subject is None:
        return
    if subject not in SUBJECT_KINDS:
        raise UsageError(
            f"{where}: unknown subject kind {subject!r}",
            hint=f"use one of: {_listing(SUBJECT_KINDS)}",
        )
    fits = (
        field.kind in ("ip", "text")
        if subject == "ip"
        else field.kind in ("text", "date")
        if subject == "name_dob"
        else field.kind == "text"
    )
    if not fits:
        raise UsageError(
            f"{where}: subject={subject!r} needs a text field (an IP address type for 'ip', a "
            f"name and a date for 'name_dob'), but the field holds {_kind_words(field)}"
        )


def _check_name_dob(owner: str, fields: list[SchemaField]) -> None:
    texts = [f for f in fields if f.kind == "text" and not f.many]
    dates = [f for f in fields if f.kind == "date" and not f.many]
    if len(fields) != 2 or len(texts) != 1 or len(dates) != 1:
        raise UsageError(
            f"{owner}: subject='name_dob' marks exactly two fields of the same record, a name "
            f"(text) and a date of birth (date); found: {_listing(f.name for f in fields)}"
        )
