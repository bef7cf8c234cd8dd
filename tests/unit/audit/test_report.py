"""Access reports for oversight bodies: counts, denials first, periods, streaming.

Runs on SQLite and PostgreSQL (``store_factory``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from safeshare.audit import AuditEntry, AuditLog
from safeshare.audit import log as log_module
from safeshare.audit.entry import encode
from safeshare.audit.note import b64std_encode
from safeshare.audit.report import DIMENSIONS, OUTCOME_ORDER, Report, build_report
from safeshare.errors import AuditIntegrityError, UsageError
from safeshare.storage import Cursor, Row, SQLParam, Store
from tests.pg import StoreFactory
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
T: Final = 1_795_000_000  # entry times are T + n
GENERATED: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def entry(
    n: int,
    *,
    action: str = "open",
    actor: str = "officer 1",
    counterparty: str | None = "XB-PROS",
    purpose: str | None = "investigation",
    outcome: str = "success",
    reason: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        action=action,  # type: ignore[arg-type]
        time=T + n,
        actor=actor,
        agency="XA-NPOL",
        counterparty=counterparty,
        jti=f"jti-{n}",
        purpose=purpose,
        outcome=outcome,  # type: ignore[arg-type]
        reason=reason,
        subjects=("c2VjcmV0LXRva2VuLWZvci1zdWJqZWN0",),
    )


def denial(n: int, **kw: Any) -> AuditEntry:
    kw.setdefault("reason", f"purpose not allowed ({n})")
    return entry(n, action="deny", outcome="denied", **kw)


#: 12 entries: successes, denials and an error, over purposes, actors and counterparties.
ENTRIES: Final = [
    entry(0, actor="officer 1", purpose="investigation"),
    denial(1, actor="officer 2", purpose="prevention"),
    entry(2, actor="officer 1", purpose="investigation"),
    entry(3, actor="officer 3", purpose="prosecution", counterparty="XC-CUST"),
    denial(4, actor="officer 2", purpose="prevention", counterparty="XC-CUST"),
    entry(5, action="seal", actor="gateway", purpose=None, counterparty=None),
    entry(6, action="open", actor="officer 3", outcome="error", reason="storage failed"),
    denial(7, actor="officer 1", purpose="investigation"),
    entry(8, actor="officer 1", purpose="investigation"),
    entry(9, actor="officer 3", purpose="prosecution"),
    entry(10, action="seal", actor="gateway", purpose=None, counterparty=None),
    entry(11, actor="officer 3", purpose="prosecution"),
]


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    log = AuditLog(store, origin=ORIGIN)
    log.append_many(ENTRIES)
    return log


def rows(report: Report, key: str) -> list[tuple[str | None, int, int, int, int]]:
    return [(r.value, r.denied, r.error, r.success, r.total) for r in report.tables[key]]


def test_counts_and_denials_first(log: AuditLog) -> None:
    report = build_report(log, now=GENERATED)
    assert report.origin == ORIGIN
    assert report.log_size == 12
    assert report.root_hash == ref_mth([ref_leaf(encode(e)) for e in ENTRIES])
    assert report.entries == 12
    assert list(report.outcomes.items()) == [("denied", 3), ("error", 1), ("success", 8)]
    assert [(d.index, d.actor, d.reason) for d in report.denied] == [
        (1, "officer 2", "purpose not allowed (1)"),
        (4, "officer 2", "purpose not allowed (4)"),
        (7, "officer 1", "purpose not allowed (7)"),
    ]
    assert report.denied_not_listed == 0
    # rows: (value, denied, error, success, total), most denials first, then most entries
    assert rows(report, "by_purpose") == [
        ("prevention", 2, 0, 0, 2),
        ("investigation", 1, 1, 3, 5),
        ("prosecution", 0, 0, 3, 3),
        (None, 0, 0, 2, 2),
    ]
    assert rows(report, "by_actor") == [
        ("officer 2", 2, 0, 0, 2),
        ("officer 1", 1, 0, 3, 4),
        ("officer 3", 0, 1, 3, 4),
        ("gateway", 0, 0, 2, 2),
    ]
    assert rows(report, "by_counterparty") == [
        ("XB-PROS", 2, 1, 5, 8),
        ("XC-CUST", 1, 0, 1, 2),
        (None, 0, 0, 2, 2),
    ]
    assert rows(report, "by_action") == [
        ("deny", 3, 0, 0, 3),
        ("open", 0, 1, 6, 7),
        ("seal", 0, 0, 2, 2),
    ]
    assert rows(report, "by_outcome") == [
        ("denied", 3, 0, 0, 3),
        ("success", 0, 0, 8, 8),
        ("error", 0, 1, 0, 1),
    ]
    for key, _heading, _field in DIMENSIONS:
        assert sum(r.total for r in report.tables[key]) == report.entries


def test_to_dict_is_json_and_puts_denials_first(log: AuditLog) -> None:
    data = build_report(log, now=GENERATED).to_dict()
    assert json.loads(json.dumps(data)) == data
    keys = list(data)
    assert keys.index("denied") < min(keys.index(k) for k, _h, _f in DIMENSIONS)
    assert data["log"] == {
        "origin": ORIGIN,
        "size": 12,
        "root_hash": b64std_encode(ref_mth([ref_leaf(encode(e)) for e in ENTRIES])),
        "checkpoint": None,
    }
    assert data["period"] == {"since": None, "until": None}
    assert data["generated_at"] == "2026-11-29T12:00:00Z"
    assert data["outcomes"] == {"denied": 3, "error": 1, "success": 8}
    assert data["denied"][0] == {
        "index": 1,
        "time": "2026-11-18T11:06:41Z",
        "action": "deny",
        "actor": "officer 2",
        "agency": "XA-NPOL",
        "counterparty": "XB-PROS",
        "purpose": "prevention",
        "jti": "jti-1",
        "reason": "purpose not allowed (1)",
    }
    assert data["by_purpose"][0] == {
        "purpose": "prevention",
        "denied": 2,
        "error": 0,
        "success": 0,
        "total": 2,
    }
    assert "c2VjcmV0" not in json.dumps(data)  # subject tokens are not reported


def test_text_rendering(log: AuditLog) -> None:
    text = build_report(log, now=GENERATED).to_text()
    assert text.endswith("\n")
    assert f"log {ORIGIN}" in text
    assert "Entries in the period: 12 (denied 3, error 1, success 8)" in text
    denied_at = text.index("DENIED ACCESSES (3)")
    assert denied_at < text.index("BY PURPOSE") < text.index("BY ACTOR")
    assert text.index("BY ACTOR") < text.index("BY COUNTERPARTY") < text.index("BY ACTION")
    assert text.index("BY ACTION") < text.index("BY OUTCOME")
    assert text.count("reason: purpose not allowed") == 3
    assert text.index("#1 ") < text.index("#4 ") < text.index("#7 ")
    purposes = text[text.index("BY PURPOSE") : text.index("BY ACTOR")].splitlines()
    assert purposes[2].split() == ["prevention", "2", "0", "0", "2"]
    assert purposes[-2].split() == ["(none)", "0", "0", "2", "2"]
    assert "c2VjcmV0" not in text


def test_period_bounds(log: AuditLog) -> None:
    since = datetime.fromtimestamp(T + 3, UTC)
    until = datetime.fromtimestamp(T + 8, UTC)
    report = build_report(log, since=since, until=until, now=GENERATED)
    # times T+3 .. T+7: since inclusive, until exclusive
    assert report.entries == 5
    assert [d.index for d in report.denied] == [4, 7]
    assert report.log_size == 12
    assert report.to_dict()["period"] == {
        "since": "2026-11-18T11:06:43Z",
        "until": "2026-11-18T11:06:48Z",
    }
    # fractional bounds: since T+2.5 starts at T+3, until T+7.5 still includes T+7
    half = timedelta(milliseconds=500)
    report = build_report(log, since=since - half, until=until - half, now=GENERATED)
    assert report.entries == 5
    only_since = build_report(log, since=since, now=GENERATED)
    assert only_since.entries == 9
    only_until = build_report(log, until=until, now=GENERATED)
    assert only_until.entries == 8
    empty = build_report(log, since=until, until=until, now=GENERATED)
    assert empty.entries == 0
    assert empty.outcomes == {"denied": 0, "error": 0, "success": 0}
    assert all(empty.tables[k] == () for k, _h, _f in DIMENSIONS)
    assert "DENIED ACCESSES (0)\n  none" in empty.to_text()


def test_max_denied(log: AuditLog) -> None:
    report = build_report(log, max_denied=2, now=GENERATED)
    assert [d.index for d in report.denied] == [1, 4]
    assert report.denied_not_listed == 1
    assert report.outcomes["denied"] == 3
    assert "... and 1 more denied entries, not listed" in report.to_text()
    assert build_report(log, max_denied=0, now=GENERATED).denied_not_listed == 3


def test_empty_log(store_factory: StoreFactory) -> None:
    report = build_report(AuditLog(store_factory(), origin=ORIGIN), now=GENERATED)
    assert report.entries == 0
    assert report.log_size == 0
    assert "Period: all entries" in report.to_text()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": datetime(2026, 1, 1)},
        {"until": datetime(2026, 1, 1)},
        {
            "since": datetime(2026, 1, 2, tzinfo=UTC),
            "until": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"max_denied": -1},
        {"max_denied": True},
    ],
)
def test_usage_errors(log: AuditLog, kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        build_report(log, **kwargs)


def test_needs_a_log() -> None:
    with pytest.raises(UsageError):
        build_report("log")  # type: ignore[arg-type]


def test_outcome_order_covers_every_outcome() -> None:
    from safeshare.audit.entry import OUTCOMES

    assert set(OUTCOME_ORDER) == OUTCOMES
    assert OUTCOME_ORDER[0] == "denied"


def test_a_damaged_entry_stops_the_report(store: Store, log: AuditLog) -> None:
    with store.transaction(write=True) as cur:
        cur.execute(
            "UPDATE safeshare_audit_entries SET data = ? WHERE idx = 5", (encode(ENTRIES[6]),)
        )
    with pytest.raises(AuditIntegrityError, match="entry 5"):
        build_report(log)


class _CountingCursor:
    def __init__(self, cur: Cursor, seen: list[int]) -> None:
        self._cur = cur
        self._seen = seen

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def execute(self, sql: str, params: Sequence[SQLParam] = ()) -> list[Row]:
        result = self._cur.execute(sql, params)
        if "FROM safeshare_audit_entries WHERE idx >=" in sql:
            self._seen.append(len(result))
        return result

    def executemany(self, sql: str, params_seq: Iterable[Sequence[SQLParam]]) -> None:
        self._cur.executemany(sql, params_seq)


def test_entries_are_streamed_in_chunks(
    store: Store, log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report reads the log a chunk at a time, never all of it at once."""
    monkeypatch.setattr(log_module, "READ_CHUNK", 5)
    seen: list[int] = []
    real = store.transaction

    @contextmanager
    def counting(*, write: bool) -> Iterator[Cursor]:
        with real(write=write) as cur:
            yield _CountingCursor(cur, seen)

    monkeypatch.setattr(store, "transaction", counting)
    report = build_report(log, now=GENERATED)
    assert report.entries == 12
    assert seen == [5, 5, 2]
