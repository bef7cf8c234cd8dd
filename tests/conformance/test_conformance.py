"""The conformance runner and the built-in adapter (specs/conformance.md)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Final

import pytest
from specs.tools import generate_audit_vectors, generate_registry_vectors

from safeshare.cli.main import main
from safeshare.conformance.runner import default_vectors_dir, run

VECTORS: Final = default_vectors_dir()
PY: Final = shlex.quote(sys.executable)


def test_builtin_adapter_passes_every_vector() -> None:
    report = run(None, VECTORS)
    assert report.failures == []
    assert report.passed == report.total > 250
    assert report.level_results == {"envelope": True, "messages": True, "audit": True}


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
