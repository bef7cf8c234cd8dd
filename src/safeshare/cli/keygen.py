"""``safeshare keygen``: agency key sets and the registry authority key.

An agency key set has one Ed25519 signing key, one X25519 encryption key and
one privacy secret (the key of its pseudonyms and blind index; never public).
``DIR/ID.keys.json`` holds the private keys, encrypted under a passphrase
(mode 0600); ``DIR/ID.jwks.json`` holds the public keys for the registry.

The registry authority needs only an Ed25519 signing key. It is stored in the
same encrypted key-file format (an :class:`~safeshare.keys.AgencyKeySet` whose
"agency" is the registry name), so one tool handles all key files; only its
signing key is ever used, and ``authority.jwks.json`` publishes only that key.
It holds no privacy secret.

``safeshare keygen --privacy KEYFILE`` adds a privacy secret to an existing
agency key file made before key sets had one (re-encrypted under the same
passphrase, written atomically); a key file that already holds one is left
alone unless ``--force`` is given (replacing the secret makes every pseudonym
and blind-index token made with the old one unresolvable).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeshare._internal import fs
from safeshare.cli._argtypes import agency_id
from safeshare.cli._common import (
    add_passphrase_option,
    build_model,
    ensure_directory,
    json_text,
    print_json,
    read_passphrase,
    refuse_overwrite,
    say,
)
from safeshare.errors import UsageError
from safeshare.keys import AgencyKeySet, DecryptionKey, SigningKey
from safeshare.registry import RegistryDocument

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = [
    "AUTHORITY_STEM",
    "KeyFiles",
    "add_privacy_secret",
    "authority_jwks",
    "check_registry_name",
    "register",
    "write_agency_keys",
    "write_authority_key",
]

#: File name stem of the registry authority's key files.
AUTHORITY_STEM = "authority"


@dataclass(frozen=True)
class KeyFiles:
    """Where a key set is stored: the encrypted private file and the public JWKS."""

    private: Path
    public: Path

    @classmethod
    def in_directory(cls, directory: Path, stem: str) -> KeyFiles:
        """``DIR/<stem>.keys.json`` and ``DIR/<stem>.jwks.json``."""
        return cls(directory / f"{stem}.keys.json", directory / f"{stem}.jwks.json")


def authority_jwks(keyset: AgencyKeySet) -> dict[str, list[dict[str, str]]]:
    """The authority's public JWKS: its current signing key only."""
    return {"keys": [keyset.signing_key.public.to_jwk()]}


def check_registry_name(name: str) -> str:
    """Validate a registry name as the registry document does; return it normalised."""
    return build_model(RegistryDocument, {"name": name, "serial": 0}, what="registry name").name


def _write(keyset: AgencyKeySet, jwks: dict[str, Any], files: KeyFiles, passphrase: str) -> None:
    keyset.save(files.private, passphrase)
    fs.atomic_write(files.public, json_text(jwks).encode("utf-8"))


def write_agency_keys(
    directory: Path, agency: str, passphrase: str, *, force: bool
) -> tuple[AgencyKeySet, KeyFiles]:
    """Generate a key set for *agency* and write its two files into *directory*."""
    files = KeyFiles.in_directory(directory, agency)
    refuse_overwrite([files.private, files.public], force=force)
    ensure_directory(directory)
    keyset = AgencyKeySet.generate(agency)
    _write(keyset, keyset.public_jwks(), files, passphrase)
    return keyset, files


def write_authority_key(
    directory: Path, name: str, passphrase: str, *, force: bool
) -> tuple[AgencyKeySet, KeyFiles]:
    """Generate the registry authority key for registry *name* and write it."""
    files = KeyFiles.in_directory(directory, AUTHORITY_STEM)
    refuse_overwrite([files.private, files.public], force=force)
    ensure_directory(directory)
    # Only the signing key is used; the authority has no pseudonyms, so no privacy secret.
    keyset = AgencyKeySet(name, [SigningKey.generate()], [DecryptionKey.generate()])
    _write(keyset, authority_jwks(keyset), files, passphrase)
    return keyset, files


def add_privacy_secret(path: Path, passphrase: str, *, force: bool) -> AgencyKeySet:
    """Add a fresh privacy secret to the key file at *path*; return the new key set.

    The file is decrypted with *passphrase* and rewritten (atomically, mode
    0600) under the same passphrase. A key file that already holds a privacy
    secret raises :class:`UsageError` unless *force*.
    """
    keyset = AgencyKeySet.load(path, passphrase)
    if keyset.has_privacy_secret and not force:
        raise UsageError(
            f"the key file {path} already holds a privacy secret",
            hint=(
                "replacing it makes every pseudonym and blind-index token made with it "
                "unresolvable; use --force only if that is intended"
            ),
        )
    updated = keyset.with_privacy_secret()
    updated.save(path, passphrase)
    return updated


def register(subparsers: Subparsers) -> None:
    """Add the ``keygen`` subcommand."""
    parser = subparsers.add_parser(
        "keygen",
        help="generate an agency key set or a registry authority key",
        description=(
            "Generate an agency key set (--agency ID: an Ed25519 signing key, an X25519 "
            "encryption key and a privacy secret for pseudonyms and the blind index) or a "
            "registry authority signing key (--authority --name NAME), or add a privacy "
            "secret to an existing agency key file (--privacy KEYFILE). "
            "Writes DIR/<ID>.keys.json (private keys, encrypted with a passphrase, mode 0600) "
            "and DIR/<ID>.jwks.json (public keys). The authority key is stored in the same "
            "key-file format, labelled with the registry name instead of an agency id; only "
            "its signing key is used, and authority.jwks.json contains only that key."
        ),
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--agency", metavar="ID", type=agency_id, help="agency id, e.g. XA-NPOL")
    who.add_argument(
        "--authority",
        action="store_true",
        help="generate the registry authority key (authority.keys.json, authority.jwks.json)",
    )
    who.add_argument(
        "--privacy",
        metavar="KEYFILE",
        type=Path,
        help=(
            "add a privacy secret to this existing agency key file (same passphrase); "
            "with --force, replace the one it holds"
        ),
    )
    parser.add_argument(
        "--name", help="with --authority: the registry name recorded in the key file"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="directory (created if missing); required with --agency and --authority",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace existing key files (with --privacy: an existing privacy secret)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the public JWKS instead of a summary"
    )
    add_passphrase_option(parser)
    parser.set_defaults(handler=_keygen)


def _keygen(args: argparse.Namespace) -> int:
    force: bool = args.force
    if args.privacy is not None:
        return _add_privacy(args.privacy, args, force=force)
    if args.out is None:
        raise UsageError("keygen --agency and --authority need --out DIR")
    out: Path = args.out
    if args.authority:
        if args.name is None:
            raise UsageError("keygen --authority needs --name NAME (the registry name)")
        name = check_registry_name(args.name)
        files = KeyFiles.in_directory(out, AUTHORITY_STEM)
    else:
        if args.name is not None:
            raise UsageError("--name is only used with --authority")
        files = KeyFiles.in_directory(out, args.agency)
    # Refuse before asking for a passphrase; the writers check again.
    refuse_overwrite([files.private, files.public], force=force)
    passphrase = read_passphrase(
        args.passphrase_file, purpose=f"new key file {files.private}", new=True
    )
    if args.authority:
        keyset, files = write_authority_key(out, name, passphrase, force=force)
        jwks = authority_jwks(keyset)
        label = f"the registry authority of {name!r}"
    else:
        keyset, files = write_agency_keys(out, args.agency, passphrase, force=force)
        jwks = keyset.public_jwks()
        label = f"agency {keyset.agency}"
    if args.json:
        print_json(jwks)
        return 0
    say(f"Generated keys for {label}")
    say(f"  signing key (Ed25519):        {keyset.signing_key.kid}")
    if not args.authority:
        say(f"  encryption key (X25519):      {keyset.decryption_key.kid}")
    say(f"  private key file (encrypted): {files.private}")
    say(f"  public JWKS:                  {files.public}")
    return 0


def _add_privacy(path: Path, args: argparse.Namespace, *, force: bool) -> int:
    if args.name is not None or args.out is not None or args.json:
        raise UsageError("keygen --privacy KEYFILE takes no --name, --out or --json")
    passphrase = read_passphrase(args.passphrase_file, purpose=f"key file {path}", new=False)
    keyset = add_privacy_secret(path, passphrase, force=force)
    say(f"Added a privacy secret to the key file of agency {keyset.agency}: {path}")
    say(f"  privacy secret fingerprint:   {keyset.privacy_secret.fingerprint}")
    return 0
