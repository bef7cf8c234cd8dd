"""What the commands that act as an agency share: its key set, the verified
trust registry, and its audit log.

``seal``, ``open`` and ``consent grant``/``revoke``/``add`` take the same
options for these (``--key`` with ``--passphrase-file``; ``--registry``,
``--authority``, ``--registry-state`` and ``--now``; ``--actor``) and load
them the same way; the helpers below are the one place where that happens.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from safeshare.audit.checkpoint import agency_log_origin, agency_of_log_origin
from safeshare.audit.entry import MAX_ACTOR_LENGTH
from safeshare.audit.log import AuditLog
from safeshare.cli._argtypes import rfc3339_time
from safeshare.cli._common import read_passphrase
from safeshare.cli._jwks import read_authority_key
from safeshare.errors import UsageError
from safeshare.keys import AgencyKeySet
from safeshare.registry import RegistryState, TrustRegistry
from safeshare.storage import Store

__all__ = [
    "actor",
    "add_audit_log_options",
    "add_key_option",
    "add_registry_options",
    "load_keyset",
    "load_registry",
    "open_agency_audit_log",
]


# -- argument types and options ---------------------------------------------------------


def actor(text: str) -> str:
    """Argument type of ``--actor``: who acts, as recorded in the audit log."""
    if not text.strip() or len(text) > MAX_ACTOR_LENGTH or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} does not name an actor: use 1 to {MAX_ACTOR_LENGTH} printable "
            "characters, e.g. an officer's badge number or a service account"
        )
    return text


def add_key_option(p: argparse.ArgumentParser) -> None:
    """``--key KEYFILE``: our agency's key file (its passphrase: ``add_passphrase_option``)."""
    p.add_argument(
        "--key",
        metavar="KEYFILE",
        type=Path,
        required=True,
        help="our agency's encrypted key file (ID.keys.json from 'safeshare keygen')",
    )


def add_registry_options(p: argparse.ArgumentParser, *, now_help: str) -> None:
    """``--registry``, ``--authority``, ``--registry-state`` and ``--now`` (help: *now_help*)."""
    p.add_argument(
        "--registry", metavar="FILE", type=Path, required=True, help="the signed trust registry"
    )
    p.add_argument(
        "--authority",
        metavar="JWKS_FILE",
        type=Path,
        required=True,
        help="the registry authority's public JWKS to pin (authority.jwks.json)",
    )
    p.add_argument(
        "--registry-state",
        metavar="FILE",
        type=Path,
        help="remember the newest accepted registry serial here and refuse older ones",
    )
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=now_help)


def add_audit_log_options(p: argparse.ArgumentParser, *, recorded: str, network_note: str) -> None:
    """``--audit-db`` and ``--audit-network``: the agency's audit log.

    *recorded* says what is recorded there and when; *network_note* follows the
    origin in the help of ``--audit-network``.
    """
    p.add_argument(
        "--audit-db",
        metavar="LOCATION",
        help=(
            "the agency's audit log database (an SQLite file path or a postgresql:// URL): "
            + recorded
        ),
    )
    p.add_argument(
        "--audit-network",
        metavar="NAME",
        help="the network name in the audit log's origin <NAME>/<agency>/audit" + network_note,
    )


# -- loading ----------------------------------------------------------------------------


def load_registry(args: argparse.Namespace, now: datetime) -> TrustRegistry:
    """The trust registry of ``--registry``, verified at *now* against ``--authority``."""
    authority = read_authority_key(args.authority)
    state = None if args.registry_state is None else RegistryState(args.registry_state)
    return TrustRegistry.load(args.registry, authority, now=now, state=state)


def load_keyset(args: argparse.Namespace) -> AgencyKeySet:
    """Our agency's key set from ``--key``, decrypted with the passphrase it needs."""
    passphrase = read_passphrase(args.passphrase_file, purpose=f"key file {args.key}", new=False)
    return AgencyKeySet.load(args.key, passphrase)


def open_agency_audit_log(store: Store, agency: str, network: str | None) -> AuditLog:
    """The audit log of *agency* in *store*, created as ``<network>/<agency>/audit`` if new."""
    stored = AuditLog.stored_origin(store)
    if stored is None:
        if network is None:
            raise UsageError(
                f"the audit database {store.location} holds no audit log yet",
                hint=(
                    "give --audit-network NAME (e.g. safeshare.example) to create the log "
                    f"NAME/{agency}/audit there, or point --audit-db at {agency}'s audit log"
                ),
            )
        return AuditLog(store, origin=agency_log_origin(agency, network=network))
    parsed = agency_of_log_origin(stored)
    if parsed is None or parsed[1] != agency:
        raise UsageError(
            f"the audit database {store.location} holds the audit log {stored!r}, which is "
            f"not the log of {agency} (<network>/{agency}/audit)",
            hint=f"point --audit-db at {agency}'s own audit log",
        )
    if network is not None and parsed[0] != network:
        raise UsageError(
            f"the audit log in {store.location} belongs to the network {parsed[0]!r}, "
            f"not {network!r}",
            hint="leave out --audit-network to use the log under the origin it records",
        )
    return AuditLog(store, origin=stored)
