"""``safeshare minimize``: the disclosure plan of a record schema, and minimized records.

* ``minimize --list-schemas`` lists the shipped record schemas
  (:data:`safeshare.privacy.schemas.SCHEMAS`);
* ``minimize --schema NAME --purpose CODE --explain`` prints the disclosure
  plan: for every field the action (disclose, withhold, pseudonymize,
  generalize) and the rule that decided it
  (:meth:`safeshare.privacy.plan.DisclosurePlan.explain`);
* ``minimize --schema NAME --purpose CODE --record FILE`` prints what a
  recipient would see of the record: disclosed values, pseudonyms and
  generalized values; withheld fields are only named (they stay undisclosed
  digests in an envelope). Nothing is sealed or sent.

``NAME`` is a shipped ``schema_id`` or ``package.module:ClassName`` for an
agency's own schema (importable from ``PYTHONPATH``). Pseudonyms are keyed
with the agency's privacy secret for one issuer, recipient and case: a plan
that pseudonymizes a field present in the record needs ``--key KEYFILE``
(its passphrase as for ``seal``), ``--recipient ID`` and ``--case-ref REF``;
``--issuer`` defaults to the key file's agency. Records whose plan only
discloses, withholds and generalizes need none of them.

Output never includes a withheld value, the original of a pseudonymized or
generalized value, or the subject identifiers of the record. ``--json``
prints the same as JSON. Errors are one line on stderr (exit 1).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from safeshare._internal import strictjson
from safeshare.cli._argtypes import agency_id
from safeshare.cli._common import (
    add_passphrase_option,
    print_json,
    printable,
    read_passphrase,
    read_source,
    say,
)
from safeshare.envelope import MAX_ENVELOPE_BYTES
from safeshare.errors import MalformedInputError, UsageError
from safeshare.keys import AgencyKeySet
from safeshare.privacy.plan import DisclosurePlan, Minimized, plan_for
from safeshare.privacy.schemas import SCHEMAS, schema_by_name
from safeshare.privacy.secret import PrivacySecret

if TYPE_CHECKING:
    from safeshare.cli._common import Subparsers

__all__ = ["MAX_RECORD_BYTES", "register"]

#: Largest record file accepted (a record must fit in an envelope).
MAX_RECORD_BYTES: Final = MAX_ENVELOPE_BYTES
_MAX_CASE_REF: Final = 128


def _case_ref(text: str) -> str:
    if not 1 <= len(text) <= _MAX_CASE_REF or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r} is not a case reference: use 1 to {_MAX_CASE_REF} printable characters"
        )
    return text


def register(subparsers: Subparsers) -> None:
    """Add the ``minimize`` command."""
    p = subparsers.add_parser(
        "minimize",
        help="show what a purpose discloses of a record (disclosure plan, minimized record)",
        description=(
            "Privacy minimization of records. With --explain, print the disclosure plan of "
            "--schema for --purpose: each field's action (disclose, withhold, pseudonymize, "
            "generalize) and the rule that decided it. With --record FILE, print what a "
            "recipient would see of that record ('-': stdin). --list-schemas lists the "
            "shipped schemas. Withheld values are never printed."
        ),
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list-schemas", action="store_true", help="list the shipped record schemas")
    mode.add_argument(
        "--explain", action="store_true", help="print the disclosure plan of --schema for --purpose"
    )
    mode.add_argument(
        "--record",
        metavar="FILE",
        help="minimize this record (a JSON object; '-': stdin) and print what is disclosed",
    )
    p.add_argument(
        "--schema",
        metavar="NAME",
        help="a shipped schema id (see --list-schemas) or package.module:ClassName",
    )
    p.add_argument("--purpose", metavar="CODE", help="the envelope's purpose, e.g. locate_suspect")
    p.add_argument(
        "--key",
        "--key-file",
        dest="key",
        metavar="KEYFILE",
        type=Path,
        help="our agency's key file, for pseudonyms (its privacy secret)",
    )
    add_passphrase_option(p)
    p.add_argument(
        "--recipient",
        metavar="ID",
        type=agency_id,
        help="the recipient agency (pseudonyms differ per recipient)",
    )
    p.add_argument(
        "--case-ref",
        metavar="REF",
        type=_case_ref,
        help="the case reference (pseudonyms differ per case)",
    )
    p.add_argument(
        "--issuer",
        metavar="ID",
        type=agency_id,
        help="the issuing agency (default: the agency of --key)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_minimize)


def _minimize(args: argparse.Namespace) -> int:
    if args.list_schemas:
        return _list_schemas(json_output=args.json)
    missing = [
        opt
        for opt, value in (("--schema", args.schema), ("--purpose", args.purpose))
        if value is None
    ]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} needed with "
            f"{'--explain' if args.explain else '--record'}",
            hint="for example: safeshare minimize --schema person_of_interest "
            "--purpose locate_suspect --explain",
        )
    plan = plan_for(schema_by_name(args.schema), args.purpose)
    if args.explain:
        if args.json:
            print_json(plan.as_json())
        else:
            for line in plan.explain().splitlines():
                say(printable(line))
        return 0
    record = _read_record(args.record)
    minimized = plan.apply(record, pseudonymize=_pseudonymizer(args, plan))
    _print_minimized(minimized, json_output=args.json)
    return 0


def _list_schemas(*, json_output: bool) -> int:
    rows = [
        {
            "schema_id": schema_id,
            "title": schema.title or schema_id,
            "class": f"{schema.__module__}:{schema.__qualname__}",
        }
        for schema_id, schema in sorted(SCHEMAS.items())
    ]
    if json_output:
        print_json({"schemas": rows})
        return 0
    width = max(len(r["schema_id"]) for r in rows)
    title_width = max(len(r["title"]) for r in rows)
    for row in rows:
        say(f"{row['schema_id'].ljust(width)}  {row['title'].ljust(title_width)}  {row['class']}")
    return 0


def _read_record(source: str) -> dict[str, Any]:
    data, where = read_source(source, what="record", max_bytes=MAX_RECORD_BYTES)
    record = strictjson.loads(data, what=f"the record {where}", max_bytes=MAX_RECORD_BYTES)
    if not isinstance(record, dict):
        raise MalformedInputError(
            f"the record {where} is not a JSON object",
            hint='write the record as {"field": value, ...}',
        )
    return record


def _pseudonymizer(args: argparse.Namespace, plan: DisclosurePlan) -> Callable[[Any], str] | None:
    """The pseudonym function of the plan (None if it makes no pseudonyms).

    Without ``--key`` it refuses when first used, so that a record whose
    pseudonymized fields are all empty is minimized without a key.
    """
    if not plan.pseudonymizes:
        return None
    fields = ", ".join(".".join(path) for path in plan.paths("pseudonymize"))
    if args.key is None:

        def refuse(value: Any) -> str:
            raise UsageError(
                f"the plan for {plan.purpose} pseudonymizes {fields}; pseudonyms are keyed with "
                "the agency's privacy secret",
                hint="give --key KEYFILE (and its passphrase, as for 'safeshare seal') with "
                "--recipient ID and --case-ref REF",
            )

        return refuse
    missing = [
        opt
        for opt, value in (("--recipient", args.recipient), ("--case-ref", args.case_ref))
        if value is None
    ]
    if missing:
        raise UsageError(
            f"the plan for {plan.purpose} pseudonymizes {fields}, and pseudonyms are made for one "
            f"recipient and case: give {' and '.join(missing)}"
        )
    passphrase = read_passphrase(args.passphrase_file, purpose=f"key file {args.key}", new=False)
    keyset = AgencyKeySet.load(args.key, passphrase)
    secret = _privacy_secret(keyset, args.key)
    issuer: str = args.issuer or keyset.agency
    if issuer != keyset.agency:
        raise UsageError(
            f"--issuer {issuer} is not the agency of the key file ({keyset.agency}); pseudonyms "
            "are made by the issuing agency with its own secret",
            hint="leave out --issuer, or use that agency's key file",
        )
    recipient: str = args.recipient
    case_ref: str = args.case_ref

    def pseudonymize(value: Any) -> str:
        return secret.pseudonym(value, issuer=issuer, recipient=recipient, case_ref=case_ref)

    return pseudonymize


def _privacy_secret(keyset: AgencyKeySet, path: Path) -> PrivacySecret:
    """The key set's privacy secret; :class:`UsageError` if the key file carries none."""
    if not keyset.has_privacy_secret:
        raise UsageError(
            f"the key file {path} holds no privacy secret, which pseudonyms need",
            hint=f"add one with 'safeshare keygen --privacy {path}', or use a purpose whose plan "
            "pseudonymizes nothing",
        )
    return keyset.privacy_secret


def _print_minimized(minimized: Minimized, *, json_output: bool) -> None:
    plan = minimized.plan
    disclosed = minimized.disclosed()
    withheld = [".".join(p) for p in plan.paths("withhold")]
    pseudonymized = [".".join(p) for p in plan.paths("pseudonymize")]
    generalized = [
        {"field": d.field, "generalization": d.generalization}
        for d in plan.decisions
        if d.action == "generalize"
    ]
    if json_output:
        print_json(
            {
                "schema_id": plan.schema_id,
                "purpose": plan.purpose,
                "disclosed": disclosed,
                "withheld": withheld,
                "pseudonymized": pseudonymized,
                "generalized": generalized,
                "special_categories_disclosed": list(plan.special_categories_disclosed),
            }
        )
        return
    say(f"What a recipient sees of this {plan.schema_id} record for the purpose {plan.purpose}:")
    for line in json.dumps(disclosed, sort_keys=True, indent=2).splitlines():
        say(line)
    say(f"withheld (undisclosed digests): {', '.join(withheld) or 'none'}")
    say(f"pseudonymized: {', '.join(pseudonymized) or 'none'}")
    shown = [f"{g['field']} ({g['generalization']})" for g in generalized]
    say(f"generalized: {', '.join(shown) or 'none'}")
    if plan.special_categories_disclosed:
        say(
            "special categories disclosed: "
            + ", ".join(plan.special_categories_disclosed)
            + " (the envelope's handling conditions must list them)"
        )
