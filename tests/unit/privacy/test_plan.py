"""Disclosure plans: decisions, explanations, and minimizing a record for the sealer."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Final

import pytest
from pydantic import BaseModel, Field, IPvAnyAddress, field_validator

from safeshare._jose import sdjwt
from safeshare.errors import MalformedInputError, UsageError
from safeshare.privacy.generalize import DAY, MONTH, YEAR, IpPrefix
from safeshare.privacy.plan import DisclosurePlan, FieldDecision, Minimized, plan_for
from safeshare.privacy.schema import Coordinates, DataField, RecordSchema
from safeshare.privacy.secret import PrivacySecret
from safeshare.purpose.vocabulary import Purpose, VocabularyFile, load_default, merge

SUB: Final = "subscriber"
LOCATE: Final = "locate_suspect"
ANALYSIS: Final = "intelligence_analysis"


class Home(RecordSchema):
    street: Annotated[str | None, DataField(category=SUB, purposes={LOCATE: "disclose"})] = None
    city: Annotated[
        str, DataField(category=SUB, purposes={LOCATE: "disclose", ANALYSIS: "disclose"})
    ]


class Suspect(RecordSchema):
    schema_id: ClassVar[str] = "suspect"
    title: ClassVar[str] = "Suspect"

    name: Annotated[
        str,
        DataField(
            category=SUB,
            subject="name_dob",
            purposes={LOCATE: "disclose", ANALYSIS: "pseudonymize"},
        ),
    ]
    born: Annotated[
        date | None,
        DataField(
            category=SUB,
            subject="name_dob",
            generalize=YEAR,
            purposes={LOCATE: "generalize", ANALYSIS: MONTH},
        ),
    ] = None
    phones: Annotated[
        list[str],
        DataField(
            category=SUB, subject="phone", purposes={LOCATE: "disclose", ANALYSIS: "pseudonymize"}
        ),
    ] = Field(default_factory=list)
    passport: Annotated[
        str | None, DataField(category=SUB, subject="passport", purposes={LOCATE: "pseudonymize"})
    ] = None
    ip: Annotated[
        IPvAnyAddress | None,
        DataField(category="traffic", subject="ip", generalize=IpPrefix(), default="generalize"),
    ] = None
    seen_at: Annotated[
        list[datetime],
        DataField(category="traffic", generalize=DAY, purposes={ANALYSIS: "generalize"}),
    ] = Field(default_factory=list)
    where: Annotated[
        Coordinates | None, DataField(category="traffic", purposes={LOCATE: "disclose"})
    ] = None
    notes: Annotated[
        str | None,
        DataField(
            category="content",
            free_text=True,
            purposes={LOCATE: "disclose", ANALYSIS: "generalize"},
        ),
    ] = None
    health: Annotated[
        str | None,
        DataField(
            category="content",
            free_text=True,
            special_categories=("health",),
            purposes={"prevent_imminent_threat": "disclose"},
        ),
    ] = None
    record: Annotated[
        str | None,
        DataField(
            category="content",
            special_categories=("criminal_convictions",),
            purposes={"prosecution": "disclose"},
        ),
    ] = None
    home: Home | None = None


RECORD: dict[str, Any] = {
    "name": "Alex Example",
    "born": "1990-04-12",
    "phones": ["+99 555 0100", "+99 555 0101"],
    "passport": "P1234567",
    "ip": "203.0.113.77",
    "seen_at": ["2026-11-28T21:15:00Z", "2026-11-27T08:00:00+01:00"],
    "where": [48.2082, 16.3738],
    "notes": "tall; scar on the left hand",
    "health": "diabetic, needs insulin",
    "record": "2019 fraud conviction",
    "home": {"street": "1 Main Street", "city": "Atown"},
}

SECRET = PrivacySecret(bytes(range(32)))


def pseudonym(value: Any) -> str:
    return SECRET.pseudonym(value, issuer="XA-NPOL", recipient="XB-PROS", case_ref="XA-2026-1")


# -- decisions --------------------------------------------------------------------------


def test_a_listed_purpose_decides_with_its_rule() -> None:
    plan = plan_for(Suspect, LOCATE)
    name = plan.decision(("name",))
    assert name.action == "disclose"
    assert name.generalization is None
    assert name.rule == "Suspect.name: purpose 'locate_suspect' -> disclose"
    born = plan.decision("born")
    assert (born.action, born.generalization) == ("generalize", "year")
    assert born.rule == "Suspect.born: purpose 'locate_suspect' -> generalize (year)"
    assert plan.decision("passport").action == "pseudonymize"
    assert plan.decision("home.street").rule == "Home.street: purpose 'locate_suspect' -> disclose"


def test_a_generalization_given_for_the_purpose_is_used() -> None:
    born = plan_for(Suspect, ANALYSIS).decision("born")
    assert (born.action, born.generalization) == ("generalize", "month")
    assert born.rule == "Suspect.born: purpose 'intelligence_analysis' -> generalize (month)"


def test_an_unlisted_purpose_gets_the_default() -> None:
    plan = plan_for(Suspect, "border_control")
    name = plan.decision("name")
    assert name.action == "withhold"
    assert name.rule == "Suspect.name: default for unlisted purposes: withhold"
    ip = plan.decision("ip")
    assert (ip.action, ip.generalization) == ("generalize", "ipv4/24,ipv6/48")
    assert ip.rule == "Suspect.ip: default for unlisted purposes: generalize (ipv4/24,ipv6/48)"


def test_free_text_to_generalize_is_withheld_and_the_rule_says_so() -> None:
    notes = plan_for(Suspect, ANALYSIS).decision("notes")
    assert notes.action == "withhold"
    assert notes.generalization is None
    assert notes.rule == (
        "Suspect.notes: free text cannot be generalized: withheld "
        "(purpose 'intelligence_analysis' -> generalize)"
    )


def test_decisions_carry_category_special_categories_and_subject() -> None:
    plan = plan_for(Suspect, "prosecution")
    health = plan.decision("health")
    assert (health.category, health.special_categories, health.subject) == (
        "content",
        ("health",),
        None,
    )
    assert plan.decision("phones").subject == "phone"
    assert [d.field for d in plan.decisions][-2:] == ["home.street", "home.city"]


def test_special_categories_disclosed_lists_those_not_withheld() -> None:
    assert plan_for(Suspect, "prosecution").special_categories_disclosed == (
        "criminal_convictions",
    )
    assert plan_for(Suspect, "prevent_imminent_threat").special_categories_disclosed == ("health",)
    assert plan_for(Suspect, LOCATE).special_categories_disclosed == ()


def test_paths_summary_and_pseudonymizes() -> None:
    plan = plan_for(Suspect, LOCATE)
    assert plan.paths("pseudonymize") == (("passport",),)
    assert plan.paths("generalize") == (("born",), ("ip",))
    assert plan.summary() == {"disclose": 6, "withhold": 3, "pseudonymize": 1, "generalize": 2}
    assert plan.pseudonymizes
    assert not plan_for(Suspect, "border_control").pseudonymizes
    with pytest.raises(UsageError, match="unknown action 'show'"):
        plan.paths("show")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"the schema suspect has no field 'home\.planet'"):
        plan.decision("home.planet")


def test_an_unknown_purpose_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown purpose 'locate_suspekt'") as info:
        plan_for(Suspect, "locate_suspekt")
    assert info.value.hint is not None
    assert "locate_suspect" in info.value.hint
    assert "criminal_investigation" in info.value.hint
    with pytest.raises(UsageError, match="unknown purpose 'int'"):
        plan_for(Suspect, 42)  # type: ignore[arg-type]


def test_an_unknown_purpose_in_the_schema_is_refused_naming_the_field() -> None:
    class Typo(RecordSchema):
        schema_id: ClassVar[str] = "typo"
        name: Annotated[str, DataField(category=SUB, purposes={"locate_suspekt": "disclose"})]

    with pytest.raises(
        UsageError, match=r"Typo\.name: unknown purpose 'locate_suspekt' in purposes"
    ):
        plan_for(Typo, LOCATE)
    with pytest.raises(UsageError, match=r"Typo\.name: unknown purpose"):
        plan_for(Typo, "prosecution")  # whatever the purpose planned


def test_a_vocabulary_extension_makes_its_purposes_known() -> None:
    class Custom(RecordSchema):
        schema_id: ClassVar[str] = "custom"
        name: Annotated[str, DataField(category=SUB, purposes={"witness_protection": "disclose"})]

    extension = VocabularyFile(
        format="safeshare-vocabulary/v1",
        purposes=(
            Purpose(
                code="witness_protection",
                title="Witness protection",
                description="Protecting a witness of the case.",
                instruments=("UNTOC",),
            ),
        ),
    )
    vocabulary = merge(load_default(), extension)
    plan = plan_for(Custom, "witness_protection", vocabulary=vocabulary)
    assert plan.decision("name").action == "disclose"
    with pytest.raises(UsageError, match=r"Custom\.name: unknown purpose 'witness_protection'"):
        plan_for(Custom, LOCATE)


def test_only_whole_record_schemas_are_planned() -> None:
    with pytest.raises(UsageError, match="Home has no schema_id"):
        plan_for(Home, LOCATE)

    class Plain(BaseModel):
        name: str

    with pytest.raises(UsageError, match="plan_for takes a RecordSchema subclass, not 'Plain'"):
        plan_for(Plain, LOCATE)  # type: ignore[arg-type]


# -- presentation ------------------------------------------------------------------------


def test_explain_is_an_aligned_table_with_the_rules() -> None:
    text = plan_for(Suspect, LOCATE).explain()
    lines = text.splitlines()
    assert lines[0] == "Disclosure plan for suspect (Suspect), purpose locate_suspect"
    header = lines[2]
    assert header.split() == ["FIELD", "ACTION", "CATEGORY", "SPECIAL", "SUBJECT", "RULE"]
    rule_column = header.index("RULE")
    rows = lines[3 : 3 + 12]
    assert all(
        len(row) > rule_column and row[rule_column - 2 : rule_column] == "  " for row in rows
    )
    born = next(row for row in rows if row.startswith("born "))
    assert "generalize (year)" in born
    assert born[rule_column:] == "Suspect.born: purpose 'locate_suspect' -> generalize (year)"
    assert "6 disclosed, 3 withheld, 1 pseudonymized, 2 generalized" in text
    assert "special categories not withheld" not in text
    assert (
        "special categories not withheld: health"
        in plan_for(Suspect, "prevent_imminent_threat").explain()
    )


def test_as_json_holds_every_decision() -> None:
    plan = plan_for(Suspect, ANALYSIS)
    data = plan.as_json()
    assert json.loads(json.dumps(data)) == data  # JSON values only
    assert data["schema_id"] == "suspect"
    assert data["title"] == "Suspect"
    assert data["purpose"] == ANALYSIS
    assert len(data["decisions"]) == len(plan.decisions) == 12
    born = next(d for d in data["decisions"] if d["field"] == "born")
    assert born == {
        "path": ["born"],
        "field": "born",
        "action": "generalize",
        "generalization": "month",
        "category": SUB,
        "special_categories": [],
        "subject": "name_dob",
        "rule": "Suspect.born: purpose 'intelligence_analysis' -> generalize (month)",
    }
    assert data["summary"] == plan.summary()


def test_plans_are_frozen() -> None:
    plan = plan_for(Suspect, LOCATE)
    with pytest.raises(AttributeError):
        plan.purpose = "prosecution"  # type: ignore[misc]
    decision: FieldDecision = plan.decisions[0]
    with pytest.raises(AttributeError):
        decision.action = "disclose"  # type: ignore[misc]
    assert plan == plan_for(Suspect, LOCATE)


# -- applying a plan ---------------------------------------------------------------------


def test_apply_replaces_pseudonymized_and_generalized_values_and_keeps_withheld_ones() -> None:
    minimized = plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=pseudonym)
    record = minimized.record
    assert record["name"] == "Alex Example"
    assert record["born"] == "1990"
    assert record["passport"] == pseudonym("P1234567")
    assert record["passport"].startswith("pn_")
    assert record["ip"] == "203.0.113.0/24"
    assert record["where"] == [48.2082, 16.3738]
    # Withheld values stay in the record: they become undisclosed digests.
    assert record["health"] == "diabetic, needs insulin"
    assert record["seen_at"] == ["2026-11-28T21:15:00Z", "2026-11-27T08:00:00+01:00"]
    assert minimized.withheld == frozenset({("seen_at",), ("health",), ("record",)})
    assert minimized.pseudonymized == ((("passport",), "P1234567", pseudonym("P1234567")),)


def test_pseudonymize_and_generalize_map_over_lists() -> None:
    minimized = plan_for(Suspect, ANALYSIS).apply(RECORD, pseudonymize=pseudonym)
    assert minimized.record["phones"] == [pseudonym("+99 555 0100"), pseudonym("+99 555 0101")]
    assert minimized.record["seen_at"] == ["2026-11-28", "2026-11-27"]
    assert minimized.record["name"] == pseudonym("Alex Example")
    assert minimized.record["born"] == "1990-04"
    assert (("phones",), "+99 555 0101", pseudonym("+99 555 0101")) in minimized.pseudonymized
    assert len(minimized.pseudonymized) == 3


def test_disclosed_is_the_record_without_withheld_members() -> None:
    minimized = plan_for(Suspect, ANALYSIS).apply(RECORD, pseudonymize=pseudonym)
    disclosed = minimized.disclosed()
    assert set(disclosed) == {"name", "born", "phones", "ip", "seen_at", "home"}
    assert disclosed["home"] == {"city": "Atown"}
    assert "street" in minimized.record["home"]  # the record itself is unchanged


def test_subjects_list_every_identifier_whatever_its_action() -> None:
    minimized = plan_for(Suspect, "border_control").apply(RECORD)  # everything withheld
    assert minimized.subjects == (
        ("phone", "+99 555 0100"),
        ("phone", "+99 555 0101"),
        ("passport", "P1234567"),
        ("ip", "203.0.113.77"),
        ("name_dob", "Alex Example|1990-04-12"),
    )


def test_name_dob_needs_both_parts() -> None:
    record = {**RECORD, "born": None}
    minimized = plan_for(Suspect, "border_control").apply(record)
    assert all(kind != "name_dob" for kind, _ in minimized.subjects)


def test_null_values_are_not_pseudonymized_or_generalized() -> None:
    calls: list[Any] = []

    def spy(value: Any) -> str:
        calls.append(value)
        return "pn_x"

    minimized = plan_for(Suspect, LOCATE).apply({"name": "A"}, pseudonymize=spy)
    assert calls == []
    assert minimized.record["passport"] is None
    assert minimized.record["born"] is None
    assert minimized.record["home"] is None
    assert minimized.sd["home"] is True
    assert not any(path[0] == "home" for path in minimized.withheld)


def test_pseudonymize_is_required_when_a_pseudonymized_field_has_a_value() -> None:
    with pytest.raises(UsageError, match="the field passport is pseudonymized") as info:
        plan_for(Suspect, LOCATE).apply(RECORD)
    assert "secret.pseudonym" in (info.value.hint or "")


def test_a_pseudonymize_function_must_return_text() -> None:
    with pytest.raises(UsageError, match="returned int for passport"):
        plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=lambda v: 7)  # type: ignore[arg-type,return-value]
    with pytest.raises(UsageError, match="returned str for passport"):
        plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=lambda v: "")


def test_a_schema_instance_is_accepted_and_another_schema_is_refused() -> None:
    instance = Suspect.model_validate(RECORD)
    plan = plan_for(Suspect, LOCATE)
    assert (
        plan.apply(instance, pseudonymize=pseudonym).record
        == plan.apply(RECORD, pseudonymize=pseudonym).record
    )
    with pytest.raises(UsageError, match="the record is a Home, but the plan is for Suspect"):
        plan.apply(Home(city="Atown"))


def test_a_record_that_is_not_an_object_is_malformed() -> None:
    with pytest.raises(
        MalformedInputError, match="a suspect record must be a JSON object, not list"
    ):
        plan_for(Suspect, LOCATE).apply([RECORD])  # type: ignore[arg-type]


def test_every_problem_of_a_record_is_listed_without_its_values() -> None:
    bad = {
        "born": "12.04.1990",
        "phones": ["+99 555 0100", 42],
        "ip": "secret-host-name",
        "where": [123.0, 16.3],
        "planet": "Earth",
        "home": {"street": "1 Main Street"},
    }
    with pytest.raises(MalformedInputError) as info:
        plan_for(Suspect, LOCATE).apply(bad)
    message = info.value.message
    assert message.startswith("the record does not match the schema suspect: ")
    for where in ("name:", "born:", "phones[1]:", "ip:", "where[0]:", "planet:", "home.city:"):
        assert where in message, where
    for value in ("12.04.1990", "secret-host-name", "123", "Earth", "1 Main Street"):
        assert value not in message, value
    assert "--explain" in (info.value.hint or "")


def test_a_custom_validator_message_is_not_echoed() -> None:
    class Checked(RecordSchema):
        schema_id: ClassVar[str] = "checked"
        code: Annotated[str, DataField(category=SUB)]

        @field_validator("code")
        @classmethod
        def _check(cls, value: str) -> str:
            raise ValueError(f"{value} is not a valid code")

    with pytest.raises(MalformedInputError) as info:
        plan_for(Checked, LOCATE).apply({"code": "TOP-SECRET-42"})
    assert "TOP-SECRET-42" not in info.value.message
    assert "code: the value is refused by the schema's validator" in info.value.message


def test_many_problems_are_capped() -> None:
    fields = {f"f{i}": (Annotated[int, DataField(category=SUB)], ...) for i in range(30)}
    from pydantic import create_model

    model = create_model("Wide", __base__=RecordSchema, **fields)  # type: ignore[call-overload]
    model.schema_id = "wide"
    with pytest.raises(MalformedInputError, match=r"\(and 10 more\)"):
        plan_for(model, LOCATE).apply({})


def test_a_text_ip_field_that_holds_no_address_cannot_be_generalized() -> None:
    class Log(RecordSchema):
        schema_id: ClassVar[str] = "log"
        source: Annotated[str, DataField(category="traffic", default=IpPrefix())]

    with pytest.raises(MalformedInputError) as info:
        plan_for(Log, LOCATE).apply({"source": "host.internal"})
    assert info.value.message.startswith("source: cannot generalize to ipv4/24,ipv6/48")
    assert "host.internal" not in info.value.message


# -- for the sealer ------------------------------------------------------------------------


def test_sd_makes_every_member_disclosable_and_nested_records_recursive() -> None:
    minimized = plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=pseudonym)
    assert set(minimized.sd) == set(minimized.record)
    assert minimized.sd["home"] == sdjwt.Sd(inner={"street": True, "city": True})
    assert all(spec is True for name, spec in minimized.sd.items() if name != "home")


def reveal(
    minimized: Minimized,
) -> tuple[dict[str, Any], list[sdjwt.Disclosure], list[sdjwt.Disclosure]]:
    payload, everything = sdjwt.conceal(minimized.record, randbytes=os.urandom, sd=minimized.sd)
    kept = minimized.select_disclosures(payload, everything)
    revealed, _ = sdjwt.reveal(payload, [d.encoded for d in kept])
    return revealed, kept, everything


@pytest.mark.parametrize("purpose", [LOCATE, ANALYSIS, "prosecution", "border_control"])
def test_the_kept_disclosures_reveal_exactly_the_disclosed_view(purpose: str) -> None:
    minimized = plan_for(Suspect, purpose).apply(RECORD, pseudonymize=pseudonym)
    revealed, kept, everything = reveal(minimized)
    assert revealed == minimized.disclosed()
    assert len(everything) - len(kept) == len(minimized.withheld)


def test_a_withheld_nested_member_is_dropped_but_its_record_is_kept() -> None:
    minimized = plan_for(Suspect, ANALYSIS).apply(RECORD, pseudonymize=pseudonym)
    assert ("home", "street") in minimized.withheld
    revealed, kept, _ = reveal(minimized)
    assert revealed["home"] == {"city": "Atown"}
    assert "1 Main Street" not in json.dumps([d.value for d in kept])


def test_conceal_returns_the_payload_and_only_the_disclosures_to_send() -> None:
    minimized = plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=pseudonym)
    payload, kept = minimized.conceal(randbytes=os.urandom, decoys=0)
    sent = json.dumps([d.value for d in kept]) + json.dumps(payload)
    for secret_value in ("diabetic", "2019 fraud conviction", "2026-11-28T21:15:00Z", "P1234567"):
        assert secret_value not in sent, secret_value
    revealed, _ = sdjwt.reveal(payload, [d.encoded for d in kept])
    assert revealed == minimized.disclosed()


def test_select_disclosures_ignores_decoys_and_unknown_digests() -> None:
    minimized = plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=pseudonym)
    payload, everything = sdjwt.conceal(minimized.record, randbytes=os.urandom, sd=minimized.sd)
    assert minimized.select_disclosures(payload, []) == []
    kept = minimized.select_disclosures(payload, everything)
    assert [d for d in everything if d in kept] == kept  # order kept


def test_select_disclosures_follows_array_element_disclosures() -> None:
    minimized = plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=pseudonym)
    sd = {**minimized.sd, "phones": sdjwt.ArraySpec(each=True)}
    payload, everything = sdjwt.conceal(minimized.record, randbytes=os.urandom, sd=sd)
    kept = minimized.select_disclosures(payload, everything)
    revealed, _ = sdjwt.reveal(payload, [d.encoded for d in kept])
    assert revealed["phones"] == ["+99 555 0100", "+99 555 0101"]


def test_minimized_is_frozen() -> None:
    minimized = plan_for(Suspect, LOCATE).apply(RECORD, pseudonymize=pseudonym)
    with pytest.raises(AttributeError):
        minimized.withheld = frozenset()  # type: ignore[misc]
    assert isinstance(minimized.plan, DisclosurePlan)


def test_generalized_date_times_use_utc() -> None:
    record = {**RECORD, "seen_at": [datetime(2026, 1, 1, 0, 30, tzinfo=UTC).isoformat()]}
    minimized = plan_for(Suspect, ANALYSIS).apply(record, pseudonymize=pseudonym)
    assert minimized.record["seen_at"] == ["2026-01-01"]


class Account(RecordSchema):
    schema_id: ClassVar[str] = "account"
    number: Annotated[int, DataField(category=SUB, purposes={LOCATE: "pseudonymize"})]


def test_a_value_outside_the_pseudonym_domain_is_refused_naming_the_field() -> None:
    secret = PrivacySecret.generate()
    plan = plan_for(Account, LOCATE)

    def pseudonymize(value: Any) -> str:
        return secret.pseudonym(value, issuer="XA-NPOL", recipient="XB-PROS", case_ref="C-1")

    assert plan.apply({"number": 42}, pseudonymize=pseudonymize).record["number"].startswith("pn_")
    with pytest.raises(UsageError, match="field number cannot be pseudonymized") as info:
        plan.apply({"number": 2**60}, pseudonymize=pseudonymize)
    assert str(2**60) not in str(info.value)
