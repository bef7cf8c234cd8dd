"""Every scenario in examples/ runs and behaves as its README says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_scenario(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / name / "scenario.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main()
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        (
            "preservation_and_subscriber_disclosure",
            [
                "ok: the preservation request is complete",
                "ok: the response inherited purpose evidence_preservation and case XA-2026-000123",
                "accepted: XB-PROS opens it for criminal_investigation",
                "ok: XB-PROS's log holds its two seals and its two opens",
            ],
        ),
        (
            "mla_request_completeness",
            [
                "The MLA request draft has 6 problems:",
                "[UNTOC Art. 18(15)(f)]",
                "refused as expected: PolicyError",
                "ok: the corrected MLA request is complete",
                "ok: the MLA response is complete and kept purpose and case",
            ],
        ),
        (
            "purpose_limitation_and_retention",
            [
                "refused as expected: PolicyError: XB-PROS may not use this envelope",
                "ok: the refusal is recorded as a denial in XB-PROS's audit log",
                "accepted: XB-PROS officer 4711 opens the envelope for criminal_investigation",
                "refused as expected: PolicyError: use as evidence",
                "accepted: use the data as evidence in judicial proceedings",
                "ok: the purge is recorded",
            ],
        ),
    ],
)
def test_scenario(name: str, lines: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_scenario(name, capsys)
    assert code == 0, out
    assert "MISBEHAVED" not in out
    assert "Scenario complete: every step behaved as expected." in out
    for line in lines:
        assert line in out


def test_every_scenario_has_a_readme() -> None:
    for folder in (
        "preservation_and_subscriber_disclosure",
        "mla_request_completeness",
        "purpose_limitation_and_retention",
    ):
        assert (EXAMPLES / folder / "README.md").is_file()
