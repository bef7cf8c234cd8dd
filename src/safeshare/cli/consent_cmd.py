"""``safeshare consent ...``: grant and revoke consent; record, list and check it.

The originating agency (the issuer of an envelope) runs

* ``grant``: sign a consent grant (:func:`safeshare.purpose.consent.issue_grant`)
  for one recipient of one envelope (its ``jti`` and digest), for a new
  purpose, an onward transfer to one agency, or use as evidence. The
  registry is verified against the pinned authority key first; the holder
  (and the onward recipient) must be active agencies in it, and the new
  grant is verified against it before it is written, so a grant that the
  holder would refuse is never handed out;
* ``revoke``: sign the revocation of one of its grants.

Both record what they hand out in the agency's audit log with ``--audit-db
LOCATION --actor ID`` (``consent_grant`` / ``consent_revoke`` entries).

The holder runs

* ``add``: verify a grant or a revocation (told apart by its ``typ``) against
  the registry and record it in its consent database (with ``--audit-db
  --actor``, also in its audit log: ``consent_grant``, ``consent_revoke``, or
  ``deny`` for a refused token);
* ``list``: show every grant recorded for an envelope, with its status;
* ``check``: whether a valid grant allows one use (exit 0), or which consent
  is missing (exit 1).

Tokens go to ``--out FILE`` (written atomically) or to stdout. ``--now TIME``
(RFC 3339) makes every command reproducible; it is also the time at which the
registry is verified.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from safeshare._internal import fs
from safeshare._internal.clock import rfc3339
from safeshare.audit.checkpoint import agency_of_log_origin
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.cli._argtypes import agency_id, int_between, rfc3339_time
from safeshare.cli._common import (
    STDIN,
    add_passphrase_option,
    print_json,
    printable,
    read_stdin,
    refuse_overwrite,
    resolve_now,
    say,
    stdin_is_terminal,
)
from safeshare.cli._context import (
    actor,
    add_audit_log_options,
    add_key_option,
    add_registry_options,
    load_keyset,
    load_registry,
    open_agency_audit_log,
)
from safeshare.errors import MalformedInputError, UsageError
from safeshare.purpose.consent import (
    CONSENT_SCOPES,
    MAX_CONSENT_TOKEN_CHARS,
    MAX_GRANT_LIFETIME,
    MAX_TEXT_LENGTH,
    ConsentGrant,
    ConsentRevocation,
    ConsentScope,
    ConsentStore,
    consent_token_kind,
    describe_scope,
    issue_grant,
    issue_revocation,
    record_grant_issued,
    record_revocation_issued,
    verify_grant,
)
from safeshare.storage import open_store

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safeshare.cli._common import Subparsers

__all__ = ["DEFAULT_VALID_DAYS", "grant_status", "read_token", "register"]

#: Default lifetime of a grant issued on the command line, in days.
DEFAULT_VALID_DAYS: Final = 30
#: A token file may end with one line break (as this command writes it).
_MAX_TOKEN_FILE_BYTES: Final = MAX_CONSENT_TOKEN_CHARS + 2

_TIME_HELP: Final = (
    "RFC 3339 time with a time zone, e.g. 2026-11-29T05:00:00Z (default: the current time)"
)
_DB_HELP: Final = (
    "consent database: an SQLite file path, sqlite:///absolute/path, or postgresql://..."
)


# -- argument types -------------------------------------------------------------------------


def _pattern(name: str, regex: str, expected: str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def convert(text: str) -> str:
        if compiled.fullmatch(text) is None:
            raise argparse.ArgumentTypeError(f"{text[:80]!r} is not {expected}")
        return text

    convert.__name__ = name
    return convert


_jti = _pattern("jti", r"[A-Za-z0-9_-]{22}", "a jti (22 base64url characters)")
_digest = _pattern(
    "digest",
    r"[0-9a-f]{64}",
    "an envelope digest (64 lower-case hex digits: the SHA-256 of its signed token)",
)
_purpose = _pattern("purpose", r"[a-z][a-z0-9_.-]{0,63}", "a purpose code such as prosecution")


def _text(text: str) -> str:
    if not 1 <= len(text) <= MAX_TEXT_LENGTH:
        raise argparse.ArgumentTypeError(f"the text must have 1 to {MAX_TEXT_LENGTH} characters")
    if not text.isprintable():
        raise argparse.ArgumentTypeError("the text must not contain control characters")
    return text


# -- argument wiring ------------------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add the ``consent`` command and its subcommands."""
    parser = subparsers.add_parser(
        "consent",
        help="grant, revoke, record and check consent for a new use of shared data",
        description=(
            "Consent of the originating agency for a use its conditions reserve: a new "
            "purpose (UNTOC Art. 18(19)), onward transfer (Second Additional Protocol "
            "Art. 14(10)) or use as evidence. The originator runs 'grant' and 'revoke'; the "
            "holder runs 'add', 'list' and 'check'."
        ),
    )
    sub = parser.add_subparsers(dest="consent_command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "grant",
        help="sign a consent grant for one recipient of one of our envelopes",
        description=(
            "As the agency of --key (the envelope's issuer), allow --holder to do --scope "
            "with the data of the envelope named by --envelope-jti and --envelope-digest. "
            "Scope 'purpose' needs --purpose, scope 'onward_transfer' needs "
            "--onward-recipient, scope 'evidential_use' takes neither. The grant goes to "
            "--out FILE or to stdout."
        ),
    )
    _key_options(p)
    _registry_options(p)
    p.add_argument("--holder", metavar="ID", type=agency_id, required=True, help="who may act")
    p.add_argument(
        "--envelope-jti",
        metavar="JTI",
        type=_jti,
        required=True,
        help="the envelope's jti (write --envelope-jti=JTI when JTI starts with '-')",
    )
    p.add_argument(
        "--envelope-digest",
        metavar="DIGEST",
        type=_digest,
        required=True,
        help="hex SHA-256 of the envelope's issuer-signed token (OpenedEnvelope.digest)",
    )
    _scope_options(p)
    p.add_argument(
        "--valid-days",
        metavar="N",
        type=int_between(1, MAX_GRANT_LIFETIME.days),
        default=DEFAULT_VALID_DAYS,
        help=(
            f"lifetime of the grant in days (1-{MAX_GRANT_LIFETIME.days}, "
            f"default {DEFAULT_VALID_DAYS})"
        ),
    )
    p.add_argument(
        "--condition",
        metavar="TEXT",
        type=_text,
        action="append",
        default=[],
        help="a condition the holder must honour (repeatable)",
    )
    _out_options(p, "grant")
    _audit_options(p)
    p.set_defaults(handler=_grant)

    p = sub.add_parser(
        "revoke",
        help="sign the revocation of one of our consent grants",
        description=(
            "As the agency of --key, revoke the consent grant --grant-id (its jti). Send the "
            "revocation to the holder, who records it with 'safeshare consent add'."
        ),
    )
    _key_options(p)
    p.add_argument(
        "--grant-id",
        metavar="ID",
        type=_jti,
        required=True,
        help="the grant's jti (write --grant-id=ID when ID starts with '-')",
    )
    p.add_argument("--reason", metavar="TEXT", type=_text, help="why consent is withdrawn")
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    _out_options(p, "revocation")
    _audit_options(p)
    p.set_defaults(handler=_revoke)

    p = sub.add_parser(
        "add",
        help="verify a received consent grant or revocation and record it",
        description=(
            "Verify TOKEN_FILE ('-' or no argument: stdin), a consent grant or a revocation, "
            "against the trust registry and record it in the consent database. A revocation "
            "is accepted only from the grant's originator."
        ),
    )
    _db_option(p)
    _registry_options(p)
    p.add_argument(
        "token", metavar="TOKEN_FILE", nargs="?", help="the token; '-' or no argument: stdin"
    )
    _audit_options(p, agency=True)
    p.set_defaults(handler=_add)

    p = sub.add_parser(
        "list",
        help="list the consent grants recorded for an envelope",
        description=(
            "List every consent grant recorded for the envelope with --envelope-digest, with "
            "its status at --now (valid, expired, revoked, not yet valid). A listing is not "
            "an authorisation: use 'check'."
        ),
    )
    _db_option(p)
    p.add_argument("--envelope-digest", metavar="DIGEST", type=_digest, required=True)
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--json", action="store_true", help="print the grants as JSON (sorted keys)")
    p.set_defaults(handler=_list)

    p = sub.add_parser(
        "check",
        help="check that a valid consent allows a use (exit 1 and the reason if not)",
        description=(
            "Check that the consent database holds a valid grant of --originator (the "
            "envelope's issuer) allowing --holder to do --scope with the data of the envelope "
            "with --envelope-digest at --now. Exit 0 and the grant if so; otherwise exit 1 "
            "and the consent that is missing."
        ),
    )
    _db_option(p)
    p.add_argument("--envelope-digest", metavar="DIGEST", type=_digest, required=True)
    p.add_argument("--holder", metavar="ID", type=agency_id, required=True)
    p.add_argument(
        "--originator", metavar="ID", type=agency_id, required=True, help="the envelope's issuer"
    )
    _scope_options(p)
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--json", action="store_true", help="print the grant as JSON (sorted keys)")
    p.set_defaults(handler=_check)


def _key_options(p: argparse.ArgumentParser) -> None:
    add_key_option(p)
    add_passphrase_option(p)


def _registry_options(p: argparse.ArgumentParser) -> None:
    add_registry_options(p, now_help=_TIME_HELP + "; also verifies the registry")


def _scope_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scope", choices=CONSENT_SCOPES, required=True, help="what is allowed")
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--purpose", metavar="CODE", type=_purpose, help="with --scope purpose: the new purpose"
    )
    target.add_argument(
        "--onward-recipient",
        metavar="ID",
        type=agency_id,
        help="with --scope onward_transfer: the agency the data may go to",
    )


def _out_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--out", metavar="FILE", type=Path, help=f"write the {what} here (default: stdout)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")


def _audit_options(p: argparse.ArgumentParser, *, agency: bool = False) -> None:
    add_audit_log_options(
        p,
        recorded="record this there (metadata only) before reporting success; needs --actor",
        network_note="; needed to create the log in a new --audit-db",
    )
    p.add_argument(
        "--actor",
        metavar="ID",
        type=actor,
        help="who acts: the officer or system (recorded in the audit log)",
    )
    if agency:
        p.add_argument(
            "--agency",
            metavar="ID",
            type=agency_id,
            help=(
                "our own agency id, whose audit log --audit-db is (default: the agency of "
                "the log already there); a grant for another holder is refused"
            ),
        )


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="LOCATION", required=True, help=_DB_HELP)


# -- helpers --------------------------------------------------------------------------------


def _target(args: argparse.Namespace) -> tuple[ConsentScope, str | None, str | None]:
    """--scope with its --purpose or --onward-recipient, checked before any key is read."""
    scope: ConsentScope = args.scope
    purpose: str | None = args.purpose
    recipient: str | None = args.onward_recipient
    if scope != "purpose" and purpose is not None:
        raise UsageError(f"--purpose is only used with --scope purpose, not {scope}")
    if scope != "onward_transfer" and recipient is not None:
        raise UsageError(
            f"--onward-recipient is only used with --scope onward_transfer, not {scope}"
        )
    if scope == "purpose" and purpose is None:
        raise UsageError("--scope purpose needs --purpose CODE (the new purpose allowed)")
    if scope == "onward_transfer" and recipient is None:
        raise UsageError(
            "--scope onward_transfer needs --onward-recipient ID (the agency the data may go to)"
        )
    return scope, purpose, recipient


@contextlib.contextmanager
def _recorder(args: argparse.Namespace, agency: str | None) -> Iterator[AuditLogRecorder | None]:
    """The audit log recorder of --audit-db (None without it), for *agency* (None: the log's)."""
    if args.audit_db is None:
        if args.actor is not None:
            raise UsageError("--actor is recorded in the audit log: give --audit-db too")
        yield None
        return
    if args.actor is None:
        raise UsageError(
            "--audit-db needs --actor ID: who acts (an officer or system), for the audit log"
        )
    with open_store(args.audit_db) as store:
        if agency is None:
            stored = AuditLog.stored_origin(store)
            parsed = None if stored is None else agency_of_log_origin(stored)
            if parsed is None:
                raise UsageError(
                    f"the audit database {store.location} holds no agency's audit log yet",
                    hint="give --agency ID (and --audit-network NAME) to create it",
                )
            agency = parsed[1]
        yield AuditLogRecorder(open_agency_audit_log(store, agency, args.audit_network))


def _write_token(token: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(token + "\n")
    else:
        fs.atomic_write(out, (token + "\n").encode("ascii"))


def read_token(source: str | None) -> str:
    """A consent token from file *source*, or from stdin for ``-``/None; one final line break allowed."""
    if source is not None and source != STDIN:
        data = fs.read_bytes(source, what="token file", max_bytes=_MAX_TOKEN_FILE_BYTES)
        where = f"token file {source!r}"
    else:
        data = _read_stdin()
        where = "the token on stdin"
    data = data.removesuffix(b"\n").removesuffix(b"\r")
    if not data:
        raise MalformedInputError(f"{where} is empty")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedInputError(f"{where} is not a compact JWS (it is not ASCII)") from None


def _read_stdin() -> bytes:
    stdin = sys.stdin
    if stdin is None or stdin_is_terminal():
        raise UsageError(
            "no token file given, and stdin is not a pipe or file",
            hint="name the token file, or pipe the token in and write '-'",
        )
    return read_stdin(stdin, what="token", max_bytes=_MAX_TOKEN_FILE_BYTES)


def grant_status(grant: ConsentGrant, revocation: ConsentRevocation | None, now: datetime) -> str:
    """``revoked``, ``expired``, ``not yet valid`` or ``valid`` at *now*."""
    if revocation is not None:
        return "revoked"
    if now >= grant.expires_at:
        return "expired"
    if now < grant.issued_at:
        return "not yet valid"
    return "valid"


def _grant_json(grant: ConsentGrant, status: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "grant_id": grant.grant_id,
        "originator": grant.originator,
        "holder": grant.holder,
        "envelope_jti": grant.envelope_jti,
        "envelope_digest": grant.envelope_digest,
        "scope": grant.scope,
        "purpose": grant.purpose,
        "onward_recipient": grant.onward_recipient,
        "issued_at": rfc3339(grant.issued_at),
        "expires_at": rfc3339(grant.expires_at),
        "conditions": list(grant.conditions),
        "token": grant.token,
    }
    if status is not None:
        value["status"] = status
    return value


def _describe(grant: ConsentGrant) -> list[str]:
    lines = [
        f"  {grant.originator} -> {grant.holder}: {grant.describe()}",
        f"  envelope: jti {grant.envelope_jti}, digest {grant.envelope_digest}",
        f"  valid: {rfc3339(grant.issued_at)} until {rfc3339(grant.expires_at)}",
    ]
    lines += [f"  condition: {text}" for text in grant.conditions]
    return lines


def _say_lines(lines: list[str]) -> None:
    for line in lines:
        say(printable(line))


# -- grant and revoke (the originator) ----------------------------------------------------------


def _grant(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None:
        refuse_overwrite([out], force=args.force)
    scope, purpose, onward_recipient = _target(args)
    now = resolve_now(args.now)
    registry = load_registry(args, now)
    registry.check_active(args.holder, at=now)
    if onward_recipient is not None:
        registry.check_active(onward_recipient, at=now)
    originator = load_keyset(args)
    token = issue_grant(
        originator=originator,
        holder=args.holder,
        envelope_jti=args.envelope_jti,
        envelope_digest=args.envelope_digest,
        scope=scope,
        purpose=purpose,
        onward_recipient=onward_recipient,
        valid_for=timedelta(days=args.valid_days),
        conditions=args.condition,
        now=now,
    )
    # What the holder will do: a grant our registry entry does not back is not handed out.
    grant = verify_grant(token, registry=registry, now=now)
    with _recorder(args, originator.agency) as recorder:
        index = None
        if recorder is not None:
            index = record_grant_issued(recorder, grant, actor=args.actor, now=now)
        _write_token(token, out)
    if out is not None:
        lines = [f"Granted consent {grant.grant_id}", *_describe(grant), f"  written to {out}"]
        if recorder is not None:
            lines.append(f"  recorded: entry {index} of the audit log {recorder.log.origin}")
        _say_lines(lines)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None:
        refuse_overwrite([out], force=args.force)
    now = resolve_now(args.now)
    originator = load_keyset(args)
    token = issue_revocation(
        originator=originator, grant_id=args.grant_id, reason=args.reason, now=now
    )
    with _recorder(args, originator.agency) as recorder:
        index = None
        if recorder is not None:
            index = record_revocation_issued(recorder, token, actor=args.actor, now=now)
        _write_token(token, out)
    if out is not None:
        say(f"Revoked consent grant {args.grant_id} of {originator.agency}")
        say(f"  written to {out}")
        if recorder is not None:
            say(f"  recorded: entry {index} of the audit log {recorder.log.origin}")
    return 0


# -- add, list, check (the holder) -------------------------------------------------------------


def _add(args: argparse.Namespace) -> int:
    token = read_token(args.token)
    try:
        kind = consent_token_kind(token)
    except MalformedInputError:
        if args.audit_db is None:
            raise
        kind = "grant"  # refused by ConsentStore.add, which records the denial
    if args.agency is not None and args.audit_db is None:
        raise UsageError("--agency names the owner of the audit log: give --audit-db too")
    now = resolve_now(args.now)
    registry = load_registry(args, now)
    with _recorder(args, args.agency) as recorder, open_store(args.db) as store:
        consent = ConsentStore(store)
        audit: dict[str, Any] = {}
        if recorder is not None:
            audit = {"recorder": recorder, "actor": args.actor}
        if kind == "revocation":
            revocation = consent.revoke(token, registry=registry, now=now, **audit)
            reason = f" ({revocation.reason})" if revocation.reason else ""
            say(
                printable(
                    f"Recorded the revocation of consent grant {revocation.grant_id} by "
                    f"{revocation.originator}{reason}"
                )
            )
            return 0
        grant = consent.add(token, registry=registry, now=now, **audit)
        revoked = consent.revocation_for(grant) is not None
    _say_lines([f"Recorded consent grant {grant.grant_id}", *_describe(grant)])
    if revoked:
        say(f"  note: {grant.originator} has already revoked this grant; it allows nothing")
    return 0


def _list(args: argparse.Namespace) -> int:
    now = resolve_now(args.now)
    with open_store(args.db) as store:
        consent = ConsentStore(store)
        records = [(g, consent.revocation_for(g)) for g in consent.grants_for(args.envelope_digest)]
    if args.json:
        print_json([_grant_json(g, grant_status(g, r, now)) for g, r in records])
        return 0
    if not records:
        say(f"No consent grants recorded for envelope {args.envelope_digest}")
        return 0
    lines = [f"Consent grants for envelope {args.envelope_digest} ({len(records)}):"]
    for grant, revocation in records:
        lines.append(f"{grant.grant_id}: {grant_status(grant, revocation, now)}")
        lines += _describe(grant)
        if revocation is not None:
            reason = f": {revocation.reason}" if revocation.reason else ""
            lines.append(f"  revoked at {rfc3339(revocation.issued_at)}{reason}")
    _say_lines(lines)
    return 0


def _check(args: argparse.Namespace) -> int:
    scope, purpose, onward_recipient = _target(args)
    now = resolve_now(args.now)
    with open_store(args.db) as store:
        grant = ConsentStore(store).require(
            envelope_digest=args.envelope_digest,
            holder=args.holder,
            originator=args.originator,
            scope=scope,
            purpose=purpose,
            onward_recipient=onward_recipient,
            now=now,
        )
    if args.json:
        print_json(_grant_json(grant, "valid"))
        return 0
    wanted = describe_scope(scope, purpose, onward_recipient)
    _say_lines([f"Consent {grant.grant_id} allows {wanted}", *_describe(grant)])
    return 0
