"""Where the rest of the library writes what it did: the access-recording interface.

Every path that touches shared data (seal, open, deny, forward, consent,
purge, override) hands an :class:`~safeshare.audit.entry.AuditEntry` to an
:class:`AccessRecorder`. :class:`~safeshare.audit.log.AuditLog` is the real
one (tamper-evident, durable before ``record`` returns);
:class:`MemoryRecorder` keeps entries in a list for tests and examples.

A caller gets data only after ``record`` returned for the entry that
records the access.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog, Before

__all__ = ["AccessRecorder", "AuditLogRecorder", "MemoryRecorder"]


@runtime_checkable
class AccessRecorder(Protocol):
    """Records one audit entry durably; returns its index in the log."""

    def record(self, entry: AuditEntry) -> int: ...


class AuditLogRecorder:
    """Records into an :class:`AuditLog` (group-committed, durable on return)."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def record(self, entry: AuditEntry) -> int:
        return self.log.append(entry)

    def record_with(self, entry: AuditEntry, *, before: Before) -> int:
        """Record *entry* in the same transaction as *before* (see :meth:`AuditLog.append`)."""
        return self.log.append(entry, before=before)


class MemoryRecorder:
    """Keeps entries in memory, in order (tests, examples; not durable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> int:
        with self._lock:
            self.entries.append(entry)
            return len(self.entries) - 1
