"""``safeshare consent``: grant and revoke (originator), add, list and check (holder).

The world is a fixed network (four agencies, a registry issued at :data:`NOW`
and valid 30 days) written to files once per session; every command runs
with ``--now``. Each test uses its own consent database and output files.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from safeshare._internal import fs
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._testnet import TestNetwork, build
from safeshare.audit.log import AuditLog
from safeshare.cli._common import json_text
from safeshare.keys import AgencyKeySet
from safeshare.purpose.consent import verify_grant, verify_revocation
from safeshare.registry import sign_registry
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli, CliResult

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
LATER_TEXT: Final = "2026-12-01T12:00:00Z"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
XD: Final = "XD-FIU"
PASSPHRASE: Final = "consent world passphrase"
DIGEST: Final = hashlib.sha256(b"the envelope XA-NPOL sealed to XB-PROS").hexdigest()
ENVELOPE_JTI: Final = b64u_encode(b"envelope-jti-042")


@dataclass(frozen=True)
class World:
    root: Path
    network: TestNetwork
    authority: Path
    registry: Path
    #: Serial 2: XB-PROS suspended from NOW.
    suspended_registry: Path

    def key(self, agency: str) -> Path:
        return self.root / f"{agency}.keys.json"

    def registry_args(
        self, *, now: str = NOW_TEXT, registry: Path | None = None
    ) -> list[str | Path]:
        return [
            "--registry", registry or self.registry,
            "--authority", self.authority,
            "--now", now,
        ]  # fmt: skip


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("consent-world")
    network = build(NOW, agencies=(XA, XB, XC, XD))
    authority = root / "authority.jwks.json"
    fs.atomic_write(authority, json_text({"keys": [network.authority.public.to_jwk()]}).encode())
    registry = root / "registry-1.json"
    fs.atomic_write(registry, network.signed)
    for agency, keyset in network.keysets.items():
        keyset.save(root / f"{agency}.keys.json", PASSPHRASE)
    AgencyKeySet.generate("XE-POL").save(root / "XE-POL.keys.json", PASSPHRASE)
    doc = network.document.with_suspension(XB, at=NOW, reason="safeguards under review")
    suspended = root / "registry-2.json"
    fs.atomic_write(
        suspended,
        sign_registry(doc.next_version(now=NOW, valid_for=timedelta(days=30)), network.authority),
    )
    return World(root, network, authority, registry, suspended)


@pytest.fixture(autouse=True)
def _world_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", PASSPHRASE)


def grant(
    cli: Cli,
    world: World,
    *scope: str,
    originator: str = XA,
    holder: str = XB,
    now: str = NOW_TEXT,
    registry: Path | None = None,
    extra: tuple[str | Path, ...] = (),
) -> CliResult:
    return cli(
        "consent", "grant",
        "--key", world.key(originator),
        *world.registry_args(now=now, registry=registry),
        "--holder", holder,
        "--envelope-jti", ENVELOPE_JTI,
        "--envelope-digest", DIGEST,
        *(scope or ("--scope", "onward_transfer", "--onward-recipient", XC)),
        *extra,
    )  # fmt: skip


def add(cli: Cli, world: World, db: Path, token: Path | str, *, now: str = NOW_TEXT) -> CliResult:
    return cli("consent", "add", "--db", db, *world.registry_args(now=now), token)


def check(cli: Cli, db: Path, *scope: str, now: str = NOW_TEXT, originator: str = XA) -> CliResult:
    return cli(
        "consent", "check",
        "--db", db,
        "--envelope-digest", DIGEST,
        "--holder", XB,
        "--originator", originator,
        *(scope or ("--scope", "onward_transfer", "--onward-recipient", XC)),
        "--now", now,
    )  # fmt: skip


def claims_of(token: str) -> dict[str, object]:
    value = json.loads(b64u_decode(token.split(".")[1]))
    assert isinstance(value, dict)
    return value


# -- the round trip -----------------------------------------------------------------------------


def test_grant_add_check_revoke_round_trip(cli: Cli, world: World, tmp_path: Path) -> None:
    token_file = tmp_path / "grant.jwt"
    granted = grant(
        cli,
        world,
        extra=(
            "--valid-days",
            "10",
            "--condition",
            "Only for case XB-2026-0117.",
            "--out",
            token_file,
        ),
    )
    assert granted.code == 0, granted.err
    token = token_file.read_text().removesuffix("\n")
    grant_id = str(claims_of(token)["jti"])
    assert granted.out.splitlines() == [
        f"Granted consent {grant_id}",
        f"  {XA} -> {XB}: onward transfer to {XC}",
        f"  envelope: jti {ENVELOPE_JTI}, digest {DIGEST}",
        "  valid: 2026-11-29T12:00:00Z until 2026-12-09T12:00:00Z",
        "  condition: Only for case XB-2026-0117.",
        f"  written to {token_file}",
    ]

    db = tmp_path / "xb-consent.db"
    added = add(cli, world, db, token_file)
    assert added.code == 0, added.err
    assert added.out.startswith(f"Recorded consent grant {grant_id}\n")
    assert add(cli, world, db, token_file).code == 0  # idempotent

    allowed = check(cli, db, now=LATER_TEXT)
    assert allowed.code == 0, allowed.err
    assert allowed.out.startswith(f"Consent {grant_id} allows onward transfer to {XC}\n")

    elsewhere = check(cli, db, "--scope", "onward_transfer", "--onward-recipient", XD)
    message = elsewhere.error()
    assert message.startswith(
        f"consent missing: {XB} holds no valid consent of {XA} to the onward transfer to {XD}"
    )
    assert f"grant {grant_id} of {XA} (onward transfer to {XC}) is for another use" in message
    assert elsewhere.out == ""

    revocation_file = tmp_path / "revocation.jwt"
    revoked = cli(
        "consent", "revoke",
        "--key", world.key(XA),
        f"--grant-id={grant_id}",
        "--reason", "case closed",
        "--now", LATER_TEXT,
        "--out", revocation_file,
    )  # fmt: skip
    assert revoked.code == 0, revoked.err
    assert revoked.out.startswith(f"Revoked consent grant {grant_id} of {XA}\n")
    recorded = add(cli, world, db, revocation_file, now=LATER_TEXT)
    assert recorded.code == 0, recorded.err
    assert recorded.out == (
        f"Recorded the revocation of consent grant {grant_id} by {XA} (case closed)\n"
    )
    refused = check(cli, db, now=LATER_TEXT).error()
    assert "was revoked at 2026-12-01T12:00:00Z: case closed" in refused

    listed = cli("consent", "list", "--db", db, "--envelope-digest", DIGEST, "--now", LATER_TEXT)
    assert listed.code == 0, listed.err
    assert f"{grant_id}: revoked" in listed.out
    assert "  revoked at 2026-12-01T12:00:00Z: case closed" in listed.out


def test_grant_to_stdout_is_the_token_alone(cli: Cli, world: World) -> None:
    result = grant(cli, world, "--scope", "purpose", "--purpose", "prosecution")
    assert result.code == 0, result.err
    assert result.out.count("\n") == 1
    token = result.out.removesuffix("\n")
    verified = verify_grant(token, registry=world.network.registry, now=NOW)
    assert (verified.scope, verified.purpose, verified.onward_recipient) == (
        "purpose",
        "prosecution",
        None,
    )
    assert verified.expires_at == NOW + timedelta(days=30)  # the default
    assert verified.envelope_digest == DIGEST
    assert verified.holder == XB


def test_revoke_to_stdout(cli: Cli, world: World) -> None:
    result = cli(
        "consent", "revoke", "--key", world.key(XA), "--grant-id", ENVELOPE_JTI, "--now", NOW_TEXT
    )  # fmt: skip
    assert result.code == 0, result.err
    revocation = verify_revocation(
        result.out.removesuffix("\n"), registry=world.network.registry, now=NOW
    )
    assert (revocation.originator, revocation.grant_id, revocation.reason) == (
        XA,
        ENVELOPE_JTI,
        None,
    )


def test_an_id_that_starts_with_a_dash(cli: Cli, world: World) -> None:
    grant_id = "-" + ENVELOPE_JTI[1:]
    result = cli(
        "consent", "revoke", "--key", world.key(XA), f"--grant-id={grant_id}", "--now", NOW_TEXT
    )  # fmt: skip
    assert result.code == 0, result.err
    assert claims_of(result.out.strip())["grant_id"] == grant_id


def test_add_from_stdin_and_list_as_json(
    cli: Cli, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = grant(cli, world, "--scope", "evidential_use").out
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(token.encode()), encoding="utf-8")
    )
    db = tmp_path / "consent.db"
    assert add(cli, world, db, "-").code == 0
    listed = cli(
        "consent", "list", "--db", db, "--envelope-digest", DIGEST, "--now", NOW_TEXT, "--json"
    ).json()
    assert len(listed) == 1
    entry = listed[0]
    assert entry["status"] == "valid"
    assert entry["scope"] == "evidential_use"
    assert entry["purpose"] is None
    assert entry["onward_recipient"] is None
    assert entry["token"] == token.removesuffix("\n")
    later = cli(
        "consent", "list", "--db", db, "--envelope-digest", DIGEST, "--now", "2027-01-01T00:00:00Z",
        "--json",
    ).json()  # fmt: skip
    assert later[0]["status"] == "expired"
    assert check(cli, db, "--scope", "evidential_use").code == 0


def test_list_of_an_envelope_without_grants(cli: Cli, tmp_path: Path) -> None:
    result = cli("consent", "list", "--db", tmp_path / "c.db", "--envelope-digest", DIGEST)
    assert result.code == 0, result.err
    assert result.out == f"No consent grants recorded for envelope {DIGEST}\n"


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (("--scope", "purpose"), "--scope purpose needs --purpose CODE"),
        (("--scope", "onward_transfer"), "--scope onward_transfer needs --onward-recipient"),
        (("--scope", "evidential_use", "--purpose", "prosecution"), "--purpose is only used"),
        (
            ("--scope", "purpose", "--onward-recipient", XC),
            "--onward-recipient is only used with --scope onward_transfer",
        ),
    ],
)
def test_grant_scope_mistakes(cli: Cli, world: World, scope: tuple[str, ...], message: str) -> None:
    result = grant(cli, world, *scope)
    assert message in result.error()
    assert result.out == ""


@pytest.mark.parametrize(
    "args",
    [
        ("--scope", "purpose", "--purpose", "prosecution", "--onward-recipient", XC),
        ("--scope", "everything"),
        ("--scope", "purpose", "--purpose", "Prosecution"),
        ("--scope", "evidential_use", "--valid-days", "366"),
        ("--scope", "evidential_use", "--valid-days", "0"),
        ("--scope", "evidential_use", "--condition", "two\nlines"),
    ],
)
def test_grant_usage_errors(cli: Cli, world: World, args: tuple[str, ...]) -> None:
    grant(cli, world, *args).usage_error()


def test_grant_bad_envelope_reference_is_a_usage_error(cli: Cli, world: World) -> None:
    result = cli(
        "consent", "grant", "--key", world.key(XA), *world.registry_args(),
        "--holder", XB, "--envelope-jti", ENVELOPE_JTI, "--envelope-digest", DIGEST.upper(),
        "--scope", "evidential_use",
    )  # fmt: skip
    assert "64 lower-case hex digits" in result.usage_error()


def test_grant_to_the_originator_itself(cli: Cli, world: World) -> None:
    assert "is the originator XA-NPOL itself" in grant(cli, world, holder=XA).error()


def test_grant_to_a_suspended_holder(cli: Cli, world: World) -> None:
    message = grant(cli, world, registry=world.suspended_registry).error()
    assert f"transfers with agency {XB} are suspended" in message


def test_grant_onward_to_a_suspended_agency(cli: Cli, world: World) -> None:
    message = grant(
        cli,
        world,
        "--scope", "onward_transfer", "--onward-recipient", XB,
        holder=XC,
        registry=world.suspended_registry,
    ).error()  # fmt: skip
    assert f"transfers with agency {XB} are suspended" in message


def test_grant_by_an_agency_outside_the_registry(cli: Cli, world: World, tmp_path: Path) -> None:
    out = tmp_path / "grant.jwt"
    message = grant(cli, world, originator="XE-POL", extra=("--out", out)).error()
    assert "XE-POL" in message
    assert not out.exists()  # nothing the holder would refuse is handed out


def test_grant_does_not_overwrite(cli: Cli, world: World, tmp_path: Path) -> None:
    out = tmp_path / "grant.jwt"
    out.write_text("keep")
    assert "already exists" in grant(cli, world, extra=("--out", out)).error()
    assert out.read_text() == "keep"
    assert grant(cli, world, extra=("--out", out, "--force")).code == 0
    assert out.read_text() != "keep"


def test_add_refuses_a_tampered_grant(cli: Cli, world: World, tmp_path: Path) -> None:
    token = grant(cli, world).out.removesuffix("\n")
    protected, payload, signature = token.split(".")
    other = grant(cli, world, holder=XD).out.removesuffix("\n").split(".")[1]
    assert payload != other
    bad = tmp_path / "bad.jwt"
    bad.write_text(f"{protected}.{other}.{signature}\n")
    db = tmp_path / "consent.db"
    assert "does not verify" in add(cli, world, db, bad).error()
    listed = cli("consent", "list", "--db", db, "--envelope-digest", DIGEST).out
    assert listed.startswith("No consent grants recorded")


def test_add_refuses_what_is_no_consent_token(cli: Cli, world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jwt"
    bad.write_text("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.e30.\n")
    message = add(cli, world, tmp_path / "consent.db", bad).error()
    assert "neither a consent grant nor a consent revocation" in message
    empty = tmp_path / "empty.jwt"
    empty.write_text("\n")
    assert "is empty" in add(cli, world, tmp_path / "consent.db", empty).error()


def test_a_revocation_by_another_agency_is_refused(cli: Cli, world: World, tmp_path: Path) -> None:
    token_file = tmp_path / "grant.jwt"
    assert grant(cli, world, extra=("--out", token_file)).code == 0
    grant_id = str(claims_of(token_file.read_text().strip())["jti"])
    db = tmp_path / "consent.db"
    assert add(cli, world, db, token_file).code == 0
    foreign = tmp_path / "foreign-revocation.jwt"
    result = cli(
        "consent", "revoke", "--key", world.key(XC), f"--grant-id={grant_id}",
        "--now", NOW_TEXT, "--out", foreign,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert (
        f"{XC} cannot revoke it (only the originator can)" in add(cli, world, db, foreign).error()
    )
    assert check(cli, db).code == 0


def test_check_names_the_missing_consent(cli: Cli, world: World, tmp_path: Path) -> None:
    db = tmp_path / "consent.db"
    message = check(cli, db, "--scope", "purpose", "--purpose", "prosecution").error()
    assert message.startswith(
        f"consent missing: {XB} holds no valid consent of {XA} to the use for purpose "
        f"'prosecution' of the data of envelope {DIGEST[:16]}"
    )
    assert message.endswith("no consent of any kind is on file for this envelope and holder")


def test_help_lists_the_subcommands(cli: Cli) -> None:
    result = cli("consent", "--help")
    assert result.code == 0
    for name in ("grant", "revoke", "add", "list", "check"):
        assert name in result.out
    assert "required" in cli("consent").usage_error()


# -- the audit log ------------------------------------------------------------------------------


def audit_actions(db: Path) -> list[tuple[str, str, str | None]]:
    with open_store(db) as store:
        return [(e.action, e.agency, e.jti) for _, e in AuditLog.open(store).entries()]


def test_grant_revoke_and_add_record_in_the_audit_logs(
    cli: Cli, world: World, tmp_path: Path
) -> None:
    xa_audit, xb_audit = tmp_path / "xa-audit.db", tmp_path / "xb-audit.db"
    audit = ("--audit-network", "safeshare.example", "--actor", "officer 1")
    token_file = tmp_path / "grant.jwt"
    result = grant(cli, world, extra=("--out", token_file, "--audit-db", xa_audit, *audit))
    assert result.code == 0, result.err
    assert "recorded: entry 0 of the audit log safeshare.example/XA-NPOL/audit" in result.out
    grant_id = str(claims_of(token_file.read_text().strip())["jti"])
    db = tmp_path / "consent.db"
    result = cli(
        "consent", "add", "--db", db, *world.registry_args(), token_file,
        "--audit-db", xb_audit, "--agency", XB, *audit,
    )  # fmt: skip
    assert result.code == 0, result.err
    revocation = tmp_path / "revocation.jwt"
    result = cli(
        "consent", "revoke", "--key", world.key(XA), f"--grant-id={grant_id}",
        "--now", NOW_TEXT, "--out", revocation, "--audit-db", xa_audit, "--actor", "officer 1",
    )  # fmt: skip
    assert result.code == 0, result.err
    # The holder's log exists now: its agency comes from the log.
    result = cli(
        "consent", "add", "--db", db, *world.registry_args(), revocation,
        "--audit-db", xb_audit, "--actor", "officer 2",
    )  # fmt: skip
    assert result.code == 0, result.err
    bad = tmp_path / "bad.jwt"
    bad.write_text("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.e30.\n")
    result = cli(
        "consent", "add", "--db", db, *world.registry_args(), bad,
        "--audit-db", xb_audit, "--actor", "officer 2",
    )  # fmt: skip
    assert result.code != 0
    assert audit_actions(xa_audit) == [
        ("consent_grant", XA, grant_id),
        ("consent_revoke", XA, grant_id),
    ]
    assert audit_actions(xb_audit) == [
        ("consent_grant", XB, grant_id),
        ("consent_revoke", XB, grant_id),
        ("deny", XB, None),
    ]


def test_audit_options_go_together(cli: Cli, world: World, tmp_path: Path) -> None:
    token_file = tmp_path / "grant.jwt"
    assert grant(cli, world, extra=("--out", token_file)).code == 0
    db = tmp_path / "consent.db"
    base = ("consent", "add", "--db", db, *world.registry_args(), token_file)
    assert "--audit-db needs --actor" in cli(*base, "--audit-db", tmp_path / "a.db").error()
    assert "give --audit-db too" in cli(*base, "--actor", "x").error()
    assert "give --audit-db too" in cli(*base, "--agency", XB).error()
    message = cli(*base, "--audit-db", tmp_path / "a.db", "--actor", "x").error()
    assert "holds no agency's audit log yet" in message
