"""Access reports for oversight bodies: who accessed what, for which purpose, denials first.

:func:`build_report` reads the entries of an :class:`~safeshare.audit.log.AuditLog`
(all of them, or those whose ``time`` is in ``[since, until)``) and counts
them by purpose, actor, counterparty, action and outcome; it lists every
**denied** entry (outcome ``denied``) with its reason. Denials come first:
in the rendering, in the dictionary, and in each table, whose rows are
ordered by number of denials, then by number of entries, then by name.

The report is bound to the tree it was computed from, and that tree is
recomputed from the very entry bytes the report counts: the entries are
read with :meth:`AuditLog.verified_entries
<safeshare.audit.log.AuditLog.verified_entries>` (the log's one verified
pass; see there for every check), in one read snapshot and one pass over the
entries ``0 .. size - 1`` (whatever the period: every entry is hashed, only
those in the period are counted):

* each entry's leaf hash ``SHA-256(0x00 || data)`` (RFC 9162 section
  2.1.1) is recomputed from its bytes and must equal the leaf stored next
  to it; the entry is decoded strictly (canonical form only);
* the leaves are folded into a Merkle frontier, and every complete subtree
  the tree gains is compared with the stored tree node of that subtree
  (level 0 first: an entry rewritten together with its stored leaf, but
  not with the tree above it, stops the report right there); so the stored
  root, which is folded from stored nodes, is the recomputed one;
* the root recomputed at the size of the log's latest stored checkpoint
  that the report covers must be that checkpoint's root, and the root of
  the whole report must be the root of the *checkpoint* given to
  :func:`build_report` (typically one the oversight body received and the
  witnesses cosigned), if any (before a chunk of entries is counted, the
  tree recomputed so far must also be consistent with both, by RFC 9162
  consistency proofs);
* the log must show no sign of lost entries: no tree node and no stored
  checkpoint beyond its last entry.

Any difference raises :class:`~safeshare.errors.AuditIntegrityError`
naming the first bad index (for a rewrite that kept the stored tree
consistent and only a checkpoint exposes: the range it must lie in), and
no report is produced. A report therefore never states a root it did not
recompute from the entries it counted. What the report cannot detect
alone, a consistent rewrite of entries, nodes and stored checkpoints, is
what the *checkpoint* argument is for: pass the checkpoint you hold.

Memory stays small: entries and nodes are read in chunks (at most
:data:`safeshare.audit.log.READ_CHUNK` entries at a time), the tree is a
frontier of at most 64 hashes, and the counts grow with the number of
*distinct* purposes, actors, counterparties and actions, and with the denied entries listed (at most
*max_denied*; the rest are counted, not listed). A report contains metadata
only, like the entries it summarises; blind-index subject tokens are left
out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from safeshare._internal.clock import from_unix, require_aware, resolve_now, rfc3339
from safeshare.audit.checkpoint import Checkpoint
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.note import b64std_encode
from safeshare.errors import AuditIntegrityError, UsageError

__all__ = [
    "DEFAULT_MAX_DENIED",
    "DIMENSIONS",
    "DeniedEntry",
    "GroupCount",
    "Report",
    "build_report",
]

#: Denied entries listed in full by default (all are counted).
DEFAULT_MAX_DENIED: Final = 10_000
#: The tables of a report: (dictionary key, heading, entry field).
DIMENSIONS: Final = (
    ("by_purpose", "purpose", "purpose"),
    ("by_actor", "actor", "actor"),
    ("by_counterparty", "counterparty", "counterparty"),
    ("by_action", "action", "action"),
    ("by_outcome", "outcome", "outcome"),
)
#: Outcomes in report order: denials first.
OUTCOME_ORDER: Final = ("denied", "error", "success")
_NONE: Final = "(none)"
_RESTORE: Final = (
    "run `safeshare audit verify` to locate the damage, and restore the database from a "
    "backup; do not rely on a report of this log until it verifies"
)


@dataclass(frozen=True, slots=True)
class GroupCount:
    """One row of a table: the entries with one value of a field, by outcome."""

    value: str | None
    """The field's value; ``None`` for entries without one (no counterparty, ...)."""
    total: int
    denied: int
    error: int
    success: int

    def to_dict(self, field: str) -> dict[str, Any]:
        return {
            field: self.value,
            "denied": self.denied,
            "error": self.error,
            "success": self.success,
            "total": self.total,
        }


@dataclass(frozen=True, slots=True)
class DeniedEntry:
    """A denied access, as listed in a report (metadata of the entry, no subjects)."""

    index: int
    time: int
    action: str
    actor: str
    agency: str
    counterparty: str | None
    purpose: str | None
    jti: str | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": rfc3339(from_unix(self.time)),
            "action": self.action,
            "actor": self.actor,
            "agency": self.agency,
            "counterparty": self.counterparty,
            "purpose": self.purpose,
            "jti": self.jti,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """An access report over one audit log (see the module docstring)."""

    origin: str
    log_size: int
    """The tree size the report covers: entries ``0 .. log_size - 1`` were read."""
    root_hash: bytes
    """The root of that tree, recomputed from the entries read (RFC 9162 section 2.1.1)."""
    checkpoint: Checkpoint | None
    """The signed checkpoint the recomputed tree was checked against (its root matched).

    The checkpoint given to :func:`build_report` (of size :attr:`log_size`)
    if one was; otherwise the log's latest stored checkpoint of at most
    :attr:`log_size` entries (entries beyond its size are covered by no
    checkpoint yet), or ``None`` if the log signed none.
    """
    checkpoint_given: bool
    """Whether :attr:`checkpoint` was given by the caller (else: stored by the log)."""
    since: datetime | None
    until: datetime | None
    generated_at: datetime
    entries: int
    """Entries in the period."""
    outcomes: Mapping[str, int]
    """Entries in the period by outcome, denials first."""
    denied: tuple[DeniedEntry, ...]
    """Denied entries in log order (at most the ``max_denied`` first ones)."""
    denied_not_listed: int
    """Denied entries counted but not listed (beyond ``max_denied``)."""
    tables: Mapping[str, tuple[GroupCount, ...]]
    """One table per :data:`DIMENSIONS` key, rows with the most denials first."""

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data; keys in reading order, denials first."""
        cp = self.checkpoint
        out: dict[str, Any] = {
            "report": "safeshare audit access report",
            "log": {
                "origin": self.origin,
                "size": self.log_size,
                "root_hash": b64std_encode(self.root_hash),
                "checkpoint": None
                if cp is None
                else {
                    "size": cp.size,
                    "root_hash": b64std_encode(cp.root_hash),
                    "source": "given" if self.checkpoint_given else "stored",
                },
            },
            "period": {
                "since": None if self.since is None else rfc3339(self.since),
                "until": None if self.until is None else rfc3339(self.until),
            },
            "generated_at": rfc3339(self.generated_at),
            "entries": self.entries,
            "outcomes": dict(self.outcomes),
            "denied": [d.to_dict() for d in self.denied],
            "denied_not_listed": self.denied_not_listed,
        }
        for key, _heading, field in DIMENSIONS:
            out[key] = [row.to_dict(field) for row in self.tables[key]]
        return out

    def to_text(self) -> str:
        """A readable rendering for people (plain text, one item per line)."""
        lines = [
            f"Audit access report for log {self.origin}",
            f"Tree: {self.log_size} entries, root hash {b64std_encode(self.root_hash)} "
            "(recomputed from the entries)",
            f"Checkpoint: {self._checkpoint_text()}",
            f"Period: {_period(self.since, self.until)} (entry times)",
            f"Generated: {rfc3339(self.generated_at)}",
            f"Entries in the period: {self.entries} ("
            + ", ".join(f"{name} {self.outcomes[name]}" for name in OUTCOME_ORDER)
            + ")",
            "",
            f"DENIED ACCESSES ({self.outcomes['denied']})",
        ]
        if not self.denied:
            lines.append("  none")
        for d in self.denied:
            lines.append(
                f"  #{d.index}  {rfc3339(from_unix(d.time))}  {d.action}  actor {d.actor!r}  "
                f"agency {d.agency}  counterparty {d.counterparty or _NONE}  "
                f"purpose {d.purpose or _NONE}  jti {d.jti or _NONE}"
            )
            lines.append(f"      reason: {d.reason or '(none given)'}")
        if self.denied_not_listed:
            lines.append(f"  ... and {self.denied_not_listed} more denied entries, not listed")
        for key, heading, _field in DIMENSIONS:
            rows = self.tables[key]
            lines += ["", f"BY {heading.upper()}"]
            if not rows:
                lines.append("  none")
                continue
            width = max(len(heading), *(len(_label(r.value)) for r in rows))
            lines.append(
                f"  {heading:<{width}}  {'denied':>8}  {'error':>8}  {'success':>8}  {'total':>8}"
            )
            lines.extend(
                f"  {_label(r.value):<{width}}  {r.denied:>8}  {r.error:>8}  {r.success:>8}  "
                f"{r.total:>8}"
                for r in rows
            )
        return "\n".join(lines) + "\n"

    def _checkpoint_text(self) -> str:
        cp = self.checkpoint
        if cp is None:
            return "none (the log signed no checkpoint the report could be checked against)"
        where = "given" if self.checkpoint_given else "signed by the log"
        text = f"size {cp.size}, root hash {b64std_encode(cp.root_hash)} ({where}): matches"
        if cp.size < self.log_size:
            text += f"; entries {cp.size} to {self.log_size - 1} are covered by no checkpoint yet"
        return text


def _label(value: str | None) -> str:
    return _NONE if value is None else value


def _period(since: datetime | None, until: datetime | None) -> str:
    if since is None and until is None:
        return "all entries"
    start = "the beginning" if since is None else rfc3339(since)
    end = "now" if until is None else rfc3339(until)
    return f"from {start} (inclusive) to {end} (exclusive)"


class _Counter:
    """Counts by value and outcome for one field."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[str | None, list[int]] = {}

    def add(self, value: str | None, outcome: int) -> None:
        row = self.counts.get(value)
        if row is None:
            row = self.counts[value] = [0, 0, 0]
        row[outcome] += 1

    def rows(self) -> tuple[GroupCount, ...]:
        rows = [
            GroupCount(value=v, total=sum(c), denied=c[0], error=c[1], success=c[2])
            for v, c in self.counts.items()
        ]
        rows.sort(key=lambda r: (-r.denied, -r.total, r.value is None, r.value or ""))
        return tuple(rows)


def _bound(value: datetime | None, name: str) -> int | None:
    if value is None:
        return None
    # Entry times are whole seconds: t >= since <=> t >= ceil(since); t < until likewise.
    return math.ceil(require_aware(value, name).timestamp())


def build_report(
    log: AuditLog,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    max_denied: int = DEFAULT_MAX_DENIED,
    now: datetime | None = None,
    checkpoint: Checkpoint | None = None,
) -> Report:
    """Summarise *log*'s entries with ``since <= time < until`` (each bound optional).

    Covers the tree as it is when called (later appends are not included),
    or, with *checkpoint*, exactly the tree of that checkpoint: its first
    ``checkpoint.size`` entries, whose root recomputed from the entries must
    be ``checkpoint.root_hash``. Pass the checkpoint you trust (one you
    verified with :func:`~safeshare.audit.checkpoint.verify_checkpoint` or
    :func:`~safeshare.audit.witness.verify_cosigned`): it is what binds the
    report to what the witnesses saw, even if the whole database was
    rewritten consistently. The report is computed in one read snapshot
    and one streaming pass, checked as the module docstring says.

    Lists at most *max_denied* denied entries (``0``: none) and counts every
    one. *now* is the report's generation time (default: the current time).
    Raises :class:`~safeshare.errors.AuditIntegrityError` (naming the first
    bad index) if an entry is missing, damaged or rewritten, if the entries
    do not give the stored tree, a stored checkpoint's root or
    *checkpoint*'s root, or if entries were removed;
    :class:`~safeshare.errors.UsageError` for bad arguments (naive
    datetimes, ``since`` after ``until``, a checkpoint of another log).
    """
    if not isinstance(log, AuditLog):
        raise UsageError("build_report() takes an AuditLog")
    generated_at = resolve_now(now)
    low, high = _bound(since, "since"), _bound(until, "until")
    if low is not None and high is not None and low > high:
        raise UsageError("since must not be after until")
    if isinstance(max_denied, bool) or not isinstance(max_denied, int) or max_denied < 0:
        raise UsageError("max_denied must be a non-negative integer")
    counters = {key: _Counter() for key, _heading, _field in DIMENSIONS}
    by_purpose, by_actor = counters["by_purpose"], counters["by_actor"]
    by_counterparty, by_action = counters["by_counterparty"], counters["by_action"]
    by_outcome = counters["by_outcome"]
    outcome_slot = {"denied": 0, "error": 1, "success": 2}
    denied: list[DeniedEntry] = []
    denied_total = 0
    total = 0
    try:
        with log.store.transaction(write=False) as cur:
            # The log's verified pass, in this one read snapshot (a checkpoint of
            # another log, or not a Checkpoint, is a UsageError from it).
            entries = log.verified_entries(checkpoint=checkpoint, cursor=cur)
            for index, entry in entries:
                t = entry.time
                if (low is not None and t < low) or (high is not None and t >= high):
                    continue
                total += 1
                slot = outcome_slot[entry.outcome]
                by_purpose.add(entry.purpose, slot)
                by_actor.add(entry.actor, slot)
                by_counterparty.add(entry.counterparty, slot)
                by_action.add(entry.action, slot)
                by_outcome.add(entry.outcome, slot)
                if slot == 0:
                    denied_total += 1
                    if len(denied) < max_denied:
                        denied.append(_denied(index, entry))
            root = entries.root_hash
    except AuditIntegrityError as exc:
        raise AuditIntegrityError(f"{exc.message}; no report was produced", hint=_RESTORE) from None
    stored = entries.stored_checkpoint
    tables = {key: counter.rows() for key, counter in counters.items()}
    outcome_rows = {row.value: row.total for row in tables["by_outcome"]}
    return Report(
        origin=log.origin,
        log_size=entries.tree_size,
        root_hash=root,
        checkpoint=checkpoint if checkpoint is not None or stored is None else stored.checkpoint,
        checkpoint_given=checkpoint is not None,
        since=None if since is None else require_aware(since, "since"),
        until=None if until is None else require_aware(until, "until"),
        generated_at=generated_at,
        entries=total,
        outcomes={name: outcome_rows.get(name, 0) for name in OUTCOME_ORDER},
        denied=tuple(denied),
        denied_not_listed=denied_total - len(denied),
        tables=tables,
    )


def _denied(index: int, entry: AuditEntry) -> DeniedEntry:
    return DeniedEntry(
        index=index,
        time=entry.time,
        action=entry.action,
        actor=entry.actor,
        agency=entry.agency,
        counterparty=entry.counterparty,
        purpose=entry.purpose,
        jti=entry.jti,
        reason=entry.reason,
    )
