"""The Python example in the README runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_a_python_example() -> None:
    assert _python_blocks()


def test_readme_python_example_runs() -> None:
    out = io.StringIO()
    for block in _python_blocks():
        namespace: dict[str, object] = {"__name__": "readme_example"}
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    printed = out.getvalue()
    assert "XA-NPOL criminal_investigation" in printed
    assert "J. Doe" in printed
    assert "open officer 4711" in printed  # the open was recorded in the audit log
