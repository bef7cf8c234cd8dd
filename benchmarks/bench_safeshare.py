"""safeshare through its public API: ``seal`` and ``open_envelope`` with a ``ReplayCache``.

Opening states the purpose (the envelope's own, so the authorization step
runs its common path) and an actor, with ``recorder=None``: the peers and the
floor record no access either, so recording would be an unfair extra here.
What recording costs (an ``AuditLogRecorder`` committing each open) is
measured separately by :mod:`benchmarks.bench_audit`.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from benchmarks._common import (
    ACTOR,
    CASE_REF,
    LEGAL_BASIS,
    MESSAGE_TYPE,
    PURPOSE,
    Workload,
    filesystem_type,
)
from safeshare.envelope import OpenedEnvelope, open_envelope, seal
from safeshare.keys import AgencyKeySet
from safeshare.storage import ReplayCache, Store, open_store


class SafeshareImpl:
    """``seal(...)`` and ``open_envelope(...)``, as an application calls them (minus recording).

    The replay cache is an SQLite database (WAL, ``synchronous=FULL``) in
    *replay_dir*: a tmpfs directory measures the code and cryptography (fsync
    costs nothing there), a directory on a real disk adds the fsync that makes
    every accepted ``jti`` durable.
    """

    def __init__(self, workload: Workload, *, name: str, description: str, replay_dir: str) -> None:
        self.name = name
        self.description = description
        self._workload = workload
        self._dir = tempfile.mkdtemp(prefix="safeshare-bench-", dir=replay_dir)
        self._store: Store | None = None
        try:
            self._store = open_store(f"{self._dir}/replay.sqlite3")
            self._replay = ReplayCache(self._store)
        except BaseException:
            self.close()
            raise
        self._to: tuple[str, ...] = ()
        self._opener: AgencyKeySet = workload.opener(1)

    def info(self) -> dict[str, Any]:
        return {"replay_store": self._dir, "replay_fs": filesystem_type(self._dir)}

    def setup(self, n_recipients: int) -> None:
        self._to = self._workload.recipients(n_recipients)
        self._opener = self._workload.opener(n_recipients)

    def seal(self) -> bytes:
        w = self._workload
        return seal(
            w.record,
            sender=w.sender,
            to=self._to,
            registry=w.registry,
            purpose=PURPOSE,
            legal_basis=LEGAL_BASIS,
            case_ref=CASE_REF,
            message_type=MESSAGE_TYPE,
            handling=w.handling,
        )

    def open(self, envelope: bytes) -> OpenedEnvelope:
        return open_envelope(
            envelope,
            recipient=self._opener,
            registry=self._workload.registry,
            replay=self._replay,
            purpose=PURPOSE,
            actor=ACTOR,
            recorder=None,  # the access is not recorded: see the module docstring
        )

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        shutil.rmtree(self._dir, ignore_errors=True)
