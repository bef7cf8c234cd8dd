"""The conformance runner and the built-in adapter (specs/conformance.md)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Final

import pytest
from specs.tools import generate_audit_vectors, generate_registry_vectors

from safeshare.cli.main import main
from safeshare.conformance.runner import default_vectors_dir, load_vectors, run

VECTORS: Final = default_vectors_dir()
PY: Final = shlex.quote(sys.executable)


def test_builtin_adapter_passes_every_vector() -> None:
    report = run(None, VECTORS)
    assert report.failures == []
    assert report.passed == report.total > 250
    assert report.total == len(list(VECTORS.glob("*/*.json")))
    assert report.skipped == 0
    assert report.level_results == {
        "envelope": True,
        "messages": True,
        "audit": True,
        "conditions": True,
    }


def test_every_condition_vector_gets_an_operation() -> None:
    vectors, skipped = load_vectors(VECTORS)
    conditions = [v for v in vectors if v.set == "conditions"]
    assert skipped == 0
    assert len(conditions) == len(list((VECTORS / "conditions").glob("*.json")))
    for vector in conditions:
        kind = "transfer" if vector.id.startswith("transfer-") else "use"
        assert vector.op == {"transfer": "check_transfer", "use": "check_use"}[kind]
        assert "kind" not in vector.input


def test_generated_vectors_are_up_to_date() -> None:
    assert generate_registry_vectors.main(["--check"]) == 0
    assert generate_audit_vectors.main(["--check"]) == 0


def _subset(tmp_path: Path) -> Path:
    """A few vectors of each set."""
    root = tmp_path / "vectors"
    picks = {
        "registry": ["valid-registry", "invalid-registry-expired"],
        "audit": ["inclusion-valid-first-of-7", "checkpoint-invalid-wrong-key"],
        "messages": ["invalid-consent-grant-expired"],
    }
    for set_name, ids in picks.items():
        (root / set_name).mkdir(parents=True)
        for vid in ids:
            shutil.copy(VECTORS / set_name / f"{vid}.json", root / set_name / f"{vid}.json")
    return root


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "adapter.py"
    path.write_text("import json, sys\n" + body, encoding="utf-8")
    return f"{PY} {shlex.quote(str(path))}"


def test_always_valid_adapter_fails_exactly_the_invalid_vectors(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    print(json.dumps({'id': r['id'], 'result': 'valid', 'output': {'problems': []}}),"
        " flush=True)\n",
    )
    report = run(command, _subset(tmp_path), timeout=10)
    assert sorted(f.vector for f in report.failures) == [
        "audit/checkpoint-invalid-wrong-key",
        "messages/invalid-consent-grant-expired",
        "registry/invalid-registry-expired",
        "registry/valid-registry",  # no document in the output
    ]
    assert report.passed == 1
    failure = next(f for f in report.failures if f.vector == "registry/invalid-registry-expired")
    assert failure.description.startswith("expires_at is an hour before now")
    assert failure.op == "verify_registry"


def test_one_flipped_op_is_reported_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _script(
        tmp_path,
        "sys.path.insert(0, '')\n"
        "from safeshare.conformance.adapter import answer\n"
        "for line in sys.stdin:\n"
        "    a = answer(line)\n"
        "    if json.loads(line)['op'] == 'verify_inclusion_proof':\n"
        "        a = {'id': a['id'], 'result': 'invalid', 'error': 'audit_integrity'}\n"
        "    print(json.dumps(a), flush=True)\n",
    )
    code = main(
        ["conformance", "run", "--impl", command, "--vectors", str(_subset(tmp_path)), "--json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["vector"] for f in report["failures"]] == ["audit/inclusion-valid-first-of-7"]
    assert report["failures"][0]["description"] == "Leaf 0 of a tree of 7."
    assert (report["total"], report["passed"], report["failed"]) == (5, 4, 1)
    assert report["levels"] == {"audit": False, "envelope": True, "messages": True}


def test_builtin_adapter_through_the_cli(tmp_path: Path) -> None:
    assert main(["conformance", "run", "--vectors", str(_subset(tmp_path))]) == 0


def test_crashing_adapter_is_reported(tmp_path: Path) -> None:
    command = _script(tmp_path, "sys.stdin.readline()\nsys.exit(3)\n")
    report = run(command, _subset(tmp_path), timeout=10)
    assert report.passed == 0
    assert len(report.failures) == 5
    assert report.failures[0].got["result"] == "adapter failure"


def test_hanging_adapter_times_out(tmp_path: Path) -> None:
    command = _script(tmp_path, "import time\nsys.stdin.readline()\ntime.sleep(60)\n")
    report = run(command, _subset(tmp_path), timeout=0.5)
    assert report.passed == 0
    assert len(report.failures) == 5
    assert "no answer within" in report.failures[0].got["message"]


# -- the condition vectors (check_transfer, check_use) ------------------------------------


def _conditions(tmp_path: Path) -> Path:
    """Every condition vector, and nothing else."""
    root = tmp_path / "vectors"
    shutil.copytree(VECTORS / "conditions", root / "conditions")
    return root


def _condition_vectors() -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((VECTORS / "conditions").glob("*.json"))
    ]


def _wrapping(tmp_path: Path, change: str) -> str:
    """An adapter that answers with the built-in one after *change* (code on `r`, `a`)."""
    return _script(
        tmp_path,
        "sys.path.insert(0, '')\n"
        "from safeshare.conformance.adapter import answer\n"
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n" + "".join(f"    {c}\n" for c in change.splitlines()),
    )


def test_builtin_adapter_passes_the_condition_vectors(tmp_path: Path) -> None:
    report = run(None, _conditions(tmp_path))
    assert report.failures == []
    assert report.passed == report.total == len(_condition_vectors())
    assert report.level_results == {"conditions": True}


def test_always_valid_adapter_fails_the_condition_vectors_it_should(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    print(json.dumps({'id': r['id'], 'result': 'valid',"
        " 'output': {'mismatches': []}}), flush=True)\n",
    )
    report = run(command, _conditions(tmp_path), timeout=10)
    vectors = _condition_vectors()
    # It passes exactly the transfers without a mismatch; every use vector fails:
    # a refused use needs an 'invalid' answer, a permitted one the opened claims.
    should_pass = {
        f"conditions/{v['id']}"
        for v in vectors
        if v["kind"] == "transfer" and not v["expected"]["mismatches"]
    }
    assert {f.vector for f in report.failures} == {
        f"conditions/{v['id']}" for v in vectors
    } - should_pass
    assert report.passed == len(should_pass) > 0
    assert report.level_results == {"conditions": False}
    failure = next(f for f in report.failures if f.vector.endswith("transfer-retention-longer"))
    assert failure.op == "check_transfer"
    assert failure.expected == {"mismatches": ["XB-PROS:retention"]}
    assert failure.got["output"] == {"mismatches": []}
    refused = next(f for f in report.failures if f.vector.endswith("use-onward-no-consent"))
    assert refused.op == "check_use"
    assert refused.expected == {"result": "policy_violation"}
    assert refused.description.startswith("The default conditions allow onward transfer")


def test_adapter_ignoring_consent_fails_exactly_the_uses_consent_allows(tmp_path: Path) -> None:
    command = _wrapping(
        tmp_path,
        "if r['op'] == 'check_use':\n"
        "    r['input']['consents'] = []\n"
        "print(json.dumps(answer(json.dumps(r))), flush=True)",
    )
    report = run(command, _conditions(tmp_path), timeout=30)
    needs_consent = {
        f"conditions/{v['id']}"
        for v in _condition_vectors()
        if v["kind"] == "use" and v["consents"] and v["expected"]["result"] == "allowed"
    }
    assert len(needs_consent) >= 3  # evidence, onward transfer, purpose
    assert {f.vector for f in report.failures} == needs_consent
    for failure in report.failures:
        assert failure.op == "check_use"
        assert failure.expected == {"result": "allowed"}
        assert failure.got["result"] == "invalid"
        assert failure.got["error"] == "policy_violation"


def test_adapter_answering_another_envelope_fails_the_permitted_uses(tmp_path: Path) -> None:
    command = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if a['result'] == 'valid' and 'opened' in a['output']:\n"
        "    a['output']['opened']['digest'] = '0' * 64\n"
        "print(json.dumps(a), flush=True)",
    )
    report = run(command, _conditions(tmp_path), timeout=30)
    allowed = {
        f"conditions/{v['id']}"
        for v in _condition_vectors()
        if v["kind"] == "use" and v["expected"]["result"] == "allowed"
    }
    assert allowed
    assert {f.vector for f in report.failures} == allowed


def test_transfer_mismatches_are_compared_in_any_order_but_all_of_them(tmp_path: Path) -> None:
    reversed_ = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['op'] == 'check_transfer':\n"
        "    a['output']['mismatches'].reverse()\n"
        "print(json.dumps(a), flush=True)",
    )
    vectors = _conditions(tmp_path)
    assert run(reversed_, vectors, timeout=30).failures == []
    dropping = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['op'] == 'check_transfer':\n"
        "    a['output']['mismatches'] = a['output']['mismatches'][1:]\n"
        "print(json.dumps(a), flush=True)",
    )
    report = run(dropping, vectors, timeout=30)
    with_mismatches = {
        f"conditions/{v['id']}"
        for v in _condition_vectors()
        if v["kind"] == "transfer" and v["expected"]["mismatches"]
    }
    assert {f.vector for f in report.failures} == with_mismatches
    several = next(f for f in report.failures if f.vector.endswith("transfer-several-recipients"))
    assert several.got["output"]["mismatches"] == ["XB-PROS:onward_transfer", "XC-CUST:suspended"]


def test_condition_failures_are_reported_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _wrapping(
        tmp_path,
        "a = answer(line)\n"
        "if r['id'] == 'conditions/use-automated-decision-forbidden':\n"
        "    a = {'id': a['id'], 'result': 'valid', 'output': {}}\n"
        "print(json.dumps(a), flush=True)",
    )
    code = main(
        ["conformance", "run", "--impl", command, "--vectors", str(_conditions(tmp_path)), "--json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["vector"] for f in report["failures"]] == [
        "conditions/use-automated-decision-forbidden"
    ]
    failure = report["failures"][0]
    assert failure["op"] == "check_use"
    assert failure["expected"] == {"result": "policy_violation"}
    assert failure["got"]["result"] == "valid"
    assert (report["failed"], report["skipped"]) == (1, 0)
    assert report["passed"] == report["total"] - 1
    assert report["levels"] == {"conditions": False}
