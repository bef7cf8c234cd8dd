"""The shipped record schemas: realistic records, sensible plans, and finding a schema by name."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from safeshare._jose import sdjwt
from safeshare.errors import MalformedInputError, UsageError
from safeshare.privacy import blind_index
from safeshare.privacy.plan import plan_for
from safeshare.privacy.schema import RecordSchema, schema_fields
from safeshare.privacy.schemas import (
    SCHEMAS,
    FinancialTransaction,
    PersonOfInterest,
    SubscriberInformation,
    TrafficRecords,
    schema_by_name,
)
from safeshare.privacy.secret import PrivacySecret
from safeshare.purpose.vocabulary import load_default

PURPOSES: Final = tuple(p.code for p in load_default().purposes)
SECRET: Final = PrivacySecret(bytes(32))

EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "subscriber_information": {
        "subscriber_name": "Alex Example",
        "date_of_birth": "1990-04-12",
        "postal_address": {
            "street": "1 Main Street",
            "postal_code": "1010",
            "city": "Atown",
            "country": "XA",
        },
        "phone_numbers": ["+99 555 0100", "0099 555 0101"],
        "email": "alex@example.org",
        "account_id": "ACC-778812",
        "service_type": "mobile prepaid",
        "service_start": "2024-02-03",
        "service_end": None,
        "payment_method": "cash top-up",
        "payment_account": "XA12 3456 7890 1234 5678",
        "registration_ip": "203.0.113.77",
        "registration_time": "2024-02-03T10:11:12Z",
    },
    "traffic_records": {
        "account_id": "ACC-778812",
        "source_ip": "2001:db8:1:2::77",
        "source_port": 51234,
        "destination_ip": "198.51.100.20",
        "destination_port": 443,
        "destination_number": "+99 555 0199",
        "service": "data",
        "started_at": "2026-11-28T21:15:00Z",
        "duration_seconds": 1234,
        "bytes_transferred": 5678901,
        "cell_id": "XA-CELL-0042",
        "cell_location": [48.2082, 16.3738],
        "imei": "490154203237518",
        "imsi": "310150123456789",
    },
    "person_of_interest": {
        "full_name": "Alex Example",
        "aliases": ["A. X.", "The Example"],
        "date_of_birth": "1990-04-12",
        "nationality": "XA",
        "passport_number": "P1234567",
        "last_known_address": {"street": "1 Main Street", "city": "Atown", "country": "XA"},
        "last_seen_location": [48.2082, 16.3738],
        "last_seen_at": "2026-11-28T21:15:00Z",
        "phone_numbers": ["+99 555 0100"],
        "physical_description": "about 1.85 m, slim, scar on the left hand",
        "officer_safety_warning": True,
        "criminal_record_summary": "2019: fraud, 2 years suspended",
        "health_notes": "diabetic, needs insulin daily",
        "ethnic_origin_notes": "recorded at the request of the subject",
    },
    "financial_transaction": {
        "transaction_id": "TX-2026-000123",
        "account_iban": "XA12 3456 7890 1234 5678",
        "account_holder": "Alex Example",
        "counterparty_iban": "XB98 7654 3210 9876 5432",
        "counterparty_name": "Shell Company Ltd",
        "amount": "9500.00",
        "currency": "EUR",
        "channel": "cash_withdrawal",
        "executed_at": "2026-11-28T21:15:00Z",
        "terminal_location": [48.2082, 16.3738],
        "reference": "invoice 42 for consulting",
    },
}


def pseudonym(value: Any) -> str:
    return SECRET.pseudonym(value, issuer="XA-NPOL", recipient="XB-PROS", case_ref="XA-2026-1")


def test_the_four_schemas_are_registered_by_id() -> None:
    assert dict(SCHEMAS) == {
        "subscriber_information": SubscriberInformation,
        "traffic_records": TrafficRecords,
        "person_of_interest": PersonOfInterest,
        "financial_transaction": FinancialTransaction,
    }
    assert set(EXAMPLES) == set(SCHEMAS)
    for schema_id, schema in SCHEMAS.items():
        assert schema.schema_id == schema_id
        assert schema.title


@pytest.mark.parametrize("schema_id", sorted(SCHEMAS))
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_schema_minimizes_its_example_for_every_purpose(schema_id: str, purpose: str) -> None:
    plan = plan_for(SCHEMAS[schema_id], purpose)
    minimized = plan.apply(EXAMPLES[schema_id], pseudonymize=pseudonym)
    payload, kept = minimized.conceal(randbytes=os.urandom)
    revealed, _ = sdjwt.reveal({"record": payload}, [d.encoded for d in kept])
    assert revealed["record"] == minimized.disclosed()
    for path in plan.paths("withhold"):
        node: Any = minimized.disclosed()
        for name in path[:-1]:
            node = node.get(name) or {}
        assert path[-1] not in node


@pytest.mark.parametrize("schema_id", sorted(SCHEMAS))
def test_special_categories_are_withheld_for_every_purpose_not_listed(schema_id: str) -> None:
    for field in schema_fields(SCHEMAS[schema_id]):
        if not field.spec.special_categories:
            continue
        for purpose in PURPOSES:
            if purpose not in field.spec.purposes:
                assert (
                    plan_for(SCHEMAS[schema_id], purpose).decision(field.path).action == "withhold"
                )


@pytest.mark.parametrize("schema_id", sorted(SCHEMAS))
def test_intelligence_analysis_never_reads_an_identifier(schema_id: str) -> None:
    plan = plan_for(SCHEMAS[schema_id], "intelligence_analysis")
    for decision in plan.decisions:
        if decision.subject is not None:
            assert decision.action != "disclose", decision.field


@pytest.mark.parametrize("schema_id", sorted(SCHEMAS))
def test_a_purpose_outside_criminal_matters_gets_nothing_in_clear(schema_id: str) -> None:
    plan = plan_for(SCHEMAS[schema_id], "data_protection_compliance")
    assert plan.paths("disclose") == ()
    assert plan.paths("pseudonymize") == ()


def test_locating_a_suspect() -> None:
    plan = plan_for(PersonOfInterest, "locate_suspect")
    expected = {
        "full_name": "disclose",
        "aliases": "disclose",
        "date_of_birth": "generalize",
        "passport_number": "pseudonymize",
        "last_known_address.street": "disclose",
        "last_seen_location": "disclose",  # locating needs the precise place
        "last_seen_at": "disclose",
        "phone_numbers": "disclose",
        "physical_description": "disclose",
        "officer_safety_warning": "disclose",
        "health_notes": "withhold",
        "criminal_record_summary": "withhold",
        "ethnic_origin_notes": "withhold",
    }
    assert {f: plan.decision(f).action for f in expected} == expected
    assert plan.decision("date_of_birth").generalization == "year"
    minimized = plan.apply(EXAMPLES["person_of_interest"], pseudonymize=pseudonym)
    assert minimized.record["date_of_birth"] == "1990"
    assert minimized.record["passport_number"] == pseudonym("P1234567")
    disclosed = minimized.disclosed()
    assert "health_notes" not in disclosed
    assert "criminal_record_summary" not in disclosed
    assert disclosed["last_seen_location"] == [48.2082, 16.3738]


def test_the_proceedings_see_criminal_history_but_not_health() -> None:
    plan = plan_for(PersonOfInterest, "prosecution")
    assert plan.decision("criminal_record_summary").action == "disclose"
    assert plan.decision("health_notes").action == "withhold"
    assert plan.special_categories_disclosed == ("criminal_convictions",)


def test_analysis_of_traffic_generalizes_places_times_and_addresses() -> None:
    plan = plan_for(TrafficRecords, "intelligence_analysis")
    minimized = plan.apply(EXAMPLES["traffic_records"], pseudonymize=pseudonym)
    record = minimized.record
    assert record["source_ip"] == "2001:db8:1::/48"
    assert record["destination_ip"] == "198.51.100.0/24"
    assert record["started_at"] == "2026-11-28"
    assert record["duration_seconds"] == "1000-9999"
    assert record["cell_location"] == [48.2, 16.4]
    assert record["imei"] == pseudonym("490154203237518")
    assert ("cell_id",) in minimized.withheld


def test_analysis_of_payments_buckets_amounts() -> None:
    minimized = plan_for(FinancialTransaction, "intelligence_analysis").apply(
        EXAMPLES["financial_transaction"], pseudonymize=pseudonym
    )
    assert minimized.record["amount"] == "1000 to <10000"
    assert minimized.record["account_iban"] == pseudonym("XA12 3456 7890 1234 5678")
    assert ("reference",) in minimized.withheld


def test_subscriber_information_for_locating_a_suspect() -> None:
    minimized = plan_for(SubscriberInformation, "locate_suspect").apply(
        EXAMPLES["subscriber_information"], pseudonymize=pseudonym
    )
    assert minimized.record["account_id"] == pseudonym("ACC-778812")
    assert minimized.record["date_of_birth"] == "1990"
    assert ("payment_account",) in minimized.withheld


@pytest.mark.parametrize("schema_id", sorted(SCHEMAS))
def test_every_subject_of_the_examples_is_one_the_blind_index_normalizes(schema_id: str) -> None:
    minimized = plan_for(SCHEMAS[schema_id], "prosecution").apply(
        EXAMPLES[schema_id], pseudonymize=pseudonym
    )
    assert minimized.subjects
    for kind, value in minimized.subjects:
        assert blind_index.normalize(kind, value)


def test_a_national_phone_number_is_refused_by_the_schema() -> None:
    record = {**EXAMPLES["person_of_interest"], "phone_numbers": ["5550123"]}
    with pytest.raises(MalformedInputError, match=r"phone_numbers\[0\]: a phone number is written"):
        plan_for(PersonOfInterest, "locate_suspect").apply(record, pseudonymize=pseudonym)


# -- schema_by_name ------------------------------------------------------------------------


def test_schema_by_name_finds_shipped_schemas_and_importable_classes() -> None:
    assert schema_by_name("person_of_interest") is PersonOfInterest
    assert schema_by_name("safeshare.privacy.schemas:TrafficRecords") is TrafficRecords


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("people", "unknown schema 'people'"),
        ("a.b:", "is not of the form package.module:ClassName"),
        ("a b:C", "is not of the form package.module:ClassName"),
        ("no_such_module_xyz:Schema", "cannot import the schema module 'no_such_module_xyz'"),
        ("safeshare.privacy.schemas:Nope", "the module 'safeshare.privacy.schemas' has no 'Nope'"),
        ("safeshare.errors:UsageError", "is not a record schema"),
        ("safeshare.privacy.schemas:Address", "has no schema_id"),
    ],
)
def test_schema_by_name_refuses_what_it_cannot_use(name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        schema_by_name(name)


def test_schema_by_name_refuses_text_only() -> None:
    with pytest.raises(UsageError, match="must be text"):
        schema_by_name(42)  # type: ignore[arg-type]


def test_schema_by_name_reports_a_module_that_fails_to_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_schemas_mod.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "bad_annotation_mod.py").write_text(
        "from typing import Annotated, ClassVar\n"
        "from safeshare.privacy.schema import DataField, RecordSchema\n"
        "class Bad(RecordSchema):\n"
        "    schema_id: ClassVar[str] = 'bad'\n"
        "    name: str\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(UsageError, match="failed: RuntimeError: boom"):
            schema_by_name("broken_schemas_mod:Schema")
        with pytest.raises(UsageError, match=r"Bad\.name has no DataField annotation"):
            schema_by_name("bad_annotation_mod:Bad")
    finally:
        sys.modules.pop("broken_schemas_mod", None)
        sys.modules.pop("bad_annotation_mod", None)


def test_a_users_own_schema_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "agency_schemas_mod.py").write_text(
        "from typing import Annotated, ClassVar\n"
        "from safeshare.privacy.schema import DataField, RecordSchema\n"
        "class Vehicle(RecordSchema):\n"
        "    schema_id: ClassVar[str] = 'vehicle'\n"
        "    title: ClassVar[str] = 'Vehicle'\n"
        "    plate: Annotated[str, DataField(category='subscriber',\n"
        "                                    purposes={'locate_suspect': 'disclose'})]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        schema = schema_by_name("agency_schemas_mod:Vehicle")
        assert issubclass(schema, RecordSchema)
        assert plan_for(schema, "locate_suspect").decision("plate").action == "disclose"
    finally:
        sys.modules.pop("agency_schemas_mod", None)
