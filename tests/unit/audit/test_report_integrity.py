"""The oversight report is computed from the entries it reads, never from stored hashes alone.

Each test damages the database behind the log's back, the way someone with
write access to it could, and checks that :func:`build_report` refuses to
produce a report (``AuditIntegrityError`` naming the first bad index) instead
of a report that hides an entry while claiming the original root. Runs on
SQLite and PostgreSQL (``store_factory``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec
import pytest

from safeshare.audit import AuditEntry, AuditLog, Checkpoint
from safeshare.audit.entry import encode
from safeshare.audit.merkle import Frontier, leaf_hash
from safeshare.audit.report import build_report
from safeshare.errors import AuditIntegrityError, UsageError
from safeshare.keys import SigningKey
from safeshare.storage import Store
from tests.pg import StoreFactory
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

ORIGIN: Final = "safeshare.example/XB-PROS/audit"
T: Final = 1_795_000_000
GENERATED: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
#: Entries in the log; entry DENIED is the one an insider wants gone.
SIZE: Final = 11
DENIED: Final = 5


def make_entry(n: int) -> AuditEntry:
    denied = n == DENIED
    return AuditEntry(
        action="deny" if denied else "open",
        time=T + n,
        actor="XB-PROS officer 4711",
        agency="XB-PROS",
        counterparty="XA-NPOL",
        jti=f"jti-{n}",
        purpose="intelligence_analysis" if denied else "criminal_investigation",
        outcome="denied" if denied else "success",
        reason="purpose not allowed by the sender" if denied else None,
    )


ENTRIES: Final = [make_entry(n) for n in range(SIZE)]
#: The denial, rewritten as a successful open.
FORGED: Final = msgspec.structs.replace(
    ENTRIES[DENIED],
    action="open",
    outcome="success",
    purpose="criminal_investigation",
    reason=None,
)
ROOT: Final = ref_mth([ref_leaf(encode(e)) for e in ENTRIES])


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    log = AuditLog(store, origin=ORIGIN)
    log.append_many(ENTRIES)
    return log


def sign(log: AuditLog) -> Checkpoint:
    """Sign a checkpoint of the log as it is now; return it as a verifier would."""
    log.sign_checkpoint(None, SigningKey.generate(), now=GENERATED)
    stored = log.latest_checkpoint()
    assert stored is not None
    return stored.checkpoint


def run(store: Store, sql: str, *params: int | bytes) -> None:
    with store.transaction(write=True) as cur:
        cur.execute(sql, params)


def rewrite_entry(store: Store, index: int, entry: AuditEntry, *, leaf: bool) -> None:
    """Replace entry *index*'s bytes (and, with *leaf*, the leaf hash stored next to them)."""
    data = encode(entry)
    if leaf:
        run(
            store,
            "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
            data,
            leaf_hash(data),
            index,
        )
    else:
        run(store, "UPDATE safeshare_audit_entries SET data = ? WHERE idx = ?", data, index)


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


def refused(log: AuditLog, first_bad: int | str, **kwargs: object) -> AuditIntegrityError:
    with pytest.raises(AuditIntegrityError) as info:
        build_report(log, now=GENERATED, **kwargs)  # type: ignore[arg-type]
    assert f"first bad index {first_bad}" in info.value.message
    assert "no report was produced" in info.value.message
    assert info.value.hint is not None
    return info.value


def test_an_intact_log_reports_the_recomputed_root(log: AuditLog) -> None:
    report = build_report(log, now=GENERATED)
    assert (report.log_size, report.root_hash) == (SIZE, ROOT)
    assert report.outcomes["denied"] == 1
    assert report.checkpoint is None
    assert "Checkpoint: none" in report.to_text()


# -- the reported bug: entry and its stored leaf rewritten, the tree left as it was -------


def test_entry_and_leaf_rewritten_stop_the_report(store: Store, log: AuditLog) -> None:
    before = build_report(log, now=GENERATED)
    assert [d.index for d in before.denied] == [DENIED]
    rewrite_entry(store, DENIED, FORGED, leaf=True)
    with pytest.raises(AuditIntegrityError, match=f"first bad index {DENIED}"):
        log.entry(DENIED)  # the leaf check alone would be satisfied; the tree is not
    error = refused(log, DENIED)
    assert f"entry {DENIED}" in error.message
    assert "the tree above it was not" in error.message


def test_entry_and_leaf_rewritten_stop_the_report_outside_the_period(
    store: Store, log: AuditLog
) -> None:
    """Every entry is hashed, not only those of the period: the root covers them all."""
    rewrite_entry(store, DENIED, FORGED, leaf=True)
    refused(log, DENIED, since=datetime.fromtimestamp(T + DENIED + 1, UTC))


def test_entry_leaf_and_level_0_node_rewritten_stop_the_report(store: Store, log: AuditLog) -> None:
    """The tree is compared all the way up: the level-1 node above the entry differs."""
    rewrite_entry(store, DENIED, FORGED, leaf=True)
    run(
        store,
        "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 0 AND idx = ?",
        leaf_hash(encode(FORGED)),
        DENIED,
    )
    error = refused(log, DENIED - 1)  # the first entry under node (1, DENIED // 2)
    assert f"(level 1, index {DENIED // 2})" in error.message


def test_a_changed_tree_node_stops_the_report(store: Store, log: AuditLog) -> None:
    run(
        store, "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 2 AND idx = 1", b"\x07" * 32
    )
    error = refused(log, 4)
    assert "(level 2, index 1)" in error.message


# -- entry alone rewritten ---------------------------------------------------------------


def test_entry_alone_rewritten_stops_the_report(store: Store, log: AuditLog) -> None:
    rewrite_entry(store, DENIED, FORGED, leaf=False)
    error = refused(log, DENIED)
    assert "does not match its stored leaf hash" in error.message


def test_non_canonical_entry_with_matching_hashes_stops_the_report(
    store: Store, log: AuditLog
) -> None:
    data = encode(ENTRIES[DENIED]).replace(b'"action":', b'"action" :')
    run(
        store,
        "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
        data,
        leaf_hash(data),
        DENIED,
    )
    rebuild_tree(store)
    error = refused(log, DENIED)
    assert "canonical" in error.message


# -- entries deleted -------------------------------------------------------------------


def test_deleted_entry_stops_the_report(store: Store, log: AuditLog) -> None:
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx = ?", DENIED)
    error = refused(log, DENIED)
    assert "missing" in error.message


def test_deleted_first_entry_stops_the_report(store: Store, log: AuditLog) -> None:
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx = 0")
    refused(log, 0)


def test_deleted_last_entries_stop_the_report(store: Store, log: AuditLog) -> None:
    """Without its last entries, the log is a smaller well-formed tree; its nodes tell."""
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx >= ?", SIZE - 2)
    error = refused(log, SIZE - 2)
    assert "removed" in error.message


def test_deleted_last_entries_and_leaves_stop_the_report(store: Store, log: AuditLog) -> None:
    """Only a node above the deleted entries is left (level 1 over entries 8 and 9)."""
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx >= 8")
    run(store, "DELETE FROM safeshare_audit_nodes WHERE level = 0 AND idx >= 8")
    refused(log, 8)


def test_truncation_with_its_tree_nodes_is_caught_by_the_stored_checkpoint(
    store: Store, log: AuditLog
) -> None:
    sign(log)
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx >= ?", DENIED)
    rebuild_tree(store)
    assert log.verify() == DENIED  # a well-formed tree of its own
    error = refused(log, DENIED)
    assert f"checkpoint of {SIZE} entries" in error.message


def test_truncation_is_caught_by_the_given_checkpoint(store: Store, log: AuditLog) -> None:
    checkpoint = sign(log)
    run(store, "DELETE FROM safeshare_audit_checkpoints")
    run(store, "DELETE FROM safeshare_audit_entries WHERE idx >= ?", DENIED)
    rebuild_tree(store)
    assert build_report(log, now=GENERATED).log_size == DENIED  # nothing left to tell
    error = refused(log, DENIED, checkpoint=checkpoint)
    assert f"covers {SIZE} entries" in error.message


# -- entries appended without the tree -----------------------------------------------------


def test_entry_appended_without_tree_update_stops_the_report(store: Store, log: AuditLog) -> None:
    data = encode(make_entry(SIZE))
    run(
        store,
        "INSERT INTO safeshare_audit_entries (idx, data, leaf) VALUES (?, ?, ?)",
        SIZE,
        data,
        leaf_hash(data),
    )
    error = refused(log, SIZE)
    assert f"(level 0, index {SIZE}) of the audit log is missing" in error.message


def test_entry_appended_after_the_given_checkpoint_is_not_reported(
    store: Store, log: AuditLog
) -> None:
    """A report of a checkpoint's tree reads exactly that tree: later rows are not in it."""
    checkpoint = sign(log)
    data = encode(make_entry(SIZE))
    run(
        store,
        "INSERT INTO safeshare_audit_entries (idx, data, leaf) VALUES (?, ?, ?)",
        SIZE,
        data,
        leaf_hash(data),
    )
    report = build_report(log, now=GENERATED, checkpoint=checkpoint)
    assert (report.log_size, report.root_hash) == (SIZE, ROOT)
    refused(log, SIZE)  # the whole log, however, is refused


# -- consistent rewrites: only a checkpoint can tell --------------------------------------


def test_consistent_rewrite_is_caught_by_the_stored_checkpoint(store: Store, log: AuditLog) -> None:
    sign(log)
    rewrite_entry(store, DENIED, FORGED, leaf=True)
    rebuild_tree(store)
    assert log.verify() == SIZE
    error = refused(log, f"between 0 and {SIZE - 1}")
    assert f"checkpoint of size {SIZE}" in error.message


def test_consistent_rewrite_is_caught_by_the_given_checkpoint(store: Store, log: AuditLog) -> None:
    """Entries, tree and stored checkpoints rewritten: only the checkpoint held outside tells."""
    held = sign(log)  # what oversight received and the witnesses cosigned
    run(store, "DELETE FROM safeshare_audit_checkpoints")
    rewrite_entry(store, DENIED, FORGED, leaf=True)
    rebuild_tree(store)
    unanchored = build_report(log, now=GENERATED)  # nothing in the database can tell
    assert unanchored.outcomes["denied"] == 0
    assert unanchored.checkpoint is None
    assert unanchored.root_hash != ROOT  # but it does not claim the cosigned root
    error = refused(log, f"below {SIZE}", checkpoint=held)
    assert f"checkpoint of size {SIZE} does not match" in error.message


def test_given_checkpoint_and_genuine_stored_prefix_bound_the_first_bad_index(
    store: Store,
) -> None:
    log = AuditLog(store, origin=ORIGIN)
    log.append_many(ENTRIES[:DENIED])
    prefix = sign(log)
    log.append_many(ENTRIES[DENIED:])
    held = sign(log)
    run(store, "DELETE FROM safeshare_audit_checkpoints WHERE size = ?", SIZE)
    rewrite_entry(store, DENIED, FORGED, leaf=True)
    rebuild_tree(store)
    refused(log, f"between {DENIED} and {SIZE - 1}", checkpoint=held)
    report = build_report(log, now=GENERATED)  # the rewrite is after the stored prefix
    assert report.checkpoint == prefix
    assert f"entries {DENIED} to {SIZE - 1} are covered by no checkpoint yet" in report.to_text()


def test_given_checkpoint_binds_the_report(log: AuditLog) -> None:
    held = sign(log)
    log.append(make_entry(SIZE))
    report = build_report(log, now=GENERATED, checkpoint=held)
    assert (report.log_size, report.root_hash) == (SIZE, ROOT)
    assert (report.checkpoint, report.checkpoint_given) == (held, True)
    assert report.to_dict()["log"]["checkpoint"]["source"] == "given"
    assert report.to_dict()["log"]["size"] == SIZE
    assert "(given): matches" in report.to_text()


def test_given_checkpoint_with_another_root_is_refused(log: AuditLog) -> None:
    wrong = Checkpoint(ORIGIN, SIZE, b"\x01" * 32)
    refused(log, f"below {SIZE}", checkpoint=wrong)


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("safeshare.example/XA-NPOL/audit", SIZE, ROOT),
        "safeshare.example/XB-PROS/audit\n11\n",
    ],
)
def test_checkpoint_of_another_log_or_type_is_a_usage_error(
    log: AuditLog, checkpoint: object
) -> None:
    with pytest.raises(UsageError):
        build_report(log, now=GENERATED, checkpoint=checkpoint)  # type: ignore[arg-type]


def test_damaged_stored_checkpoint_stops_the_report(store: Store, log: AuditLog) -> None:
    sign(log)
    run(store, "UPDATE safeshare_audit_checkpoints SET root_hash = ?", b"\x02" * 32)
    with pytest.raises(
        AuditIntegrityError, match="stored checkpoint 1 of the audit log is damaged"
    ):
        build_report(log, now=GENERATED)


def test_a_checkpoint_of_a_prefix_is_reported(log: AuditLog) -> None:
    stored = sign(log)
    log.append(make_entry(SIZE))
    report = build_report(log, now=GENERATED)
    assert report.log_size == SIZE + 1
    assert report.checkpoint == stored
    assert not report.checkpoint_given
    assert report.to_dict()["log"]["checkpoint"]["source"] == "stored"
    assert f"entries {SIZE} to {SIZE} are covered by no checkpoint yet" in report.to_text()
