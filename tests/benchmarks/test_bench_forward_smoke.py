"""Smoke test of the onward-transfer benchmark: it runs and its report is consistent.

Never asserts a speed; only the shape of the report and the ratio arithmetic.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

from benchmarks.bench_forward import main


def test_quick_run_reports_both_operations_with_consistent_ratios() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        assert main(["--quick", "--json", "-"]) == 0
    report = json.loads(stdout.getvalue())
    assert set(report["results"]) == {"forward", "open-forwarded"}
    assert report["envelope_bytes"] > 1000
    for row in report["results"].values():
        assert row["safeshare_us"] > 0
        assert row["floor_us"] > 0
        assert math.isclose(row["ratio"], row["safeshare_us"] / row["floor_us"])
    assert "open-forwarded" in stderr.getvalue()
