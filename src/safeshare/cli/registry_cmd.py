"""``safeshare registry ...``: edit an unsigned draft, sign it, verify it.

The registry authority keeps an unsigned *draft* (``registry.draft.json``,
a :class:`~safeshare.registry.RegistryDocument`). The editing commands load it,
apply one change through the document's validated ``with_*`` methods and save
it atomically: a command that fails leaves the draft exactly as it was.
``sign`` turns the draft into the next signed version; ``verify`` and ``show``
are what a relying party runs, with the authority's public key pinned.

``verify --state STATEFILE --audit-db LOCATION --actor ID`` is how an agency
*accepts* a registry version: a version newer than the one remembered in the
state file is recorded in the agency's audit log (action ``registry_update``,
:func:`~safeshare.registry.record_registry_update`; with ``--previous FILE``,
the version accepted before, naming the suspensions and revocations that
changed) before the state file remembers it. A version already accepted is
not recorded again.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from safeshare._internal import fs
from safeshare._internal.clock import rfc3339
from safeshare.audit.checkpoint import agency_of_log_origin
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.cli._argtypes import agency_id, int_between, rfc3339_time
from safeshare.cli._common import (
    add_passphrase_option,
    build_model,
    print_json,
    printable,
    read_passphrase,
    refuse_overwrite,
    say,
    validation_message,
)
from safeshare.cli._context import actor, add_audit_log_options, open_agency_audit_log
from safeshare.cli._jwks import read_authority_key, read_public_keys
from safeshare.cli.keygen import check_registry_name, write_authority_key
from safeshare.errors import UnknownKeyError, UsageError
from safeshare.keys import AgencyKeySet, EncryptionKey, VerifyKey
from safeshare.registry import (
    Agency,
    ContactPoint,
    RegistryDocument,
    RegistryKey,
    RegistryState,
    TrustRegistry,
    record_registry_update,
    sign_registry,
)
from safeshare.storage import open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Handler, Subparsers

__all__ = ["DRAFT_NAME", "register"]

#: File name of the draft that ``registry init`` creates.
DRAFT_NAME: Final = "registry.draft.json"
_ONWARD: Final = ("never", "with_prior_authorisation", "domestic_same_conditions")
_KID_HELP: Final = "write --kid=KID if the key id begins with '-'"
_TIME_HELP: Final = "RFC 3339 time with a time zone, e.g. 2026-11-29T05:00:00Z"


def _now() -> datetime:
    """The current time in whole seconds, for times written into the draft."""
    return datetime.now(UTC).replace(microsecond=0)


def _registry_key(
    key: VerifyKey | EncryptionKey, *, not_before: datetime, not_after: datetime | None = None
) -> RegistryKey:
    try:
        return RegistryKey.from_public(key, not_before=not_before, not_after=not_after)
    except ValidationError as exc:  # from_public does not translate its validation errors
        raise UsageError(validation_message(exc, f"key {key.kid}")) from None


# -- argument wiring ------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add the ``registry`` command and its subcommands."""
    parser = subparsers.add_parser(
        "registry",
        help="build, sign and verify the trust registry",
        description="Build the trust registry as an unsigned draft, sign it, verify it.",
    )
    sub = parser.add_subparsers(dest="registry_command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def draft_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--draft", metavar="FILE", type=Path, required=True, help="the unsigned draft"
        )

    p = add("init", _init, "create an empty draft and the registry authority key pair")
    p.add_argument("--name", required=True, help="registry name, e.g. 'Arcadia-Borduria MoU'")
    p.add_argument("--out", metavar="DIR", type=Path, required=True, help="directory")
    p.add_argument("--force", action="store_true", help="replace existing files")
    add_passphrase_option(p)

    p = add("add-agency", _add_agency, "add an agency with all keys of its public JWKS")
    draft_option(p)
    p.add_argument("--id", metavar="ID", type=agency_id, required=True, help="e.g. XA-NPOL")
    p.add_argument("--name", required=True, help="the agency's name")
    p.add_argument("--country", metavar="CC", required=True, help="ISO 3166-1 alpha-2 code")
    p.add_argument("--jurisdiction", metavar="TEXT", required=True)
    p.add_argument("--contact-name", metavar="N", required=True)
    p.add_argument("--contact-email", metavar="E")
    p.add_argument("--contact-phone", metavar="P")
    p.add_argument("--contact-24-7-name", metavar="N", help="24/7 point of contact")
    p.add_argument("--contact-24-7-email", metavar="E")
    p.add_argument("--contact-24-7-phone", metavar="P")
    p.add_argument("--jwks", metavar="FILE", type=Path, required=True, help="public JWKS")
    p.add_argument("--max-retention-days", metavar="N", type=int_between(1, 36_500), required=True)
    p.add_argument("--onward-transfer", choices=_ONWARD, required=True)
    p.add_argument("--oversight-body", metavar="TEXT", required=True)
    p.add_argument(
        "--instrument",
        metavar="CODE",
        action="append",
        required=True,
        help="legal instrument the agency accepts (repeatable), e.g. BUDAPEST-SAP2",
    )
    p.add_argument(
        "--not-before", metavar="TIME", type=rfc3339_time, help=f"keys valid from; {_TIME_HELP}"
    )

    p = add("add-key", _add_key, "add keys of an agency from its public JWKS")
    draft_option(p)
    p.add_argument("--agency", metavar="ID", type=agency_id, required=True)
    p.add_argument("--jwks", metavar="FILE", type=Path, required=True, help="public JWKS")
    p.add_argument(
        "--kid",
        help=f"add only this key (default: every key not yet registered); {_KID_HELP}",
    )
    p.add_argument("--not-before", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--not-after", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)

    p = add("revoke-key", _revoke_key, "revoke an agency's key from a given time")
    draft_option(p)
    p.add_argument("--agency", metavar="ID", type=agency_id, required=True)
    p.add_argument("--kid", required=True, help=_KID_HELP)
    p.add_argument("--at", metavar="TIME", type=rfc3339_time, help=f"default now; {_TIME_HELP}")
    p.add_argument("--reason", metavar="TEXT")

    p = add("suspend", _suspend, "suspend transfers with an agency from a given time")
    draft_option(p)
    p.add_argument("--agency", metavar="ID", type=agency_id, required=True)
    p.add_argument("--at", metavar="TIME", type=rfc3339_time, help=f"default now; {_TIME_HELP}")
    p.add_argument("--reason", metavar="TEXT")

    p = add("reinstate", _reinstate, "lift an agency's suspension (the period stays on record)")
    draft_option(p)
    p.add_argument("--agency", metavar="ID", type=agency_id, required=True)
    p.add_argument("--at", metavar="TIME", type=rfc3339_time, help=f"default now; {_TIME_HELP}")

    p = add("sign", _sign, "sign the draft as the next registry version")
    draft_option(p)
    p.add_argument("--authority-key", metavar="KEYFILE", type=Path, required=True)
    p.add_argument("--out", metavar="FILE", type=Path, required=True, help="signed registry")
    p.add_argument(
        "--valid-days", metavar="N", type=int_between(1, 3650), default=30, help="default 30"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_passphrase_option(p)

    for name, handler, help_text in (
        ("verify", _verify, "verify a signed registry against the pinned authority key"),
        ("show", _show, "verify a signed registry, then list its agencies and keys"),
    ):
        p = add(name, handler, help_text)
        p.add_argument("file", metavar="FILE", type=Path, help="signed registry file")
        p.add_argument(
            "--authority",
            metavar="JWKS_FILE",
            type=Path,
            required=True,
            help="the authority's public JWKS (authority.jwks.json)",
        )
        if name == "verify":
            p.add_argument(
                "--state",
                metavar="STATEFILE",
                type=Path,
                help="remember the newest accepted serial here and refuse older ones",
            )
            add_audit_log_options(
                p,
                recorded=(
                    "record the acceptance of a registry version newer than the one in --state "
                    "there (action registry_update, metadata only) before --state remembers it; "
                    "needs --state and --actor"
                ),
                network_note="; needed to create the log in a new --audit-db (with --agency)",
            )
            p.add_argument(
                "--actor",
                metavar="ID",
                type=actor,
                help="who accepts the registry: an officer or system (recorded in the audit log)",
            )
            p.add_argument(
                "--agency",
                metavar="ID",
                type=agency_id,
                help="our own agency id, whose audit log --audit-db is (default: the agency of "
                "the log already there)",
            )
            p.add_argument(
                "--previous",
                metavar="FILE",
                type=Path,
                help="the signed registry accepted before (the one --state remembers): the "
                "recorded entry then names the suspensions and revocations that changed",
            )
        p.add_argument("--json", action="store_true", help="print the result as JSON")


# -- draft editing ----------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    out: Path = args.out
    name = check_registry_name(args.name)
    draft_path = out / DRAFT_NAME
    key_path = out / "authority.keys.json"
    refuse_overwrite([draft_path, key_path, out / "authority.jwks.json"], force=args.force)
    passphrase = read_passphrase(args.passphrase_file, purpose=f"new key file {key_path}", new=True)
    keyset, files = write_authority_key(out, name, passphrase, force=args.force)
    RegistryDocument(name=name, serial=0).save(draft_path)
    say(f"Created registry draft {draft_path} for {name!r} (serial 0, no agencies)")
    say(f"  authority signing key:        {keyset.signing_key.kid}")
    say(f"  private key file (encrypted): {files.private}")
    say(f"  public JWKS (pin this):       {files.public}")
    return 0


def _add_agency(args: argparse.Namespace) -> int:
    draft = RegistryDocument.load(args.draft)
    not_before = args.not_before or _now()
    keys = [_registry_key(k, not_before=not_before) for k in read_public_keys(args.jwks)]
    contact_24_7: dict[str, Any] | None = None
    if args.contact_24_7_email or args.contact_24_7_phone or args.contact_24_7_name:
        if not args.contact_24_7_name:
            raise UsageError("--contact-24-7-name is required with a 24/7 email or phone")
        contact_24_7 = {
            "name": args.contact_24_7_name,
            "email": args.contact_24_7_email,
            "phone": args.contact_24_7_phone,
            "available_24_7": True,
        }
    agency = build_model(
        Agency,
        {
            "id": args.id,
            "name": args.name,
            "country": args.country,
            "jurisdiction": args.jurisdiction,
            "contact": {
                "name": args.contact_name,
                "email": args.contact_email,
                "phone": args.contact_phone,
            },
            "contact_24_7": contact_24_7,
            "keys": keys,
            "safeguards": {
                "max_retention_days": args.max_retention_days,
                "onward_transfer": args.onward_transfer,
                "oversight_body": args.oversight_body,
                "accepted_instruments": tuple(args.instrument),
            },
        },
        what=f"agency {args.id}",
    )
    draft.with_agency(agency).save(args.draft)
    say(f"Added agency {agency.id} ({printable(agency.name)}) with {len(keys)} key(s):")
    for key in keys:
        say(f"  {key.kid}  {key.use}  valid from {rfc3339(key.not_before)}")
    return 0


def _add_key(args: argparse.Namespace) -> int:
    draft = RegistryDocument.load(args.draft)
    agency = draft.agency(args.agency)
    registered = {k.kid for k in agency.keys}
    keys = read_public_keys(args.jwks)
    if args.kid is not None:
        keys = [k for k in keys if k.kid == args.kid]
        if not keys:
            raise UnknownKeyError(f"JWKS file {str(args.jwks)!r} has no key {args.kid[:64]!r}")
        if args.kid in registered:
            raise UsageError(f"key {args.kid} is already registered for {agency.id}")
    else:
        keys = [k for k in keys if k.kid not in registered]
        if not keys:
            raise UsageError(
                f"every key in {str(args.jwks)!r} is already registered for {agency.id}"
            )
    not_before = args.not_before or _now()
    updated = draft
    for key in keys:
        entry = _registry_key(key, not_before=not_before, not_after=args.not_after)
        updated = updated.with_key(agency.id, entry)
    updated.save(args.draft)
    for key in keys:
        say(f"Added key {key.kid} ({key.use}) to {agency.id}")
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    draft = RegistryDocument.load(args.draft)
    agency = draft.agency(args.agency)
    at: datetime = args.at or _now()
    entry = next((k for k in agency.keys if k.kid == args.kid), None)
    if entry is None:
        raise UnknownKeyError(f"agency {agency.id} has no key {args.kid[:64]!r}")
    if entry.revoked_at is not None and at >= entry.revoked_at:
        # A later time would make the key valid again for the time in between.
        raise UsageError(
            f"key {entry.kid} of {agency.id} is already revoked since {rfc3339(entry.revoked_at)}",
            hint="a revocation can only be moved to an earlier time",
        )
    draft.with_revoked_key(agency.id, entry.kid, at=at, reason=args.reason).save(args.draft)
    say(f"Revoked key {entry.kid} of {agency.id} from {rfc3339(at)}")
    return 0


def _suspend(args: argparse.Namespace) -> int:
    draft = RegistryDocument.load(args.draft)
    at: datetime = args.at or _now()
    draft.with_suspension(args.agency, at=at, reason=args.reason).save(args.draft)
    say(f"Suspended agency {args.agency} from {rfc3339(at)}")
    return 0


def _reinstate(args: argparse.Namespace) -> int:
    draft = RegistryDocument.load(args.draft)
    at: datetime = args.at or _now()
    draft.with_reinstatement(args.agency, at=at).save(args.draft)
    say(f"Reinstated agency {args.agency} from {rfc3339(at)}")
    return 0


# -- signing and verifying --------------------------------------------------------


def _sign(args: argparse.Namespace) -> int:
    draft_path: Path = args.draft
    out: Path = args.out
    if out.resolve() == draft_path.resolve():
        raise UsageError("--out must not be the draft file")
    draft = RegistryDocument.load(draft_path)
    passphrase = read_passphrase(
        args.passphrase_file, purpose=f"authority key file {args.authority_key}", new=False
    )
    authority = AgencyKeySet.load(args.authority_key, passphrase).signing_key
    version = draft.next_version(now=_now(), valid_for=timedelta(days=args.valid_days))
    signed = sign_registry(version, authority)
    # Record the new serial before publishing it: if writing the signed file
    # then fails, a serial is skipped (harmless); the other order could sign
    # two different documents under one serial, which relying parties refuse.
    version.save(draft_path)
    fs.atomic_write(out, signed)
    if args.json:
        print_json(
            {
                "agencies": len(version.agencies),
                "authority_kid": authority.kid,
                "expires_at": _when(version.expires_at),
                "issued_at": _when(version.issued_at),
                "name": version.name,
                "out": str(out),
                "serial": version.serial,
            }
        )
    else:
        say(
            f"Signed registry {printable(version.name)!r} serial {version.serial} "
            f"({len(version.agencies)} agencies), valid until {_when(version.expires_at)}"
        )
        say(f"  written to {out}")
    return 0


def _load_verified(args: argparse.Namespace, state: RegistryState | None) -> TrustRegistry:
    authority = read_authority_key(args.authority)
    return TrustRegistry.load(args.file, authority, now=datetime.now(UTC), state=state)


def _summary(registry: TrustRegistry) -> dict[str, Any]:
    doc = registry.document
    return {
        "agencies": len(doc.agencies),
        "authority_kid": registry.authority_kid,
        "expires_at": _when(doc.expires_at),
        "issued_at": _when(doc.issued_at),
        "name": doc.name,
        "serial": doc.serial,
        "sha256": registry.digest,
    }


def _verify(args: argparse.Namespace) -> int:
    state = None if args.state is None else RegistryState(args.state)
    recorded: int | None = None
    if args.audit_db is None:
        for flag, value in (
            ("--actor", args.actor),
            ("--agency", args.agency),
            ("--previous", args.previous),
            ("--audit-network", args.audit_network),
        ):
            if value is not None:
                raise UsageError(f"{flag} is only used to record the acceptance: give --audit-db")
        registry = _load_verified(args, state)
    else:
        if state is None or args.actor is None:
            raise UsageError(
                "recording the acceptance of a registry needs --state STATEFILE (which "
                "version was accepted before) and --actor ID (who accepts it)"
            )
        registry, recorded = _accept(args, state)
    info = _summary(registry)
    if args.json:
        if args.audit_db is not None:
            info["audit_index"] = recorded
        print_json({"status": "ok", **info})
    else:
        say(
            f"OK: registry {printable(info['name'])!r} serial {info['serial']}, "
            f"{info['agencies']} agencies, expires {info['expires_at']}"
        )
        if args.audit_db is not None:
            say(
                f"Serial {info['serial']} was already accepted; nothing recorded"
                if recorded is None
                else f"Recorded the acceptance as entry #{recorded} of the audit log"
            )
    return 0


def _accept(args: argparse.Namespace, state: RegistryState) -> tuple[TrustRegistry, int | None]:
    """Verify, record (unless this version was accepted already), then remember the version.

    The entry is durable before the state file names the new version, so no
    version is relied on without its ``registry_update`` entry.
    """
    registry = _load_verified(args, None)
    kid, serial, digest = registry.authority_kid, registry.serial, registry.digest
    state.check(kid, serial, digest)  # rollback and fork refused before anything is recorded
    last = state.last_accepted(kid)
    if last == (serial, digest):
        return registry, None
    previous = None
    if args.previous is not None:
        # The version accepted before may have expired since: judge it when the new
        # one was issued. It only serves to name what changed.
        previous = TrustRegistry.load(
            args.previous, read_authority_key(args.authority), now=registry.document.issued_at
        )
        if last is not None and (previous.serial, previous.digest) != last:
            raise UsageError(
                f"--previous is registry serial {previous.serial}, but the version accepted "
                f"before (in {args.state}) is serial {last[0]}"
                + (" with other content" if previous.serial == last[0] else ""),
                hint="give the registry file --state remembers, or leave out --previous",
            )
    with _recorder(args) as (recorder, agency):
        index = record_registry_update(
            recorder,
            registry,
            agency=agency,
            actor=args.actor,
            now=datetime.now(UTC),
            previous=previous,
        )
    state.record(kid, serial, digest)
    return registry, index


@contextlib.contextmanager
def _recorder(args: argparse.Namespace) -> Iterator[tuple[AuditLogRecorder, str]]:
    """The recorder of --audit-db and our agency (--agency, or the agency of the log there)."""
    with open_store(args.audit_db) as store:
        agency: str | None = args.agency
        if agency is None:
            stored = AuditLog.stored_origin(store)
            parsed = None if stored is None else agency_of_log_origin(stored)
            if parsed is None:
                raise UsageError(
                    f"the audit database {store.location} holds no agency's audit log yet",
                    hint="give --agency ID (and --audit-network NAME) to create it",
                )
            agency = parsed[1]
        log = open_agency_audit_log(store, agency, args.audit_network)
        yield AuditLogRecorder(log), agency


def _show(args: argparse.Namespace) -> int:
    registry = _load_verified(args, None)
    if args.json:
        print_json(registry.document.model_dump(mode="json"))
        return 0
    info = _summary(registry)
    say(
        f"Registry {printable(info['name'])!r} serial {info['serial']}: issued "
        f"{info['issued_at']}, expires {info['expires_at']}"
    )
    say(f"Signature verified with the pinned authority key {info['authority_kid']}")
    for agency in registry:
        say()
        for line in describe_agency(agency):
            say(line)
    return 0


def _contact(contact: ContactPoint) -> str:
    parts = [contact.name]
    if contact.email:
        parts.append(f"<{contact.email}>")
    if contact.phone:
        parts.append(contact.phone)
    return printable(" ".join(parts))


def _when(value: datetime | None) -> str:
    return "-" if value is None else rfc3339(value)


def describe_agency(agency: Agency) -> list[str]:
    """Human-readable lines about one agency: identity, status, safeguards, keys."""
    s = agency.safeguards
    current = agency.open_suspension
    status = "active"
    if current is not None:
        reason = f" ({current.reason})" if current.reason else ""
        status = f"suspended from {rfc3339(current.start)}{reason}"
    past = [p for p in agency.suspensions if p.end is not None]
    if past:
        status += "; earlier suspensions: " + ", ".join(
            f"{rfc3339(p.start)} to {_when(p.end)}" for p in past
        )
    lines = [
        f"{agency.id}  {agency.name}",
        f"  country:      {agency.country}    jurisdiction: {agency.jurisdiction}",
        f"  status:       {status}",
        f"  contact:      {_contact(agency.contact)}",
    ]
    if agency.contact_24_7 is not None:
        lines.append(f"  24/7 contact: {_contact(agency.contact_24_7)}")
    automated = (
        "never solely automated" if s.no_solely_automated_decisions else "may be solely automated"
    )
    breach = "-" if s.breach_notification_hours is None else f"{s.breach_notification_hours} h"
    lines += [
        "  safeguards:",
        f"    max retention:        {s.max_retention_days} days",
        f"    onward transfer:      {s.onward_transfer}",
        f"    oversight body:       {s.oversight_body}",
        f"    instruments:          {', '.join(s.accepted_instruments)}",
        f"    automated decisions:  {automated}",
        f"    breach notification:  {breach}",
        "  keys:",
        f"    {'KID':<43}  USE  {'NOT BEFORE':<20}  {'NOT AFTER':<20}  REVOKED",
    ]
    for key in agency.keys:
        revoked = _when(key.revoked_at)
        if key.revocation_reason:
            revoked += f" ({key.revocation_reason})"
        lines.append(
            f"    {key.kid:<43}  {key.use:<3}  {_when(key.not_before):<20}  "
            f"{_when(key.not_after):<20}  {revoked}"
        )
    if not agency.keys:
        lines.append("    (none)")
    return [printable(line) for line in lines]
