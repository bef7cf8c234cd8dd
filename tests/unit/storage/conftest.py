"""Fixtures for the storage tests: a fresh database per test, on each back end.

``store`` and ``cache`` come from ``store_factory`` (``tests/conftest.py``), so
a test that takes them runs twice: ``[sqlite]`` and ``[postgresql]``. The
PostgreSQL run uses a real server (see ``tests/pg.py``). ``test_sqlite.py``
overrides ``store`` with an SQLite-only one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safeshare.storage import ReplayCache, Store
from tests.pg import StoreFactory


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where an SQLite-only test's database goes (the file does not exist yet)."""
    return tmp_path / "safeshare.db"


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def cache(store: Store) -> ReplayCache:
    return ReplayCache(store)
