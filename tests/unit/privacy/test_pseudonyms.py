"""Pseudonyms and the pseudonym vault: stability, unlinkability, recorded re-identification.

Every test that touches the database runs on SQLite and PostgreSQL (``store_factory``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare import _testnet
from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry, encode
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder, MemoryRecorder
from safeshare.envelope import seal
from safeshare.errors import PolicyError, StorageError, UsageError, VerificationError
from safeshare.privacy import pseudonyms
from safeshare.privacy.pseudonyms import (
    PSEUDONYM_VAULT_SCHEMA,
    PseudonymVault,
    VaultEntry,
    is_pseudonym,
)
from safeshare.privacy.schemas import PersonOfInterest
from safeshare.privacy.secret import PrivacySecret
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.storage import Schema, Store, open_store
from tests.pg import StoreFactory
from tests.unit.envelope.test_minimized_seal import POI

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
#: When the test rows' retention ends (iat + 30 days).
KEEP_UNTIL: Final = NOW + timedelta(days=30)
XA: Final = "XA-NPOL"  # the originator
XB: Final = "XB-PROS"  # a recipient
XC: Final = "XC-POL"  # another recipient
CASE: Final = "XA-2026-0042"
OTHER_CASE: Final = "XA-2026-0043"
JTI: Final = "AAAAAAAAAAAAAAAAAAAAAA"
JTI2: Final = "BBBBBBBBBBBBBBBBBBBBBB"
MSISDN: Final = "+99 555 0100"
SECRET: Final = PrivacySecret(bytes(range(32)))
VALUES = st.one_of(
    st.text(min_size=1, max_size=40),
    st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)
AGENCIES = st.sampled_from(["XB-PROS", "XC-POL", "XD-POLICE", "XE-JUST-1"])
CASES = st.text(alphabet="ABCXYZ0123456789-", min_size=1, max_size=16)


def record(
    vault: PseudonymVault,
    value: Any = MSISDN,
    *,
    recipient: str = XB,
    case_ref: str = CASE,
    jti: str = JTI,
    path: str = "/records/0/msisdn",
    purpose: str = "criminal_investigation",
    secret: PrivacySecret = SECRET,
    keep_until: Any = KEEP_UNTIL,
) -> str:
    return vault.pseudonymize(
        secret,
        value,
        issuer=XA,
        recipient=recipient,
        case_ref=case_ref,
        jti=jti,
        path=path,
        purpose=purpose,
        keep_until=keep_until,
        now=NOW,
    )


def resolve(
    vault: PseudonymVault,
    pseudonym: str,
    recorder: MemoryRecorder,
    /,
    **changes: Any,
) -> Any:
    arguments: dict[str, Any] = {
        "requester": XB,
        "case_ref": CASE,
        "purpose": "criminal_investigation",
        "actor": "originator desk 1",
        "recorder": recorder,
        "agency": XA,
        "now": NOW,
    }
    arguments.update(changes)
    secret = arguments.pop("secret", SECRET)
    return vault.resolve(secret, pseudonym, **arguments)


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def vault(store: Store) -> PseudonymVault:
    return PseudonymVault(store)


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


# -- pseudonyms: stable within a domain, unlinkable across domains -------------------------


@settings(max_examples=200, deadline=None)
@given(value=VALUES, recipient=AGENCIES, case_ref=CASES)
def test_pseudonym_is_stable_within_a_domain(value: Any, recipient: str, case_ref: str) -> None:
    first = SECRET.pseudonym(value, issuer=XA, recipient=recipient, case_ref=case_ref)
    assert is_pseudonym(first)
    assert first == SECRET.pseudonym(value, issuer=XA, recipient=recipient, case_ref=case_ref)


@settings(max_examples=200, deadline=None)
@given(value=VALUES, recipients=st.lists(AGENCIES, min_size=2, max_size=2, unique=True))
def test_two_recipients_get_unlinkable_pseudonyms(value: Any, recipients: list[str]) -> None:
    a, b = (SECRET.pseudonym(value, issuer=XA, recipient=r, case_ref=CASE) for r in recipients)
    assert a != b


@settings(max_examples=200, deadline=None)
@given(value=VALUES, cases=st.lists(CASES, min_size=2, max_size=2, unique=True))
def test_two_cases_get_unlinkable_pseudonyms(value: Any, cases: list[str]) -> None:
    a, b = (SECRET.pseudonym(value, issuer=XA, recipient=XB, case_ref=c) for c in cases)
    assert a != b


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=2, unique=True))
def test_two_values_in_one_domain_get_two_pseudonyms(values: list[str]) -> None:
    a, b = (SECRET.pseudonym(v, issuer=XA, recipient=XB, case_ref=CASE) for v in values)
    assert a != b


def test_pseudonyms_across_domains_look_independent() -> None:
    """No shared prefix or structure between the pseudonyms of one value in 200 domains."""
    seen = {
        SECRET.pseudonym(MSISDN, issuer=XA, recipient=XB, case_ref=f"C-{i}")[3:] for i in range(200)
    }
    assert len(seen) == 200
    assert len({p[:4] for p in seen}) > 150  # 24 bits: collisions would be rare


# -- the vault: recording ------------------------------------------------------------------------


def test_schema_is_registered(store: Store, vault: PseudonymVault) -> None:
    with store.transaction(write=False) as cur:
        rows = cur.execute(
            "SELECT version FROM safeshare_schema WHERE component = ?",
            (PSEUDONYM_VAULT_SCHEMA.component,),
        )
    assert rows == [(2,)]
    PseudonymVault(store)  # idempotent


def test_pseudonymize_records_and_returns_the_domain_pseudonym(vault: PseudonymVault) -> None:
    p = record(vault)
    assert p == SECRET.pseudonym(MSISDN, issuer=XA, recipient=XB, case_ref=CASE)
    (entry,) = vault.entries_for(XA, JTI)
    assert (entry.pseudonym, entry.recipient, entry.case_ref, entry.jti) == (p, XB, CASE, JTI)
    assert entry.purpose == "criminal_investigation"
    assert entry.secret_id == SECRET.fingerprint
    assert entry.recorded_at == NOW
    assert entry.keep_until == KEEP_UNTIL


def test_recording_twice_is_idempotent(vault: PseudonymVault) -> None:
    p = record(vault)
    assert not vault.record(
        SECRET,
        pseudonym=p,
        value=MSISDN,
        issuer=XA,
        recipient=XB,
        case_ref=CASE,
        jti=JTI,
        path="/records/0/msisdn",
        purpose="criminal_investigation",
        keep_until=NOW + timedelta(days=99),
    )
    assert len(vault.entries_for(XA, JTI)) == 1
    assert vault.entries_for(XA, JTI)[0].keep_until == KEEP_UNTIL  # the first one stays


def test_record_many_writes_all_or_nothing(vault: PseudonymVault, recorder: MemoryRecorder) -> None:
    def item(path: Any, value: Any) -> tuple[Any, Any, str]:
        return path, value, SECRET.pseudonym(value, issuer=XA, recipient=XB, case_ref=CASE)

    items = [item(("records", 0, "msisdn"), MSISDN), item("/records/1/iban", "DE89")]
    arguments: dict[str, Any] = {
        "issuer": XA,
        "recipient": XB,
        "case_ref": CASE,
        "jti": JTI,
        "purpose": "criminal_investigation",
        "keep_until": KEEP_UNTIL,
        "now": NOW,
    }
    bad = [*items, ("/records/2/x", "v", items[0][2])]  # a pseudonym of another value
    with pytest.raises(UsageError):
        vault.record_many(SECRET, bad, **arguments)
    assert vault.entries_for(XA, JTI) == []
    assert vault.record_many(SECRET, items, **arguments) == 2
    assert vault.record_many(SECRET, items, **arguments) == 0
    assert vault.record_many(SECRET, [], **arguments) == 0
    paths = sorted(e.path for e in vault.entries_for(XA, JTI))
    assert paths == ["/records/0/msisdn", "/records/1/iban"]
    assert resolve(vault, items[1][2], recorder) == "DE89"
    with pytest.raises(UsageError):
        vault.record_many(SECRET, [((1.5,), "v", items[0][2])], **arguments)  # type: ignore[list-item]


def test_record_refuses_a_pseudonym_of_another_domain(vault: PseudonymVault) -> None:
    other = SECRET.pseudonym(MSISDN, issuer=XA, recipient=XC, case_ref=CASE)
    with pytest.raises(UsageError, match="not the one this secret gives"):
        vault.record(
            SECRET,
            pseudonym=other,
            value=MSISDN,
            issuer=XA,
            recipient=XB,
            case_ref=CASE,
            jti=JTI,
            path="/p",
            purpose="criminal_investigation",
            keep_until=KEEP_UNTIL,
        )
    assert vault.entries_for(XA, JTI) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"recipient": XA},  # to ourselves
        {"recipient": "xb-pros"},
        {"case_ref": ""},
        {"case_ref": "line\nbreak"},
        {"jti": "short"},
        {"path": ""},
        {"path": "a\x00b"},
        {"purpose": "Not A Code"},
        {"value": "x" * 70_000},
        {"keep_until": NOW},  # not after the time it is recorded
        {"keep_until": NOW - timedelta(days=1)},
        {"keep_until": datetime(2027, 1, 1)},
        {"keep_until": "2027-01-01T00:00:00Z"},
        {"keep_until": None},
    ],
    ids=repr,
)
def test_record_checks_its_arguments(vault: PseudonymVault, changes: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        record(vault, **changes)


REFUSED: Final[list[Any]] = [
    1.5,
    2.0,
    float("nan"),
    float("inf"),
    2**53,
    -(2**53),
    b"+99 555 0100",
    {"msisdn": 5e-1},
    [1, [2, [3.25]]],
    {1: "x"},
    {"+99 555 0100"},
    Decimal("5"),
    date(1990, 1, 1),
]


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_the_vault_refuses_what_a_pseudonym_refuses(vault: PseudonymVault, value: Any) -> None:
    """The vault keeps exactly the values PrivacySecret.pseudonym takes; messages show none."""
    with pytest.raises(UsageError) as direct:
        SECRET.pseudonym(value, issuer=XA, recipient=XB, case_ref=CASE)
    with pytest.raises(UsageError) as recorded:
        record(vault, value)
    assert recorded.value.message == direct.value.message
    for text in (direct.value.message, str(direct.value.hint)):
        assert repr(value) not in text
        assert str(value) not in text
    assert vault.entries_for(XA, JTI) == []


def test_the_vault_keeps_the_canonical_form(
    store: Store, vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    """Member order and tuple or list make no difference; the row holds RFC 8785 JSON."""
    p = record(vault, {"b": [1, "x"], "a": None}, path="/records/0/x")
    assert record(vault, {"a": None, "b": (1, "x")}, path="/records/0/x") == p
    assert len(vault.entries_for(XA, JTI)) == 1
    assert resolve(vault, p, recorder) == {"a": None, "b": [1, "x"]}
    assert len(_plaintext(store)) == len(b'{"a":null,"b":[1,"x"]}')


def test_a_row_holding_a_float_does_not_resolve(
    store: Store, vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    """A row written before floats were refused (or forged with the secret) has no pseudonym."""
    p = record(vault, 15)
    (entry,) = vault.entries_for(XA, JTI)
    nonce = bytes(12)
    ciphertext = AESGCM(SECRET.vault_key()).encrypt(nonce, b"1.5", pseudonyms._aad(entry))
    _update(
        store,
        "UPDATE safeshare_pseudonym_vault SET nonce = ?, ciphertext = ? WHERE jti = ?",
        (nonce, ciphertext, JTI),
    )
    with pytest.raises(VerificationError, match="holds a value that cannot have a pseudonym"):
        resolve(vault, p, recorder)
    assert [(e.action, e.outcome) for e in recorder.entries] == [("reidentify", "error")]


def _plaintext(store: Store) -> bytes:
    """The decrypted value of the vault's only row."""
    with store.transaction(write=False) as cur:
        ((nonce, ciphertext),) = cur.execute(
            "SELECT nonce, ciphertext FROM safeshare_pseudonym_vault"
        )
    (entry,) = PseudonymVault(store).entries_for(XA, JTI)
    return AESGCM(SECRET.vault_key()).decrypt(
        bytes(nonce), bytes(ciphertext), pseudonyms._aad(entry)
    )


def test_vault_needs_a_store() -> None:
    with pytest.raises(UsageError):
        PseudonymVault("vault.db")  # type: ignore[arg-type]


# -- the vault: re-identification ------------------------------------------------------------


def test_resolve_returns_the_value_to_the_recipient_in_its_case(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    p = record(vault)
    assert resolve(vault, p, recorder) == MSISDN
    (entry,) = recorder.entries
    assert entry.action == "reidentify"
    assert entry.outcome == "success"
    assert (entry.agency, entry.counterparty, entry.jti) == (XA, XB, JTI)
    assert entry.purpose == "criminal_investigation"
    assert entry.reason is not None
    assert p in entry.reason
    assert MSISDN not in entry.reason


def test_any_json_value_round_trips(vault: PseudonymVault, recorder: MemoryRecorder) -> None:
    value = {"name": "Alex Example", "born": "1990-01-01", "ids": [1, 2]}
    p = record(vault, value)
    assert resolve(vault, p, recorder) == value


def test_compatible_purpose_is_allowed(vault: PseudonymVault, recorder: MemoryRecorder) -> None:
    p = record(vault)
    assert resolve(vault, p, recorder, purpose="prosecution") == MSISDN


@pytest.mark.parametrize(
    ("requester", "case_ref"),
    [(XC, CASE), (XB, OTHER_CASE), (XC, OTHER_CASE)],
    ids=["other-recipient", "other-case", "both"],
)
def test_a_pseudonym_resolves_only_in_its_own_domain(
    vault: PseudonymVault, recorder: MemoryRecorder, requester: str, case_ref: str
) -> None:
    p = record(vault)
    with pytest.raises(PolicyError, match="was not issued") as info:
        resolve(vault, p, recorder, requester=requester, case_ref=case_ref)
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome) == ("reidentify", "denied")
    assert entry.counterparty == requester
    # The refusal is the same as for a pseudonym that exists nowhere.
    nowhere = "pn_" + b64u_encode(bytes(16))
    with pytest.raises(PolicyError) as unknown:
        resolve(vault, nowhere, recorder, requester=requester, case_ref=case_ref)
    assert unknown.value.message == info.value.message.replace(p, nowhere)
    assert unknown.value.hint == info.value.hint


def test_the_other_domains_own_pseudonym_resolves_there(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    for_xb = record(vault, recipient=XB)
    for_xc = record(vault, recipient=XC)
    assert for_xb != for_xc
    assert resolve(vault, for_xc, recorder, requester=XC) == MSISDN
    with pytest.raises(PolicyError):
        resolve(vault, for_xb, recorder, requester=XC)


def test_jti_limits_the_resolution_to_one_envelope(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    p = record(vault, jti=JTI)
    assert resolve(vault, p, recorder, jti=JTI) == MSISDN
    with pytest.raises(PolicyError, match=f"in envelope {JTI2}"):
        resolve(vault, p, recorder, jti=JTI2)


def test_a_purpose_the_envelope_does_not_allow_is_refused(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    p = record(vault, purpose="criminal_investigation")
    with pytest.raises(PolicyError, match="intelligence_analysis") as info:
        resolve(vault, p, recorder, purpose="intelligence_analysis")
    assert "speciality" in info.value.message
    assert "prosecution" in info.value.message  # what is allowed
    (entry,) = recorder.entries
    assert (entry.outcome, entry.purpose) == ("denied", "intelligence_analysis")


def test_an_unknown_purpose_is_refused(vault: PseudonymVault, recorder: MemoryRecorder) -> None:
    p = record(vault)
    with pytest.raises(PolicyError, match="not a purpose in this agency's vocabulary"):
        resolve(vault, p, recorder, purpose="general_surveillance")
    assert [e.outcome for e in recorder.entries] == ["denied"]


def test_the_wrong_secret_does_not_resolve(vault: PseudonymVault, recorder: MemoryRecorder) -> None:
    p = record(vault)
    with pytest.raises(VerificationError, match="another privacy secret"):
        resolve(vault, p, recorder, secret=PrivacySecret(bytes(32)))
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome) == ("reidentify", "error")


def _update(store: Store, sql: str, params: tuple[Any, ...] = ()) -> None:
    with store.transaction(write=True) as cur:
        cur.execute(sql, params)
        assert cur.rowcount == 1


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        # a flipped ciphertext bit
        (
            "UPDATE safeshare_pseudonym_vault SET ciphertext = ? WHERE jti = ?",
            ("flip", JTI),
        ),
        # another nonce
        ("UPDATE safeshare_pseudonym_vault SET nonce = ? WHERE jti = ?", (bytes(12), JTI)),
        # the envelope's purpose widened to allow the request
        (
            "UPDATE safeshare_pseudonym_vault SET purpose = 'intelligence_analysis' WHERE jti = ?",
            (JTI,),
        ),
        # the row moved to another envelope or member
        ("UPDATE safeshare_pseudonym_vault SET jti = ? WHERE jti = ?", (JTI2, JTI)),
        ("UPDATE safeshare_pseudonym_vault SET path = '/other' WHERE jti = ?", (JTI,)),
        # the retention end moved (later, to keep the identity longer)
        (
            "UPDATE safeshare_pseudonym_vault SET keep_until = keep_until + 86400 WHERE jti = ?",
            (JTI,),
        ),
    ],
    ids=["ciphertext", "nonce", "purpose", "jti", "path", "keep_until"],
)
def test_a_tampered_vault_row_does_not_resolve(
    store: Store,
    vault: PseudonymVault,
    recorder: MemoryRecorder,
    sql: str,
    params: tuple[Any, ...],
) -> None:
    p = record(vault, purpose="border_control")  # the envelope was sent for border control
    if params[0] == "flip":
        with store.transaction(write=False) as cur:
            (ciphertext,) = cur.execute(
                "SELECT ciphertext FROM safeshare_pseudonym_vault WHERE jti = ?", (JTI,)
            )[0]
        flipped = bytearray(bytes(ciphertext))
        flipped[0] ^= 1
        params = (bytes(flipped), *params[1:])
    _update(store, sql, params)
    # Widening the purpose column would let intelligence_analysis pass the purpose check.
    purpose = "intelligence_analysis" if "purpose =" in sql else "border_control"
    with pytest.raises(VerificationError, match="does not authenticate"):
        resolve(vault, p, recorder, purpose=purpose)
    assert [(e.action, e.outcome) for e in recorder.entries] == [("reidentify", "error")]


def test_a_row_moved_to_another_recipient_does_not_resolve_for_it(
    store: Store, vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    p = record(vault)
    _update(store, "UPDATE safeshare_pseudonym_vault SET recipient = ?", (XC,))
    with pytest.raises(VerificationError):
        resolve(vault, p, recorder, requester=XC)
    with pytest.raises(PolicyError):  # and the real recipient finds nothing any more
        resolve(vault, p, recorder, requester=XB)


def test_a_damaged_timestamp_is_a_storage_error(store: Store, vault: PseudonymVault) -> None:
    record(vault)
    _update(store, "UPDATE safeshare_pseudonym_vault SET recorded_at = ?", (2**62,))
    with pytest.raises(StorageError):
        vault.entries_for(XA, JTI)


class FailingRecorder:
    def record(self, entry: AuditEntry) -> int:
        raise StorageError("the audit log is unavailable")


def test_no_value_without_a_recorded_entry(vault: PseudonymVault) -> None:
    p = record(vault)
    with pytest.raises(StorageError, match="unavailable"):
        vault.resolve(
            SECRET,
            p,
            requester=XB,
            case_ref=CASE,
            purpose="criminal_investigation",
            actor="desk",
            recorder=FailingRecorder(),
            agency=XA,
        )


def test_a_recorder_failure_on_refusal_wins(vault: PseudonymVault) -> None:
    p = record(vault)
    with pytest.raises(StorageError) as info:
        vault.resolve(
            SECRET,
            p,
            requester=XC,
            case_ref=CASE,
            purpose="criminal_investigation",
            actor="desk",
            recorder=FailingRecorder(),
            agency=XA,
        )
    assert isinstance(info.value.__cause__, PolicyError)


@pytest.mark.parametrize(
    "changes",
    [
        {"actor": ""},
        {"actor": "a\nb"},
        {"requester": "xb"},
        {"purpose": "Bad Code"},
        {"case_ref": "x" * 129},
        {"jti": "nope"},
        {"recorder": None},
        {"agency": None},  # a MemoryRecorder has no log origin to take it from
        {"vocabulary": {}},
        {"secret": b"\x00" * 32},
    ],
    ids=repr,
)
def test_resolve_checks_its_arguments(
    vault: PseudonymVault, recorder: MemoryRecorder, changes: dict[str, Any]
) -> None:
    p = record(vault)
    with pytest.raises(UsageError):
        resolve(vault, p, recorder, **changes)
    with pytest.raises(UsageError):
        resolve(vault, "not-a-pseudonym", recorder)
    assert recorder.entries == []


def test_resolve_with_an_audit_log_takes_the_agency_from_its_origin(
    store_factory: StoreFactory, vault: PseudonymVault
) -> None:
    log = AuditLog(store_factory(), origin=agency_log_origin(XA, network="safeshare.example"))
    p = record(vault)
    value = vault.resolve(
        SECRET,
        p,
        requester=XB,
        case_ref=CASE,
        purpose="criminal_investigation",
        actor="desk",
        recorder=AuditLogRecorder(log),
        now=NOW,
    )
    assert value == MSISDN
    assert log.size() == 1
    assert log.entry(0).action == "reidentify"


# -- retention: keep_until, purge, the migration ---------------------------------------------

SECOND: Final = timedelta(seconds=1)


def purge(vault: PseudonymVault, recorder: Any, now: datetime, **changes: Any) -> int:
    arguments: dict[str, Any] = {"now": now, "actor": "vault purge job", "agency": XA}
    arguments.update(changes)
    return vault.purge(recorder=recorder, **arguments)


def test_rows_are_purged_when_their_retention_ends_with_one_entry_per_envelope(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    values = [MSISDN, "BD0012345678"]
    short = [record(vault, v, path=f"/records/{i}/id") for i, v in enumerate(values)]
    later = NOW + timedelta(days=60)
    long = record(vault, "P1234567", jti=JTI2, keep_until=later)
    # nothing is deleted early, and nothing is recorded then
    assert purge(vault, recorder, KEEP_UNTIL - SECOND) == 0
    assert recorder.entries == []
    assert len(vault.entries_for(XA, JTI)) == 2
    # at keep_until: the envelope's rows go, with one entry for the envelope
    assert purge(vault, recorder, KEEP_UNTIL) == 2
    assert vault.entries_for(XA, JTI) == []
    assert [e.pseudonym for e in vault.entries_for(XA, JTI2)] == [long]
    (entry,) = recorder.entries
    assert (entry.action, entry.outcome, entry.jti) == ("purge", "success", JTI)
    assert (entry.agency, entry.counterparty, entry.purpose) == (XA, XB, "criminal_investigation")
    assert entry.actor == "vault purge job"
    assert entry.time == int(KEEP_UNTIL.timestamp())
    assert entry.reason is not None
    assert "2 rows" in entry.reason
    assert "retention ended at 2026-12-29T12:00:00Z" in entry.reason
    text = encode(entry)  # metadata only: no value, no pseudonym, no case
    for secret in [*values, *short, CASE]:
        assert secret.encode() not in text
    # idempotent; the second envelope goes at its own end
    assert purge(vault, recorder, KEEP_UNTIL) == 0
    assert len(recorder.entries) == 1
    assert purge(vault, recorder, later + timedelta(days=1)) == 1
    assert [e.jti for e in recorder.entries] == [JTI, JTI2]
    assert recorder.entries[1].reason is not None
    assert "1 row " in recorder.entries[1].reason


def test_resolve_refuses_a_pseudonym_whose_retention_ended_before_any_purge(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    p = record(vault)
    assert resolve(vault, p, recorder, now=KEEP_UNTIL - SECOND) == MSISDN
    with pytest.raises(PolicyError, match="retention ended") as info:
        resolve(vault, p, recorder, now=KEEP_UNTIL)
    assert MSISDN not in info.value.message
    assert [(e.action, e.outcome) for e in recorder.entries] == [
        ("reidentify", "success"),
        ("reidentify", "denied"),
    ]
    assert recorder.entries[1].reason is not None
    assert "retention ended" in recorder.entries[1].reason
    assert len(vault.entries_for(XA, JTI)) == 1  # refused, but only a purge deletes


def test_a_pseudonym_sent_again_later_resolves_through_its_live_envelope(
    vault: PseudonymVault, recorder: MemoryRecorder
) -> None:
    p = record(vault)
    assert record(vault, jti=JTI2, keep_until=NOW + timedelta(days=90)) == p
    assert resolve(vault, p, recorder, now=KEEP_UNTIL) == MSISDN
    assert recorder.entries[-1].jti == JTI2
    with pytest.raises(PolicyError, match="retention ended"):
        resolve(vault, p, recorder, now=KEEP_UNTIL, jti=JTI)


class FailingAfter(MemoryRecorder):
    """Records *n* entries, then fails."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def record(self, entry: AuditEntry) -> int:
        if len(self.entries) >= self.n:
            raise StorageError("the audit log is unavailable")
        return super().record(entry)


@pytest.mark.parametrize("n", [0, 1], ids=["first", "second"])
def test_a_failed_recorder_leaves_every_row(vault: PseudonymVault, n: int) -> None:
    record(vault)
    record(vault, "P1234567", jti=JTI2)
    with pytest.raises(StorageError, match="unavailable"):
        purge(vault, FailingAfter(n), KEEP_UNTIL)
    assert len(vault.entries_for(XA, JTI)) == 1
    assert len(vault.entries_for(XA, JTI2)) == 1
    recorder = MemoryRecorder()
    assert purge(vault, recorder, KEEP_UNTIL) == 2  # the next purge does it all
    assert sorted(e.jti or "" for e in recorder.entries) == [JTI, JTI2]


def test_purge_with_an_audit_log_in_the_same_database(store_factory: StoreFactory) -> None:
    """The entries are recorded outside the vault's transaction: one database may hold both."""
    vault = PseudonymVault(store_factory())
    log = AuditLog(store_factory(), origin=agency_log_origin(XA, network="safeshare.example"))
    record(vault)
    assert vault.purge(now=KEEP_UNTIL, actor="job", recorder=AuditLogRecorder(log)) == 1
    assert [(e.action, e.agency, e.jti) for _, e in log.entries()] == [("purge", XA, JTI)]


@pytest.mark.parametrize(
    "changes",
    [
        {"actor": ""},
        {"actor": "a\nb"},
        {"now": datetime(2027, 1, 1)},
        {"recorder": None},
        {"agency": None},  # a MemoryRecorder has no log origin to take it from
        {"agency": "xa"},
        {"legacy_max_days": 0},
        {"legacy_max_days": 36_501},
        {"legacy_max_days": True},
        {"legacy_max_days": 30.0},
    ],
    ids=repr,
)
def test_purge_checks_its_arguments(
    vault: PseudonymVault, recorder: MemoryRecorder, changes: dict[str, Any]
) -> None:
    record(vault)
    arguments: dict[str, Any] = {"recorder": recorder, "now": KEEP_UNTIL, **changes}
    with pytest.raises(UsageError):
        purge(vault, **arguments)
    assert len(vault.entries_for(XA, JTI)) == 1
    assert recorder.entries == []


def test_the_migration_upgrades_an_existing_vault(
    store_factory: StoreFactory, recorder: MemoryRecorder
) -> None:
    """A version-1 vault gets keep_until; its rows have none: kept until purged explicitly."""
    store = store_factory()
    store.ensure_schema(
        Schema(
            component=PSEUDONYM_VAULT_SCHEMA.component,
            migrations=PSEUDONYM_VAULT_SCHEMA.migrations[:1],
        )
    )
    old = SECRET.pseudonym(MSISDN, issuer=XA, recipient=XB, case_ref=CASE)
    entry = VaultEntry(old, XA, XB, CASE, JTI, "/records/0/msisdn", "criminal_investigation",
                       SECRET.fingerprint, NOW)  # fmt: skip
    nonce = bytes(12)
    ciphertext = AESGCM(SECRET.vault_key()).encrypt(
        nonce, strictjson.dumps(MSISDN), pseudonyms._aad(entry)
    )
    with store.transaction(write=True) as cur:  # a row as version 1 wrote it
        cur.execute(
            "INSERT INTO safeshare_pseudonym_vault (issuer, pseudonym, recipient, case_ref, jti, "
            "path, purpose, secret_id, nonce, ciphertext, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (XA, old, XB, CASE, JTI, entry.path, entry.purpose, entry.secret_id, nonce,
             ciphertext, int(NOW.timestamp())),
        )  # fmt: skip

    vault = PseudonymVault(store_factory())  # another connection: applies version 2
    with store.transaction(write=False) as cur:
        rows = cur.execute(
            "SELECT version FROM safeshare_schema WHERE component = ?",
            (PSEUDONYM_VAULT_SCHEMA.component,),
        )
    assert rows == [(2,)]
    (migrated,) = vault.entries_for(XA, JTI)
    assert migrated.keep_until is None
    new = record(vault, "P1234567", jti=JTI2)  # new rows get one
    assert vault.entries_for(XA, JTI2)[0].keep_until == KEEP_UNTIL
    # the old row still resolves, however late, and an ordinary purge leaves it
    far = NOW + timedelta(days=3650)
    assert resolve(vault, old, recorder, now=far) == MSISDN
    assert purge(vault, recorder, far) == 1  # the new row only
    assert [e.pseudonym for e in vault.entries_for(XA, JTI)] == [old]
    assert vault.entries_for(XA, JTI2) == []
    with pytest.raises(PolicyError, match="not issued"):
        resolve(vault, new, recorder, now=far)
    # purged explicitly: legacy rows recorded at least legacy_max_days before now
    late = NOW + timedelta(days=30)
    assert purge(vault, recorder, late - SECOND, legacy_max_days=30) == 0
    assert purge(vault, recorder, late, legacy_max_days=30) == 1
    assert vault.entries_for(XA, JTI) == []
    last = recorder.entries[-1]
    assert (last.action, last.jti, last.counterparty) == ("purge", JTI, XB)
    assert last.reason is not None
    assert "without a retention end" in last.reason


def test_seal_records_the_end_of_the_envelopes_retention(tmp_path: Path) -> None:
    """seal(vault=) gives every row keep_until = iat + handling.retention.max_days."""
    net = _testnet.build(NOW)
    originator = net.keysets[XA].with_privacy_secret()
    with open_store(tmp_path / "vault.db") as store:
        vault = PseudonymVault(store)
        envelope = seal(
            POI,
            sender=originator,
            to=[XB],
            registry=net.registry,
            purpose="locate_suspect",
            legal_basis="UNTOC.Art18",
            case_ref=CASE,
            message_type="spontaneous_information",
            handling=HandlingConditions(retention=Retention(max_days=30)),
            schema=PersonOfInterest,
            vault=vault,
            now=NOW,
        )
        assert envelope
        with store.transaction(write=False) as cur:
            ((jti,),) = cur.execute("SELECT DISTINCT jti FROM safeshare_pseudonym_vault")
        entries = vault.entries_for(XA, str(jti))
        assert entries  # the passport number, at least
        for entry in entries:
            assert entry.keep_until == NOW + timedelta(days=30)
            assert entry.recorded_at == NOW


# -- no value in clear anywhere --------------------------------------------------------------


def _clear_spellings(value: str) -> list[bytes]:
    return [
        value.encode("utf-8"),
        value.encode("utf-16-le"),
        value.encode("utf-16-be"),
        strictjson.dumps(value),
        value.replace(" ", "").encode(),
        value.encode().hex().encode(),
        b64u_encode(value.encode()).encode(),
    ]


def test_the_vault_never_holds_a_value_in_clear(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = store_factory()
    vault = PseudonymVault(store)
    log = AuditLog(store_factory(), origin=agency_log_origin(XA, network="safeshare.example"))
    recorder = AuditLogRecorder(log)
    values = [MSISDN, "alex.example@mail.example", "Alex Example 1990-01-01", "BD0012345678"]
    pseudonyms = [record(vault, v, path=f"/records/{i}/id", jti=JTI) for i, v in enumerate(values)]
    for p in pseudonyms:  # re-identification is recorded, but not what it returned
        resolve(vault, p, MemoryRecorder())
        vault.resolve(
            SECRET,
            p,
            requester=XB,
            case_ref=CASE,
            purpose="criminal_investigation",
            actor="desk",
            recorder=recorder,
            now=NOW,
        )
    blobs = _database_bytes(store_factory, store, tmp_path)
    for value in values:
        for spelling in _clear_spellings(value):
            assert spelling not in blobs, (value, spelling)
    entries = list(log.entries())
    assert [e.action for _, e in entries] == ["reidentify"] * len(values)
    for _, entry in entries:
        for value in values:
            for spelling in _clear_spellings(value):
                assert spelling not in encode(entry)


def _database_bytes(store_factory: StoreFactory, store: Store, tmp_path: Path) -> bytes:
    """Every byte the database holds: the SQLite files, or every PostgreSQL row as text."""
    if store_factory.dialect == "sqlite":
        store.close()  # checkpoint nothing away: read the WAL as well as the main file
        return b"".join(p.read_bytes() for p in sorted(tmp_path.iterdir()) if p.is_file())
    chunks: list[bytes] = []
    with store.transaction(write=False) as cur:
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
    assert tables
    return b"\x00".join(chunks)
