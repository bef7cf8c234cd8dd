"""``safeshare registry ...``: the draft, signing, verifying, showing."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from safeshare.audit.log import AuditLog
from safeshare.errors import KeyRevokedError
from safeshare.keys import VerifyKey, public_key_from_jwk
from safeshare.registry import RegistryDocument, TrustRegistry
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


@dataclass(frozen=True)
class World:
    """An initialised registry directory and two agencies' key files."""

    root: Path
    draft: Path
    authority_key: Path
    authority_jwks: Path
    keys: Path

    def jwks(self, agency: str) -> Path:
        return self.keys / f"{agency}.jwks.json"

    def kids(self, agency: str) -> list[str]:
        return [k["kid"] for k in json.loads(self.jwks(agency).read_text())["keys"]]

    def signed(self, name: str) -> Path:
        return self.root / name


AGENCIES = {
    "XA-NPOL": [
        "--name", "National Police of Arcadia",
        "--country", "XA",
        "--jurisdiction", "Republic of Arcadia",
        "--contact-name", "International Cooperation Unit",
        "--contact-email", "icu@npol.arcadia.example",
        "--contact-24-7-name", "Cybercrime 24/7",
        "--contact-24-7-phone", "+999 100 200",
        "--max-retention-days", "365",
        "--onward-transfer", "with_prior_authorisation",
        "--oversight-body", "Arcadian Data Protection Authority",
        "--instrument", "BUDAPEST-SAP2",
        "--instrument", "XA-XB-MLA-2024",
    ],
    "XB-PROS": [
        "--name", "Public Prosecutor of Borduria",
        "--country", "XB",
        "--jurisdiction", "Kingdom of Borduria",
        "--contact-name", "Legal Assistance Office",
        "--contact-phone", "+999 400 500",
        "--max-retention-days", "180",
        "--onward-transfer", "never",
        "--oversight-body", "Judicial Oversight Commission",
        "--instrument", "BUDAPEST-SAP2",
    ],
}  # fmt: skip


@pytest.fixture
def world(cli: Cli, tmp_path: Path, passphrase: str) -> World:
    root = tmp_path / "registry"
    result = cli("registry", "init", "--name", "Test Registry", "--out", root)
    assert result.code == 0, result.err
    for agency in AGENCIES:
        assert cli("keygen", "--agency", agency, "--out", tmp_path / "keys").code == 0
    return World(
        root=root,
        draft=root / "registry.draft.json",
        authority_key=root / "authority.keys.json",
        authority_jwks=root / "authority.jwks.json",
        keys=tmp_path / "keys",
    )


def add_agency(cli: Cli, world: World, agency: str, *extra: str) -> int:
    result = cli(
        "registry", "add-agency", "--draft", world.draft, "--id", agency,
        "--jwks", world.jwks(agency), *AGENCIES[agency], *extra,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result.code


def sign(cli: Cli, world: World, name: str, *extra: str) -> Path:
    out = world.signed(name)
    result = cli(
        "registry", "sign", "--draft", world.draft, "--authority-key", world.authority_key,
        "--out", out, *extra,
    )  # fmt: skip
    assert result.code == 0, result.err
    return out


def verify(cli: Cli, world: World, signed: Path, *extra: str | Path) -> dict[str, object]:
    result = cli(
        "registry", "verify", signed, "--authority", world.authority_jwks, "--json", *extra
    )
    info: dict[str, object] = result.json()
    return info


def test_init_creates_empty_draft_and_authority_key(cli: Cli, world: World) -> None:
    draft = RegistryDocument.load(world.draft)
    assert (draft.name, draft.serial, draft.agencies) == ("Test Registry", 0, ())
    (jwk,) = json.loads(world.authority_jwks.read_text())["keys"]
    assert jwk["use"] == "sig"
    assert world.authority_key.stat().st_mode & 0o777 == 0o600
    # init refuses to replace an existing registry
    before = world.draft.read_bytes()
    assert "already exist" in cli("registry", "init", "--name", "X", "--out", world.root).error()
    assert world.draft.read_bytes() == before


def test_whole_flow(cli: Cli, world: World) -> None:
    add_agency(cli, world, "XA-NPOL")
    add_agency(cli, world, "XB-PROS")
    result = cli(
        "registry", "sign", "--draft", world.draft, "--authority-key", world.authority_key,
        "--out", world.signed("r1.json"), "--json",
    )  # fmt: skip
    signed1 = result.json()
    assert signed1["serial"] == 1
    assert signed1["agencies"] == 2
    info = verify(cli, world, world.signed("r1.json"))
    assert (info["status"], info["serial"], info["agencies"]) == ("ok", 1, 2)
    assert info["expires_at"] == signed1["expires_at"]
    text = cli("registry", "verify", world.signed("r1.json"), "--authority", world.authority_jwks)
    assert text.code == 0
    assert text.out.startswith("OK: registry 'Test Registry' serial 1")

    sig_kid = world.kids("XA-NPOL")[0]
    revoked = cli(
        "registry", "revoke-key", "--draft", world.draft, "--agency", "XA-NPOL",
        f"--kid={sig_kid}", "--at", "2030-01-01T00:00:00+01:00", "--reason", "key compromise",
    )  # fmt: skip
    assert revoked.code == 0, revoked.err
    signed2 = sign(cli, world, "r2.json", "--valid-days", "7")
    info = verify(cli, world, signed2)
    assert info["serial"] == 2
    issued = datetime.fromisoformat(str(info["issued_at"]))
    assert datetime.fromisoformat(str(info["expires_at"])) - issued == timedelta(days=7)
    assert RegistryDocument.load(world.draft).serial == 2  # the next sign gives serial 3

    shown = cli("registry", "show", signed2, "--authority", world.authority_jwks)
    assert shown.code == 0, shown.err
    for fragment in (
        "serial 2",
        "XA-NPOL  National Police of Arcadia",
        "XB-PROS  Public Prosecutor of Borduria",
        "2029-12-31T23:00:00Z (key compromise)",
        "Cybercrime 24/7",
        "with_prior_authorisation",
        *world.kids("XA-NPOL"),
        *world.kids("XB-PROS"),
    ):
        assert fragment in shown.out
    document = cli("registry", "show", signed2, "--authority", world.authority_jwks, "--json")
    doc = document.json()
    assert doc["serial"] == 2
    (xa,) = [a for a in doc["agencies"] if a["id"] == "XA-NPOL"]
    assert [k["revoked_at"] for k in xa["keys"]] == ["2029-12-31T23:00:00Z", None]

    # what the CLI signed is what the library accepts, with the revocation in force
    (jwk,) = json.loads(world.authority_jwks.read_text())["keys"]
    authority = public_key_from_jwk(jwk)
    assert isinstance(authority, VerifyKey)
    registry = TrustRegistry.load(signed2, authority)
    registry.verify_key("XA-NPOL", sig_kid, at=datetime(2029, 12, 31, 22, 59, tzinfo=UTC))
    with pytest.raises(KeyRevokedError):
        registry.verify_key("XA-NPOL", sig_kid, at=datetime(2029, 12, 31, 23, 0, tzinfo=UTC))


def _flip_payload_byte(signed: Path) -> None:
    doc = json.loads(signed.read_text())
    payload = bytearray(base64.urlsafe_b64decode(doc["payload"] + "=" * (-len(doc["payload"]) % 4)))
    payload[len(payload) // 2] ^= 0x01
    doc["payload"] = base64.urlsafe_b64encode(bytes(payload)).rstrip(b"=").decode()
    signed.write_text(json.dumps(doc))


def test_tampered_signed_file_fails_verify(cli: Cli, world: World) -> None:
    add_agency(cli, world, "XA-NPOL")
    signed = sign(cli, world, "r1.json")
    assert verify(cli, world, signed)["status"] == "ok"
    _flip_payload_byte(signed)
    message = cli("registry", "verify", signed, "--authority", world.authority_jwks).error()
    assert "signature does not verify" in message
    cli("registry", "show", signed, "--authority", world.authority_jwks).error()


def test_wrong_authority_fails_verify(cli: Cli, world: World) -> None:
    signed = sign(cli, world, "r1.json")
    agency_jwks = world.jwks("XA-NPOL")  # one signing key, but not the authority's
    message = cli("registry", "verify", signed, "--authority", agency_jwks).error()
    assert "not by the pinned authority key" in message


def test_older_serial_after_newer_is_refused_with_state(
    cli: Cli, world: World, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    add_agency(cli, world, "XA-NPOL")
    signed1 = sign(cli, world, "r1.json")
    signed2 = sign(cli, world, "r2.json")
    assert verify(cli, world, signed1, "--state", state)["serial"] == 1
    assert verify(cli, world, signed2, "--state", state)["serial"] == 2
    result = cli(
        "registry", "verify", signed1, "--authority", world.authority_jwks, "--state", state
    )
    assert "serial 1 is older than serial 2" in result.error()
    assert "hint: " in result.err
    # the same serial again is fine, and without the state the old file still verifies
    assert verify(cli, world, signed2, "--state", state)["serial"] == 2
    assert verify(cli, world, signed1)["serial"] == 1


@pytest.mark.parametrize(
    "bad_time",
    ["yesterday", "2026-11-29T05:00:00", "2026-11-29", "2026-02-30T05:00:00Z", "2026-11-29T05:00Z"],
)
def test_bad_time_is_a_usage_error_and_draft_unchanged(
    cli: Cli, world: World, bad_time: str
) -> None:
    add_agency(cli, world, "XA-NPOL")
    before = world.draft.read_bytes()
    last = cli(
        "registry", "revoke-key", "--draft", world.draft, "--agency", "XA-NPOL",
        "--kid=" + world.kids("XA-NPOL")[0], "--at", bad_time,
    ).usage_error()  # fmt: skip
    assert "argument --at" in last
    assert repr(bad_time) in last
    assert world.draft.read_bytes() == before


def test_unknown_agency_and_bad_agency_id(cli: Cli, world: World) -> None:
    add_agency(cli, world, "XA-NPOL")
    before = world.draft.read_bytes()
    kid = world.kids("XA-NPOL")[0]
    message = cli(
        "registry", "revoke-key", "--draft", world.draft, "--agency", "XC-NONE", f"--kid={kid}"
    ).error()
    assert "'XC-NONE' is not in registry 'Test Registry'" in message
    assert (
        "XC-NONE"
        in cli("registry", "suspend", "--draft", world.draft, "--agency", "XC-NONE").error()
    )
    last = cli("registry", "suspend", "--draft", world.draft, "--agency", "npol").usage_error()
    assert "not a valid agency id" in last
    last = cli(
        "registry", "add-agency", "--draft", world.draft, "--id", "Arcadia Police",
        "--jwks", world.jwks("XB-PROS"), *AGENCIES["XB-PROS"],
    ).usage_error()  # fmt: skip
    assert "argument --id" in last
    assert world.draft.read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--country", "XA"], "must start with its country code XA-"),
        (["--contact-email", "not an email"], "contact.email"),
        (["--instrument", "lower case"], "accepted_instruments"),
        (["--contact-24-7-email", "ops@example.org"], "--contact-24-7-name"),
    ],
)
def test_failed_add_agency_leaves_draft_byte_identical(
    cli: Cli, world: World, extra: list[str], fragment: str
) -> None:
    add_agency(cli, world, "XA-NPOL")
    before = world.draft.read_bytes()
    message = cli(
        "registry", "add-agency", "--draft", world.draft, "--id", "XB-PROS",
        "--jwks", world.jwks("XB-PROS"), *AGENCIES["XB-PROS"], *extra,
    ).error()  # fmt: skip
    assert fragment in message
    assert world.draft.read_bytes() == before


def test_adding_an_agency_twice_or_its_keys_to_another_fails(cli: Cli, world: World) -> None:
    add_agency(cli, world, "XA-NPOL")
    before = world.draft.read_bytes()
    message = cli(
        "registry", "add-agency", "--draft", world.draft, "--id", "XA-NPOL",
        "--jwks", world.jwks("XA-NPOL"), *AGENCIES["XA-NPOL"],
    ).error()  # fmt: skip
    assert "already in the registry" in message
    message = cli(
        "registry", "add-agency", "--draft", world.draft, "--id", "XB-PROS",
        "--jwks", world.jwks("XA-NPOL"), *AGENCIES["XB-PROS"],
    ).error()  # fmt: skip
    assert "listed for both" in message
    assert world.draft.read_bytes() == before


def test_wrong_passphrase_on_sign(cli: Cli, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    add_agency(cli, world, "XA-NPOL")
    before = world.draft.read_bytes()
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", "not the right passphrase")
    out = world.signed("r1.json")
    result = cli(
        "registry", "sign", "--draft", world.draft, "--authority-key", world.authority_key,
        "--out", out,
    )  # fmt: skip
    assert "passphrase is wrong" in result.error()
    assert "not the right passphrase" not in result.err
    assert not out.exists()
    assert world.draft.read_bytes() == before


def test_add_key_for_a_rotation(cli: Cli, world: World, tmp_path: Path) -> None:
    add_agency(cli, world, "XA-NPOL")
    rotated = tmp_path / "rotated"
    assert cli("keygen", "--agency", "XA-NPOL", "--out", rotated).code == 0
    new_jwks = rotated / "XA-NPOL.jwks.json"
    new_sig, new_enc = [k["kid"] for k in json.loads(new_jwks.read_text())["keys"]]

    before = world.draft.read_bytes()
    message = cli(
        "registry", "add-key", "--draft", world.draft, "--agency", "XA-NPOL",
        "--jwks", new_jwks, "--not-before", "2030-01-01T00:00:00Z",
        "--not-after", "2029-01-01T00:00:00Z",
    ).error()  # fmt: skip
    assert "not_after must be later than not_before" in message
    message = cli(
        "registry", "add-key", "--draft", world.draft, "--agency", "XA-NPOL",
        "--jwks", new_jwks, "--kid=-" + "A" * 42,  # a kid may begin with '-'
    ).error()  # fmt: skip
    assert "has no key '-AAAA" in message
    assert world.draft.read_bytes() == before

    result = cli(
        "registry", "add-key", "--draft", world.draft, "--agency", "XA-NPOL",
        "--jwks", new_jwks, f"--kid={new_enc}", "--not-before", "2030-01-01T00:00:00Z",
    )  # fmt: skip
    assert result.code == 0, result.err
    keys = RegistryDocument.load(world.draft).agency("XA-NPOL").keys
    assert [k.kid for k in keys] == [*world.kids("XA-NPOL"), new_enc]
    assert keys[-1].not_before == datetime(2030, 1, 1, tzinfo=UTC)

    # without --kid: every key not registered yet (only the new signing key is left)
    result = cli(
        "registry", "add-key", "--draft", world.draft, "--agency", "XA-NPOL", "--jwks", new_jwks
    )
    assert result.code == 0, result.err
    assert [k.kid for k in RegistryDocument.load(world.draft).agency("XA-NPOL").keys][-1] == new_sig
    message = cli(
        "registry", "add-key", "--draft", world.draft, "--agency", "XA-NPOL", "--jwks", new_jwks
    ).error()
    assert "already registered" in message


def test_revocation_cannot_be_moved_later(cli: Cli, world: World) -> None:
    add_agency(cli, world, "XA-NPOL")
    kid = world.kids("XA-NPOL")[1]
    base: list[str | Path] = [
        "registry",
        "revoke-key",
        "--draft",
        world.draft,
        "--agency",
        "XA-NPOL",
        f"--kid={kid}",
    ]
    assert cli(*base, "--at", "2030-01-01T00:00:00Z").code == 0
    before = world.draft.read_bytes()
    assert "already revoked" in cli(*base, "--at", "2031-01-01T00:00:00Z").error()
    assert world.draft.read_bytes() == before
    assert cli(*base, "--at", "2029-06-01T00:00:00Z").code == 0
    (entry,) = [
        k for k in RegistryDocument.load(world.draft).agency("XA-NPOL").keys if k.kid == kid
    ]
    assert entry.revoked_at == datetime(2029, 6, 1, tzinfo=UTC)
    assert "has no key" in cli(*base[:-1], "--kid=" + "B" * 43).error()


def test_suspend_and_reinstate(cli: Cli, world: World) -> None:
    add_agency(cli, world, "XB-PROS")
    draft: list[str | Path] = ["--draft", world.draft, "--agency", "XB-PROS"]
    assert "not suspended" in cli("registry", "reinstate", *draft).error()
    suspended = cli(
        "registry", "suspend", *draft, "--at", "2030-01-01T00:00:00Z", "--reason", "audit"
    )
    assert suspended.code == 0, suspended.err
    assert "already suspended" in cli("registry", "suspend", *draft).error()
    signed = sign(cli, world, "r1.json")
    shown = cli("registry", "show", signed, "--authority", world.authority_jwks)
    assert "suspended from 2030-01-01T00:00:00Z (audit)" in shown.out
    assert (
        "lifted after it started"
        in cli("registry", "reinstate", *draft, "--at", "2029-12-31T00:00:00Z").error()
    )
    assert cli("registry", "reinstate", *draft, "--at", "2030-02-01T00:00:00Z").code == 0
    agency = RegistryDocument.load(world.draft).agency("XB-PROS")
    assert agency.open_suspension is None
    assert [(p.start.month, p.end.month if p.end else None) for p in agency.suspensions] == [(1, 2)]


def test_sign_options_are_checked(cli: Cli, world: World) -> None:
    base: list[str | Path] = [
        "registry",
        "sign",
        "--draft",
        world.draft,
        "--authority-key",
        world.authority_key,
    ]
    assert (
        "--valid-days"
        in cli(*base, "--out", world.signed("x.json"), "--valid-days", "0").usage_error()
    )
    before = world.draft.read_bytes()
    assert "must not be the draft" in cli(*base, "--out", world.draft).error()
    assert world.draft.read_bytes() == before
    missing = world.root / "missing.draft.json"
    message = cli("registry", "sign", "--draft", missing, "--authority-key", world.authority_key,
                  "--out", world.signed("x.json")).error()  # fmt: skip
    assert "does not exist" in message


def _audit_entries(db: Path) -> list[tuple[str, str, str | None]]:
    with open_store(db) as store:
        return [(e.action, e.actor, e.reason) for _, e in AuditLog.open(store).entries()]


def test_verify_with_audit_db_records_each_accepted_version(
    cli: Cli, world: World, tmp_path: Path
) -> None:
    state, db = tmp_path / "state.json", tmp_path / "xa.audit.db"
    accept = ("--state", state, "--audit-db", db, "--actor", "XA-NPOL registry client")
    add_agency(cli, world, "XA-NPOL")
    add_agency(cli, world, "XB-PROS")
    signed1 = sign(cli, world, "r1.json")
    first = verify(
        cli, world, signed1, *accept, "--agency", "XA-NPOL", "--audit-network", "test.example"
    )
    assert first["audit_index"] == 0
    ((action, actor, reason),) = _audit_entries(db)
    assert (action, actor) == ("registry_update", "XA-NPOL registry client")
    assert reason == (
        f"accepted trust registry serial 1 (sha256 {first['sha256']}, "
        f"authority key {first['authority_kid']})"
    )

    # the same version again is not a new acceptance: nothing recorded
    again = cli("registry", "verify", signed1, "--authority", world.authority_jwks, *accept)
    assert again.code == 0, again.err
    assert "Serial 1 was already accepted; nothing recorded" in again.out
    assert len(_audit_entries(db)) == 1

    # serial 2 suspends XB-PROS; with --previous the entry names the change
    assert cli(
        "registry", "suspend", "--draft", world.draft, "--agency", "XB-PROS",
        "--at", "2030-01-01T00:00:00Z", "--reason", "breach under review",
    ).code == 0  # fmt: skip
    signed2 = sign(cli, world, "r2.json")
    text = cli(
        "registry", "verify", signed2, "--authority", world.authority_jwks, *accept,
        "--previous", signed1,
    )  # fmt: skip
    assert text.code == 0, text.err
    assert "Recorded the acceptance as entry #1 of the audit log" in text.out
    (_, _, reason2) = _audit_entries(db)[1]
    assert reason2 is not None
    assert "accepted trust registry serial 2" in reason2
    assert reason2.endswith("replaces serial 1: XB-PROS suspended from 2030-01-01T00:00:00Z")
    assert "breach" not in reason2

    # a rollback is refused before anything is recorded
    message = cli(
        "registry", "verify", signed1, "--authority", world.authority_jwks, *accept
    ).error()
    assert "serial 1 is older than serial 2" in message
    assert len(_audit_entries(db)) == 2


def test_verify_audit_options_are_checked(cli: Cli, world: World, tmp_path: Path) -> None:
    state, db = tmp_path / "state.json", tmp_path / "xa.audit.db"
    add_agency(cli, world, "XA-NPOL")
    signed1 = sign(cli, world, "r1.json")
    signed2 = sign(cli, world, "r2.json")
    base = ("registry", "verify", signed2, "--authority", world.authority_jwks)
    assert "give --audit-db" in cli(*base, "--actor", "someone").error()
    assert "needs --state" in cli(*base, "--audit-db", db, "--actor", "someone").error()
    assert "needs --state" in cli(*base, "--audit-db", db, "--state", state).error()
    # no audit log there yet, and no --agency to create one
    assert (
        "holds no agency's audit log yet"
        in cli(*base, "--audit-db", db, "--state", state, "--actor", "someone").error()
    )
    assert not state.exists()  # nothing accepted without its entry
    # --previous must be the version --state remembers
    assert verify(cli, world, signed1, "--state", state)["serial"] == 1
    signed3 = sign(cli, world, "r3.json")
    message = cli(
        "registry", "verify", signed3, "--authority", world.authority_jwks, "--state", state,
        "--audit-db", db, "--agency", "XA-NPOL", "--audit-network", "test.example",
        "--actor", "someone", "--previous", signed2,
    ).error()  # fmt: skip
    assert "--previous is registry serial 2, but the version accepted before" in message
