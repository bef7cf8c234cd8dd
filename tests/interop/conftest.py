"""Fixtures shared with the other envelope test directory (see ``tests/envelope_fixtures.py``)."""

from __future__ import annotations

from tests.envelope_fixtures import replay_caches, testnet

__all__ = ["replay_caches", "testnet"]
