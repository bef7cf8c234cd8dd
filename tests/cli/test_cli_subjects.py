"""``safeshare subjects lookup``, ``safeshare reidentify`` and ``safeshare keygen --privacy``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from safeshare.audit.checkpoint import agency_log_origin
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.keys import SECRET_KEY_ACCESS, AgencyKeySet, DecryptionKey, SigningKey
from safeshare.privacy.blind_index import subject_token, subject_tokens
from safeshare.privacy.pseudonyms import PseudonymVault
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
ORIGIN: Final = agency_log_origin(XA, network="safeshare.example")
PHONE: Final = "+99 555 0100"
CASE: Final = "XA-2026-0042"
JTI: Final = "AAAAAAAAAAAAAAAAAAAAAA"
NOW: Final = "2026-11-29T12:00:00Z"
PASSPHRASE: Final = "correct horse battery staple"
KEEP_UNTIL: Final = datetime(2027, 11, 29, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Agency:
    keys: AgencyKeySet
    key_file: Path
    audit_db: Path


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Agency:
    directory = tmp_path_factory.mktemp("xa")
    keys = AgencyKeySet.generate(XA)
    key_file = directory / "XA-NPOL.keys.json"
    keys.save(key_file, PASSPHRASE)
    return Agency(keys, key_file, directory / "audit.db")


@pytest.fixture
def audit_db(agency: Agency, tmp_path: Path) -> Path:
    """An audit log of XA with three entries, two of them about PHONE."""
    path = tmp_path / "audit.db"
    secret = agency.keys.privacy_secret
    with open_store(path) as store:
        log = AuditLog(store, origin=ORIGIN)
        for n, subjects in enumerate(
            [[("phone", PHONE)], [("email", "x@mail.example")], [("phone", "0099-555-0100")]]
        ):
            log.append(
                AuditEntry(
                    action="seal",
                    time=1_795_000_000 + n,
                    actor="officer 7",
                    agency=XA,
                    counterparty=XB,
                    jti=f"jti-{n:08d}",
                    purpose="criminal_investigation",
                    outcome="success",
                    subjects=subject_tokens(secret, subjects),
                )
            )
    return path


def entries(path: Path) -> list[AuditEntry]:
    with open_store(path) as store:
        return [e for _, e in AuditLog.open(store).entries()]


def test_lookup_lists_the_entries_and_records_itself(
    cli: Cli, agency: Agency, audit_db: Path, passphrase: str
) -> None:
    result = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", agency.key_file,
        "--kind", "phone", "--value", "+99 (555) 01-00", "--actor", "dpo 3", "--now", NOW,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "2 audit entries concern this phone" in result.out
    assert "#0" in result.out
    assert "#2" in result.out
    assert "#1" not in result.out
    assert PHONE not in result.out
    recorded = entries(audit_db)[-1]
    assert (recorded.action, recorded.outcome, recorded.actor) == (
        "subject_lookup",
        "success",
        "dpo 3",
    )
    assert recorded.subjects == (subject_token(agency.keys.privacy_secret, "phone", PHONE),)


def test_lookup_json_and_value_file(
    cli: Cli, agency: Agency, audit_db: Path, passphrase: str, tmp_path: Path
) -> None:
    value_file = tmp_path / "value.txt"
    value_file.write_text("0099 555 0100\n")
    data = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key-file", agency.key_file,
        "--kind", "phone", "--value-file", value_file, "--actor", "dpo 3",
        "--reason", "access request AR-17", "--scan", "--json",
    ).json()  # fmt: skip
    assert data["kind"] == "phone"
    assert data["token"] == subject_token(agency.keys.privacy_secret, "phone", PHONE)
    assert [e["index"] for e in data["entries"]] == [0, 2]
    assert data["entries"][0]["jti"] == "jti-00000000"
    assert "AR-17" in (entries(audit_db)[-1].reason or "")


def test_earlier_lookups_are_listed_only_when_asked(
    cli: Cli, agency: Agency, audit_db: Path, passphrase: str
) -> None:
    args: list[str | Path] = [
        "subjects", "lookup", "--audit-db", audit_db, "--key", agency.key_file,
        "--kind", "phone", "--value", PHONE, "--actor", "dpo 3", "--json",
    ]  # fmt: skip
    first = cli(*args).json()
    again = cli(*args).json()
    assert [e["index"] for e in again["entries"]] == [e["index"] for e in first["entries"]]
    with_lookups = cli(*args, "--include-lookups").json()
    actions = [e["action"] for e in with_lookups["entries"]]
    assert actions.count("subject_lookup") == 2  # the two lookups recorded before this one


def test_lookup_for_another_purpose_is_refused_and_recorded(
    cli: Cli, agency: Agency, audit_db: Path, passphrase: str
) -> None:
    message = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", agency.key_file,
        "--kind", "phone", "--value", PHONE, "--actor", "analyst 9",
        "--purpose", "intelligence_analysis",
    ).error()  # fmt: skip
    assert "data_protection_compliance" in message
    recorded = entries(audit_db)[-1]
    assert (recorded.action, recorded.outcome) == ("subject_lookup", "denied")


def test_lookup_refuses_bad_values_before_recording(
    cli: Cli, agency: Agency, audit_db: Path, passphrase: str
) -> None:
    before = len(entries(audit_db))
    message = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", agency.key_file,
        "--kind", "phone", "--value", "555 O100", "--actor", "dpo 3",
    ).error()  # fmt: skip
    assert "3 to 15 digits" in message
    assert "555 O100" not in message
    assert len(entries(audit_db)) == before
    usage = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", agency.key_file,
        "--kind", "msisdn", "--value", PHONE, "--actor", "dpo 3",
    ).usage_error()  # fmt: skip
    assert "identifier kind" in usage
    assert "--actor" in cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", agency.key_file,
        "--kind", "phone", "--value", PHONE,
    ).usage_error()  # fmt: skip


def test_lookup_needs_a_key_file_with_a_privacy_secret(
    cli: Cli, audit_db: Path, passphrase: str, tmp_path: Path
) -> None:
    old = AgencyKeySet(XA, [SigningKey.generate()], [DecryptionKey.generate()])
    old_file = tmp_path / "old.keys.json"
    old.save(old_file, PASSPHRASE)
    result = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", old_file,
        "--kind", "phone", "--value", PHONE, "--actor", "dpo 3",
    )  # fmt: skip
    assert "no privacy secret" in result.error()
    assert "keygen --privacy" in result.err


def test_lookup_needs_our_own_audit_log(
    cli: Cli, audit_db: Path, passphrase: str, tmp_path: Path
) -> None:
    other = AgencyKeySet.generate(XB)
    other_file = tmp_path / "xb.keys.json"
    other.save(other_file, PASSPHRASE)
    message = cli(
        "subjects", "lookup", "--audit-db", audit_db, "--key", other_file,
        "--kind", "phone", "--value", PHONE, "--actor", "dpo 3",
    ).error()  # fmt: skip
    assert "not the log of XB-PROS" in message


# -- reidentify ------------------------------------------------------------------------------


def test_reidentify_resolves_records_and_refuses_other_domains(
    cli: Cli, agency: Agency, passphrase: str, tmp_path: Path
) -> None:
    vault_db, audit_db = tmp_path / "vault.db", tmp_path / "audit.db"
    with open_store(vault_db) as store:
        vault = PseudonymVault(store)
        mine = vault.pseudonymize(
            agency.keys.privacy_secret, PHONE, issuer=XA, recipient=XB, case_ref=CASE,
            jti=JTI, path="/records/0/msisdn", purpose="criminal_investigation",
            keep_until=KEEP_UNTIL,
        )  # fmt: skip
        other_case = vault.pseudonymize(
            agency.keys.privacy_secret, PHONE, issuer=XA, recipient=XB, case_ref="OTHER",
            jti=JTI, path="/records/0/msisdn", purpose="criminal_investigation",
            keep_until=KEEP_UNTIL,
        )  # fmt: skip
    with open_store(audit_db) as store:
        AuditLog(store, origin=ORIGIN)
    base: list[str | Path] = [
        "reidentify", "--vault-db", vault_db, "--audit-db", audit_db, "--key", agency.key_file,
        "--requester", XB, "--case-ref", CASE, "--actor", "desk 1", "--now", NOW,
    ]  # fmt: skip
    data = cli(*base, "--pseudonym", mine, "--purpose", "prosecution", "--json").json()
    assert data["results"] == [{"pseudonym": mine, "value": PHONE}]
    result = cli(*base, "--pseudonym", mine, "--pseudonym", other_case, "--purpose", "prosecution")
    assert result.code == 1
    assert f"{mine}: {PHONE}" in result.out
    assert f"{other_case}: refused" in result.err
    assert "was not issued" in result.err
    recorded = entries(audit_db)
    assert [(e.action, e.outcome) for e in recorded] == [
        ("reidentify", "success"),
        ("reidentify", "success"),
        ("reidentify", "denied"),
    ]
    assert all(PHONE not in (e.reason or "") for e in recorded)
    bad = cli(*base, "--pseudonym", "pn_x", "--purpose", "prosecution").usage_error()
    assert "not a pseudonym" in bad


def test_retention_purge_vault_deletes_expired_rows_and_records_it(
    cli: Cli, agency: Agency, tmp_path: Path
) -> None:
    vault_db, audit_db = tmp_path / "vault.db", tmp_path / "audit.db"
    with open_store(vault_db) as store:
        mine = PseudonymVault(store).pseudonymize(
            agency.keys.privacy_secret, PHONE, issuer=XA, recipient=XB, case_ref=CASE,
            jti=JTI, path="/records/0/msisdn", purpose="criminal_investigation",
            keep_until=KEEP_UNTIL, now=datetime(2026, 11, 29, tzinfo=UTC),
        )  # fmt: skip
    base: list[str | Path] = [
        "retention", "purge-vault", "--vault-db", vault_db, "--audit-db", audit_db,
        "--audit-origin", ORIGIN, "--actor", "purge job", "--agency", XA,
    ]  # fmt: skip
    early = cli(*base, "--now", "2027-11-29T11:59:59Z")
    assert early.code == 0, early.err
    assert early.out.strip().splitlines() == [
        "Nothing to purge: no pseudonym vault row's retention had ended at 2027-11-29T11:59:59Z"
    ]
    done = cli(*base, "--now", "2027-11-29T12:00:00Z")
    assert done.code == 0, done.err
    assert done.out.strip().splitlines() == [
        "Purged 1 pseudonym vault row whose retention had ended at 2027-11-29T12:00:00Z; "
        f"recorded in the audit log {ORIGIN}"
    ]
    with open_store(vault_db) as store:
        assert PseudonymVault(store).entries_for(XA, JTI) == []
    (entry,) = entries(audit_db)
    assert (entry.action, entry.jti, entry.actor, entry.counterparty) == (
        "purge", JTI, "purge job", XB,
    )  # fmt: skip
    assert mine not in (entry.reason or "")
    assert PHONE not in (entry.reason or "")
    missing = cli(*base[:2], "--vault-db", tmp_path / "none.db", *base[4:]).error()
    assert "no pseudonym vault" in missing
    assert "--audit-db" in cli(*base[:4], "--actor", "x", "--agency", XA).usage_error()
    bad = cli(*base, "--legacy-max-days", "0").usage_error()
    assert "--legacy-max-days" in bad


# -- keygen --privacy ------------------------------------------------------------------------


def test_keygen_privacy_adds_a_secret_to_an_old_key_file(
    cli: Cli, passphrase: str, tmp_path: Path
) -> None:
    old = AgencyKeySet(XA, [SigningKey.generate()], [DecryptionKey.generate()])
    path = tmp_path / "XA-NPOL.keys.json"
    old.save(path, PASSPHRASE)
    result = cli("keygen", "--privacy", path)
    assert result.code == 0, result.err
    loaded = AgencyKeySet.load(path, PASSPHRASE)
    assert loaded.has_privacy_secret
    assert loaded.privacy_secret.fingerprint in result.out
    assert loaded.signing_key.kid == old.signing_key.kid
    assert loaded.decryption_key.kid == old.decryption_key.kid
    # a second time: refused without --force, replaced with it
    assert "already holds a privacy secret" in cli("keygen", "--privacy", path).error()
    assert AgencyKeySet.load(path, PASSPHRASE).privacy_secret == loaded.privacy_secret
    assert cli("keygen", "--privacy", path, "--force").code == 0
    assert AgencyKeySet.load(path, PASSPHRASE).privacy_secret != loaded.privacy_secret
    assert "--out" in cli("keygen", "--privacy", path, "--out", tmp_path).error()


def test_keygen_agency_keys_hold_a_secret_and_the_authority_none(
    cli: Cli, passphrase: str, tmp_path: Path
) -> None:
    assert cli("keygen", "--agency", XA, "--out", tmp_path).code == 0
    keys = AgencyKeySet.load(tmp_path / "XA-NPOL.keys.json", PASSPHRASE)
    assert keys.has_privacy_secret
    public = (tmp_path / "XA-NPOL.jwks.json").read_text()
    assert "oct" not in public
    assert keys.privacy_secret.fingerprint not in public
    assert cli("keygen", "--authority", "--name", "Reg", "--out", tmp_path).code == 0
    authority = AgencyKeySet.load(tmp_path / "authority.keys.json", PASSPHRASE)
    assert not authority.has_privacy_secret
    assert len(authority.private_jwks(SECRET_KEY_ACCESS)["keys"]) == 2
    assert "--out" in cli("keygen", "--agency", XA).error()
