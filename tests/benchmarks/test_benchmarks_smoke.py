"""Smoke test of the benchmark runner: it runs and its JSON report is complete.

Never asserts a speed: timings depend on the machine. Only the shape of the
report and the arithmetic of the ratios are checked.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from benchmarks._common import OPERATIONS
from benchmarks.run import RATIOS, format_table, main

IMPLEMENTATIONS = {
    "safeshare",
    "safeshare (durable replay, disk)",
    "floor",
    "floor + sha256 digests",
    "peers",
}
RECIPIENT_COUNTS = (1, 10)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "report.json"
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["--quick", "--json", str(out), "--recipients", "1,10"])
    assert code == 0
    assert "safeshare / floor" in stdout.getvalue()  # the table went to stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_implementation_operation_and_recipient_count(report: dict[str, Any]) -> None:
    assert {impl["name"] for impl in report["implementations"]} == IMPLEMENTATIONS
    assert report["operations"] == list(OPERATIONS) == ["seal", "open", "seal+open"]
    found = {(r["implementation"], r["recipients"], r["operation"]) for r in report["results"]}
    expected = {(i, n, op) for i in IMPLEMENTATIONS for n in RECIPIENT_COUNTS for op in OPERATIONS}
    assert found == expected
    assert len(report["results"]) == len(expected)


def test_times_are_positive_and_consistent(report: dict[str, Any]) -> None:
    for r in report["results"]:
        samples = r["samples_s"]
        assert len(samples) == r["rounds"] == report["settings"]["rounds"]
        assert all(isinstance(s, float) and s > 0 and math.isfinite(s) for s in samples)
        assert r["iterations"] >= 1
        assert 0 < r["min_s"] <= r["q1_s"] <= r["median_s"] <= r["q3_s"] <= r["max_s"]
        assert r["ops_per_s"] == pytest.approx(1 / r["median_s"])
        cpu = r["cpu"]
        assert len(cpu["samples_s"]) == len(samples)
        assert all(s >= 0 and math.isfinite(s) for s in cpu["samples_s"])
        assert cpu["min_s"] <= cpu["median_s"] <= cpu["max_s"]


def test_ratios_are_computed_from_the_medians(report: dict[str, Any]) -> None:
    medians = {
        (r["implementation"], r["recipients"], r["operation"]): r["median_s"]
        for r in report["results"]
    }
    minima = {
        (r["implementation"], r["recipients"], r["operation"]): r["min_s"]
        for r in report["results"]
    }
    cpu_medians = {
        (r["implementation"], r["recipients"], r["operation"]): r["cpu"]["median_s"]
        for r in report["results"]
    }
    ratios = {
        (r["numerator"], r["denominator"], r["recipients"], r["operation"]): r
        for r in report["ratios"]
    }
    expected = {
        (num, den, n, op) for num, den in RATIOS for n in RECIPIENT_COUNTS for op in OPERATIONS
    }
    assert set(ratios) == expected
    # The ratios the design document sets targets for are all there.
    for n in RECIPIENT_COUNTS:
        for op in OPERATIONS:
            assert ("safeshare", "floor", n, op) in ratios
            assert ("safeshare", "peers", n, op) in ratios
    for (num, den, n, op), r in ratios.items():
        assert r["name"] == f"{num} / {den}"
        assert r["value"] == pytest.approx(medians[num, n, op] / medians[den, n, op])
        assert r["value"] > 0
        assert r["paired"] > 0
        assert r["of_minima"] == pytest.approx(minima[num, n, op] / minima[den, n, op])
        if cpu_medians[den, n, op] > 0:
            expected_cpu = cpu_medians[num, n, op] / cpu_medians[den, n, op]
            assert r["cpu"] == pytest.approx(expected_cpu)
        if r["target"] is None:
            assert r["met"] is None
        else:
            assert isinstance(r["met"], bool)
    assert ratios["safeshare", "floor", 1, "seal+open"]["target"] == "<= 1.3"
    assert ratios["safeshare", "peers", 1, "seal+open"]["target"] == "< 1"


def test_workload_and_environment_are_described(report: dict[str, Any]) -> None:
    workload = report["workload"]
    assert workload["selectively_disclosable_fields"] == 8
    assert 900 <= workload["record_json_bytes"] <= 1200
    for name in IMPLEMENTATIONS:
        for n in RECIPIENT_COUNTS:
            assert workload["envelope_bytes"][name][str(n)] > 0
    assert report["environment"]["versions"]["cryptography"]
    assert report["settings"]["quick"] is True


def test_the_table_renders_from_the_report(report: dict[str, Any]) -> None:
    table = format_table(report)
    for name in IMPLEMENTATIONS:
        assert name in table
    assert "safeshare / peers" in table


def test_json_to_stdout(tmp_path: Path) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["--quick", "--json", "-", "--recipients", "1", "--rounds", "1"])
    assert code == 0
    data = json.loads(stdout.getvalue())  # nothing but JSON on stdout
    assert {r["recipients"] for r in data["results"]} == {1}
    assert "safeshare / floor" in stderr.getvalue()  # the table went to stderr
