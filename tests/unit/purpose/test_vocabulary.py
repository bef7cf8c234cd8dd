"""The purpose / legal-basis vocabulary: shipped data, lookups, rules, extension, schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from specs.tools import export_schemas

from safeshare._internal import strictjson
from safeshare.envelope import MESSAGE_TYPES
from safeshare.errors import MalformedInputError, PolicyError, UsageError
from safeshare.purpose import vocabulary as vocab_module
from safeshare.purpose.vocabulary import (
    DATA_CATEGORIES,
    FOLLOW_UP_MESSAGE_TYPES,
    VOCABULARY_FORMAT,
    Instrument,
    LegalBasis,
    Purpose,
    Vocabulary,
    VocabularyFile,
    describe,
    load,
    load_default,
    merge,
    parse,
)
from safeshare.registry import Safeguards

DEFAULT = load_default()

#: A bilateral treaty, as an agency would add it.
EXTENSION: dict[str, Any] = {
    "format": VOCABULARY_FORMAT,
    "description": "Treaty between Arcadia and Borduria on mutual legal assistance",
    "instruments": [
        {
            "code": "XA-XB-MLAT",
            "title": "Treaty between Arcadia and Borduria on Mutual Legal Assistance",
            "kind": "bilateral_treaty",
            "reference": "Arcadian Treaty Series 2019/4",
        }
    ],
    "purposes": [
        {
            "code": "extradition",
            "title": "Extradition",
            "description": "Surrender of a person for prosecution or to serve a sentence.",
            "instruments": ["XA-XB-MLAT"],
        }
    ],
    "legal_bases": [
        {
            "code": "XA-XB-MLAT.Art5",
            "instrument": "XA-XB-MLAT",
            "article": "5",
            "title": "Requests for assistance",
            "procedure": "mutual_legal_assistance",
            "purposes": ["criminal_investigation", "extradition"],
            "message_types": ["mla_request", "mla_response"],
            "data_categories": ["subscriber", "traffic"],
            "verified": True,
            "note": "Checked against the treaty text in the Arcadian Treaty Series.",
        }
    ],
    "purpose_instruments": [{"purpose": "criminal_investigation", "instruments": ["XA-XB-MLAT"]}],
}


def extension(**changes: Any) -> VocabularyFile:
    data = json.loads(json.dumps(EXTENSION))
    data.update(changes)
    return VocabularyFile.model_validate(data)


# -- the shipped vocabulary ------------------------------------------------------------


def test_defaults_load() -> None:
    assert isinstance(DEFAULT, Vocabulary)
    assert load_default() is DEFAULT  # read once
    codes = {p.code for p in DEFAULT.purposes}
    assert {
        "criminal_investigation",
        "prosecution",
        "evidence_preservation",
        "locate_suspect",
        "locate_missing_person",
        "prevent_imminent_threat",
        "identify_victim",
        "asset_tracing",
        "intelligence_analysis",
        "judicial_proceedings",
        "border_control",
    } <= codes
    assert {i.code for i in DEFAULT.instruments} == {"BUDAPEST", "BUDAPEST-2AP", "UNTOC", "UNCC"}


def test_shipped_files_are_package_data() -> None:
    package = resources.files("safeshare") / "data"
    for name in vocab_module.DEFAULT_FILES:
        data = (package / name).read_bytes()
        assert parse(data).format == VOCABULARY_FORMAT


def test_every_legal_basis_references_known_purposes_and_instruments() -> None:
    purposes = {p.code: p for p in DEFAULT.purposes}
    instruments = {i.code for i in DEFAULT.instruments}
    for basis in DEFAULT.legal_bases:
        assert basis.instrument in instruments, basis.code
        assert basis.code.startswith(basis.instrument + "."), basis.code
        for code in basis.purposes:
            assert code in purposes, (basis.code, code)
            assert basis.instrument in purposes[code].instruments, (basis.code, code)
        assert set(basis.message_types) <= MESSAGE_TYPES, basis.code
        assert set(basis.data_categories) <= set(DATA_CATEGORIES), basis.code


def test_every_purpose_can_be_pursued_under_some_legal_basis() -> None:
    for purpose in DEFAULT.purposes:
        assert DEFAULT.legal_bases_for(purpose=purpose.code), purpose.code
        for code in purpose.compatible_with:
            assert DEFAULT.has_purpose(code)


def test_every_legal_basis_says_how_its_number_was_checked() -> None:
    for basis in DEFAULT.legal_bases:
        assert basis.note, basis.code
        if not basis.verified:
            assert "not confirmed" in basis.note or "not seen" in basis.note, basis.code
    # The UN Convention against Cybercrime numbers were not checked against the official text.
    assert all(not b.verified for b in DEFAULT.legal_bases if b.instrument == "UNCC")
    assert {b.code for b in DEFAULT.unverified()} >= {"BUDAPEST-2AP.Art8", "UNCC.Art44"}


def test_content_can_only_be_requested_by_mutual_legal_assistance() -> None:
    for basis in DEFAULT.legal_bases_for(message_type="disclosure_request"):
        if "content" in basis.data_categories:
            assert basis.procedure == "mutual_legal_assistance", basis.code
    art7 = DEFAULT.legal_basis("BUDAPEST-2AP.Art7")
    assert art7.data_categories == ("subscriber",)


def test_instrument_codes_fit_the_registry_safeguards() -> None:
    codes = tuple(i.code for i in DEFAULT.instruments)
    safeguards = Safeguards(
        max_retention_days=365,
        onward_transfer="with_prior_authorisation",
        oversight_body="Data Protection Authority",
        accepted_instruments=codes,
    )
    assert safeguards.accepted_instruments == codes


def test_compatibility_lists_are_tight() -> None:
    for purpose in DEFAULT.purposes:
        assert len(purpose.compatible_with) <= 2, purpose.code
        if purpose.emergency:
            assert purpose.compatible_with == (), purpose.code
    assert DEFAULT.purpose("intelligence_analysis").compatible_with == ()
    assert DEFAULT.purpose("locate_missing_person").compatible_with == ()


# -- lookups ------------------------------------------------------------------------


def test_lookups_return_entries() -> None:
    assert DEFAULT.purpose("prosecution").title == "Prosecution"
    basis = DEFAULT.legal_basis("UNTOC.Art18(4)")
    assert (basis.instrument, basis.article, basis.paragraph) == ("UNTOC", "18", "4")
    assert basis.citation == "UNTOC Art. 18(4)"
    assert DEFAULT.instrument("UNTOC").kind == "multilateral_treaty"
    assert DEFAULT.has_purpose("prosecution")
    assert not DEFAULT.has_purpose("surveillance")
    assert DEFAULT.has_legal_basis("BUDAPEST.Art29")
    assert not DEFAULT.has_instrument("NOPE")


@pytest.mark.parametrize(
    ("lookup", "code"),
    [("purpose", "mass_surveillance"), ("legal_basis", "UNTOC.Art99"), ("instrument", "NOPE")],
)
def test_unknown_codes_are_usage_errors_when_authoring(lookup: str, code: str) -> None:
    with pytest.raises(UsageError, match=code.replace("(", r"\(").replace(".", r"\.")) as info:
        getattr(DEFAULT, lookup)(code)
    assert info.value.hint


def test_legal_bases_for_filters() -> None:
    found = DEFAULT.legal_bases_for(message_type="mla_request", data_category="content")
    assert {b.code for b in found} >= {"UNTOC.Art18", "BUDAPEST.Art31"}
    assert all(b.procedure == "mutual_legal_assistance" for b in found)
    assert "BUDAPEST-2AP.Art7" not in {b.code for b in found}
    emergency = DEFAULT.legal_bases_for(purpose="prevent_imminent_threat")
    assert {b.code for b in emergency} == {"BUDAPEST-2AP.Art9", "BUDAPEST-2AP.Art10"}


def test_describe_lists_codes_and_titles() -> None:
    summary = describe(DEFAULT)
    assert summary["purposes"]["prosecution"] == "Prosecution"
    assert summary["legal_bases"]["UNCC.Art44"]["verified"] is False


# -- rules ----------------------------------------------------------------------------


def test_require_purpose_allowed_accepts_a_provided_purpose() -> None:
    DEFAULT.require_purpose_allowed("criminal_investigation", "UNTOC.Art18")
    DEFAULT.require_purpose_allowed("prevent_imminent_threat", "BUDAPEST-2AP.Art9")
    assert DEFAULT.purpose_allowed("evidence_preservation", "BUDAPEST.Art29")


@pytest.mark.parametrize(
    ("purpose", "basis", "words"),
    [
        ("prevent_imminent_threat", "UNTOC.Art18", "does not provide for the purpose"),
        ("criminal_investigation", "BUDAPEST.Art29", "does not provide for the purpose"),
        ("mass_surveillance", "UNTOC.Art18", "not in this agency's vocabulary"),
        ("criminal_investigation", "XX.Art1", "not in this agency's vocabulary"),
    ],
)
def test_require_purpose_allowed_refuses_with_a_policy_error(
    purpose: str, basis: str, words: str
) -> None:
    with pytest.raises(PolicyError, match=words):
        DEFAULT.require_purpose_allowed(purpose, basis)
    assert not DEFAULT.purpose_allowed(purpose, basis)


def test_compatibility() -> None:
    assert DEFAULT.is_compatible("criminal_investigation", "criminal_investigation")
    assert DEFAULT.is_compatible("criminal_investigation", "prosecution")
    assert DEFAULT.is_compatible("locate_suspect", "criminal_investigation")
    # not symmetric
    assert not DEFAULT.is_compatible("prosecution", "criminal_investigation")
    # not transitive: locate_suspect -> criminal_investigation -> prosecution
    assert not DEFAULT.is_compatible("locate_suspect", "prosecution")
    # emergency data and intelligence stay where they are
    assert not DEFAULT.is_compatible("prevent_imminent_threat", "criminal_investigation")
    assert not DEFAULT.is_compatible("intelligence_analysis", "judicial_proceedings")
    assert DEFAULT.compatible_purposes("asset_tracing") == {"asset_tracing", "confiscation"}


@pytest.mark.parametrize(("original", "new"), [("nope", "prosecution"), ("prosecution", "nope")])
def test_compatibility_of_unknown_codes_is_a_usage_error(original: str, new: str) -> None:
    with pytest.raises(UsageError, match="unknown purpose 'nope'"):
        DEFAULT.is_compatible(original, new)


def test_message_types_per_legal_basis() -> None:
    assert DEFAULT.allows_message_type("BUDAPEST-2AP.Art7", "disclosure_request")
    assert not DEFAULT.allows_message_type("BUDAPEST-2AP.Art7", "mla_request")
    assert not DEFAULT.allows_message_type("BUDAPEST.Art29", "mla_request")
    for follow_up in FOLLOW_UP_MESSAGE_TYPES:
        assert DEFAULT.allows_message_type("BUDAPEST.Art29", follow_up)
    assert FOLLOW_UP_MESSAGE_TYPES <= MESSAGE_TYPES


# -- extension ------------------------------------------------------------------------


def test_extension_adds(tmp_path: Path) -> None:
    path = tmp_path / "bilateral.json"
    path.write_text(json.dumps(EXTENSION), encoding="utf-8")
    extended = merge(DEFAULT, load(path))
    assert extended.has_instrument("XA-XB-MLAT")
    assert extended.purpose("extradition").instruments == ("XA-XB-MLAT",)
    assert "XA-XB-MLAT" in extended.purpose("criminal_investigation").instruments
    extended.require_purpose_allowed("criminal_investigation", "XA-XB-MLAT.Art5")
    extended.require_purpose_allowed("extradition", "XA-XB-MLAT.Art5")
    # everything of the base is still there, unchanged, and the base itself is untouched
    assert len(extended.legal_bases) == len(DEFAULT.legal_bases) + 1
    assert extended.legal_basis("UNTOC.Art18") == DEFAULT.legal_basis("UNTOC.Art18")
    assert not DEFAULT.has_legal_basis("XA-XB-MLAT.Art5")
    assert "XA-XB-MLAT" not in DEFAULT.purpose("criminal_investigation").instruments
    assert DEFAULT.extend(load(path)) == extended


def test_loading_an_extension_twice_is_harmless() -> None:
    once = merge(DEFAULT, extension())
    assert merge(once, extension()) == once


def test_from_files_merges_in_order() -> None:
    package = resources.files("safeshare") / "data"
    files = [parse((package / n).read_bytes()) for n in vocab_module.DEFAULT_FILES]
    assert Vocabulary.from_files(*files) == DEFAULT
    assert Vocabulary.from_files(*files, extension()) == merge(DEFAULT, extension())
    with pytest.raises(UsageError, match="at least one"):
        Vocabulary.from_files()


def test_a_round_trip_through_one_file_keeps_the_vocabulary() -> None:
    text = strictjson.dumps(DEFAULT.to_file().model_dump(mode="json", exclude_none=True))
    assert Vocabulary.from_files(parse(text)) == DEFAULT


def _redefined(section: str, index: int, **changes: Any) -> VocabularyFile:
    base = {
        "instruments": DEFAULT.instruments,
        "purposes": DEFAULT.purposes,
        "legal_bases": DEFAULT.legal_bases,
    }[section]
    entry = base[index].model_dump(mode="json", exclude_none=True)
    entry.update(changes)
    return VocabularyFile.model_validate({"format": VOCABULARY_FORMAT, section: [entry]})


@pytest.mark.parametrize(
    ("section", "changes"),
    [
        ("purposes", {"compatible_with": ["prosecution", "judicial_proceedings", "confiscation"]}),
        ("purposes", {"title": "Any investigation"}),
        (
            "legal_bases",
            {"message_types": ["disclosure_request", "disclosure_response", "mla_request"]},
        ),
        ("legal_bases", {"verified": True, "note": "trust me"}),
        ("instruments", {"title": "Something else"}),
    ],
)
def test_redefinition_is_refused(section: str, changes: dict[str, Any]) -> None:
    index = {"purposes": 0, "legal_bases": 7, "instruments": 0}[section]
    with pytest.raises(UsageError, match="redefines"):
        merge(DEFAULT, _redefined(section, index, **changes))


def test_an_identical_entry_is_not_a_redefinition() -> None:
    assert merge(DEFAULT, _redefined("purposes", 0)) == DEFAULT


def test_a_new_basis_needs_its_instrument_on_the_purposes_it_serves() -> None:
    with pytest.raises(UsageError, match="purpose_instruments"):
        merge(DEFAULT, extension(purpose_instruments=[]))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"purpose_instruments": [{"purpose": "nope", "instruments": ["UNTOC"]}]}, "nope"),
        (
            {"purpose_instruments": [{"purpose": "prosecution", "instruments": ["NOPE"]}]},
            "NOPE",
        ),
        ({"instruments": []}, "unknown instrument 'XA-XB-MLAT'"),
    ],
)
def test_unresolved_references_in_an_extension_are_refused(
    changes: dict[str, Any], words: str
) -> None:
    with pytest.raises(UsageError, match=words):
        merge(DEFAULT, extension(**changes))


def test_an_extension_basis_for_an_unknown_message_type_is_refused() -> None:
    bad = json.loads(json.dumps(EXTENSION["legal_bases"][0]))
    bad["message_types"] = ["extradition_request"]
    with pytest.raises(UsageError, match="unknown message type 'extradition_request'"):
        merge(DEFAULT, extension(legal_bases=[bad]))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"not json", "not valid JSON"),
        (b'{"format": "safeshare-vocabulary/v1", "format": "x"}', "more than once"),
        (b'{"format": "safeshare-vocabulary/v2"}', "does not match the vocabulary format"),
        (b'{"format": "safeshare-vocabulary/v1", "extra": 1}', "extra"),
        (b'{"format": "safeshare-vocabulary/v1", "purposes": [{"code": "Bad Code"}]}', "code"),
    ],
)
def test_malformed_files_are_refused(text: bytes, words: str) -> None:
    with pytest.raises(MalformedInputError, match=words):
        parse(text)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read vocabulary file"):
        load(tmp_path / "absent.json")


# -- model rules ----------------------------------------------------------------------


def test_entry_models_enforce_their_own_rules() -> None:
    with pytest.raises(ValidationError, match="lists itself"):
        Purpose(code="a", title="A", description="A.", compatible_with=("a",), instruments=("X",))
    with pytest.raises(ValidationError, match="twice"):
        Purpose(code="a", title="A", description="A.", instruments=("X", "X"))
    basis: dict[str, Any] = {
        "code": "UNTOC.Art18",
        "instrument": "UNTOC",
        "article": "18",
        "title": "MLA",
        "procedure": "mutual_legal_assistance",
        "purposes": ["prosecution"],
        "message_types": ["mla_request"],
        "verified": True,
    }
    LegalBasis.model_validate(basis)
    with pytest.raises(ValidationError, match="must start with its instrument"):
        LegalBasis.model_validate({**basis, "instrument": "UNCC"})
    with pytest.raises(ValidationError, match="add a note"):
        LegalBasis.model_validate({**basis, "verified": False})
    with pytest.raises(ValidationError, match="frozen"):
        DEFAULT.purpose("prosecution").title = "x"


def test_a_vocabulary_must_be_consistent() -> None:
    instrument = Instrument(code="X", title="X", kind="other")
    purpose = Purpose(code="a", title="A", description="A.", instruments=("X",))
    with pytest.raises(ValidationError, match="defined twice"):
        Vocabulary(instruments=(instrument,), purposes=(purpose, purpose), legal_bases=())
    with pytest.raises(ValidationError, match="unknown instrument"):
        Vocabulary(instruments=(), purposes=(purpose,), legal_bases=())
    with pytest.raises(ValidationError, match="unknown purpose 'b'"):
        Vocabulary(
            instruments=(instrument,),
            purposes=(purpose.model_copy(update={"compatible_with": ("b",)}),),
            legal_bases=(),
        )


# -- documentation and JSON Schema --------------------------------------------------------

SPECS = Path(__file__).resolve().parents[3] / "specs"


def test_the_spec_lists_every_shipped_code() -> None:
    spec = (SPECS / "safeshare-v1.md").read_text(encoding="utf-8")
    # section 8 (purposes, legal bases and vocabularies), up to section 9
    text = spec[spec.index("\n## 8. ") : spec.index("\n## 9. ")]
    codes = [
        *(i.code for i in DEFAULT.instruments),
        *(p.code for p in DEFAULT.purposes),
        *(b.code for b in DEFAULT.legal_bases),
    ]
    for code in codes:
        assert f"`{code}`" in text, code
    for basis in DEFAULT.unverified():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{basis.code}` |"))
        assert row.endswith("| **no** |"), basis.code


def test_the_file_format_is_exported_as_json_schema() -> None:
    assert "vocabulary-file.schema.json" in export_schemas.SCHEMAS
    rendered = export_schemas.rendered()["vocabulary-file.schema.json"]
    on_disk = export_schemas.SCHEMA_DIR / "vocabulary-file.schema.json"
    assert on_disk.read_bytes() == rendered
    schema = json.loads(rendered)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["format"]
    assert schema["additionalProperties"] is False
    assert {"instruments", "purposes", "legal_bases", "purpose_instruments"} <= set(
        schema["properties"]
    )
    legal_basis = schema["$defs"]["LegalBasis"]
    assert {"code", "instrument", "article", "verified"} <= set(legal_basis["required"])
