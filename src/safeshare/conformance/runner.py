"""The conformance runner: every vector of ``specs/vectors/`` against an adapter.

See ``specs/safeshare-v1.md`` sections 3 and 14. :func:`run` starts the adapter command once,
streams one request per vector, waits at most *timeout* seconds for each
answer, and compares it with the vector's expectation.
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = [
    "BUILTIN_ADAPTER",
    "Failure",
    "Report",
    "default_vectors_dir",
    "load_vectors",
    "run",
]

#: The built-in adapter's command line.
BUILTIN_ADAPTER: Final = f"{shlex.quote(sys.executable)} -m safeshare.conformance.adapter"
#: Vector set -> conformance level.
LEVELS: Final = {
    "envelope": "envelope",
    "registry": "envelope",
    "messages": "messages",
    "audit": "audit",
    "conditions": "conditions",
    "privacy": "privacy",
}
MAX_RESTARTS: Final = 3
_AUDIT_OPS: Final = {
    "inclusion": "verify_inclusion_proof",
    "consistency": "verify_consistency_proof",
    "checkpoint": "verify_checkpoint",
}
_CONDITION_OPS: Final = {"transfer": "check_transfer", "use": "check_use"}
_PRIVACY_OPS: Final = {
    "pseudonym": "pseudonymize",
    "blind_index": "blind_index_token",
    "generalize": "generalize",
}
#: ``expected.result`` of a use vector whose use is permitted.
_ALLOWED: Final = "allowed"


def default_vectors_dir() -> Path:
    """``specs/vectors`` of the repository this package lives in."""
    return Path(__file__).resolve().parents[3] / "specs" / "vectors"


@dataclass(frozen=True)
class Vector:
    set: str
    id: str
    description: str
    op: str
    input: dict[str, Any]
    expected: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.set}/{self.id}"


@dataclass(frozen=True)
class Failure:
    vector: str
    op: str
    description: str
    expected: Any
    got: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "vector": self.vector,
            "op": self.op,
            "description": self.description,
            "expected": self.expected,
            "got": self.got,
        }


@dataclass
class Report:
    total: int = 0
    passed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    level_results: dict[str, bool] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures and self.total > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "levels": dict(sorted(self.level_results.items())),
            "failures": [f.to_json() for f in self.failures],
        }

    def text(self) -> str:
        lines = [
            f"FAIL {f.vector} ({f.op}): {f.description}\n"
            f"     expected {json.dumps(f.expected, sort_keys=True)}\n"
            f"     got      {json.dumps(f.got, sort_keys=True)[:500]}"
            for f in self.failures
        ]
        levels = ", ".join(
            f"{name} {'pass' if ok else 'FAIL'}" for name, ok in sorted(self.level_results.items())
        )
        lines.append(
            f"{self.passed}/{self.total} vectors passed, {self.failed} failed, "
            f"{self.skipped} skipped; levels: {levels}"
        )
        return "\n".join(lines)


def _to_vector(set_name: str, data: dict[str, Any]) -> Vector | None:
    keep = {k: v for k, v in data.items() if k not in {"id", "description", "expected"}}
    op: str
    if set_name == "envelope":
        op = "open_envelope"
        keep.pop("category", None)
    elif set_name == "messages":
        op = "validate_message"
    elif set_name == "registry":
        op = "verify_registry"
    elif set_name == "audit":
        op = _AUDIT_OPS[data["kind"]]
        keep.pop("kind", None)
    elif set_name == "conditions" and data.get("kind") in _CONDITION_OPS:
        op = _CONDITION_OPS[data["kind"]]
        keep.pop("kind", None)
    elif set_name == "privacy" and data.get("kind") in _PRIVACY_OPS:
        op = _PRIVACY_OPS[data["kind"]]
        keep.pop("kind", None)
        keep.pop("trace", None)  # intermediate values for implementers, not an input
    else:
        return None
    return Vector(set_name, data["id"], data["description"], op, keep, data["expected"])


def load_vectors(directory: Path) -> tuple[list[Vector], int]:
    """Every vector under *directory* (``<set>/<id>.json``) and the number skipped.

    A vector is skipped when this protocol version has no operation for it
    (a set not in :data:`LEVELS`, or a condition or privacy vector of an
    unknown ``kind``); every vector of ``specs/vectors/`` has one.
    """
    vectors: list[Vector] = []
    skipped = 0
    for path in sorted(directory.glob("*/*.json")):
        set_name = path.parent.name
        data = json.loads(path.read_text(encoding="utf-8"))
        vector = _to_vector(set_name, data)
        if vector is None:
            skipped += 1
        else:
            vectors.append(vector)
    return vectors, skipped


def _matches(vector: Vector, got: dict[str, Any]) -> bool:
    expected = vector.expected
    result = got.get("result")
    output = got.get("output")
    if vector.set == "messages":
        if result != "valid" or not isinstance(output, dict):
            return False
        problems = output.get("problems")
        return isinstance(problems, list) and sorted(map(str, problems)) == sorted(
            expected.get("problems", [])
        )
    if vector.set == "conditions":
        return _matches_condition(vector, result, output, got.get("error"))
    if vector.set == "privacy":
        return _matches_privacy(vector, result, output, got.get("error"))
    if expected["result"] == "invalid":
        return result == "invalid" and got.get("error") == expected["error"]
    if result != "valid" or not isinstance(output, dict):
        return False
    return all(output.get(k) == v for k, v in expected.items() if k != "result")


def _matches_condition(vector: Vector, result: Any, output: Any, error: Any) -> bool:
    """``check_transfer``: the same mismatch keys, in any order; ``check_use``: see below.

    A use vector expecting ``allowed`` needs a ``valid`` answer that names the
    digest and claims the envelope opened to (the vector's ``opened``); any
    other expectation is an error code the ``invalid`` answer must carry.
    """
    expected = vector.expected
    if vector.op == "check_transfer":
        if result != "valid" or not isinstance(output, dict):
            return False
        found = output.get("mismatches")
        return isinstance(found, list) and sorted(map(str, found)) == sorted(expected["mismatches"])
    if expected["result"] != _ALLOWED:
        return bool(result == "invalid" and error == expected["result"])
    return (
        result == "valid"
        and isinstance(output, dict)
        and output.get("opened") == vector.input["opened"]
    )


def _matches_privacy(vector: Vector, result: Any, output: Any, error: Any) -> bool:
    """``invalid``: the same error code; ``valid``: every expected member, as exact JSON.

    Exact: a boolean never equals a number, and ``-0`` never equals ``0`` (a
    grid cell is written ``0``); numbers are otherwise compared by value, so
    ``48`` and ``48.0`` are equal.
    """
    expected = vector.expected
    if expected["result"] == "invalid":
        return bool(result == "invalid" and error == expected["error"])
    if result != "valid" or not isinstance(output, dict):
        return False
    return all(
        key in output and same_json(output[key], value)
        for key, value in expected.items()
        if key != "result"
    )


def same_json(a: Any, b: Any) -> bool:
    """JSON equality that tells booleans from numbers and -0 from 0 (section 14.5)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b and (a != 0 or math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return False


class _Adapter:
    """One adapter process, with a reader thread so every answer has a timeout."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, request: dict[str, Any], timeout: float) -> str:
        """The answer line, or raise ``TimeoutError``/``EOFError``."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise EOFError("the adapter closed its input") from exc
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer within {timeout:g} s") from None
        if line is None:
            raise EOFError("the adapter exited without answering")
        return line

    def close(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                if self.process.stdin is not None:
                    self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def run(
    command: str | None = None, vectors_dir: Path | None = None, *, timeout: float = 30.0
) -> Report:
    """Run every vector of *vectors_dir* against the adapter *command*."""
    argv = shlex.split(BUILTIN_ADAPTER if command is None else command)
    directory = default_vectors_dir() if vectors_dir is None else vectors_dir
    vectors, skipped = load_vectors(directory)
    report = Report(total=len(vectors), skipped=skipped)
    for vector in vectors:
        report.level_results.setdefault(LEVELS[vector.set], True)
    adapter: _Adapter | None = None
    restarts = 0
    for vector in vectors:
        got: Any
        if restarts > MAX_RESTARTS:
            got = {"result": "not run", "message": "the adapter failed repeatedly"}
        else:
            if adapter is None:
                adapter = _Adapter(argv)
            request = {"id": vector.name, "op": vector.op, "input": vector.input}
            try:
                line = adapter.ask(request, timeout)
                got = _parse(line, vector.name)
                restarts = 0
            except (TimeoutError, EOFError) as exc:
                got = {"result": "adapter failure", "message": str(exc)}
                adapter.close(kill=True)
                adapter = None
                restarts += 1
        if isinstance(got, dict) and got.get("id") == vector.name and _matches(vector, got):
            report.passed += 1
        else:
            report.failures.append(
                Failure(vector.name, vector.op, vector.description, vector.expected, got)
            )
            report.level_results[LEVELS[vector.set]] = False
    if adapter is not None:
        adapter.close()
    return report


def _parse(line: str, name: str) -> Any:
    try:
        got = json.loads(line)
    except ValueError:
        return {"result": "unreadable answer", "message": line[:200]}
    if not isinstance(got, dict):
        return {"result": "unreadable answer", "message": line[:200]}
    if got.get("id") != name:
        return {"result": "answer for another id", "answer": got}
    return got
