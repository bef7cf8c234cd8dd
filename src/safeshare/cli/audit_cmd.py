"""``safeshare audit ...``: verify, checkpoint, prove, witness and report on an audit log.

Every subcommand takes the log's database as ``--db LOCATION``: an SQLite
file path (``sqlite:///abs/path`` works too) or a ``postgresql://`` URL
(:func:`safeshare.storage.open_store`). Commands that read a log never
create one: a missing SQLite file, or a database without an audit log, is an
error. The log is opened under the origin it records; ``--origin O``
additionally requires that origin.

* ``verify``: re-derives the whole tree from the entries (every leaf and
  tree node recomputed) and checks every stored checkpoint against it (its
  root at its size, and with ``--checkpoint-key`` its signature); names the
  first bad index on failure. A progress indicator goes to stderr when
  stderr is a terminal (for logs that take a moment) or with ``--progress``.
* ``checkpoint``: signs a checkpoint of the current tree with the agency's
  signing key (refused, and nothing signed, if it would be inconsistent with
  the log's previous checkpoint) and prints the signed note.
* ``prove``: prints an inclusion proof (``--index``) or a consistency proof
  (``--from``) as JSON, hashes in standard base64 as in checkpoints.
* ``witness``: cosigns a log's checkpoint as a witness, after checking it
  against the latest one this witness cosigned (fork and rollback refused,
  kept as evidence in the witness database); prints the cosigned note.
* ``report``: accesses by purpose, actor, counterparty, action and outcome,
  denials first, for an oversight body (text, or ``--json``). With
  ``--checkpoint FILE`` (the signed checkpoint note the oversight body holds,
  verified with ``--checkpoint-key JWKS``), the report covers exactly that
  checkpoint's tree and is refused unless the entries give its root.

Entries are printed only after they were verified against the Merkle tree
(``prove --index``: the entry's level-0 tree node and inclusion proofs in the
current tree and the latest stored checkpoint; the proof printed is checked
to lead from the printed entry to the printed root).

Failures are one ``safeshare: error:`` line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from safeshare._internal import fs, strictjson
from safeshare._internal.clock import rfc3339
from safeshare.audit import merkle
from safeshare.audit.checkpoint import MAX_CHECKPOINT_NOTE_BYTES, Checkpoint, verify_checkpoint
from safeshare.audit.entry import encode
from safeshare.audit.log import AuditLog, StoredCheckpoint
from safeshare.audit.note import NoteVerifier, add_signature_lines, b64std_decode, b64std_encode
from safeshare.audit.report import DEFAULT_MAX_DENIED, build_report
from safeshare.audit.witness import MAX_PROOF_HASHES, Witness
from safeshare.cli._argtypes import int_between, rfc3339_time
from safeshare.cli._common import (
    add_passphrase_option,
    print_json,
    read_passphrase,
    resolve_now,
    say,
    sqlite_path,
)
from safeshare.cli._jwks import read_public_keys
from safeshare.errors import (
    AuditIntegrityError,
    MalformedInputError,
    UsageError,
    VerificationError,
)
from safeshare.keys import AgencyKeySet, VerifyKey
from safeshare.storage import Store, open_store

if TYPE_CHECKING:
    from safeshare.cli._common import Handler, Subparsers

__all__ = ["register"]

_FIRST_BAD: Final = re.compile(r"first bad index (\d+)\)")
_MAX_INDEX: Final = 2**63 - 2
_MAX_PROOF_FILE_BYTES: Final = 64 * 1024
#: On a terminal, show progress only once verification has run this long (seconds).
_PROGRESS_DELAY: Final = 0.5
_DB_HELP: Final = "the audit log's database: an SQLite file path or a postgresql:// URL"
_TIME_HELP: Final = "RFC 3339 time with a time zone, e.g. 2026-11-29T05:00:00Z"


# -- argument wiring ----------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add the ``audit`` command and its subcommands."""
    parser = subparsers.add_parser(
        "audit",
        help="verify, checkpoint, prove, witness and report on an audit log",
        description=(
            "Work with an agency's tamper-evident audit log (an RFC 9162 Merkle tree with "
            "C2SP signed checkpoints) in an SQLite file or a PostgreSQL database."
        ),
    )
    sub = parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    def add(
        name: str, handler: Handler, help_text: str, description: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=description)
        p.set_defaults(handler=handler)
        return p

    def log_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", metavar="LOCATION", required=True, help=_DB_HELP)
        p.add_argument(
            "--origin",
            metavar="O",
            help="require the log to have this origin (default: the origin it records)",
        )

    p = add(
        "verify",
        _verify,
        "re-derive the whole tree and check every stored checkpoint",
        "Recompute every leaf hash and tree node of the log from its entries, then check "
        "every checkpoint the log signed against the recomputed tree: its root at its size "
        "and, with --checkpoint-key, its signature. On failure, names the first bad index "
        "and exits with code 1.",
    )
    log_options(p)
    p.add_argument(
        "--checkpoint-key",
        metavar="JWKS",
        type=Path,
        help="the log agency's public JWKS: verify each checkpoint's signature with its "
        "signing keys (default: signatures are not checked)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--progress",
        action="store_true",
        help="show progress on stderr even when it is not a terminal",
    )

    p = add(
        "checkpoint",
        _checkpoint,
        "sign and print a checkpoint of the log",
        "Sign a C2SP checkpoint of the log's current size and root with the agency's "
        "signing key, store it in the log's database and print the signed note. Refused "
        "(and nothing signed) if the log is inconsistent with its previous checkpoint.",
    )
    log_options(p)
    p.add_argument(
        "--key", metavar="KEYFILE", type=Path, required=True, help="the agency's key file"
    )
    p.add_argument(
        "--name",
        metavar="N",
        help="key name of the signature (default: the log's origin, as verifiers expect)",
    )
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=f"signing time; {_TIME_HELP}")
    add_passphrase_option(p)

    p = add(
        "prove",
        _prove,
        "print an inclusion or consistency proof as JSON",
        "Print the RFC 9162 inclusion proof of entry --index in the tree of --size entries "
        "(default: the current size), or the consistency proof from the tree of --from "
        "entries to the tree of --to entries (default: the current size). Hashes are in "
        "standard base64. A checkpoint the log signed at that size is included if it exists.",
    )
    log_options(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", metavar="I", type=int_between(0, _MAX_INDEX))
    which.add_argument("--from", dest="from_size", metavar="M", type=int_between(0, _MAX_INDEX))
    p.add_argument("--size", metavar="N", type=int_between(1, _MAX_INDEX + 1))
    p.add_argument("--to", dest="to_size", metavar="N", type=int_between(0, _MAX_INDEX + 1))

    p = add(
        "witness",
        _witness,
        "cosign a log's checkpoint as a witness",
        "Check a log's signed checkpoint against the latest checkpoint of that log this "
        "witness cosigned (the consistency proof must lead from that one to this one), then "
        "cosign it (C2SP tlog-cosignature) and print the cosigned note. A fork (same size, "
        "other root), a rollback (smaller size) or a failing proof is refused with exit "
        "code 1 and kept as evidence in the witness database.",
    )
    p.add_argument(
        "--db",
        metavar="WITNESS_DB",
        required=True,
        help="the witness's own database (created if missing): an SQLite path or a URL",
    )
    p.add_argument(
        "--key", metavar="KEYFILE", type=Path, required=True, help="the witness's key file"
    )
    p.add_argument(
        "--log-key",
        metavar="LOG_JWKS",
        type=Path,
        required=True,
        help="the log agency's public JWKS (the checkpoint must be signed by one of its keys)",
    )
    p.add_argument(
        "--checkpoint", metavar="FILE", type=Path, required=True, help="the signed checkpoint"
    )
    p.add_argument(
        "--proof",
        metavar="FILE",
        type=Path,
        help="the consistency proof from the size this witness cosigned last: the JSON of "
        "'safeshare audit prove --from M', or base64 hashes one per line (not needed the "
        "first time)",
    )
    p.add_argument(
        "--name",
        metavar="N",
        help="the witness's key name (default: '<agency of the key file>/witness')",
    )
    p.add_argument(
        "--origin",
        metavar="O",
        help="the log's origin, which its key signs for (default: the checkpoint's origin)",
    )
    p.add_argument("--now", metavar="TIME", type=rfc3339_time, help=f"cosigning time; {_TIME_HELP}")
    add_passphrase_option(p)

    p = add(
        "report",
        _report,
        "summarise accesses for an oversight body, denials first",
        "Count the log's entries by purpose, actor, counterparty, action and outcome and "
        "list every denied access with its reason, denials first. --since and --until "
        "select entries by their time (since inclusive, until exclusive). The tree is "
        "recomputed from the entries counted and checked against the log's stored "
        "checkpoint and, with --checkpoint, against the checkpoint you hold.",
    )
    log_options(p)
    p.add_argument("--since", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument("--until", metavar="TIME", type=rfc3339_time, help=_TIME_HELP)
    p.add_argument(
        "--max-denied",
        metavar="N",
        type=int_between(0, 10**9),
        default=DEFAULT_MAX_DENIED,
        help=f"list at most N denied entries; all are counted (default {DEFAULT_MAX_DENIED})",
    )
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        help="the log's signed checkpoint note you hold (as 'safeshare audit checkpoint' "
        "printed it, or cosigned by witnesses): the report covers exactly its tree and is "
        "refused unless the entries give its root; needs --checkpoint-key",
    )
    p.add_argument(
        "--checkpoint-key",
        metavar="JWKS",
        type=Path,
        help="the log agency's public JWKS: --checkpoint must be signed by one of its "
        "signing keys under the log's origin",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")


# -- opening the log ------------------------------------------------------------------


def _open_store(location: str, *, create: bool) -> Store:
    if not create:
        path = sqlite_path(location)
        if path is not None and path and not os.path.exists(path):
            raise UsageError(
                f"there is no database at {path}",
                hint="give the audit log's database with --db (a file path or a postgresql:// URL)",
            )
    return open_store(location)


@contextlib.contextmanager
def _open_log(args: argparse.Namespace) -> Iterator[AuditLog]:
    with _open_store(args.db, create=False) as store:
        yield AuditLog.open(store, origin=args.origin)


def _signing_keys(path: Path, what: str) -> list[VerifyKey]:
    keys = [k for k in read_public_keys(path) if isinstance(k, VerifyKey)]
    if not keys:
        raise UsageError(
            f"JWKS file {str(path)!r} has no signing (Ed25519) key to verify {what} with",
            hint="pass the agency's public *.jwks.json written by 'safeshare keygen'",
        )
    return keys


def _checkpoint_json(stored: StoredCheckpoint | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {
        "seq": stored.seq,
        "size": stored.size,
        "root_hash": b64std_encode(stored.root_hash),
        "key_name": stored.name,
        "kid": stored.kid,
        "signed_at": rfc3339(stored.signed_at),
    }


# -- verify -------------------------------------------------------------------------


class _Progress:
    """``progress(done, total)`` for :meth:`AuditLog.verify_with_checkpoints`, on stderr.

    On a terminal: one line rewritten in place, shown only once verification
    has taken :data:`_PROGRESS_DELAY` seconds (unless forced). Elsewhere
    (``--progress`` into a file or pipe): a line at the start, about every
    two seconds, and at the end.
    """

    def __init__(self, stream: TextIO, *, tty: bool, forced: bool) -> None:
        self._stream = stream
        self._tty = tty
        self._start = time.monotonic()
        self._delay = 0.0 if forced else _PROGRESS_DELAY
        self._interval = 0.1 if tty else 2.0
        self._last = -1e9
        self._open_line = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._start < self._delay:
            return
        if done not in (0, total) and now - self._last < self._interval:
            return
        self._last = now
        percent = 100 if total == 0 else done * 100 // total
        text = f"safeshare: verifying the audit log: {done:,} of {total:,} entries ({percent}%)"
        if self._tty:
            self._stream.write("\r" + text)
            self._open_line = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        return False


def _verify(args: argparse.Namespace) -> int:
    keys = None
    if args.checkpoint_key is not None:
        keys = _signing_keys(args.checkpoint_key, "checkpoint signatures")
    tty = _stderr_is_terminal()
    progress = (
        _Progress(sys.stderr, tty=tty, forced=args.progress) if tty or args.progress else None
    )
    with _open_log(args) as log:
        try:
            result = log.verify_with_checkpoints(progress, keys=keys)
        except AuditIntegrityError as exc:
            if args.json:
                match = _FIRST_BAD.search(exc.message)
                print_json(
                    {
                        "ok": False,
                        "origin": log.origin,
                        "error": exc.message,
                        "first_bad_index": int(match.group(1)) if match else None,
                    }
                )
            raise
        finally:
            if progress is not None:
                progress.close()
    root = b64std_encode(result.root_hash)
    if args.json:
        print_json(
            {
                "ok": True,
                "origin": log.origin,
                "size": result.size,
                "root_hash": root,
                "checkpoints": result.checkpoints,
                "signatures_checked": result.signatures_checked,
                "latest_checkpoint": _checkpoint_json(result.latest_checkpoint),
            }
        )
        return 0
    say(f"audit log {log.origin}: OK")
    say(f"  entries:     {result.size} verified (every leaf hash and tree node recomputed)")
    say(f"  root hash:   {root}")
    if keys is None:
        signatures = "signatures not checked (give --checkpoint-key JWKS)"
    else:
        signatures = "signatures verified"
    say(f"  checkpoints: {result.checkpoints} checked against the recomputed tree; {signatures}")
    latest = result.latest_checkpoint
    if latest is not None:
        say(
            f"  latest checkpoint: size {latest.size}, signed {rfc3339(latest.signed_at)} "
            f"by key {latest.kid}"
        )
    return 0


# -- checkpoint -----------------------------------------------------------------------


def _checkpoint(args: argparse.Namespace) -> int:
    now = resolve_now(args.now)
    with _open_log(args) as log:
        # The log is found before the passphrase is asked for.
        keyset = _load_keyset(args)
        note = log.sign_checkpoint(args.name, keyset.signing_key, now=now)
    sys.stdout.write(note)
    return 0


def _load_keyset(args: argparse.Namespace) -> AgencyKeySet:
    passphrase = read_passphrase(args.passphrase_file, purpose=f"key file {args.key}", new=False)
    return AgencyKeySet.load(args.key, passphrase)


# -- prove ----------------------------------------------------------------------------


def _prove(args: argparse.Namespace) -> int:
    if args.index is not None and args.to_size is not None:
        raise UsageError("--to goes with --from (a consistency proof); use --size with --index")
    if args.from_size is not None and args.size is not None:
        raise UsageError("--size goes with --index (an inclusion proof); use --to with --from")
    with _open_log(args) as log:
        if args.index is not None:
            out = _inclusion(log, args.index, args.size)
        else:
            out = _consistency(log, args.from_size, args.to_size)
    print_json(out)
    return 0


def _inclusion(log: AuditLog, index: int, size: int | None) -> dict[str, Any]:
    n = log.size() if size is None else size
    proof = log.inclusion_proof(index, n)
    # Verified against its level-0 node, the current tree and the latest checkpoint.
    entry = log.entry(index)
    data = encode(entry)  # the stored bytes: entries decode only from canonical form
    leaf = merkle.leaf_hash(data)
    root = log.root(n)
    stored = log.checkpoint_at(n)
    try:  # what is printed must hold together
        merkle.verify_inclusion(leaf, index, n, proof, root)
        if stored is not None and stored.root_hash != root:
            raise AuditIntegrityError(
                f"the stored tree of size {n} does not have the root of the checkpoint the "
                "log signed at that size"
            )
    except AuditIntegrityError as exc:
        raise AuditIntegrityError(
            f"entry {index} of the audit log cannot be proven in the tree of size {n} "
            f"({exc.message}); no proof was printed",
            hint="run `safeshare audit verify` and restore the database from a backup",
        ) from None
    return {
        "type": "inclusion",
        "origin": log.origin,
        "index": index,
        "size": n,
        "leaf_hash": b64std_encode(leaf),
        "entry": data.decode("utf-8"),
        "proof": [b64std_encode(h) for h in proof],
        "root": b64std_encode(root),
        "checkpoint": None if stored is None else stored.note,
    }


def _consistency(log: AuditLog, size1: int, size2: int | None) -> dict[str, Any]:
    n2 = log.size() if size2 is None else size2
    proof = log.consistency_proof(size1, n2)
    stored = log.checkpoint_at(n2)
    return {
        "type": "consistency",
        "origin": log.origin,
        "from_size": size1,
        "to_size": n2,
        "proof": [b64std_encode(h) for h in proof],
        "from_root": b64std_encode(log.root(size1)),
        "to_root": b64std_encode(log.root(n2)),
        "checkpoint": None if stored is None else stored.note,
    }


# -- witness --------------------------------------------------------------------------


def _witness(args: argparse.Namespace) -> int:
    now = resolve_now(args.now)
    note = _read_note(args.checkpoint)
    checkpoint = _peek_checkpoint(note)
    origin: str = args.origin if args.origin is not None else checkpoint.origin
    verifier = _log_verifier(note, origin, _signing_keys(args.log_key, "the checkpoint"))
    keyset = _load_keyset(args)
    name: str = args.name if args.name is not None else f"{keyset.agency}/witness"
    with _open_store(args.db, create=True) as store:
        witness = Witness(store, name, keyset.signing_key)
        latest = witness.latest(origin)
        previous = 0 if latest is None else latest.checkpoint.size
        proof = _read_proof(args.proof, checkpoint.size, previous)
        line = witness.cosign(note, proof, log_verifier=verifier, now=now)
    sys.stdout.write(add_signature_lines(note, line))
    return 0


def _read_note(path: Path) -> str:
    data = fs.read_bytes(path, what="checkpoint file", max_bytes=MAX_CHECKPOINT_NOTE_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInputError(f"checkpoint file {str(path)!r} is not UTF-8 text") from None


def _peek_checkpoint(note: str) -> Checkpoint:
    """The checkpoint text of a signed note, unverified (to learn its origin and size)."""
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedInputError(
            "the checkpoint file is not a signed note (no blank line before the signatures)",
            hint="pass the note printed by 'safeshare audit checkpoint'",
        )
    return Checkpoint.parse(note[: split + 1])


def _log_verifier(
    note: str, origin: str, keys: list[VerifyKey], *, option: str = "--log-key"
) -> NoteVerifier:
    """The log key, among *keys* (given with *option*), whose signature on *note* verifies."""
    failures: list[str] = []
    for key in keys:
        verifier = NoteVerifier(origin, key)
        try:
            verify_checkpoint(note, verifier)
        except VerificationError as exc:
            failures.append(exc.message)
            continue
        return verifier
    raise VerificationError(
        f"the checkpoint is not signed for log {origin!r} by any signing key of the log's "
        f"JWKS ({failures[-1]})",
        hint=f"check {option} (the log agency's public JWKS) and --origin",
    )


def _read_proof(path: Path | None, size: int, previous: int) -> list[bytes]:
    """The consistency proof from *previous* to *size*: ``prove`` JSON or base64 lines."""
    if path is None:
        return []
    what = f"proof file {str(path)!r}"
    data = fs.read_bytes(path, what="proof file", max_bytes=_MAX_PROOF_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInputError(f"{what} is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        doc = strictjson.loads(data, what=what, max_bytes=_MAX_PROOF_FILE_BYTES)
        items = doc.get("proof") if isinstance(doc, dict) else None
        if not isinstance(items, list) or not all(isinstance(h, str) for h in items):
            raise MalformedInputError(f"{what} has no 'proof' list of base64 hashes")
        if doc.get("type", "consistency") != "consistency":
            raise UsageError(
                f"{what} holds an inclusion proof; a witness needs a consistency proof"
            )
        to_size, from_size = doc.get("to_size", size), doc.get("from_size", previous)
        if to_size != size:
            raise UsageError(
                f"{what} proves consistency up to size {to_size}, but the checkpoint has "
                f"size {size}"
            )
        if from_size != previous:
            raise UsageError(
                f"{what} starts at size {from_size}, but this witness last cosigned size "
                f"{previous} of this log",
                hint=f"make the proof with: safeshare audit prove --from {previous} --to {size}",
            )
        lines: list[str] = items
    else:
        lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_PROOF_HASHES:
        raise MalformedInputError(
            f"{what} has {len(lines)} hashes; a consistency proof has at most {MAX_PROOF_HASHES}"
        )
    return [
        b64std_decode(line.strip(), what=f"hash {number} of {what}")
        for number, line in enumerate(lines, start=1)
    ]


# -- report ---------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    note: str | None = None
    keys: list[VerifyKey] = []
    if args.checkpoint is not None:
        if args.checkpoint_key is None:
            raise UsageError(
                "--checkpoint needs --checkpoint-key JWKS: the checkpoint's signature is "
                "verified before the report is checked against it",
                hint="pass the log agency's public *.jwks.json",
            )
        note = _read_note(args.checkpoint)
        keys = _signing_keys(args.checkpoint_key, "the checkpoint")
    elif args.checkpoint_key is not None:
        raise UsageError("--checkpoint-key goes with --checkpoint FILE (the checkpoint you hold)")
    with _open_log(args) as log:
        held: Checkpoint | None = None
        if note is not None:
            verifier = _log_verifier(note, log.origin, keys, option="--checkpoint-key")
            held = verify_checkpoint(note, verifier)
        report = build_report(
            log,
            since=args.since,
            until=args.until,
            max_denied=args.max_denied,
            now=resolve_now(None),
            checkpoint=held,
        )
    if args.json:
        # Not sorted: the keys are in reading order, denials first.
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.to_text())
    return 0
