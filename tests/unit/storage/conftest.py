"""Fixtures for the storage tests: a fresh database file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safeshare.storage import ReplayCache, Store, open_store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's database goes (the file does not exist yet)."""
    return tmp_path / "safeshare.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with open_store(db_path) as s:
        yield s


@pytest.fixture
def cache(store: Store) -> ReplayCache:
    return ReplayCache(store)
