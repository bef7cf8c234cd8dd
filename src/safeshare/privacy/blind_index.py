"""The blind index: find every audit entry about a data subject without storing who they are.

Second Additional Protocol Art. 14(12) and data-protection law give a person
the right to learn which of their data an agency transferred, and to have it
rectified. The agency can only answer if it can find the transfers about that
person; but an audit log that listed identifiers in clear would itself be a
register of every person the agency ever shared data about, readable by every
partner or oversight body shown the log.

So the log stores **blind-index tokens** instead (``AuditEntry.subjects``):

* An identifier is first **normalized** for its *kind* (:func:`normalize`),
  so that ``+99 555 0100`` and ``0099-555-0100`` give the same token:

  ============ ============================================================
  kind         normalization
  ============ ============================================================
  ``phone``    the digits only (spaces, ``-``, ``.``, ``/`` and
               parentheses dropped), 3 to 15 of them (ITU-T E.164), after
               ``+`` for an international number (``00`` is read as ``+``).
               A national number (no ``+`` or ``00``) keeps its digits
               without ``+``: it is another identifier for the index, found
               only by the same national form. Write numbers in
               international format wherever the country is known.
  ``email``    trimmed, lower-cased (NFKC first); exactly one ``@``, with
               text on both sides, and no white space.
  ``passport`` NFKC, upper-cased, letters and digits only (spaces and
               ``-``, ``/``, ``.`` dropped); 1-64 characters.
  ``iban``     NFKC, upper-cased, spaces and ``-`` dropped; two letters,
               two check digits, then 1-30 letters or digits (ISO 13616;
               the check digits are not verified: a wrong IBAN in a record
               must still be findable).
  ``name_dob`` ``"NAME|YYYY-MM-DD"`` (or the name and the date separated by
               the last space): the name NFKC-normalized, case-folded,
               whitespace collapsed; the date an ISO 8601 calendar date.
  ``ip``       :mod:`ipaddress` canonical text (IPv6 compressed and lower
               case; an IPv4-mapped IPv6 address as its IPv4 address); an
               IPv6 zone index (``fe80::1%eth0``) is dropped, as
               :func:`~safeshare.privacy.generalize.parse_ip_address` reads it.
  ============ ============================================================

  An unknown kind raises :class:`~safeshare.errors.UsageError`.
* The token is ``HMAC-SHA256(K_blind, len(kind) || kind || len(value) ||
  value)`` (RFC 2104), with ``K_blind`` derived from the agency's privacy
  secret by HKDF-SHA256 (RFC 5869) under its own label
  (:meth:`~safeshare.privacy.secret.PrivacySecret.blind_token`): 43 base64url
  characters.

Security properties
-------------------
* **No identifier in clear** in any store or log: the audit entry, the blind
  index table (``safeshare_audit_subjects`` of :mod:`safeshare.audit.log`) and
  the lookup's own audit entry hold the token only.
* **Unlinkable without the secret.** HMAC is a pseudo-random function: a token
  reveals nothing about the identifier, and the tokens of two agencies (two
  secrets) for the same person are unrelated. Whoever holds the secret can
  test a guessed identifier, which is why the secret is kept with the
  agency's private keys and the lookup is a recorded, purpose-bound act.
* **Deterministic within the agency**: the same (kind, normalized value)
  always gives the same token, which is what makes the lookup possible.

The lookup (:class:`SubjectIndex`, ``safeshare subjects lookup``) is for the
data-protection officer answering an access or rectification request: it
requires an actor and the purpose ``data_protection_compliance``, records
itself (action ``subject_lookup``, with the token as its subject) *before* it
reads anything, and returns the ``(index, entry)`` pairs of the audit entries
that concern the subject. Earlier lookups of the same subject carry its token
too; they record the officer's work, not a use of the subject's data, and are
left out unless asked for (``include_lookups=True``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Final, Literal

from safeshare._internal.clock import resolve_now, to_unix
from safeshare.audit.checkpoint import agency_of_log_origin
from safeshare.audit.entry import MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, MAX_SUBJECTS, AuditEntry
from safeshare.audit.log import AuditLog
from safeshare.audit.recorder import AccessRecorder
from safeshare.errors import PolicyError, SafeShareError, UsageError
from safeshare.privacy.generalize import parse_ip_address
from safeshare.privacy.secret import PrivacySecret

__all__ = [
    "LOOKUP_PURPOSE",
    "SUBJECT_KINDS",
    "SubjectIndex",
    "normalize",
    "subject_token",
    "subject_tokens",
]

#: The only purpose a data-subject lookup may be made for.
LOOKUP_PURPOSE: Final = "data_protection_compliance"
#: The audit action of a data-subject lookup (allowed or refused).
_LOOKUP_ACTION: Final = "subject_lookup"

_AGENCY: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")
_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-./()]")
_DIGITS: Final = re.compile(r"[0-9]{3,15}")
_PASSPORT_SEPARATORS: Final = re.compile(r"[\s\-/.]")
_ALNUM: Final = re.compile(r"[A-Z0-9]{1,64}")
_IBAN: Final = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_VALUE: Final = 1024


def _phone(value: str) -> str:
    text = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if text.startswith("+"):
        prefix, digits = "+", text[1:]
    elif text.startswith("00"):
        prefix, digits = "+", text[2:]
    else:
        prefix, digits = "", text  # a national number: found only in its national form
    if not _DIGITS.fullmatch(digits):
        raise UsageError(
            "a phone number is 3 to 15 digits (ITU-T E.164), after '+' and the country code "
            "for an international number; spaces, '-', '.', '/' and parentheses are allowed "
            "between them"
        )
    return prefix + digits


def _email(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip().lower()
    local, at, domain = text.partition("@")
    if not at or not local or not domain or "@" in domain or any(ch.isspace() for ch in text):
        raise UsageError(
            "an e-mail address has exactly one '@', with text on both sides, and no spaces"
        )
    return text


def _passport(value: str) -> str:
    text = _PASSPORT_SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()
    if not _ALNUM.fullmatch(text):
        raise UsageError("a document number is 1 to 64 letters A-Z and digits")
    return text


def _iban(value: str) -> str:
    text = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value)).upper()
    if not _IBAN.fullmatch(text):
        raise UsageError(
            "an IBAN is two letters (the country), two check digits and 1-30 letters or digits"
        )
    return text


def _name_dob(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if "|" in text:
        name, _, born = text.rpartition("|")
    else:
        name, _, born = text.rpartition(" ")
    name = " ".join(name.casefold().split())
    born = born.strip()
    if not name or not _ISO_DATE.fullmatch(born):
        raise UsageError(
            "a name and date of birth is written 'NAME|YYYY-MM-DD' (e.g. 'Jane Doe|1970-12-31')"
        )
    try:
        date.fromisoformat(born)
    except ValueError:
        raise UsageError("the date of birth is not a valid calendar date (YYYY-MM-DD)") from None
    return f"{name}|{born}"


def _ip(value: str) -> str:
    try:
        address = parse_ip_address(value.strip())  # without a zone index
    except ValueError:
        raise UsageError(
            "not an IPv4 or IPv6 address (an IPv6 address may end in %zone, which is dropped)"
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


_NORMALIZERS: Final = {
    "phone": _phone,
    "email": _email,
    "passport": _passport,
    "iban": _iban,
    "name_dob": _name_dob,
    "ip": _ip,
}
#: The identifier kinds the blind index knows.
SUBJECT_KINDS: Final[tuple[str, ...]] = tuple(_NORMALIZERS)


def normalize(kind: str, value: str) -> str:
    """The canonical form of identifier *value* of *kind* (see the module docstring).

    Raises :class:`~safeshare.errors.UsageError` for an unknown kind or a
    value that is not an identifier of that kind (the message names the
    kind, never the value).
    """
    normalizer = _NORMALIZERS.get(kind) if isinstance(kind, str) else None
    if normalizer is None:
        raise UsageError(
            f"unknown identifier kind {kind!r}: use one of {', '.join(SUBJECT_KINDS)}",
        )
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"the {kind} identifier must be a non-empty string")
    if len(value) > _MAX_VALUE:
        raise UsageError(f"the {kind} identifier is longer than {_MAX_VALUE} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the {kind} identifier is not valid Unicode text") from None
    try:
        return normalizer(value)
    except UsageError as exc:
        raise UsageError(f"not a valid {kind} identifier: {exc.message}", hint=exc.hint) from None


def subject_token(secret: PrivacySecret, kind: str, value: str) -> str:
    """The blind-index token of one identifier: normalize, then key (43 base64url characters)."""
    if not isinstance(secret, PrivacySecret):
        raise UsageError("subject_token() needs the agency's PrivacySecret")
    return secret.blind_token(kind, normalize(kind, value))


def subject_tokens(secret: PrivacySecret, subjects: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The tokens for ``AuditEntry.subjects``: sorted, each once.

    *subjects* is ``(kind, value)`` pairs (e.g. ``("phone", "+99 555 0100")``);
    two spellings of one identifier give one token. At most
    :data:`~safeshare.audit.entry.MAX_SUBJECTS` distinct subjects
    (:class:`~safeshare.errors.UsageError` otherwise).
    """
    if isinstance(subjects, tuple) and len(subjects) == 2 and isinstance(subjects[0], str):
        raise UsageError("subject_tokens() takes an iterable of (kind, value) pairs")
    tokens: set[str] = set()
    for pair in subjects:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise UsageError("each subject is a (kind, value) pair")
        tokens.add(subject_token(secret, pair[0], pair[1]))
    if len(tokens) > MAX_SUBJECTS:
        raise UsageError(
            f"{len(tokens)} distinct data subjects; an audit entry holds at most {MAX_SUBJECTS}"
        )
    return tuple(sorted(tokens))


class SubjectIndex:
    """The data-protection officer's lookup: the audit entries about one data subject.

    Stateless: the index itself lives in the audit log's store (see
    :meth:`safeshare.audit.log.AuditLog.subject_entries`); this class adds
    the rules around it: an actor, the purpose ``data_protection_compliance``
    only, and an audit entry for every lookup (allowed or refused) written
    before any result is read.
    """

    __slots__ = ()

    def lookup(
        self,
        log: AuditLog,
        secret: PrivacySecret,
        kind: str,
        value: str,
        *,
        actor: str,
        recorder: AccessRecorder,
        purpose: str = LOOKUP_PURPOSE,
        agency: str | None = None,
        reason: str | None = None,
        scan: bool = False,
        include_lookups: bool = False,
        now: datetime | None = None,
    ) -> list[tuple[int, AuditEntry]]:
        """``(index, entry)`` of every entry of *log* that concerns the subject, oldest first.

        *kind* and *value* name the identifier (normalized as described in
        the module docstring; it never leaves this call). *actor* is the
        officer who looks up (recorded); *purpose* must be
        ``data_protection_compliance``, else the refusal is recorded
        (``subject_lookup``, outcome ``denied``) and
        :class:`~safeshare.errors.PolicyError` raised. *agency* is our own
        agency id (default: from the log's origin). *reason* (optional, at
        most 200 characters, no personal data) is added to the audit entry,
        e.g. the reference of the access request.

        The lookup is recorded through *recorder* (action ``subject_lookup``,
        the token as its only subject) and the entries are read only after
        the recorder returned; they are those below the log's size when the
        lookup started, so the lookup's own entry is not among them. With
        *scan*, every entry is read instead of using the index (slower; it
        does not depend on the index being intact).

        Earlier lookups of the subject (action ``subject_lookup``, allowed or
        refused) hold its token as well, but they are the officer's work,
        not transfers or uses of the subject's data: they are left out of the
        result unless *include_lookups* is true (e.g. to show who has looked
        the subject up).
        """
        if not isinstance(log, AuditLog):
            raise UsageError("lookup() needs the agency's AuditLog")
        if not callable(getattr(recorder, "record", None)):
            raise UsageError("recorder must be an AccessRecorder, e.g. AuditLogRecorder(log)")
        _check_actor(actor)
        own = _own_agency(log, agency)
        note = _check_reason(reason)
        if not isinstance(purpose, str):
            raise UsageError("purpose must be a purpose code")
        if not isinstance(include_lookups, bool):
            raise UsageError("include_lookups must be True or False")
        moment = resolve_now(now)
        token = subject_token(secret, kind, value)
        stop = log.size()
        if purpose != LOOKUP_PURPOSE:
            error = PolicyError(
                f"a data-subject lookup is made only for the purpose {LOOKUP_PURPOSE} (answering "
                f"a data subject's access or rectification request), not for {purpose[:64]!r}",
                hint="investigative use of the blind index is not allowed; the refusal is recorded",
            )
            entry = _lookup_entry(
                own,
                actor,
                moment,
                token,
                purpose=purpose,
                outcome="denied",
                text=f"data-subject lookup refused: purpose {purpose[:64]} is not {LOOKUP_PURPOSE}",
            )
            try:
                recorder.record(entry)
            except SafeShareError as exc:
                raise exc from error
            raise error
        recorder.record(
            _lookup_entry(
                own,
                actor,
                moment,
                token,
                purpose=purpose,
                outcome="success",
                text=f"data-subject lookup ({kind}) of the entries below index {stop}" + note,
            )
        )
        found = log.subject_entries(token, stop=stop, scan=scan)
        if include_lookups:
            return found
        return [(index, entry) for index, entry in found if entry.action != _LOOKUP_ACTION]


def _lookup_entry(
    agency: str,
    actor: str,
    now: datetime,
    token: str,
    *,
    purpose: str,
    outcome: Literal["success", "denied"],
    text: str,
) -> AuditEntry:
    return AuditEntry(
        action=_LOOKUP_ACTION,
        time=to_unix(now),
        actor=actor,
        agency=agency,
        purpose=purpose if _CODE.fullmatch(purpose) else None,
        outcome=outcome,
        reason=_CONTROL.sub(" ", text)[:MAX_REASON_LENGTH],
        subjects=(token,),
    )


def _check_actor(actor: object) -> None:
    if (
        not isinstance(actor, str)
        or not actor.strip()
        or len(actor) > MAX_ACTOR_LENGTH
        or _CONTROL.search(actor)
    ):
        raise UsageError(
            "a data-subject lookup needs actor=, the officer who makes it "
            f"(1-{MAX_ACTOR_LENGTH} characters, no control characters)"
        )


def _check_reason(reason: object) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise UsageError("reason must be 1-200 characters (e.g. the access request's reference)")
    if _CONTROL.search(reason):
        raise UsageError("reason must not contain control characters")
    return f": {reason}"


def _own_agency(log: AuditLog, agency: str | None) -> str:
    if agency is None:
        parsed = agency_of_log_origin(log.origin)
        if parsed is None:
            raise UsageError(
                "give agency= (our own agency id): the log's origin does not name it",
            )
        agency = parsed[1]
    if not isinstance(agency, str) or not _AGENCY.fullmatch(agency):
        raise UsageError("agency must be an agency id such as XA-NPOL")
    return agency
