"""``safeshare seal`` and ``safeshare open``: envelopes through the command line.

The world is a fixed network (three agencies, a registry issued at :data:`NOW`
and valid 30 days, keys valid from 30 days before) written to files once per
session; every command runs with ``--now`` so the tests do not depend on the
clock. Each test uses its own replay databases and output files.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

from safeshare._internal import fs, strictjson
from safeshare._internal.clock import rfc3339, to_unix
from safeshare._testnet import TestNetwork, build
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.cli._common import json_text
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore, issue_grant
from safeshare.registry import sign_registry
from safeshare.storage import open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli, CliResult

NOW: Final = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW_TEXT: Final = "2026-11-29T12:00:00Z"
XA: Final = "XA-NPOL"
XB: Final = "XB-PROS"
XC: Final = "XC-CUST"
#: The passphrase of the world's key files (set in the environment for every test).
WORLD_PASSPHRASE: Final = "envelope world passphrase"

CASE_REF: Final = "XB-2026-CYB-0117"
RECORD: Final[dict[str, Any]] = {
    "subscriber_name": "Ioana Vărzaru-Kowalczyk",
    "address": {"street": "Strada Exemplului 17", "city": "Arcadia City", "country": "XA"},
    "msisdn": "+999 555 0142",
    "imsi": "001010123456789",
    "contract_start": "2024-03-01",
    "payment_method": "prepaid, cash top-ups",
    "ip_at_registration": "192.0.2.44",
    "email": "i.varzaru@mail.example",
    "sim_cards": 2,
    "verified_identity": True,
    "previous_numbers": ["+999 555 0101", "+999 555 0102"],
}
HANDLING: Final[dict[str, Any]] = {
    "tlp": "RED",
    "handling_code": "H2",
    "retention": {"max_days": 180, "review_days": 90},
    "special_categories": ["health"],
    "acknowledgements": ["Use only in case XB-2026-CYB-0117."],
}


@dataclass(frozen=True)
class World:
    """The network's files: authority JWKS, signed registries, agencies' key files."""

    root: Path
    network: TestNetwork
    authority: Path
    registry: Path
    #: Serial 2: XB-PROS suspended from NOW.
    suspended_registry: Path

    def key(self, agency: str) -> Path:
        return self.root / f"{agency}.keys.json"

    def common(
        self, agency: str, *, now: str = NOW_TEXT, registry: Path | None = None
    ) -> list[str | Path]:
        return [
            "--key", self.key(agency),
            "--registry", registry or self.registry,
            "--authority", self.authority,
            "--now", now,
        ]  # fmt: skip


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("envelope-world")
    network = build(NOW, agencies=(XA, XB, XC))
    authority = root / "authority.jwks.json"
    fs.atomic_write(authority, json_text({"keys": [network.authority.public.to_jwk()]}).encode())
    registry = root / "registry-1.json"
    fs.atomic_write(registry, network.signed)
    for agency, keyset in network.keysets.items():
        keyset.save(root / f"{agency}.keys.json", WORLD_PASSPHRASE)
    doc = network.document.with_suspension(XB, at=NOW, reason="safeguards under review")
    suspended = root / "registry-2.json"
    fs.atomic_write(
        suspended,
        sign_registry(doc.next_version(now=NOW, valid_for=timedelta(days=30)), network.authority),
    )
    return World(root, network, authority, registry, suspended)


@pytest.fixture(autouse=True)
def _world_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", WORLD_PASSPHRASE)


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(RECORD, ensure_ascii=False), encoding="utf-8")
    return path


def seal_args(
    world: World,
    record: Path | str,
    *,
    sender: str = XA,
    to: Sequence[str] = (XB,),
    now: str = NOW_TEXT,
    extra: Sequence[str | Path] = (),
) -> list[str | Path]:
    recipients: list[str | Path] = []
    for agency in to:
        recipients += ["--to", agency]
    return [
        "seal", *world.common(sender, now=now), *recipients,
        "--purpose", "criminal_investigation",
        "--legal-basis", "BUDAPEST-2AP.Art7",
        "--case-ref", CASE_REF,
        "--type", "disclosure_response",
        *extra, record,
    ]  # fmt: skip


def sealed(
    cli: Cli,
    world: World,
    record: Path,
    out: Path,
    *,
    to: Sequence[str] = (XB,),
    extra: Sequence[str | Path] = (),
) -> Path:
    result = cli(*seal_args(world, record, to=to, extra=[*extra, "--out", out]))
    assert result.code == 0, result.err
    assert out.is_file()
    return out


#: Who opens envelopes in these tests, and the network of their audit logs.
ACTOR: Final = "officer 4711"
NETWORK: Final = "safeshare.example"
PURPOSE: Final = "criminal_investigation"


def audit_db_for(replay_db: Path | str, agency: str) -> Path:
    """The audit log database next to *replay_db* (one per agency, as deployed)."""
    return Path(str(replay_db).removeprefix("sqlite:///")).parent / f"{agency}.audit.db"


def open_as(
    cli: Cli,
    world: World,
    agency: str,
    envelope: Path | str,
    replay_db: Path | str,
    *extra: str | Path,
    now: str = NOW_TEXT,
    purpose: str = PURPOSE,
    audit: bool = True,
) -> CliResult:
    """``safeshare open`` as *agency* for *purpose*, recorded in its audit log (*audit*)."""
    recording: list[str | Path] = (
        ["--audit-db", audit_db_for(replay_db, agency), "--audit-network", NETWORK] if audit else []
    )
    return cli(
        "open", *world.common(agency, now=now), "--replay-db", replay_db,
        "--purpose", purpose, "--actor", ACTOR, *recording, *extra, envelope,
    )  # fmt: skip


def refused(result: CliResult) -> str:
    """An expected failure of ``open``: exit 1, one stderr line, nothing on stdout."""
    message = result.error()
    assert result.out == ""
    return message


def flip_ciphertext(source: Path, target: Path) -> Path:
    doc = json.loads(source.read_bytes())
    ciphertext: str = doc["ciphertext"]
    middle = len(ciphertext) // 2
    replacement = "A" if ciphertext[middle] != "A" else "B"
    doc["ciphertext"] = ciphertext[:middle] + replacement + ciphertext[middle + 1 :]
    target.write_text(json.dumps(doc))
    return target


def use_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# -- the round trip ----------------------------------------------------------------


def test_seal_to_two_recipients_both_open_to_identical_claims(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    handling = tmp_path / "handling.json"
    handling.write_text(json.dumps(HANDLING))
    out = tmp_path / "envelope.json"
    result = cli(
        *seal_args(world, record_file, to=(XB, XC), extra=["--handling", handling, "--out", out])
    )
    assert result.code == 0, result.err
    assert result.err == ""
    assert f"from {XA} to {XB}, {XC}" in result.out
    assert f"expires {rfc3339(NOW + timedelta(days=7))}" in result.out
    envelope = out.read_bytes()
    assert f"({len(envelope)} bytes" in result.out
    # Nothing of the record, purpose or case is visible without decrypting.
    for secret in (CASE_REF, "criminal_investigation", RECORD["msisdn"], RECORD["email"]):
        assert secret.encode() not in envelope

    acknowledge = ("--acknowledge", HANDLING["acknowledgements"][0])
    from_xb = open_as(cli, world, XB, out, tmp_path / "xb.db", "--json", *acknowledge)
    from_xc = open_as(cli, world, XC, out, tmp_path / "xc.db", "--json", *acknowledge)
    assert from_xb.code == 0, from_xb.err
    assert from_xc.code == 0, from_xc.err
    claims = from_xb.json()
    assert claims.pop("audit") == {"origin": f"{NETWORK}/{XB}/audit", "index": 0}
    assert from_xc.json()["audit"] == {"origin": f"{NETWORK}/{XC}/audit", "index": 0}
    assert (claims.pop("opened_for"), claims.pop("actor")) == (PURPOSE, ACTOR)
    assert re.fullmatch(r"[0-9a-f]{64}", claims.pop("digest"))
    iat = to_unix(NOW)
    assert claims["iss"] == XA
    assert claims["aud"] == [XB, XC]
    assert (claims["iat"], claims["exp"]) == (iat, iat + 7 * 86400)
    assert claims["purpose"] == "criminal_investigation"
    assert claims["legal_basis"] == "BUDAPEST-2AP.Art7"
    assert claims["case_ref"] == CASE_REF
    assert claims["msg_type"] == "disclosure_response"
    assert claims["ver"] == 1
    assert claims["record"] == RECORD
    assert claims["handling"] == HandlingConditions.model_validate(HANDLING).model_dump(mode="json")
    assert claims["sealed_to"] == [
        world.network.keysets[XB].decryption_key.kid,
        world.network.keysets[XC].decryption_key.kid,
    ]
    assert {**from_xc.json(), "audit": None} == {**from_xb.json(), "audit": None}


def test_stdin_to_stdout_and_the_readable_summary(
    cli: Cli,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handling = tmp_path / "handling.json"
    handling.write_text(json.dumps(HANDLING))
    use_stdin(monkeypatch, json.dumps(RECORD).encode())
    result = cli(*seal_args(world, "-", extra=["--handling", handling, "--ttl-days", "2"]))
    assert result.code == 0, result.err
    assert result.out.endswith("}\n")
    assert result.out.count("\n") == 1
    envelope = result.out.encode()

    use_stdin(monkeypatch, envelope)
    opened = cli(
        "open", *world.common(XB), "--replay-db", tmp_path / "xb.db",
        "--purpose", "prosecution", "--actor", ACTOR,
        "--acknowledge", HANDLING["acknowledgements"][0],
    )  # fmt: skip  # no envelope argument: stdin; no --audit-db: a warning
    assert opened.code == 0, opened.err
    assert opened.err == (
        "safeshare: warning: no --audit-db: this access (or its refusal) is not recorded in "
        "an audit log; pass the agency's audit log database to record it\n"
    )
    lines = opened.out.splitlines()
    assert lines[0].startswith("Opened envelope ")
    assert lines[0].endswith(f"for {XB}: every check passed")
    for fragment in (
        f"issuer:              {XA} (signature verified with the trust registry)",
        f"audience:            {XB}",
        "type:                disclosure_response",
        "purpose:             criminal_investigation",
        "legal basis:         BUDAPEST-2AP.Art7",
        f"case:                {CASE_REF}",
        f"expires:             {rfc3339(NOW + timedelta(days=2))}",
        "TLP:                 RED",
        "retention:           at most 180 days, review after 90 days",
        "onward transfer:     with_prior_authorisation",
        "handling code:       H2",
        "special categories:  health",
        "acknowledge:         Use only in case XB-2026-CYB-0117.",
        "opened for:          prosecution",
        f"actor:               {ACTOR}",
        "recorded as:         not recorded (no --audit-db)",
        f"record ({len(RECORD)} fields):",
    ):
        assert f"  {fragment}" in opened.out or fragment in lines, fragment
    record_text = opened.out.split(f"record ({len(RECORD)} fields):\n", 1)[1]
    assert json.loads(record_text) == RECORD
    assert "Ioana Vărzaru-Kowalczyk" in record_text  # readable, not \u-escaped


def test_the_default_handling_conditions_are_signed(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    claims = open_as(cli, world, XB, out, tmp_path / "xb.db", "--json").json()
    assert claims["handling"] == HandlingConditions().model_dump(mode="json")
    assert claims["handling"]["tlp"] == "AMBER"


# -- refusals of seal --------------------------------------------------------------


def test_handling_file_with_an_unknown_member(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    handling = tmp_path / "handling.json"
    handling.write_text(json.dumps({"tlp": "AMBER", "colour": "red"}))
    out = tmp_path / "e.json"
    result = cli(*seal_args(world, record_file, extra=["--handling", handling, "--out", out]))
    message = result.error()
    assert result.err.count("\n") == 1
    assert message.startswith(f"handling conditions file {str(handling)!r} is invalid: ")
    assert "unknown member 'colour' (known members: tlp, handling_code," in message
    assert result.out == ""
    assert not out.exists()


def test_handling_file_lists_every_problem_on_one_line(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    handling = tmp_path / "handling.json"
    handling.write_text(
        json.dumps({"tlp": "red", "retention": {"max_days": "180", "days": 1}, "x": 1})
    )
    message = cli(*seal_args(world, record_file, extra=["--handling", handling])).error()
    assert "tlp: Input should be 'CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT' or 'RED'" in message
    assert "retention.max_days: Input should be a valid integer" in message
    assert "unknown member 'retention.days'" in message
    assert "unknown member 'x'" in message
    # strict JSON: a repeated member is refused, not silently resolved
    handling.write_text('{"tlp": "RED", "tlp": "CLEAR"}')
    message = cli(*seal_args(world, record_file, extra=["--handling", handling])).error()
    assert "member name 'tlp' more than once" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[1, 2]", "is an array; a record is a JSON object"),
        (b'"subscriber"', "is a string; a record is a JSON object"),
        (b"42", "is a number; a record is a JSON object"),
        (b"null", "is null; a record is a JSON object"),
        (b"true", "is a boolean; a record is a JSON object"),
        (b'{"msisdn": "1", "msisdn": "2"}', "member name 'msisdn' more than once"),
        (b'{"n": NaN}', "not finite"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b'{"msisdn": ', "is not valid JSON"),
    ],
)
def test_a_record_that_is_not_a_json_object(
    cli: Cli,
    world: World,
    tmp_path: Path,
    *,
    content: bytes,
    expected: str,
) -> None:
    record = tmp_path / "record.json"
    record.write_bytes(content)
    out = tmp_path / "e.json"
    result = cli(*seal_args(world, record, extra=["--out", out]))
    assert expected in result.error()
    assert result.out == ""
    assert not out.exists()


def test_a_record_on_stdin_that_is_not_an_object(
    cli: Cli, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_stdin(monkeypatch, b"[]")
    result = cli(*seal_args(world, "-"))
    assert "the record on stdin is an array" in result.error()
    assert result.out == ""


def test_seal_to_an_unknown_agency(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "e.json"
    result = cli(*seal_args(world, record_file, to=(XB, "XZ-NONE"), extra=["--out", out]))
    assert "agency 'XZ-NONE' is not in the trust registry" in result.error()
    assert not out.exists()


def test_seal_to_a_suspended_agency(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    args = seal_args(world, record_file, to=(XC, XB), extra=["--out", tmp_path / "e.json"])
    args[args.index(world.registry)] = world.suspended_registry
    message = cli(*args).error()
    assert f"transfers with agency {XB} are suspended" in message
    assert not (tmp_path / "e.json").exists()


def test_registry_state_refuses_an_older_registry(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    newer = seal_args(world, record_file, to=(XC,), extra=["--registry-state", state])
    newer[newer.index(world.registry)] = world.suspended_registry
    assert cli(*newer).code == 0
    older = cli(*seal_args(world, record_file, to=(XC,), extra=["--registry-state", state]))
    assert "registry serial 1 is older than serial 2" in older.error()
    assert older.out == ""


def test_now_outside_the_registry_validity(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    late = rfc3339(NOW + timedelta(days=30))
    assert "expired at" in cli(*seal_args(world, record_file, now=late)).error()
    early = rfc3339(NOW - timedelta(hours=1))
    assert "in the future" in cli(*seal_args(world, record_file, now=early)).error()
    # open verifies the registry at --now as well
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    message = refused(open_as(cli, world, XB, out, tmp_path / "xb.db", now=late))
    assert message.startswith("registry 'safeshare test network' serial 1 expired at")


def test_a_pinned_key_that_is_not_the_authority(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    other = build(NOW, agencies=(XA,))
    wrong = tmp_path / "other-authority.jwks.json"
    wrong.write_text(json_text({"keys": [other.authority.public.to_jwk()]}))
    args = seal_args(world, record_file)
    args[args.index(world.authority)] = wrong
    assert "not by the pinned authority key" in cli(*args).error()


def test_seal_refuses_to_replace_a_file_without_force(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "e.json"
    out.write_text("keep me")
    assert "already exists" in cli(*seal_args(world, record_file, extra=["--out", out])).error()
    assert out.read_text() == "keep me"
    assert cli(*seal_args(world, record_file, extra=["--out", out, "--force"])).code == 0
    assert json.loads(out.read_bytes())["recipients"]


def test_a_record_too_large_for_an_envelope(cli: Cli, world: World, tmp_path: Path) -> None:
    record = tmp_path / "big.json"
    # under the record cap, but base64url twice (disclosures, then JWE) outgrows 1 MiB
    record.write_text(json.dumps({f"call_records_{i}": "x" * 40_000 for i in range(18)}))
    message = cli(*seal_args(world, record)).error()
    assert "recipients refuse envelopes over 1048576 bytes" in message
    record.write_text(json.dumps({"call_records": "x" * (1024 * 1024)}))
    assert "larger than 1048576 bytes" in cli(*seal_args(world, record)).error()


def test_no_record_and_stdin_a_terminal(
    cli: Cli, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    args = seal_args(world, "placeholder")[:-1]
    assert "no record given, and stdin is a terminal" in cli(*args).error()


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        (
            "--type",
            "subscriber_info",
            "is not a message type; use one of: breach_notification, cannot",
        ),
        ("--purpose", "Criminal Investigation", "is not a purpose code"),
        ("--legal-basis", "Art 7", "is not a legal basis"),
        ("--case-ref", "", "is not a case reference of 1 to 128 characters"),
        ("--ttl-days", "91", "91 is not between 1 and 90"),
        ("--to", "xb-pros", "is not a valid agency id"),
        ("--now", "29.11.2026", "is not an RFC 3339 time"),
    ],
)
def test_bad_seal_arguments_are_usage_errors(
    cli: Cli, world: World, record_file: Path, *, option: str, value: str, expected: str
) -> None:
    args = seal_args(world, record_file, extra=[option, value])
    assert expected in cli(*args).usage_error()


def test_open_needs_a_replay_database(cli: Cli, world: World, tmp_path: Path) -> None:
    result = cli("open", *world.common(XB), tmp_path / "e.json")
    assert "--replay-db" in result.usage_error()


# -- refusals of open --------------------------------------------------------------


def test_open_refuses_a_tampered_envelope(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    tampered = flip_ciphertext(out, tmp_path / "tampered.json")
    result = open_as(cli, world, XB, tampered, tmp_path / "xb.db", "--json")
    message = refused(result)
    assert result.err.count("\n") == 1
    assert "does not decrypt with our key" in message
    # the genuine envelope still opens: the tampered copy used nothing up
    assert open_as(cli, world, XB, out, tmp_path / "xb.db", "--json").code == 0


def test_open_refuses_a_replay(cli: Cli, world: World, record_file: Path, tmp_path: Path) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    db = tmp_path / "xb.db"
    first = open_as(cli, world, XB, out, db)
    assert first.code == 0, first.err
    message = refused(open_as(cli, world, XB, out, db))
    assert "this envelope was already opened" in message
    refused(open_as(cli, world, XB, out, db, "--json"))
    # with the sqlite:/// form of the same database too
    refused(open_as(cli, world, XB, out, f"sqlite:///{db}"))


def test_open_with_the_wrong_agencys_key(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    message = refused(open_as(cli, world, XC, out, tmp_path / "xc.db", "--json"))
    assert "this envelope is not addressed to any of our encryption keys" in message


def test_open_refuses_an_expired_envelope(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json", extra=["--ttl-days", "1"])
    later = rfc3339(NOW + timedelta(days=2))
    message = refused(open_as(cli, world, XB, out, tmp_path / "xb.db", now=later))
    assert message == f"the envelope expired at {(NOW + timedelta(days=1)).isoformat()}"
    # within the skew after expiry it still opens; beyond the skew it does not
    just_after = rfc3339(NOW + timedelta(days=1, seconds=299))
    assert open_as(cli, world, XB, out, tmp_path / "xb.db", now=just_after).code == 0
    out2 = sealed(cli, world, record_file, tmp_path / "e2.json", extra=["--ttl-days", "1"])
    result = open_as(
        cli, world, XB, out2, tmp_path / "xb.db", "--skew-seconds", "0", now=just_after
    )
    assert "expired" in refused(result)


def test_open_refuses_what_is_not_an_envelope(cli: Cli, world: World, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_bytes(strictjson.dumps({"protected": "e30", "recipients": []}))
    assert "not a JWE in this profile" in refused(open_as(cli, world, XB, bogus, tmp_path / "d"))
    missing = tmp_path / "missing.json"
    assert "does not exist" in refused(open_as(cli, world, XB, missing, tmp_path / "d"))


# -- purpose, actor, acknowledgements and the audit log ------------------------------


def audit_entries(db: Path) -> list[AuditEntry]:
    with open_store(db) as store:
        log = AuditLog.open(store)
        return [entry for _, entry in log.entries()]


def test_open_requires_purpose_and_actor(cli: Cli, world: World, tmp_path: Path) -> None:
    result = cli("open", *world.common(XB), "--replay-db", tmp_path / "xb.db", tmp_path / "e")
    message = result.usage_error()
    assert "--purpose" in message
    assert "--actor" in message
    bad = open_as(cli, world, XB, tmp_path / "e.json", tmp_path / "xb.db", purpose="Any Use")
    assert "is not a purpose code such as criminal_investigation" in bad.usage_error()


def test_open_for_a_purpose_the_envelope_does_not_allow(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    db = tmp_path / "xb.db"
    result = open_as(cli, world, XB, out, db, "--json", purpose="intelligence_analysis")
    message = refused(result)
    assert message.startswith(
        f"{XB} may not use this envelope from {XA} for intelligence_analysis: it was sent "
        "for criminal_investigation, which also allows prosecution, judicial_proceedings "
        "without consent"
    )
    assert "no consent store was consulted" in message
    (hint,) = [line for line in result.err.splitlines() if line.startswith("hint: ")]
    assert "open it for criminal_investigation, prosecution or judicial_proceedings" in hint
    # the refusal is in XB-PROS's audit log, with the digest to ask for consent
    (denial,) = audit_entries(audit_db_for(db, XB))
    assert (denial.action, denial.outcome, denial.actor) == ("deny", "denied", ACTOR)
    assert (denial.agency, denial.counterparty, denial.purpose) == (
        XB,
        XA,
        "intelligence_analysis",
    )
    assert denial.envelope_digest is not None
    assert denial.envelope_digest in hint
    # nothing was used up: the envelope opens for its purpose, and that is recorded too
    opened = open_as(cli, world, XB, out, db, "--json")
    assert opened.json()["digest"] == denial.envelope_digest
    assert opened.json()["audit"] == {"origin": f"{NETWORK}/{XB}/audit", "index": 1}
    assert [(e.action, e.outcome) for e in audit_entries(audit_db_for(db, XB))] == [
        ("deny", "denied"),
        ("open", "success"),
    ]


def test_open_with_a_compatible_purpose_prints_the_digest(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    result = open_as(cli, world, XB, out, tmp_path / "xb.db", purpose="judicial_proceedings")
    assert result.code == 0, result.err
    assert result.err == ""
    (entry,) = audit_entries(audit_db_for(tmp_path / "xb.db", XB))
    assert f"  digest:              {entry.envelope_digest} (name it to ask {XA}" in result.out
    assert "  opened for:          judicial_proceedings\n" in result.out
    assert f"  recorded as:         entry 0 of the audit log {NETWORK}/{XB}/audit" in result.out


def test_open_needs_every_condition_acknowledged(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    handling = tmp_path / "handling.json"
    handling.write_text(json.dumps(HANDLING))
    out = sealed(cli, world, record_file, tmp_path / "e.json", extra=["--handling", handling])
    db = tmp_path / "xb.db"
    condition = HANDLING["acknowledgements"][0]
    message = refused(open_as(cli, world, XB, out, db, "--acknowledge", condition.upper()))
    assert f"must be acknowledged before the data is released, and 1 is not: {condition!r}" in (
        message
    )
    result = open_as(cli, world, XB, out, db, "--acknowledge", condition, "--json")
    assert result.json()["record"] == RECORD
    entries = audit_entries(audit_db_for(db, XB))
    assert [(e.action, e.reason) for e in entries] == [
        ("deny", "handling conditions not acknowledged before release: 1 of 1"),
        ("open", "opened for the envelope's own purpose; 1 handling condition acknowledged"),
    ]


def test_open_with_a_consent_grant_in_the_consent_database(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    db, consent_db = tmp_path / "xb.db", tmp_path / "consent.db"
    refused(open_as(cli, world, XB, out, db, purpose="asset_tracing"))
    (denial,) = audit_entries(audit_db_for(db, XB))
    assert denial.jti is not None
    assert denial.envelope_digest is not None
    grant = issue_grant(
        originator=world.network.keysets[XA],
        holder=XB,
        envelope_jti=denial.jti,
        envelope_digest=denial.envelope_digest,
        scope="purpose",
        purpose="asset_tracing",
        valid_for=timedelta(days=30),
        now=NOW,
    )
    with open_store(consent_db) as store:
        ConsentStore(store).add(grant, registry=world.network.registry, now=NOW)
    result = open_as(
        cli, world, XB, out, db, "--consent-db", consent_db, "--json", purpose="asset_tracing"
    )
    assert result.json()["opened_for"] == "asset_tracing"
    last = audit_entries(audit_db_for(db, XB))[-1]
    assert last.reason is not None
    assert last.reason.startswith("opened for asset_tracing under consent grant ")


def test_open_audit_database_checks(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    out = sealed(cli, world, record_file, tmp_path / "e.json")
    audit = tmp_path / "audit.db"
    base: list[str | Path] = ["--audit-db", audit]
    message = refused(open_as(cli, world, XB, out, tmp_path / "xb.db", *base, audit=False))
    assert message == f"the audit database {audit} holds no audit log yet"
    # another agency's log is refused
    with open_store(audit) as store:
        AuditLog(store, origin=f"{NETWORK}/{XC}/audit")
    message = refused(open_as(cli, world, XB, out, tmp_path / "xb.db", *base, audit=False))
    assert f"holds the audit log '{NETWORK}/{XC}/audit', which is not the log of {XB}" in message
    # nothing was opened: the envelope still opens, into its own agency's log
    assert open_as(cli, world, XB, out, tmp_path / "xb.db").code == 0


# -- the transfer check on the command line: refusal, override, recording ------------------


def loose_registry(world: World, path: Path, **safeguards: Any) -> Path:
    """The world's registry (next serial) with XB-PROS declaring looser *safeguards*."""
    doc = world.network.document
    agencies = tuple(
        a.model_copy(update={"safeguards": a.safeguards.model_copy(update=safeguards)})
        if a.id == XB
        else a
        for a in doc.agencies
    )
    doc = doc.model_copy(update={"agencies": agencies})
    signed = sign_registry(
        doc.next_version(now=NOW, valid_for=timedelta(days=30)), world.network.authority
    )
    fs.atomic_write(path, signed)
    return path


def loose_seal_args(world: World, record: Path, registry: Path, *extra: str | Path) -> list[Any]:
    args = seal_args(world, record, to=(XC, XB), extra=extra)
    args[args.index(world.registry)] = registry
    return args


SEAL_AUDIT: Final = ("--actor", "officer 0815", "--audit-network", NETWORK)


def test_seal_refused_lists_every_mismatch_with_its_key(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    registry = loose_registry(
        world,
        tmp_path / "loose.json",
        max_retention_days=730,
        onward_transfer="domestic_same_conditions",
    )
    out = tmp_path / "e.json"
    result = cli(*loose_seal_args(world, record_file, registry, "--out", out))
    message = result.error()
    assert message.startswith(
        "transfer refused: the recipients' declared safeguards do not satisfy the handling "
        "conditions; 2 mismatches: "
    )
    assert f"[{XB}:retention] {XB}: commits to keep data up to 730 days" in message
    assert f"[{XB}:onward_transfer] {XB}: declares that it shares data" in message
    assert XC + ":" not in message
    hint = result.err.splitlines()[-1]
    assert hint.startswith("hint: ")
    assert f"--override {XB}:retention --override {XB}:onward_transfer" in hint
    assert "--audit-db" in hint
    assert not out.exists()


def test_seal_refusal_and_override_are_recorded(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    registry = loose_registry(world, tmp_path / "loose.json", max_retention_days=730)
    audit = tmp_path / "xa.audit.db"
    recording: list[str | Path] = ["--audit-db", audit, *SEAL_AUDIT]
    out = tmp_path / "e.json"
    # refused, and the refusal is recorded
    refused_seal = cli(*loose_seal_args(world, record_file, registry, *recording, "--out", out))
    assert f"[{XB}:retention]" in refused_seal.error()
    (denial,) = audit_entries(audit)
    assert (denial.action, denial.outcome, denial.actor) == ("deny", "denied", "officer 0815")
    assert denial.agency == XA
    # an override that does not name exactly the mismatches is refused too
    wrong = cli(
        *loose_seal_args(
            world, record_file, registry, *recording, "--out", out,
            "--override-by", "head of unit 12", "--override-reason", "court order 17/2026",
            "--override", f"{XB}:retention", "--override", f"{XC}:retention",
        )
    )  # fmt: skip
    message = wrong.error()
    assert "the override does not cover exactly the mismatches found" in message
    assert f"it acknowledges {XC}:retention, which the check did not find" in message
    assert not out.exists()
    # the override naming exactly the mismatch seals, and is recorded before the seal
    before = len(audit_entries(audit))
    result = cli(
        *loose_seal_args(
            world, record_file, registry, *recording, "--out", out,
            "--override-by", "head of unit 12", "--override-reason", "court order 17/2026",
            "--override", f"{XB}:retention",
        )
    )  # fmt: skip
    assert result.code == 0, result.err
    assert out.is_file()
    assert f"transfer check overridden by head of unit 12: {XB}:retention" in result.out
    assert f"recorded in the audit log {NETWORK}/{XA}/audit" in result.out
    entries = audit_entries(audit)[before:]
    assert [(e.action, e.counterparty) for e in entries] == [
        ("override", XB),
        ("seal", XC),
        ("seal", XB),
    ]
    assert entries[0].actor == "head of unit 12"
    assert entries[0].reason is not None
    assert "court order 17/2026" in entries[0].reason
    assert {e.actor for e in entries[1:]} == {"officer 0815"}
    # the envelope opens at the recipient
    assert open_as(cli, world, XB, out, tmp_path / "xb.db").code == 0


def test_seal_to_a_suspended_agency_cannot_be_overridden(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "xa.audit.db"
    args = seal_args(
        world, record_file, to=(XC, XB),
        extra=[
            "--audit-db", audit, *SEAL_AUDIT, "--out", tmp_path / "e.json",
            "--override-by", "head of unit 12", "--override-reason", "urgent",
            "--override", f"{XB}:suspended",
        ],
    )  # fmt: skip
    args[args.index(world.registry)] = world.suspended_registry
    result = cli(*args)
    message = result.error()
    assert message.startswith("transfer refused (1 mismatch): ")
    assert f"[{XB}:suspended]" in message
    assert "a suspension cannot be overridden" in result.err
    assert not (tmp_path / "e.json").exists()
    assert [e.action for e in audit_entries(audit)] == ["deny"]


def test_seal_recording_without_mismatches(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "xa.audit.db"
    out = sealed(
        cli, world, record_file, tmp_path / "e.json", extra=["--audit-db", audit, *SEAL_AUDIT]
    )
    assert out.is_file()
    (entry,) = audit_entries(audit)
    assert (entry.action, entry.agency, entry.counterparty) == ("seal", XA, XB)


def test_seal_override_and_recording_options_are_checked(
    cli: Cli, world: World, record_file: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "xa.audit.db"
    out: list[str | Path] = ["--out", tmp_path / "e.json"]
    message = cli(*seal_args(world, record_file, extra=[*out, "--audit-db", audit])).error()
    assert message.startswith("--audit-db needs --actor ID")
    message = cli(*seal_args(world, record_file, extra=[*out, "--actor", "x"])).error()
    assert message.startswith("--actor is recorded in the audit log")
    partial: list[str | Path] = [
        "--override-by",
        "head of unit 12",
        "--override",
        f"{XB}:retention",
    ]
    message = cli(
        *seal_args(world, record_file, extra=[*out, "--audit-db", audit, *SEAL_AUDIT, *partial])
    ).error()
    assert message == "an override needs --override-reason too"
    whole: list[str | Path] = [*partial, "--override-reason", "court order"]
    message = cli(*seal_args(world, record_file, extra=[*out, *whole])).error()
    assert message.startswith("an override of the transfer check must be recorded")
    message = cli(
        *seal_args(
            world, record_file,
            extra=[*out, "--audit-db", audit, *SEAL_AUDIT, *whole, "--override", "retention"],
        )
    ).error()  # fmt: skip
    assert "does not name a mismatch" in message
    # nothing to override: refused (an override covers exactly what the check finds)
    message = cli(
        *seal_args(world, record_file, extra=[*out, "--audit-db", audit, *SEAL_AUDIT, *whole])
    ).error()
    assert "there is no mismatch to override" in message
    assert not (tmp_path / "e.json").exists()
