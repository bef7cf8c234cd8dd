"""The trust registry: which agencies exist, their keys, status and safeguards.

A registry *document* (:class:`RegistryDocument`, a pydantic model) lists the
participating agencies. A registry authority signs it as a JWS (RFC 7515
flattened JSON serialization, ``alg`` ``Ed25519``, ``typ``
``safeshare-registry+json``). Relying parties pin the authority's public key
and load the signed file with :meth:`TrustRegistry.load`, which

1. parses strictly (size cap, duplicate member names, canonical base64url),
2. checks the JWS header (no ``none``, no embedded keys, no ``crit``/``zip``),
3. verifies the signature with the pinned authority key,
4. validates the document (unknown fields are rejected),
5. checks ``issued_at``/``expires_at`` against ``now``,
6. refuses a serial lower than the last accepted one, or the same serial with
   different content (rollback and fork protection, via :class:`RegistryState`).

Lookups (:meth:`TrustRegistry.resolve_key`) resolve (agency, kid, use, time)
to a key, or raise a typed :class:`~safeshare.errors.KeyRegistryError`
subclass. Time windows are half-open: a key is valid from ``not_before``
(inclusive) until ``not_after`` (exclusive); a revocation or suspension takes
effect *at* its timestamp.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Self, TypeVar, cast

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from safeshare._internal import fs, strictjson
from safeshare._internal.clock import require_aware, resolve_now, rfc3339, to_unix
from safeshare._jose import jws
from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.errors import (
    AgencySuspendedError,
    ExpiredError,
    KeyNotValidError,
    KeyRevokedError,
    MalformedInputError,
    NotYetValidError,
    RegistryRollbackError,
    SafeShareError,
    UnknownAgencyError,
    UnknownKeyError,
    UsageError,
    VerificationError,
    WrongKeyUseError,
)
from safeshare.keys import (
    ENC_ALG,
    SIG_ALG,
    EncryptionKey,
    KeyUse,
    SigningKey,
    VerifyKey,
    public_key_from_jwk,
)

if TYPE_CHECKING:
    from safeshare.audit.recorder import AccessRecorder

__all__ = [
    "REGISTRY_TYP",
    "Agency",
    "ContactPoint",
    "RegistryDocument",
    "RegistryKey",
    "RegistryState",
    "Safeguards",
    "Suspension",
    "TrustRegistry",
    "record_registry_update",
    "registry_changes",
    "sign_registry",
]

REGISTRY_TYP: Final = "safeshare-registry+json"
REGISTRY_FORMAT: Final = "safeshare-registry/v1"
#: Largest signed registry file accepted.
MAX_REGISTRY_BYTES: Final = 4 * 1024 * 1024
#: Allowed difference between our clock and the authority's ``issued_at``.
DEFAULT_SKEW: Final = timedelta(minutes=5)

AgencyId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}$", max_length=64),
]
"""Agency ids: an ISO 3166-1 alpha-2 prefix and upper-case parts, e.g. ``XA-NPOL``."""

Kid = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

_STRICT: Final = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]
"""A timezone-aware time, normalised to UTC (offsets with seconds do not survive JSON)."""


class ContactPoint(BaseModel):
    """How to reach an agency (Budapest Convention Art. 35: the 24/7 network)."""

    model_config = _STRICT

    name: Text
    email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)] | None
    ) = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{3,32}$")] | None = None
    available_24_7: bool = False

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.email is None and self.phone is None:
            raise ValueError("a contact point needs an email address or a phone number")
        return self


OnwardTransferPolicy = Literal["never", "with_prior_authorisation", "domestic_same_conditions"]
"""What an agency commits to do with data it received (strictest first)."""

ONWARD_STRICTNESS: Final[dict[str, int]] = {
    "never": 0,
    "with_prior_authorisation": 1,
    "domestic_same_conditions": 2,
}


class Safeguards(BaseModel):
    """What an agency declares it will honour (Second Additional Protocol Art. 14).

    A sender compares these with an envelope's conditions before sealing.
    """

    model_config = _STRICT

    max_retention_days: int = Field(ge=1, le=36_500)
    onward_transfer: OnwardTransferPolicy
    oversight_body: Text
    accepted_instruments: tuple[
        Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,63}$")], ...
    ] = Field(min_length=1)
    no_solely_automated_decisions: bool = True
    breach_notification_hours: int | None = Field(default=72, ge=1, le=8760)


class RegistryKey(BaseModel):
    """One public key of an agency, with its use and validity."""

    model_config = _STRICT

    kid: Kid
    use: KeyUse
    alg: Literal["Ed25519", "ECDH-ES+A256KW"]
    jwk: dict[str, str]
    not_before: UtcDatetime
    not_after: UtcDatetime | None = None
    revoked_at: UtcDatetime | None = None
    revocation_reason: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        try:
            key = public_key_from_jwk(self.jwk)
        except SafeShareError as exc:
            raise ValueError(exc.message) from None
        if key.kid != self.kid:
            raise ValueError(f"kid {self.kid} is not the RFC 7638 thumbprint of its jwk")
        if key.use != self.use:
            raise ValueError(f"a {key.crv} key has use {key.use!r}, not {self.use!r}")
        if self.alg != (SIG_ALG if self.use == "sig" else ENC_ALG):
            raise ValueError(f"a key with use {self.use!r} must have alg {key.alg!r}")
        if self.not_after is not None and self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        if self.revocation_reason is not None and self.revoked_at is None:
            raise ValueError("revocation_reason given without revoked_at")
        return self

    @classmethod
    def from_public(
        cls,
        key: VerifyKey | EncryptionKey,
        *,
        not_before: datetime,
        not_after: datetime | None = None,
    ) -> RegistryKey:
        """A registry entry for *key*, valid from *not_before*."""
        return _validated(
            cls,
            {
                "kid": key.kid,
                "use": key.use,
                "alg": key.alg,
                "jwk": {k: v for k, v in key.to_jwk().items() if k in ("kty", "crv", "x")},
                # Whole seconds, like the JWT times the window is compared with.
                "not_before": require_aware(not_before, "not_before").replace(microsecond=0),
                "not_after": None
                if not_after is None
                else require_aware(not_after, "not_after").replace(microsecond=0),
            },
            what="registry key",
        )

    def public_key(self) -> VerifyKey | EncryptionKey:
        return public_key_from_jwk(self.jwk)


class Suspension(BaseModel):
    """A period in which transfers with an agency are suspended (Art. 14 para. 15).

    The period is kept after it is lifted, so that an envelope dated inside
    it stays refused.
    """

    model_config = _STRICT

    start: UtcDatetime
    end: UtcDatetime | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end is not None and self.end <= self.start:
            raise ValueError("a suspension must end after it starts")
        return self


class Agency(BaseModel):
    """A participating agency: identity, contact points, keys, status, safeguards."""

    model_config = _STRICT

    id: AgencyId
    name: Text
    country: CountryCode
    jurisdiction: Text
    contact: ContactPoint
    contact_24_7: ContactPoint | None = None
    keys: tuple[RegistryKey, ...] = ()
    suspensions: tuple[Suspension, ...] = ()
    safeguards: Safeguards

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.id.startswith(self.country + "-"):
            raise ValueError(
                f"agency id {self.id} must start with its country code {self.country}-"
            )
        for earlier, later in zip(self.suspensions, self.suspensions[1:], strict=False):
            if earlier.end is None or later.start < earlier.end:
                raise ValueError("suspensions must be in time order and must not overlap")
        if self.contact_24_7 is not None and not self.contact_24_7.available_24_7:
            raise ValueError("contact_24_7 must have available_24_7 set to true")
        kids = [k.kid for k in self.keys]
        if len(kids) != len(set(kids)):
            raise ValueError("the same kid is listed twice")
        return self

    def suspension_at(self, at: datetime) -> Suspension | None:
        """The suspension in force at *at*, if any."""
        for period in self.suspensions:
            if period.start <= at and (period.end is None or at < period.end):
                return period
        return None

    def status_at(self, at: datetime) -> Literal["active", "suspended"]:
        """``suspended`` while a suspension is in force at *at*, else ``active``."""
        return "active" if self.suspension_at(at) is None else "suspended"

    @property
    def open_suspension(self) -> Suspension | None:
        """The suspension that has not been lifted yet, if any."""
        if self.suspensions and self.suspensions[-1].end is None:
            return self.suspensions[-1]
        return None


class RegistryDocument(BaseModel):
    """The content of a trust registry (what the authority signs).

    Documents are immutable; the ``with_*`` methods return a changed copy
    and validate it, so a failed change leaves the original untouched.
    """

    model_config = _STRICT

    format: Literal["safeshare-registry/v1"] = REGISTRY_FORMAT
    name: Text
    serial: int = Field(ge=0, le=2**53 - 1)
    issued_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    agencies: tuple[Agency, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [a.id for a in self.agencies]
        if len(ids) != len(set(ids)):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"agency {dup} is listed twice")
        owners: dict[str, str] = {}
        for agency in self.agencies:
            for key in agency.keys:
                if key.kid in owners:
                    raise ValueError(
                        f"key {key.kid} is listed for both {owners[key.kid]} and {agency.id}"
                    )
                owners[key.kid] = agency.id
        if (self.issued_at is None) != (self.expires_at is None):
            raise ValueError("issued_at and expires_at must be given together")
        if self.issued_at and self.expires_at and self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be later than issued_at")
        return self

    # -- editing (each returns a validated copy) -----------------------------

    def _replace(self, **changes: Any) -> RegistryDocument:
        data = self.model_dump(mode="python")
        data.update(changes)
        return _validated(RegistryDocument, data)

    def _replace_agency(self, agency_id: str, **changes: Any) -> RegistryDocument:
        self.agency(agency_id)
        agencies = [
            a.model_dump(mode="python") | (changes if a.id == agency_id else {})
            for a in self.agencies
        ]
        return self._replace(agencies=agencies)

    def agency(self, agency_id: str) -> Agency:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise UnknownAgencyError(f"agency {agency_id[:64]!r} is not in registry {self.name!r}")

    def with_agency(self, agency: Agency) -> RegistryDocument:
        if any(a.id == agency.id for a in self.agencies):
            raise UsageError(f"agency {agency.id} is already in the registry")
        return self._replace(agencies=[*self.agencies, agency])

    def with_key(self, agency_id: str, key: RegistryKey) -> RegistryDocument:
        agency = self.agency(agency_id)
        return self._replace_agency(agency_id, keys=[*agency.keys, key])

    def with_revoked_key(
        self, agency_id: str, kid: str, *, at: datetime, reason: str | None = None
    ) -> RegistryDocument:
        """Revoke *kid* from *at* on. A revocation may move earlier, never later
        (moving it later would make the key valid again in between)."""
        agency = self.agency(agency_id)
        entry = next((k for k in agency.keys if k.kid == kid), None)
        if entry is None:
            raise UnknownKeyError(f"agency {agency_id} has no key {kid[:64]!r}")
        at = require_aware(at, "at")
        if entry.revoked_at is not None and at > entry.revoked_at:
            raise UsageError(
                f"key {kid} is already revoked at {entry.revoked_at.isoformat()}; "
                "a revocation can be moved earlier but not later"
            )
        keys = [
            k.model_dump(mode="python")
            | ({"revoked_at": at, "revocation_reason": reason} if k.kid == kid else {})
            for k in agency.keys
        ]
        return self._replace_agency(agency_id, keys=keys)

    def with_suspension(
        self, agency_id: str, *, at: datetime, reason: str | None = None
    ) -> RegistryDocument:
        """Suspend transfers with *agency_id* from *at* until reinstated."""
        agency = self.agency(agency_id)
        at = require_aware(at, "at")
        if agency.open_suspension is not None:
            raise UsageError(
                f"agency {agency_id} is already suspended since "
                f"{agency.open_suspension.start.isoformat()}"
            )
        period = {"start": at, "end": None, "reason": reason}
        return self._replace_agency(
            agency_id,
            suspensions=[p.model_dump(mode="python") for p in agency.suspensions] + [period],
        )

    def with_reinstatement(self, agency_id: str, *, at: datetime) -> RegistryDocument:
        """End the agency's current suspension at *at*; the period stays on record."""
        agency = self.agency(agency_id)
        at = require_aware(at, "at")
        current = agency.open_suspension
        if current is None:
            raise UsageError(f"agency {agency_id} is not suspended")
        if at <= current.start:
            raise UsageError("a suspension can only be lifted after it started")
        periods = [p.model_dump(mode="python") for p in agency.suspensions]
        periods[-1]["end"] = at
        return self._replace_agency(agency_id, suspensions=periods)

    def next_version(
        self, *, now: datetime | None = None, valid_for: timedelta
    ) -> RegistryDocument:
        """A copy with serial + 1, ``issued_at`` = now and ``expires_at`` = now + valid_for."""
        if valid_for <= timedelta(0):
            raise UsageError("a registry must be valid for a positive period")
        issued = resolve_now(now).replace(microsecond=0)
        return self._replace(
            serial=self.serial + 1, issued_at=issued, expires_at=issued + valid_for
        )

    # -- files ----------------------------------------------------------------

    def to_json(self) -> bytes:
        return strictjson.pretty(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes, *, what: str = "registry document") -> RegistryDocument:
        strictjson.loads(data, what=what, max_bytes=MAX_REGISTRY_BYTES)  # duplicates etc.
        return _validated_json(cls, data, what=what)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the (unsigned) document atomically."""
        fs.atomic_write(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RegistryDocument:
        return cls.from_json(
            fs.read_bytes(path, what="registry draft", max_bytes=MAX_REGISTRY_BYTES),
            what=f"registry draft {os.fspath(path)!r}",
        )


M = TypeVar("M", bound=BaseModel)


def _format_validation_error(exc: ValidationError, what: str) -> str:
    problems = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err["loc"]) or "(document)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not allowed in signed content)"
        problems.append(f"{loc}: {msg}")
    more = "" if exc.error_count() <= 10 else f" (and {exc.error_count() - 10} more)"
    return f"{what} is invalid: " + "; ".join(problems) + more


def _validated(model: type[M], data: Any, *, what: str = "registry") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(_format_validation_error(exc, what)) from None


def _validated_json(model: type[M], data: bytes, *, what: str) -> M:
    try:
        return model.model_validate_json(data, strict=True)
    except ValidationError as exc:
        raise MalformedInputError(_format_validation_error(exc, what)) from None


def sign_registry(document: RegistryDocument, authority: SigningKey) -> bytes:
    """Sign *document* with the registry authority's key; return the file bytes.

    The document must carry ``issued_at`` and ``expires_at`` (see
    :meth:`RegistryDocument.next_version`).
    """
    if document.issued_at is None or document.expires_at is None:
        raise UsageError("set issued_at and expires_at before signing (next_version)")
    payload = strictjson.dumps(document.model_dump(mode="json"))
    return strictjson.pretty(jws.sign_flattened({"typ": REGISTRY_TYP}, payload, authority))


class RegistryState:
    """The newest registry accepted per authority, for rollback protection.

    Kept in a small JSON file (written atomically) or, with ``path=None``, in
    memory. It remembers the serial and the SHA-256 of the signed payload, so
    an older serial (rollback) and a different document under the same serial
    (a fork by the authority) are both refused.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = None if path is None else Path(path)
        self._memory: dict[str, dict[str, Any]] = {}

    def _read(self) -> dict[str, dict[str, Any]]:
        if self._path is None:
            return dict(self._memory)
        if not self._path.exists():
            return {}
        data = strictjson.loads(
            fs.read_bytes(self._path, what="registry state", max_bytes=1024 * 1024),
            what="registry state",
            max_bytes=1024 * 1024,
        )
        if not isinstance(data, dict):
            raise MalformedInputError(f"registry state {str(self._path)!r} is damaged")
        return data

    def last_accepted(self, authority_kid: str) -> tuple[int, str] | None:
        entry = self._read().get(authority_kid)
        if entry is None:
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("serial"), int):
            raise MalformedInputError("registry state is damaged")
        return entry["serial"], str(entry.get("sha256", ""))

    def check(self, authority_kid: str, serial: int, digest: str) -> None:
        last = self.last_accepted(authority_kid)
        if last is None:
            return
        last_serial, last_digest = last
        if serial < last_serial:
            raise RegistryRollbackError(
                f"registry serial {serial} is older than serial {last_serial} already accepted",
                hint="someone may be replaying an old registry; obtain the current one",
            )
        if serial == last_serial and digest != last_digest:
            raise RegistryRollbackError(
                f"registry serial {serial} was already accepted with different content",
                hint="the authority signed two different registries with one serial; report it",
            )

    def record(self, authority_kid: str, serial: int, digest: str) -> None:
        """Check (see :meth:`check`) and remember this registry version.

        The read-check-write runs under an exclusive lock on a side file, so
        two processes sharing the state file cannot lose each other's update.
        """
        if self._path is None:
            self.check(authority_kid, serial, digest)
            self._memory[authority_kid] = {"serial": serial, "sha256": digest}
            return
        with fs.exclusive_lock(self._path.with_name(self._path.name + ".lock")):
            self.check(authority_kid, serial, digest)
            data = self._read()
            data[authority_kid] = {"serial": serial, "sha256": digest}
            fs.atomic_write(self._path, strictjson.pretty(data), mode=0o600)


class TrustRegistry:
    """A verified registry. Obtain one with :meth:`load`; it cannot be forged.

    Every lookup takes the time at which the key must be valid (for an
    envelope, its ``iat``) and raises a typed error instead of returning
    something unusable.
    """

    __slots__ = ("_agencies", "_authority_kid", "_digest", "_document", "_keys", "_newest")

    def __init__(self, document: RegistryDocument, authority_kid: str, digest: str, _token: object):
        if _token is not _LOAD_TOKEN:
            raise UsageError("use TrustRegistry.load() or TrustRegistry.from_signed()")
        self._document = document
        self._authority_kid = authority_kid
        self._digest = digest
        self._agencies = {a.id: a for a in document.agencies}
        # Key objects are built once per registry, not per lookup: the open
        # path resolves a key for every envelope.
        self._keys: dict[str, tuple[str, RegistryKey, VerifyKey | EncryptionKey]] = {
            key.kid: (agency.id, key, key.public_key())
            for agency in document.agencies
            for key in agency.keys
        }
        # Per (agency, use): the keys, newest first (what a sender picks).
        self._newest: dict[tuple[str, KeyUse], list[tuple[RegistryKey, VerifyKey | EncryptionKey]]]
        self._newest = {
            (agency.id, use): [
                (key, self._keys[key.kid][2])
                for key in sorted(agency.keys, key=lambda k: k.not_before, reverse=True)
                if key.use == use
            ]
            for agency in document.agencies
            for use in ("sig", "enc")
        }

    @classmethod
    def from_signed(
        cls,
        data: bytes,
        authority: VerifyKey,
        *,
        now: datetime | None = None,
        state: RegistryState | None = None,
        skew: timedelta = DEFAULT_SKEW,
    ) -> TrustRegistry:
        """Verify a signed registry (bytes) against the pinned *authority* key."""
        now = resolve_now(now)
        doc = strictjson.loads(data, what="signed registry", max_bytes=MAX_REGISTRY_BYTES)

        def resolve(kid: str, _header: dict[str, Any]) -> VerifyKey:
            if kid != authority.kid:
                raise VerificationError(
                    f"the registry is signed by key {kid}, not by the pinned authority "
                    f"key {authority.kid}"
                )
            return authority

        _, payload = jws.verify_flattened(
            doc, what="signed registry", typ=REGISTRY_TYP, resolve_key=resolve
        )
        strictjson.loads(payload, what="registry document", max_bytes=MAX_REGISTRY_BYTES)
        document = _validated_json(RegistryDocument, payload, what="registry document")
        if document.issued_at is None or document.expires_at is None:
            raise MalformedInputError("a signed registry must have issued_at and expires_at")
        if now >= document.expires_at:
            raise ExpiredError(
                f"registry {document.name!r} serial {document.serial} expired at "
                f"{document.expires_at.isoformat()}",
                hint="obtain the current registry from the registry authority",
            )
        if document.issued_at > now + skew:
            raise NotYetValidError(
                f"registry {document.name!r} is issued at {document.issued_at.isoformat()}, "
                "in the future; check the system clock"
            )
        digest = hashlib.sha256(payload).hexdigest()
        if state is not None:
            state.record(authority.kid, document.serial, digest)
        return cls(document, authority.kid, digest, _LOAD_TOKEN)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        authority: VerifyKey,
        *,
        now: datetime | None = None,
        state: RegistryState | None = None,
        skew: timedelta = DEFAULT_SKEW,
    ) -> TrustRegistry:
        """Read and verify a signed registry file (see :meth:`from_signed`)."""
        data = fs.read_bytes(path, what="registry", max_bytes=MAX_REGISTRY_BYTES)
        return cls.from_signed(data, authority, now=now, state=state, skew=skew)

    @property
    def document(self) -> RegistryDocument:
        return self._document

    @property
    def serial(self) -> int:
        return self._document.serial

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the signed payload: names this exact registry version."""
        return self._digest

    @property
    def authority_kid(self) -> str:
        return self._authority_kid

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._document.agencies)

    def agency(self, agency_id: str) -> Agency:
        """The agency with this id, or :class:`UnknownAgencyError`."""
        try:
            return self._agencies[agency_id]
        except (KeyError, TypeError):
            raise UnknownAgencyError(
                f"agency {str(agency_id)[:64]!r} is not in the trust registry"
            ) from None

    def check_active(self, agency_id: str, *, at: datetime) -> Agency:
        """The agency, if it is not suspended at *at*; else :class:`AgencySuspendedError`."""
        agency = self.agency(agency_id)
        period = agency.suspension_at(require_aware(at, "at"))
        if period is not None:
            reason = f" ({period.reason})" if period.reason else ""
            until = f" until {period.end.isoformat()}" if period.end else ""
            raise AgencySuspendedError(
                f"transfers with agency {agency_id} are suspended from "
                f"{period.start.isoformat()}{until}{reason}"
            )
        return agency

    def resolve_key(
        self, agency_id: str, kid: str, use: KeyUse, *, at: datetime
    ) -> VerifyKey | EncryptionKey:
        """The key *kid* of *agency_id* for *use*, valid at time *at*.

        Raises UnknownAgencyError, AgencySuspendedError, UnknownKeyError,
        WrongKeyUseError, KeyRevokedError or KeyNotValidError.
        """
        at = require_aware(at, "at")
        self.check_active(agency_id, at=at)
        found = self._keys.get(kid)
        if found is None or found[0] != agency_id:
            where = f"; it belongs to {found[0]}" if found else ""
            raise UnknownKeyError(f"agency {agency_id} has no key {str(kid)[:64]!r}{where}")
        _, entry, key = found
        if entry.use != use:
            raise WrongKeyUseError(
                f"key {kid} of {agency_id} is registered for use {entry.use!r}, not {use!r}"
            )
        _check_key_time(agency_id, entry, at)
        return key

    def verify_key(self, agency_id: str, kid: str, *, at: datetime) -> VerifyKey:
        """Shorthand for ``resolve_key(agency_id, kid, "sig", at=at)``."""
        return cast(VerifyKey, self.resolve_key(agency_id, kid, "sig", at=at))

    def encryption_key(self, agency_id: str, *, at: datetime) -> EncryptionKey:
        """The agency's newest encryption key valid at *at* (what a sender seals to)."""
        return cast(EncryptionKey, self._newest_key(agency_id, "enc", at))

    def signing_key(self, agency_id: str, *, at: datetime) -> VerifyKey:
        """The agency's newest signing key valid at *at* (what a holder binding names)."""
        return cast(VerifyKey, self._newest_key(agency_id, "sig", at))

    def _newest_key(self, agency_id: str, use: KeyUse, at: datetime) -> VerifyKey | EncryptionKey:
        at = require_aware(at, "at")
        self.check_active(agency_id, at=at)
        candidates = self._newest[(agency_id, use)]
        what = "encryption" if use == "enc" else "signing"
        if not candidates:
            raise UnknownKeyError(f"agency {agency_id} has no {what} key in the registry")
        problems: list[SafeShareError] = []
        for entry, key in candidates:
            try:
                _check_key_time(agency_id, entry, at)
            except SafeShareError as exc:
                problems.append(exc)
                continue
            return key
        raise type(problems[0])(
            f"agency {agency_id} has no {what} key valid at {at.isoformat()}: "
            + problems[0].message,
            hint=problems[0].hint,
        )

    def agencies_with_keys(self) -> Iterable[tuple[str, RegistryKey]]:
        for agency in self:
            for key in agency.keys:
                yield agency.id, key


_LOAD_TOKEN: Final = object()


def _check_key_time(agency_id: str, entry: RegistryKey, at: datetime) -> None:
    if entry.revoked_at is not None and at >= entry.revoked_at:
        reason = f" ({entry.revocation_reason})" if entry.revocation_reason else ""
        raise KeyRevokedError(
            f"key {entry.kid} of {agency_id} was revoked at {entry.revoked_at.isoformat()}{reason}"
        )
    if at < entry.not_before:
        raise KeyNotValidError(
            f"key {entry.kid} of {agency_id} is not valid before {entry.not_before.isoformat()}"
        )
    if entry.not_after is not None and at >= entry.not_after:
        raise KeyNotValidError(
            f"key {entry.kid} of {agency_id} expired at {entry.not_after.isoformat()}"
        )


# -- recording the acceptance of a registry version -------------------------------------


def registry_changes(previous: RegistryDocument, current: RegistryDocument) -> list[str]:
    """What changed from *previous* to *current* that decides who may transfer: agencies
    added or removed, suspensions started or lifted, keys revoked (metadata only: agency
    ids, key ids and times, never the free-text reasons)."""
    before = {a.id: a for a in previous.agencies}
    changes: list[str] = []
    for agency in current.agencies:
        old = before.pop(agency.id, None)
        if old is None:
            changes.append(f"{agency.id} added")
            old_periods: dict[datetime, Suspension] = {}
            old_revoked: dict[str, datetime | None] = {}
        else:
            old_periods = {p.start: p for p in old.suspensions}
            old_revoked = {k.kid: k.revoked_at for k in old.keys}
        for period in agency.suspensions:
            was = old_periods.pop(period.start, None)
            if was is None:
                until = "" if period.end is None else f" to {rfc3339(period.end)}"
                changes.append(f"{agency.id} suspended from {rfc3339(period.start)}{until}")
            elif period.end != was.end:
                changes.append(
                    f"{agency.id} reinstated from {rfc3339(period.end)}"
                    if period.end is not None
                    else f"{agency.id} suspension from {rfc3339(period.start)} reopened"
                )
        changes.extend(
            f"{agency.id} suspension from {rfc3339(start)} removed" for start in old_periods
        )
        for key in agency.keys:
            if key.revoked_at is not None and key.revoked_at != old_revoked.get(key.kid):
                changes.append(
                    f"key {key.kid} of {agency.id} revoked from {rfc3339(key.revoked_at)}"
                )
    changes.extend(f"{agency_id} removed" for agency_id in before)
    return changes


def record_registry_update(
    recorder: AccessRecorder,
    registry: TrustRegistry,
    *,
    agency: str,
    actor: str,
    now: datetime | None = None,
    previous: TrustRegistry | None = None,
) -> int:
    """Record that *agency* accepted *registry* (action ``registry_update``); return the index.

    The entry (outcome ``success``, no counterparty, envelope or purpose) names
    the version in its reason: serial, SHA-256 of the signed payload
    (:attr:`TrustRegistry.digest`) and the authority key id; with *previous*,
    the version accepted before, also the serial it replaces and what changed
    since (:func:`registry_changes`: suspensions, reinstatements, revocations,
    agencies added or removed). Record it before relying on the new version,
    as for every audit entry (``specs/safeshare-v1.md`` section 13.2.2); a
    recorder that fails raises, and nothing was recorded.
    """
    if not isinstance(registry, TrustRegistry) or not (
        previous is None or isinstance(previous, TrustRegistry)
    ):
        raise UsageError("record_registry_update() takes TrustRegistry objects")
    if not callable(getattr(recorder, "record", None)):
        raise UsageError("recorder must be an AccessRecorder (e.g. AuditLogRecorder(log))")
    reason = (
        f"accepted trust registry serial {registry.serial} (sha256 {registry.digest}, "
        f"authority key {registry.authority_kid})"
    )
    if previous is not None:
        changes = registry_changes(previous.document, registry.document)
        if previous.authority_kid != registry.authority_kid:
            changes.insert(0, f"authority key was {previous.authority_kid}")
        reason += f"; replaces serial {previous.serial}: " + (
            "; ".join(changes) if changes else "no suspension, revocation or agency changed"
        )
    if len(reason) > MAX_REASON_LENGTH:
        reason = (
            reason[: MAX_REASON_LENGTH - 32].rsplit("; ", 1)[0] + "; (more changes, not listed)"
        )
    try:
        entry = AuditEntry(
            action="registry_update",
            time=to_unix(resolve_now(now)),
            actor=actor,
            agency=agency,
            outcome="success",
            reason=reason,
        )
    except MalformedInputError as exc:
        raise UsageError(f"cannot record the registry update: {exc.message}") from None
    return recorder.record(entry)
