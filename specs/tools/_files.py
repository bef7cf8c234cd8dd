"""Write generated files, or check that the ones on disk are exactly what would be written.

Every generator under ``specs/tools`` ends here, so "regenerate byte for
byte; CI fails on drift" is one piece of code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path


def write_or_check(
    files: Mapping[str, bytes], directory: Path, *, check: bool, name: str, generator: str
) -> int:
    """Write *files* into *directory* (deleting stale ``*.json``), or with *check* only compare.

    Returns 0, or 1 after listing each missing, differing and extra file on
    stderr. *name* names the set in messages; *generator* is the script to run.
    """
    present = {p.name for p in directory.glob("*.json")} if directory.exists() else set()
    if check:
        drift = sorted(
            [f"missing: {n}" for n in files if n not in present]
            + [
                f"differs: {n}"
                for n, data in files.items()
                if n in present and (directory / n).read_bytes() != data
            ]
            + [f"extra: {n}" for n in present if n not in files]
        )
        if drift:
            print(f"{name} out of date:", file=sys.stderr)
            for line in drift:
                print(f"  {line}", file=sys.stderr)
            print(f"run: python specs/tools/{generator}", file=sys.stderr)
            return 1
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    for stale in sorted(present - set(files)):
        (directory / stale).unlink()
    for file_name, data in files.items():
        path = directory / file_name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    return 0
