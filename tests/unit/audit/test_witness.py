"""Witnesses: cosignature format, the witness's checks and evidence, quorum verification.

The witness tests run once per storage back end (``store_factory``). The logs
here are test doubles built on the independent RFC 9162 reference tree in
``test_witness_rfc9162.py``; proof *verification* is safeshare's.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from safeshare.audit.checkpoint import EMPTY_ROOT, Checkpoint, sign_checkpoint
from safeshare.audit.note import NoteVerifier, open_note, sign_note, signature_line
from safeshare.audit.witness import (
    CosignatureVerifier,
    Witness,
    cosignature_message,
    sign_cosignature,
    verify_cosigned,
)
from safeshare.errors import (
    AuditIntegrityError,
    MalformedInputError,
    OversizedInputError,
    SafeShareError,
    StorageError,
    UsageError,
    VerificationError,
)
from safeshare.keys import SigningKey
from safeshare.storage import Cursor, Row, SQLParam, Store
from tests.pg import StoreFactory
from tests.unit.audit.test_witness_rfc9162 import leaves, mth, proof

T0: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ORIGIN: Final = "safeshare.example/XA-NPOL/audit"
WITNESS: Final = "oversight.xa.example/witness"

# tlog-cosignature §"Ed25519 signed message": the example message and its checkpoint.
SPEC_BODY: Final = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_MESSAGE: Final = "cosignature/v1\ntime 1679315147\n" + SPEC_BODY
SPEC_COSIGNATURE: Final = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="


class FakeLog:
    """A log double: entries, a key, signed checkpoints and consistency proofs."""

    def __init__(self, key: SigningKey, *, tag: bytes = b"entry", origin: str = ORIGIN) -> None:
        self.key = key
        self.origin = origin
        self.tree = leaves(64, tag)

    def checkpoint(self, size: int) -> Checkpoint:
        return Checkpoint(self.origin, size, mth(self.tree[:size]))

    def note(self, size: int) -> str:
        return sign_checkpoint(self.checkpoint(size), self.origin, self.key)

    def proof(self, old: int, new: int) -> list[bytes]:
        return [] if old in (0, new) else proof(old, self.tree[:new])


@pytest.fixture(scope="module")
def log_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def log_verifier(log_key: SigningKey) -> NoteVerifier:
    return NoteVerifier(ORIGIN, log_key.public)


@pytest.fixture(scope="module")
def witness_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def log(log_key: SigningKey) -> FakeLog:
    return FakeLog(log_key)


@pytest.fixture
def forked(log_key: SigningKey) -> FakeLog:
    """The same log key signing a different history."""
    return FakeLog(log_key, tag=b"rewritten")


@pytest.fixture
def witness(store_factory: StoreFactory, witness_key: SigningKey) -> Witness:
    return Witness(store_factory(), WITNESS, witness_key)


Cosign = Callable[..., str]


@pytest.fixture
def cosign(witness: Witness, log: FakeLog, log_verifier: NoteVerifier) -> Cosign:
    """Cosign size *new* of *log* (default: the honest one) with a proof from *old*."""

    def run(new: int, old: int = 0, of: FakeLog | None = None, at: datetime = T0) -> str:
        source = of or log
        return witness.cosign(
            source.note(new), source.proof(old, new), log_verifier=log_verifier, now=at
        )

    return run


# -- cosignature format ------------------------------------------------------------------


def test_cosignature_derived_by_hand_from_the_spec(witness_key: SigningKey) -> None:
    """tlog-cosignature: key ID over name || 0x0A || 0x04 || key; 8-byte big-endian
    timestamp then the Ed25519 signature over the spec's example message."""
    assert cosignature_message(SPEC_BODY, 1679315147) == SPEC_MESSAGE.encode()
    line = sign_cosignature(SPEC_BODY, "witness.example.com/w1", witness_key, timestamp=1679315147)
    prefix = "\u2014 witness.example.com/w1 "
    assert line.startswith(prefix)
    assert line.endswith("\n")
    blob = base64.b64decode(line[len(prefix) : -1], validate=True)
    assert len(blob) == 4 + 8 + 64
    pub = witness_key.public.raw
    assert blob[:4] == hashlib.sha256(b"witness.example.com/w1\n\x04" + pub).digest()[:4]
    assert blob[4:12] == (1679315147).to_bytes(8, "big")
    Ed25519PublicKey.from_public_bytes(pub).verify(blob[12:], SPEC_MESSAGE.encode())


def test_spec_example_cosignature_decodes() -> None:
    blob = base64.b64decode(SPEC_COSIGNATURE)
    assert len(blob) == 76
    assert CosignatureVerifier.timestamp(blob[4:]) == 1679315147  # the example's "time" line


def test_cosignature_verifier_key_string(witness_key: SigningKey) -> None:
    verifier = CosignatureVerifier(WITNESS, witness_key.public)
    name, key_id, material = verifier.vkey.split("+", 2)
    assert name == WITNESS
    assert bytes.fromhex(key_id) == verifier.key_id
    assert base64.b64decode(material) == b"\x04" + witness_key.public.raw
    assert CosignatureVerifier.from_vkey(verifier.vkey) == verifier
    note_key = NoteVerifier(WITNESS, witness_key.public)
    assert note_key.key_id != verifier.key_id
    with pytest.raises(MalformedInputError, match="type 0x01"):
        CosignatureVerifier.from_vkey(note_key.vkey)
    with pytest.raises(MalformedInputError, match="type 0x04"):
        NoteVerifier.from_vkey(verifier.vkey)


@pytest.mark.parametrize("timestamp", [-1, 2**63, True, 1.5])
def test_cosignature_timestamp_range(witness_key: SigningKey, timestamp: object) -> None:
    with pytest.raises(UsageError):
        sign_cosignature(SPEC_BODY, WITNESS, witness_key, timestamp=timestamp)  # type: ignore[arg-type]


def test_cosignature_timestamp_above_2_63_is_refused(witness_key: SigningKey) -> None:
    verifier = CosignatureVerifier(WITNESS, witness_key.public)
    message = f"cosignature/v1\ntime {2**63}\n{SPEC_BODY}".encode()
    blob = (2**63).to_bytes(8, "big") + witness_key.sign(message)
    with pytest.raises(VerificationError, match="2\\^63"):
        verifier.verify(SPEC_BODY.encode(), blob)


def test_cosignature_and_note_signature_do_not_mix(
    witness_key: SigningKey, log: FakeLog, log_verifier: NoteVerifier
) -> None:
    cp_note = log.note(3)
    cosig = sign_cosignature(log.checkpoint(3).body(), WITNESS, witness_key, timestamp=1)
    as_note_key = NoteVerifier(WITNESS, witness_key.public)
    with pytest.raises(VerificationError, match="not signed by any trusted key"):
        open_note(log.checkpoint(3).body() + "\n" + cosig, [as_note_key])
    plain = sign_note(log.checkpoint(3).body(), WITNESS, witness_key)
    with pytest.raises(VerificationError, match="0 trusted witness"):
        verify_cosigned(
            cp_note + plain[plain.rindex("\n\n") + 2 :],
            log_verifier,
            [CosignatureVerifier(WITNESS, witness_key.public)],
            1,
            now=T0,
        )


def test_cosignature_with_wrong_length(witness_key: SigningKey) -> None:
    verifier = CosignatureVerifier(WITNESS, witness_key.public)
    with pytest.raises(VerificationError, match="8-byte timestamp"):
        verifier.verify(SPEC_BODY.encode(), bytes(64))
    with pytest.raises(VerificationError):
        CosignatureVerifier.timestamp(bytes(71))


def test_sign_cosignature_checks_inputs(witness_key: SigningKey) -> None:
    with pytest.raises(UsageError):
        sign_cosignature("no newline", WITNESS, witness_key, timestamp=1)
    with pytest.raises(UsageError):
        sign_cosignature(SPEC_BODY, "bad name", witness_key, timestamp=1)
    with pytest.raises(UsageError):
        sign_cosignature(SPEC_BODY, WITNESS, witness_key.public, timestamp=1)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        CosignatureVerifier(WITNESS, witness_key)  # type: ignore[arg-type]
    verifier = CosignatureVerifier(WITNESS, witness_key.public)
    assert repr(verifier).startswith("CosignatureVerifier(")
    assert len({verifier, CosignatureVerifier(WITNESS, witness_key.public)}) == 1


# -- the witness ---------------------------------------------------------------------------


def test_first_sight_is_accepted_without_proof(
    witness: Witness, log: FakeLog, log_verifier: NoteVerifier, cosign: Cosign
) -> None:
    assert witness.latest(ORIGIN) is None
    line = cosign(5)
    assert line.startswith(f"\u2014 {WITNESS} ")
    assert line.endswith("\n")
    cosigned = log.note(5) + line
    assert verify_cosigned(cosigned, log_verifier, [witness.verifier], 1, now=T0) == log.checkpoint(
        5
    )
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert (latest.checkpoint, latest.note, latest.cosigned_at) == (
        log.checkpoint(5),
        log.note(5),
        T0,
    )
    assert witness.evidence() == []


def test_growth_with_valid_proofs(witness: Witness, log: FakeLog, cosign: Cosign) -> None:
    cosign(3)
    cosign(8, old=3, at=T0 + timedelta(minutes=1))
    cosign(13, old=8, at=T0 + timedelta(minutes=2))
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint == log.checkpoint(13)
    assert latest.cosigned_at == T0 + timedelta(minutes=2)
    assert witness.evidence() == []


def test_same_checkpoint_is_cosigned_again(witness: Witness, cosign: Cosign) -> None:
    first = cosign(4)
    again = cosign(4, old=4, at=T0 + timedelta(seconds=30))
    assert first != again  # a fresh timestamp
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.cosigned_at == T0


def test_fork_is_refused_and_kept_as_evidence(
    witness: Witness, log: FakeLog, forked: FakeLog, log_verifier: NoteVerifier, cosign: Cosign
) -> None:
    cosign(5)
    with pytest.raises(AuditIntegrityError, match="fork") as info:
        cosign(5, old=5, of=forked, at=T0 + timedelta(hours=1))
    assert info.value.hint is not None
    assert "evidence" in info.value.hint
    [evidence] = witness.evidence()
    assert evidence.kind == "fork"
    assert evidence.origin == ORIGIN
    assert evidence.detected_at == T0 + timedelta(hours=1)
    assert (evidence.previous, evidence.submitted) == (log.checkpoint(5), forked.checkpoint(5))
    assert (evidence.previous_note, evidence.submitted_note) == (log.note(5), forked.note(5))
    assert evidence.proof == ()
    assert "fork" in evidence.detail
    # Anyone holding the log's key can check the evidence: both are signed by the log.
    assert open_note(evidence.previous_note, [log_verifier])[0] == log.checkpoint(5).body()
    assert open_note(evidence.submitted_note, [log_verifier])[0] == forked.checkpoint(5).body()
    # The state is unchanged and the honest checkpoint is still cosigned.
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint == log.checkpoint(5)
    cosign(5, old=5)
    # The same fork presented again is refused again, and kept once.
    with pytest.raises(AuditIntegrityError, match="fork"):
        cosign(5, old=5, of=forked)
    assert len(witness.evidence()) == 1


def test_rollback_is_refused_and_kept_as_evidence(
    witness: Witness, log: FakeLog, cosign: Cosign
) -> None:
    cosign(8)
    with pytest.raises(AuditIntegrityError, match="rollback"):
        cosign(5)
    [evidence] = witness.evidence()
    assert evidence.kind == "rollback"
    assert (evidence.previous, evidence.submitted) == (log.checkpoint(8), log.checkpoint(5))
    assert evidence.submitted_note == log.note(5)
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint.size == 8


def test_inconsistent_growth_is_refused_and_kept(
    witness: Witness, log: FakeLog, forked: FakeLog, cosign: Cosign
) -> None:
    cosign(5)
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        cosign(9, old=5, of=forked)  # a valid proof, but of another history
    [evidence] = witness.evidence()
    assert evidence.kind == "inconsistent"
    assert evidence.previous == log.checkpoint(5)
    assert evidence.submitted == forked.checkpoint(9)
    assert list(evidence.proof) == forked.proof(5, 9)
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint.size == 5


@pytest.mark.parametrize(
    "bad_proof",
    [
        lambda p: p[:-1],  # a node missing
        lambda p: [*p, p[-1]],  # a trailing node
        lambda p: [p[0], *p],  # an inserted node
        lambda p: [hashlib.sha256(b"x").digest()] * len(p),
        lambda p: [],  # empty between 0 < m < n
    ],
)
def test_bad_proof_is_refused(
    witness: Witness,
    log: FakeLog,
    log_verifier: NoteVerifier,
    cosign: Cosign,
    bad_proof: Callable[[list[bytes]], list[bytes]],
) -> None:
    cosign(5)
    with pytest.raises(AuditIntegrityError):
        witness.cosign(log.note(9), bad_proof(log.proof(5, 9)), log_verifier=log_verifier, now=T0)
    assert [e.kind for e in witness.evidence()] == ["inconsistent"]
    # a valid proof for the same checkpoint is then accepted
    cosign(9, old=5)


def test_proof_from_another_old_size_is_refused(
    witness: Witness, log: FakeLog, cosign: Cosign
) -> None:
    cosign(6)
    with pytest.raises(AuditIntegrityError):
        cosign(10, old=5)


@pytest.mark.parametrize("stored", [None, 0, 4])
def test_proof_must_be_empty_when_nothing_to_prove(
    witness: Witness, log: FakeLog, log_verifier: NoteVerifier, cosign: Cosign, stored: int | None
) -> None:
    if stored is not None:
        cosign(stored)
    size = 4 if stored is None else max(stored, 4)
    with pytest.raises(AuditIntegrityError, match="must be empty"):
        witness.cosign(log.note(size), [log.tree[0]], log_verifier=log_verifier, now=T0)
    assert witness.evidence() == []


def test_empty_tree_then_growth(witness: Witness, log: FakeLog, cosign: Cosign) -> None:
    assert log.checkpoint(0).root_hash == EMPTY_ROOT
    cosign(0)
    cosign(4, old=0)
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint.size == 4


def test_checkpoint_not_signed_by_the_log_changes_nothing(
    witness: Witness, log: FakeLog, log_verifier: NoteVerifier, cosign: Cosign
) -> None:
    cosign(5)
    impostor = FakeLog(SigningKey.generate(), tag=b"impostor")
    with pytest.raises(VerificationError):
        witness.cosign(impostor.note(5), [], log_verifier=log_verifier, now=T0)
    with pytest.raises(VerificationError):
        witness.cosign(impostor.note(3), [], log_verifier=log_verifier, now=T0)
    assert witness.evidence() == []  # no log signature, no evidence
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint == log.checkpoint(5)


def test_origin_must_be_the_log_key_name(witness: Witness, log_key: SigningKey) -> None:
    other = FakeLog(log_key, origin="safeshare.example/XB-PROS/audit")
    note = sign_checkpoint(other.checkpoint(2), ORIGIN, log_key)  # key name != origin
    with pytest.raises(VerificationError, match="XB-PROS"):
        witness.cosign(note, [], log_verifier=NoteVerifier(ORIGIN, log_key.public), now=T0)
    assert witness.latest("safeshare.example/XB-PROS/audit") is None


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ([bytes(32)] * 64, OversizedInputError),
        ([bytes(31)], MalformedInputError),
        ([bytearray(32)], MalformedInputError),
        (bytes(32), MalformedInputError),
        ("proof", MalformedInputError),
        ([base64.b64encode(bytes(32)).decode()], MalformedInputError),
    ],
)
def test_proof_shape(
    witness: Witness, log: FakeLog, log_verifier: NoteVerifier, bad: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        witness.cosign(log.note(4), bad, log_verifier=log_verifier, now=T0)  # type: ignore[arg-type]
    assert witness.latest(ORIGIN) is None


def test_cosign_input_checks(witness: Witness, log: FakeLog, log_verifier: NoteVerifier) -> None:
    with pytest.raises(UsageError):
        witness.cosign(log.note(1), [], log_verifier="key", now=T0)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        witness.cosign(log.note(1), [], log_verifier=log_verifier, now=datetime(2026, 1, 1))
    with pytest.raises(MalformedInputError):
        witness.cosign(b"\xff\xfe", [], log_verifier=log_verifier, now=T0)
    assert witness.cosign(log.note(1).encode(), [], log_verifier=log_verifier, now=T0)


def test_state_survives_a_restart(
    store_factory: StoreFactory,
    witness_key: SigningKey,
    log: FakeLog,
    forked: FakeLog,
    log_verifier: NoteVerifier,
) -> None:
    store = store_factory()
    Witness(store, WITNESS, witness_key).cosign(log.note(7), [], log_verifier=log_verifier, now=T0)
    store.close()
    again = Witness(store_factory(), WITNESS, witness_key)
    with pytest.raises(AuditIntegrityError, match="fork"):
        again.cosign(forked.note(7), [], log_verifier=log_verifier, now=T0)
    assert [e.kind for e in again.evidence()] == ["fork"]


def test_concurrent_cosigns_never_roll_back(
    store_factory: StoreFactory, witness_key: SigningKey, log: FakeLog, log_verifier: NoteVerifier
) -> None:
    """tlog-witness: check and update must be atomic. Eight witnesses on one database
    race to cosign sizes 2..9, each with a proof from size 1: exactly one can win."""
    Witness(store_factory(), WITNESS, witness_key).cosign(
        log.note(1), [], log_verifier=log_verifier, now=T0
    )
    witnesses = [Witness(store_factory(), WITNESS, witness_key) for _ in range(8)]
    barrier = threading.Barrier(len(witnesses))
    results: dict[int, str] = {}

    def attempt(witness: Witness, size: int) -> None:
        barrier.wait()
        try:
            witness.cosign(log.note(size), log.proof(1, size), log_verifier=log_verifier, now=T0)
            results[size] = "cosigned"
        except AuditIntegrityError:
            results[size] = "refused"
        except SafeShareError as exc:  # pragma: no cover - reported by the assertion below
            results[size] = f"error: {exc}"

    threads = [
        threading.Thread(target=attempt, args=(w, size))
        for w, size in zip(witnesses, range(2, 10), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [size for size, outcome in results.items() if outcome == "cosigned"]
    assert len(winners) == 1, results
    assert sorted(results.values()).count("refused") == 7, results
    latest = witnesses[0].latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint.size == winners[0]


def test_concurrent_first_sight_has_one_winner(
    store_factory: StoreFactory, witness_key: SigningKey, log: FakeLog, log_verifier: NoteVerifier
) -> None:
    """Eight witnesses on one database see the log for the first time at once."""
    witnesses = [Witness(store_factory(), WITNESS, witness_key) for _ in range(8)]
    barrier = threading.Barrier(len(witnesses))
    outcomes: dict[int, str] = {}

    def attempt(witness: Witness, size: int) -> None:
        barrier.wait()
        try:
            witness.cosign(log.note(size), [], log_verifier=log_verifier, now=T0)
            outcomes[size] = "cosigned"
        except AuditIntegrityError:
            outcomes[size] = "refused"

    threads = [
        threading.Thread(target=attempt, args=(w, size))
        for w, size in zip(witnesses, range(2, 10), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [size for size, outcome in outcomes.items() if outcome == "cosigned"]
    assert len(winners) == 1, outcomes
    latest = witnesses[0].latest(ORIGIN)
    assert latest is not None
    assert latest.checkpoint.size == winners[0]


class _LostUpdates:
    """A cursor that reports every write as having changed no row."""

    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return 0

    def execute(self, sql: str, params: Sequence[SQLParam] = ()) -> list[Row]:
        return self._cur.execute(sql, params)


@pytest.mark.parametrize("stored", [None, 3])
def test_state_changed_under_the_check_fails_closed(
    store_factory: StoreFactory, log: FakeLog, monkeypatch: pytest.MonkeyPatch, stored: int | None
) -> None:
    log_verifier = NoteVerifier(ORIGIN, log.key.public)
    store = store_factory()
    witness = Witness(store, WITNESS, SigningKey.generate())
    if stored is not None:
        witness.cosign(log.note(stored), [], log_verifier=log_verifier, now=T0)
    real = store.transaction

    @contextmanager
    def lossy(*, write: bool) -> Iterator[Cursor]:
        with real(write=write) as cur:
            yield _LostUpdates(cur)  # type: ignore[misc]

    monkeypatch.setattr(store, "transaction", lossy)
    with pytest.raises(StorageError, match="changed during the check"):
        witness.cosign(log.note(5), log.proof(stored or 0, 5), log_verifier=log_verifier, now=T0)
    monkeypatch.undo()
    latest = witness.latest(ORIGIN)
    assert (latest and latest.checkpoint.size) == stored  # rolled back: nothing changed


def test_evidence_filter_and_limit(
    store_factory: StoreFactory, witness_key: SigningKey, log_key: SigningKey
) -> None:
    witness = Witness(store_factory(), WITNESS, witness_key)
    origins = ["safeshare.example/XA-NPOL/audit", "safeshare.example/XB-PROS/audit"]
    for origin in origins:
        honest, other = FakeLog(log_key, origin=origin), FakeLog(log_key, tag=b"x", origin=origin)
        verifier = NoteVerifier(origin, log_key.public)
        witness.cosign(honest.note(3), [], log_verifier=verifier, now=T0)
        with pytest.raises(AuditIntegrityError):
            witness.cosign(other.note(3), [], log_verifier=verifier, now=T0)
    assert [e.origin for e in witness.evidence()] == origins
    assert [e.origin for e in witness.evidence(origins[1])] == origins[1:]
    assert len(witness.evidence(limit=1)) == 1
    assert witness.evidence("safeshare.example/XC-CUST/audit") == []
    with pytest.raises(UsageError):
        witness.evidence(limit=0)
    with pytest.raises(UsageError):
        witness.latest(42)  # type: ignore[arg-type]


def test_witness_schema_is_registered(witness: Witness, store_factory: StoreFactory) -> None:
    store = store_factory()
    with store.transaction(write=False) as cur:
        rows = cur.execute("SELECT version FROM safeshare_schema WHERE component = ?", ("witness",))
    assert rows == [(1,)]


def test_witness_constructor_checks(store_factory: StoreFactory, witness_key: SigningKey) -> None:
    store = store_factory()
    with pytest.raises(UsageError):
        Witness("store", WITNESS, witness_key)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Witness(store, WITNESS, witness_key.public)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Witness(store, "bad name", witness_key)
    witness = Witness(store, WITNESS, witness_key)
    assert witness.name == WITNESS
    assert CosignatureVerifier.from_vkey(witness.vkey) == witness.verifier
    assert WITNESS in repr(witness)


# -- verify_cosigned: the client's quorum ---------------------------------------------------


@pytest.fixture(scope="module")
def witness_keys() -> list[SigningKey]:
    return [SigningKey.generate() for _ in range(4)]


@pytest.fixture(scope="module")
def witness_verifiers(witness_keys: list[SigningKey]) -> list[CosignatureVerifier]:
    return [CosignatureVerifier(f"w{i}.example", k.public) for i, k in enumerate(witness_keys)]


def cosigned(log: FakeLog, size: int, keys: list[SigningKey], at: datetime = T0) -> str:
    body = log.checkpoint(size).body()
    stamp = int(at.timestamp())
    return log.note(size) + "".join(
        sign_cosignature(body, f"w{i}.example", k, timestamp=stamp) for i, k in enumerate(keys)
    )


def test_quorum_met(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    note = cosigned(log, 6, witness_keys[:3])
    for quorum in (1, 2, 3):
        assert verify_cosigned(
            note, log_verifier, witness_verifiers, quorum, now=T0
        ) == log.checkpoint(6)
    with pytest.raises(VerificationError, match="3 trusted witness\\(es\\); 4 are required"):
        verify_cosigned(note, log_verifier, witness_verifiers, 4, now=T0)


def test_quorum_with_one_forged_cosignature_is_refused(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    """k - 1 valid cosignatures and one forged one (right name and key ID, wrong bytes)."""
    note = cosigned(log, 6, witness_keys[:2])
    forged = signature_line("w2.example", witness_verifiers[2].key_id, bytes(8) + bytes(64))
    with pytest.raises(VerificationError, match=r"w2\.example"):
        verify_cosigned(note + forged, log_verifier, witness_verifiers, 3, now=T0)
    # A cosignature by a key the client does not trust does not count either.
    stranger = sign_cosignature(
        log.checkpoint(6).body(), "w2.example", SigningKey.generate(), timestamp=int(T0.timestamp())
    )
    with pytest.raises(VerificationError, match="2 trusted witness\\(es\\); 3 are required"):
        verify_cosigned(note + stranger, log_verifier, witness_verifiers, 3, now=T0)


def test_cosignature_over_another_checkpoint_is_refused(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    note = cosigned(log, 6, witness_keys[:1])
    moved = log.note(7) + note[note.rindex("\n", 0, -1) + 1 :]  # w0's line on size 7
    with pytest.raises(VerificationError, match=r"w0\.example"):
        verify_cosigned(moved, log_verifier, witness_verifiers, 1, now=T0)


def test_duplicate_cosignatures_count_once(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    note = cosigned(log, 6, witness_keys[:1])
    line = note[note.rindex("\n", 0, -1) + 1 :]
    with pytest.raises(VerificationError, match="1 trusted witness"):
        verify_cosigned(note + line, log_verifier, witness_verifiers, 2, now=T0)


def test_one_witness_with_two_keys_counts_once(
    log: FakeLog, log_verifier: NoteVerifier, witness_keys: list[SigningKey]
) -> None:
    rotated = SigningKey.generate()
    verifiers = [
        CosignatureVerifier("w0.example", witness_keys[0].public),
        CosignatureVerifier("w0.example", rotated.public),
        CosignatureVerifier("w1.example", witness_keys[1].public),
    ]
    body, stamp = log.checkpoint(6).body(), int(T0.timestamp())
    note = (
        log.note(6)
        + sign_cosignature(body, "w0.example", witness_keys[0], timestamp=stamp)
        + sign_cosignature(body, "w0.example", rotated, timestamp=stamp)
    )
    with pytest.raises(VerificationError, match="1 trusted witness"):
        verify_cosigned(note, log_verifier, verifiers, 2, now=T0)
    with pytest.raises(UsageError, match="2 distinct"):
        verify_cosigned(note, log_verifier, verifiers, 3, now=T0)


def test_cosignature_from_the_future_is_not_counted(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    ahead = cosigned(log, 6, witness_keys[:1], at=T0 + timedelta(minutes=10))
    with pytest.raises(VerificationError, match=r"timestamp in the future: w0\.example"):
        verify_cosigned(ahead, log_verifier, witness_verifiers, 1, now=T0)
    assert verify_cosigned(
        ahead, log_verifier, witness_verifiers, 1, now=T0, skew=timedelta(minutes=10)
    )
    # the bound is inclusive: exactly now + skew counts, one second more does not
    edge = cosigned(log, 6, witness_keys[:1], at=T0 + timedelta(minutes=5))
    assert verify_cosigned(edge, log_verifier, witness_verifiers, 1, now=T0)
    late = cosigned(log, 6, witness_keys[:1], at=T0 + timedelta(minutes=5, seconds=1))
    with pytest.raises(VerificationError, match="future"):
        verify_cosigned(late, log_verifier, witness_verifiers, 1, now=T0)


def test_cosigned_note_needs_the_log_signature(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    note = cosigned(log, 6, witness_keys[:2])
    text, rest = note[: note.index("\n\n") + 2], note[note.index("\n\n") + 2 :]
    without_log = text + rest[rest.index("\n") + 1 :]
    with pytest.raises(VerificationError, match="not signed by the log key"):
        verify_cosigned(without_log, log_verifier, witness_verifiers, 1, now=T0)


def test_cosigned_note_of_another_origin(
    log_key: SigningKey,
    witness_keys: list[SigningKey],
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    other = FakeLog(log_key, origin="safeshare.example/XB-PROS/audit")
    note = cosigned(other, 6, witness_keys[:1])
    verifier = NoteVerifier("safeshare.example/XB-PROS/audit", log_key.public)
    assert verify_cosigned(note, verifier, witness_verifiers, 1, now=T0).size == 6
    with pytest.raises(VerificationError, match="not for"):
        verify_cosigned(note, verifier, witness_verifiers, 1, now=T0, origin=ORIGIN)


@pytest.mark.parametrize(
    ("quorum", "message"),
    [(0, "positive"), (True, "positive"), (5, "cannot be met")],
)
def test_verify_cosigned_configuration(
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_verifiers: list[CosignatureVerifier],
    quorum: int,
    message: str,
) -> None:
    with pytest.raises(UsageError, match=message):
        verify_cosigned(log.note(1), log_verifier, witness_verifiers, quorum, now=T0)


def test_verify_cosigned_refuses_odd_verifiers(
    log: FakeLog,
    log_key: SigningKey,
    log_verifier: NoteVerifier,
    witness_verifiers: list[CosignatureVerifier],
) -> None:
    with pytest.raises(UsageError, match="own key"):
        verify_cosigned(
            log.note(1), log_verifier, [CosignatureVerifier("self", log_key.public)], 1, now=T0
        )
    with pytest.raises(UsageError):
        verify_cosigned(log.note(1), log_verifier, [log_verifier], 1, now=T0)  # type: ignore[list-item]
    with pytest.raises(UsageError):
        verify_cosigned(log.note(1), "key", witness_verifiers, 1, now=T0)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="skew"):
        verify_cosigned(
            log.note(1), log_verifier, witness_verifiers, 1, now=T0, skew=timedelta(seconds=-1)
        )


def test_end_to_end_witness_to_client(
    store_factory: StoreFactory,
    log: FakeLog,
    log_verifier: NoteVerifier,
    witness_keys: list[SigningKey],
) -> None:
    """The log asks two witnesses (on separate databases) and a client needs both."""
    stores: list[Store] = [store_factory(), store_factory()]
    witnesses = [
        Witness(store, f"w{i}.example", key)
        for i, (store, key) in enumerate(zip(stores, witness_keys[:2], strict=True))
    ]
    trusted = [CosignatureVerifier.from_vkey(w.vkey) for w in witnesses]
    note = log.note(3)
    for w in witnesses:
        note += w.cosign(log.note(3), [], log_verifier=log_verifier, now=T0)
    assert verify_cosigned(note, log_verifier, trusted, 2, now=T0) == log.checkpoint(3)
    note = log.note(10)
    for w in witnesses:
        note += w.cosign(log.note(10), log.proof(3, 10), log_verifier=log_verifier, now=T0)
    assert verify_cosigned(note, log_verifier, trusted, 2, now=T0) == log.checkpoint(10)
