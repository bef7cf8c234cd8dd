"""Atomic, durable file writes.

A write goes to a temporary file in the same directory, is flushed and
fsync'ed, then renamed over the target (``os.replace`` is atomic on POSIX),
and the directory is fsync'ed so the rename survives a crash. A failure at any
point leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from safeshare.errors import OversizedInputError, StorageError


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Replace *path* with *data* atomically; the file gets permission *mode*."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    tmp = directory / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)  # not subject to the umask
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        _fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"could not write {target}: {exc.strerror or exc}") from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_bytes(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> bytes:
    """Read a whole file, refusing files over *max_bytes*; errors are typed."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise StorageError(f"{what} {os.fspath(path)!r} does not exist") from None
    except OSError as exc:
        raise StorageError(
            f"could not read {what} {os.fspath(path)!r}: {exc.strerror or exc}"
        ) from None
    if len(data) > max_bytes:
        raise OversizedInputError(f"{what} {os.fspath(path)!r} is larger than {max_bytes} bytes")
    return data


@contextlib.contextmanager
def exclusive_lock(lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive advisory lock (``flock``) on *lock_path* for the block."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(
            f"could not open lock file {os.fspath(lock_path)}: {exc.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
