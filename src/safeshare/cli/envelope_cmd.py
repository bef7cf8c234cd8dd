"""``safeshare seal`` and ``safeshare open``: envelopes on the command line.

``seal`` reads a record (a JSON object) from a file or stdin, verifies the
trust registry against the pinned authority key, and seals the record from the
agency whose key file is given to the named recipient agencies
(:func:`safeshare.envelope.seal`). The envelope goes to ``--out FILE``
(written atomically) or to stdout.

``open`` verifies the registry the same way and opens an envelope as the
agency whose key file is given (:func:`safeshare.envelope.open_envelope`),
recording it in a replay cache (``--replay-db``). Only a fully verified
envelope produces output: on any failure, stdout stays empty and one error
line goes to stderr (exit code 1).

Both take ``--now TIME`` (RFC 3339) so that scripts and tests are
reproducible; the same time is used to verify the registry.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec
from pydantic import ValidationError

from safeshare._internal import fs, strictjson
from safeshare._internal.clock import from_unix, rfc3339, to_unix
from safeshare.cli._argtypes import agency_id, int_between, rfc3339_time
from safeshare.cli._common import (
    add_passphrase_option,
    print_json,
    printable,
    read_passphrase,
    refuse_overwrite,
    say,
)
from safeshare.cli._jwks import read_authority_key
from safeshare.envelope import (
    DEFAULT_SKEW,
    DEFAULT_TTL,
    MAX_ENVELOPE_BYTES,
    MAX_TTL,
    MESSAGE_TYPES,
    OpenedEnvelope,
    open_envelope,
    seal,
)
from safeshare.envelope._profile import SignedClaims
from safeshare.errors import MalformedInputError, OversizedInputError, StorageError, UsageError
from safeshare.keys import AgencyKeySet
from safeshare.purpose.conditions import HandlingConditions
from safeshare.registry import RegistryState, TrustRegistry
from safeshare.storage import ReplayCache, open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = [
    "MAX_HANDLING_BYTES",
    "MAX_RECORD_BYTES",
    "describe_opened",
    "read_handling",
    "read_record",
    "register",
]

#: Largest record file accepted by ``seal``: a bigger record cannot fit in an
#: envelope that recipients accept (:data:`~safeshare.envelope.MAX_ENVELOPE_BYTES`).
MAX_RECORD_BYTES: Final = MAX_ENVELOPE_BYTES
#: Largest handling-conditions file accepted by ``seal``.
MAX_HANDLING_BYTES: Final = 64 * 1024
#: An envelope file may end with one line break (as ``seal`` prints it).
_MAX_ENVELOPE_FILE_BYTES: Final = MAX_ENVELOPE_BYTES + 2

_STDIN: Final = "-"
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


def _message_type(text: str) -> str:
    if text not in MESSAGE_TYPES:
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} is not a message type; use one of: {', '.join(sorted(MESSAGE_TYPES))}"
        )
    return text


# -- argument wiring ----------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add the ``seal`` and ``open`` subcommands."""
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
    p.add_argument(
        "--purpose",
        metavar="CODE",
        required=True,
        type=_claim_text("purpose", "a purpose code such as criminal_investigation"),
        help="the purpose the data may be used for, e.g. criminal_investigation",
    )
    p.add_argument(
        "--legal-basis",
        metavar="TEXT",
        required=True,
        type=_claim_text("legal_basis", "a legal basis such as BUDAPEST-2AP.Art7"),
        help="the legal basis of the transfer, e.g. BUDAPEST-2AP.Art7",
    )
    p.add_argument(
        "--case-ref",
        metavar="TEXT",
        required=True,
        type=_claim_text("case_ref", "a case reference of 1 to 128 characters"),
        help="the case the transfer belongs to (1-128 characters)",
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
    p.set_defaults(handler=_seal)

    p = subparsers.add_parser(
        "open",
        help="verify and decrypt an envelope addressed to us",
        description=(
            "Open ENVELOPE ('-' or no argument: stdin) as the agency of --key: decrypt it, "
            "verify the sender's signature against the trust registry, the audience, the "
            "lifetime and every disclosure, and record it in the replay cache. Prints the "
            "verified content only if every check passed; otherwise one error line on stderr "
            "and exit code 1."
        ),
    )
    _add_common(p)
    p.add_argument(
        "--replay-db",
        metavar="PATH",
        required=True,
        help="replay cache database: an SQLite file path or sqlite:///absolute/path",
    )
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
    p.add_argument(
        "envelope", metavar="ENVELOPE", nargs="?", help="envelope file; '-' or no argument: stdin"
    )
    p.add_argument(
        "--json", action="store_true", help="print the verified claims as JSON (sorted keys)"
    )
    p.set_defaults(handler=_open)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key",
        metavar="KEYFILE",
        type=Path,
        required=True,
        help="our agency's encrypted key file (ID.keys.json from 'safeshare keygen')",
    )
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
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    add_passphrase_option(p)


# -- inputs ---------------------------------------------------------------------------


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def _read_source(source: str | None, *, what: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of file *source*, or of stdin for ``-``/None; and a name for messages."""
    if source is not None and source != _STDIN:
        return fs.read_bytes(source, what=what, max_bytes=max_bytes), repr(source)
    if source is None and _stdin_is_terminal():
        raise UsageError(
            f"no {what} given, and stdin is a terminal",
            hint=f"name the {what} file, or pipe it in and write '-'",
        )
    stdin = sys.stdin
    if stdin is None:
        raise UsageError(f"no {what} given, and there is no stdin to read it from")
    try:
        buffer = getattr(stdin, "buffer", None)
        if buffer is not None:
            data = bytes(buffer.read(max_bytes + 1))
        else:
            data = stdin.read(max_bytes + 1).encode("utf-8", "surrogatepass")
    except (OSError, ValueError) as exc:
        raise StorageError(f"could not read the {what} from stdin: {exc}") from None
    if len(data) > max_bytes:
        raise OversizedInputError(f"the {what} on stdin is larger than {max_bytes} bytes")
    return data, "on stdin"


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
    data, where = _read_source(source, what="record", max_bytes=MAX_RECORD_BYTES)
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


def _now(args: argparse.Namespace) -> datetime:
    value: datetime | None = args.now
    # Envelope times are whole seconds (iat); check keys at the time that is signed.
    return (value or datetime.now(UTC)).replace(microsecond=0)


def _registry(args: argparse.Namespace, now: datetime) -> TrustRegistry:
    authority = read_authority_key(args.authority)
    state = None if args.registry_state is None else RegistryState(args.registry_state)
    return TrustRegistry.load(args.registry, authority, now=now, state=state)


def _keyset(args: argparse.Namespace) -> AgencyKeySet:
    passphrase = read_passphrase(args.passphrase_file, purpose=f"key file {args.key}", new=False)
    return AgencyKeySet.load(args.key, passphrase)


# -- seal -----------------------------------------------------------------------------


def _seal(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None:
        refuse_overwrite([out], force=args.force)
    # Everything that can be checked without the key comes first, so a mistake
    # is reported before the passphrase is asked for.
    record = read_record(args.record)
    handling = None if args.handling is None else read_handling(args.handling)
    now = _now(args)
    registry = _registry(args, now)
    sender = _keyset(args)
    ttl = timedelta(days=args.ttl_days)
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
    )
    if out is None:
        sys.stdout.write(envelope.decode("ascii") + "\n")
        return 0
    fs.atomic_write(out, envelope)
    expires = from_unix(to_unix(now) + int(ttl.total_seconds()))
    say(
        f"Sealed a {args.message_type} envelope from {sender.agency} to {', '.join(args.to)} "
        f"({len(envelope)} bytes, expires {rfc3339(expires)})"
    )
    say(f"  written to {out}")
    return 0


# -- open -----------------------------------------------------------------------------


def _open(args: argparse.Namespace) -> int:
    data, _ = _read_source(args.envelope, what="envelope", max_bytes=_MAX_ENVELOPE_FILE_BYTES)
    # A final line break (as 'seal' prints it) is not part of the envelope.
    data = data.removesuffix(b"\n").removesuffix(b"\r")
    now = _now(args)
    registry = _registry(args, now)
    recipient = _keyset(args)
    with open_store(args.replay_db) as store:
        opened = open_envelope(
            data,
            recipient=recipient,
            registry=registry,
            replay=ReplayCache(store),
            now=now,
            skew=timedelta(seconds=args.skew_seconds),
        )
    # Purpose and actor enforcement (a later issue) checks `opened` here,
    # before anything of its content is printed.
    if args.json:
        print_json(opened.verified_claims())
    else:
        sys.stdout.write("".join(line + "\n" for line in describe_opened(opened)))
    return 0


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def describe_opened(opened: OpenedEnvelope) -> list[str]:
    """A short human-readable account of a verified envelope, the record as JSON last."""
    h = opened.handling
    rows: list[tuple[str, str]] = [
        ("issuer", f"{opened.issuer} (signature verified with the trust registry)"),
        ("audience", ", ".join(opened.audience)),
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
