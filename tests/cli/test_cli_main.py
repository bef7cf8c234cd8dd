"""The ``safeshare`` entry point: dispatch, exit codes, passphrases, the console script."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import safeshare
from safeshare.cli import keygen
from safeshare.cli.main import main
from safeshare.keys import AgencyKeySet

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _FailingOutput(io.StringIO):
    def __init__(self, exc: OSError) -> None:
        super().__init__()
        self._exc = exc

    def write(self, text: str) -> int:
        raise self._exc


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out == f"safeshare {safeshare.__version__}\n"


def test_no_command_and_unknown_command_are_usage_errors(cli: Cli) -> None:
    assert "required" in cli().usage_error()
    assert "invalid choice" in cli("frobnicate").usage_error()
    assert "required" in cli("registry").usage_error()


def test_help_exits_0(cli: Cli) -> None:
    result = cli("registry", "add-agency", "--help")
    assert result.code == 0
    assert "--onward-transfer" in result.out
    assert "--instrument" in result.out


def test_passphrase_is_never_a_command_line_argument(cli: Cli, tmp_path: Path) -> None:
    for option in ("--passphrase", "--password", "--pass"):
        assert (
            "unrecognized arguments"
            in cli(
                "keygen", "--agency", "XA-NPOL", "--out", tmp_path, option, "secret-passphrase"
            ).usage_error()
        )
    assert list(tmp_path.iterdir()) == []


def test_passphrase_file_first_line_without_newline(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", "the environment loses to the file")
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text("from the file 123\r\nsecond line is ignored\n")
    out_dir = tmp_path / "keys"
    result = cli("keygen", "--agency", "XA-NPOL", "--out", out_dir, "--passphrase-file", pass_file)
    assert result.code == 0, result.err
    assert "from the file" not in result.out + result.err
    keyset = AgencyKeySet.load(out_dir / "XA-NPOL.keys.json", "from the file 123")
    assert keyset.agency == "XA-NPOL"


def test_empty_or_missing_passphrase_file(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\nsecret on the second line\n")
    out_dir = tmp_path / "keys"
    message = cli(
        "keygen", "--agency", "XA-NPOL", "--out", out_dir, "--passphrase-file", empty
    ).error()
    assert "empty" in message
    assert "secret" not in message
    missing = tmp_path / "missing.txt"
    message = cli(
        "keygen", "--agency", "XA-NPOL", "--out", out_dir, "--passphrase-file", missing
    ).error()
    assert "does not exist" in message
    assert not out_dir.exists()


def test_no_passphrase_and_no_terminal_is_a_clear_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFESHARE_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    result = cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path / "keys")
    assert "not a terminal" in result.error()
    assert "--passphrase-file" in result.err
    assert "SAFESHARE_PASSPHRASE" in result.err
    assert not (tmp_path / "keys").exists()


def test_empty_environment_variable_is_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", "")
    assert "empty" in cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).error()


def _fake_getpass(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    prompts: list[str] = []
    replies: Iterator[str] = iter(answers)

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(replies)

    monkeypatch.delenv("SAFESHARE_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    return prompts


def test_prompt_asks_twice_for_a_new_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = _fake_getpass(monkeypatch, ["typed at the prompt", "typed at the prompt"])
    assert cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).code == 0
    assert len(prompts) == 2
    AgencyKeySet.load(tmp_path / "XA-NPOL.keys.json", "typed at the prompt")


def test_prompt_mismatch_writes_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_getpass(monkeypatch, ["typed at the prompt", "typed differently"])
    assert "do not match" in cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).error()
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_exits_130(
    cli: Cli, tmp_path: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(keygen, "write_agency_keys", interrupted)
    result = cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path)
    assert result.code == 130
    assert result.err == "safeshare: interrupted\n"


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.ENOSPC, "No space left on device"), BrokenPipeError(errno.EPIPE, "Broken pipe")],
)
def test_output_write_error_is_one_line_exit_1(
    tmp_path: Path,
    passphrase: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exc: OSError,
) -> None:
    monkeypatch.setattr(sys, "stdout", _FailingOutput(exc))
    code = main(["keygen", "--agency", "XA-NPOL", "--out", str(tmp_path), "--json"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"safeshare: error: could not write output: {exc.strerror}\n"


def _subprocess_env(passphrase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    env["SAFESHARE_PASSPHRASE"] = passphrase
    return env


def test_module_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    env = _subprocess_env("subprocess passphrase")
    command = [sys.executable, "-m", "safeshare.cli.main"]
    args = ["keygen", "--agency", "XA-NPOL", "--out", str(tmp_path), "--json"]
    first = subprocess.run(
        [*command, *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    jwks = json.loads(first.stdout)
    keyset = AgencyKeySet.load(tmp_path / "XA-NPOL.keys.json", "subprocess passphrase")
    assert jwks == keyset.public_jwks()

    again = subprocess.run(
        [*command, *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr.startswith("safeshare: error: ")
    assert "Traceback" not in again.stderr
    assert again.stderr.count("safeshare: error:") == 1


def test_installed_console_script(tmp_path: Path) -> None:
    script = shutil.which("safeshare", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the safeshare console script is not installed next to this Python")
    version = subprocess.run([script, "--version"], check=False, capture_output=True, text=True)
    assert version.returncode == 0
    assert version.stdout.strip() == f"safeshare {safeshare.__version__}"

    env = _subprocess_env("wrong passphrase")
    bad = subprocess.run(
        [script, "registry", "verify", str(tmp_path / "nothing.json"), "--authority", "x"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("safeshare: error: ")
    assert "Traceback" not in bad.stderr
