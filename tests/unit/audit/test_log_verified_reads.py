"""Every read of the audit log checks entries against the Merkle tree, not the leaf column.

An insider who rewrites an entry together with the leaf hash stored next to it
(but not the tree nodes above it) must not get the altered entry past
``verified_entries`` / ``entries``, ``entry``, ``leaf_hash`` or
``subject_entries`` (index and scan). Each test damages the database behind
the log's back and checks the refusal (``AuditIntegrityError`` naming the
index); the positive tests check that untouched logs read as before. Runs on
SQLite and PostgreSQL (``store_factory``).
"""

from __future__ import annotations

from typing import Final

import msgspec
import pytest

from safeshare.audit import AuditEntry, AuditLog, Checkpoint
from safeshare.audit import log as log_module
from safeshare.audit.entry import encode
from safeshare.audit.log import VerifiedEntries
from safeshare.audit.merkle import Frontier, leaf_hash
from safeshare.errors import AuditIntegrityError, UsageError
from safeshare.keys import SigningKey
from safeshare.storage import Store
from tests.pg import StoreFactory
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
T: Final = 1_795_000_000
SIZE: Final = 23
#: The entry the insider rewrites; TOKEN is its data subject (also in entries 2 and 17).
TARGET: Final = 9
TOKEN: Final = "c3ViamVjdC10b2tlbi1vZi10aGUtcGVyc29u"
OTHER_TOKEN: Final = "YW5vdGhlci1zdWJqZWN0LXRva2VuLXZhbHVl"
HOLDERS: Final = (2, TARGET, 17)


def make_entry(n: int) -> AuditEntry:
    return AuditEntry(
        action="deny" if n == TARGET else "open",
        time=T + n,
        actor="XA-NPOL officer 12",
        agency="XA-NPOL",
        counterparty="XB-PROS",
        jti=f"jti-{n}",
        purpose="criminal_investigation",
        outcome="denied" if n == TARGET else "success",
        reason="purpose not allowed" if n == TARGET else None,
        subjects=(TOKEN,) if n in HOLDERS else (OTHER_TOKEN,),
    )


ENTRIES: Final = [make_entry(n) for n in range(SIZE)]
#: The denial, rewritten as a successful open: same subject, other meaning.
FORGED: Final = msgspec.structs.replace(
    ENTRIES[TARGET], action="open", outcome="success", reason=None
)
#: The denial with the data subject's token removed.
UNLINKED: Final = msgspec.structs.replace(ENTRIES[TARGET], subjects=(OTHER_TOKEN,))


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    log = AuditLog(store, origin=ORIGIN)
    log.append_many(ENTRIES)
    return log


@pytest.fixture(params=[4096, 4], ids=["one-chunk", "chunks-of-4"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    size = int(request.param)
    monkeypatch.setattr(log_module, "READ_CHUNK", size)
    return size


def sign(log: AuditLog) -> Checkpoint:
    log.sign_checkpoint(None, SigningKey.generate())
    stored = log.latest_checkpoint()
    assert stored is not None
    return stored.checkpoint


def run(store: Store, sql: str, *params: int | bytes) -> None:
    with store.transaction(write=True) as cur:
        cur.execute(sql, params)


def rewrite(store: Store, index: int, entry: AuditEntry, *, level0: bool = False) -> None:
    """Replace entry *index* and its stored leaf hash (and, with *level0*, its level-0 node)."""
    data = encode(entry)
    run(
        store,
        "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
        data,
        leaf_hash(data),
        index,
    )
    if level0:
        run(
            store,
            "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 0 AND idx = ?",
            leaf_hash(data),
            index,
        )


def rebuild_tree(store: Store) -> None:
    """Recompute every stored tree node from the stored entries: a consistent rewrite."""
    with store.transaction(write=True) as cur:
        rows = cur.execute("SELECT data FROM safeshare_audit_entries ORDER BY idx")
        frontier = Frontier()
        nodes = [node for (data,) in rows for node in frontier.append(leaf_hash(bytes(data)))]
        cur.execute("DELETE FROM safeshare_audit_nodes")
        cur.executemany(
            "INSERT INTO safeshare_audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes
        )


def drain(stream: VerifiedEntries, seen: list[int]) -> None:
    for index, _ in stream:
        seen.append(index)


def ref_root(n: int) -> bytes:
    return ref_mth([ref_leaf(encode(e)) for e in ENTRIES[:n]])


# -- untouched logs read as before ------------------------------------------------------------


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_an_untouched_log_reads_in_full(log: AuditLog, chunk: int, signed: bool) -> None:
    held = sign(log) if signed else None
    assert list(log.entries()) == list(enumerate(ENTRIES))
    stream = log.verified_entries()
    assert list(stream) == list(enumerate(ENTRIES))
    assert (stream.start, stream.stop, stream.tree_size, stream.log_size) == (0, SIZE, SIZE, SIZE)
    assert stream.root_hash == ref_root(SIZE)
    assert stream.checkpoint is None
    if held is None:
        assert stream.stored_checkpoint is None
    else:
        assert stream.stored_checkpoint is not None
        assert stream.stored_checkpoint.checkpoint == held
        given = log.verified_entries(checkpoint=held)
        assert list(given) == list(enumerate(ENTRIES))
        assert given.checkpoint == held
    assert [log.entry(i) for i in range(SIZE)] == ENTRIES
    assert [log.leaf_hash(i) for i in range(SIZE)] == [ref_leaf(encode(e)) for e in ENTRIES]
    for scan in (False, True):
        assert [i for i, _ in log.subject_entries(TOKEN, scan=scan)] == list(HOLDERS)


@pytest.mark.parametrize(
    ("start", "stop"), [(0, 0), (0, 5), (3, 9), (4, 8), (7, 7), (5, SIZE), (22, SIZE), (SIZE, SIZE)]
)
def test_ranges_read_from_the_stored_frontier(
    log: AuditLog, chunk: int, start: int, stop: int
) -> None:
    """A range starts from the stored frontier at *start* and is linked to the checkpoint."""
    sign(log)
    log.append(make_entry(SIZE))  # a log that grew past its checkpoint
    stream = log.verified_entries(start, stop)
    assert list(stream) == [(i, ENTRIES[i]) for i in range(start, stop)]
    assert stream.root_hash == ref_root(stop)
    assert list(log.entries(start, stop)) == [(i, ENTRIES[i]) for i in range(start, stop)]


def test_a_given_checkpoint_fixes_the_tree(log: AuditLog, chunk: int) -> None:
    log.append_many([make_entry(n) for n in range(SIZE, SIZE + 3)])
    prefix = Checkpoint(ORIGIN, 11, ref_root(11))
    stream = log.verified_entries(checkpoint=prefix)
    assert [i for i, _ in stream] == list(range(11))
    assert (stream.tree_size, stream.log_size, stream.root_hash) == (11, SIZE + 3, ref_root(11))
    assert [i for i, _ in log.verified_entries(2, 6, checkpoint=prefix)] == [2, 3, 4, 5]
    with pytest.raises(UsageError, match="checkpoint covers 11 entries; stop 12"):
        log.verified_entries(0, 12, checkpoint=prefix)
    with pytest.raises(AuditIntegrityError, match=r"covers 99 entries .*first bad index 26"):
        log.verified_entries(checkpoint=Checkpoint(ORIGIN, 99, ref_root(11)))


@pytest.mark.parametrize(
    "checkpoint",
    [Checkpoint("safeshare.example/XB-PROS/audit", 3, bytes(32)), "not a checkpoint"],
)
def test_a_checkpoint_of_another_log_is_a_usage_error(log: AuditLog, checkpoint: object) -> None:
    with pytest.raises(UsageError):
        log.verified_entries(checkpoint=checkpoint)  # type: ignore[arg-type]


def test_usage(log: AuditLog) -> None:
    for start, stop in ((5, 3), (-1, None), (0, SIZE + 1)):
        with pytest.raises(UsageError):
            log.verified_entries(start, stop)
    stream = log.verified_entries()
    with pytest.raises(UsageError, match="root is known once"):
        _ = stream.root_hash
    assert next(stream) == (0, ENTRIES[0])
    stream.close()
    assert list(stream) == []


def test_the_store_is_free_while_iterating(log: AuditLog, chunk: int) -> None:
    """Each chunk is read in a transaction of its own, closed before it is yielded."""
    seen = []
    for index, _ in log.entries(0, 8):
        log.append(make_entry(SIZE + index))  # a write transaction in the same thread
        seen.append(log.entry(index))
    assert seen == ENTRIES[:8]
    assert log.size() == SIZE + 8


def test_one_snapshot_with_a_cursor(store: Store, log: AuditLog, chunk: int) -> None:
    with store.transaction(write=False) as cur:
        stream = log.verified_entries(cursor=cur)
        assert [i for i, _ in stream] == list(range(SIZE))
    assert stream.root_hash == ref_root(SIZE)


# -- the reported weakness: an entry rewritten with its stored leaf hash ------------------------


@pytest.mark.parametrize("forged", [FORGED, UNLINKED], ids=["altered", "subject-removed"])
def test_entry_and_leaf_rewritten_are_refused_by_every_read(
    store: Store, log: AuditLog, chunk: int, forged: AuditEntry
) -> None:
    sign(log)
    rewrite(store, TARGET, forged)
    where = f"first bad index {TARGET}"
    seen: list[int] = []
    with pytest.raises(AuditIntegrityError, match=where) as info:
        drain(log.entries(), seen)
    assert "the tree above it was not" in info.value.message
    assert seen == ([] if chunk > SIZE else [0, 1, 2, 3, 4, 5, 6, 7])  # not its chunk
    with pytest.raises(AuditIntegrityError, match=where):
        list(log.verified_entries(TARGET, TARGET + 1))
    with pytest.raises(AuditIntegrityError, match=where):
        log.entry(TARGET)
    with pytest.raises(AuditIntegrityError, match=where):
        log.leaf_hash(TARGET)
    for scan in (False, True):
        with pytest.raises(AuditIntegrityError, match=where):
            log.subject_entries(TOKEN, scan=scan)
    # reads that do not touch the rewritten entry still work
    assert list(log.verified_entries(TARGET + 1)) == list(enumerate(ENTRIES))[TARGET + 1 :]
    assert log.entry(TARGET + 1) == ENTRIES[TARGET + 1]


def test_entry_leaf_and_level_0_node_rewritten_are_refused(
    store: Store, log: AuditLog, chunk: int
) -> None:
    """The tree above the level-0 node was left: the entry cannot be proven."""
    rewrite(store, TARGET, FORGED, level0=True)
    with pytest.raises(AuditIntegrityError, match=r"\(level 1, index 4\)") as info:
        list(log.entries())
    assert f"first bad index {TARGET - 1}" in info.value.message  # the first entry under it
    with pytest.raises(
        AuditIntegrityError, match=f"entry {TARGET} .* cannot be proven in the stored"
    ):
        log.entry(TARGET)
    with pytest.raises(
        AuditIntegrityError, match=f"entry {TARGET} .* cannot be proven in the stored"
    ):
        log.subject_entries(TOKEN)
    with pytest.raises(AuditIntegrityError, match=r"\(level 1, index 4\)"):
        log.subject_entries(TOKEN, scan=True)


def test_a_consistent_rewrite_is_refused_by_the_stored_checkpoint(
    store: Store, log: AuditLog, chunk: int
) -> None:
    """Entry, leaf and the whole tree rewritten: only a checkpoint tells, and every read asks it."""
    sign(log)
    rewrite(store, TARGET, FORGED)
    rebuild_tree(store)
    assert log.verify() == SIZE  # the tree alone is consistent
    seen: list[int] = []
    with pytest.raises(AuditIntegrityError, match=f"checkpoint of size {SIZE} does not match") as e:
        drain(log.entries(), seen)
    assert seen == []  # the first chunk is already not linked to the checkpoint's root
    assert f"between 0 and {SIZE - 1}" in e.value.message
    with pytest.raises(AuditIntegrityError, match=f"checkpoint of size {SIZE} does not match"):
        list(log.verified_entries(0, 3))  # linked by a consistency proof over stored nodes
    with pytest.raises(AuditIntegrityError, match=f"entry {TARGET} .* checkpoint of size {SIZE}"):
        log.entry(TARGET)
    # entry 2 is refused first: its path to the signed root crosses the rewritten subtree
    with pytest.raises(AuditIntegrityError, match=f"entry 2 .* checkpoint of size {SIZE}"):
        log.subject_entries(TOKEN)
    with pytest.raises(AuditIntegrityError, match=f"checkpoint of size {SIZE} does not match"):
        log.subject_entries(TOKEN, scan=True)


def test_a_consistent_rewrite_of_the_stored_checkpoints_too_needs_the_held_checkpoint(
    store: Store, log: AuditLog, chunk: int
) -> None:
    held = sign(log)
    run(store, "DELETE FROM safeshare_audit_checkpoints")
    rewrite(store, TARGET, FORGED)
    rebuild_tree(store)
    # What the database alone cannot tell: it reads as a well-formed log.
    assert log.entry(TARGET) == FORGED
    assert [i for i, _ in log.subject_entries(TOKEN, scan=True)] == list(HOLDERS)
    with pytest.raises(AuditIntegrityError, match=f"checkpoint of size {SIZE} does not match"):
        list(log.verified_entries(checkpoint=held))
    with pytest.raises(AuditIntegrityError, match=f"checkpoint of size {SIZE} does not match"):
        list(log.verified_entries(0, 4, checkpoint=held))


def test_a_damaged_node_beyond_the_chunk_is_named_precisely(
    store: Store, log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed link is not trusted, but the pass goes on to find the bad node."""
    monkeypatch.setattr(log_module, "READ_CHUNK", 4)
    sign(log)
    run(store, "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 3 AND idx = 1", bytes(32))
    seen: list[int] = []
    with pytest.raises(AuditIntegrityError, match=r"\(level 3, index 1\)") as info:
        drain(log.entries(), seen)
    assert "first bad index 8" in info.value.message
    assert seen == []  # the link of the first chunk already failed: nothing was yielded


def test_a_planted_subject_row_on_a_rewritten_entry_is_refused(store: Store, log: AuditLog) -> None:
    """The index points to an entry rewritten to hold the token: the tree still tells."""
    planted = msgspec.structs.replace(ENTRIES[4], subjects=(TOKEN,))
    rewrite(store, 4, planted)
    run(store, "INSERT INTO safeshare_audit_subjects (token, idx) VALUES (?, 4)", TOKEN)  # type: ignore[arg-type]
    with pytest.raises(AuditIntegrityError, match="first bad index 4"):
        log.subject_entries(TOKEN)


def test_lost_entries_are_refused(store: Store, log: AuditLog, chunk: int) -> None:
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx >= ?", SIZE - 3)
    with pytest.raises(AuditIntegrityError, match=f"removed \\(first bad index {SIZE - 3}\\)"):
        list(log.entries())
    with pytest.raises(AuditIntegrityError, match=f"first bad index {SIZE - 3}"):
        log.subject_entries(TOKEN)
    assert log.entry(3) == ENTRIES[3]  # a single entry below the loss still proves
