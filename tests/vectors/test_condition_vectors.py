"""Run every handling-condition vector in ``specs/vectors/conditions/`` (format: specs/vectors/README.md).

``transfer-...`` vectors: the transfer check before sealing must find exactly
the expected mismatch keys. ``use-...`` vectors: the envelope must open to the
recorded claims and digest, and the requested use (evidence, onward transfer,
purpose, automated decision), with the consent grants recorded, must be
allowed or refused as expected. Further tests keep the files in step with
their generator and make sure every condition has a refused and a permitted case.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pytest
from specs.tools import generate_condition_vectors as gen

from safeshare._internal import strictjson
from safeshare.errors import PolicyError
from safeshare.keys import VerifyKey, public_key_from_jwk
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.transfer import MISMATCH_KINDS, check_transfer
from safeshare.registry import TrustRegistry

VECTOR_DIR: Final = Path(__file__).resolve().parents[2] / "specs" / "vectors" / "conditions"
VECTOR_FILES: Final = sorted(VECTOR_DIR.glob("*.json"))
TRANSFER_MEMBERS: Final = frozenset(
    {
        "id",
        "description",
        "kind",
        "now",
        "authority",
        "registry",
        "recipients",
        "handling",
        "legal_basis",
        "expected",
    }
)
USE_MEMBERS: Final = frozenset(
    {
        "id",
        "description",
        "kind",
        "now",
        "authority",
        "registry",
        "recipient",
        "recipient_keys",
        "envelope",
        "opened",
        "consents",
        "use",
        "expected",
    }
)


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = strictjson.loads(
        path.read_bytes(), what=path.name, max_bytes=4 * 1024 * 1024
    )
    return vector


def vectors(kind: str) -> list[dict[str, Any]]:
    return [v for v in (load(p) for p in VECTOR_FILES) if v["kind"] == kind]


def run_transfer(vector: dict[str, Any]) -> list[str]:
    """The verifier procedure for a transfer vector: the mismatch keys found, in order."""
    now = datetime.fromisoformat(vector["now"])
    authority = public_key_from_jwk(vector["authority"])
    assert isinstance(authority, VerifyKey)
    registry = TrustRegistry.from_signed(strictjson.dumps(vector["registry"]), authority, now=now)
    handling = HandlingConditions.model_validate(vector["handling"])
    found = check_transfer(
        registry, vector["recipients"], handling, now=now, legal_basis=vector["legal_basis"]
    )
    return [m.key for m in found]


def test_there_are_vectors() -> None:
    assert len(vectors("transfer")) >= 10
    assert len(vectors("use")) >= 20


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector(path: Path, tmp_path: Path) -> None:
    vector = load(path)
    assert vector["id"] == path.stem
    assert vector["description"].strip()
    if vector["kind"] == "transfer":
        assert set(vector) == TRANSFER_MEMBERS
        assert vector["id"].startswith("transfer-")
        assert set(vector["expected"]) == {"mismatches"}
        assert run_transfer(vector) == vector["expected"]["mismatches"]
    else:
        assert vector["kind"] == "use"
        assert set(vector) == USE_MEMBERS
        assert vector["id"].startswith("use-")
        expected = vector["expected"]
        assert set(expected) == {"result"}
        assert expected["result"] in {"allowed", PolicyError.code}
        assert gen.run_use(vector, tmp_path) == expected["result"]


def test_every_mismatch_kind_has_a_vector() -> None:
    found = {
        key.split(":", 1)[1] for v in vectors("transfer") for key in v["expected"]["mismatches"]
    }
    assert found == set(MISMATCH_KINDS)
    assert any(not v["expected"]["mismatches"] for v in vectors("transfer"))


def test_every_use_has_a_permitted_and_a_refused_vector() -> None:
    outcomes: dict[str, set[str]] = {}
    for v in vectors("use"):
        outcomes.setdefault(v["use"]["kind"], set()).add(v["expected"]["result"])
    assert outcomes == {
        kind: {"allowed", "policy_violation"}
        for kind in ("evidential_use", "onward_transfer", "purpose", "automated_decision")
    }


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    vector = load(VECTOR_DIR / "use-evidential-valid-consent.json")
    vector["consents"] = []
    assert gen.run_use(vector, tmp_path) == "policy_violation"
    transfer = load(VECTOR_DIR / "transfer-retention-longer.json")
    transfer["handling"]["retention"]["max_days"] = 730
    assert run_transfer(transfer) == []


def test_vectors_match_their_generator() -> None:
    assert gen.main(["--check"]) == 0


def test_drift_is_detected(tmp_path: Path) -> None:
    target = ["--dir", str(tmp_path), "--no-verify"]
    assert gen.main(["--check", *target]) == 1  # missing files
    assert gen.main(target) == 0
    assert gen.main(["--check", *target]) == 0
    first = sorted(tmp_path.glob("*.json"))[0]
    first.write_bytes(first.read_bytes().replace(b'"now"', b'"now" '))
    assert gen.main(["--check", *target]) == 1  # changed file
    assert gen.main(target) == 0
    (tmp_path / "stale.json").write_text("{}\n")
    assert gen.main(["--check", *target]) == 1  # stale file
    assert gen.main(target) == 0
    assert not (tmp_path / "stale.json").exists()


def test_a_broken_expectation_is_caught_by_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    case = gen.TRANSFER_CASES[0]
    wrong = gen.TransferCase(
        case.id, case.description, case.recipients, case.handling, ("XB-PROS:retention",)
    )
    monkeypatch.setattr(gen, "TRANSFER_CASES", [wrong])
    monkeypatch.setattr(gen, "USE_CASES", [])
    with pytest.raises(SystemExit, match=case.id):
        gen.check_cases({})


def test_a_broken_use_expectation_is_caught_by_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = next(c for c in gen.USE_CASES if c.expected == "allowed")
    wrong = gen.UseCase(case.id, case.description, case.use, "policy_violation", case.handling)
    monkeypatch.setattr(gen, "TRANSFER_CASES", [])
    monkeypatch.setattr(gen, "USE_CASES", [wrong])
    with pytest.raises(SystemExit, match=case.id):
        gen.check_cases({f"{case.id}.json": strictjson.pretty(case.build())})


def test_vector_files_are_plain_json() -> None:
    for path in VECTOR_FILES:
        assert json.loads(path.read_text(encoding="utf-8")) == load(path)
