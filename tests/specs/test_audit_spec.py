"""specs/safeshare-v1.md section 13 matches the code: entry fields, actions, example, limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from safeshare.audit import entry as entry_module
from safeshare.audit.entry import ACTIONS, OUTCOMES, AuditEntry, decode, encode
from safeshare.audit.merkle import EMPTY_ROOT, leaf_hash
from safeshare.audit.witness import MAX_PROOF_HASHES

SPEC: Final = Path(__file__).resolve().parents[2] / "specs" / "safeshare-v1.md"


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n#", start + len(heading) + 2)
    return text[start : end if end >= 0 else None]


def _first_cells(section: str) -> list[str]:
    """The backquoted names in the first column of a table, in order."""
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names.extend(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


def test_the_field_table_lists_every_field_in_encoding_order() -> None:
    fields = _first_cells(_section(SPEC.read_text(encoding="utf-8"), "#### 13.2.1 Fields"))
    assert fields == list(AuditEntry.__struct_fields__)


def test_the_action_table_is_the_vocabulary() -> None:
    actions = _first_cells(_section(SPEC.read_text(encoding="utf-8"), "#### 13.2.2 Actions"))
    assert sorted(actions) == sorted(ACTIONS)
    assert len(actions) == len(set(actions))


def test_outcomes_and_limits() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for outcome in OUTCOMES:
        assert f"`{outcome}`" in _section(text, "#### 13.2.3 Outcomes")
    assert f"at most 16 KiB ({entry_module.MAX_ENTRY_BYTES} bytes)" in text
    assert f"{entry_module.MAX_SUBJECTS} distinct blind-index tokens" in text
    assert f"1-{entry_module.MAX_REASON_LENGTH} characters" in text
    assert f"1-{entry_module.MAX_ACTOR_LENGTH} characters" in text
    assert f"more than {MAX_PROOF_HASHES} hashes" in text
    assert EMPTY_ROOT.hex() in text


def test_the_example_entry_is_canonical_and_has_the_stated_leaf_hash() -> None:
    section = _section(SPEC.read_text(encoding="utf-8"), "#### 13.2.4 Canonical encoding")
    example = re.search(r"```json\n(.*)\n```", section)
    stated = re.search(r"leaf hash is\s+`([0-9a-f]{64})`", section)
    assert example is not None
    assert stated is not None
    data = example.group(1).encode("utf-8")
    assert encode(decode(data)) == data
    assert leaf_hash(data).hex() == stated.group(1)
