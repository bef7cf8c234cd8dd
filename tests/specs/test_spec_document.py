"""specs/safeshare-v1.md is the one normative document, and its lists say what the code does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from safeshare.audit.entry import ACTIONS, OUTCOMES
from safeshare.audit.log import AUDIT_SCHEMA, AUDIT_SUBJECTS_SCHEMA
from safeshare.audit.receipt import RECEIPT_TYP
from safeshare.audit.witness import WITNESS_SCHEMA
from safeshare.conformance.runner import LEVELS
from safeshare.envelope._profile import ENVELOPE_TYP, KB_JWT_TYP, MESSAGE_TYPES, SD_JWT_TYP
from safeshare.errors import SafeShareError
from safeshare.privacy.pseudonyms import PSEUDONYM_VAULT_SCHEMA
from safeshare.purpose.consent import CONSENT_SCHEMA, GRANT_TYP, REVOCATION_TYP
from safeshare.purpose.retention import RETENTION_SCHEMA
from safeshare.registry import REGISTRY_TYP
from safeshare.storage import Schema
from safeshare.storage.replay import REPLAY_SCHEMA

SPECS: Final = Path(__file__).resolve().parents[2] / "specs"
SPEC: Final = SPECS / "safeshare-v1.md"
#: The documents the specification was split over before it became one.
FORMER: Final = (
    "envelope.md",
    "registry.md",
    "purposes.md",
    "messages.md",
    "consent.md",
    "minimization.md",
    "audit.md",
    "conformance.md",
)
#: Error codes of the reference implementation that are not conformance outcomes
#: (the last three are the codes of abstract base classes, never reported alone).
NOT_OUTCOMES: Final = {
    "usage",
    "storage",
    "key_file",
    "safeshare_error",
    "invalid_time",
    "key_registry",
}


def _text() -> str:
    return SPEC.read_text(encoding="utf-8")


def _section(number: str) -> str:
    """The text of section *number* (heading included) up to the next heading of its level."""
    text = _text()
    match = re.search(rf"^(#+) {re.escape(number)}\.? .*$", text, re.MULTILINE)
    assert match is not None, f"no section {number}"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, match.end())
    return text[match.start() : end.start() if end else None]


def _table_cells(section: str, column: int = 0) -> list[str]:
    """The backquoted names in one column of every table row of *section*."""
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            names.extend(re.findall(r"`([^`]+)`", line.split("|")[column + 1]))
    return names


def test_it_is_the_only_normative_document() -> None:
    assert SPEC.is_file()
    assert [name for name in FORMER if (SPECS / name).exists()] == []
    assert sorted(p.name for p in SPECS.glob("*.md")) == ["safeshare-v1.md"]


def _headings() -> set[str]:
    return set(re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", _text(), re.MULTILINE))


#: "section N" of another document: an RFC, or the PURBs paper.
_FOREIGN: Final = re.compile(r"(RFC \d+|PETS 2019)[^;()]*$|RFC \d+ \([^)]*\) $|RFC \d+: [^;*]*\($")


def test_every_section_reference_names_a_section_of_the_document() -> None:
    text = re.sub(r"\s+", " ", _text())
    headings = _headings()
    wrong: list[str] = []
    for match in re.finditer(
        r"\b[Ss]ections? (\d+(?:\.\d+)*(?:(?:, | and | to )\d+(?:\.\d+)*)*)", text
    ):
        if _FOREIGN.search(text[max(0, match.start() - 80) : match.start()]):
            continue
        wrong.extend(
            f"{number} ({text[match.start() - 30 : match.end()]!r})"
            for number in re.findall(r"\d+(?:\.\d+)*", match.group(1))
            if number not in headings
        )
    assert wrong == []


def test_the_message_types_are_those_of_the_code() -> None:
    listing = re.search(r"`msg_type` is one of:(.*?)\. Their", _section("11.1"), re.DOTALL)
    assert listing is not None
    listed = re.findall(r"`([a-z_]+)`", listing.group(1))
    assert sorted(listed) == sorted(MESSAGE_TYPES)
    # one subsection per type, headed by its code
    headings = re.findall(r"^#### 11\.[56]\.\d+ `([a-z_]+)`$", _section("11"), re.MULTILINE)
    assert sorted(headings) == sorted(MESSAGE_TYPES)


def test_the_error_codes_are_those_of_the_code() -> None:
    def subclasses(cls: type[SafeShareError]) -> set[type[SafeShareError]]:
        return {cls}.union(*(subclasses(sub) for sub in cls.__subclasses__()))

    codes = {cls.code for cls in subclasses(SafeShareError)}
    section = _section("17.4")
    assert sorted(_table_cells(section)) == sorted(codes - NOT_OUTCOMES)
    for code in ("usage", "storage", "key_file"):
        assert f"`{code}`" in section


def test_the_audit_vocabulary_is_that_of_the_code() -> None:
    section = _section("17.5")
    actions, outcomes = section.split("Outcomes")
    assert sorted(re.findall(r"`([a-z_]+)`", actions)) == sorted(ACTIONS)
    assert sorted(re.findall(r"`([a-z_]+)`", outcomes)) == sorted(OUTCOMES)


def test_the_conformance_levels_are_those_of_the_runner() -> None:
    table = {
        row.split("|")[1].strip(" `"): row.split("|")[3]
        for row in _section("3").splitlines()
        if row.startswith("| `")
    }
    assert set(table) == {*LEVELS.values(), "full"}
    for vector_set, level in LEVELS.items():
        assert f"`{vector_set}/`" in table[level], vector_set


def test_the_media_types_are_those_of_the_code() -> None:
    listed = _table_cells(_section("17.1"))
    typs = (ENVELOPE_TYP, SD_JWT_TYP, REGISTRY_TYP, GRANT_TYP, REVOCATION_TYP, RECEIPT_TYP)
    assert sorted(listed) == sorted({*typs, KB_JWT_TYP})


def test_the_storage_components_are_those_of_the_code() -> None:
    schemas: tuple[Schema, ...] = (
        REPLAY_SCHEMA,
        AUDIT_SCHEMA,
        AUDIT_SUBJECTS_SCHEMA,
        WITNESS_SCHEMA,
        CONSENT_SCHEMA,
        RETENTION_SCHEMA,
        PSEUDONYM_VAULT_SCHEMA,
    )
    rows = {
        row.split("|")[1].strip(" `"): int(row.split("|")[2])
        for row in _section("17.7").splitlines()
        if row.startswith("| `")
    }
    assert rows == {schema.component: schema.version for schema in schemas}
