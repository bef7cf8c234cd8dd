"""``safeshare retention ...``: purge records whose retention ended; list what is kept.

* ``purge``: deletes every record in the retention database (``--db``) whose
  retention has ended at ``--now`` (default: the current time), in batches,
  and records one ``purge`` entry per deleted record in the agency's audit log
  (``--audit-db``; ``--audit-origin`` creates the log if the database has
  none yet). The entries name ``--actor`` (the officer or service account
  that runs the purge) and ``--agency`` (our agency id) and hold metadata
  only. Without ``--audit-db`` the purge is not recorded (a warning says
  so). Prints what was deleted (``--json``: as JSON). Running it again
  deletes nothing more: it is safe to schedule.
* ``purge-vault``: the originator's side. Deletes every row of the pseudonym
  vault (``--vault-db``) whose retention has ended at ``--now`` (the
  envelope's ``iat`` plus its retention ``max_days``), recording one
  ``purge`` entry per envelope in the audit log first (``--audit-db``,
  required: a vault purge is always recorded; ``--audit-origin`` as for
  ``purge``). ``--legacy-max-days N`` also purges rows written before the
  vault kept a retention end, recorded at least N days before ``--now``.
  Prints one line. Safe to schedule.
* ``list``: the kept records' metadata (never their content: it is personal
  data) with their retention end, review date and status at ``--now``.

Neither command creates the retention database: a missing SQLite file is an
error. Failures are one ``safeshare: error:`` line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from safeshare._internal.clock import rfc3339
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AuditLogRecorder
from safeshare.cli._argtypes import agency_id, int_between, rfc3339_time
from safeshare.cli._common import print_json, printable, resolve_now, say, sqlite_path
from safeshare.errors import UsageError
from safeshare.privacy.pseudonyms import PseudonymVault
from safeshare.purpose.retention import (
    DEFAULT_PURGE_BATCH,
    PurgedRecord,
    RetentionEntry,
    RetentionStore,
)
from safeshare.storage import Store, open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = ["register"]

_DB_HELP: Final = (
    "the retention database: an SQLite file path, sqlite:///absolute/path, or postgresql://..."
)
_TIME_HELP: Final = (
    "RFC 3339 time with a time zone, e.g. 2026-11-29T05:00:00Z (default: the current time)"
)
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _actor(text: str) -> str:
    if not text.strip() or len(text) > 256 or _CONTROL.search(text):
        raise argparse.ArgumentTypeError(
            "the actor is 1-256 characters without control characters (an officer's id or a "
            "service account name)"
        )
    return text


def register(subparsers: Subparsers) -> None:
    """Add the ``retention`` command and its subcommands."""
    parser = subparsers.add_parser(
        "retention",
        help="purge records whose retention ended; list the records kept",
        description=(
            "The retention store keeps opened records only as long as the originator's "
            "conditions allow (Second Additional Protocol Art. 14(5)). 'purge' deletes what "
            "has expired and records each deletion in the audit log; 'purge-vault' does the same "
            "for the originator's pseudonym vault; 'list' shows what is kept."
        ),
    )
    sub = parser.add_subparsers(dest="retention_command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "purge",
        help="delete every record whose retention has ended, and record each deletion",
        description=(
            "Delete every record in --db whose retention has ended at --now, and record one "
            "'purge' entry per deleted record (metadata only) in the audit log of --audit-db. "
            "Safe to run again: a second run finds nothing more to delete or record."
        ),
    )
    p.add_argument("--db", metavar="LOCATION", required=True, help=_DB_HELP)
    p.add_argument(
        "--audit-db",
        metavar="LOCATION",
        help="the audit log's database (default: the purge is not recorded)",
    )
    p.add_argument(
        "--audit-origin",
        metavar="O",
        help="the audit log's origin: create the log if --audit-db has none yet, else require it",
    )
    p.add_argument(
        "--actor",
        metavar="ID",
        type=_actor,
        required=True,
        help="who runs the purge (officer id or service account), as recorded",
    )
    p.add_argument(
        "--agency", metavar="ID", type=agency_id, required=True, help="our agency id, e.g. XB-PROS"
    )
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument(
        "--batch-size",
        metavar="N",
        type=int_between(1, 100_000),
        default=DEFAULT_PURGE_BATCH,
        help=f"records deleted per transaction (default {DEFAULT_PURGE_BATCH})",
    )
    p.add_argument("--json", action="store_true", help="print what was deleted as JSON")
    p.set_defaults(handler=_purge)

    p = sub.add_parser(
        "purge-vault",
        help="delete the pseudonym vault rows whose retention ended, and record it",
        description=(
            "As the originator, delete every row of the pseudonym vault (--vault-db) whose "
            "retention has ended at --now (the envelope's iat plus its retention max_days): "
            "once no recipient may hold the pseudonymized data, its identities are not kept. "
            "One 'purge' entry per envelope (metadata only) is recorded in the audit log of "
            "--audit-db before the rows are deleted. Safe to run again."
        ),
    )
    p.add_argument(
        "--vault-db", metavar="LOCATION", required=True, help="the pseudonym vault database"
    )
    p.add_argument(
        "--audit-db", metavar="LOCATION", required=True, help="the agency's audit log database"
    )
    p.add_argument(
        "--audit-origin",
        metavar="O",
        help="the audit log's origin: create the log if --audit-db has none yet, else require it",
    )
    p.add_argument(
        "--actor",
        metavar="ID",
        type=_actor,
        required=True,
        help="who runs the purge (officer id or service account), as recorded",
    )
    p.add_argument(
        "--agency", metavar="ID", type=agency_id, required=True, help="our agency id, e.g. XA-NPOL"
    )
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument(
        "--legacy-max-days",
        metavar="N",
        type=int_between(1, 36_500),
        help=(
            "also purge rows written before the vault kept a retention end that were "
            "recorded at least N days before --now (the longest retention you sealed with)"
        ),
    )
    p.set_defaults(handler=_purge_vault)

    p = sub.add_parser(
        "list",
        help="list the records kept (metadata only) with their retention dates",
        description=(
            "List the records kept in --db, soonest retention end first: originator, jti, "
            "digest, purpose, when kept, retention end, review date and status at --now. "
            "The records' content is never shown."
        ),
    )
    p.add_argument("--db", metavar="LOCATION", required=True, help=_DB_HELP)
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(handler=_list)


# -- helpers --------------------------------------------------------------------------------


def _existing_store(location: str, what: str, option: str) -> Store:
    path = sqlite_path(location)
    if path is not None and not os.path.exists(path):
        raise UsageError(
            f"there is no {what} at {path}",
            hint=f"give the {what} with {option} (a file path or a postgresql:// URL)",
        )
    return open_store(location)


@contextlib.contextmanager
def _audit_log(args: argparse.Namespace) -> Iterator[AuditLog | None]:
    location: str | None = args.audit_db
    if location is None:
        if args.audit_origin is not None:
            raise UsageError("--audit-origin needs --audit-db")
        yield None
        return
    create = args.audit_origin is not None
    store = open_store(location) if create else _existing_store(location, "database", "--audit-db")
    with store:
        if create:
            yield AuditLog(store, origin=args.audit_origin)
        else:
            yield AuditLog.open(store)


def _purged_json(item: PurgedRecord) -> dict[str, Any]:
    return {
        "issuer": item.issuer,
        "jti": item.jti,
        "digest": item.digest,
        "recipient": item.recipient,
        "purpose": item.purpose,
        "retain_until": rfc3339(item.retain_until),
        "purged_at": rfc3339(item.purged_at),
        "audit_index": item.audit_index,
    }


def _entry_json(entry: RetentionEntry, now: datetime) -> dict[str, Any]:
    return {
        "issuer": entry.issuer,
        "jti": entry.jti,
        "digest": entry.digest,
        "recipient": entry.recipient,
        "purpose": entry.purpose,
        "kept_at": rfc3339(entry.kept_at),
        "retain_until": rfc3339(entry.retain_until),
        "review_at": None if entry.review_at is None else rfc3339(entry.review_at),
        "status": entry.status(now),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- purge ----------------------------------------------------------------------------------


def _purge(args: argparse.Namespace) -> int:
    now = resolve_now(args.now)
    # Open the audit log first: a purge that cannot be recorded does not start.
    with _audit_log(args) as log, _existing_store(args.db, "retention database", "--db") as store:
        retention = RetentionStore(store)
        recorder = None if log is None else AuditLogRecorder(log)
        purged = retention.purge(
            now=now,
            recorder=recorder,
            actor=args.actor,
            agency=args.agency,
            batch_size=args.batch_size,
        )
        origin = None if log is None else log.origin
    if origin is None:
        sys.stderr.write(
            "safeshare: warning: no --audit-db given: the purge is not recorded in an audit log\n"
        )
    if args.json:
        print_json(
            {"now": rfc3339(now), "audit_log": origin, "purged": [_purged_json(p) for p in purged]}
        )
        return 0
    if not purged:
        say(f"Nothing to purge: no kept record's retention had ended at {rfc3339(now)}")
        return 0
    say(f"Purged {_plural(len(purged), 'record')} whose retention had ended at {rfc3339(now)}:")
    for item in purged:
        recorded = "" if item.audit_index is None else f", audit entry {item.audit_index}"
        say(
            printable(
                f"  {item.issuer} jti {item.jti}: retention ended {rfc3339(item.retain_until)}"
                f"{recorded}"
            )
        )
        say(f"    digest {item.digest}")
    if origin is not None:
        say(printable(f"Each deletion is recorded in the audit log {origin}"))
    return 0


# -- purge-vault -----------------------------------------------------------------------------


def _purge_vault(args: argparse.Namespace) -> int:
    now = resolve_now(args.now)
    # Open the audit log first: a purge that cannot be recorded does not start.
    with (
        _audit_log(args) as log,
        _existing_store(args.vault_db, "pseudonym vault", "--vault-db") as store,
    ):
        assert log is not None  # --audit-db is required
        deleted = PseudonymVault(store).purge(
            now=now,
            actor=args.actor,
            recorder=AuditLogRecorder(log),
            agency=args.agency,
            legacy_max_days=args.legacy_max_days,
        )
        origin = log.origin
    if deleted:
        say(
            printable(
                f"Purged {_plural(deleted, 'pseudonym vault row')} whose retention had ended at "
                f"{rfc3339(now)}; recorded in the audit log {origin}"
            )
        )
    else:
        say(f"Nothing to purge: no pseudonym vault row's retention had ended at {rfc3339(now)}")
    return 0


# -- list -----------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    now = resolve_now(args.now)
    with _existing_store(args.db, "retention database", "--db") as store:
        entries = RetentionStore(store).entries()
    if args.json:
        print_json([_entry_json(e, now) for e in entries])
        return 0
    if not entries:
        say("No records are kept")
        return 0
    say(f"{_plural(len(entries), 'record')} kept (status at {rfc3339(now)}):")
    for e in entries:
        review = "" if e.review_at is None else f", review {rfc3339(e.review_at)}"
        say(printable(f"  {e.issuer} jti {e.jti}: {e.status(now)}"))
        say(
            printable(
                f"    purpose {e.purpose}, kept {rfc3339(e.kept_at)}, retained until "
                f"{rfc3339(e.retain_until)}{review}"
            )
        )
        say(f"    digest {e.digest}")
    return 0
