"""Property tests (hypothesis) of minimization over generated record schemas.

Schemas are built at random with :func:`pydantic.create_model`: up to eight
fields of every supported kind (text, free text, dates, date-times, IP
addresses, numbers, coordinates, lists, yes/no values, one nested record),
each with a random :class:`~safeshare.privacy.schema.DataField` (category,
special categories, default, rules for a random set of purposes, including
generalizations given per purpose). For a random purpose of the shipped
vocabulary, the plan is applied to a random record whose values are unique
per field, the record is concealed with SD-JWT exactly as the sealer does
(``sdjwt.conceal(minimized.record, sd=minimized.sd)``), and the disclosures
the sender keeps (all but those of the withheld paths) are checked:

* no value of a withheld field appears in them, nor in the payload;
* no original of a pseudonymized or generalized value appears in them, in
  the payload, or anywhere in ``minimized.record``;
* processed by the verifier (RFC 9901 section 7.1), they give exactly
  ``minimized.disclosed()``, in which disclosed values are the originals.

Yes/no values are generated (for the plans) but not checked for appearing:
two fields can hold the same boolean, and ``true`` cannot be made unique.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Final

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, IPvAnyAddress, create_model

from safeshare import _testnet
from safeshare._internal.b64 import b64u_decode
from safeshare._jose import jwe, sdjwt
from safeshare.envelope import ENVELOPE_TYP, SD_JWT_TYP, seal
from safeshare.privacy.generalize import (
    DAY,
    MONTH,
    YEAR,
    Generalization,
    Grid,
    IpPrefix,
    NamedAreas,
    NumberBucket,
)
from safeshare.privacy.plan import Minimized, plan_for
from safeshare.privacy.schema import (
    SPECIAL_CATEGORIES,
    Coordinates,
    DataField,
    RecordSchema,
    schema_fields,
)
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.vocabulary import DATA_CATEGORIES, load_default

PURPOSES: Final = tuple(p.code for p in load_default().purposes)
_names = itertools.count()


class Generated(RecordSchema):
    schema_id: ClassVar[str] = "generated"
    title: ClassVar[str] = "Generated"


@dataclass(frozen=True)
class Kind:
    """One kind of field: its annotation, its generalizations, and unique values."""

    name: str
    annotation: Any
    generalizations: tuple[Generalization, ...] = ()
    free_text: bool = False
    many: bool = False


AREAS: Final = NamedAreas(areas=(("north", (0.0, -180.0, 90.0, 180.0)),), otherwise="south")

KINDS: Final = (
    Kind("text", str),
    Kind("free_text", str, (), free_text=True),
    Kind("date", date, (YEAR, MONTH)),
    Kind("datetime", datetime, (YEAR, MONTH, DAY)),
    Kind("ip", IPvAnyAddress, (IpPrefix(), IpPrefix(ipv4=16, ipv6=32))),
    Kind("int", int, (NumberBucket(), NumberBucket(width=1000))),
    Kind("coordinates", Coordinates, (Grid(), Grid(decimals=2), AREAS)),
    Kind("list_text", list[str], (), many=True),
    Kind("list_date", list[date], (YEAR, MONTH), many=True),
    Kind("bool", bool, ()),
)


def _rules(kind: Kind) -> st.SearchStrategy[Any]:
    plain = ["disclose", "withhold", "pseudonymize"]
    if kind.name == "coordinates":  # floats are never pseudonymized (a schema check)
        plain.remove("pseudonymize")
    if kind.generalizations or kind.free_text:
        plain.append("generalize")
    return st.one_of(st.sampled_from(plain), st.sampled_from(kind.generalizations or ("withhold",)))


@st.composite
def data_fields(draw: st.DrawFn, kind: Kind) -> DataField:
    special = draw(st.lists(st.sampled_from(SPECIAL_CATEGORIES), max_size=1))
    default = draw(_rules(kind))
    if special and default == "disclose":
        default = "withhold"
    purposes = draw(st.dictionaries(st.sampled_from(PURPOSES), _rules(kind), max_size=5))
    return DataField(
        category=draw(st.sampled_from(DATA_CATEGORIES)),
        purposes=purposes,
        default=default,
        generalize=draw(st.sampled_from(kind.generalizations)) if kind.generalizations else None,
        special_categories=tuple(special),
        free_text=kind.free_text,
    )


@dataclass(frozen=True)
class Case:
    schema: type[RecordSchema]
    #: field name -> kind name (nested fields under "part")
    kinds: dict[str, str]
    record: dict[str, Any]
    purpose: str


def _value(draw: st.DrawFn, kind: str, index: int) -> Any:
    """A JSON value of *kind* that no other field of the record can hold."""
    token = draw(st.text(alphabet="abcdefghijkmnpqrstuvwxyz23456789", min_size=6, max_size=12))
    if kind in ("text", "free_text"):
        return f"secret{index}-{token}"
    if kind == "list_text":
        size = draw(st.integers(min_value=1, max_value=3))  # [] is not unique
        return [f"item{index}x{n}-{token}" for n in range(size)]
    if kind in ("date", "list_date"):
        # Years of dates are 1900 + 10 * index + 0..8: unique per field, never a date-time's.
        days = draw(st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=3))
        values = [(date(1900 + 10 * index, 1, 1) + timedelta(days=d)).isoformat() for d in days]
        return values if kind == "list_date" else values[0]
    if kind == "datetime":
        seconds = draw(st.integers(min_value=0, max_value=300 * 86400))
        moment = datetime(2000 + index, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
        return moment.isoformat().replace("+00:00", "Z")
    if kind == "ip":
        if draw(st.booleans()):
            a, b = draw(st.integers(0, 255)), draw(st.integers(1, 254))
            return f"10.{index}.{a}.{b}"
        groups = draw(st.lists(st.integers(1, 0xFFFF), min_size=3, max_size=3))
        return f"2001:db8:{index + 1:x}::{groups[0]:x}:{groups[1]:x}:{groups[2]:x}"
    if kind == "int":
        return 10**9 * (index + 1) + draw(st.integers(min_value=1, max_value=10**9 - 1))
    if kind == "coordinates":
        # Four decimals, the last one never 0: no point lies exactly on a grid line.
        lat = index + draw(st.integers(0, 999)) / 1000 + draw(st.integers(1, 9)) / 10000
        lon = 10 * index + draw(st.integers(0, 999)) / 1000 + draw(st.integers(1, 9)) / 10000
        return [round(lat, 4), round(lon, 4)]
    return draw(st.booleans())


@st.composite
def cases(draw: st.DrawFn) -> Case:
    chosen = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=8))
    fields: dict[str, Any] = {}
    kind_of: dict[str, str] = {}
    record: dict[str, Any] = {}
    index = 0
    for position, kind in enumerate(chosen):
        name = f"f{position}"
        optional = draw(st.booleans())
        annotation = kind.annotation | None if optional else kind.annotation
        fields[name] = (Annotated[annotation, draw(data_fields(kind))], None if optional else ...)
        kind_of[name] = kind.name
        if optional and draw(st.integers(0, 4)) == 0:
            record[name] = None
        else:
            record[name] = _value(draw, kind.name, index)
        index += 1
    if draw(st.booleans()):
        inner: dict[str, Any] = {}
        part_record: dict[str, Any] = {}
        for position, kind in enumerate(
            draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
        ):
            name = f"g{position}"
            inner[name] = (Annotated[kind.annotation, draw(data_fields(kind))], ...)
            kind_of[f"part.{name}"] = kind.name
            part_record[name] = _value(draw, kind.name, index)
            index += 1
        part: type[BaseModel] = create_model(f"Part{next(_names)}", __base__=RecordSchema, **inner)
        fields["part"] = (part, ...)
        record["part"] = part_record
    schema: type[RecordSchema] = create_model(
        f"Generated{next(_names)}", __base__=Generated, **fields
    )
    return Case(schema, kind_of, record, draw(st.sampled_from(PURPOSES)))


def pseudonymize(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    return "pn_" + digest[:22]


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = record
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    return node


def _atoms(value: Any) -> list[str]:
    """The JSON values that must not appear (canonical text): the value and its elements."""
    if value is None:
        return []
    atoms = [json.dumps(value, sort_keys=True)]
    if isinstance(value, list):
        atoms.extend(json.dumps(v, sort_keys=True) for v in value if v is not None)
    return atoms


def _subtrees(value: Any) -> tuple[set[str], list[str]]:
    """Every JSON value inside *value* (canonical text), and every string in it."""
    nodes: set[str] = set()
    strings: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        nodes.add(json.dumps(item, sort_keys=True))
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
            strings.extend(item)
        elif isinstance(item, list):
            stack.extend(item)
    return nodes, strings


def _appears(atom: str, nodes: set[str], strings: list[str]) -> bool:
    if atom in nodes:
        return True
    text = json.loads(atom)
    return isinstance(text, str) and any(text in s for s in strings)


def _sent(minimized: Minimized) -> tuple[dict[str, Any], list[sdjwt.Disclosure]]:
    payload, disclosures = sdjwt.conceal(minimized.record, randbytes=os.urandom, sd=minimized.sd)
    return payload, minimized.select_disclosures(payload, disclosures)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_withheld_pseudonymized_and_generalized_values_never_leave(case: Case) -> None:
    plan = plan_for(case.schema, case.purpose)
    minimized = plan.apply(case.record, pseudonymize=pseudonymize)
    # The originals as the record holds them (canonical text of dates and addresses).
    original = case.schema.model_validate(case.record).model_dump(mode="json")
    payload, kept = _sent(minimized)
    nodes, strings = _subtrees([d.value for d in kept])
    payload_nodes, payload_strings = _subtrees(payload)
    record_nodes, record_strings = _subtrees(minimized.record)
    checked = 0
    for decision in plan.decisions:
        field = ".".join(decision.path)
        if case.kinds[field] == "bool" or decision.action == "disclose":
            continue
        for atom in _atoms(_get(original, decision.path)):
            checked += 1
            assert not _appears(atom, nodes, strings), (decision.rule, atom)
            assert not _appears(atom, payload_nodes, payload_strings), (decision.rule, atom)
            if decision.action != "withhold":
                assert not _appears(atom, record_nodes, record_strings), (decision.rule, atom)
    # What the verifier gets from the kept disclosures is exactly the disclosed view.
    revealed, _ = sdjwt.reveal(payload, [d.encoded for d in kept])
    disclosed = minimized.disclosed()
    assert revealed == disclosed
    for decision in plan.decisions:
        present = _get(disclosed, decision.path[:-1]) if len(decision.path) > 1 else disclosed
        if decision.action == "withhold":
            assert not isinstance(present, dict) or decision.path[-1] not in present
        elif decision.action == "disclose" and isinstance(present, dict):
            assert present[decision.path[-1]] == _get(original, decision.path)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_every_decision_follows_the_rule_order(case: Case) -> None:
    plan = plan_for(case.schema, case.purpose)
    fields = {".".join(f.path): f for f in schema_fields(case.schema)}
    for decision in plan.decisions:
        spec = fields[decision.field].spec
        rule, listed = spec.rule_for(case.purpose)
        origin = f"purpose {case.purpose!r} ->" if listed else "default for unlisted purposes:"
        wants_generalize = isinstance(rule, Generalization) or rule == "generalize"
        if wants_generalize and spec.free_text:
            assert decision.action == "withhold"
            assert "free text cannot be generalized: withheld" in decision.rule
        elif wants_generalize:
            expected = rule if isinstance(rule, Generalization) else spec.generalize
            assert expected is not None
            assert decision.action == "generalize"
            assert decision.generalization == expected.label
        else:
            assert decision.action == rule
        assert origin in decision.rule
        if spec.special_categories and not listed:
            assert decision.action != "disclose"


# -- end to end, through seal() ---------------------------------------------------------------

_NET: Final = _testnet.build(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))


def _decrypted_view(envelope: bytes, agency: str) -> tuple[set[str], list[str]]:
    """Every JSON value and string the recipient can decode from the plaintext."""
    parsed = jwe.parse(json.loads(envelope), typ=ENVELOPE_TYP, cty=SD_JWT_TYP, max_recipients=32)
    token = jwe.decrypt(parsed, _NET.keysets[agency].decryption_keys)[0].decode("ascii")
    issuer_jwt, disclosures, _ = sdjwt.split(token)
    payload = json.loads(b64u_decode(issuer_jwt.split(".")[1], what="payload"))
    values = [payload] + [json.loads(b64u_decode(d, what="disclosure")) for d in disclosures]
    return _subtrees(values)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_through_seal_nothing_outside_the_plan_reaches_the_recipient(case: Case) -> None:
    plan = plan_for(case.schema, case.purpose)
    special = plan.special_categories_disclosed
    handling = HandlingConditions.for_special_categories(*special) if special else None
    envelope = seal(
        case.record,
        sender=_NET.keysets["XA-NPOL"],
        to=["XB-PROS"],
        registry=_NET.registry,
        purpose=case.purpose,
        legal_basis="UNTOC.Art18",
        case_ref="XA/2026/PROPERTY",
        message_type="spontaneous_information",
        handling=handling,
        schema=case.schema,
        now=_NET.now,
    )
    nodes, strings = _decrypted_view(envelope, "XB-PROS")
    original = case.schema.model_validate(case.record).model_dump(mode="json")
    for decision in plan.decisions:
        field = ".".join(decision.path)
        if case.kinds[field] == "bool" or decision.action == "disclose":
            continue
        for atom in _atoms(_get(original, decision.path)):
            assert not _appears(atom, nodes, strings), (decision.rule, atom)
