"""``safeshare retention purge`` and ``safeshare retention list``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from tests.conftest import NOW
from tests.unit.purpose.test_retention import RECORD, seal_and_open

from safeshare import _testnet
from safeshare._internal.clock import rfc3339
from safeshare.audit.log import AuditLog
from safeshare.envelope import OpenedEnvelope
from safeshare.purpose.conditions import HandlingConditions, Retention
from safeshare.purpose.retention import RetentionStore
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

ORIGIN: Final = "audit.xb-pros.example/log"
AGENCY: Final = "XB-PROS"
LATER: Final = NOW + timedelta(days=45)


@dataclass(frozen=True)
class Files:
    db: Path
    audit_db: Path
    short: OpenedEnvelope  # retention 30 days, review after 10
    long: OpenedEnvelope  # retention 365 days


@pytest.fixture
def files(tmp_path: Path) -> Files:
    net = _testnet.build(NOW)
    short = seal_and_open(
        net, tmp_path, handling=HandlingConditions(retention=Retention(max_days=30, review_days=10))
    )
    long = seal_and_open(
        net, tmp_path, handling=HandlingConditions(retention=Retention(max_days=365))
    )
    db = tmp_path / "retention.db"
    with open_store(db) as store:
        kept = RetentionStore(store)
        kept.keep(short, now=NOW)
        kept.keep(long, now=NOW)
    audit_db = tmp_path / "audit.db"
    with open_store(audit_db) as store:
        AuditLog(store, origin=ORIGIN)
    return Files(db, audit_db, short, long)


def purge_args(files: Files, *extra: str | Path) -> list[str | Path]:
    return [
        "retention",
        "purge",
        "--db",
        files.db,
        "--actor",
        "retention job",
        "--agency",
        AGENCY,
        "--now",
        rfc3339(LATER),
        *extra,
    ]


def audit_entries(path: Path) -> list[tuple[str, str | None, str | None]]:
    with open_store(path) as store:
        log = AuditLog.open(store)
        return [(e.action, e.jti, e.counterparty) for _, e in log.entries()]


def test_purge_deletes_the_expired_record_and_records_it(cli: Cli, files: Files) -> None:
    result = cli(*purge_args(files, "--audit-db", files.audit_db, "--json"))
    data = result.json()
    assert data["now"] == rfc3339(LATER)
    assert data["audit_log"] == ORIGIN
    assert data["purged"] == [
        {
            "issuer": "XA-NPOL",
            "jti": files.short.jti,
            "digest": files.short.digest,
            "recipient": AGENCY,
            "purpose": files.short.purpose,
            "retain_until": rfc3339(NOW + timedelta(days=30)),
            "purged_at": rfc3339(LATER),
            "audit_index": 0,
        }
    ]
    assert result.err == ""
    assert audit_entries(files.audit_db) == [("purge", files.short.jti, "XA-NPOL")]
    with open_store(files.db) as store:
        assert [e.jti for e in RetentionStore(store).entries()] == [files.long.jti]


def test_purge_text_output_and_a_second_run(cli: Cli, files: Files) -> None:
    first = cli(*purge_args(files, "--audit-db", files.audit_db))
    assert first.code == 0, first.err
    assert "Purged 1 record whose retention had ended" in first.out
    assert f"XA-NPOL jti {files.short.jti}" in first.out
    assert "audit entry 0" in first.out
    assert ORIGIN in first.out
    second = cli(*purge_args(files, "--audit-db", files.audit_db))
    assert second.code == 0, second.err
    assert "Nothing to purge" in second.out
    assert len(audit_entries(files.audit_db)) == 1


def test_purge_never_prints_record_content(cli: Cli, files: Files) -> None:
    result = cli(*purge_args(files, "--audit-db", files.audit_db))
    for value in RECORD.values():
        if isinstance(value, str):
            assert value not in result.out


def test_purge_without_an_audit_log_warns(cli: Cli, files: Files) -> None:
    result = cli(*purge_args(files, "--json"))
    assert len(result.json()["purged"]) == 1
    assert result.json()["audit_log"] is None
    assert "warning: no --audit-db" in result.err


def test_purge_creates_the_audit_log_with_an_origin(cli: Cli, files: Files, tmp_path: Path) -> None:
    fresh = tmp_path / "new-audit.db"
    result = cli(*purge_args(files, "--audit-db", fresh, "--audit-origin", ORIGIN))
    assert result.code == 0, result.err
    assert audit_entries(fresh) == [("purge", files.short.jti, "XA-NPOL")]


def test_purge_refuses_an_audit_database_without_a_log_and_deletes_nothing(
    cli: Cli, files: Files, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    open_store(empty).close()
    message = cli(*purge_args(files, "--audit-db", empty)).error()
    assert "holds no audit log" in message
    missing = cli(*purge_args(files, "--audit-db", tmp_path / "missing.db")).error()
    assert "there is no database" in missing
    with open_store(files.db) as store:
        assert len(RetentionStore(store).entries()) == 2


def test_purge_refuses_a_missing_retention_database(cli: Cli, files: Files, tmp_path: Path) -> None:
    args = purge_args(files)
    args[args.index(files.db)] = tmp_path / "missing.db"
    assert "there is no retention database" in cli(*args).error()
    assert not (tmp_path / "missing.db").exists()


def test_purge_origin_without_audit_db(cli: Cli, files: Files) -> None:
    assert (
        "--audit-origin needs --audit-db"
        in cli(*purge_args(files, "--audit-origin", ORIGIN)).error()
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("--agency", "xb-pros"), ("--actor", ""), ("--now", "tomorrow"), ("--batch-size", "0")],
)
def test_purge_usage_errors(cli: Cli, files: Files, option: str, value: str) -> None:
    args = purge_args(files)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    assert option in cli(*args).usage_error()


def test_list_shows_metadata_and_status(cli: Cli, files: Files) -> None:
    at = NOW + timedelta(days=11)
    data = cli("retention", "list", "--db", files.db, "--now", rfc3339(at), "--json").json()
    assert [(e["jti"], e["status"]) for e in data] == [
        (files.short.jti, "review due"),
        (files.long.jti, "kept"),
    ]
    assert data[0]["review_at"] == rfc3339(NOW + timedelta(days=10))
    assert data[0]["retain_until"] == rfc3339(NOW + timedelta(days=30))
    assert data[1]["review_at"] is None
    text = cli("retention", "list", "--db", files.db, "--now", rfc3339(LATER))
    assert text.code == 0, text.err
    assert "2 records kept" in text.out
    assert "retention ended" in text.out
    for value in RECORD.values():
        if isinstance(value, str):
            assert value not in text.out + str(data)


def test_list_of_an_empty_store(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    open_store(db).close()
    result = cli("retention", "list", "--db", db)
    assert result.code == 0, result.err
    assert "No records are kept" in result.out


def test_list_refuses_a_missing_database(cli: Cli, tmp_path: Path) -> None:
    assert (
        "there is no retention database"
        in cli("retention", "list", "--db", tmp_path / "nope.db").error()
    )
