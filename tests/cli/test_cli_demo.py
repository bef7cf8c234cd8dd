"""``safeshare demo`` and :func:`safeshare.cli.demo.run_demo`."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from safeshare.cli import demo
from safeshare.cli.demo import DEMO_STEPS, DemoContext, DemoStep, run_demo
from safeshare.errors import UnknownAgencyError, VerificationError

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

EXPECTED_REFUSALS = (
    "refused as expected: KeyFileError: ",
    "refused as expected: VerificationError: ",  # tampered or forged
    "refused as expected: RegistryRollbackError: ",
    "refused as expected: KeyRevokedError: ",
    "refused as expected: AgencySuspendedError: ",
)


def test_demo_command_succeeds_and_shows_the_refusals(cli: Cli) -> None:
    result = cli("demo")
    assert result.code == 0, result.out + result.err
    assert result.err == ""
    for refusal in EXPECTED_REFUSALS:
        assert refusal in result.out
    assert "XA-NPOL" in result.out
    assert "XB-PROS" in result.out
    assert "MISBEHAVED" not in result.out
    assert result.out.rstrip().endswith(f"all {len(DEMO_STEPS)} steps behaved as expected.")


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
    ):
        assert (keep / name).is_file(), name
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
