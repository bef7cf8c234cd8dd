"""Run every message test vector in ``specs/vectors/messages/`` (format: specs/safeshare-v1.md 14.6.3).

Each vector is a draft, a clock and (for follow-ups) the claims of the
envelope it follows; :func:`safeshare.messages.validate_message` must report
exactly the expected problem fields. Further tests keep the files in step with
their generator and make sure every message type has a valid and an invalid case.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pytest
from specs.tools import generate_message_vectors

from safeshare._internal import strictjson
from safeshare.messages import MESSAGE_MODELS, inherit, validate_message

VECTOR_DIR: Final = Path(__file__).resolve().parents[2] / "specs" / "vectors" / "messages"
VECTOR_FILES: Final = sorted(VECTOR_DIR.glob("*.json"))
MEMBERS: Final = frozenset(
    {"id", "description", "msg_type", "now", "request", "message", "expected"}
)


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = strictjson.loads(
        path.read_bytes(), what=path.name, max_bytes=1024 * 1024
    )
    return vector


def run(vector: dict[str, Any]) -> list[str]:
    """The sorted problem fields the library reports for *vector*."""
    request = inherit(vector["request"]) if vector["request"] is not None else None
    problems = validate_message(
        vector["msg_type"],
        vector["message"],
        request=request,
        now=datetime.fromisoformat(vector["now"]),
    )
    return sorted(p.field for p in problems)


def test_there_are_vectors() -> None:
    assert len(VECTOR_FILES) >= 2 * len(MESSAGE_MODELS)


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector(path: Path) -> None:
    vector = load(path)
    assert set(vector) == MEMBERS
    assert vector["id"] == path.stem
    assert vector["description"].strip()
    expected = vector["expected"]
    got = run(vector)
    if expected["valid"]:
        assert set(expected) == {"valid"}
        assert vector["id"].startswith("valid-")
        assert got == []
    else:
        assert set(expected) == {"valid", "problems"}
        assert vector["id"].startswith("invalid-")
        assert expected["problems"], "an invalid vector names at least one problem"
        assert got == sorted(expected["problems"])


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_MODELS))
def test_every_type_has_a_valid_and_an_invalid_vector(msg_type: str) -> None:
    vectors = [load(p) for p in VECTOR_FILES]
    outcomes = {v["expected"]["valid"] for v in vectors if v["msg_type"] == msg_type}
    assert outcomes == {True, False}


def test_incomplete_mla_request_vector_lists_every_untoc_item() -> None:
    vector = load(VECTOR_DIR / "invalid-mla-request-missing-untoc-18-15-items.json")
    assert len(run(vector)) == 8
    for name in (
        "requesting_authority",
        "summary_of_facts",
        "assistance_sought",
        "purpose_statement",
    ):
        assert name in vector["expected"]["problems"]


def test_vectors_match_their_generator() -> None:
    assert generate_message_vectors.main(["--check"]) == 0


def test_drift_is_detected(tmp_path: Path) -> None:
    target = ["--dir", str(tmp_path)]
    assert generate_message_vectors.main(["--check", *target]) == 1  # missing files
    assert generate_message_vectors.main(target) == 0
    assert generate_message_vectors.main(["--check", *target]) == 0
    first = sorted(tmp_path.glob("*.json"))[0]
    first.write_bytes(first.read_bytes().replace(b'"valid"', b'"valid" '))
    assert generate_message_vectors.main(["--check", *target]) == 1  # changed file
    assert generate_message_vectors.main(target) == 0
    (tmp_path / "stale.json").write_text("{}\n")
    assert generate_message_vectors.main(["--check", *target]) == 1  # stale file
    assert generate_message_vectors.main(target) == 0
    assert not (tmp_path / "stale.json").exists()


def test_a_broken_expectation_is_caught_by_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    case = generate_message_vectors.CASES[0]
    wrong = generate_message_vectors.Case(case.id, case.description, case.msg_type, {}, None, None)
    monkeypatch.setattr(generate_message_vectors, "CASES", [wrong])
    with pytest.raises(SystemExit, match=case.id):
        generate_message_vectors.check_cases()


def test_vector_files_are_plain_json() -> None:
    for path in VECTOR_FILES:
        assert json.loads(path.read_text(encoding="utf-8")) == load(path)
