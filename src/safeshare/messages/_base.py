"""The message base class, shared parts, and the reply rules.

Every message model is a draft: fields whose presence is a completeness rule
are optional, so an incomplete message can be loaded, saved and checked.
:meth:`Message.validate` returns every problem at once; nothing about
completeness raises. Only the *shape* is enforced by the model itself (unknown
members, wrong types), and :func:`safeshare.messages.validate_message` turns
those errors into problems too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from safeshare._internal.clock import resolve_now
from safeshare.errors import MalformedInputError, PolicyError, UsageError
from safeshare.messages._problem import Problem, format_problems
from safeshare.purpose.vocabulary import (
    DataCategory,
    LegalBasis,
    Procedure,
    Vocabulary,
    load_default,
)

if TYPE_CHECKING:
    from safeshare.envelope import OpenedEnvelope

__all__ = [
    "Authority",
    "Contact",
    "DataItem",
    "EnvelopeRef",
    "Message",
    "Person",
    "ReplyContext",
    "inherit",
]

# -- value types ---------------------------------------------------------------

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
LegalBasisCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:()-]{0,127}$")]
CaseRef = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Jti = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22}$")]
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
AgencyId = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}$", max_length=64)
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Short = Annotated[str, StringConstraints(max_length=500)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{3,32}$")]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]
"""A timezone-aware time, normalised to UTC."""

#: The message members that become the envelope's claims, not its record.
CLAIM_FIELDS: Final = ("purpose", "legal_basis", "case_ref")
#: Clock difference tolerated when a reported time lies in the future.
CLOCK_SKEW: Final = timedelta(minutes=5)

_DRAFT = ConfigDict(extra="forbid", frozen=True)

CATEGORY_WORDS: Final[dict[str, str]] = {
    "subscriber": "subscriber data",
    "identification_only": "data requested only to identify a user",
    "traffic": "traffic data",
    "content": "content data",
}

# -- rule citations ------------------------------------------------------------

R_SPECIALITY: Final = "UNTOC Art. 18(19); Second Additional Protocol Art. 14(2)"
R_VOCABULARY: Final = "safeshare vocabulary (specs/safeshare-v1.md section 8)"
R_CASE: Final = "safeshare: every transfer belongs to a case (specs/safeshare-v1.md section 5.3)"
R_REPLY: Final = "safeshare: follow-up messages name the envelope they follow (specs/safeshare-v1.md section 11.3)"
R_INHERIT: Final = (
    "safeshare: follow-up messages inherit purpose and case (specs/safeshare-v1.md section 11.3); "
    "UNTOC Art. 18(19)"
)
R_CONTENT: Final = (
    "content data requires mutual legal assistance (specs/safeshare-v1.md section 11.2)"
)
R_SAFEGUARDS: Final = "Budapest Convention Art. 15 (conditions and safeguards: proportionality)"


def blank(value: str | None) -> bool:
    """Whether a text is absent or only whitespace."""
    return value is None or not value.strip()


def capital(text: str) -> str:
    """*text* with its first letter in upper case."""
    return text[:1].upper() + text[1:]


# -- shared parts ----------------------------------------------------------------


class Part(BaseModel):
    """Base of the parts of a message (strict, immutable)."""

    model_config = _DRAFT


class Contact(Part):
    """How to reach a person or desk."""

    name: Short | None = None
    email: Email | None = None
    phone: Phone | None = None
    available_24_7: bool | None = None

    def reachable(self) -> bool:
        """Whether an e-mail address or a telephone number is given."""
        return self.email is not None or self.phone is not None


class Authority(Part):
    """An authority: who asks, who conducts the proceeding, who provides."""

    name: Short | None = None
    agency_id: AgencyId | None = None
    country: CountryCode | None = None
    functions: Text | None = None
    """Its role, e.g. "investigating judge" or "public prosecutor's office"."""
    contact: Contact | None = None


class Person(Part):
    """A person concerned (UNTOC Art. 18(15)(e): identity, location, nationality)."""

    role: (
        Literal[
            "suspect",
            "accused",
            "victim",
            "witness",
            "missing_person",
            "person_at_risk",
            "subscriber",
            "other",
        ]
        | None
    ) = None
    name: Short | None = None
    date_of_birth: (
        Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None
    ) = None
    nationalities: tuple[CountryCode, ...] = ()
    location: Text | None = None
    identifiers: tuple[Short, ...] = ()
    """Account names, telephone numbers, document numbers, ..."""
    description: Text | None = None


class DataItem(Part):
    """A piece of data to preserve or disclose."""

    description: Text | None = None
    identifiers: tuple[Short, ...] = ()
    """What the holder can search for: account, telephone number, IP address, domain."""
    time_from: UtcDatetime | None = None
    time_to: UtcDatetime | None = None
    relationship_to_offence: Text | None = None


class EnvelopeRef(Part):
    """A reference to a verified envelope: its ``jti`` and the SHA-256 digest of its signed token."""

    jti: Jti
    digest: Digest
    msg_type: Code | None = None
    """The message type of the referenced envelope (lets a reply be checked on its own)."""


class ReplyContext(BaseModel):
    """What a follow-up message inherits from the envelope it follows.

    Made with :func:`inherit` from the verified request; :meth:`reply` builds
    a follow-up that carries the reference and the inherited purpose, legal
    basis and case, and :meth:`Message.validate` with ``request=`` checks that
    a follow-up did not change them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_reply_to: EnvelopeRef
    purpose: Code
    legal_basis: LegalBasisCode
    case_ref: CaseRef

    def reply(self, model: type[M], /, **fields: Any) -> M:
        """A *model* message following the request, with purpose, legal basis and case inherited."""
        if model.reference_field is None:
            raise UsageError(f"a {model.msg_type} does not follow another message")
        answered = self.in_reply_to.msg_type
        if model.answers and answered not in model.answers:
            raise UsageError(
                f"a {model.msg_type} cannot follow a {answered}",
                hint=f"it follows: {', '.join(sorted(model.answers))}",
            )
        data: dict[str, Any] = {
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "case_ref": self.case_ref,
            model.reference_field: self.in_reply_to,
        }
        data.update(fields)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise UsageError(
                f"cannot build the {model.msg_type}: {exc.errors()[0]['msg']}"
            ) from None


def inherit(request: OpenedEnvelope | Mapping[str, Any]) -> ReplyContext:
    """The :class:`ReplyContext` of a verified request, for the messages that follow it.

    *request* is the :class:`~safeshare.envelope.OpenedEnvelope` of the
    request, or a mapping with ``jti``, ``digest``, ``msg_type``, ``purpose``,
    ``legal_basis`` and ``case_ref`` (for example a stored record of a request
    this agency sent). Replies must be built from it: they reference the
    request by ``jti`` and digest, and carry its purpose and case unchanged.
    """
    if isinstance(request, Mapping):
        fields = {
            "jti": request.get("jti"),
            "digest": request.get("digest"),
            "msg_type": request.get("msg_type", request.get("message_type")),
            "purpose": request.get("purpose"),
            "legal_basis": request.get("legal_basis"),
            "case_ref": request.get("case_ref"),
        }
    else:
        fields = {
            "jti": request.jti,
            "digest": request.digest,
            "msg_type": request.message_type,
            "purpose": request.purpose,
            "legal_basis": request.legal_basis,
            "case_ref": request.case_ref,
        }
    try:
        return ReplyContext(
            in_reply_to=EnvelopeRef(
                jti=fields["jti"], digest=fields["digest"], msg_type=fields["msg_type"]
            ),
            purpose=fields["purpose"],
            legal_basis=fields["legal_basis"],
            case_ref=fields["case_ref"],
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise UsageError(
            f"cannot inherit from this request: {where}: {error['msg']}",
            hint="pass the OpenedEnvelope of the request, or its jti, digest, msg_type, "
            "purpose, legal_basis and case_ref",
        ) from None


# -- checking --------------------------------------------------------------------


class Check:
    """Collects the problems of one :meth:`Message.validate` call."""

    __slots__ = ("basis", "now", "problems", "request", "vocabulary")

    def __init__(self, vocabulary: Vocabulary, now: datetime, request: ReplyContext | None) -> None:
        self.vocabulary = vocabulary
        self.now = now
        self.request = request
        self.basis: LegalBasis | None = None
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, rule: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(field, message, rule))

    def missing(self, field: str, what: str, why: str, rule: str) -> None:
        """Record "<What> is missing: <why>"."""
        self.add(field, f"{capital(what)} is missing: {why}", rule)

    def text(self, field: str, value: str | None, what: str, why: str, rule: str) -> bool:
        """Record a problem if the text *value* is blank; return whether it is present."""
        if blank(value):
            self.missing(field, what, why, rule)
            return False
        return True

    def not_in_future(self, field: str, value: datetime | None, what: str, rule: str) -> None:
        """Record a problem if *value* lies in the future (beyond the clock skew)."""
        if value is not None and value > self.now + CLOCK_SKEW:
            self.add(field, f"{capital(what)} lies in the future: check the date and time.", rule)

    def authority(
        self,
        field: str,
        value: Authority | None,
        what: str,
        why: str,
        rule: str,
        *,
        functions: bool = False,
    ) -> None:
        """Require an authority with a name (and, if *functions*, its functions)."""
        if value is None:
            self.missing(field, what, why, rule)
            return
        self.text(f"{field}.name", value.name, f"the name of the {what}", why, rule)
        if functions:
            self.text(
                f"{field}.functions",
                value.functions,
                f"the functions of the {what}",
                "say what kind of authority it is (for example public prosecutor or "
                "investigating judge); " + why,
                rule,
            )

    def items(self, field: str, items: Sequence[DataItem], rule: str) -> None:
        """Each data item must say what data it is, and its period must be in order."""
        for i, item in enumerate(items):
            where = f"{field}[{i}]"
            if blank(item.description) and not item.identifiers:
                self.add(
                    where,
                    f"Item {i + 1} says nothing about the data: describe it or give "
                    "identifiers (account, telephone number, IP address, domain); the holder "
                    "cannot find data that is not specified.",
                    rule,
                )
            if item.time_from and item.time_to and item.time_to < item.time_from:
                self.add(
                    f"{where}.time_to",
                    f"Item {i + 1} ends before it starts: time_to is earlier than time_from.",
                    rule,
                )

    def category(
        self,
        field: str,
        category: DataCategory | None,
        msg_type: str,
        *,
        content_procedures: Iterable[Procedure] | None = ("mutual_legal_assistance",),
    ) -> None:
        """The legal basis must cover *category*; a request for content needs MLA.

        *content_procedures* are the procedures under which content data may be
        requested; None (for responses) checks the coverage only.
        """
        basis = self.basis
        if category is None or basis is None:
            return
        allowed = tuple(content_procedures) if content_procedures is not None else None
        if category == "content" and allowed is not None and basis.procedure not in allowed:
            options = [
                b.code
                for b in self.vocabulary.legal_bases_for(
                    message_type=msg_type, data_category="content"
                )
                if b.procedure in allowed
            ]
            emergency = (
                " (or, in an emergency, expedited disclosure)"
                if "emergency_disclosure" in allowed
                else ""
            )
            self.add(
                "legal_basis",
                f"Content data cannot be requested under {basis.code} ({basis.title}): content "
                f"data can only be obtained by mutual legal assistance{emergency}, with the "
                "safeguards of a judicial procedure; use a legal basis such as "
                f"{', '.join(options[:4]) or 'an MLA treaty article'}.",
                R_CONTENT,
            )
        elif category not in basis.data_categories:
            covered = ", ".join(CATEGORY_WORDS[c] for c in basis.data_categories) or "no data"
            self.add(
                field,
                f"{basis.code} ({basis.title}) does not cover {CATEGORY_WORDS[category]}: it "
                f"covers {covered}. Choose a legal basis that covers this category, or request "
                "a category it covers.",
                R_VOCABULARY,
            )


# -- the base class --------------------------------------------------------------

M = TypeVar("M", bound="Message")


class Message(BaseModel):
    """Base of every message type: the claims it will be sealed with, and its checks.

    ``purpose``, ``legal_basis`` and ``case_ref`` become the envelope's signed
    claims; every other member becomes the record (:meth:`seal_arguments`).
    """

    model_config = _DRAFT

    msg_type: ClassVar[str]
    """The envelope ``msg_type`` code (``specs/safeshare-v1.md`` section 11.1)."""
    title: ClassVar[str]
    """The type's name for people, e.g. "MLA request"."""
    reference_field: ClassVar[str | None] = None
    """The member naming the envelope this message follows (None for a new request)."""
    answers: ClassVar[frozenset[str]] = frozenset()
    """The message types this one may follow (empty: any)."""

    purpose: Code | None = None
    legal_basis: LegalBasisCode | None = None
    case_ref: CaseRef | None = None

    # -- public API ----------------------------------------------------------

    def validate(  # type: ignore[override]  # pydantic's deprecated classmethod
        self,
        *,
        vocabulary: Vocabulary | None = None,
        request: ReplyContext | None = None,
        now: datetime | None = None,
    ) -> list[Problem]:
        """Every problem of this message, in one list (empty when it is complete).

        Checks the completeness rules of the type, the purpose and legal basis
        against *vocabulary* (default: :func:`~safeshare.purpose.vocabulary.load_default`),
        and, for a message that follows another, that it names it and, when
        *request* (from :func:`inherit`) is given, that it kept its purpose and
        case. Time rules use *now* (default: the current time). Never raises
        for an incomplete message.
        """
        check = Check(
            vocabulary if vocabulary is not None else load_default(), resolve_now(now), request
        )
        self._check_claims(check)
        self._check_reference(check)
        self._check(check)
        return check.problems

    def require_valid(
        self,
        *,
        vocabulary: Vocabulary | None = None,
        request: ReplyContext | None = None,
        now: datetime | None = None,
    ) -> Self:
        """Return this message if it has no problems; otherwise raise :class:`PolicyError` listing them."""
        problems = self.validate(vocabulary=vocabulary, request=request, now=now)
        if problems:
            raise PolicyError(
                format_problems(problems, title=f"The {self.title.lower()}"),
                hint="complete the message; safeshare request validate FILE lists the problems",
            )
        return self

    def record(self) -> dict[str, Any]:
        """The members that become the envelope's record (JSON values; absent members left out)."""
        return self.model_dump(mode="json", exclude=set(CLAIM_FIELDS), exclude_none=True)

    def to_json(self) -> dict[str, Any]:
        """The whole draft as JSON values (claims and record), absent members left out."""
        return self.model_dump(mode="json", exclude_none=True)

    def seal_arguments(self) -> dict[str, Any]:
        """Keyword arguments for :func:`safeshare.envelope.seal`: record, message type and claims.

        Validate first (:meth:`require_valid`); this only refuses a message
        whose claims are missing.
        """
        missing = [name for name in CLAIM_FIELDS if getattr(self, name) is None]
        if missing:
            raise UsageError(
                f"the {self.title.lower()} has no {', '.join(missing)}",
                hint="complete and validate the message before sealing it",
            )
        return {
            "record": self.record(),
            "message_type": self.msg_type,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "case_ref": self.case_ref,
        }

    @classmethod
    def from_envelope(cls, opened: OpenedEnvelope) -> Self:
        """The message carried by a verified envelope (claims plus disclosed record).

        Raises :class:`MalformedInputError` if the record does not fit this
        type, and :class:`UsageError` if the envelope is of another type.
        """
        if opened.message_type != cls.msg_type:
            raise UsageError(f"the envelope carries a {opened.message_type}, not a {cls.msg_type}")
        data: dict[str, Any] = {
            **thaw(opened.record),
            "purpose": opened.purpose,
            "legal_basis": opened.legal_basis,
            "case_ref": opened.case_ref,
        }
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise MalformedInputError(
                f"the record of envelope {opened.jti} is not a valid {cls.title.lower()}: "
                f"{exc.error_count()} error(s), first at "
                f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}"
            ) from None

    # -- checks ----------------------------------------------------------------

    def _check(self, check: Check) -> None:
        """The completeness rules of the type (overridden by each type)."""

    def _check_claims(self, check: Check) -> None:
        vocabulary = check.vocabulary
        kind = self.title.lower()
        purpose_known = False
        if blank(self.purpose):
            check.missing(
                "purpose",
                "purpose",
                "every message states what its data may be used for, and the recipient "
                "enforces it; data may not be used for another purpose without the sender's "
                "consent.",
                R_SPECIALITY,
            )
        elif not vocabulary.has_purpose(str(self.purpose)):
            check.add(
                "purpose",
                f"Purpose {self.purpose!r} is not in the vocabulary: use a known purpose code "
                "(such as criminal_investigation) or add it with a vocabulary extension; a "
                "recipient cannot enforce a purpose it does not know.",
                R_VOCABULARY,
            )
        else:
            purpose_known = True
        if blank(self.legal_basis):
            check.missing(
                "legal_basis",
                "legal basis",
                "name the treaty article the message relies on (for example UNTOC.Art18); "
                "without one the recipient has no ground to act on it or to accept the data.",
                R_VOCABULARY,
            )
        elif not vocabulary.has_legal_basis(str(self.legal_basis)):
            check.add(
                "legal_basis",
                f"Legal basis {self.legal_basis!r} is not in the vocabulary: use a known code "
                "(such as UNTOC.Art18 or BUDAPEST-2AP.Art7) or add it with a vocabulary "
                "extension.",
                R_VOCABULARY,
            )
        else:
            basis = vocabulary.legal_basis(str(self.legal_basis))
            check.basis = basis
            if not vocabulary.allows_message_type(basis.code, self.msg_type):
                options = [
                    b.code
                    for b in vocabulary.legal_bases_for(
                        message_type=self.msg_type,
                        purpose=self.purpose if purpose_known else None,
                    )
                ]
                check.add(
                    "legal_basis",
                    f"Legal basis {basis.code} ({basis.title}) does not provide for a {kind}: "
                    f"use one that does, such as {', '.join(options[:5]) or '(none known)'}.",
                    R_VOCABULARY,
                )
            if purpose_known and not vocabulary.purpose_allowed(str(self.purpose), basis.code):
                check.add(
                    "purpose",
                    f"Purpose {self.purpose!r} cannot be pursued under {basis.code} "
                    f"({basis.title}): it provides for {', '.join(basis.purposes)}.",
                    R_VOCABULARY,
                )
        if blank(self.case_ref):
            check.missing(
                "case_ref",
                "case reference",
                "every transfer belongs to a case; the case binds the data to the proceeding "
                "it was sent for.",
                R_CASE,
            )

    def _check_reference(self, check: Check) -> None:
        field = self.reference_field
        if field is None:
            return
        kind = self.title.lower()
        ref: EnvelopeRef | None = getattr(self, field)
        if ref is None:
            check.missing(
                field,
                "the reference to the envelope this message follows",
                f"a {kind} names the jti and digest of the envelope it follows (build it with "
                "safeshare.messages.inherit) so that the other agency can match it and check "
                "that purpose and case are unchanged.",
                R_REPLY,
            )
        elif self.answers and ref.msg_type is not None and ref.msg_type not in self.answers:
            check.add(
                f"{field}.msg_type",
                f"A {kind} cannot follow a {ref.msg_type}: it follows "
                f"{', '.join(sorted(self.answers))}.",
                R_REPLY,
            )
        request = check.request
        if request is None:
            return
        if ref is not None and (
            ref.jti != request.in_reply_to.jti or ref.digest != request.in_reply_to.digest
        ):
            check.add(
                field,
                "This message names another envelope than the one it is checked against "
                f"(jti {ref.jti}, expected {request.in_reply_to.jti}, or a different digest).",
                R_REPLY,
            )
        answered = request.in_reply_to.msg_type
        if self.answers and answered is not None and answered not in self.answers:
            check.add(
                field,
                f"A {kind} cannot follow a {answered}: it follows "
                f"{', '.join(sorted(self.answers))}.",
                R_REPLY,
            )
        if self.purpose is not None and self.purpose != request.purpose:
            check.add(
                "purpose",
                f"Purpose {self.purpose!r} differs from the purpose of the envelope this "
                f"message follows ({request.purpose!r}): a follow-up keeps the purpose of the "
                "request; a new use needs the originator's consent.",
                R_INHERIT,
            )
        if self.case_ref is not None and self.case_ref != request.case_ref:
            check.add(
                "case_ref",
                f"Case reference {self.case_ref!r} differs from the case of the envelope this "
                f"message follows ({request.case_ref!r}): a follow-up stays in the same case.",
                R_INHERIT,
            )


def thaw(value: Any) -> Any:
    """Plain dicts and lists from the read-only record of an opened envelope."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value
