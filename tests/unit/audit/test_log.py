"""The audit log on SQLite: round trip, proofs, queries, failures and group commit."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from safeshare.audit import AUDIT_SCHEMA, AuditEntry, AuditLog
from safeshare.audit import log as log_module
from safeshare.audit.entry import encode
from safeshare.audit.merkle import (
    EMPTY_ROOT,
    verify_consistency,
    verify_inclusion,
)
from safeshare.errors import AuditIntegrityError, SafeShareError, StorageError, UsageError
from safeshare.keys import SigningKey
from safeshare.storage import Cursor, Row, SQLParam, Store, open_store
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

ORIGIN = "audit.xa-npol.example/log"


def make_entry(n: int, *, actor: str = "officer 7") -> AuditEntry:
    return AuditEntry(
        action="open",
        time=1_795_000_000 + n,
        actor=actor,
        agency="XA-NPOL",
        counterparty="XB-PROS",
        jti=f"jti-{n:08d}",
        purpose="investigation",
        outcome="success",
    )


def ref_root(entries: Sequence[AuditEntry]) -> bytes:
    return ref_mth([ref_leaf(encode(e)) for e in entries])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with open_store(db_path) as s:
        yield s


@pytest.fixture
def log(store: Store) -> AuditLog:
    return AuditLog(store, origin=ORIGIN)


# -- instrumentation: wraps Store.transaction ----------------------------------------------


class RecordingCursor:
    def __init__(self, cur: Cursor, recorder: Recorder) -> None:
        self._cur = cur
        self._recorder = recorder

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def execute(self, sql: str, params: Sequence[SQLParam] = ()) -> list[Row]:
        self._recorder.statements.append((sql, tuple(params)))
        rows = self._cur.execute(sql, params)
        if "safeshare_audit_nodes" in sql:
            self._recorder.node_rows += len(rows)
        return rows

    def executemany(self, sql: str, params_seq: Iterable[Sequence[SQLParam]]) -> None:
        self._recorder.statements.append((sql, ()))
        if self._recorder.fail_executemany is not None and self._recorder.fail_executemany in sql:
            raise StorageError("injected failure in the middle of the transaction")
        self._cur.executemany(sql, params_seq)


class Recorder:
    """Counts write transactions, records statements, injects failures."""

    def __init__(self, store: Store) -> None:
        self.real = store.transaction
        self.writes = 0
        self.statements: list[tuple[str, tuple[SQLParam, ...]]] = []
        self.node_rows = 0
        self.fail_writes: dict[int, BaseException] = {}  # write number -> raise before COMMIT
        self.fail_executemany: str | None = None
        self.on_write: Callable[[int], None] | None = None

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Cursor]:
        number = 0
        if write:
            self.writes += 1
            number = self.writes
            if self.on_write is not None:
                self.on_write(number)
        with self.real(write=write) as cur:
            yield RecordingCursor(cur, self)
            if number in self.fail_writes:
                raise self.fail_writes[number]

    def reset(self) -> None:
        self.statements.clear()
        self.node_rows = 0


@pytest.fixture
def recorder(store: Store, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder(store)
    monkeypatch.setattr(store, "transaction", rec.transaction)
    return rec


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    return True


# -- round trip -------------------------------------------------------------------------


def test_empty_log(log: AuditLog) -> None:
    assert log.size() == 0
    assert log.root() == EMPTY_ROOT
    assert log.root(0) == EMPTY_ROOT
    assert log.consistency_proof(0) == []
    assert log.verify() == 0
    assert log.origin == ORIGIN
    assert ORIGIN in repr(log)


def test_round_trip(log: AuditLog) -> None:
    entries = [make_entry(i) for i in range(33)]
    for i, e in enumerate(entries):
        assert log.append(e) == i
    assert log.size() == 33
    for i, e in enumerate(entries):
        assert log.entry(i) == e
        assert log.leaf_hash(i) == ref_leaf(encode(e))
    for size in range(34):
        assert log.root(size) == ref_root(entries[:size])
    assert log.root() == ref_root(entries)
    assert log.verify() == 33


def test_proofs_verify_against_independent_roots(log: AuditLog) -> None:
    entries = [make_entry(i) for i in range(21)]
    log.append_many(entries)
    roots = [ref_root(entries[:n]) for n in range(22)]
    for size in range(1, 22):
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            verify_inclusion(ref_leaf(encode(entries[index])), index, size, proof, roots[size])
    for size2 in range(22):
        for size1 in range(size2 + 1):
            proof = log.consistency_proof(size1, size2)
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])
    assert log.inclusion_proof(20) == log.inclusion_proof(20, 21)
    assert log.consistency_proof(5) == log.consistency_proof(5, 21)


def test_append_many(log: AuditLog) -> None:
    assert log.append(make_entry(0)) == 0
    assert log.append_many(make_entry(i) for i in range(1, 6)) == [1, 2, 3, 4, 5]
    assert log.append_many([]) == []
    assert log.size() == 6
    assert log.verify() == 6


def test_reopening_keeps_everything(db_path: Path) -> None:
    entries = [make_entry(i) for i in range(10)]
    with open_store(db_path) as store:
        AuditLog(store, origin=ORIGIN).append_many(entries)
    with open_store(db_path) as store:
        log = AuditLog(store, origin=ORIGIN)
        assert log.root() == ref_root(entries)
        assert log.append(make_entry(10)) == 10
        assert log.verify() == 11


def test_one_log_per_store(store: Store) -> None:
    AuditLog(store, origin=ORIGIN)
    AuditLog(store, origin=ORIGIN)
    with pytest.raises(UsageError, match="holds the audit log"):
        AuditLog(store, origin="other.example/log")


@pytest.mark.parametrize(
    "origin", ["", "has space", "a+b", "tab\there", "x" * 256, "line\n", None, b"bytes"]
)
def test_bad_origins(store: Store, origin: Any) -> None:
    with pytest.raises(UsageError):
        AuditLog(store, origin=origin)


def test_needs_a_store(db_path: Path) -> None:
    with pytest.raises(UsageError):
        AuditLog(str(db_path), origin=ORIGIN)  # type: ignore[arg-type]


def test_schema_is_registered(store: Store, log: AuditLog) -> None:
    assert AUDIT_SCHEMA.component == "audit"
    assert log.store is store
    with store.transaction(write=False) as cur:
        rows = cur.execute("SELECT version FROM safeshare_schema WHERE component = 'audit'")
    assert rows == [(AUDIT_SCHEMA.version,)]
    assert AUDIT_SCHEMA.version == 2
    for migration in AUDIT_SCHEMA.migrations:
        for sql in migration.postgresql:
            # Binary columns are BYTEA, indexes and sizes BIGINT, text keys COLLATE "C".
            assert "BLOB" not in sql
            assert "INTEGER PRIMARY KEY" not in sql
            if sql.startswith("CREATE TABLE") and "meta" not in sql:
                assert "BYTEA" in sql
                assert "idx INTEGER" not in sql
                assert "size INTEGER" not in sql
            if "TEXT NOT NULL PRIMARY KEY" in sql or "name TEXT" in sql:
                assert 'COLLATE "C"' in sql
        for sql in migration.sqlite:
            assert "BYTEA" not in sql
            assert "COLLATE" not in sql


@pytest.mark.parametrize(
    "call",
    [
        lambda log: log.append("entry"),
        lambda log: log.append_many(make_entry(0)),
        lambda log: log.append_many(["x"]),
        lambda log: log.entry(3),
        lambda log: log.entry(-1),
        lambda log: log.entry(True),
        lambda log: log.leaf_hash(5),
        lambda log: log.root(4),
        lambda log: log.root(-1),
        lambda log: log.inclusion_proof(3),
        lambda log: log.inclusion_proof(0, 4),
        lambda log: log.inclusion_proof(-1),
        lambda log: log.consistency_proof(4),
        lambda log: log.consistency_proof(2, 4),
        lambda log: log.consistency_proof(3, 2),
        lambda log: log.verify(progress="bar"),
    ],
)
def test_usage_errors(log: AuditLog, call: Callable[[AuditLog], Any]) -> None:
    log.append_many([make_entry(i) for i in range(3)])
    with pytest.raises(UsageError):
        call(log)
    assert log.size() == 3


def test_progress(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_module, "VERIFY_CHUNK", 7)
    log.append_many([make_entry(i) for i in range(20)])
    calls: list[tuple[int, int]] = []
    assert log.verify(progress=lambda done, total: calls.append((done, total))) == 20
    assert calls == [(0, 20), (7, 20), (14, 20), (20, 20)]


# -- the queries: O(log n) rows, no scans ------------------------------------------------------


def plans(db_path: Path, statements: Iterable[tuple[str, tuple[SQLParam, ...]]]) -> list[str]:
    details: list[str] = []
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT") or "pg_advisory" in sql:
                continue
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params):
                details.append(f"{row[3]}  <- {sql[:80]}")
    return details


def test_no_query_on_the_proof_and_append_paths_scans(
    log: AuditLog, recorder: Recorder, db_path: Path
) -> None:
    log.append_many([make_entry(i) for i in range(3000)])
    recorder.reset()
    log.size()
    log.root()
    log.root(1234)
    log.inclusion_proof(1717)
    log.inclusion_proof(0, 2999)
    log.consistency_proof(1000)
    log.consistency_proof(7, 2048)
    log.entry(2500)
    log.leaf_hash(12)
    assert len(list(log.verified_entries(2000, 2100))) == 100
    log.append(make_entry(3000))
    log.append_many([make_entry(3001), make_entry(3002)])
    key = SigningKey.generate()
    log.sign_checkpoint(None, key)
    log.append(make_entry(3003))
    log.sign_checkpoint(None, key)
    log.latest_checkpoint()
    log.checkpoint_at(3003)
    log.entry(17)  # proven in the checkpoint's tree too
    assert len(list(log.verified_entries(1000, 1010))) == 10  # linked to the checkpoint
    details = plans(db_path, recorder.statements)
    assert any("safeshare_audit_checkpoints" in d for d in details)
    assert details
    assert not [d for d in details if d.startswith("SCAN")], details


@pytest.mark.parametrize("size", [1, 2, 1000, 4095, 4096, 5000])
def test_proofs_read_o_log_n_node_rows(log: AuditLog, recorder: Recorder, size: int) -> None:
    log.append_many([make_entry(i) for i in range(size)])
    bound = 2 * max(1, (size - 1).bit_length())
    for index in {0, size // 2, size - 1}:
        recorder.reset()
        log.inclusion_proof(index, size)
        assert recorder.node_rows <= bound
        assert len(recorder.statements) <= 2  # the size, then one node query
    for size1 in {1, size // 3, size - 1}:
        recorder.reset()
        log.consistency_proof(size1, size)
        assert recorder.node_rows <= bound
        assert len(recorder.statements) <= 2
    recorder.reset()
    log.root()
    assert recorder.node_rows == size.bit_count()


# -- failures leave the log as it was ------------------------------------------------------


def test_failed_commit_writes_nothing(log: AuditLog, recorder: Recorder) -> None:
    log.append_many([make_entry(i) for i in range(5)])
    before = (log.size(), log.root())
    recorder.fail_writes[recorder.writes + 1] = StorageError("injected commit failure")
    with pytest.raises(StorageError, match="injected"):
        log.append(make_entry(5))
    assert (log.size(), log.root()) == before
    assert log.verify() == 5
    assert log.append(make_entry(6)) == 5
    assert log.entry(5) == make_entry(6)
    assert log.verify() == 6


def test_failure_between_statements_writes_nothing(log: AuditLog, recorder: Recorder) -> None:
    log.append_many([make_entry(i) for i in range(5)])
    before = (log.size(), log.root())
    recorder.fail_executemany = "safeshare_audit_nodes"
    with pytest.raises(StorageError, match="injected"):
        log.append_many([make_entry(i) for i in range(5, 9)])
    with pytest.raises(StorageError, match="injected"):
        log.append(make_entry(5))
    recorder.fail_executemany = None
    assert (log.size(), log.root()) == before
    with recorder.real(write=False) as cur:
        assert cur.execute("SELECT count(*) FROM safeshare_audit_entries") == [(5,)]
        assert cur.execute("SELECT count(*) FROM safeshare_audit_nodes") == [(5 * 2 - 2,)]
    assert log.verify() == 5
    assert log.append(make_entry(5)) == 5


# -- group commit ------------------------------------------------------------------------------


def test_group_commit_16_threads(log: AuditLog, recorder: Recorder) -> None:
    threads_n, per_thread = 16, 50

    # Give the queue a moment to fill before each commit starts (bounded wait):
    # the assertion below counts commits, it does not time anything.
    def let_the_queue_fill(_number: int) -> None:
        wait_until(lambda: len(log._queue) >= 4, 0.05)

    recorder.on_write = let_the_queue_fill
    barrier = threading.Barrier(threads_n)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            barrier.wait()
            mine = [log.append(make_entry(t * 1000 + k)) for k in range(per_thread)]
            results[t] = mine
        except SafeShareError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert errors == []
    total = threads_n * per_thread
    every = sorted(i for idx in results.values() for i in idx)
    assert every == list(range(total))
    by_index: dict[int, AuditEntry] = {}
    for t, idx in results.items():
        assert idx == sorted(idx)  # one thread's appends keep their order
        for k, i in enumerate(idx):
            by_index[i] = make_entry(t * 1000 + k)
    ordered = [by_index[i] for i in range(total)]
    assert log.root() == ref_root(ordered)
    assert log.verify() == total
    assert all(log.entry(i) == by_index[i] for i in (0, 399, 799))
    assert recorder.writes < total  # appends shared commits
    assert recorder.writes <= total // 2


def test_group_commit_failure_reaches_the_whole_batch(log: AuditLog, recorder: Recorder) -> None:
    inside = threading.Event()
    followers = 7

    def on_write(number: int) -> None:
        if number == 1:  # the first leader waits until everyone else queued behind it
            inside.set()
            assert wait_until(lambda: len(log._queue) == followers)

    recorder.on_write = on_write
    recorder.fail_writes[2] = StorageError("disk on fire")
    outcomes: dict[str, Any] = {}

    def first() -> None:
        outcomes["first"] = log.append(make_entry(0))

    def other(t: int) -> None:
        try:
            outcomes[f"t{t}"] = log.append(make_entry(t))
        except StorageError as exc:
            outcomes[f"t{t}"] = exc

    lead = threading.Thread(target=first)
    lead.start()
    assert inside.wait(10)
    others = [threading.Thread(target=other, args=(t,)) for t in range(1, followers + 1)]
    for th in others:
        th.start()
    for th in [lead, *others]:
        th.join(timeout=60)
    assert outcomes["first"] == 0
    failures = [outcomes[f"t{t}"] for t in range(1, followers + 1)]
    assert all(isinstance(f, StorageError) and "disk on fire" in str(f) for f in failures)
    assert len({id(f) for f in failures}) == followers  # each caller its own exception
    assert recorder.writes == 2
    assert log.size() == 1
    assert log.verify() == 1
    assert log.append(make_entry(99)) == 1


def test_group_commit_foreign_exception(log: AuditLog, recorder: Recorder) -> None:
    inside = threading.Event()

    def on_write(number: int) -> None:
        if number == 1:
            inside.set()
            assert wait_until(lambda: len(log._queue) == 3)

    recorder.on_write = on_write
    recorder.fail_writes[2] = RuntimeError("bug in a hook")
    outcomes: list[BaseException | int] = []
    lock = threading.Lock()

    def other(t: int) -> None:
        try:
            value: BaseException | int = log.append(make_entry(t))
        except (RuntimeError, StorageError) as exc:
            value = exc
        with lock:
            outcomes.append(value)

    lead = threading.Thread(target=other, args=(0,))
    lead.start()
    assert inside.wait(10)
    others = [threading.Thread(target=other, args=(t,)) for t in range(1, 4)]
    for th in others:
        th.start()
    for th in [lead, *others]:
        th.join(timeout=60)
    kinds = sorted(type(o).__name__ for o in outcomes)
    assert kinds == ["RuntimeError", "StorageError", "StorageError", "int"]
    wrapped = [o for o in outcomes if isinstance(o, StorageError)]
    assert all("RuntimeError: bug in a hook" in str(w) for w in wrapped)
    assert log.size() == 1


def test_append_many_stays_contiguous_under_concurrency(log: AuditLog) -> None:
    results: dict[str, list[int]] = {}

    def single(t: int) -> None:
        results[f"s{t}"] = [log.append(make_entry(t * 100 + k)) for k in range(20)]

    def batch() -> None:
        results["batch"] = log.append_many([make_entry(10_000 + k) for k in range(100)])

    threads = [threading.Thread(target=single, args=(t,)) for t in range(4)]
    threads.append(threading.Thread(target=batch))
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    b = results["batch"]
    assert b == list(range(b[0], b[0] + 100))
    assert sorted(i for v in results.values() for i in v) == list(range(180))
    assert [log.entry(i) for i in (b[0], b[-1])] == [make_entry(10_000), make_entry(10_099)]
    assert log.verify() == 180


def test_threads_with_separate_stores_share_one_history(db_path: Path) -> None:
    with open_store(db_path) as s:
        AuditLog(s, origin=ORIGIN)
    results: dict[int, list[int]] = {}

    def worker(t: int) -> None:
        with open_store(db_path) as s:
            log = AuditLog(s, origin=ORIGIN)
            results[t] = [log.append(make_entry(t * 100 + k)) for k in range(25)]

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(i for v in results.values() for i in v) == list(range(100))
    with open_store(db_path) as s:
        assert AuditLog(s, origin=ORIGIN).verify() == 100


# -- tampering: verify names the first bad index ---------------------------------------------

SIZE = 20


@pytest.fixture(params=[8192, 3], ids=["one-chunk", "chunks-of-3"])
def filled(
    request: pytest.FixtureRequest, log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> AuditLog:
    monkeypatch.setattr(log_module, "VERIFY_CHUNK", request.param)
    log.append_many([make_entry(i) for i in range(SIZE)])
    assert log.verify() == SIZE
    return log


def tamper(db_path: Path, *statements: tuple[str, Sequence[Any]]) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()


def row(db_path: Path, idx: int) -> tuple[bytes, bytes]:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        data, leaf = conn.execute(
            "SELECT data, leaf FROM safeshare_audit_entries WHERE idx = ?", (idx,)
        ).fetchone()
    return bytes(data), bytes(leaf)


def set_row(idx: int, data: bytes, leaf: bytes) -> tuple[str, Sequence[Any]]:
    return (
        "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
        (data, leaf, idx),
    )


OTHER = encode(make_entry(7, actor="somebody else"))


def nodes_beyond(n: int) -> tuple[str, Sequence[Any]]:
    """Delete every stored node that covers an entry at or after n."""
    return (
        "DELETE FROM safeshare_audit_nodes WHERE ((idx + 1) << level) > ?",
        (n,),
    )


TAMPERING: list[tuple[str, Callable[[Path], list[tuple[str, Sequence[Any]]]], int]] = [
    (
        "edit data",
        lambda p: [("UPDATE safeshare_audit_entries SET data = ? WHERE idx = 5", (OTHER,))],
        5,
    ),
    (
        "edit leaf",
        lambda p: [("UPDATE safeshare_audit_entries SET leaf = ? WHERE idx = 5", (b"\x00" * 32,))],
        5,
    ),
    ("edit data and its leaf", lambda p: [set_row(5, OTHER, ref_leaf(OTHER))], 5),
    ("delete a row", lambda p: [("DELETE FROM safeshare_audit_entries WHERE idx = 5", ())], 5),
    (
        "delete the first row",
        lambda p: [("DELETE FROM safeshare_audit_entries WHERE idx = 0", ())],
        0,
    ),
    ("swap two rows", lambda p: [set_row(3, *row(p, 7)), set_row(7, *row(p, 3))], 3),
    ("duplicate a row", lambda p: [set_row(6, *row(p, 3))], 6),
    (
        "append a copy without nodes",
        lambda p: [("INSERT INTO safeshare_audit_entries VALUES (?, ?, ?)", (SIZE, *row(p, 19)))],
        SIZE,
    ),
    (
        "truncate entries, keep nodes",
        lambda p: [("DELETE FROM safeshare_audit_entries WHERE idx >= 12", ())],
        12,
    ),
    ("truncate nodes, keep entries", lambda p: [nodes_beyond(12)], 12),
    (
        "delete an interior node",
        lambda p: [("DELETE FROM safeshare_audit_nodes WHERE level = 2 AND idx = 1", ())],
        4,
    ),
    (
        "edit an interior node",
        lambda p: [
            (
                "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 2 AND idx = 1",
                (b"\x01" * 32,),
            )
        ],
        4,
    ),
    (
        "edit a leaf node",
        lambda p: [
            (
                "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 0 AND idx = 9",
                (b"\x01" * 32,),
            )
        ],
        9,
    ),
    (
        "edit the top node",
        lambda p: [
            (
                "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 4 AND idx = 0",
                (b"\x01" * 32,),
            )
        ],
        0,
    ),
    (
        "plant a node beyond the end",
        lambda p: [("INSERT INTO safeshare_audit_nodes VALUES (0, 25, ?)", (b"\x01" * 32,))],
        25,
    ),
    (
        "plant a high node",
        lambda p: [("INSERT INTO safeshare_audit_nodes VALUES (6, 0, ?)", (b"\x01" * 32,))],
        SIZE,
    ),
    (
        "short hash",
        lambda p: [
            ("UPDATE safeshare_audit_nodes SET hash = x'00' WHERE level = 1 AND idx = 8", ())
        ],
        16,
    ),
    (
        "data as text",
        lambda p: [("UPDATE safeshare_audit_entries SET data = 'text' WHERE idx = 11", ())],
        11,
    ),
]


@pytest.mark.parametrize(
    ("damage", "statements", "first_bad"), TAMPERING, ids=[t[0] for t in TAMPERING]
)
def test_tampering_is_detected_with_the_first_bad_index(
    filled: AuditLog,
    db_path: Path,
    damage: str,
    statements: Callable[[Path], list[tuple[str, Sequence[Any]]]],
    first_bad: int,
) -> None:
    tamper(db_path, *statements(db_path))
    with pytest.raises(AuditIntegrityError, match=rf"first bad index {first_bad}\)"):
        filled.verify()


def test_negative_indexes_are_detected(filled: AuditLog, db_path: Path) -> None:
    tamper(db_path, ("INSERT INTO safeshare_audit_nodes VALUES (1, -1, ?)", (b"\x01" * 32,)))
    with pytest.raises(AuditIntegrityError, match="invalid index -1"):
        filled.verify()
    tamper(
        db_path,
        ("DELETE FROM safeshare_audit_nodes WHERE idx < 0", ()),
        ("INSERT INTO safeshare_audit_entries VALUES (-1, ?, ?)", (OTHER, ref_leaf(OTHER))),
    )
    with pytest.raises(AuditIntegrityError, match="invalid index -1"):
        filled.verify()


def test_impossible_levels_are_detected(filled: AuditLog, db_path: Path) -> None:
    tamper(db_path, ("INSERT INTO safeshare_audit_nodes VALUES (70, 0, ?)", (b"\x01" * 32,)))
    with pytest.raises(AuditIntegrityError, match="impossible level 70"):
        filled.verify()


def test_what_verify_alone_cannot_see(filled: AuditLog, db_path: Path) -> None:
    """A truncation or rewrite of entries *and* nodes is consistent on its own.

    Checkpoints exist for this: the new root does not match the signed one,
    and no consistency proof links them.
    """
    old_root = filled.root()
    tamper(
        db_path,
        ("DELETE FROM safeshare_audit_entries WHERE idx >= 19", ()),
        nodes_beyond(19),
    )
    assert filled.verify() == 19
    proof = filled.consistency_proof(19)
    verify_consistency(19, 19, proof, filled.root(), filled.root())
    with pytest.raises(AuditIntegrityError, match="smaller size"):
        verify_consistency(SIZE, 19, proof, old_root, filled.root())


def test_damage_stops_appends(filled: AuditLog, db_path: Path) -> None:
    tamper(db_path, ("DELETE FROM safeshare_audit_entries WHERE idx >= 12", ()))
    with pytest.raises(AuditIntegrityError, match="first bad index 12"):
        filled.append(make_entry(99))
    assert filled.size() == 12


def test_missing_frontier_node_stops_appends(filled: AuditLog, db_path: Path) -> None:
    tamper(db_path, ("DELETE FROM safeshare_audit_nodes WHERE level = 4 AND idx = 0", ()))
    with pytest.raises(AuditIntegrityError, match=r"level 4, index 0\) is missing"):
        filled.append(make_entry(99))
    with pytest.raises(AuditIntegrityError, match="first bad index 0"):
        filled.root()
    with pytest.raises(AuditIntegrityError):
        filled.inclusion_proof(19)
    assert filled.size() == SIZE


def test_reading_a_damaged_entry(filled: AuditLog, db_path: Path) -> None:
    tamper(
        db_path,
        ("UPDATE safeshare_audit_entries SET data = ? WHERE idx = 4", (OTHER,)),
        ("DELETE FROM safeshare_audit_entries WHERE idx = 8", ()),
        set_row(9, b"not json", ref_leaf(b"not json")),
    )
    with pytest.raises(AuditIntegrityError, match="first bad index 4"):
        filled.entry(4)
    with pytest.raises(AuditIntegrityError, match="first bad index 4"):
        filled.leaf_hash(4)
    with pytest.raises(AuditIntegrityError, match=r"entry 8 .* is missing"):
        filled.entry(8)
    # bytes and stored leaf replaced together: the level-0 tree node still tells
    with pytest.raises(AuditIntegrityError, match=r"does not match its tree: .* entry 9 "):
        filled.entry(9)
    tamper(
        db_path,
        (
            "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 0 AND idx = 9",
            (ref_leaf(b"not json"),),
        ),
    )
    with pytest.raises(
        AuditIntegrityError, match=r"entry 9 .* cannot be proven in the stored tree"
    ):
        filled.entry(9)
    assert filled.entry(3) == make_entry(3)
