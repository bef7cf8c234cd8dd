"""``safeshare request validate``: every problem of a message draft, before it is sealed.

``validate FILE`` reads a message draft (a JSON object: the members of the
message type, including ``purpose``, ``legal_basis`` and ``case_ref``; see
``specs/safeshare-v1.md`` section 11) from a file or stdin and prints every problem at once
(:func:`safeshare.messages.validate_message`, :func:`~safeshare.messages.format_problems`):
missing UNTOC Art. 18(15) items of an MLA request, a purpose the legal basis
does not provide for, a disclosure category the basis does not cover, and so
on. The message type comes from the draft's own ``msg_type`` member or from
``--type`` (both given: they must agree).

For a message that follows another (a reply, a receipt, a consent request),
``--follows FILE`` names the envelope it follows as printed by
``safeshare open --json``: the draft must reference it and keep its purpose,
legal basis and case.

Exit codes: 0 when the draft is complete ("complete" is printed), 1 when it
has problems (each printed) or cannot be read, 2 for a usage error. Nothing
is sealed or sent.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from safeshare._internal import strictjson
from safeshare.cli._argtypes import one_of, rfc3339_time
from safeshare.cli._common import print_json, printable, read_source, say
from safeshare.errors import MalformedInputError, UsageError
from safeshare.messages import MESSAGE_MODELS, format_problems, inherit, validate_message

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers
    from safeshare.messages import ReplyContext

__all__ = ["MAX_DRAFT_BYTES", "register"]

#: Largest draft file accepted (a draft becomes an envelope's record, capped at 1 MiB).
MAX_DRAFT_BYTES: Final = 1024 * 1024
#: Largest ``--follows`` file (the JSON of ``safeshare open --json``).
_MAX_FOLLOWS_BYTES: Final = 4 * 1024 * 1024


_message_type: Final = one_of(MESSAGE_MODELS, "a message type")


def register(subparsers: Subparsers) -> None:
    """Add the ``request`` command and its ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "request",
        help="check a message draft (request, reply, notice) before it is sealed",
        description=(
            "Work with message drafts: the treaty message types of specs/safeshare-v1.md section 11 "
            "(preservation, disclosure and MLA requests, replies, notices, consent)."
        ),
    )
    sub = parser.add_subparsers(dest="request_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "validate",
        help="print every problem of a message draft; exit 1 if there is any",
        description=(
            "Read a message draft (a JSON object; '-' or no argument: stdin) and print every "
            "problem at once, in words a caseworker can act on, with the rule behind each "
            "(treaty article or safeshare rule). Prints 'complete' and exits 0 when there is "
            "none; exits 1 otherwise. The message type is the draft's 'msg_type' member or "
            "--type."
        ),
    )
    p.add_argument(
        "draft", metavar="FILE", nargs="?", help="the draft, a JSON object; '-' or none: stdin"
    )
    p.add_argument(
        "--type",
        dest="message_type",
        metavar="MSG_TYPE",
        type=_message_type,
        help="the message type, e.g. mla_request (default: the draft's 'msg_type' member)",
    )
    p.add_argument(
        "--follows",
        metavar="FILE",
        help=(
            "the envelope the draft follows (for replies, receipts, consent requests): the "
            "JSON printed by 'safeshare open --json'"
        ),
    )
    p.add_argument(
        "--now",
        metavar="TIME",
        type=rfc3339_time,
        help="check time rules at this RFC 3339 time (default: the current time)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print {msg_type, complete, problems: [{field, message, rule}]} as JSON",
    )
    p.set_defaults(handler=_validate)


def _read_draft(source: str | None) -> tuple[dict[str, Any], str]:
    data, where = read_source(source, what="message draft", max_bytes=MAX_DRAFT_BYTES)
    draft = strictjson.loads(data, what=f"the message draft {where}", max_bytes=MAX_DRAFT_BYTES)
    if not isinstance(draft, dict):
        raise MalformedInputError(
            f"the message draft {where} is not a JSON object",
            hint='write the draft as {"msg_type": "mla_request", "purpose": ..., ...}',
        )
    return draft, where


def _message_type_of(draft: dict[str, Any], option: str | None) -> str:
    inside = draft.pop("msg_type", None)
    if inside is not None and not isinstance(inside, str):
        raise MalformedInputError("the draft's 'msg_type' member must be a string")
    if option is not None and inside is not None and option != inside:
        raise UsageError(
            f"--type {option} disagrees with the draft's msg_type {inside!r}",
            hint="leave out --type, or correct the draft's msg_type",
        )
    msg_type = option if option is not None else inside
    if msg_type is None:
        raise UsageError(
            "the draft has no 'msg_type' member and no --type was given",
            hint=f"use --type MSG_TYPE, one of: {', '.join(sorted(MESSAGE_MODELS))}",
        )
    return msg_type


def _follows(path: str | None) -> ReplyContext | None:
    if path is None:
        return None
    data, where = read_source(path, what="--follows file", max_bytes=_MAX_FOLLOWS_BYTES)
    value = strictjson.loads(data, what=f"the --follows file {where}", max_bytes=_MAX_FOLLOWS_BYTES)
    if not isinstance(value, dict):
        raise MalformedInputError(
            f"the --follows file {where} is not a JSON object",
            hint="pass the JSON printed by 'safeshare open --json' for the envelope followed",
        )
    return inherit(value)


def _title(msg_type: str) -> str:
    """``The MLA request``, ``The preservation request``; ``The message`` for unknown types."""
    model = MESSAGE_MODELS.get(msg_type)
    if model is None:
        return "The message"
    name = model.title
    if len(name) > 1 and name[1].islower():
        name = name[0].lower() + name[1:]
    return f"The {name}"


def _validate(args: argparse.Namespace) -> int:
    draft, _ = _read_draft(args.draft)
    msg_type = _message_type_of(draft, args.message_type)
    request = _follows(args.follows)
    now: datetime = args.now or datetime.now(UTC)
    problems = validate_message(msg_type, draft, request=request, now=now)
    if args.json:
        print_json(
            {
                "msg_type": msg_type,
                "complete": not problems,
                "problems": [p.to_json() for p in problems],
            }
        )
        return 1 if problems else 0
    title = _title(msg_type)
    if problems:
        for line in format_problems(problems, title=title).splitlines():
            say(printable(line))
        return 1
    say(f"{title} ({msg_type}) is complete.")
    return 0
