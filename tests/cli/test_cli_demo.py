"""``safeshare demo`` and :func:`safeshare.cli.demo.run_demo`."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from safeshare.audit.log import AuditLog
from safeshare.cli import demo
from safeshare.cli.demo import (
    DEMO_STEPS,
    ENVELOPE_CASE_REF,
    SUBSCRIBER_RECORD,
    DemoContext,
    DemoStep,
    run_demo,
)
from safeshare.errors import UnknownAgencyError, VerificationError
from safeshare.storage import ReplayCache, Store, open_store

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

EXPECTED_REFUSALS = (
    "refused as expected: KeyFileError: ",
    "refused as expected: VerificationError: ",  # tampered or forged
    "refused as expected: RegistryRollbackError: ",
    "refused as expected: KeyRevokedError: ",
    "refused as expected: AgencySuspendedError: ",
    # the envelope steps
    "refused as expected: ReplayError: this envelope was already opened",
    "refused as expected: DecryptionError: the envelope does not decrypt with our key",
    "refused as expected: VerificationError: this envelope is not addressed to XC-CUST",
)


def check_envelope_steps(transcript: str) -> None:
    """The envelope part of a transcript: sealed, opened, and each refusal in its place."""
    lines = transcript.splitlines()
    assert "  accepted: XA-NPOL seals the subscriber information for XB-PROS" in lines
    assert "  ok: none of them occurs: purpose, case and record are only in the ciphertext" in lines
    assert "  accepted: XB-PROS opens the envelope" in lines
    assert f"    msisdn: {SUBSCRIBER_RECORD['msisdn']}" in lines
    assert f"    subscriber_name: {SUBSCRIBER_RECORD['subscriber_name']}" in lines
    assert any(line.startswith(f"  case {ENVELOPE_CASE_REF}, TLP AMBER") for line in lines)
    assert "  ok: XC-CUST can decrypt it, and XA-NPOL's signed token is unchanged" in lines
    for attempt, refusal in (
        ("  trying: XB-PROS opens the same envelope again", "ReplayError"),
        ("  trying: XC-CUST opens the forwarded envelope", "VerificationError"),
        ("  trying: XC-CUST seals spontaneous information for XB-PROS at ", "AgencySuspendedError"),
    ):
        (index,) = [i for i, line in enumerate(lines) if line.startswith(attempt)]
        assert lines[index + 1].startswith(f"  refused as expected: {refusal}: "), lines[index + 1]
    (tampered,) = [i for i, line in enumerate(lines) if "tampered.json (ciphertext" in line]
    assert lines[tampered + 1].startswith("  refused as expected: DecryptionError: ")


def test_demo_command_succeeds_and_shows_the_refusals(cli: Cli) -> None:
    result = cli("demo")
    assert result.code == 0, result.out + result.err
    assert result.err == ""
    for refusal in EXPECTED_REFUSALS:
        assert refusal in result.out
    assert "XA-NPOL" in result.out
    assert "XB-PROS" in result.out
    assert "XC-CUST" in result.out
    assert "MISBEHAVED" not in result.out
    assert result.out.rstrip().endswith(f"all {len(DEMO_STEPS)} steps behaved as expected.")
    check_envelope_steps(result.out)


def test_keep_leaves_the_files_which_the_cli_can_verify(cli: Cli, tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    result = cli("demo", "--keep", keep)
    assert result.code == 0, result.out
    for name in (
        "authority.keys.json",
        "authority.jwks.json",
        "XA-NPOL.keys.json",
        "XB-PROS.jwks.json",
        "registry.draft.json",
        "registry-1.signed.json",
        "registry-2.signed.json",
        "relying-party.state.json",
        "XC-CUST.keys.json",
        "envelope-XA-NPOL-to-XB-PROS.json",
        "envelope-XA-NPOL-to-XB-PROS.tampered.json",
        "envelope-XA-NPOL-to-XB-PROS.forwarded-to-XC-CUST.json",
        "XB-PROS.replay.db",
        "XC-CUST.replay.db",
    ):
        assert (keep / name).is_file(), name
    envelope = (keep / "envelope-XA-NPOL-to-XB-PROS.json").read_bytes()
    assert json.loads(envelope)["recipients"]
    for text in (ENVELOPE_CASE_REF, *SUBSCRIBER_RECORD.values()):
        assert text.encode() not in envelope
    assert (keep / "XA-NPOL.keys.json").stat().st_mode & 0o777 == 0o600
    verified = cli(
        "registry", "verify", keep / "registry-2.signed.json",
        "--authority", keep / "authority.jwks.json",
        "--state", keep / "relying-party.state.json", "--json",
    ).json()  # fmt: skip
    assert verified["serial"] == 2
    replay = cli(
        "registry", "verify", keep / "registry-1.signed.json",
        "--authority", keep / "authority.jwks.json", "--state", keep / "relying-party.state.json",
    )  # fmt: skip
    assert "older than serial 2" in replay.error()


def test_keep_refuses_a_directory_that_is_not_empty(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("keep me")
    assert "new or empty directory" in cli("demo", "--keep", tmp_path).error()
    assert [p.name for p in tmp_path.iterdir()] == ["something.txt"]


def test_run_demo_uses_the_given_time_and_prints_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "demo-passphrase-that-must-not-be-printed"
    counter = itertools.count()
    monkeypatch.setattr(demo, "_passphrase", lambda: f"{secret}-{next(counter)}")
    out = io.StringIO()
    now = datetime(2031, 5, 17, 8, 30, 15, 999, tzinfo=UTC)
    assert run_demo(tmp_path, out=out, now=now) is True
    transcript = out.getvalue()
    assert "fixed time of the demo: 2031-05-17T08:30:15Z" in transcript
    assert "revoke XA-NPOL signing key" in transcript
    assert "from 2031-05-17T09:30:15Z" in transcript
    assert next(counter) >= 4  # the authority, two agencies, one wrong passphrase
    assert secret not in transcript
    assert '"d"' not in transcript
    for refusal in EXPECTED_REFUSALS:
        assert refusal in transcript
    check_envelope_steps(transcript)
    assert "seals spontaneous information for XB-PROS at 2031-05-17T09:30:15Z" in transcript
    assert "Demo complete" in transcript


def test_run_demo_notices_a_replay_cache_that_forgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Forgetful(ReplayCache):
        def __init__(self, store: Store) -> None:
            super().__init__(store)

        def check_and_record(self, *args: object, **kwargs: object) -> None:
            return None

    monkeypatch.setattr(demo, "ReplayCache", Forgetful)
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is False
    transcript = out.getvalue()
    assert (
        "MISBEHAVED: XB-PROS opens the same envelope again was accepted; it should have been "
        "refused with ReplayError"
    ) in transcript
    assert "Demo FAILED: 1 thing(s)" in transcript


def test_run_demo_reports_a_refusal_that_does_not_happen(tmp_path: Path) -> None:
    def lenient(ctx: DemoContext) -> None:
        ctx.expect_refusal("a forged registry", (VerificationError,), lambda: None)

    ran: list[str] = []
    steps = [
        DemoStep("accepts what it should refuse", lenient),
        DemoStep("next", lambda ctx: ran.append("next")),
    ]
    out = io.StringIO()
    assert run_demo(tmp_path, out=out, steps=steps) is False
    transcript = out.getvalue()
    assert "MISBEHAVED: a forged registry was accepted" in transcript
    assert "Demo FAILED: 1 thing(s)" in transcript
    assert ran == ["next"]  # a missing refusal does not stop the demo


def test_run_demo_stops_at_a_failing_step(tmp_path: Path) -> None:
    def broken(ctx: DemoContext) -> None:
        raise UnknownAgencyError("agency 'XC-NONE' is not in the trust registry")

    def wrong_refusal(ctx: DemoContext) -> None:
        def refuse() -> None:
            raise UnknownAgencyError("not the expected refusal")

        ctx.expect_refusal("a tampered registry", (VerificationError,), refuse)

    ran: list[str] = []
    out = io.StringIO()
    steps = [
        DemoStep("wrong refusal", wrong_refusal),
        DemoStep("broken", broken),
        DemoStep("never reached", lambda ctx: ran.append("never")),
    ]
    assert run_demo(tmp_path, out=out, steps=steps) is False
    transcript = out.getvalue()
    assert "expected VerificationError, got UnknownAgencyError" in transcript
    assert "step 2 failed: UnknownAgencyError" in transcript
    assert "Demo FAILED: 2 thing(s)" in transcript
    assert ran == []


def test_demo_command_exits_1_when_a_step_misbehaves(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lenient(ctx: DemoContext) -> None:
        ctx.expect_refusal("a replayed registry", (VerificationError,), lambda: None)

    monkeypatch.setattr(demo, "DEMO_STEPS", (DemoStep("lenient", lenient),))
    result = cli("demo")
    assert result.code == 1
    assert "MISBEHAVED" in result.out


def test_demo_records_receipts_checkpoints_witnesses_and_reports(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(tmp_path, out=out) is True
    lines = out.getvalue().splitlines()
    for expected in (
        "  accepted: XA-NPOL verifies the receipt and records it",
        "  ok: the mismatching receipt is recorded as a denial",
        "  ok: the witness kept the evidence: ['fork', 'rollback']",
        "  ok: the report shows the refused purpose and no record content",
        "    DENIED ACCESSES (1)",
    ):
        assert expected in lines, expected
    assert any("XA-NPOL's checkpoint of size 3 (2-hash proof from size 1)" in x for x in lines)
    for agency in ("XA-NPOL", "XB-PROS", "XC-CUST"):
        assert f"  accepted: {agency}'s audit log re-derived and its checkpoints checked" in lines
        assert (tmp_path / f"{agency}.audit.db").is_file()
    # The sender's log holds the seal, the receipt and the refused receipt, in that order.
    with open_store(tmp_path / "XA-NPOL.audit.db") as store:
        actions = [entry.action for _, entry in AuditLog.open(store).entries()]
    assert actions == ["seal", "receipt", "deny"]
