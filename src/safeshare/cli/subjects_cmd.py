"""``safeshare subjects lookup`` and ``safeshare reidentify``: the privacy secret at work.

``subjects lookup`` is the data-protection officer's answer to a data
subject's access or rectification request: which audit entries (which
transfers) concerned this telephone number, e-mail address, document number,
IBAN, name and date of birth or IP address. The identifier is turned into
its blind-index token with the agency's privacy secret (from the key file)
and looked up in the audit log's blind index
(:class:`~safeshare.privacy.blind_index.SubjectIndex`); the lookup is
recorded (``subject_lookup``, the token only) before anything is printed,
and is allowed only for the purpose ``data_protection_compliance``.

``reidentify`` is the originator's side of a re-identification request:
it resolves pseudonyms from the pseudonym vault for the agency and case they
were issued to (:meth:`~safeshare.privacy.pseudonyms.PseudonymVault.resolve`),
recording each resolution or refusal (``reidentify``) before printing a value.

An identifier given with ``--value`` is visible to other local users in the
process list and may stay in the shell's history; ``--value-file FILE`` (or
``-`` for stdin) avoids that.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from safeshare._internal.clock import from_unix, rfc3339
from safeshare.audit.entry import AuditEntry
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.cli._argtypes import agency_id, one_of, rfc3339_time
from safeshare.cli._common import (
    add_passphrase_option,
    print_json,
    printable,
    read_source,
    report_error,
    resolve_now,
    say,
)
from safeshare.cli._context import actor, load_keyset, open_agency_audit_log
from safeshare.errors import PolicyError, UsageError, VerificationError
from safeshare.privacy.blind_index import (
    LOOKUP_PURPOSE,
    SUBJECT_KINDS,
    SubjectIndex,
    subject_token,
)
from safeshare.privacy.pseudonyms import PseudonymVault, is_pseudonym
from safeshare.storage import open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = ["register"]

_MAX_VALUE_FILE: Final = 4096
_TIME_HELP: Final = "the time to record (RFC 3339; default: now)"
_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_JTI: Final = re.compile(r"[A-Za-z0-9_-]{22}")


def _pseudonym(text: str) -> str:
    if not is_pseudonym(text):
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} is not a pseudonym: pn_ followed by 22 letters, digits, '-' or '_'"
        )
    return text


def _jti(text: str) -> str:
    if _JTI.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"{text[:64]!r} is not an envelope jti (22 characters)")
    return text


def _code(text: str) -> str:
    if _CODE.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} is not a purpose code (e.g. criminal_investigation)"
        )
    return text


def _key_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key",
        "--key-file",
        dest="key",
        metavar="KEYFILE",
        type=Path,
        required=True,
        help="our agency's encrypted key file (it holds the privacy secret)",
    )
    add_passphrase_option(p)


def register(subparsers: Subparsers) -> None:
    """Add the ``subjects`` command (``lookup``) and the ``reidentify`` command."""
    parser = subparsers.add_parser(
        "subjects",
        help="find the audit entries about a data subject (blind index)",
        description=(
            "Data-subject requests: find, through the keyed blind index, the audit entries "
            "that concerned a person's identifier, without any store holding the identifier "
            "in clear."
        ),
    )
    sub = parser.add_subparsers(dest="subjects_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "lookup",
        help="list the audit entries that concern one identifier",
        description=(
            "Turn the identifier (--kind and --value or --value-file) into its blind-index "
            "token with the privacy secret of --key, record the lookup in the audit log "
            f"(--audit-db; purpose {LOOKUP_PURPOSE} only), then list the entries before it "
            "whose subjects hold the token. Normalization: phone '+' and digits; email "
            "lower case; passport and iban upper-case letters and digits; name_dob "
            "'NAME|YYYY-MM-DD'; ip canonical address."
        ),
    )
    p.add_argument(
        "--audit-db",
        metavar="LOCATION",
        required=True,
        help="the agency's audit log (an SQLite file path or a postgresql:// URL)",
    )
    _key_option(p)
    p.add_argument(
        "--kind",
        type=one_of(SUBJECT_KINDS, "an identifier kind"),
        required=True,
        help=f"the kind of identifier: {', '.join(SUBJECT_KINDS)}",
    )
    value = p.add_mutually_exclusive_group(required=True)
    value.add_argument(
        "--value",
        metavar="TEXT",
        help="the identifier (visible in the process list: prefer --value-file)",
    )
    value.add_argument(
        "--value-file",
        metavar="FILE",
        help="read the identifier from the first line of FILE ('-': stdin)",
    )
    p.add_argument("--actor", type=actor, required=True, help="the officer who looks up")
    p.add_argument(
        "--purpose",
        type=_code,
        default=LOOKUP_PURPOSE,
        help=f"the purpose of the lookup (only {LOOKUP_PURPOSE} is allowed; others are refused "
        "and recorded)",
    )
    p.add_argument(
        "--reason",
        metavar="TEXT",
        help="recorded with the lookup, e.g. the access request's reference (no personal data)",
    )
    p.add_argument(
        "--scan",
        action="store_true",
        help="read the whole log instead of the index (slower; independent of the index)",
    )
    p.add_argument(
        "--include-lookups",
        action="store_true",
        help=(
            "also list earlier lookups of this subject (left out by default: they record "
            "the officers' searches, not a transfer or use of the subject's data)"
        ),
    )
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--json", action="store_true", help="print the entries as JSON")
    p.set_defaults(handler=_lookup)

    p = subparsers.add_parser(
        "reidentify",
        help="resolve our pseudonyms for the agency and case they were issued to",
        description=(
            "As the originator (--key), resolve each --pseudonym from the pseudonym vault "
            "(--vault-db) for --requester in --case-ref, for --purpose (the envelope's "
            "purpose or a compatible one). Every resolution and refusal is recorded in the "
            "audit log (--audit-db) before a value is printed. Exits 1 if any is refused."
        ),
    )
    p.add_argument(
        "--vault-db", metavar="LOCATION", required=True, help="the pseudonym vault database"
    )
    p.add_argument(
        "--audit-db", metavar="LOCATION", required=True, help="the agency's audit log database"
    )
    _key_option(p)
    p.add_argument(
        "--pseudonym",
        type=_pseudonym,
        action="append",
        required=True,
        help="a pseudonym to resolve (repeatable)",
    )
    p.add_argument(
        "--requester", type=agency_id, required=True, help="the agency that asks, e.g. XB-PROS"
    )
    p.add_argument("--case-ref", required=True, help="the case the request was made in")
    p.add_argument(
        "--purpose", type=_code, required=True, help="what the identities are needed for"
    )
    p.add_argument(
        "--jti",
        type=_jti,
        help="only the pseudonyms of this envelope (the request's 'original'; write --jti=JTI "
        "when it starts with '-')",
    )
    p.add_argument("--actor", type=actor, required=True, help="who decides the request")
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=_reidentify)


# -- subjects lookup ---------------------------------------------------------------------


def _identifier(args: argparse.Namespace) -> str:
    if args.value is not None:
        text: str = args.value
        return text
    data, where = read_source(args.value_file, what="identifier", max_bytes=_MAX_VALUE_FILE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the identifier {where} is not UTF-8 text") from None
    line = text.split("\n", 1)[0].removesuffix("\r")
    if not line.strip():
        raise UsageError(f"the identifier {where} is empty")
    return line


def _lookup(args: argparse.Namespace) -> int:
    now: datetime = resolve_now(args.now)
    identifier = _identifier(args)
    keyset = load_keyset(args)
    secret = keyset.privacy_secret
    token = subject_token(secret, args.kind, identifier)  # checks the value before recording
    with open_store(args.audit_db) as store:
        log = open_agency_audit_log(store, keyset.agency, None)
        found = SubjectIndex().lookup(
            log,
            secret,
            args.kind,
            identifier,
            actor=args.actor,
            recorder=AuditLogRecorder(log),
            purpose=args.purpose,
            agency=keyset.agency,
            reason=args.reason,
            scan=args.scan,
            include_lookups=args.include_lookups,
            now=now,
        )
    if args.json:
        print_json(
            {
                "kind": args.kind,
                "token": token,
                "entries": [{"index": i, **_entry_json(e)} for i, e in found],
            }
        )
        return 0
    noun = "entry concerns" if len(found) == 1 else "entries concern"
    say(f"{len(found)} audit {noun} this {args.kind} (blind-index token {token}):")
    for index, entry in found:
        say(_entry_line(index, entry))
    return 0


def _entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "action": entry.action,
        "time": rfc3339(_when(entry)),
        "actor": entry.actor,
        "agency": entry.agency,
        "counterparty": entry.counterparty,
        "jti": entry.jti,
        "envelope_digest": entry.envelope_digest,
        "purpose": entry.purpose,
        "outcome": entry.outcome,
        "reason": entry.reason,
    }


def _when(entry: AuditEntry) -> datetime:
    return from_unix(entry.time)


def _entry_line(index: int, entry: AuditEntry) -> str:
    parts = [f"  #{index}", rfc3339(_when(entry)), entry.action, entry.outcome]
    if entry.counterparty:
        parts.append(f"with {entry.counterparty}")
    if entry.jti:
        parts.append(f"envelope {entry.jti}")
    if entry.purpose:
        parts.append(f"purpose {entry.purpose}")
    parts.append(f"actor {entry.actor!r}")
    return printable("  ".join(parts))


# -- reidentify ------------------------------------------------------------------------------


def _reidentify(args: argparse.Namespace) -> int:
    now: datetime = resolve_now(args.now)
    keyset = load_keyset(args)
    secret = keyset.privacy_secret
    results: list[dict[str, Any]] = []
    refused = 0
    with open_store(args.vault_db) as vault_store, open_store(args.audit_db) as audit_store:
        vault = PseudonymVault(vault_store)
        recorder = AuditLogRecorder(open_agency_audit_log(audit_store, keyset.agency, None))
        for pseudonym in dict.fromkeys(args.pseudonym):
            try:
                value = vault.resolve(
                    secret,
                    pseudonym,
                    requester=args.requester,
                    case_ref=args.case_ref,
                    purpose=args.purpose,
                    actor=args.actor,
                    recorder=recorder,
                    agency=keyset.agency,
                    jti=args.jti,
                    now=now,
                )
            except (PolicyError, VerificationError) as exc:
                refused += 1
                results.append({"pseudonym": pseudonym, "refused": exc.message})
                continue
            results.append({"pseudonym": pseudonym, "value": value})
    if args.json:
        print_json({"requester": args.requester, "results": results})
    else:
        for result in results:
            if "value" in result:
                shown = result["value"]
                text = shown if isinstance(shown, str) else repr(shown)
                say(printable(f"{result['pseudonym']}: {text}"))
    for result in results:
        if "refused" in result:
            report_error(f"{result['pseudonym']}: refused: {result['refused']}")
    sys.stdout.flush()
    return 1 if refused else 0
