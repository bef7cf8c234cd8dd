"""``safeshare minimize``: list schemas, explain plans, minimize records."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

from safeshare.keys import AgencyKeySet, DecryptionKey, SigningKey

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
CASE: Final = "XA-2026-0042"

PERSON: Final[dict[str, Any]] = {
    "full_name": "Alex Example",
    "aliases": ["A. X."],
    "date_of_birth": "1990-04-12",
    "nationality": "XA",
    "passport_number": "P1234567",
    "last_seen_location": [48.2082, 16.3738],
    "last_seen_at": "2026-11-28T21:15:00Z",
    "phone_numbers": ["+99 555 0100"],
    "physical_description": "about 1.85 m, scar on the left hand",
    "officer_safety_warning": True,
    "criminal_record_summary": "2019 fraud conviction",
    "health_notes": "diabetic, needs insulin",
}
#: Values a locate_suspect recipient must never see.
NEVER_FOR_LOCATING: Final = ("1990-04-12", "P1234567", "2019 fraud", "diabetic")


def write(tmp_path: Path, value: Any, name: str = "record.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, AgencyKeySet]:
    """XA's key file with a privacy secret, one without, and the key set itself."""
    from tests.cli.conftest import PASSPHRASE

    directory = tmp_path_factory.mktemp("keys")
    keyset = AgencyKeySet.generate(XA)
    with_secret = directory / "with.keys.json"
    keyset.save(with_secret, PASSPHRASE)
    without = directory / "without.keys.json"
    AgencyKeySet(XA, [SigningKey.generate()], [DecryptionKey.generate()]).save(without, PASSPHRASE)
    return with_secret, without, keyset


# -- listing and explaining --------------------------------------------------------------


def test_list_schemas(cli: Cli) -> None:
    result = cli("minimize", "--list-schemas")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "financial_transaction",
        "person_of_interest",
        "subscriber_information",
        "traffic_records",
    ]
    assert "safeshare.privacy.schemas:PersonOfInterest" in result.out
    data = cli("minimize", "--list-schemas", "--json").json()
    assert {s["schema_id"] for s in data["schemas"]} == {line.split()[0] for line in lines}
    assert data["schemas"][1]["title"] == "Person of interest"


def test_explain_prints_the_plan_with_its_rules(cli: Cli) -> None:
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect", "--explain"
    )
    assert result.code == 0, result.err
    assert result.out.startswith(
        "Disclosure plan for person_of_interest (Person of interest), purpose locate_suspect\n"
    )
    row = next(line for line in result.out.splitlines() if line.startswith("date_of_birth "))
    assert "generalize (year)" in row
    assert row.endswith(
        "PersonOfInterest.date_of_birth: purpose 'locate_suspect' -> generalize (year)"
    )
    health = next(line for line in result.out.splitlines() if line.startswith("health_notes "))
    assert "withhold" in health
    assert "default for unlisted purposes: withhold" in health


def test_explain_as_json(cli: Cli) -> None:
    data = cli(
        "minimize",
        "--schema",
        "traffic_records",
        "--purpose",
        "intelligence_analysis",
        "--explain",
        "--json",
    ).json()
    assert data["schema_id"] == "traffic_records"
    by_field = {d["field"]: d for d in data["decisions"]}
    assert by_field["source_ip"]["action"] == "generalize"
    assert by_field["source_ip"]["generalization"] == "ipv4/24,ipv6/48"
    assert by_field["cell_id"]["rule"].endswith("default for unlisted purposes: withhold")


def test_an_unknown_purpose_lists_the_known_ones(cli: Cli) -> None:
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspekt", "--explain"
    )
    assert result.error() == "unknown purpose 'locate_suspekt'"
    assert "hint: known purposes: " in result.err
    assert "locate_suspect" in result.err


def test_an_unknown_schema_is_refused(cli: Cli) -> None:
    result = cli("minimize", "--schema", "people", "--purpose", "locate_suspect", "--explain")
    assert result.error() == "unknown schema 'people'"
    assert "financial_transaction" in result.err


def test_schema_and_purpose_are_needed(cli: Cli) -> None:
    result = cli("minimize", "--explain", "--purpose", "locate_suspect")
    assert result.error() == "--schema is needed with --explain"
    result = cli("minimize", "--record", "x.json")
    assert result.error() == "--schema and --purpose are needed with --record"


def test_exactly_one_mode(cli: Cli) -> None:
    assert "one of the arguments" in cli("minimize", "--schema", "x").usage_error()
    message = cli("minimize", "--explain", "--list-schemas").usage_error()
    assert "not allowed with argument" in message


def test_a_users_own_schema_by_module_and_class(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cli_agency_schemas.py").write_text(
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
        result = cli(
            "minimize",
            "--schema",
            "cli_agency_schemas:Vehicle",
            "--purpose",
            "locate_suspect",
            "--explain",
        )
    finally:
        sys.modules.pop("cli_agency_schemas", None)
    assert result.code == 0, result.err
    assert "Vehicle.plate: purpose 'locate_suspect' -> disclose" in result.out


# -- minimizing records -----------------------------------------------------------------


def test_a_record_without_pseudonyms_needs_no_key(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, PERSON)
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "prosecution", "--record", path
    )
    assert result.code == 0, result.err
    assert result.out.startswith(
        "What a recipient sees of this person_of_interest record for the purpose prosecution:"
    )
    assert "2019 fraud conviction" in result.out  # disclosed for prosecution
    assert "diabetic" not in result.out  # withheld
    assert "withheld (undisclosed digests): health_notes, ethnic_origin_notes" in result.out
    assert "special categories disclosed: criminal_convictions" in result.out


def test_json_output_of_a_record(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, PERSON)
    data = cli(
        "minimize",
        "--schema",
        "person_of_interest",
        "--purpose",
        "prosecution",
        "--record",
        path,
        "--json",
    ).json()
    assert data["schema_id"] == "person_of_interest"
    assert data["purpose"] == "prosecution"
    assert data["disclosed"]["full_name"] == "Alex Example"
    assert "health_notes" not in data["disclosed"]
    assert data["withheld"] == ["health_notes", "ethnic_origin_notes"]
    assert data["pseudonymized"] == []
    assert data["special_categories_disclosed"] == ["criminal_convictions"]


def test_a_record_on_stdin(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(PERSON)))
    data = cli(
        "minimize",
        "--schema",
        "person_of_interest",
        "--purpose",
        "prosecution",
        "--record",
        "-",
        "--json",
    ).json()
    assert data["disclosed"]["passport_number"] == "P1234567"


def test_pseudonyms_without_a_key_are_refused_with_advice(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, PERSON)
    result = cli(
        "minimize",
        "--schema",
        "person_of_interest",
        "--purpose",
        "locate_suspect",
        "--record",
        path,
    )
    assert result.error() == (
        "the plan for locate_suspect pseudonymizes passport_number; pseudonyms are keyed with the "
        "agency's privacy secret"
    )
    assert "--key KEYFILE" in result.err
    assert result.out == ""


def test_a_plan_with_pseudonyms_works_when_the_fields_are_empty(cli: Cli, tmp_path: Path) -> None:
    record = {k: v for k, v in PERSON.items() if k != "passport_number"}
    path = write(tmp_path, record)
    data = cli(
        "minimize",
        "--schema",
        "person_of_interest",
        "--purpose",
        "locate_suspect",
        "--record",
        path,
        "--json",
    ).json()
    assert data["disclosed"]["date_of_birth"] == "1990"
    assert data["disclosed"]["passport_number"] is None


def test_pseudonyms_with_the_agencys_key(
    cli: Cli, tmp_path: Path, passphrase: str, key_files: tuple[Path, Path, AgencyKeySet]
) -> None:
    with_secret, _, keyset = key_files
    path = write(tmp_path, PERSON)
    args = ["minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect"]
    result = cli(
        *args,
        "--record",
        path,
        "--key",
        with_secret,
        "--recipient",
        XB,
        "--case-ref",
        CASE,
        "--json",
    )
    data = result.json()
    expected = keyset.privacy_secret.pseudonym("P1234567", issuer=XA, recipient=XB, case_ref=CASE)
    assert data["disclosed"]["passport_number"] == expected
    assert data["pseudonymized"] == ["passport_number"]
    for value in NEVER_FOR_LOCATING:
        assert value not in result.out, value
    other_case = cli(
        *args,
        "--record",
        path,
        "--key",
        with_secret,
        "--recipient",
        XB,
        "--case-ref",
        "XA-2026-9",
        "--json",
    ).json()
    assert other_case["disclosed"]["passport_number"] != expected
    text = cli(*args, "--record", path, "--key", with_secret, "--recipient", XB, "--case-ref", CASE)
    assert text.code == 0, text.err
    assert "pseudonymized: passport_number" in text.out
    assert "generalized: date_of_birth (year)" in text.out
    assert expected in text.out


def test_pseudonyms_need_recipient_and_case(
    cli: Cli, tmp_path: Path, passphrase: str, key_files: tuple[Path, Path, AgencyKeySet]
) -> None:
    path = write(tmp_path, PERSON)
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect",
        "--record", path, "--key", key_files[0], "--case-ref", CASE,
    )  # fmt: skip
    assert result.error().endswith("give --recipient")
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect",
        "--record", path, "--key", key_files[0],
    )  # fmt: skip
    assert result.error().endswith("give --recipient and --case-ref")


def test_a_key_file_without_a_privacy_secret_is_refused(
    cli: Cli, tmp_path: Path, passphrase: str, key_files: tuple[Path, Path, AgencyKeySet]
) -> None:
    path = write(tmp_path, PERSON)
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect", "--record", path,
        "--key-file", key_files[1], "--recipient", XB, "--case-ref", CASE,
    )  # fmt: skip
    assert result.error() == (
        f"the key file {key_files[1]} holds no privacy secret, which pseudonyms need"
    )
    assert "safeshare keygen --privacy" in result.err


def test_the_issuer_must_be_the_key_files_agency(
    cli: Cli, tmp_path: Path, passphrase: str, key_files: tuple[Path, Path, AgencyKeySet]
) -> None:
    path = write(tmp_path, PERSON)
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect", "--record", path,
        "--key", key_files[0], "--recipient", XB, "--case-ref", CASE, "--issuer", "XC-POL",
    )  # fmt: skip
    assert result.error().startswith("--issuer XC-POL is not the agency of the key file (XA-NPOL)")


def test_a_wrong_passphrase_is_an_error(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key_files: tuple[Path, Path, AgencyKeySet],
) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", "not the passphrase at all")
    path = write(tmp_path, PERSON)
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "locate_suspect", "--record", path,
        "--key", key_files[0], "--recipient", XB, "--case-ref", CASE,
    )  # fmt: skip
    assert result.error()
    assert result.out == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the record"),
        ("[1, 2]", "is not a JSON object"),
        (json.dumps({**PERSON, "date_of_birth": "12.04.1990"}), "date_of_birth:"),
        (json.dumps({**PERSON, "planet": "Earth"}), "planet: Extra inputs are not permitted"),
    ],
)
def test_a_bad_record_is_one_error_line_without_its_values(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "record.json"
    path.write_text(content, encoding="utf-8")
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "prosecution", "--record", path
    )
    error = result.error()
    assert message in error
    assert "12.04.1990" not in result.err
    assert "diabetic" not in result.err
    assert result.out == ""


def test_a_missing_record_file_is_an_error(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "minimize", "--schema", "person_of_interest", "--purpose", "prosecution",
        "--record", tmp_path / "missing.json",
    )  # fmt: skip
    assert "missing.json" in result.error()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--recipient", "xb", "is not a valid agency id"),
        ("--case-ref", "", "is not a case reference"),
        ("--issuer", "nobody", "is not a valid agency id"),
    ],
)
def test_option_values_are_checked(cli: Cli, option: str, value: str, message: str) -> None:
    result = cli(
        "minimize",
        "--schema",
        "person_of_interest",
        "--purpose",
        "prosecution",
        "--explain",
        option,
        value,
    )
    assert message in result.usage_error()
