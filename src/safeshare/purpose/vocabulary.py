"""Purposes, legal bases and legal instruments, as data that users can extend.

A transfer states *why* it is made (``purpose``) and *under which legal basis*
(``legal_basis``) in its signed claims (``specs/safeshare-v1.md`` section 5.3). Both
are codes from a vocabulary:

* an :class:`Instrument` is a treaty or law (``BUDAPEST-2AP``, ``UNTOC``, a
  bilateral MLA treaty, a domestic code); its code is what agencies list in
  ``Safeguards.accepted_instruments`` in the registry;
* a :class:`Purpose` is what the data may be used for (``criminal_investigation``),
  with the few other purposes an opened envelope may *also* be used for without
  the originator's consent (``compatible_with``: the speciality rule of UNTOC
  Art. 18(19) allows no other use, so this list is kept tight) and the
  instruments under which it may be pursued;
* a :class:`LegalBasis` is one article of an instrument (``BUDAPEST-2AP.Art7``),
  with the purposes, message types and data categories it provides for, and
  whether its article number was verified against the official text.

The default vocabulary ships as data (``safeshare/data/purposes.json`` and
``safeshare/data/legal_bases.json``) and is loaded with :func:`load_default`.
Users extend it with their own file in the same format (:class:`VocabularyFile`,
JSON Schema in ``specs/schemas/vocabulary-file.schema.json``) through
:func:`load` and :func:`merge`: an extension may add instruments, purposes and
legal bases, and may let existing purposes be pursued under its new
instruments (``purpose_instruments``); it can never redefine an existing entry
(that raises :class:`~safeshare.errors.UsageError`). ``specs/safeshare-v1.md``
section 8 describes the contents and the rules.

Errors: looking up an unknown code while authoring raises
:class:`~safeshare.errors.UsageError`; :meth:`Vocabulary.require_purpose_allowed`,
the check made on data received from another agency, raises
:class:`~safeshare.errors.PolicyError`; a file that is not valid JSON or does
not match the schema raises :class:`~safeshare.errors.MalformedInputError`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from safeshare._internal import strictjson
from safeshare.errors import MalformedInputError, PolicyError, UsageError

__all__ = [
    "DATA_CATEGORIES",
    "FOLLOW_UP_MESSAGE_TYPES",
    "VOCABULARY_FORMAT",
    "DataCategory",
    "Instrument",
    "LegalBasis",
    "Procedure",
    "Purpose",
    "PurposeInstruments",
    "Vocabulary",
    "VocabularyFile",
    "describe",
    "load",
    "load_default",
    "merge",
    "parse",
]

#: Value of the ``format`` member of every vocabulary file.
VOCABULARY_FORMAT: Final = "safeshare-vocabulary/v1"
#: Largest vocabulary file accepted.
MAX_VOCABULARY_BYTES: Final = 4 * 1024 * 1024
#: The shipped files, in the package ``safeshare.data``.
DEFAULT_FILES: Final = ("legal_bases.json", "purposes.json")

_STRICT: Final = ConfigDict(extra="forbid", frozen=True)

PurposeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
"""A purpose code: the pattern of the ``purpose`` claim (``specs/safeshare-v1.md`` section 5.3)."""
LegalBasisCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:()-]{0,127}$")]
"""A legal-basis code: the pattern of the ``legal_basis`` claim, e.g. ``UNTOC.Art18``."""
InstrumentCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,63}$")]
"""An instrument code: the pattern of ``Safeguards.accepted_instruments`` in the registry."""
MessageTypeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=4000)]

DataCategory = Literal["subscriber", "identification_only", "traffic", "content"]
"""Categories of electronic data, as distinguished by Regulation (EU) 2023/1543 (Art. 3).

``subscriber``: who holds an account or service (name, address, contact
details, means of payment); ``identification_only``: data requested for the
sole purpose of identifying the user (e.g. an IP address with the time and
port of a connection); ``traffic``: data about communications (source,
destination, time, duration, location); ``content``: the communications or
stored data themselves.
"""
DATA_CATEGORIES: Final[tuple[DataCategory, ...]] = (
    "subscriber",
    "identification_only",
    "traffic",
    "content",
)

Procedure = Literal[
    "mutual_legal_assistance",
    "expedited_measure",
    "contact_point",
    "direct_request_to_provider",
    "order_enforcement",
    "emergency_disclosure",
    "spontaneous_information",
    "police_cooperation",
    "data_protection",
]
"""How cooperation under a legal basis works.

``mutual_legal_assistance``: a formal request between central or judicial
authorities (including emergency mutual assistance); ``expedited_measure``:
preservation and expedited disclosure of preserved data; ``contact_point``:
the 24/7 network; ``direct_request_to_provider``: a request or order sent
directly to a service provider or domain-name entity in another Party;
``order_enforcement``: an authority gives effect to another Party's order;
``emergency_disclosure``: expedited disclosure in an emergency;
``spontaneous_information``: information sent without a request;
``police_cooperation``: police-to-police exchange; ``data_protection``: the
data-protection safeguards that follow a transfer (breach and rectification
notices). Content data can only be requested under ``mutual_legal_assistance``
(or, in an emergency, ``emergency_disclosure``).
"""

#: Message types that follow up another message and inherit its purpose, legal
#: basis and case (``specs/safeshare-v1.md`` section 11.3). Every legal basis implicitly provides
#: for them: they belong to the transfer they follow, not to a new one.
FOLLOW_UP_MESSAGE_TYPES: Final = frozenset(
    {
        "receipt",
        "status_update",
        "refusal",
        "cannot_comply_notice",
        "consent_request",
        "consent_grant",
        "consent_refusal",
        "reidentification_request",
    }
)


def _known_message_types() -> frozenset[str]:
    # Imported here, not at module level: ``safeshare.envelope`` imports
    # ``safeshare.purpose``, and this module must stay importable from there.
    from safeshare.envelope._profile import MESSAGE_TYPES  # noqa: PLC0415

    return MESSAGE_TYPES


def _duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for value in values:
        if value in seen and value not in dups:
            dups.append(value)
        seen.add(value)
    return dups


class Instrument(BaseModel):
    """A legal instrument: a treaty, protocol or law that legal bases belong to."""

    model_config = _STRICT

    code: InstrumentCode
    title: Title
    kind: Literal[
        "multilateral_treaty", "bilateral_treaty", "regional_instrument", "domestic_law", "other"
    ]
    reference: Title | None = None
    """Where the official text is published (treaty series number, resolution, gazette)."""
    note: Description | None = None


class Purpose(BaseModel):
    """What transferred data may be used for.

    ``compatible_with`` lists the other purposes an opened envelope may also be
    used for without the originator's consent (one step, never transitively,
    and always within the envelope's case). Anything else needs a consent
    grant (UNTOC Art. 18(19); Second Additional Protocol Art. 14).
    """

    model_config = _STRICT

    code: PurposeCode
    title: Title
    description: Description
    compatible_with: tuple[PurposeCode, ...] = ()
    instruments: tuple[InstrumentCode, ...] = Field(min_length=1)
    """The instruments under which the purpose may be pursued."""
    emergency: bool = False
    """True for purposes that justify emergency procedures (imminent risk to life or safety)."""

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        if self.code in self.compatible_with:
            raise ValueError(f"purpose {self.code!r} lists itself in compatible_with")
        for name, values in (
            ("compatible_with", self.compatible_with),
            ("instruments", self.instruments),
        ):
            if dups := _duplicates(values):
                raise ValueError(f"purpose {self.code!r} lists {dups[0]!r} twice in {name}")
        return self


class LegalBasis(BaseModel):
    """One article (or paragraph) of an instrument that cooperation can rely on.

    ``verified`` says whether the article number was checked against the
    official text (or a faithful reproduction of it); ``note`` says how, or
    why it could not be, and is required when ``verified`` is false.
    """

    model_config = _STRICT

    code: LegalBasisCode
    instrument: InstrumentCode
    article: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    paragraph: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    title: Title
    description: Description | None = None
    procedure: Procedure
    emergency: bool = False
    purposes: tuple[PurposeCode, ...] = Field(min_length=1)
    message_types: tuple[MessageTypeCode, ...] = Field(min_length=1)
    """The message types it provides for, besides :data:`FOLLOW_UP_MESSAGE_TYPES`."""
    data_categories: tuple[DataCategory, ...] = ()
    """The categories of data that may be requested or disclosed under it."""
    verified: bool
    note: Description | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.code.startswith(self.instrument + "."):
            raise ValueError(
                f"legal basis {self.code!r} must start with its instrument code "
                f"{self.instrument + '.'!r}"
            )
        if not self.verified and self.note is None:
            raise ValueError(
                f"legal basis {self.code!r} is not verified: add a note saying what was checked"
            )
        for name, values in (
            ("purposes", self.purposes),
            ("message_types", self.message_types),
            ("data_categories", self.data_categories),
        ):
            if dups := _duplicates(values):
                raise ValueError(f"legal basis {self.code!r} lists {dups[0]!r} twice in {name}")
        return self

    @property
    def citation(self) -> str:
        """``Art. 18(15)`` style text for people."""
        para = f"({self.paragraph})" if self.paragraph else ""
        return f"{self.instrument} Art. {self.article}{para}"


class PurposeInstruments(BaseModel):
    """An extension's addition: *purpose* may also be pursued under *instruments*."""

    model_config = _STRICT

    purpose: PurposeCode
    instruments: tuple[InstrumentCode, ...] = Field(min_length=1)


class VocabularyFile(BaseModel):
    """The format of a vocabulary file (shipped or user extension).

    A file holds any of the sections; references may point to entries of the
    vocabulary it extends. Consistency is checked when files are merged into a
    :class:`Vocabulary`.
    """

    model_config = _STRICT

    format: Literal["safeshare-vocabulary/v1"]
    description: Description | None = None
    instruments: tuple[Instrument, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    legal_bases: tuple[LegalBasis, ...] = ()
    purpose_instruments: tuple[PurposeInstruments, ...] = ()


class Vocabulary(BaseModel):
    """A complete, consistent vocabulary: every reference resolves.

    Build it with :func:`load_default`, :func:`merge` or :meth:`from_files`;
    constructing it directly checks the same rules (a ``ValidationError`` if
    they fail). Entries are kept in the order given.
    """

    model_config = _STRICT

    instruments: tuple[Instrument, ...]
    purposes: tuple[Purpose, ...]
    legal_bases: tuple[LegalBasis, ...]

    _instruments: dict[str, Instrument] = PrivateAttr(default_factory=dict)
    _purposes: dict[str, Purpose] = PrivateAttr(default_factory=dict)
    _legal_bases: dict[str, LegalBasis] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        for kind, codes in (
            ("instrument", [i.code for i in self.instruments]),
            ("purpose", [p.code for p in self.purposes]),
            ("legal basis", [b.code for b in self.legal_bases]),
        ):
            if dups := _duplicates(codes):
                raise ValueError(f"{kind} {dups[0]!r} is defined twice")
        instruments = {i.code for i in self.instruments}
        purposes = {p.code: p for p in self.purposes}
        message_types = _known_message_types()
        for purpose in self.purposes:
            for other in purpose.compatible_with:
                if other not in purposes:
                    raise ValueError(
                        f"purpose {purpose.code!r} is compatible with unknown purpose {other!r}"
                    )
            for code in purpose.instruments:
                if code not in instruments:
                    raise ValueError(f"purpose {purpose.code!r} names unknown instrument {code!r}")
        for basis in self.legal_bases:
            if basis.instrument not in instruments:
                raise ValueError(
                    f"legal basis {basis.code!r} belongs to unknown instrument {basis.instrument!r}"
                )
            for code in basis.purposes:
                if code not in purposes:
                    raise ValueError(f"legal basis {basis.code!r} names unknown purpose {code!r}")
                if basis.instrument not in purposes[code].instruments:
                    raise ValueError(
                        f"legal basis {basis.code!r} provides for purpose {code!r}, but that "
                        f"purpose does not name instrument {basis.instrument!r} "
                        "(add it with purpose_instruments)"
                    )
            for msg_type in basis.message_types:
                if msg_type not in message_types:
                    raise ValueError(
                        f"legal basis {basis.code!r} names unknown message type {msg_type!r}"
                    )
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Index the entries by code."""
        self._instruments = {i.code: i for i in self.instruments}
        self._purposes = {p.code: p for p in self.purposes}
        self._legal_bases = {b.code: b for b in self.legal_bases}

    # -- construction --------------------------------------------------------

    @classmethod
    def from_files(cls, *files: VocabularyFile) -> Vocabulary:
        """One vocabulary from *files*: entries are combined in order, then checked together.

        Files may refer to each other's entries (the shipped vocabulary is split
        in two). A code defined twice with different content is a redefinition
        (:class:`UsageError`).
        """
        if not files:
            raise UsageError("from_files needs at least one vocabulary file")
        return _combine(files)

    def extend(self, extension: VocabularyFile) -> Vocabulary:
        """This vocabulary plus *extension* (see :func:`merge`)."""
        return merge(self, extension)

    def to_file(self) -> VocabularyFile:
        """This vocabulary as one file (for export or inspection)."""
        return VocabularyFile(
            format=VOCABULARY_FORMAT,
            instruments=self.instruments,
            purposes=self.purposes,
            legal_bases=self.legal_bases,
        )

    # -- lookups (authoring: unknown codes are usage errors) ------------------

    def instrument(self, code: str) -> Instrument:
        """The instrument *code*; :class:`UsageError` if it is not in the vocabulary."""
        try:
            return self._instruments[code]
        except KeyError:
            raise UsageError(
                f"unknown instrument {code!r}",
                hint=f"known instruments: {', '.join(sorted(self._instruments))}",
            ) from None

    def purpose(self, code: str) -> Purpose:
        """The purpose *code*; :class:`UsageError` if it is not in the vocabulary."""
        try:
            return self._purposes[code]
        except KeyError:
            raise UsageError(
                f"unknown purpose {code!r}",
                hint=f"known purposes: {', '.join(sorted(self._purposes))}",
            ) from None

    def legal_basis(self, code: str) -> LegalBasis:
        """The legal basis *code*; :class:`UsageError` if it is not in the vocabulary."""
        try:
            return self._legal_bases[code]
        except KeyError:
            raise UsageError(
                f"unknown legal basis {code!r}",
                hint="list them with Vocabulary.legal_bases_for() or see specs/safeshare-v1.md section 8.5",
            ) from None

    def has_instrument(self, code: str) -> bool:
        """Whether *code* is a known instrument."""
        return code in self._instruments

    def has_purpose(self, code: str) -> bool:
        """Whether *code* is a known purpose."""
        return code in self._purposes

    def has_legal_basis(self, code: str) -> bool:
        """Whether *code* is a known legal basis."""
        return code in self._legal_bases

    def legal_bases_for(
        self,
        *,
        purpose: str | None = None,
        message_type: str | None = None,
        data_category: DataCategory | None = None,
    ) -> tuple[LegalBasis, ...]:
        """The legal bases that provide for all of the given purpose, message type and category."""
        return tuple(
            b
            for b in self.legal_bases
            if (purpose is None or purpose in b.purposes)
            and (message_type is None or self._basis_allows(b, message_type))
            and (data_category is None or data_category in b.data_categories)
        )

    def unverified(self) -> tuple[LegalBasis, ...]:
        """The legal bases whose article number has not been verified."""
        return tuple(b for b in self.legal_bases if not b.verified)

    # -- rules ----------------------------------------------------------------

    def compatible_purposes(self, original: str) -> frozenset[str]:
        """*original* and the purposes it is compatible with (no consent needed)."""
        return frozenset((original, *self.purpose(original).compatible_with))

    def is_compatible(self, original: str, new: str) -> bool:
        """Whether data sent for *original* may also be used for *new* without consent.

        True when *new* is *original* or is listed in its ``compatible_with``.
        One step only: compatibility is not transitive. Unknown codes raise
        :class:`UsageError`. Compatibility never moves data to another case.
        """
        self.purpose(new)
        return new in self.compatible_purposes(original)

    def allows_message_type(self, legal_basis: str, message_type: str) -> bool:
        """Whether *legal_basis* provides for *message_type* (follow-ups always)."""
        return self._basis_allows(self.legal_basis(legal_basis), message_type)

    def purpose_allowed(self, purpose: str, legal_basis: str) -> bool:
        """Whether *purpose* may be pursued under *legal_basis* (False for unknown codes)."""
        basis = self._legal_bases.get(legal_basis)
        known = self._purposes.get(purpose)
        return (
            basis is not None
            and known is not None
            and purpose in basis.purposes
            and basis.instrument in known.instruments
        )

    def require_purpose_allowed(self, purpose: str, legal_basis: str) -> None:
        """Raise :class:`PolicyError` unless *purpose* may be pursued under *legal_basis*.

        This is the check for claims received from another agency: an unknown
        purpose or legal basis cannot be enforced, so it is refused too.
        """
        if purpose not in self._purposes:
            raise PolicyError(
                f"the purpose {purpose!r} is not in this agency's vocabulary, so it cannot "
                "be enforced",
                hint="add it with a vocabulary extension if it is legitimate",
            )
        if legal_basis not in self._legal_bases:
            raise PolicyError(
                f"the legal basis {legal_basis!r} is not in this agency's vocabulary",
                hint="add it with a vocabulary extension if it is legitimate",
            )
        if not self.purpose_allowed(purpose, legal_basis):
            basis = self._legal_bases[legal_basis]
            raise PolicyError(
                f"the legal basis {legal_basis} ({basis.title}) does not provide for the "
                f"purpose {purpose!r}",
                hint=f"it provides for: {', '.join(basis.purposes)}",
            )

    @staticmethod
    def _basis_allows(basis: LegalBasis, message_type: str) -> bool:
        return message_type in basis.message_types or message_type in FOLLOW_UP_MESSAGE_TYPES


def _widen(
    purposes: Iterable[Purpose],
    instruments: Iterable[Instrument],
    additions: Iterable[PurposeInstruments],
) -> tuple[Purpose, ...]:
    """Let existing purposes be pursued under more instruments (an addition, never a removal)."""
    purposes = tuple(purposes)
    known_purposes = {p.code for p in purposes}
    known_instruments = {i.code for i in instruments}
    extra: dict[str, list[str]] = {}
    for addition in additions:
        if addition.purpose not in known_purposes:
            raise UsageError(f"purpose_instruments names the unknown purpose {addition.purpose!r}")
        for code in addition.instruments:
            if code not in known_instruments:
                raise UsageError(f"purpose_instruments names the unknown instrument {code!r}")
            extra.setdefault(addition.purpose, []).append(code)
    widened = []
    for purpose in purposes:
        added = [
            c for c in dict.fromkeys(extra.get(purpose.code, ())) if c not in purpose.instruments
        ]
        widened.append(
            purpose.model_copy(update={"instruments": (*purpose.instruments, *added)})
            if added
            else purpose
        )
    return tuple(widened)


def _build(
    instruments: Iterable[Instrument],
    purposes: Iterable[Purpose],
    legal_bases: Iterable[LegalBasis],
    additions: Iterable[PurposeInstruments],
) -> Vocabulary:
    instruments = tuple(instruments)
    try:
        return Vocabulary(
            instruments=instruments,
            purposes=_widen(purposes, instruments, additions),
            legal_bases=tuple(legal_bases),
        )
    except ValidationError as exc:
        raise UsageError(f"inconsistent vocabulary: {_first_error(exc)}") from None


_Entry = TypeVar("_Entry", Instrument, Purpose, LegalBasis)


def _merge_section(
    kind: str, base: tuple[_Entry, ...], added: tuple[_Entry, ...]
) -> tuple[_Entry, ...]:
    known: dict[str, _Entry] = {entry.code: entry for entry in base}
    out = list(base)
    for entry in added:
        existing = known.get(entry.code)
        if existing is None:
            known[entry.code] = entry
            out.append(entry)
        elif existing != entry:
            raise UsageError(
                f"the extension redefines the {kind} {entry.code!r}; an extension may add "
                "entries but never change existing ones",
                hint=f"give the new {kind} its own code",
            )
        # An identical repeat is not a redefinition: loading one extension twice is harmless.
    return tuple(out)


def _combine(files: Iterable[VocabularyFile]) -> Vocabulary:
    instruments: tuple[Instrument, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    legal_bases: tuple[LegalBasis, ...] = ()
    additions: list[PurposeInstruments] = []
    for file in files:
        instruments = _merge_section("instrument", instruments, file.instruments)
        purposes = _merge_section("purpose", purposes, file.purposes)
        legal_bases = _merge_section("legal basis", legal_bases, file.legal_bases)
        additions.extend(file.purpose_instruments)
    return _build(instruments, purposes, legal_bases, additions)


def merge(base: Vocabulary, extension: VocabularyFile) -> Vocabulary:
    """*base* plus the entries of *extension*.

    An extension may add instruments, purposes and legal bases (which may
    refer to entries of *base*) and let existing purposes be pursued under
    more instruments (``purpose_instruments``). An entry whose code already
    exists with different content is a redefinition and raises
    :class:`UsageError`, as does a reference that does not resolve.
    """
    return _combine((base.to_file(), extension))


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where + ': ' if where else ''}{message}{more}"


def parse(data: bytes | str, *, what: str = "vocabulary file") -> VocabularyFile:
    """Parse a vocabulary file strictly; :class:`MalformedInputError` if it is not one."""
    value = strictjson.loads(data, what=what, max_bytes=MAX_VOCABULARY_BYTES)
    try:
        return VocabularyFile.model_validate(value)
    except ValidationError as exc:
        raise MalformedInputError(
            f"{what} does not match the vocabulary format: {_first_error(exc)}",
            hint="see specs/schemas/vocabulary-file.schema.json",
        ) from None


def load(path: str | Path) -> VocabularyFile:
    """Read a vocabulary file (for example a user extension) from *path*."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read vocabulary file {str(path)!r}: {exc.strerror}") from None
    return parse(data, what=f"vocabulary file {Path(path).name!r}")


@functools.cache
def load_default() -> Vocabulary:
    """The vocabulary shipped with safeshare (read once; it is immutable)."""
    package = resources.files("safeshare") / "data"
    return _combine(
        parse((package / name).read_bytes(), what=f"shipped vocabulary file {name!r}")
        for name in DEFAULT_FILES
    )


def describe(vocabulary: Vocabulary) -> Mapping[str, Any]:
    """A JSON-ready summary (codes and titles), e.g. for a CLI listing."""
    return {
        "instruments": {i.code: i.title for i in vocabulary.instruments},
        "purposes": {p.code: p.title for p in vocabulary.purposes},
        "legal_bases": {
            b.code: {"title": b.title, "verified": b.verified} for b in vocabulary.legal_bases
        },
    }
