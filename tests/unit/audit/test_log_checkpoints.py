"""Checkpoints signed by the log, full verification against them, streaming entries.

Every test here runs on SQLite and on PostgreSQL (``store_factory``). The
roots the checkpoints must carry are recomputed independently of safeshare
(``ref_mth`` in ``test_merkle.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from safeshare.audit import AUDIT_SCHEMA, AuditEntry, AuditLog
from safeshare.audit import log as log_module
from safeshare.audit.checkpoint import Checkpoint, verify_checkpoint
from safeshare.audit.entry import encode
from safeshare.audit.merkle import EMPTY_ROOT, verify_consistency
from safeshare.audit.note import NoteVerifier, open_note
from safeshare.errors import AuditIntegrityError, SafeShareError, UsageError
from safeshare.keys import SigningKey
from safeshare.storage import Schema, SQLParam, Store
from tests.pg import StoreFactory
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
T0: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


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


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    return AuditLog(store, origin=ORIGIN)


def run_sql(store: Store, sql: str, params: Sequence[SQLParam] = ()) -> None:
    """Tamper with the database directly (the same SQL on both back ends)."""
    with store.transaction(write=True) as cur:
        cur.execute(sql, params)


def count_checkpoints(store: Store) -> int:
    with store.transaction(write=False) as cur:
        return int(cur.execute("SELECT count(*) FROM safeshare_audit_checkpoints")[0][0])


def truncate(store: Store, n: int, *, nodes: bool) -> None:
    """Delete the entries from index n on (and the tree nodes over them)."""
    run_sql(store, "DELETE FROM safeshare_audit_entries WHERE idx >= ?", (n,))
    if nodes:
        run_sql(store, "DELETE FROM safeshare_audit_nodes WHERE ((idx + 1) << level) > ?", (n,))


# -- signing -------------------------------------------------------------------------------


def test_signed_checkpoints_commit_to_the_independent_roots(log: AuditLog, key: SigningKey) -> None:
    verifier = NoteVerifier(ORIGIN, key.public)
    entries = [make_entry(i) for i in range(13)]
    note0 = log.sign_checkpoint(None, key, now=T0)
    assert verify_checkpoint(note0, verifier) == Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    notes = [note0]
    for size in (1, 2, 7, 8, 13):
        log.append_many(entries[log.size() : size])
        note = log.sign_checkpoint(None, key, now=T0 + timedelta(minutes=size))
        assert verify_checkpoint(note, verifier) == Checkpoint(
            ORIGIN, size, ref_root(entries[:size])
        )
        notes.append(note)
    stored = log.checkpoints()
    assert [s.seq for s in stored] == [1, 2, 3, 4, 5, 6]
    assert [s.size for s in stored] == [0, 1, 2, 7, 8, 13]
    assert [s.note for s in stored] == notes
    assert all(s.kid == key.public.kid and s.name == ORIGIN for s in stored)
    assert [s.signed_at for s in stored] == [T0] + [
        T0 + timedelta(minutes=n) for n in (1, 2, 7, 8, 13)
    ]
    assert stored[3].root_hash == ref_root(entries[:7])
    assert log.latest_checkpoint() == stored[-1]
    assert log.checkpoint_at(7) == stored[3]
    assert log.checkpoint_at(9) is None


def test_an_unchanged_log_signs_the_same_checkpoint_again(log: AuditLog, key: SigningKey) -> None:
    log.append_many([make_entry(i) for i in range(5)])
    first = log.sign_checkpoint(None, key, now=T0)
    second = log.sign_checkpoint(None, key, now=T0 + timedelta(hours=1))
    body = first[: first.rindex("\n\n") + 1]
    assert second.startswith(body)  # same size and root; Ed25519 is deterministic
    assert [s.size for s in log.checkpoints()] == [5, 5]
    assert log.checkpoint_at(5) is not None
    assert log.checkpoint_at(5).seq == 2  # type: ignore[union-attr]


def test_another_key_name(log: AuditLog, key: SigningKey) -> None:
    note = log.sign_checkpoint("audit-signer.xa.example", key, now=T0)
    text, sigs = open_note(note, [NoteVerifier("audit-signer.xa.example", key.public)])
    assert text.startswith(ORIGIN + "\n")
    assert [s.name for s in sigs] == ["audit-signer.xa.example"]
    assert log.latest_checkpoint().name == "audit-signer.xa.example"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["has space", "a+b", ""])
def test_bad_key_names_and_keys(log: AuditLog, key: SigningKey, name: str) -> None:
    with pytest.raises(UsageError):
        log.sign_checkpoint(name, key)
    with pytest.raises(UsageError):
        log.sign_checkpoint(None, key.public)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        log.sign_checkpoint(None, key, now=datetime(2026, 1, 1))
    assert log.checkpoints() == []


def test_refuses_when_a_node_under_the_signed_root_was_changed(
    store: Store, log: AuditLog, key: SigningKey
) -> None:
    log.append_many([make_entry(i) for i in range(3)])
    log.sign_checkpoint(None, key, now=T0)  # root at 3 = node(node(0, 1), leaf 2)
    log.append_many([make_entry(i) for i in range(3, 9)])
    run_sql(
        store,
        "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 0 AND idx = 2",
        (b"\x07" * 32,),
    )
    with pytest.raises(AuditIntegrityError, match="no longer has the root that checkpoint 1"):
        log.sign_checkpoint(None, key, now=T0)
    assert count_checkpoints(store) == 1


def test_refuses_a_new_root_that_does_not_extend_the_signed_one(
    store: Store, log: AuditLog, key: SigningKey
) -> None:
    """Nodes above the old tree changed: the old root still matches, but no
    consistency proof leads from it to the new root."""
    log.append_many([make_entry(i) for i in range(4)])
    log.sign_checkpoint(None, key, now=T0)
    log.append_many([make_entry(i) for i in range(4, 8)])
    run_sql(
        store,
        "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 3 AND idx = 0",
        (b"\x07" * 32,),
    )
    with pytest.raises(AuditIntegrityError, match="not consistent with checkpoint 1 of size 4"):
        log.sign_checkpoint(None, key, now=T0)
    assert count_checkpoints(store) == 1


@pytest.mark.parametrize("nodes", [False, True], ids=["entries", "entries-and-nodes"])
def test_refuses_after_truncation_below_the_signed_size(
    store: Store, log: AuditLog, key: SigningKey, nodes: bool
) -> None:
    log.append_many([make_entry(i) for i in range(10)])
    log.sign_checkpoint(None, key, now=T0)
    truncate(store, 6, nodes=nodes)
    assert log.size() == 6
    with pytest.raises(AuditIntegrityError, match=r"fewer than the 10 .* \(first bad index 6\)"):
        log.sign_checkpoint(None, key, now=T0)
    assert count_checkpoints(store) == 1
    assert log.latest_checkpoint().size == 10  # type: ignore[union-attr]


def test_refuses_after_truncating_entries_that_no_checkpoint_covered(
    store: Store, log: AuditLog, key: SigningKey
) -> None:
    """Entries removed above the last checkpoint, their nodes left: still refused,
    so acknowledged entries are never left out of a signed tree."""
    log.append_many([make_entry(i) for i in range(4)])
    log.sign_checkpoint(None, key, now=T0)
    log.append_many([make_entry(i) for i in range(4, 9)])
    truncate(store, 6, nodes=False)
    with pytest.raises(AuditIntegrityError, match="node exists for entry 6"):
        log.sign_checkpoint(None, key, now=T0)
    assert count_checkpoints(store) == 1


def test_refuses_when_a_node_it_needs_is_missing(
    store: Store, log: AuditLog, key: SigningKey
) -> None:
    log.append_many([make_entry(i) for i in range(6)])
    run_sql(store, "DELETE FROM safeshare_audit_nodes WHERE level = 2 AND idx = 0")
    with pytest.raises(AuditIntegrityError, match=r"level 2, index 0\) is missing"):
        log.sign_checkpoint(None, key, now=T0)
    assert count_checkpoints(store) == 0


def test_a_damaged_stored_checkpoint_stops_signing_and_reading(
    store: Store, log: AuditLog, key: SigningKey
) -> None:
    log.append_many([make_entry(i) for i in range(4)])
    log.sign_checkpoint(None, key, now=T0)
    run_sql(store, "UPDATE safeshare_audit_checkpoints SET size = 3")
    with pytest.raises(AuditIntegrityError, match=r"stored checkpoint 1 .* damaged"):
        log.sign_checkpoint(None, key, now=T0)
    with pytest.raises(AuditIntegrityError, match=r"stored checkpoint 1 .* damaged"):
        log.checkpoints()
    run_sql(store, "UPDATE safeshare_audit_checkpoints SET size = 4, note = 'garbage'")
    with pytest.raises(AuditIntegrityError, match="not a signed note"):
        log.latest_checkpoint()
    assert count_checkpoints(store) == 1


def test_checkpoints_and_appends_from_threads_stay_consistent(
    log: AuditLog, key: SigningKey
) -> None:
    errors: list[SafeShareError] = []
    barrier = threading.Barrier(4)

    def appender(t: int) -> None:
        try:
            barrier.wait()
            for k in range(30):
                log.append(make_entry(1000 * t + k))
        except SafeShareError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def signer() -> None:
        try:
            barrier.wait()
            for _ in range(15):
                log.sign_checkpoint(None, key, now=T0)
        except SafeShareError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(t,)) for t in range(3)]
    threads.append(threading.Thread(target=signer))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    size = log.size()
    final = ref_mth([log.leaf_hash(i) for i in range(size)])
    assert log.root() == final
    stored = log.checkpoints()
    assert len(stored) == 15
    assert [s.size for s in stored] == sorted(s.size for s in stored)
    for s in stored:
        verify_consistency(s.size, size, log.consistency_proof(s.size), s.root_hash, final)
    assert log.verify_with_checkpoints(keys=[key.public]).checkpoints == 15


# -- verification against the checkpoints ----------------------------------------------------


@pytest.fixture
def checkpointed(log: AuditLog, key: SigningKey) -> AuditLog:
    """20 entries, checkpoints at sizes 0, 5, 12 and 20."""
    log.sign_checkpoint(None, key, now=T0)
    for size in (5, 12, 20):
        log.append_many([make_entry(i) for i in range(log.size(), size)])
        log.sign_checkpoint(None, key, now=T0)
    return log


def test_verify_with_checkpoints(checkpointed: AuditLog, key: SigningKey) -> None:
    calls: list[tuple[int, int]] = []
    result = checkpointed.verify_with_checkpoints(
        lambda done, total: calls.append((done, total)), keys=[key.public]
    )
    assert result.size == 20
    assert result.root_hash == ref_root([make_entry(i) for i in range(20)])
    assert result.checkpoints == 4
    assert result.signatures_checked
    assert result.latest_checkpoint == checkpointed.latest_checkpoint()
    assert calls[0] == (0, 20)
    assert calls[-1] == (20, 20)
    unsigned = checkpointed.verify_with_checkpoints()
    assert not unsigned.signatures_checked
    assert unsigned.checkpoints == 4
    assert checkpointed.verify_with_checkpoints(keys=key.public).signatures_checked  # type: ignore[arg-type]


def test_verify_with_the_wrong_key(
    checkpointed: AuditLog, key: SigningKey, other_key: SigningKey
) -> None:
    with pytest.raises(AuditIntegrityError, match=r"checkpoint 1 .* not signed by any trusted key"):
        checkpointed.verify_with_checkpoints(keys=[other_key.public])
    # Any one of several keys may have signed (key rotation).
    assert (
        checkpointed.verify_with_checkpoints(keys=[other_key.public, key.public]).checkpoints == 4
    )


@pytest.mark.parametrize("keys", [[], ["not a key"]])
def test_verify_keys_must_be_verify_keys(checkpointed: AuditLog, keys: list[object]) -> None:
    with pytest.raises(UsageError):
        checkpointed.verify_with_checkpoints(keys=keys)  # type: ignore[arg-type]


def test_a_forged_signature_is_found(store: Store, checkpointed: AuditLog, key: SigningKey) -> None:
    note = checkpointed.checkpoint_at(12).note  # type: ignore[union-attr]
    body = note[: note.rindex("\n\n") + 1]
    forged = body + "\n" + note[note.rindex("\n\n") + 2 :].replace("A", "B", 1)
    if forged == note:  # pragma: no cover - no "A" in the signature
        forged = body + "\n" + note[note.rindex("\n\n") + 2 :].replace("B", "C", 1)
    run_sql(store, "UPDATE safeshare_audit_checkpoints SET note = ? WHERE seq = 3", (forged,))
    with pytest.raises(AuditIntegrityError, match=r"checkpoint 3 \(size 12\)"):
        checkpointed.verify_with_checkpoints(keys=[key.public])


def test_a_consistent_rewrite_is_found_by_the_checkpoints(
    store: Store, checkpointed: AuditLog, key: SigningKey
) -> None:
    """Entries 7.. rewritten with their tree nodes: verify() alone sees nothing."""
    truncate(store, 7, nodes=True)
    checkpointed.append_many([make_entry(i, actor="someone else") for i in range(7, 20)])
    assert checkpointed.verify() == 20
    with pytest.raises(
        AuditIntegrityError, match=r"checkpoint 3 \(size 12\) .*first bad index between 5 and 11"
    ):
        checkpointed.verify_with_checkpoints(keys=[key.public])
    with pytest.raises(AuditIntegrityError, match="no longer has the root"):
        checkpointed.sign_checkpoint(None, key, now=T0)


def test_a_truncation_is_found_by_the_checkpoints(
    store: Store, checkpointed: AuditLog, key: SigningKey
) -> None:
    truncate(store, 15, nodes=True)
    assert checkpointed.verify() == 15
    with pytest.raises(
        AuditIntegrityError, match=r"checkpoint 4 \(size 20\) covers 20 .*first bad index 15\)"
    ):
        checkpointed.verify_with_checkpoints()


def test_reordered_checkpoints_are_found(store: Store, checkpointed: AuditLog) -> None:
    run_sql(store, "UPDATE safeshare_audit_checkpoints SET seq = 9 WHERE seq = 2")
    with pytest.raises(AuditIntegrityError, match="stored after checkpoint 4 of the larger size"):
        checkpointed.verify_with_checkpoints()


def test_tree_damage_is_reported_before_the_checkpoints(
    store: Store, checkpointed: AuditLog
) -> None:
    run_sql(
        store,
        "UPDATE safeshare_audit_entries SET leaf = ? WHERE idx = 9",
        (b"\x00" * 32,),
    )
    with pytest.raises(AuditIntegrityError, match=r"first bad index 9\)"):
        checkpointed.verify_with_checkpoints()


def test_verify_with_checkpoints_usage(checkpointed: AuditLog) -> None:
    with pytest.raises(UsageError):
        checkpointed.verify_with_checkpoints(progress="bar")  # type: ignore[arg-type]


# -- opening, migration, streaming ---------------------------------------------------------


def test_open_finds_the_log_and_creates_nothing(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert AuditLog.stored_origin(store) is None
    with pytest.raises(UsageError, match="holds no audit log"):
        AuditLog.open(store)
    assert AuditLog.stored_origin(store) is None  # still nothing there
    AuditLog(store, origin=ORIGIN).append(make_entry(0))
    other = store_factory()
    opened = AuditLog.open(other)
    assert opened.origin == ORIGIN
    assert opened.entry(0) == make_entry(0)
    assert AuditLog.open(other, origin=ORIGIN).size() == 1
    with pytest.raises(UsageError, match="holds the audit log"):
        AuditLog.open(other, origin="safeshare.example/XB-PROS/audit")
    with pytest.raises(UsageError):
        AuditLog.open("not a store")  # type: ignore[arg-type]


def test_a_version_1_database_is_upgraded(store: Store, key: SigningKey) -> None:
    store.ensure_schema(Schema(component="audit", migrations=AUDIT_SCHEMA.migrations[:1]))
    with store.transaction(write=False) as cur:
        assert cur.execute("SELECT version FROM safeshare_schema WHERE component = 'audit'") == [
            (1,)
        ]
    log = AuditLog(store, origin=ORIGIN)
    log.append(make_entry(0))
    log.sign_checkpoint(None, key, now=T0)
    with store.transaction(write=False) as cur:
        assert cur.execute("SELECT version FROM safeshare_schema WHERE component = 'audit'") == [
            (2,)
        ]
    assert [s.size for s in log.checkpoints()] == [1]


def test_iter_checkpoints_reads_in_chunks(
    log: AuditLog, key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_module, "READ_CHUNK", 3)
    for i in range(7):
        log.append(make_entry(i))
        log.sign_checkpoint(None, key, now=T0)
    assert [s.size for s in log.iter_checkpoints()] == [1, 2, 3, 4, 5, 6, 7]
    assert log.verify_with_checkpoints(keys=[key.public]).checkpoints == 7


def test_entries_stream_in_chunks(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_module, "READ_CHUNK", 4)
    entries = [make_entry(i) for i in range(11)]
    log.append_many(entries)
    assert list(log.entries()) == list(enumerate(entries))
    assert list(log.entries(3, 9)) == [(i, entries[i]) for i in range(3, 9)]
    assert list(log.entries(11)) == []
    stream = log.entries(0, 5)
    log.append(make_entry(11))  # the stop was fixed when entries() was called
    assert [i for i, _ in stream] == [0, 1, 2, 3, 4]
    with pytest.raises(UsageError):
        log.entries(13)
    with pytest.raises(UsageError):
        log.entries(5, 3)
    with pytest.raises(UsageError):
        log.entries(0, 99)


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("DELETE FROM safeshare_audit_entries WHERE idx = 6", (), "entry 6 .* missing"),
        (
            "UPDATE safeshare_audit_entries SET data = ? WHERE idx = 6",
            (encode(make_entry(99)),),
            "entry 6 .* leaf hash",
        ),
        (
            "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = 6",
            (b"not json", ref_leaf(b"not json")),
            "does not match its tree: .* entry 6 ",
        ),
        ("DELETE FROM safeshare_audit_entries WHERE idx >= 6", (), "entry 6 .* missing"),
    ],
    ids=["deleted", "edited", "garbage", "truncated"],
)
def test_entries_stop_at_damage(
    store: Store,
    log: AuditLog,
    *,
    monkeypatch: pytest.MonkeyPatch,
    sql: str,
    params: tuple[SQLParam, ...],
    message: str,
) -> None:
    monkeypatch.setattr(log_module, "READ_CHUNK", 4)
    log.append_many([make_entry(i) for i in range(10)])
    stream = log.entries(0, 10)
    run_sql(store, sql, params)
    seen: list[int] = []
    with pytest.raises(AuditIntegrityError, match=message):
        drain(stream, seen)
    assert seen == [0, 1, 2, 3]  # nothing of the damaged chunk (4 to 7) is yielded


def drain(stream: Iterator[tuple[int, AuditEntry]], seen: list[int]) -> None:
    for index, _ in stream:
        seen.append(index)
