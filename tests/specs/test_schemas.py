"""The JSON Schemas in specs/schemas are what the models produce (no drift)."""

from __future__ import annotations

from pathlib import Path

import pytest
from specs.tools import export_schemas


def test_schemas_on_disk_match_the_models() -> None:
    assert export_schemas.main(["--check"]) == 0


def test_drift_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_schemas, "SCHEMA_DIR", tmp_path)
    assert export_schemas.main(["--check"]) == 1  # nothing written yet: missing files
    assert export_schemas.main([]) == 0
    assert export_schemas.main(["--check"]) == 0
    (tmp_path / "signed-claims.schema.json").write_bytes(b"{}\n")
    assert export_schemas.main(["--check"]) == 1
