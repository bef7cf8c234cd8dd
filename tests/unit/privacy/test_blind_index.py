"""The blind index: normalization, tokens, the indexed audit log and the recorded DPO lookup.

Every test that touches the database runs on SQLite and PostgreSQL (``store_factory``).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry, encode
from safeshare.audit.log import AUDIT_SCHEMA, AUDIT_SUBJECTS_SCHEMA, AuditLog
from safeshare.audit.merkle import leaf_hash
from safeshare.audit.recorder import AuditLogRecorder, MemoryRecorder
from safeshare.errors import AuditIntegrityError, PolicyError, StorageError, UsageError
from safeshare.keys import SigningKey
from safeshare.privacy.blind_index import (
    LOOKUP_PURPOSE,
    SUBJECT_KINDS,
    SubjectIndex,
    normalize,
    subject_token,
    subject_tokens,
)
from safeshare.privacy.secret import PrivacySecret
from safeshare.storage import Schema, Store
from tests.pg import StoreFactory

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
XA: Final = "XA-NPOL"
ORIGIN: Final = agency_log_origin(XA, network="safeshare.example")
SECRET: Final = PrivacySecret(bytes(range(32)))
PHONE: Final = "+99 555 0100"
EMAIL: Final = "Alex.Example@Mail.Example"
DPO: Final = "data protection officer 3"

# -- normalization ---------------------------------------------------------------------------

SAME: Final[list[tuple[str, list[str], str]]] = [
    ("phone", ["+99 555 0100", "0099 555 0100", "+99-555-01.00", "+99 (555) 0100"], "+995550100"),
    ("phone", ["555 0100", "555-01 00", "(555) 0100"], "5550100"),  # national: no '+'
    (
        "email",
        [" Alex.Example@Mail.Example ", "alex.example@mail.example"],
        "alex.example@mail.example",
    ),
    ("passport", ["ab 123-456", "AB123456", "ab/123.456"], "AB123456"),
    ("iban", ["de89 3704 0044 0532 0130 00", "DE89370400440532013000"], "DE89370400440532013000"),
    (
        "name_dob",
        ["Alex  EXAMPLE|1990-01-01", "alex example 1990-01-01", " ALEX EXAMPLE | 1990-01-01"],
        "alex example|1990-01-01",
    ),
    (
        "name_dob",
        ["STRASSE Müller|1980-02-29", "straße müller|1980-02-29"],
        "strasse müller|1980-02-29",
    ),
    ("ip", ["198.51.100.23", " 198.51.100.23 ", "::ffff:198.51.100.23"], "198.51.100.23"),
    ("ip", ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"], "2001:db8::1"),
    ("ip", ["fe80::1", "fe80::1%eth0", " FE80:0::1%3 ", "fe80::1%br-lan.10_a~"], "fe80::1"),
    ("ip", ["::ffff:198.51.100.23%eth0", "198.51.100.23"], "198.51.100.23"),
]


@pytest.mark.parametrize(("kind", "spellings", "expected"), SAME, ids=[s[0] for s in SAME])
def test_spellings_of_one_identifier_normalize_alike(
    kind: str, spellings: list[str], expected: str
) -> None:
    assert {normalize(kind, s) for s in spellings} == {expected}
    assert len({subject_token(SECRET, kind, s) for s in spellings}) == 1


BAD: Final[list[tuple[str, str]]] = [
    ("phone", "+12"),
    ("phone", "+1234567890123456"),  # 16 digits
    ("phone", "+99 555 O100"),  # a letter O
    ("email", "no-at-sign"),
    ("email", "@mail.example"),
    ("email", "a b@mail.example"),
    ("email", "alex@example@mail.example"),
    ("email", "alex.example@@mail.example"),
    ("email", '"a@b"@mail.example'),
    ("passport", "---"),
    ("iban", "DE8937"[:3]),
    ("iban", "1234567"),
    ("name_dob", "Alex Example"),
    ("name_dob", "|1990-01-01"),
    ("name_dob", "Alex|1990-02-30"),
    ("name_dob", "Alex|01.01.1990"),
    ("ip", "198.51.100.256"),
    ("ip", "example.org"),
    ("ip", "198.51.100.23%eth0"),  # a zone index belongs to IPv6 only
    ("ip", "fe80::1%"),
    ("ip", "fe80::1%eth 0"),
    ("ip", "fe80::1%eth0%1"),
    ("ip", "fe80::1%eth/0"),
    ("phone", ""),
    ("phone", "+1" + "0" * 2000),
]


@pytest.mark.parametrize(("kind", "value"), BAD, ids=[f"{k}-{v[:12]}" for k, v in BAD])
def test_values_that_are_not_identifiers_of_the_kind_are_refused(kind: str, value: str) -> None:
    with pytest.raises(UsageError) as info:
        normalize(kind, value)
    if len(value) > 3:
        assert value not in info.value.message  # the identifier is never echoed


@pytest.mark.parametrize("kind", ["", "PHONE", "msisdn", "name", None, 5])
def test_an_unknown_kind_is_a_usage_error(kind: Any) -> None:
    with pytest.raises(UsageError, match="unknown identifier kind"):
        normalize(kind, "x")


def test_kinds() -> None:
    assert SUBJECT_KINDS == ("phone", "email", "passport", "iban", "name_dob", "ip")


def test_a_national_number_is_another_identifier() -> None:
    assert subject_token(SECRET, "phone", "555 0100") != subject_token(SECRET, "phone", PHONE)


def test_kind_separates_tokens() -> None:
    """The same normalized text under two kinds gives two tokens."""
    assert SECRET.blind_token("passport", "AB123") != SECRET.blind_token("iban", "AB123")


def test_subject_tokens_are_sorted_unique_and_entry_ready() -> None:
    tokens = subject_tokens(
        SECRET,
        [("phone", PHONE), ("phone", "0099 555 0100"), ("email", EMAIL), ("ip", "2001:db8::1")],
    )
    assert len(tokens) == 3
    assert list(tokens) == sorted(tokens)
    AuditEntry(  # AuditEntry accepts them as subjects
        action="seal", time=1, actor="a", agency=XA, outcome="success", subjects=tokens
    )
    assert subject_tokens(SECRET, []) == ()


def test_subject_tokens_limit_and_shape() -> None:
    with pytest.raises(UsageError, match="at most 64"):
        subject_tokens(SECRET, [("phone", f"+99 555 {i:04d}") for i in range(65)])
    with pytest.raises(UsageError):
        subject_tokens(SECRET, ("phone", PHONE))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        subject_tokens(SECRET, [("phone",)])  # type: ignore[list-item]
    with pytest.raises(UsageError):
        subject_token(b"secret", "phone", PHONE)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    digits=st.lists(
        st.text(alphabet="0123456789", min_size=6, max_size=12), min_size=2, max_size=2, unique=True
    )
)
def test_different_identifiers_and_secrets_give_different_tokens(digits: list[str]) -> None:
    a, b = (subject_token(SECRET, "phone", "+" + d) for d in digits)
    assert a != b
    other = PrivacySecret(bytes(32))
    assert subject_token(other, "phone", "+" + digits[0]) != a


# -- the indexed audit log -----------------------------------------------------------------------


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def log(store: Store) -> AuditLog:
    return AuditLog(store, origin=ORIGIN)


def entry(n: int, *subjects: tuple[str, str], action: Any = "seal") -> AuditEntry:
    return AuditEntry(
        action=action,
        time=1_795_000_000 + n,
        actor="officer 7",
        agency=XA,
        counterparty="XB-PROS",
        jti=f"jti-{n:08d}",
        purpose="criminal_investigation",
        outcome="success",
        subjects=subject_tokens(SECRET, subjects),
    )


def fill(log: AuditLog) -> None:
    log.append(entry(0, ("phone", PHONE), ("email", EMAIL)))
    log.append(entry(1, ("email", "someone.else@mail.example")))
    log.append_many([entry(2), entry(3, ("phone", "0099-555-0100"))])
    log.append(entry(4, ("ip", "198.51.100.23"), action="open"))


def lookup(log: AuditLog, kind: str, value: str, **changes: Any) -> list[tuple[int, AuditEntry]]:
    arguments: dict[str, Any] = {"actor": DPO, "recorder": AuditLogRecorder(log), "now": NOW}
    arguments.update(changes)
    return SubjectIndex().lookup(log, SECRET, kind, value, **arguments)


def test_the_subject_schema_is_its_own_component(store: Store, log: AuditLog) -> None:
    with store.transaction(write=False) as cur:
        rows = cur.execute(
            "SELECT component, version FROM safeshare_schema WHERE component LIKE 'audit%' "
            "ORDER BY component"
        )
    assert rows == [("audit", AUDIT_SCHEMA.version), ("audit_subjects", 1)]
    assert AUDIT_SUBJECTS_SCHEMA.version == 1


def test_appends_index_their_subjects_in_the_same_transaction(store: Store, log: AuditLog) -> None:
    fill(log)
    with store.transaction(write=False) as cur:
        rows = cur.execute("SELECT token, idx FROM safeshare_audit_subjects ORDER BY idx, token")
    expected = sorted((token, i) for i, e in log.entries() for token in e.subjects)
    assert sorted((str(t), int(i)) for t, i in rows) == expected
    assert len(rows) == 5


def test_lookup_finds_every_entry_of_the_subject(log: AuditLog) -> None:
    fill(log)
    found = lookup(log, "phone", "+99 (555) 0100")
    assert [i for i, _ in found] == [0, 3]
    assert [e.jti for _, e in found] == ["jti-00000000", "jti-00000003"]
    assert [i for i, _ in lookup(log, "email", "alex.example@mail.example")] == [0]
    assert [i for i, _ in lookup(log, "ip", "::ffff:198.51.100.23")] == [4]
    assert lookup(log, "passport", "ZZ999") == []


def test_the_lookup_is_recorded_with_the_token_before_the_answer(log: AuditLog) -> None:
    fill(log)
    size = log.size()
    found = lookup(log, "phone", PHONE, reason="access request AR-2026-17")
    assert log.size() == size + 1
    recorded = log.entry(size)
    assert recorded.action == "subject_lookup"
    assert recorded.outcome == "success"
    assert recorded.actor == DPO
    assert recorded.purpose == LOOKUP_PURPOSE
    assert recorded.subjects == (subject_token(SECRET, "phone", PHONE),)
    assert recorded.reason is not None
    assert "AR-2026-17" in recorded.reason
    assert PHONE not in recorded.reason
    assert size not in [i for i, _ in found]  # the lookup's own entry is not an answer
    # a later lookup does not list the earlier one as if it were a transfer ...
    again = lookup(log, "phone", PHONE)
    assert [i for i, _ in again] == [0, 3]
    # ... unless asked to: the subject's own access history
    history = lookup(log, "phone", PHONE, include_lookups=True)
    assert [i for i, _ in history] == [0, 3, size, size + 1]
    assert [e.action for _, e in history][2:] == ["subject_lookup", "subject_lookup"]


@pytest.mark.parametrize("scan", [False, True], ids=["index", "scan"])
def test_earlier_lookups_allowed_or_refused_are_left_out(log: AuditLog, scan: bool) -> None:
    fill(log)
    with pytest.raises(PolicyError):
        lookup(log, "phone", PHONE, purpose="criminal_investigation")  # refused, recorded
    lookup(log, "phone", "0099-555-0100")  # another spelling: the same token
    lookup(log, "email", EMAIL)  # another subject
    size = log.size()
    assert [i for i, _ in lookup(log, "phone", PHONE, scan=scan)] == [0, 3]
    found = lookup(log, "phone", PHONE, scan=scan, include_lookups=True)
    assert [i for i, _ in found] == [0, 3, size - 3, size - 2, size]
    assert [e.outcome for _, e in found][2:] == ["denied", "success", "success"]
    with pytest.raises(UsageError, match="include_lookups"):
        lookup(log, "phone", PHONE, include_lookups="yes")


def test_a_lookup_for_another_purpose_is_refused_and_recorded(log: AuditLog) -> None:
    fill(log)
    size = log.size()
    with pytest.raises(PolicyError, match=LOOKUP_PURPOSE):
        lookup(log, "phone", PHONE, purpose="criminal_investigation")
    recorded = log.entry(size)
    assert (recorded.action, recorded.outcome) == ("subject_lookup", "denied")
    assert recorded.purpose == "criminal_investigation"
    assert recorded.subjects == (subject_token(SECRET, "phone", PHONE),)


@pytest.mark.parametrize(
    "changes",
    [
        {"actor": ""},
        {"actor": "   "},
        {"actor": "x\ny"},
        {"recorder": object()},
        {"reason": ""},
        {"reason": "r" * 201},
        {"agency": "not an agency"},
        {"purpose": None},
    ],
    ids=repr,
)
def test_lookup_checks_its_arguments(log: AuditLog, changes: dict[str, Any]) -> None:
    fill(log)
    size = log.size()
    with pytest.raises(UsageError):
        lookup(log, "phone", PHONE, **changes)
    with pytest.raises(UsageError):
        lookup(log, "phone", "555 O100")  # a letter O: not a phone number
    with pytest.raises(UsageError):
        SubjectIndex().lookup("log", SECRET, "phone", PHONE, actor=DPO, recorder=MemoryRecorder())  # type: ignore[arg-type]
    assert log.size() == size  # nothing recorded for a usage error


def test_no_answer_without_a_recorded_lookup(log: AuditLog) -> None:
    class Failing:
        def record(self, entry: AuditEntry) -> int:
            raise StorageError("down")

    fill(log)
    with pytest.raises(StorageError):
        lookup(log, "phone", PHONE, recorder=Failing())


def test_entries_written_before_the_index_existed_are_found_by_a_scan(
    store: Store, log: AuditLog
) -> None:
    fill(log)
    # Simulate a log upgraded after these entries: no index rows, the index starts at 5.
    with store.transaction(write=True) as cur:
        cur.execute("DELETE FROM safeshare_audit_subjects")
        cur.execute("UPDATE safeshare_audit_subjects_since SET since = 5")
    log.append(entry(5, ("phone", PHONE)))
    assert [i for i, _ in lookup(log, "phone", PHONE)] == [0, 3, 5]


def test_an_upgraded_database_indexes_from_its_size(store_factory: StoreFactory) -> None:
    store = store_factory()
    # a log of the previous version: the audit tables only, with entries
    store.ensure_schema(AUDIT_SCHEMA)
    with store.transaction(write=True) as cur:
        cur.execute(
            "INSERT INTO safeshare_audit_meta (name, value) VALUES ('origin', ?)", (ORIGIN,)
        )
    log = AuditLog(store, origin=ORIGIN)
    with store.transaction(write=False) as cur:
        assert cur.execute("SELECT since FROM safeshare_audit_subjects_since") == [(0,)]
    log.append(entry(0, ("phone", PHONE)))
    assert [i for i, _ in lookup(log, "phone", PHONE)] == [0]


def test_a_version_2_log_with_entries_gets_the_index_started_at_its_size(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    log = AuditLog(store, origin=ORIGIN)
    fill(log)
    # undo the subject component as if this log were written by the previous version
    with store.transaction(write=True) as cur:
        cur.execute("DROP TABLE safeshare_audit_subjects")
        cur.execute("DROP TABLE safeshare_audit_subjects_since")
        cur.execute("DELETE FROM safeshare_schema WHERE component = 'audit_subjects'")
    upgraded = AuditLog(store_factory(), origin=ORIGIN)
    with upgraded.store.transaction(write=False) as cur:
        assert cur.execute("SELECT since FROM safeshare_audit_subjects_since") == [(5,)]
        assert cur.execute("SELECT count(*) FROM safeshare_audit_subjects") == [(0,)]
    assert [i for i, _ in lookup(upgraded, "phone", PHONE)] == [0, 3]


def test_a_planted_index_row_is_detected(store: Store, log: AuditLog) -> None:
    fill(log)
    token = subject_token(SECRET, "phone", PHONE)
    with store.transaction(write=True) as cur:
        cur.execute("INSERT INTO safeshare_audit_subjects (token, idx) VALUES (?, 1)", (token,))
    with pytest.raises(AuditIntegrityError, match="does not hold"):
        log.subject_entries(token)
    assert [i for i, _ in log.subject_entries(token, scan=True)] == [0, 3]


def test_an_index_row_for_a_missing_entry_is_detected(store: Store, log: AuditLog) -> None:
    fill(log)
    token = subject_token(SECRET, "phone", PHONE)
    with store.transaction(write=True) as cur:
        cur.execute("DELETE FROM safeshare_audit_entries WHERE idx = 3")
    with pytest.raises(AuditIntegrityError, match="not stored"):
        log.subject_entries(token)


def test_a_deleted_index_row_is_found_by_a_full_scan(store: Store, log: AuditLog) -> None:
    fill(log)
    token = subject_token(SECRET, "phone", PHONE)
    with store.transaction(write=True) as cur:
        cur.execute("DELETE FROM safeshare_audit_subjects WHERE idx = 3")
    assert [i for i, _ in log.subject_entries(token)] == [0]
    assert [i for i, _ in log.subject_entries(token, scan=True)] == [0, 3]
    assert [i for i, _ in lookup(log, "phone", PHONE, scan=True)] == [0, 3]


def test_a_changed_entry_is_detected(store: Store, log: AuditLog) -> None:
    fill(log)
    token = subject_token(SECRET, "phone", PHONE)
    with store.transaction(write=True) as cur:
        cur.execute("UPDATE safeshare_audit_entries SET leaf = ? WHERE idx = 3", (bytes(32),))
    with pytest.raises(AuditIntegrityError, match="leaf hash"):
        log.subject_entries(token)


def rewrite_entry(store: Store, index: int, forged: AuditEntry) -> None:
    """An insider's edit: the entry's bytes and the leaf hash stored next to them, not the tree."""
    data = encode(forged)
    with store.transaction(write=True) as cur:
        cur.execute(
            "UPDATE safeshare_audit_entries SET data = ?, leaf = ? WHERE idx = ?",
            (data, leaf_hash(data), index),
        )


@pytest.mark.parametrize("scan", [False, True], ids=["index", "scan"])
@pytest.mark.parametrize("what", ["altered", "subject-removed"])
def test_an_entry_rewritten_with_its_leaf_hash_is_not_an_answer(
    store: Store, log: AuditLog, scan: bool, what: str
) -> None:
    """The data subject is never answered with an altered entry, nor one quietly left out."""
    fill(log)
    sign_key = SigningKey.generate()
    log.sign_checkpoint(None, sign_key)
    assert [i for i, _ in lookup(log, "phone", PHONE, scan=scan)] == [0, 3]
    honest = log.entry(3)
    if what == "altered":
        forged = AuditEntry(**{**msgspec.structs.asdict(honest), "counterparty": "XC-CUST"})
    else:  # the subject's token removed from the entry (index row left or deleted)
        forged = AuditEntry(**{**msgspec.structs.asdict(honest), "subjects": ()})
    rewrite_entry(store, 3, forged)
    size = log.size()
    with pytest.raises(AuditIntegrityError, match="first bad index 3"):
        lookup(log, "phone", PHONE, scan=scan)
    assert log.size() == size + 1  # the lookup itself was recorded before the refusal
    with pytest.raises(AuditIntegrityError, match="first bad index 3"):
        log.subject_entries(subject_token(SECRET, "phone", PHONE), scan=scan)


def test_a_missing_index_start_is_detected(store: Store, log: AuditLog) -> None:
    fill(log)
    with store.transaction(write=True) as cur:
        cur.execute("DELETE FROM safeshare_audit_subjects_since")
    token = subject_token(SECRET, "phone", PHONE)
    with pytest.raises(AuditIntegrityError, match="start"):
        log.subject_entries(token)
    assert [i for i, _ in log.subject_entries(token, scan=True)] == [0, 3]


def test_subject_entries_checks_its_arguments(log: AuditLog) -> None:
    for bad in ("short", "x" * 129, "has space in it!!", 5):
        with pytest.raises(UsageError):
            log.subject_entries(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        log.subject_entries("A" * 43, stop=1)  # beyond the (empty) log
    with pytest.raises(UsageError):
        log.subject_entries("A" * 43, scan="yes")  # type: ignore[arg-type]


def test_a_refused_batch_indexes_nothing(store: Store, log: AuditLog) -> None:
    def refuse(cur: object) -> None:
        raise PolicyError("no")

    with pytest.raises(PolicyError):
        log.append(entry(0, ("phone", PHONE)), before=refuse)
    with store.transaction(write=False) as cur:
        assert cur.execute("SELECT count(*) FROM safeshare_audit_subjects") == [(0,)]
    log.append(entry(0, ("phone", PHONE)))
    assert [i for i, _ in log.subject_entries(subject_token(SECRET, "phone", PHONE))] == [0]


def test_verify_is_unaffected_by_the_index(log: AuditLog) -> None:
    fill(log)
    assert log.verify() == 5


# -- no identifier in clear in any store or log ------------------------------------------------


def _spellings(value: str) -> list[bytes]:
    texts = {value, value.lower(), value.upper(), value.replace(" ", "")}
    for kind in SUBJECT_KINDS:
        with contextlib.suppress(UsageError):
            texts.add(normalize(kind, value))
    out: list[bytes] = []
    for text in texts:
        out += [
            text.encode("utf-8"),
            text.encode("utf-16-le"),
            strictjson.dumps(text),
            b64u_encode(text.encode()).encode(),
            text.encode().hex().encode(),
        ]
    return out


def _database_bytes(store_factory: StoreFactory, stores: list[Store], tmp_path: Path) -> bytes:
    if store_factory.dialect == "sqlite":
        return b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())
    chunks: list[bytes] = []
    with stores[0].transaction(write=False) as cur:
        tables = [
            str(r[0])
            for r in cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        for table in tables:
            for row in cur.execute(f"SELECT * FROM {table}"):  # noqa: S608 - catalog names
                for column in row:
                    if isinstance(column, bytes | bytearray | memoryview):
                        chunks.append(bytes(column))
                    else:
                        chunks.append(str(column).encode("utf-8"))
    assert "safeshare_audit_subjects" in tables
    return b"\x00".join(chunks)


def test_the_blind_index_answers_without_any_store_holding_the_identifier(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    identifiers = [
        ("phone", PHONE),
        ("email", EMAIL),
        ("passport", "AB 123-456"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("name_dob", "Alex Example|1990-01-01"),
        ("ip", "198.51.100.23"),
    ]
    stores = [store_factory()]
    log = AuditLog(stores[0], origin=ORIGIN)
    for n, pair in enumerate(identifiers):
        log.append(entry(n, pair))
    log.append(entry(len(identifiers), *identifiers))
    for kind, value in identifiers:
        found = lookup(log, kind, value)
        assert [i for i, _ in found] == [identifiers.index((kind, value)), len(identifiers)]
    with pytest.raises(PolicyError):
        lookup(log, "phone", PHONE, purpose="intelligence_analysis")

    blobs = _database_bytes(store_factory, stores, tmp_path)
    entries = b"\n".join(encode(e) for _, e in log.entries())
    for _, value in identifiers:
        for spelling in _spellings(value):
            assert spelling not in blobs, spelling
            assert spelling not in entries, spelling


def test_sqlite_files_only(tmp_path: Path) -> None:
    """The same check byte by byte on the SQLite files, after the WAL is checkpointed."""
    from safeshare.storage import open_store

    with open_store(tmp_path / "audit.db") as store:
        log = AuditLog(store, origin=ORIGIN)
        log.append(entry(0, ("phone", PHONE)))
        assert [i for i, _ in lookup(log, "phone", PHONE)] == [0]
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert len(data) > 0
    for spelling in _spellings(PHONE):
        assert spelling not in data


def test_schema_objects() -> None:
    assert isinstance(AUDIT_SUBJECTS_SCHEMA, Schema)
    for sql in AUDIT_SUBJECTS_SCHEMA.migrations[0].postgresql:
        assert "BLOB" not in sql
        assert "INTEGER PRIMARY KEY" not in sql
