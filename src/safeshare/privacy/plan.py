"""Disclosure plans: what a purpose lets a record disclose, field by field.

:func:`plan_for` decides, for a record schema (:mod:`safeshare.privacy.schema`)
and the purpose of an envelope, the action for every field (disclose,
withhold, pseudonymize, generalize) and records the rule that decided it
(``specs/safeshare-v1.md`` section 12.4). :meth:`DisclosurePlan.explain` shows
the plan to people, :meth:`DisclosurePlan.as_json` to scripts, and
:meth:`DisclosurePlan.apply` turns one record into a :class:`Minimized`
record ready to seal.

Contract for the sealer (``safeshare.envelope.seal``)
-----------------------------------------------------

::

    plan = plan_for(SubscriberInformation, purpose)            # the envelope's purpose
    minimized = plan.apply(record, pseudonymize=lambda v: secret.pseudonym(
        v, issuer=sender.agency, recipient=recipient, case_ref=case_ref))
    payload, disclosures = minimized.conceal(randbytes=os.urandom)
    # payload is the concealed record: the `record` claim of the signed claims
    # (specs/safeshare-v1.md section 5.3); send only `disclosures` with the JWT.

1. ``minimized.record`` holds the *whole* record as JSON values: disclosed
   values as they are, pseudonymized values replaced by pseudonyms,
   generalized values replaced by the coarser value, and withheld values
   **as they are**. It must never be sent or logged as such.
2. ``minimized.sd`` is the :data:`~safeshare._jose.sdjwt.SdSpec` to pass to
   :func:`~safeshare._jose.sdjwt.conceal`: every member is selectively
   disclosable, nested records recursively (``Sd(inner={...})``), lists as
   one member.
3. Of the disclosures ``conceal`` returns, the sealer sends only those that
   :meth:`Minimized.select_disclosures` keeps: it drops the disclosure of
   every withheld path (and anything nested in one). A withheld value then
   exists only as the salted SHA-256 digest of its dropped disclosure in
   ``_sd`` (RFC 9901 section 4.2.4.1, 4.2.1): the recipient cannot tell it
   from a decoy (section 4.2.5, 10.4), let alone learn its name or value
   (section 9.3, 9.6). :meth:`Minimized.conceal` does steps 2 and 3 in one call.
4. ``minimized.subjects`` are ``(kind, raw identifier)`` pairs of every
   subject-identifier field present, whatever its action: the sender's own
   blind index input; never sent.
5. ``minimized.pseudonymized`` are ``(path, original JSON value, pseudonym)``
   triples for the originator's pseudonym vault (``PseudonymVault.record(...,
   path=".".join(path))`` for each, before the envelope leaves); never sent.
6. Pseudonyms are per domain (issuer, recipient, case): an envelope to
   several recipients needs one :meth:`DisclosurePlan.apply` per recipient
   when the plan pseudonymizes anything (:attr:`DisclosurePlan.pseudonymizes`).
7. :attr:`DisclosurePlan.special_categories_disclosed` lists the special
   categories of the fields that are not withheld: the envelope's handling
   conditions must list them (``HandlingConditions.for_special_categories``).

Security properties: a withheld value appears in no plaintext that leaves
the sender (only in a dropped disclosure, reachable from the payload by a
salted digest alone); a pseudonymized or generalized original appears
nowhere in ``minimized.record``; no error message quotes a record value
(validation problems name the field and the kind of problem only).

Errors: an unknown purpose, a schema that is not a planned record schema,
or ``pseudonymize`` needed but not given raise
:class:`~safeshare.errors.UsageError`; a record that does not match the
schema (every problem listed) or a value that cannot be generalized raises
:class:`~safeshare.errors.MalformedInputError`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from safeshare._jose import sdjwt
from safeshare.errors import MalformedInputError, SafeShareError, UsageError
from safeshare.privacy.generalize import Generalization
from safeshare.privacy.schema import (
    ACTIONS,
    Action,
    RecordSchema,
    SchemaField,
    SubjectKind,
    nested_paths,
    schema_fields,
)
from safeshare.purpose.conditions import SpecialCategory
from safeshare.purpose.vocabulary import DataCategory, Vocabulary, load_default

__all__ = [
    "DisclosurePlan",
    "FieldDecision",
    "Minimized",
    "Path",
    "plan_for",
]

Path = tuple[str, ...]
"""Field names from the record's top level, e.g. ``("address", "city")``."""

#: Most validation problems listed in one error message.
_MAX_PROBLEMS: Final = 20
#: The separator between the name and the date of birth of a ``name_dob`` identifier.
NAME_DOB_SEPARATOR: Final = "|"


@dataclass(frozen=True, slots=True)
class FieldDecision:
    """What the plan does with one field, and why."""

    path: Path
    action: Action
    #: The generalization's label (``"year"``, ``"ipv4/24,ipv6/48"``) when the action is generalize.
    generalization: str | None
    category: DataCategory
    special_categories: tuple[SpecialCategory, ...]
    #: The rule that decided it, in words.
    rule: str
    #: The subject-identifier kind of the field, if it is one.
    subject: SubjectKind | None

    @property
    def field(self) -> str:
        """The path as dotted text (``last_known_address.city``)."""
        return ".".join(self.path)

    @property
    def shown_action(self) -> str:
        """``generalize (year)`` or the action alone."""
        return f"{self.action} ({self.generalization})" if self.generalization else self.action

    def to_json(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "field": self.field,
            "action": self.action,
            "generalization": self.generalization,
            "category": self.category,
            "special_categories": list(self.special_categories),
            "subject": self.subject,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class DisclosurePlan:
    """The decisions of one schema for one purpose (see :func:`plan_for`)."""

    schema_id: str
    title: str
    purpose: str
    decisions: tuple[FieldDecision, ...]
    schema: type[RecordSchema] = field(repr=False, compare=False)
    _generalizers: Mapping[Path, Generalization] = field(repr=False, compare=False)

    # -- questions -----------------------------------------------------------------

    def decision(self, path: Path | str) -> FieldDecision:
        """The decision for *path* (a tuple or dotted text); :class:`UsageError` if none."""
        wanted = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        for decision in self.decisions:
            if decision.path == wanted:
                return decision
        raise UsageError(f"the schema {self.schema_id} has no field {'.'.join(wanted)!r}")

    def paths(self, action: Action) -> tuple[Path, ...]:
        """The paths whose action is *action*, in schema order."""
        if action not in ACTIONS:
            raise UsageError(f"unknown action {action!r}; use one of: {', '.join(ACTIONS)}")
        return tuple(d.path for d in self.decisions if d.action == action)

    @property
    def pseudonymizes(self) -> bool:
        """Whether any field is pseudonymized (then :meth:`apply` needs ``pseudonymize``)."""
        return any(d.action == "pseudonymize" for d in self.decisions)

    @property
    def special_categories_disclosed(self) -> tuple[SpecialCategory, ...]:
        """Special categories of the fields that are not withheld, each once, in schema order."""
        seen: dict[SpecialCategory, None] = {}
        for decision in self.decisions:
            if decision.action != "withhold":
                seen.update(dict.fromkeys(decision.special_categories))
        return tuple(seen)

    def summary(self) -> dict[str, int]:
        """How many fields get each action."""
        return {a: sum(1 for d in self.decisions if d.action == a) for a in ACTIONS}

    # -- presentation --------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        """The plan as JSON values (for ``--json``)."""
        return {
            "schema_id": self.schema_id,
            "title": self.title,
            "purpose": self.purpose,
            "decisions": [d.to_json() for d in self.decisions],
            "summary": self.summary(),
            "special_categories_disclosed": list(self.special_categories_disclosed),
        }

    def explain(self) -> str:
        """The plan as an aligned table for people: field, action, category, rule."""
        header = ("FIELD", "ACTION", "CATEGORY", "SPECIAL", "SUBJECT", "RULE")
        rows = [
            (
                d.field,
                d.shown_action,
                d.category,
                ",".join(d.special_categories) or "-",
                d.subject or "-",
                d.rule,
            )
            for d in self.decisions
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
        lines = [
            f"Disclosure plan for {self.schema_id} ({self.title}), purpose {self.purpose}",
            "",
        ]
        for row in (header, *rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        counts = self.summary()
        lines.append("")
        lines.append(
            ", ".join(f"{counts[a]} {_PAST[a]}" for a in ACTIONS)
            + " (withheld fields stay undisclosed SD-JWT digests)"
        )
        if self.special_categories_disclosed:
            lines.append(
                "special categories not withheld: "
                + ", ".join(self.special_categories_disclosed)
                + " (the handling conditions must list them)"
            )
        return "\n".join(lines)

    # -- application ---------------------------------------------------------------

    def apply(
        self,
        record: Mapping[str, Any] | RecordSchema,
        *,
        pseudonymize: Callable[[Any], str] | None = None,
    ) -> Minimized:
        """Minimize one *record* (a mapping, validated against the schema, or an instance).

        *pseudonymize* takes a field's JSON value (each element of a list on
        its own) and returns its pseudonym; it is required when a
        pseudonymized field has a value. See the module documentation for
        what the result holds and how the sealer uses it.
        """
        instance = self._validate(record)
        data: dict[str, Any] = instance.model_dump(mode="json")
        withheld: set[Path] = set()
        subjects: list[tuple[str, str]] = []
        pseudonymized: list[tuple[Path, Any, str]] = []
        generalizers = self._generalizers
        fields = {f.path: f for f in schema_fields(self.schema)}
        name_dob: dict[Path, dict[str, Any]] = {}
        for decision in self.decisions:
            path = decision.path
            parent = _parent(data, path)
            if parent is None:  # inside a nested record that is absent (null)
                continue
            name = path[-1]
            value = parent[name]
            spec = fields[path]
            if decision.subject is not None and value is not None:
                if decision.subject == "name_dob":
                    name_dob.setdefault(path[:-1], {})[spec.kind] = value
                else:
                    items = value if spec.many else [value]
                    subjects.extend((decision.subject, str(item)) for item in items)
            if decision.action == "withhold":
                withheld.add(path)
            elif value is None:
                continue
            elif decision.action == "pseudonymize":
                parent[name] = self._pseudonymize(
                    decision, value, spec.many, pseudonymize, pseudonymized
                )
            elif decision.action == "generalize":
                typed = _typed_value(instance, path)
                parent[name] = _generalize(decision, generalizers[path], typed, spec.many)
        for parts in name_dob.values():
            if "text" in parts and "date" in parts:
                subjects.append(("name_dob", f"{parts['text']}{NAME_DOB_SEPARATOR}{parts['date']}"))
        return Minimized(
            plan=self,
            record=data,
            withheld=frozenset(withheld),
            sd=_sd_spec(data, (), nested_paths(self.schema)),
            subjects=tuple(subjects),
            pseudonymized=tuple(pseudonymized),
        )

    def _validate(self, record: Mapping[str, Any] | RecordSchema) -> RecordSchema:
        if isinstance(record, BaseModel):
            if type(record) is not self.schema:
                raise UsageError(
                    f"the record is a {type(record).__name__}, but the plan is for "
                    f"{self.schema.__name__} ({self.schema_id})"
                )
            return record
        if not isinstance(record, Mapping):
            raise MalformedInputError(
                f"a {self.schema_id} record must be a JSON object, not {type(record).__name__}"
            )
        try:
            return self.schema.model_validate(dict(record))
        except ValidationError as exc:
            raise MalformedInputError(
                f"the record does not match the schema {self.schema_id}: "
                + _problems(exc, self.schema_id),
                hint=f"see 'safeshare minimize --schema {self.schema_id} --explain' for its fields",
            ) from None

    @staticmethod
    def _pseudonymize(
        decision: FieldDecision,
        value: Any,
        many: bool,
        pseudonymize: Callable[[Any], str] | None,
        out: list[tuple[Path, Any, str]],
    ) -> Any:
        if pseudonymize is None:
            raise UsageError(
                f"the field {decision.field} is pseudonymized for the purpose, but no "
                "pseudonymize function was given",
                hint="pass pseudonymize=lambda v: secret.pseudonym(v, issuer=..., "
                "recipient=..., case_ref=...) with the agency's privacy secret",
            )

        def one(item: Any) -> str:
            try:
                pseudonym = pseudonymize(item)
            except UsageError as exc:
                if decision.field in exc.message:
                    raise  # it names the field already
                raise UsageError(
                    f"the field {decision.field} cannot be pseudonymized: {exc.message}",
                    hint=exc.hint,
                ) from None
            if not isinstance(pseudonym, str) or not pseudonym:
                raise UsageError(
                    f"the pseudonymize function returned {type(pseudonym).__name__} for "
                    f"{decision.field}; it must return a non-empty string"
                )
            out.append((decision.path, item, pseudonym))
            return pseudonym

        return [one(item) for item in value] if many else one(value)


_PAST: Final[Mapping[str, str]] = {
    "disclose": "disclosed",
    "withhold": "withheld",
    "pseudonymize": "pseudonymized",
    "generalize": "generalized",
}


@dataclass(frozen=True)
class Minimized:
    """One record minimized by a plan, ready for the sealer (see the module documentation).

    ``record`` still holds the withheld values (they become undisclosed
    digests); treat it as confidential, and do not change it.
    """

    plan: DisclosurePlan
    #: The whole record as JSON values; withheld values as they are.
    record: dict[str, Any]
    #: Paths of withheld fields present in the record.
    withheld: frozenset[Path]
    #: What to pass to ``sdjwt.conceal(record, sd=...)``.
    sd: sdjwt.SdSpec
    #: ``(kind, raw identifier)`` of every subject-identifier value present (never sent).
    subjects: tuple[tuple[str, str], ...]
    #: ``(path, original JSON value, pseudonym)`` of every pseudonym made (never sent).
    pseudonymized: tuple[tuple[Path, Any, str], ...]

    def disclosed(self) -> dict[str, Any]:
        """What the recipient sees: :attr:`record` without the withheld members (a copy)."""
        out = copy.deepcopy(self.record)
        for path in self.withheld:
            parent = _parent(out, path)
            if parent is not None:
                parent.pop(path[-1], None)
        return out

    def select_disclosures(
        self, payload: Mapping[str, Any], disclosures: Sequence[sdjwt.Disclosure]
    ) -> list[sdjwt.Disclosure]:
        """The *disclosures* to send: all but those of withheld paths and what is inside them.

        *payload* and *disclosures* are what ``sdjwt.conceal(self.record,
        sd=self.sd, ...)`` returned. Each disclosure is placed by walking the
        payload from its digests; a disclosure that no kept digest reaches
        (a withheld one, or one nested in it) is dropped. Order is kept.
        """
        by_digest = {d.digest: d for d in disclosures}
        kept: set[str] = set()

        def walk(value: Any, path: Path) -> None:
            if isinstance(value, Mapping):
                for name, item in value.items():
                    if name != "_sd":
                        walk(item, (*path, name))
                for digest in value.get("_sd", ()):
                    disclosure = by_digest.get(digest)
                    if disclosure is None or disclosure.name is None:
                        continue  # a decoy
                    where = (*path, disclosure.name)
                    if where in self.withheld:
                        continue
                    kept.add(digest)
                    walk(disclosure.value, where)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, Mapping) and set(item) == {"..."}:
                        disclosure = by_digest.get(item["..."])
                        if disclosure is not None:
                            kept.add(disclosure.digest)
                            walk(disclosure.value, path)
                    else:
                        walk(item, path)

        walk(payload, ())
        return [d for d in disclosures if d.digest in kept]

    def conceal(
        self, *, randbytes: Callable[[int], bytes], decoys: int = sdjwt.DEFAULT_DECOYS
    ) -> tuple[dict[str, Any], list[sdjwt.Disclosure]]:
        """``(payload, disclosures to send)``: :func:`sdjwt.conceal` then :meth:`select_disclosures`."""
        payload, disclosures = sdjwt.conceal(
            self.record, randbytes=randbytes, decoys=decoys, sd=self.sd
        )
        return payload, self.select_disclosures(payload, disclosures)


# -- planning --------------------------------------------------------------------------


def plan_for(
    schema: type[RecordSchema], purpose: str, *, vocabulary: Vocabulary | None = None
) -> DisclosurePlan:
    """The disclosure plan of *schema* for *purpose* (rule order: ``specs/safeshare-v1.md`` 12.4).

    For every field: the rule listed for *purpose*, else the field's
    default; a ``generalize`` rule on free text becomes ``withhold``.
    *purpose* and every purpose code the schema lists must be in
    *vocabulary* (default: the shipped one), else :class:`UsageError`
    (listing the known purposes).
    """
    if not (isinstance(schema, type) and issubclass(schema, RecordSchema)):
        raise UsageError(
            f"plan_for takes a RecordSchema subclass, not {getattr(schema, '__name__', schema)!r}"
        )
    schema_id = schema.schema_id
    if not schema_id:
        raise UsageError(
            f"{schema.__name__} has no schema_id: only a whole record schema can be planned",
            hint="set schema_id: ClassVar[str] = '...' and title: ClassVar[str] = '...'",
        )
    vocab = load_default() if vocabulary is None else vocabulary
    known = ", ".join(sorted(p.code for p in vocab.purposes))
    if not isinstance(purpose, str) or not vocab.has_purpose(purpose):
        shown = purpose[:64] if isinstance(purpose, str) else type(purpose).__name__
        raise UsageError(f"unknown purpose {shown!r}", hint=f"known purposes: {known}")
    fields = schema_fields(schema)
    for f in fields:
        for code in f.spec.purposes:
            if not vocab.has_purpose(code):
                raise UsageError(
                    f"{f.qualname}: unknown purpose {code!r} in purposes",
                    hint=f"known purposes: {known}",
                )
    decisions: list[FieldDecision] = []
    generalizers: dict[Path, Generalization] = {}
    for f in fields:
        decision, generalizer = _decide(f, purpose)
        decisions.append(decision)
        if generalizer is not None:
            generalizers[f.path] = generalizer
    return DisclosurePlan(
        schema_id=schema_id,
        title=schema.title or schema_id,
        purpose=purpose,
        decisions=tuple(decisions),
        schema=schema,
        _generalizers=MappingProxyType(generalizers),
    )


def _decide(f: SchemaField, purpose: str) -> tuple[FieldDecision, Generalization | None]:
    spec = f.spec
    rule, listed = spec.rule_for(purpose)
    origin = f"purpose {purpose!r} ->" if listed else "default for unlisted purposes:"
    generalizer: Generalization | None = None
    if isinstance(rule, Generalization):
        action: Action = "generalize"
        generalizer = rule
    else:
        action = rule
        if action == "generalize":
            generalizer = spec.generalize
    if action == "generalize" and generalizer is None:
        # Only free text gets here (the schema check refuses it anywhere else).
        text = f"{f.qualname}: free text cannot be generalized: withheld ({origin} generalize)"
        action = "withhold"
    else:
        label = f" ({generalizer.label})" if generalizer is not None else ""
        text = f"{f.qualname}: {origin} {action}{label}"
    decision = FieldDecision(
        path=f.path,
        action=action,
        generalization=generalizer.label if generalizer is not None else None,
        category=spec.category,
        special_categories=spec.special_categories,
        rule=text,
        subject=spec.subject,
    )
    return decision, generalizer


# -- helpers ---------------------------------------------------------------------------


def _parent(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The object that holds the member *path*, or None if a nested record on the way is null."""
    node: Any = data
    for name in path[:-1]:
        node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, dict) else None


def _typed_value(instance: BaseModel, path: Path) -> Any:
    node: Any = instance
    for name in path:
        node = getattr(node, name)
    return node


def _generalize(
    decision: FieldDecision, generalization: Generalization, value: Any, many: bool
) -> Any:
    try:
        if many:
            return [generalization.apply(item) for item in value]
        return generalization.apply(value)
    except SafeShareError as exc:
        raise MalformedInputError(
            f"{decision.field}: cannot generalize to {generalization.label}: {exc.message}"
        ) from None


def _sd_spec(obj: dict[str, Any], prefix: Path, nested: frozenset[Path]) -> dict[str, Any]:
    """Every member selectively disclosable; nested records as ``Sd(inner=...)``."""
    spec: dict[str, Any] = {}
    for name, value in obj.items():
        path = (*prefix, name)
        if path in nested and isinstance(value, dict):
            spec[name] = sdjwt.Sd(inner=_sd_spec(value, path, nested))
        else:
            spec[name] = True
    return spec


#: Pydantic error types whose message is written by a schema's own validator (may quote values).
_CUSTOM_ERRORS: Final = frozenset({"value_error", "assertion_error"})


def _problems(exc: ValidationError, schema_id: str) -> str:
    """Every validation problem as ``path: message``, never quoting a value."""
    problems: list[str] = []
    for err in exc.errors(include_url=False, include_context=False):
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{str(part)[:64]}" for part in err["loc"]
        ).lstrip(".")
        message = str(err["msg"])
        value = err.get("input")
        if err["type"] in _CUSTOM_ERRORS:
            message = "the value is refused by the schema's validator"
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            shown = str(value)
            if shown and shown in message:
                message = f"the value is not valid ({err['type']})"
        problems.append(f"{where or schema_id}: {message}")
    more = len(problems) - _MAX_PROBLEMS
    text = "; ".join(problems[:_MAX_PROBLEMS])
    return text + (f" (and {more} more)" if more > 0 else "")
