"""``safeshare audit ...``: verify, checkpoint, prove, witness and report.

The log's database comes from ``store_factory``, so every test that takes it
runs on SQLite and on PostgreSQL (``--db`` is a file path or a URL). The
entries are written through the API; everything else goes through the
command line, and its output is checked independently (RFC 9162 roots
recomputed in the tests, C2SP notes opened with the library's verifiers).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from tests.pg import StoreFactory
from tests.unit.audit.test_merkle import ref_leaf, ref_mth

from safeshare.audit import AuditEntry, AuditLog
from safeshare.audit.checkpoint import Checkpoint, verify_checkpoint
from safeshare.audit.entry import encode
from safeshare.audit.merkle import verify_consistency, verify_inclusion
from safeshare.audit.note import NoteVerifier
from safeshare.audit.witness import CosignatureVerifier, Witness, verify_cosigned
from safeshare.cli import audit_cmd
from safeshare.keys import AgencyKeySet
from safeshare.storage import Store, open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli, CliResult

ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
KEY_PASSPHRASE: Final = "audit cli passphrase"
T: Final = 1_795_000_000


@dataclass(frozen=True)
class Agency:
    keyset: AgencyKeySet
    keyfile: Path
    jwks: Path


@pytest.fixture(scope="module")
def agencies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Agency]:
    """XA-NPOL runs the log; XB-PROS witnesses it. Key files written once."""
    directory = tmp_path_factory.mktemp("audit-keys")
    out: dict[str, Agency] = {}
    for agency in ("XA-NPOL", "XB-PROS"):
        keyset = AgencyKeySet.generate(agency)
        keyfile, jwks = directory / f"{agency}.keys.json", directory / f"{agency}.jwks.json"
        keyset.save(keyfile, KEY_PASSPHRASE)
        jwks.write_text(json.dumps(keyset.public_jwks()), encoding="utf-8")
        out[agency] = Agency(keyset, keyfile, jwks)
    return out


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", KEY_PASSPHRASE)


@pytest.fixture
def xa(agencies: dict[str, Agency]) -> Agency:
    return agencies["XA-NPOL"]


@pytest.fixture
def xb(agencies: dict[str, Agency]) -> Agency:
    return agencies["XB-PROS"]


def entry(n: int, *, actor: str = "officer 1", denied: bool = False) -> AuditEntry:
    return AuditEntry(
        action="deny" if denied else "open",
        time=T + n,
        actor=actor,
        agency="XA-NPOL",
        counterparty="XB-PROS",
        jti=f"jti-{n}",
        purpose="investigation" if n % 2 else "prevention",
        outcome="denied" if denied else "success",
        reason="purpose not covered by the request" if denied else None,
    )


ENTRIES: Final = [entry(n, denied=n % 4 == 1, actor=f"officer {n % 3}") for n in range(20)]


def ref_root(entries: list[AuditEntry]) -> bytes:
    return ref_mth([ref_leaf(encode(e)) for e in entries])


def b64(data: str) -> bytes:
    return base64.b64decode(data, validate=True)


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    log = AuditLog(store, origin=ORIGIN)
    log.append_many(ENTRIES)
    return log


@pytest.fixture
def db(store_factory: StoreFactory, log: AuditLog) -> str:
    """The --db argument of the filled log."""
    return store_factory.location


def checkpoint(cli: Cli, db: str, agency: Agency, *extra: str) -> CliResult:
    return cli(
        "audit", "checkpoint", "--db", db, "--key", agency.keyfile, "--now", NOW_TEXT, *extra
    )


# -- verify -----------------------------------------------------------------------------------


def test_verify_ok(cli: Cli, db: str, xa: Agency) -> None:
    result = cli("audit", "verify", "--db", db)
    assert result.code == 0, result.err
    assert f"audit log {ORIGIN}: OK" in result.out
    assert "20 verified" in result.out
    assert base64.b64encode(ref_root(ENTRIES)).decode() in result.out
    assert "signatures not checked" in result.out
    assert result.err == ""  # no progress: stderr is not a terminal
    assert checkpoint(cli, db, xa).code == 0
    data = cli("audit", "verify", "--db", db, "--checkpoint-key", xa.jwks, "--json").json()
    assert data["ok"] is True
    assert data["origin"] == ORIGIN
    assert data["size"] == 20
    assert b64(data["root_hash"]) == ref_root(ENTRIES)
    assert data["checkpoints"] == 1
    assert data["signatures_checked"] is True
    assert data["latest_checkpoint"]["size"] == 20
    assert data["latest_checkpoint"]["kid"] == xa.keyset.signing_key.kid
    assert data["latest_checkpoint"]["signed_at"] == NOW_TEXT


def test_verify_progress(cli: Cli, db: str) -> None:
    result = cli("audit", "verify", "--db", db, "--progress", "--origin", ORIGIN)
    assert result.code == 0
    lines = result.err.splitlines()
    assert lines[0] == "safeshare: verifying the audit log: 0 of 20 entries (0%)"
    assert lines[-1] == "safeshare: verifying the audit log: 20 of 20 entries (100%)"


def test_verify_progress_on_a_terminal(cli: Cli, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_cmd, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(audit_cmd, "_PROGRESS_DELAY", 1e9)  # finishes before the delay
    quiet = cli("audit", "verify", "--db", db)
    assert quiet.code == 0
    assert quiet.err == ""
    monkeypatch.setattr(audit_cmd, "_PROGRESS_DELAY", 0.0)
    shown = cli("audit", "verify", "--db", db)
    assert shown.code == 0
    assert shown.err.startswith("\rsafeshare: verifying the audit log: 0 of 20 entries (0%)")
    assert shown.err.endswith("\rsafeshare: verifying the audit log: 20 of 20 entries (100%)\n")


def test_verify_after_tampering_names_the_first_bad_index(cli: Cli, db: str, store: Store) -> None:
    with store.transaction(write=True) as cur:
        cur.execute(
            "UPDATE safeshare_audit_entries SET data = ? WHERE idx = 13",
            (encode(entry(13, actor="somebody else")),),
        )
    message = cli("audit", "verify", "--db", db).error()
    assert "(first bad index 13)" in message
    result = cli("audit", "verify", "--db", db, "--json")
    assert "(first bad index 13)" in result.error()
    data = json.loads(result.out)
    assert data["ok"] is False
    assert data["first_bad_index"] == 13


def test_verify_finds_a_consistent_rewrite_through_the_checkpoints(
    cli: Cli, db: str, store: Store, log: AuditLog, xa: Agency
) -> None:
    assert checkpoint(cli, db, xa).code == 0
    with store.transaction(write=True) as cur:  # rewrite entries 16.. and their nodes
        cur.execute("DELETE FROM safeshare_audit_entries WHERE idx >= 16")
        cur.execute("DELETE FROM safeshare_audit_nodes WHERE ((idx + 1) << level) > 16")
    log.append_many([entry(n, actor="rewritten") for n in range(16, 20)])
    assert log.verify() == 20  # the tree alone is consistent
    message = cli("audit", "verify", "--db", db, "--checkpoint-key", xa.jwks).error()
    assert "checkpoint 1 (size 20) does not match the tree recomputed" in message
    assert "first bad index between 0 and 19" in message


def test_verify_with_the_wrong_checkpoint_key(cli: Cli, db: str, xa: Agency, xb: Agency) -> None:
    assert checkpoint(cli, db, xa).code == 0
    message = cli("audit", "verify", "--db", db, "--checkpoint-key", xb.jwks).error()
    assert "checkpoint 1 (size 20) does not carry a valid signature" in message


# -- checkpoint --------------------------------------------------------------------------------


def test_checkpoint_prints_a_signed_note(cli: Cli, db: str, xa: Agency, log: AuditLog) -> None:
    result = checkpoint(cli, db, xa)
    assert result.code == 0, result.err
    verifier = NoteVerifier(ORIGIN, xa.keyset.signing_key.public)
    assert verify_checkpoint(result.out, verifier) == Checkpoint(ORIGIN, 20, ref_root(ENTRIES))
    stored = log.latest_checkpoint()
    assert stored is not None
    assert stored.note == result.out
    assert stored.signed_at == NOW
    named = checkpoint(cli, db, xa, "--name", "signer.xa.example")
    assert named.code == 0
    assert "\u2014 signer.xa.example " in named.out


def test_checkpoint_refused_after_truncation(
    cli: Cli, db: str, xa: Agency, store: Store, log: AuditLog
) -> None:
    assert checkpoint(cli, db, xa).code == 0
    with store.transaction(write=True) as cur:
        cur.execute("DELETE FROM safeshare_audit_entries WHERE idx >= 12")
    message = checkpoint(cli, db, xa).error()
    assert "fewer than the 20" in message
    assert "nothing was signed" in message
    assert [s.size for s in log.checkpoints()] == [20]


def test_checkpoint_needs_the_right_passphrase(
    cli: Cli, db: str, xa: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", "not the passphrase")
    checkpoint(cli, db, xa).error()


# -- prove -------------------------------------------------------------------------------------


def test_inclusion_proofs_verify_independently(cli: Cli, db: str, xa: Agency) -> None:
    assert checkpoint(cli, db, xa).code == 0
    for index, size in ((0, None), (13, None), (19, None), (4, 7), (0, 1)):
        args = ["audit", "prove", "--db", db, "--index", str(index)]
        if size is not None:
            args += ["--size", str(size)]
        data = cli(*args).json()
        n = 20 if size is None else size
        assert (data["type"], data["index"], data["size"]) == ("inclusion", index, n)
        assert data["entry"].encode() == encode(ENTRIES[index])
        leaf = ref_leaf(data["entry"].encode())
        assert b64(data["leaf_hash"]) == leaf
        root = ref_root(ENTRIES[:n])
        assert b64(data["root"]) == root
        verify_inclusion(leaf, index, n, [b64(h) for h in data["proof"]], root)
        if n == 20:  # the log signed a checkpoint of this size: it comes with the proof
            verifier = NoteVerifier(ORIGIN, xa.keyset.signing_key.public)
            assert verify_checkpoint(data["checkpoint"], verifier).root_hash == root
        else:
            assert data["checkpoint"] is None


def test_consistency_proofs_verify_independently(cli: Cli, db: str) -> None:
    for size1, size2 in ((3, None), (8, 16), (0, 5), (7, 7), (1, 20)):
        args = ["audit", "prove", "--db", db, "--from", str(size1)]
        if size2 is not None:
            args += ["--to", str(size2)]
        data = cli(*args).json()
        n2 = 20 if size2 is None else size2
        assert (data["type"], data["from_size"], data["to_size"]) == ("consistency", size1, n2)
        root1, root2 = ref_root(ENTRIES[:size1]), ref_root(ENTRIES[:n2])
        assert (b64(data["from_root"]), b64(data["to_root"])) == (root1, root2)
        verify_consistency(size1, n2, [b64(h) for h in data["proof"]], root1, root2)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--index", "20"], "no entry 20 in a tree of size 20"),
        (["--index", "3", "--size", "21"], "size 21 is beyond it"),
        (["--from", "21"], "larger than size2"),
        (["--index", "3", "--to", "5"], "--to goes with --from"),
        (["--from", "3", "--size", "5"], "--size goes with --index"),
    ],
)
def test_prove_errors(cli: Cli, db: str, args: list[str], expected: str) -> None:
    assert expected in cli("audit", "prove", "--db", db, *args).error()


def test_prove_needs_index_or_from(cli: Cli, db: str) -> None:
    cli("audit", "prove", "--db", db).usage_error()
    cli("audit", "prove", "--db", db, "--index", "-1").usage_error()


def rewrite_entry(store: Store, index: int, forged: AuditEntry, *, level0: bool = False) -> None:
    """An insider's edit: the entry's bytes and stored leaf (and maybe its level-0 node)."""
    data = encode(forged)
    with store.transaction(write=True) as cur:
        cur.execute(
            "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
            (data, ref_leaf(data), index),
        )
        if level0:
            cur.execute(
                "UPDATE safeshare_audit_nodes SET hash = ? WHERE level = 0 AND idx = ?",
                (ref_leaf(data), index),
            )


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_prove_refuses_an_entry_rewritten_with_its_leaf(
    cli: Cli, db: str, store: Store, xa: Agency, signed: bool
) -> None:
    """The entry printed beside a proof must be the one the proof is for."""
    if signed:
        assert checkpoint(cli, db, xa).code == 0
    rewrite_entry(store, 13, entry(13, actor="somebody else"))
    for args in (["--index", "13"], ["--index", "13", "--size", "14"]):
        result = cli("audit", "prove", "--db", db, *args)
        message = result.error()
        assert "does not match its tree: the leaf hash recomputed from entry 13 " in message
        assert "(first bad index 13)" in message
        assert result.out == ""
    # a neighbour's proof does not depend on entry 13's bytes
    data = cli("audit", "prove", "--db", db, "--index", "12").json()
    assert data["entry"].encode() == encode(ENTRIES[12])


def test_prove_refuses_an_entry_rewritten_with_its_level_0_node(
    cli: Cli, db: str, store: Store
) -> None:
    rewrite_entry(store, 13, entry(13, actor="somebody else"), level0=True)
    message = cli("audit", "prove", "--db", db, "--index", "13").error()
    assert "entry 13 of the audit log cannot be proven in the stored tree" in message


# -- witness -----------------------------------------------------------------------------------


def test_witness_cosigns_then_refuses_a_fork_and_a_rollback(
    cli: Cli, db: str, log: AuditLog, *, xa: Agency, xb: Agency, tmp_path: Path
) -> None:
    witness_db = tmp_path / "witness.db"
    log_verifier = NoteVerifier(ORIGIN, xa.keyset.signing_key.public)
    witness_verifier = CosignatureVerifier("XB-PROS/witness", xb.keyset.signing_key.public)

    def witness(note_file: Path, *extra: str | Path) -> CliResult:
        return cli(
            "audit", "witness", "--db", witness_db, "--key", xb.keyfile,
            "--log-key", xa.jwks, "--checkpoint", note_file, "--now", NOW_TEXT, *extra,
        )  # fmt: skip

    cp20 = tmp_path / "cp20.txt"
    cp20.write_text(checkpoint(cli, db, xa).out, encoding="utf-8")
    first = witness(cp20)
    assert first.code == 0, first.err
    assert first.out.startswith(cp20.read_text(encoding="utf-8"))
    cosigned = verify_cosigned(first.out, log_verifier, [witness_verifier], 1, now=NOW)
    assert (cosigned.size, cosigned.root_hash) == (20, ref_root(ENTRIES))

    # The log grows; the witness follows with a consistency proof from 20.
    more = [entry(n) for n in range(20, 27)]
    log.append_many(more)
    cp27 = tmp_path / "cp27.txt"
    cp27.write_text(checkpoint(cli, db, xa).out, encoding="utf-8")
    proof = tmp_path / "proof.json"
    proof.write_text(cli("audit", "prove", "--db", db, "--from", "20").out, encoding="utf-8")
    second = witness(cp27, "--proof", proof)
    assert second.code == 0, second.err
    cosigned = verify_cosigned(second.out, log_verifier, [witness_verifier], 1, now=NOW)
    assert cosigned.size == 27
    assert cosigned.root_hash == ref_root(ENTRIES + more)

    # A fork: the same log key signs another history of the same size.
    with open_store(tmp_path / "fork.db") as fork_store:
        fork = AuditLog(fork_store, origin=ORIGIN)
        fork.append_many([*ENTRIES, *more[:6], entry(26, actor="forged")])
    fork_note = tmp_path / "fork27.txt"
    fork_note.write_text(checkpoint(cli, str(tmp_path / "fork.db"), xa).out, encoding="utf-8")
    message = witness(fork_note).error()
    assert message.startswith("fork: ")
    # A rollback: the older checkpoint again.
    message = witness(cp20).error()
    assert message.startswith("rollback: ")
    with open_store(witness_db) as wstore:
        w = Witness(wstore, "XB-PROS/witness", xb.keyset.signing_key)
        assert [e.kind for e in w.evidence(ORIGIN)] == ["fork", "rollback"]
        latest = w.latest(ORIGIN)
        assert latest is not None
        assert latest.checkpoint.size == 27


def test_witness_proof_files(
    cli: Cli, db: str, log: AuditLog, *, xa: Agency, xb: Agency, tmp_path: Path
) -> None:
    witness_db = tmp_path / "witness.db"

    def witness(note_file: Path, *extra: str | Path) -> CliResult:
        return cli(
            "audit", "witness", "--db", witness_db, "--key", xb.keyfile,
            "--log-key", xa.jwks, "--checkpoint", note_file, "--now", NOW_TEXT,
            "--name", "oversight.xb.example/witness", *extra,
        )  # fmt: skip

    log.append_many([entry(n) for n in range(20, 24)])
    cp24 = tmp_path / "cp24.txt"
    cp24.write_text(checkpoint(cli, db, xa).out, encoding="utf-8")
    assert witness(cp24).code == 0
    log.append_many([entry(n) for n in range(24, 30)])
    cp30 = tmp_path / "cp30.txt"
    cp30.write_text(checkpoint(cli, db, xa).out, encoding="utf-8")
    wrong = tmp_path / "from20.json"
    wrong.write_text(cli("audit", "prove", "--db", db, "--from", "20").out, encoding="utf-8")
    message = witness(cp30, "--proof", wrong).error()
    assert "starts at size 20, but this witness last cosigned size 24" in message
    # A proof as base64 lines (the tlog-witness body format) works too.
    lines = tmp_path / "from24.txt"
    lines.write_text(
        "".join(h + "\n" for h in cli("audit", "prove", "--db", db, "--from", "24").json()["proof"])
    )
    result = witness(cp30, "--proof", lines)
    assert result.code == 0, result.err
    assert "\u2014 oversight.xb.example/witness " in result.out


def test_witness_refuses_a_checkpoint_not_signed_by_the_log_key(
    cli: Cli, db: str, xa: Agency, xb: Agency, tmp_path: Path
) -> None:
    note = tmp_path / "cp.txt"
    note.write_text(checkpoint(cli, db, xa).out, encoding="utf-8")
    message = cli(
        "audit", "witness", "--db", tmp_path / "w.db", "--key", xb.keyfile,
        "--log-key", xb.jwks, "--checkpoint", note,
    ).error()  # fmt: skip
    assert "not signed" in message
    assert not (tmp_path / "w.db").exists()  # refused before the witness database was opened


# -- report ------------------------------------------------------------------------------------


def test_report_text_denials_first(cli: Cli, db: str) -> None:
    result = cli("audit", "report", "--db", db)
    assert result.code == 0, result.err
    text = result.out
    denied = [n for n in range(20) if n % 4 == 1]
    assert f"DENIED ACCESSES ({len(denied)})" in text
    assert text.index("DENIED ACCESSES") < text.index("BY PURPOSE") < text.index("BY OUTCOME")
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  #")]
    assert listed == [f"#{n}" for n in denied]
    assert text.count("reason: purpose not covered by the request") == len(denied)


def test_report_json_and_period(cli: Cli, db: str) -> None:
    out = cli(
        "audit", "report", "--db", db, "--json",
        "--since", "2026-11-18T11:06:45Z", "--until", "2026-11-18T11:06:50Z",
    ).out  # fmt: skip
    data = json.loads(out)
    assert list(data).index("denied") < list(data).index("by_purpose")
    # entries T+5 .. T+9 (T = 2026-11-18T11:06:40Z)
    assert data["entries"] == 5
    assert [d["index"] for d in data["denied"]] == [5, 9]
    assert data["outcomes"] == {"denied": 2, "error": 0, "success": 3}
    assert data["by_outcome"][0]["outcome"] == "denied"
    assert data["log"]["size"] == 20
    assert b64(data["log"]["root_hash"]) == ref_root(ENTRIES)


def test_report_max_denied(cli: Cli, db: str) -> None:
    data = json.loads(cli("audit", "report", "--db", db, "--json", "--max-denied", "2").out)
    assert len(data["denied"]) == 2
    assert data["denied_not_listed"] == 3


def held_checkpoint(cli: Cli, db: str, xa: Agency, tmp_path: Path) -> Path:
    """Sign a checkpoint through the CLI and keep its note, as an oversight body would."""
    result = checkpoint(cli, db, xa)
    assert result.code == 0, result.err
    path = tmp_path / "held.checkpoint"
    path.write_text(result.out, encoding="utf-8")
    return path


def test_report_against_a_held_checkpoint(
    cli: Cli, db: str, xa: Agency, log: AuditLog, tmp_path: Path
) -> None:
    held = held_checkpoint(cli, db, xa, tmp_path)
    log.append_many([entry(n) for n in range(20, 23)])  # the log grew since
    args: list[str | Path] = [
        "audit",
        "report",
        "--db",
        db,
        "--checkpoint",
        held,
        "--checkpoint-key",
        xa.jwks,
    ]
    data = cli(*args, "--json").json()
    assert data["log"]["size"] == 20  # exactly the held checkpoint's tree
    assert b64(data["log"]["root_hash"]) == ref_root(ENTRIES)
    assert data["log"]["checkpoint"]["source"] == "given"
    assert data["entries"] == 20
    assert "(given): matches" in cli(*args).out
    assert cli("audit", "report", "--db", db, "--json").json()["log"]["size"] == 23


def test_report_refuses_a_rewrite_only_the_held_checkpoint_exposes(
    cli: Cli, db: str, xa: Agency, store: Store, *, log: AuditLog, tmp_path: Path
) -> None:
    """Entries, tree and stored checkpoints rewritten: the database alone cannot tell."""
    held = held_checkpoint(cli, db, xa, tmp_path)
    with store.transaction(write=True) as cur:  # rewrite entries 16.. and their nodes
        cur.execute("DELETE FROM safeshare_audit_checkpoints")
        cur.execute("DELETE FROM safeshare_audit_entries WHERE idx >= 16")
        cur.execute("DELETE FROM safeshare_audit_nodes WHERE ((idx + 1) << level) > 16")
    log.append_many([entry(n, actor="rewritten") for n in range(16, 20)])
    assert cli("audit", "report", "--db", db).code == 0  # nothing in the database tells
    message = cli(
        "audit", "report", "--db", db, "--checkpoint", held, "--checkpoint-key", xa.jwks
    ).error()
    assert "the checkpoint of size 20 does not match" in message
    assert "no report was produced" in message


def test_report_checkpoint_errors(
    cli: Cli, db: str, xa: Agency, xb: Agency, tmp_path: Path
) -> None:
    held = held_checkpoint(cli, db, xa, tmp_path)
    report = ["audit", "report", "--db", db]
    message = cli(*report, "--checkpoint", held, "--checkpoint-key", xb.jwks).error()
    assert "not signed for log" in message
    assert "--checkpoint needs --checkpoint-key" in cli(*report, "--checkpoint", held).error()
    assert "goes with --checkpoint" in cli(*report, "--checkpoint-key", xa.jwks).error()
    missing = tmp_path / "missing.checkpoint"
    assert (
        "checkpoint file"
        in cli(*report, "--checkpoint", missing, "--checkpoint-key", xa.jwks).error()
    )


# -- finding the log ------------------------------------------------------------------------


def test_a_missing_database_is_not_created(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for command in ("verify", "report"):
        assert "there is no database" in cli("audit", command, "--db", missing).error()
    assert "there is no database" in cli("audit", "prove", "--db", missing, "--index", "0").error()
    assert not missing.exists()


def test_a_database_without_a_log(cli: Cli, store_factory: StoreFactory) -> None:
    store_factory()  # creates the (empty) database
    message = cli("audit", "verify", "--db", store_factory.location).error()
    assert "holds no audit log" in message
    assert AuditLog.stored_origin(store_factory()) is None


def test_another_origin_is_refused(cli: Cli, db: str) -> None:
    message = cli("audit", "verify", "--db", db, "--origin", "safeshare.example/XB-PROS/audit")
    assert "holds the audit log" in message.error()


def test_help_lists_the_subcommands(cli: Cli) -> None:
    result = cli("audit", "--help")
    assert result.code == 0
    for command in ("verify", "checkpoint", "prove", "witness", "report"):
        assert command in result.out
