"""``safeshare seal`` and ``safeshare open``: envelopes on the command line.

``seal`` reads a record (a JSON object) from a file or stdin, verifies the
trust registry against the pinned authority key, and seals the record from the
agency whose key file is given to the named recipient agencies
(:func:`safeshare.envelope.seal`). The envelope goes to ``--out FILE``
(written atomically) or to stdout. Before anything is signed, each recipient's
declared safeguards are checked against the handling conditions
(:mod:`safeshare.purpose.transfer`); a refused transfer lists every mismatch
with its key (``XB-PROS:retention``) and exits 1. ``--override-by ID
--override-reason TEXT --override KEY ...`` seals anyway as an explicit
decision that acknowledges exactly those mismatches; it needs ``--audit-db``
(and ``--actor``), where the seal, the override or the refusal is recorded
(the same audit log as ``open --audit-db``). A suspended recipient is never
overridable.

``open`` verifies the registry the same way and opens an envelope as the
agency whose key file is given (:func:`safeshare.envelope.open_envelope`),
recording it in a replay cache (``--replay-db``). The caller states the
purpose it opens the envelope for (``--purpose``) and who opens it
(``--actor``), and acknowledges the envelope's handling conditions
(``--acknowledge``); a purpose the envelope does not allow (directly, as a
compatible purpose, or through a consent grant in ``--consent-db``) is
refused. Every open and every refusal is recorded in the agency's audit log
(``--audit-db``; without it a warning says that nothing is recorded). Only a
fully verified and authorized envelope produces output: on any failure,
stdout stays empty and one error line (and a hint) goes to stderr (exit
code 1).

``open --hold FILE`` also writes the *held copy* of the opened envelope
(:meth:`~safeshare.envelope.OpenedEnvelope.held`, mode 0600: it holds the
record in clear). ``forward HELD_FILE`` re-opens a held copy later
(:func:`safeshare.envelope.reopen_held`: every check but the JWE and the
replay cache, recorded in ``--audit-db``) and forwards part of the record to
another agency (:func:`safeshare.envelope.forward`), as ``open --forward-to``
does at the moment of opening.

All take ``--now TIME`` (RFC 3339) so that scripts and tests are
reproducible; the same time is used to verify the registry.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import typing
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec
from pydantic import ValidationError

from safeshare._internal import fs, strictjson
from safeshare._internal.clock import from_unix, rfc3339, to_unix
from safeshare.audit.entry import AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.cli._argtypes import agency_id, int_between, one_of
from safeshare.cli._common import (
    PROG,
    add_passphrase_option,
    print_json,
    printable,
    read_source,
    refuse_overwrite,
    resolve_now,
    say,
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
from safeshare.envelope import (
    DEFAULT_SKEW,
    DEFAULT_TTL,
    MAX_ENVELOPE_BYTES,
    MAX_HELD_BYTES,
    MAX_TTL,
    MESSAGE_TYPES,
    OpenedEnvelope,
    forward,
    open_envelope,
    reopen_held,
    seal,
)
from safeshare.envelope._profile import SignedClaims
from safeshare.errors import (
    AgencySuspendedError,
    MalformedInputError,
    PolicyError,
    SafeShareError,
    UsageError,
)
from safeshare.keys import AgencyKeySet
from safeshare.privacy.pseudonyms import PseudonymVault
from safeshare.privacy.schemas import schema_by_name
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore
from safeshare.purpose.transfer import TransferOverride, check_transfer
from safeshare.registry import TrustRegistry
from safeshare.storage import ReplayCache, open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = [
    "MAX_HANDLING_BYTES",
    "MAX_RECORD_BYTES",
    "describe_opened",
    "read_handling",
    "read_record",
    "read_source",
    "register",
]

#: Largest record file accepted by ``seal``: a bigger record cannot fit in an
#: envelope that recipients accept (:data:`~safeshare.envelope.MAX_ENVELOPE_BYTES`).
MAX_RECORD_BYTES: Final = MAX_ENVELOPE_BYTES
#: Largest handling-conditions file accepted by ``seal``.
MAX_HANDLING_BYTES: Final = 64 * 1024
#: An envelope file may end with one line break (as ``seal`` prints it).
_MAX_ENVELOPE_FILE_BYTES: Final = MAX_ENVELOPE_BYTES + 2
#: A held copy file (``open --hold``), which may end with one line break too.
_MAX_HELD_FILE_BYTES: Final = MAX_HELD_BYTES + 2
#: Permissions of a held copy: it holds the record in clear, as sensitive as the record.
_HELD_MODE: Final = 0o600

_TIME_HELP: Final = (
    "RFC 3339 time with a time zone, e.g. 2026-11-29T05:00:00Z (default: the current time); "
    "also used to verify the registry"
)
_HANDLING_MEMBERS: Final = ", ".join(HandlingConditions.model_fields)

# The claim constraints of the profile, so that the CLI and seal() never disagree.
_CLAIM_TYPES: Final = typing.get_type_hints(SignedClaims, include_extras=True)


# -- argument types -----------------------------------------------------------------


def _claim_text(claim: str, expected: str) -> Callable[[str], str]:
    """A converter that checks text against the profile's constraint for *claim*."""
    claim_type = _CLAIM_TYPES[claim]

    def convert(text: str) -> str:
        try:
            value: str = msgspec.convert(text, claim_type)
        except msgspec.ValidationError as exc:
            raise argparse.ArgumentTypeError(f"{text[:64]!r} is not {expected} ({exc})") from None
        return value

    convert.__name__ = claim
    return convert


def _acknowledgement(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an acknowledged condition cannot be empty")
    return text


_message_type: Final = one_of(MESSAGE_TYPES, "a message type")


# -- argument wiring ----------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add the ``seal``, ``open`` and ``forward`` subcommands."""
    p = subparsers.add_parser(
        "seal",
        help="seal a record for recipient agencies (sign, then encrypt)",
        description=(
            "Seal RECORD.json (a JSON object; '-' or no argument: stdin) from the agency of "
            "--key to the agencies named with --to. The registry is verified against the "
            "pinned authority key first. Purpose, legal basis, case, message type and handling "
            "conditions are signed with the record; every record member is selectively "
            "disclosable. The envelope goes to --out FILE or to stdout."
        ),
    )
    _add_common(p)
    p.add_argument(
        "--to",
        metavar="ID",
        type=agency_id,
        action="append",
        required=True,
        help="recipient agency (repeat for several recipients)",
    )
    _add_purpose_option(p, "the purpose the data may be used for, e.g. criminal_investigation")
    _add_claim_option(
        p,
        "legal_basis",
        "a legal basis such as BUDAPEST-2AP.Art7",
        "the legal basis of the transfer, e.g. BUDAPEST-2AP.Art7",
    )
    _add_claim_option(
        p,
        "case_ref",
        "a case reference of 1 to 128 characters",
        "the case the transfer belongs to (1-128 characters)",
    )
    p.add_argument(
        "--type",
        dest="message_type",
        metavar="MSG_TYPE",
        required=True,
        type=_message_type,
        help="message type, e.g. disclosure_response",
    )
    p.add_argument(
        "--handling",
        metavar="FILE",
        type=Path,
        help=(
            "handling conditions as a JSON object (members: "
            f"{_HANDLING_MEMBERS}); default: TLP AMBER, 365 days retention, onward transfer "
            "with prior authorisation"
        ),
    )
    p.add_argument(
        "--ttl-days",
        metavar="N",
        type=int_between(1, MAX_TTL.days),
        default=DEFAULT_TTL.days,
        help=f"lifetime of the envelope in days (1-{MAX_TTL.days}, default {DEFAULT_TTL.days})",
    )
    p.add_argument(
        "record",
        metavar="RECORD.json",
        nargs="?",
        help="the record, a JSON object; '-' or no argument: read stdin",
    )
    p.add_argument(
        "--out", metavar="FILE", type=Path, help="write the envelope here (default: stdout)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument(
        "--schema",
        metavar="NAME",
        help=(
            "minimize the record by this record schema's disclosure plan for --purpose: a "
            "shipped schema ('safeshare minimize --list-schemas') or package.module:ClassName; "
            "withheld fields travel only as undisclosed digests, pseudonymized ones as "
            "pseudonyms of the key set's privacy secret ('safeshare minimize --explain' shows "
            "the plan)"
        ),
    )
    p.add_argument(
        "--vault-db",
        metavar="LOCATION",
        help=(
            "the pseudonym vault (SQLite path or database URL): with --schema, every pseudonym "
            "is recorded there, encrypted, so that a re-identification request can be answered"
        ),
    )
    p.add_argument(
        "--pad",
        action="store_true",
        help="pad the envelope to a size bucket so that its length hides the record's",
    )
    p.add_argument(
        "--actor",
        metavar="ID",
        type=actor,
        help="who seals: the officer or system (recorded in the audit log; needs --audit-db)",
    )
    _add_audit_options(p, "the seal (one entry per recipient), an override or a refusal")
    o = p.add_argument_group(
        "override of the transfer check",
        "seal despite mismatches between the recipients' declared safeguards and the "
        "handling conditions: an explicit decision, recorded in --audit-db, that names "
        "exactly the mismatches found (a suspension cannot be overridden)",
    )
    o.add_argument(
        "--override-by",
        metavar="ID",
        type=actor,
        help="the person (or office) who takes the decision (recorded as its actor)",
    )
    o.add_argument(
        "--override-reason",
        metavar="TEXT",
        help="why the transfer goes ahead despite the mismatches (recorded; no personal data)",
    )
    o.add_argument(
        "--override",
        metavar="MISMATCH",
        action="append",
        default=[],
        help="a mismatch the decision acknowledges, as AGENCY:kind, e.g. XB-PROS:retention "
        "(repeat for each mismatch the refusal listed)",
    )
    p.set_defaults(handler=_seal)

    p = subparsers.add_parser(
        "open",
        help="verify and decrypt an envelope addressed to us, for a stated purpose",
        description=(
            "Open ENVELOPE ('-' or no argument: stdin) as the agency of --key: decrypt it, "
            "verify the sender's signature against the trust registry, the audience, the "
            "lifetime and every disclosure; check that --purpose is allowed (the envelope's "
            "purpose, a compatible one, or one a consent grant in --consent-db allows) and "
            "that every handling condition to acknowledge was given with --acknowledge; "
            "record it in the replay cache and the access (or its refusal) in the audit log "
            "(--audit-db). Prints the verified content only if every check passed; otherwise "
            "one error line on stderr and exit code 1."
        ),
    )
    _add_common(p)
    _add_purpose_option(p, "the purpose the data is opened for, e.g. criminal_investigation")
    p.add_argument(
        "--actor",
        metavar="ID",
        required=True,
        type=actor,
        help="who opens the envelope: the officer or system (recorded in the audit log)",
    )
    p.add_argument(
        "--acknowledge",
        metavar="TEXT",
        action="append",
        default=[],
        type=_acknowledgement,
        help=(
            "acknowledge a handling condition of the envelope, exactly as written (repeat "
            "for each condition); the data is released only when every condition is "
            "acknowledged"
        ),
    )
    p.add_argument(
        "--replay-db",
        metavar="PATH",
        required=True,
        help="replay cache database: an SQLite file path or sqlite:///absolute/path",
    )
    _add_audit_options(p, "the open, or its refusal,")
    p.add_argument(
        "--consent-db",
        metavar="LOCATION",
        help=(
            "the consent database ('safeshare consent add'): a purpose other than the "
            "envelope's and its compatible ones is allowed by a valid grant recorded there"
        ),
    )
    _add_skew_option(p)
    f = p.add_argument_group(
        "onward transfer",
        "after opening, forward part of the record to another agency (an SD-JWT presentation "
        "with key binding; the originator's signature stays intact): allowed only as the "
        "originator's conditions say (forbidden, listed agencies, or a consent grant in "
        "--consent-db), after a transfer check of the target's safeguards; recorded in "
        "--audit-db (required)",
    )
    f.add_argument("--forward-to", metavar="ID", type=agency_id, help="the agency to forward to")
    f.add_argument(
        "--disclose",
        metavar="FIELD",
        action="append",
        default=[],
        help="a record field to pass on, e.g. full_name or last_known_address.city (repeat)",
    )
    f.add_argument(
        "--forward-out", metavar="FILE", type=Path, help="write the forwarded envelope here"
    )
    f.add_argument("--pad", action="store_true", help="pad the forwarded envelope to a size bucket")
    p.add_argument(
        "--hold",
        metavar="FILE",
        type=Path,
        help=(
            "after a successful open, write the held copy of the envelope here (mode 0600; it "
            "holds the record in clear, for this agency's own use only), to forward it later "
            "with 'safeshare forward FILE'"
        ),
    )
    p.add_argument(
        "envelope", metavar="ENVELOPE", nargs="?", help="envelope file; '-' or no argument: stdin"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help=(
            "print the verified claims as JSON (sorted keys), plus 'digest' (of the envelope, "
            "to ask for consent), 'opened_for', 'actor' and 'audit' (log origin and entry index)"
        ),
    )
    p.set_defaults(handler=_open)
    _register_forward(subparsers)


def _add_claim_option(
    p: argparse.ArgumentParser, claim: str, expected: str, help_text: str, *, metavar: str = "TEXT"
) -> None:
    """A required option ``--<claim>`` checked like the signed claim *claim* (``case_ref``)."""
    p.add_argument(
        "--" + claim.replace("_", "-"),
        metavar=metavar,
        required=True,
        type=_claim_text(claim, expected),
        help=help_text,
    )


def _add_purpose_option(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--purpose CODE`` (``seal``: the purpose signed; ``open``: the purpose opened for)."""
    _add_claim_option(
        p,
        "purpose",
        "a purpose code such as criminal_investigation",
        help_text,
        metavar="CODE",
    )


def _add_audit_options(p: argparse.ArgumentParser, what: str) -> None:
    """``--audit-db`` and ``--audit-network`` (``seal`` and ``open``)."""
    without = (
        "without it nothing is recorded (a warning says so)"
        if what.startswith("the open")
        else "without it nothing is recorded"
    )
    add_audit_log_options(
        p,
        recorded=f"{what} is recorded there before anything is printed; {without}",
        network_note=(
            ", e.g. safeshare.example; needed to create the log in a new --audit-db (an "
            "existing log is opened under the origin it records)"
        ),
    )


def _add_skew_option(p: argparse.ArgumentParser) -> None:
    """``--skew-seconds`` (``open`` and ``forward``)."""
    p.add_argument(
        "--skew-seconds",
        metavar="N",
        type=int_between(0, 3600),
        default=int(DEFAULT_SKEW.total_seconds()),
        help=(
            "tolerated clock difference with the sender in seconds (0-3600, default "
            f"{int(DEFAULT_SKEW.total_seconds())})"
        ),
    )


def _add_common(p: argparse.ArgumentParser) -> None:
    add_key_option(p)
    add_registry_options(p, now_help=_TIME_HELP)
    add_passphrase_option(p)


# -- inputs ---------------------------------------------------------------------------


_JSON_KINDS: Final[dict[type, str]] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def read_record(source: str | None) -> dict[str, Any]:
    """Read and strictly parse a record: a JSON object, from a file or stdin."""
    data, where = read_source(source, what="record", max_bytes=MAX_RECORD_BYTES)
    record = strictjson.loads(data, what=f"the record {where}", max_bytes=MAX_RECORD_BYTES)
    if not isinstance(record, dict):
        kind = _JSON_KINDS.get(type(record), "not an object")
        raise MalformedInputError(
            f"the record {where} is {kind}; a record is a JSON object",
            hint='write the record as {"field": value, ...}',
        )
    return record


def read_handling(path: Path) -> HandlingConditions:
    """Read handling conditions from a JSON file, strictly (unknown members are refused)."""
    what = f"handling conditions file {str(path)!r}"
    data = fs.read_bytes(path, what="handling conditions file", max_bytes=MAX_HANDLING_BYTES)
    # strictjson first: pydantic's parser silently keeps the last of duplicate members.
    strictjson.loads(data, what=what, max_bytes=MAX_HANDLING_BYTES)
    try:
        return HandlingConditions.model_validate_json(data, strict=True)
    except ValidationError as exc:
        raise MalformedInputError(_handling_problems(exc, what)) from None


def _handling_problems(exc: ValidationError, what: str) -> str:
    """One line naming every problem (up to 8) of a handling-conditions file."""
    problems = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            text = f"unknown member {loc!r}"
            if len(err["loc"]) == 1:
                text += f" (known members: {_HANDLING_MEMBERS})"
            problems.append(text)
            continue
        msg = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{loc}: {msg}" if loc else msg)
    more = "" if exc.error_count() <= 8 else f" (and {exc.error_count() - 8} more)"
    return f"{what} is invalid: " + "; ".join(problems) + more


# -- seal -----------------------------------------------------------------------------


_OVERRIDE_FLAGS: Final = "--override-by ID --override-reason TEXT --override MISMATCH"


def _override(args: argparse.Namespace) -> TransferOverride | None:
    """The :class:`TransferOverride` of the ``--override*`` options, or None without them."""
    given = [
        flag
        for flag, value in (
            ("--override-by", args.override_by),
            ("--override-reason", args.override_reason),
            ("--override", args.override),
        )
        if value
    ]
    if not given:
        return None
    if len(given) < 3:
        missing = [
            f for f in ("--override-by", "--override-reason", "--override") if f not in given
        ]
        raise UsageError(
            f"an override needs {', '.join(missing)} too",
            hint=f"an override is one decision: {_OVERRIDE_FLAGS} (repeat --override for "
            "each mismatch), recorded with --audit-db and --actor",
        )
    if args.audit_db is None:
        raise UsageError(
            "an override of the transfer check must be recorded: give --audit-db (and --actor)",
            hint="an override exists only as an explicit, recorded decision",
        )
    return TransferOverride(
        decided_by=args.override_by,
        reason=args.override_reason,
        mismatches_acknowledged=args.override,
    )


def _check_recording_options(args: argparse.Namespace) -> None:
    if args.audit_db is not None and args.actor is None:
        raise UsageError(
            "--audit-db needs --actor ID: who seals (an officer or system), for the audit log"
        )
    if args.actor is not None and args.audit_db is None:
        raise UsageError(
            "--actor is recorded in the audit log: give --audit-db too",
            hint="without --audit-db nothing is recorded; leave out --actor",
        )


def _refusal(
    exc: SafeShareError,
    args: argparse.Namespace,
    *,
    registry: TrustRegistry,
    handling: HandlingConditions | None,
    now: datetime,
    override: TransferOverride | None,
) -> SafeShareError:
    """*exc* (a refused transfer) restated with every mismatch's key, for the command line."""
    try:
        mismatches = check_transfer(
            registry,
            args.to,
            handling or HandlingConditions(),
            now=now,
            legal_basis=args.legal_basis,
        )
    except SafeShareError:
        return exc
    if not mismatches:
        return exc
    listed = "; ".join(f"[{m.key}] {m.explanation}" for m in mismatches)
    count = f"{len(mismatches)} mismatch" + ("" if len(mismatches) == 1 else "es")
    if any(not m.overridable for m in mismatches):
        return AgencySuspendedError(f"transfer refused ({count}): {listed}", hint=exc.hint)
    flags = " ".join(f"--override {m.key}" for m in mismatches)
    if override is not None:
        found = {m.key for m in mismatches}
        problems = []
        if missing := sorted(found - override.keys):
            problems.append(f"it does not acknowledge {', '.join(missing)}")
        if extra := sorted(override.keys - found):
            problems.append(f"it acknowledges {', '.join(extra)}, which the check did not find")
        head = (
            "transfer refused: the override does not cover exactly the mismatches found ("
            + "; ".join(problems)
            + ")"
        )
    else:
        head = (
            "transfer refused: the recipients' declared safeguards do not satisfy the "
            "handling conditions"
        )
    return PolicyError(
        f"{head}; {count}: {listed}",
        hint=(
            "seal to recipients whose safeguards match or adjust the conditions; or have the "
            "decision taken explicitly: --override-by ID --override-reason TEXT "
            f"{flags} --audit-db LOCATION --actor ID (recorded in the audit log)"
        ),
    )


def _seal(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None:
        refuse_overwrite([out], force=args.force)
    # Everything that can be checked without the key comes first, so a mistake
    # is reported before the passphrase is asked for.
    _check_recording_options(args)
    override = _override(args)
    if args.vault_db is not None and args.schema is None:
        raise UsageError("--vault-db records pseudonyms: it needs --schema")
    schema = None if args.schema is None else schema_by_name(args.schema)
    record = read_record(args.record)
    handling = None if args.handling is None else read_handling(args.handling)
    now = resolve_now(args.now)
    registry = load_registry(args, now)
    sender = load_keyset(args)
    ttl = timedelta(days=args.ttl_days)
    with contextlib.ExitStack() as stack:
        vault = None
        if args.vault_db is not None:
            vault = PseudonymVault(stack.enter_context(open_store(args.vault_db)))
        recorder: AuditLogRecorder | None = None
        if args.audit_db is not None:
            log = open_agency_audit_log(
                stack.enter_context(open_store(args.audit_db)), sender.agency, args.audit_network
            )
            recorder = AuditLogRecorder(log)
        try:
            envelope = seal(
                record,
                sender=sender,
                to=args.to,
                registry=registry,
                purpose=args.purpose,
                legal_basis=args.legal_basis,
                case_ref=args.case_ref,
                message_type=args.message_type,
                handling=handling,
                ttl=ttl,
                now=now,
                override=override,
                recorder=recorder,
                actor=args.actor,
                pad=args.pad,
                schema=schema,
                vault=vault,
            )
        except (PolicyError, AgencySuspendedError) as exc:
            raise _refusal(
                exc, args, registry=registry, handling=handling, now=now, override=override
            ) from None
        origin = None if recorder is None else recorder.log.origin
        # The seal entry names the envelope (jti, digest): what a consent grant needs.
        sealed = None if recorder is None else recorder.log.entry(recorder.log.size() - 1)
    if out is None:
        sys.stdout.write(envelope.decode("ascii") + "\n")
        return 0
    fs.atomic_write(out, envelope)
    expires = from_unix(to_unix(now) + int(ttl.total_seconds()))
    say(
        f"Sealed a {args.message_type} envelope from {sender.agency} to {', '.join(args.to)} "
        f"({len(envelope)} bytes, expires {rfc3339(expires)})"
    )
    if override is not None:
        say(
            f"  transfer check overridden by {override.decided_by}: "
            + ", ".join(sorted(override.keys))
        )
    if origin is not None:
        say(f"  recorded in the audit log {origin}")
    if sealed is not None and sealed.jti is not None:
        say(f"  envelope id (jti) {sealed.jti}, digest {sealed.envelope_digest}")
    say(f"  written to {out}")
    return 0


# -- open -----------------------------------------------------------------------------


class _IndexRecorder:
    """Records into an audit log and remembers the index of the last entry."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self.index: int | None = None

    def record(self, entry: AuditEntry) -> int:
        self.index = self.log.append(entry)
        return self.index


def _warn(message: str) -> None:
    sys.stderr.write(f"{PROG}: warning: {printable(message)}\n")
    sys.stderr.flush()


@contextlib.contextmanager
def _stores(
    args: argparse.Namespace, agency: str
) -> Iterator[tuple[ReplayCache, _IndexRecorder | None, ConsentStore | None]]:
    with contextlib.ExitStack() as stack:
        replay = ReplayCache(stack.enter_context(open_store(args.replay_db)))
        recorder = None
        if args.audit_db is not None:
            log = open_agency_audit_log(
                stack.enter_context(open_store(args.audit_db)), agency, args.audit_network
            )
            recorder = _IndexRecorder(log)
        consents = None
        if args.consent_db is not None:
            consents = ConsentStore(stack.enter_context(open_store(args.consent_db)))
        yield replay, recorder, consents


def _check_forward_options(args: argparse.Namespace) -> None:
    given = [args.forward_to is not None, bool(args.disclose), args.forward_out is not None]
    if any(given) and not all(given):
        raise UsageError(
            "forwarding needs --forward-to, --disclose (at least one) and --forward-out"
        )
    if args.forward_to is not None:
        if args.audit_db is None:
            raise UsageError("an onward transfer must be recorded: pass --audit-db")
        refuse_overwrite([args.forward_out], force=False)


def _forward_for(  # noqa: PLR0917 -- the pieces both forwarding commands hold
    args: argparse.Namespace,
    opened: OpenedEnvelope,
    holder: AgencyKeySet,
    to: str,
    registry: TrustRegistry,
    recorder: _IndexRecorder,
    consents: ConsentStore | None,
    now: datetime,
) -> bytes:
    """``forward`` with the options ``open --forward-to`` and ``forward`` share."""
    return forward(
        opened,
        sender=holder,
        to=to,
        registry=registry,
        disclose=args.disclose,
        actor=args.actor,
        recorder=recorder,
        consents=consents,
        now=now,
        pad=args.pad,
    )


def _open(args: argparse.Namespace) -> int:
    _check_forward_options(args)
    if args.hold is not None:
        refuse_overwrite([args.hold], force=False)
    if args.audit_db is None:
        _warn(
            "no --audit-db: this access (or its refusal) is not recorded in an audit log; "
            "pass the agency's audit log database to record it"
        )
    data, _ = read_source(args.envelope, what="envelope", max_bytes=_MAX_ENVELOPE_FILE_BYTES)
    # A final line break (as 'seal' prints it) is not part of the envelope.
    data = data.removesuffix(b"\n").removesuffix(b"\r")
    now = resolve_now(args.now)
    registry = load_registry(args, now)
    recipient = load_keyset(args)
    with _stores(args, recipient.agency) as (replay, recorder, consents):
        # Purpose, actor and acknowledgements are enforced inside open_envelope,
        # before the replay insert; the access is recorded before it returns.
        opened = open_envelope(
            data,
            recipient=recipient,
            registry=registry,
            replay=replay,
            purpose=args.purpose,
            actor=args.actor,
            recorder=recorder,
            consents=consents,
            acknowledged=args.acknowledge,
            now=now,
            skew=timedelta(seconds=args.skew_seconds),
        )
        if args.hold is not None:
            # Only a verified, authorized and recorded open gets here.
            fs.atomic_write(args.hold, opened.held().encode("ascii"), mode=_HELD_MODE)
        forwarded = None
        refused: SafeShareError | None = None
        if args.forward_to is not None and recorder is not None:
            try:
                forwarded = _forward_for(
                    args, opened, recipient, args.forward_to, registry, recorder, consents, now
                )
            except SafeShareError as exc:
                # The open itself succeeded and was recorded: show what was opened,
                # then report the refused forward (exit code 1).
                refused = exc
            else:
                fs.atomic_write(args.forward_out, forwarded)
        audit = (
            None
            if recorder is None or recorder.index is None
            else {"origin": recorder.log.origin, "index": recorder.index}
        )
    if args.json:
        print_json(
            {
                **opened.verified_claims(),
                "digest": opened.digest,
                "opened_for": opened.opened_for,
                "actor": opened.actor,
                "audit": audit,
                "provenance": [
                    {
                        "forwarder": hop.forwarder,
                        "recipient": hop.recipient,
                        "iat": to_unix(hop.issued_at),
                        "jti": hop.jti,
                        "consent": hop.consent_id,
                    }
                    for hop in opened.provenance
                ],
            }
        )
    else:
        recorded = (
            "not recorded (no --audit-db)"
            if audit is None
            else f"entry {audit['index']} of the audit log {audit['origin']}"
        )
        lines = describe_opened(opened, recorded=recorded)
        sys.stdout.write("".join(line + "\n" for line in lines))
    if args.hold is not None:
        say(f"Held copy written to {args.hold} (mode 0600: it holds the record in clear)")
    if forwarded is not None:
        say(
            f"Forwarded {', '.join(args.disclose)} to {args.forward_to} "
            f"({len(forwarded)} bytes), written to {args.forward_out}"
        )
    if refused is not None:
        raise type(refused)(
            f"opened, but the onward transfer to {args.forward_to} was refused: " + refused.message,
            hint=refused.hint,
        )
    return 0


# -- forward (a held copy) ------------------------------------------------------------


def _register_forward(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "forward",
        help="re-open a held copy ('open --hold') and forward part of its record",
        description=(
            "Re-open HELD_FILE (written by 'safeshare open --hold') as the agency of --key: "
            "verify it again (the sender's signature against the trust registry, audience, "
            "the key it was decrypted with, lifetime, every disclosure and the forwarding "
            "chain; no replay check: the envelope was consumed when it was opened), check "
            "--purpose and the acknowledgements, and record the re-open in --audit-db; then "
            "forward the fields named with --disclose to --to, as the originator's conditions "
            "allow (forbidden, listed agencies, or a consent grant in --consent-db), after a "
            "transfer check of the target's safeguards. The forward (or its refusal) is "
            "recorded too. The envelope goes to --out; on any failure nothing is written, one "
            "error line goes to stderr and the exit code is 1."
        ),
    )
    _add_common(p)
    p.add_argument(
        "held",
        metavar="HELD_FILE",
        type=Path,
        help="the held copy written by 'safeshare open --hold' (mode 0600)",
    )
    p.add_argument(
        "--to", metavar="ID", type=agency_id, required=True, help="the agency to forward to"
    )
    p.add_argument(
        "--disclose",
        metavar="FIELD",
        action="append",
        required=True,
        help="a record field to pass on, e.g. full_name or last_known_address.city (repeat)",
    )
    p.add_argument(
        "--out", metavar="FILE", type=Path, required=True, help="write the forwarded envelope here"
    )
    _add_purpose_option(
        p, "the purpose the held copy is re-opened for, e.g. criminal_investigation"
    )
    p.add_argument(
        "--actor",
        metavar="ID",
        required=True,
        type=actor,
        help="who forwards: the officer or system (recorded in the audit log)",
    )
    p.add_argument(
        "--acknowledge",
        metavar="TEXT",
        action="append",
        default=[],
        type=_acknowledgement,
        help="acknowledge a handling condition of the envelope, exactly as written (repeat)",
    )
    add_audit_log_options(
        p,
        recorded=(
            "the re-open and the forward (or their refusal) are recorded there before the "
            "envelope is written; required"
        ),
        network_note=(
            ", e.g. safeshare.example; needed to create the log in a new --audit-db (an "
            "existing log is opened under the origin it records)"
        ),
    )
    p.add_argument(
        "--consent-db",
        metavar="LOCATION",
        help=(
            "the consent database ('safeshare consent add'): the originator's consent grant "
            "for this onward transfer (and for a purpose other than the envelope's)"
        ),
    )
    _add_skew_option(p)
    p.add_argument("--pad", action="store_true", help="pad the forwarded envelope to a size bucket")
    p.set_defaults(handler=_forward_held)


def _forward_held(args: argparse.Namespace) -> int:
    if args.audit_db is None:
        raise UsageError(
            "re-opening a held copy and forwarding it must be recorded: give --audit-db",
            hint="the agency's audit log database, as for 'safeshare open --audit-db'",
        )
    refuse_overwrite([args.out], force=False)
    data = fs.read_bytes(args.held, what="held copy", max_bytes=_MAX_HELD_FILE_BYTES)
    data = data.removesuffix(b"\n").removesuffix(b"\r")
    now = resolve_now(args.now)
    registry = load_registry(args, now)
    holder = load_keyset(args)
    with contextlib.ExitStack() as stack:
        log = open_agency_audit_log(
            stack.enter_context(open_store(args.audit_db)), holder.agency, args.audit_network
        )
        recorder = _IndexRecorder(log)
        consents = None
        if args.consent_db is not None:
            consents = ConsentStore(stack.enter_context(open_store(args.consent_db)))
        opened = reopen_held(
            data,
            recipient=holder,
            registry=registry,
            purpose=args.purpose,
            actor=args.actor,
            recorder=recorder,
            consents=consents,
            acknowledged=args.acknowledge,
            now=now,
            skew=timedelta(seconds=args.skew_seconds),
        )
        reopened_at = recorder.index
        forwarded = _forward_for(args, opened, holder, args.to, registry, recorder, consents, now)
        fs.atomic_write(args.out, forwarded)
        origin, forward_at = log.origin, recorder.index
    say(
        f"Forwarded {', '.join(args.disclose)} of envelope {opened.jti} from {opened.issuer} "
        f"to {args.to} ({len(forwarded)} bytes), written to {args.out}"
    )
    say(
        f"  recorded in the audit log {origin}: re-open (entry {reopened_at}), "
        f"forward (entry {forward_at})"
    )
    return 0


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def describe_opened(opened: OpenedEnvelope, *, recorded: str | None = None) -> list[str]:
    """A short human-readable account of a verified envelope, the record as JSON last.

    *recorded* says where the access was recorded (shown when given).
    """
    h = opened.handling
    rows: list[tuple[str, str]] = [
        ("issuer", f"{opened.issuer} (signature verified with the trust registry)"),
        ("audience", ", ".join(opened.audience)),
    ]
    rows += [
        (
            "forwarded",
            f"{hop.forwarder} -> {hop.recipient} at {rfc3339(hop.issued_at)}"
            + (f" (consent {hop.consent_id})" if hop.consent_id else ""),
        )
        for hop in opened.provenance
    ]
    rows += [
        ("type", opened.message_type),
        ("purpose", opened.purpose),
        ("legal basis", opened.legal_basis),
        ("case", opened.case_ref),
        ("issued", rfc3339(opened.issued_at)),
        ("expires", rfc3339(opened.expires_at)),
        ("TLP", h.tlp),
    ]
    retention = f"at most {_days(h.retention.max_days)}"
    if h.retention.review_days is not None:
        retention += f", review after {_days(h.retention.review_days)}"
    rows.append(("retention", retention))
    onward: str = h.onward_transfer
    if h.onward_allowed_to:
        onward += ": " + ", ".join(h.onward_allowed_to)
    rows += [("onward transfer", onward), ("evidential use", h.evidential_use)]
    if h.handling_code is not None:
        rows.append(("handling code", h.handling_code))
    if h.evaluation is not None:
        rows.append(("evaluation", f"{h.evaluation.source}{h.evaluation.information}"))
    if h.confidential_request:
        rows.append(("confidential", "the request itself is confidential"))
    if h.special_categories:
        rows.append(("special categories", ", ".join(h.special_categories)))
    if h.no_solely_automated_decision:
        rows.append(("automated decisions", "none based solely on automated processing"))
    rows += [("acknowledge", text) for text in h.acknowledgements]
    opened_for = opened.opened_for
    if opened_for == opened.purpose:
        opened_for += " (the envelope's purpose)"
    rows += [
        ("opened for", opened_for),
        ("actor", opened.actor),
        ("digest", f"{opened.digest} (name it to ask {opened.issuer} for consent)"),
    ]
    if recorded is not None:
        rows.append(("recorded as", recorded))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"Opened envelope {opened.jti} for {opened.recipient}: every check passed"]
    lines += [f"  {label + ':':<{width}}{value}" for label, value in rows]
    record = json.dumps(
        opened.verified_claims()["record"], sort_keys=True, indent=2, ensure_ascii=False
    )
    lines.append(f"record ({_fields(len(opened.record))}):")
    lines += record.splitlines()
    return [printable(line) for line in lines]


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"
