"""``safeshare request validate``: every problem of a message draft, in one run.

The drafts come from the message vectors (specs/vectors/messages/), so the
command and :func:`safeshare.messages.validate_message` are checked on the
same inputs.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

VECTORS: Final = Path(__file__).resolve().parents[2] / "specs" / "vectors" / "messages"
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
#: The UNTOC Art. 18(15) items an incomplete MLA request lacks (from its vector).
MISSING_MLA_ITEMS: Final = (
    "requesting_authority",
    "subject_matter",
    "proceeding_type",
    "conducting_authority",
    "summary_of_facts",
    "assistance_sought",
    "persons_concerned",
    "purpose_statement",
)


def vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def draft_file(tmp_path: Path, name: str, *, with_type: bool = True) -> Path:
    """The draft of message vector *name* as a file (with its ``msg_type`` inside)."""
    v = vector(name)
    draft = dict(v["message"])
    if with_type:
        draft["msg_type"] = v["msg_type"]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(draft), encoding="utf-8")
    return path


def test_an_incomplete_mla_request_prints_all_its_problems(cli: Cli, tmp_path: Path) -> None:
    path = draft_file(tmp_path, "invalid-mla-request-missing-untoc-18-15-items")
    result = cli("request", "validate", path, "--now", NOW_TEXT)
    assert result.code == 1
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == "The MLA request has 8 problems:"
    assert len(lines) == 1 + len(MISSING_MLA_ITEMS)
    for number, line in enumerate(lines[1:], start=1):
        assert line.startswith(f"  {number}. ")
    for item in MISSING_MLA_ITEMS:
        assert any(f". {item}: " in line for line in lines[1:]), item
    assert "[UNTOC Art. 18(15)(a)]" in result.out
    assert "Summary of facts is missing" in result.out


def test_json_output_lists_field_message_and_rule(cli: Cli, tmp_path: Path) -> None:
    path = draft_file(tmp_path, "invalid-mla-request-missing-untoc-18-15-items")
    result = cli("request", "validate", path, "--now", NOW_TEXT, "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["msg_type"] == "mla_request"
    assert data["complete"] is False
    assert sorted(p["field"] for p in data["problems"]) == sorted(MISSING_MLA_ITEMS)
    assert all(set(p) == {"field", "message", "rule"} for p in data["problems"])


def test_a_complete_request_exits_0(cli: Cli, tmp_path: Path) -> None:
    path = draft_file(tmp_path, "valid-mla-request")
    result = cli("request", "validate", path, "--now", NOW_TEXT)
    assert result.code == 0, result.out + result.err
    assert result.out == "The MLA request (mla_request) is complete.\n"
    as_json = cli("request", "validate", path, "--now", NOW_TEXT, "--json")
    assert as_json.json() == {"msg_type": "mla_request", "complete": True, "problems": []}


def test_the_type_can_come_from_the_option(cli: Cli, tmp_path: Path) -> None:
    path = draft_file(tmp_path, "valid-preservation-request", with_type=False)
    result = cli("request", "validate", path, "--type", "preservation_request", "--now", NOW_TEXT)
    assert result.code == 0, result.out
    assert result.out == "The preservation request (preservation_request) is complete.\n"
    missing = cli("request", "validate", path, "--now", NOW_TEXT)
    assert missing.error() == "the draft has no 'msg_type' member and no --type was given"


def test_type_option_and_draft_must_agree(cli: Cli, tmp_path: Path) -> None:
    path = draft_file(tmp_path, "valid-mla-request")
    result = cli("request", "validate", path, "--type", "preservation_request")
    assert "disagrees with the draft's msg_type 'mla_request'" in result.error()
    assert (
        "is not a message type"
        in cli("request", "validate", path, "--type", "arrest_warrant").usage_error()
    )


def test_an_unknown_msg_type_in_the_draft_is_a_problem(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "draft.json"
    path.write_text(json.dumps({"msg_type": "arrest_warrant", "purpose": "prosecution"}))
    result = cli("request", "validate", path)
    assert result.code == 1
    assert result.out.startswith("The message has 1 problem:\n  1. msg_type: Message type ")


def test_shape_problems_are_listed_too(cli: Cli, tmp_path: Path) -> None:
    path = draft_file(tmp_path, "invalid-mla-request-unknown-member")
    result = cli("request", "validate", path, "--now", NOW_TEXT)
    assert result.code == 1
    assert "problem" in result.out.splitlines()[0]


def test_a_reply_checked_against_the_request_it_follows(cli: Cli, tmp_path: Path) -> None:
    v = vector("invalid-disclosure-response-changed-purpose")
    assert v["request"] is not None
    follows = tmp_path / "request.json"
    follows.write_text(json.dumps(v["request"]))
    path = draft_file(tmp_path, "invalid-disclosure-response-changed-purpose")
    result = cli("request", "validate", path, "--follows", follows, "--now", NOW_TEXT, "--json")
    assert result.code == 1
    fields = sorted(p["field"] for p in json.loads(result.out)["problems"])
    assert fields == sorted(v["expected"]["problems"])


def test_drafts_that_cannot_be_read(cli: Cli, tmp_path: Path) -> None:
    not_json = tmp_path / "draft.json"
    not_json.write_text('{"msg_type": "mla_request", "msg_type": "refusal"}')
    assert "duplicate" in cli("request", "validate", not_json).error()
    array = tmp_path / "array.json"
    array.write_text("[]")
    assert "is not a JSON object" in cli("request", "validate", array).error()
    assert "does not exist" in cli("request", "validate", tmp_path / "missing.json").error()


def test_the_draft_from_stdin(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = draft_file(tmp_path, "invalid-mla-request-missing-untoc-18-15-items")
    data = path.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    result = cli("request", "validate", "-", "--now", NOW_TEXT)
    assert result.code == 1
    assert result.out.startswith("The MLA request has 8 problems:")
