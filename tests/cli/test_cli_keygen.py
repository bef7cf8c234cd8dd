"""``safeshare keygen``: agency key sets and the registry authority key."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from safeshare.keys import AgencyKeySet

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


def rfc7638_thumbprint(jwk: dict[str, str]) -> str:
    """Computed here from RFC 7638 section 3, independently of safeshare."""
    members = {"crv": jwk["crv"], "kty": "OKP", "x": jwk["x"]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_json_prints_jwks_whose_kids_are_rfc7638_thumbprints(
    cli: Cli, tmp_path: Path, passphrase: str
) -> None:
    jwks = cli("keygen", "--agency", "XX-TEST", "--out", tmp_path, "--json").json()
    keys = jwks["keys"]
    assert [(k["crv"], k["use"], k["alg"]) for k in keys] == [
        ("Ed25519", "sig", "Ed25519"),
        ("X25519", "enc", "ECDH-ES+A256KW"),
    ]
    for jwk in keys:
        assert jwk["kty"] == "OKP"
        assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32
        assert jwk["kid"] == rfc7638_thumbprint(jwk)
    # stdout is exactly the public JWKS of the key file, and of the .jwks.json file
    keyset = AgencyKeySet.load(tmp_path / "XX-TEST.keys.json", passphrase)
    assert jwks == keyset.public_jwks()
    assert json.loads((tmp_path / "XX-TEST.jwks.json").read_text()) == jwks
    assert all("d" not in jwk for jwk in keys)  # public keys only


def test_thumbprint_check_detects_a_wrong_kid() -> None:
    # the helper above must be able to disagree with a kid
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert rfc7638_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"  # RFC 8037 A.3
    assert (
        rfc7638_thumbprint({**jwk, "x": jwk["x"][::-1]})
        != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    )


def test_key_file_is_0600_encrypted_and_summary_names_kids_and_paths(
    cli: Cli, tmp_path: Path, passphrase: str
) -> None:
    out_dir = tmp_path / "new" / "keys"  # created, with parents
    result = cli("keygen", "--agency", "XA-NPOL", "--out", out_dir)
    assert result.code == 0, result.err
    key_file, jwks_file = out_dir / "XA-NPOL.keys.json", out_dir / "XA-NPOL.jwks.json"
    assert mode(key_file) == 0o600
    keyset = AgencyKeySet.load(key_file, passphrase)
    assert keyset.agency == "XA-NPOL"
    text = key_file.read_text()
    for jwk in keyset.public_jwks()["keys"]:
        assert jwk["x"] not in text  # encrypted, not a plain JWKS
    assert keyset.signing_key.kid in result.out
    assert keyset.decryption_key.kid in result.out
    assert str(key_file) in result.out
    assert str(jwks_file) in result.out
    assert passphrase not in result.out + result.err


def test_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path, passphrase: str) -> None:
    assert cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).code == 0
    key_file, jwks_file = tmp_path / "XA-NPOL.keys.json", tmp_path / "XA-NPOL.jwks.json"
    before = key_file.read_bytes(), jwks_file.read_bytes()

    message = cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).error()
    assert "already exist" in message
    assert "XA-NPOL.keys.json" in message
    assert (key_file.read_bytes(), jwks_file.read_bytes()) == before

    # one of the two files is enough to refuse, and nothing is written
    key_file.unlink()
    cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).error()
    assert not key_file.exists()
    assert jwks_file.read_bytes() == before[1]

    assert cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path, "--force").code == 0
    assert jwks_file.read_bytes() != before[1]
    assert mode(key_file) == 0o600


@pytest.mark.parametrize("bad", ["xa-npol", "XA", "ARC-NPOL", "XA-", "XA-A-B-C-D-E", "XA_NPOL"])
def test_bad_agency_id_is_a_usage_error_before_anything_is_written(
    cli: Cli, tmp_path: Path, passphrase: str, bad: str
) -> None:
    out_dir = tmp_path / "out"
    last = cli("keygen", "--agency", bad, "--out", out_dir).usage_error()
    assert "not a valid agency id" in last
    assert "XA-NPOL" in last
    assert not out_dir.exists()


def test_authority_key(cli: Cli, tmp_path: Path, passphrase: str) -> None:
    result = cli("keygen", "--authority", "--name", "Test Registry", "--out", tmp_path, "--json")
    jwks = result.json()
    (jwk,) = jwks["keys"]
    assert jwk["use"] == "sig"
    assert jwk["crv"] == "Ed25519"
    assert jwk["kid"] == rfc7638_thumbprint(jwk)
    assert json.loads((tmp_path / "authority.jwks.json").read_text()) == jwks
    key_file = tmp_path / "authority.keys.json"
    assert mode(key_file) == 0o600
    keyset = AgencyKeySet.load(key_file, passphrase)
    assert keyset.agency == "Test Registry"  # no agency-id pattern for the authority
    assert keyset.signing_key.public.to_jwk() == jwk


def test_authority_needs_name_and_agency_refuses_name(
    cli: Cli, tmp_path: Path, passphrase: str
) -> None:
    assert "--name" in cli("keygen", "--authority", "--out", tmp_path).error()
    assert (
        "--authority"
        in cli("keygen", "--agency", "XA-NPOL", "--name", "x", "--out", tmp_path).error()
    )
    assert (
        "not allowed with"
        in cli("keygen", "--agency", "XA-NPOL", "--authority", "--out", tmp_path).usage_error()
    )
    assert list(tmp_path.iterdir()) == []


def test_short_passphrase_is_refused_before_writing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHARE_PASSPHRASE", "short")
    assert "at least" in cli("keygen", "--agency", "XA-NPOL", "--out", tmp_path).error()
    assert list(tmp_path.iterdir()) == []
