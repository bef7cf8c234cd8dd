"""The shared write-or-check step of every generator detects each kind of drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from specs.tools._files import write_or_check

FILES = {"a.json": b'{"a":1}\n', "b.json": b'{"b":2}\n'}


def _check(directory: Path) -> int:
    return write_or_check(FILES, directory, check=True, name="test vectors", generator="gen.py")


def test_write_then_check_is_clean(tmp_path: Path) -> None:
    assert write_or_check(FILES, tmp_path, check=False, name="t", generator="gen.py") == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == FILES
    assert _check(tmp_path) == 0


@pytest.mark.parametrize(
    ("damage", "line"),
    [
        (lambda d: (d / "a.json").unlink(), "missing: a.json"),
        (lambda d: (d / "b.json").write_bytes(b"{}\n"), "differs: b.json"),
        (lambda d: (d / "c.json").write_bytes(b"{}\n"), "extra: c.json"),
    ],
)
def test_each_kind_of_drift_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: object, line: str
) -> None:
    write_or_check(FILES, tmp_path, check=False, name="t", generator="gen.py")
    assert callable(damage)
    damage(tmp_path)
    assert _check(tmp_path) == 1
    err = capsys.readouterr().err
    assert line in err
    assert "run: python specs/tools/gen.py" in err


def test_writing_removes_stale_files_and_leaves_equal_ones(tmp_path: Path) -> None:
    write_or_check(FILES, tmp_path, check=False, name="t", generator="gen.py")
    (tmp_path / "stale.json").write_bytes(b"{}\n")
    before = (tmp_path / "a.json").stat().st_mtime_ns
    assert write_or_check(FILES, tmp_path, check=False, name="t", generator="gen.py") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert (tmp_path / "a.json").stat().st_mtime_ns == before
