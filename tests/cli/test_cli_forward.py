"""``safeshare open --forward-to``: onward transfer from the command line.

The originator's consent is required (default conditions: onward transfer with
prior authorisation); a refused forward still shows what was opened (the open
succeeded and is recorded) and exits 1; a permitted one writes an envelope that
the next agency opens with its provenance.
"""

from __future__ import annotations

import json
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
    open_as,
    record_file,
    seal_args,
    world,
)

from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

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
