"""``safeshare open --forward-to`` and ``open --hold`` + ``forward``: onward transfer.

The originator's consent is required (default conditions: onward transfer with
prior authorisation); a refused forward still shows what was opened (the open
succeeded and is recorded) and exits 1; a permitted one writes an envelope that
the next agency opens with its provenance. ``open --hold FILE`` keeps a held
copy (mode 0600) that ``safeshare forward`` re-opens and forwards days later.
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cli.test_cli_envelope import (
    NETWORK,
    NOW,
    XA,
    XB,
    XC,
    World,
    _world_passphrase,
    audit_db_for,
    audit_entries,
    open_as,
    record_file,
    seal_args,
    world,
)

from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli, CliResult

__all__ = ["_world_passphrase", "record_file", "world"]


def seal_recorded(cli: Cli, world: World, record: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """Seal to XB-PROS, recorded in XA-NPOL's log; the envelope, its jti and digest."""
    out = tmp_path / "to-xb.json"
    audit: list[str | Path] = ["--audit-db", tmp_path / "xa.audit.db", "--audit-network", NETWORK]
    result = cli(*seal_args(world, record, extra=[*audit, "--actor", "clerk 1", "--out", out]))
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if "envelope id (jti)" in x)
    jti = line.split("(jti) ")[1].split(",")[0]
    digest = line.rsplit("digest ", 1)[1]
    return out, jti, digest


def test_seal_names_the_envelope_for_a_consent_grant(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    _, jti, digest = seal_recorded(cli, world, record_file, tmp_path)
    assert len(jti) == 22
    assert len(digest) == 64


def test_a_refused_forward_still_shows_the_open_and_exits_1(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, _, _ = seal_recorded(cli, world, record_file, tmp_path)
    out = tmp_path / "to-xc.json"
    result = open_as(
        cli, world, XB, envelope, tmp_path / "xb.db",
        "--forward-to", XC, "--disclose", "subscriber_name", "--forward-out", out,
    )  # fmt: skip
    assert result.code == 1
    assert "Opened envelope" in result.out
    assert f"onward transfer to {XC} was refused" in result.err
    assert "prior authorisation" in result.err
    assert not out.exists()


def test_forward_with_consent_reaches_the_next_agency_with_provenance(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, jti, digest = seal_recorded(cli, world, record_file, tmp_path)
    grant = issue_grant(
        originator=world.network.keysets[XA],
        holder=XB,
        envelope_jti=jti,
        envelope_digest=digest,
        scope="onward_transfer",
        onward_recipient=XC,
        valid_for=timedelta(days=2),
        now=NOW,
    )
    consent_db = tmp_path / "xb.consent.db"
    with open_store(consent_db) as store:
        ConsentStore(store).add(grant, registry=world.network.registry, now=NOW)
    out = tmp_path / "to-xc.json"
    result = open_as(
        cli, world, XB, envelope, tmp_path / "xb.db", "--consent-db", consent_db,
        "--forward-to", XC, "--disclose", "subscriber_name", "--forward-out", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"Forwarded subscriber_name to {XC}" in result.out
    at_c = open_as(cli, world, XC, out, tmp_path / "xc.db", "--json")
    assert at_c.code == 0, at_c.err
    claims = at_c.json()
    assert claims["record"] == {
        "subscriber_name": json.loads(record_file.read_text())["subscriber_name"]
    }
    assert [(h["forwarder"], h["recipient"]) for h in claims["provenance"]] == [(XB, XC)]
    assert claims["iss"] == XA


def test_forward_options_go_together(cli: Cli, world: World, tmp_path: Path) -> None:
    result = open_as(cli, world, XB, tmp_path / "none.json", tmp_path / "xb.db", "--forward-to", XC)
    assert "--disclose" in result.error()


# -- open --hold, then forward later ----------------------------------------------------------

#: Two days after the open: the officer decides to forward (the envelope lives 7 days).
LATER_TEXT = "2026-12-01T12:00:00Z"


def hold_at_b(cli: Cli, world: World, envelope: Path, tmp_path: Path) -> Path:
    held = tmp_path / "xb.held.json"
    result = open_as(cli, world, XB, envelope, tmp_path / "xb.db", "--hold", held)
    assert result.code == 0, result.err
    assert f"Held copy written to {held}" in result.out
    return held


def forward_held(
    cli: Cli, world: World, held: Path, out: Path, tmp_path: Path, *extra: str | Path
) -> CliResult:
    return cli(
        "forward", *world.common(XB, now=LATER_TEXT), held,
        "--to", XC, "--disclose", "subscriber_name", "--out", out,
        "--purpose", "criminal_investigation", "--actor", "officer 9",
        "--audit-db", audit_db_for(tmp_path / "xb.db", XB), *extra,
    )  # fmt: skip


def test_open_hold_writes_a_private_held_copy(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, _jti, _ = seal_recorded(cli, world, record_file, tmp_path)
    held = hold_at_b(cli, world, envelope, tmp_path)
    assert stat.S_IMODE(held.stat().st_mode) == 0o600
    doc = json.loads(held.read_text())
    assert doc["format"] == "safeshare-held/v1"
    assert doc["recipient"] == XB
    # An existing held copy is not replaced.
    again = open_as(cli, world, XB, envelope, tmp_path / "xb2.db", "--hold", held)
    assert "exists" in again.error()
    assert json.loads(held.read_text()) == doc


def test_a_refused_open_writes_no_held_copy(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, _, _ = seal_recorded(cli, world, record_file, tmp_path)
    held = tmp_path / "xb.held.json"
    result = open_as(
        cli, world, XB, envelope, tmp_path / "xb.db", "--hold", held, purpose="marketing"
    )
    result.error()
    assert not held.exists()


def test_forward_a_held_copy_later_with_consent_reaches_xc(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, jti, digest = seal_recorded(cli, world, record_file, tmp_path)
    held = hold_at_b(cli, world, envelope, tmp_path)
    # Re-opening the envelope itself is a replay; the held copy is what is left.
    assert "replay" in open_as(cli, world, XB, envelope, tmp_path / "xb.db").error().lower()
    grant = issue_grant(
        originator=world.network.keysets[XA],
        holder=XB,
        envelope_jti=jti,
        envelope_digest=digest,
        scope="onward_transfer",
        onward_recipient=XC,
        valid_for=timedelta(days=5),
        now=NOW,
    )
    consent_db = tmp_path / "xb.consent.db"
    with open_store(consent_db) as store:
        ConsentStore(store).add(grant, registry=world.network.registry, now=NOW)
    out = tmp_path / "to-xc.json"
    result = forward_held(cli, world, held, out, tmp_path, "--consent-db", consent_db)
    assert result.code == 0, result.err
    assert f"Forwarded subscriber_name of envelope {jti} from {XA} to {XC}" in result.out
    entries = audit_entries(audit_db_for(tmp_path / "xb.db", XB))
    actions = [(e.action, e.outcome) for e in entries]
    assert actions[-2:] == [("open", "success"), ("forward", "success")]
    assert (entries[-2].reason or "").startswith("re-opened a held copy")
    assert entries[-1].actor == "officer 9"
    at_c = open_as(cli, world, XC, out, tmp_path / "xc.db", "--json", now=LATER_TEXT)
    claims = at_c.json()
    assert claims["record"] == {
        "subscriber_name": json.loads(record_file.read_text())["subscriber_name"]
    }
    assert [(h["forwarder"], h["recipient"]) for h in claims["provenance"]] == [(XB, XC)]
    assert claims["iss"] == XA


def test_forward_a_held_copy_without_consent_is_refused_and_recorded(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, _, _ = seal_recorded(cli, world, record_file, tmp_path)
    held = hold_at_b(cli, world, envelope, tmp_path)
    out = tmp_path / "to-xc.json"
    result = forward_held(cli, world, held, out, tmp_path)
    assert "prior authorisation" in result.error()
    assert result.out == ""
    assert not out.exists()
    entries = audit_entries(audit_db_for(tmp_path / "xb.db", XB))
    assert [(e.action, e.outcome) for e in entries[-2:]] == [
        ("open", "success"),
        ("deny", "denied"),
    ]
    assert entries[-1].counterparty == XC


def test_forward_refuses_a_tampered_held_copy(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    envelope, _, _ = seal_recorded(cli, world, record_file, tmp_path)
    held = hold_at_b(cli, world, envelope, tmp_path)
    doc = json.loads(held.read_text())
    first, rest = doc["token"].split("~", 1)
    flipped = "A" if first[-10] != "A" else "B"  # inside the signature, still canonical
    doc["token"] = f"{first[:-10]}{flipped}{first[-9:]}~{rest}"
    held.write_text(json.dumps(doc))
    out = tmp_path / "to-xc.json"
    message = forward_held(cli, world, held, out, tmp_path).error()
    assert "signature" in message
    assert not out.exists()
    held.write_text('{"format": "safeshare-held/v9"}')
    assert "safeshare-held/v1" in forward_held(cli, world, held, out, tmp_path).error()


def test_forward_needs_an_audit_log(cli: Cli, world: World, tmp_path: Path) -> None:
    result = cli(
        "forward", *world.common(XB), tmp_path / "held.json", "--to", XC,
        "--disclose", "subscriber_name", "--out", tmp_path / "out.json",
        "--purpose", "criminal_investigation", "--actor", "officer 9",
    )  # fmt: skip
    assert "--audit-db" in result.error()
