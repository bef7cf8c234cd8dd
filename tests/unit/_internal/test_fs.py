"""Atomic file writes and size-capped reads."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from safeshare._internal import fs
from safeshare.errors import OversizedInputError, StorageError


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_creates_file_with_content(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    fs.atomic_write(target, b'{"a":1}')
    assert target.read_bytes() == b'{"a":1}'
    assert _entries(tmp_path) == ["out.json"]


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o666])
def test_mode_is_honoured(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "secret"
    fs.atomic_write(target, b"x", mode=mode)
    # 0o666 shows that the umask does not apply.
    assert _mode(target) == mode


def test_mode_is_honoured_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        fs.atomic_write(tmp_path / "key", b"k", mode=0o600)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "key") == 0o600


def test_replacing_a_file_applies_the_new_mode(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_bytes(b"old")
    target.chmod(0o644)
    fs.atomic_write(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_replaces_existing_content(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    fs.atomic_write(target, b"first version, rather long")
    fs.atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert _entries(tmp_path) == ["state.json"]


def test_writes_large_and_empty_data(tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 7)
    fs.atomic_write(tmp_path / "big", big)
    assert (tmp_path / "big").read_bytes() == big
    fs.atomic_write(tmp_path / "empty", b"")
    assert (tmp_path / "empty").read_bytes() == b""


def test_relative_path_in_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fs.atomic_write("relative.txt", b"here")
    assert (tmp_path / "relative.txt").read_bytes() == b"here"
    assert _entries(tmp_path) == ["relative.txt"]


def test_accepts_str_paths(tmp_path: Path) -> None:
    fs.atomic_write(str(tmp_path / "s"), b"str path")
    assert (tmp_path / "s").read_bytes() == b"str path"


def test_missing_directory_raises_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="could not write"):
        fs.atomic_write(tmp_path / "no-such-dir" / "file", b"data")
    assert _entries(tmp_path) == []


def test_target_is_a_directory_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inside").write_bytes(b"keep")
    with pytest.raises(StorageError):
        fs.atomic_write(tmp_path / "d", b"data")
    assert (tmp_path / "d" / "inside").read_bytes() == b"keep"
    assert _entries(tmp_path) == ["d"]


def _fail(*_args: object, **_kwargs: object) -> NoReturn:
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("function", ["replace", "fsync", "write", "fchmod"])
def test_failure_keeps_previous_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str
) -> None:
    target = tmp_path / "registry.json"
    target.write_bytes(b"previous content")
    target.chmod(0o644)
    monkeypatch.setattr(os, function, _fail)
    with pytest.raises(StorageError, match="No space left on device"):
        fs.atomic_write(target, b"new content that never lands", mode=0o600)
    monkeypatch.undo()
    assert target.read_bytes() == b"previous content"
    assert _mode(target) == 0o644
    assert _entries(tmp_path) == ["registry.json"]


def test_failure_after_partial_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "log"
    target.write_bytes(b"old")
    real_write = os.write
    calls: list[int] = []

    def short_then_fail(fd: int, data: memoryview | bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:3]))  # a short write
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "write", short_then_fail)
    with pytest.raises(StorageError, match="Input/output error"):
        fs.atomic_write(target, b"0123456789")
    monkeypatch.undo()
    assert calls[:2] == [10, 7]
    assert target.read_bytes() == b"old"
    assert _entries(tmp_path) == ["log"]


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def one_byte_at_a_time(fd: int, data: memoryview | bytes) -> int:
        return real_write(fd, bytes(data[:1]))

    monkeypatch.setattr(os, "write", one_byte_at_a_time)
    fs.atomic_write(tmp_path / "f", b"hello world")
    monkeypatch.undo()
    assert (tmp_path / "f").read_bytes() == b"hello world"


def test_storage_error_is_not_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        fs.atomic_write(tmp_path / "missing" / "x", b"")
    assert not isinstance(info.value, OSError)
    assert info.value.__cause__ is None


def test_read_bytes_reads_up_to_the_cap(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 10)
    assert fs.read_bytes(tmp_path / "f", what="file", max_bytes=10) == b"x" * 10


def test_read_bytes_refuses_larger_files(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 11)
    with pytest.raises(OversizedInputError, match="registry"):
        fs.read_bytes(tmp_path / "f", what="registry", max_bytes=10)


def test_read_bytes_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        fs.read_bytes(tmp_path / "nope", what="key file", max_bytes=10)


def test_read_bytes_directory(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="could not read"):
        fs.read_bytes(tmp_path, what="key file", max_bytes=10)
