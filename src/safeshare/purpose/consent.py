"""Consent: the originator's prior authorisation for a use its conditions reserve.

Data an agency receives may be used only for the purpose it was sent for; a
new purpose (UNTOC Art. 18(19): "no other use without prior consent"), an
onward transfer abroad (Second Additional Protocol Art. 14(10): "only with the
originator's prior authorisation") and, under the default handling
conditions, use as evidence need the originating agency's consent. A
**consent grant** is that consent in verifiable form: a compact JWS (RFC 7515
section 7.1) signed with the originator's registered Ed25519 key that says
"agency ``iss`` allows agency ``aud`` to do *scope* with the data of the
envelope ``envelope_jti`` whose issuer-signed JWT has SHA-256
``envelope_digest``, from ``iat`` until ``exp``, under ``conditions``". The
originator can withdraw it with a signed **revocation**.

Grant format
------------
Protected header: exactly ``{"alg": "Ed25519", "kid": <RFC 7638 thumbprint of
the originator's signing key>, "typ": "safeshare-consent+jwt"}``; the profile
rules of :mod:`safeshare._jose.headers` apply (no ``crit``, ``zip``, embedded
or referenced keys, no other member). Payload (unknown members are rejected):

==================== =========================================================
``iss``              the originator (the issuer of the envelope)
``aud``              the holder: the agency allowed to act (a recipient of
                     the envelope); not the originator itself
``iat``, ``exp``     NumericDates; ``iat < exp <= iat + 365 days``
``jti``              the grant id: base64url of 16 random bytes
``envelope_jti``     the envelope's ``jti``
``envelope_digest``  lower-case hex SHA-256 of the envelope's issuer-signed
                     JWT (:attr:`~safeshare.envelope.OpenedEnvelope.digest`)
``scope``            ``purpose``, ``onward_transfer`` or ``evidential_use``
``purpose``          only, and required, with scope ``purpose``: the new
                     purpose code allowed
``onward_recipient`` only, and required, with scope ``onward_transfer``: the
                     agency the data may be transferred to (neither the
                     holder nor the originator)
``conditions``       free-text conditions attached by the originator (0-32
                     distinct texts of 1-1000 characters, no control
                     characters); the holder must honour them
==================== =========================================================

Revocation format: header ``typ`` ``safeshare-consent-revocation+jwt``;
payload exactly ``iss``, ``iat``, ``jti`` (of the revocation), ``grant_id``
(the ``jti`` of the revoked grant) and optionally ``reason`` (1-1000
characters). A revocation applies only to a grant of the same ``iss``.

Verification order: size cap, structure, strict claims (shape, then the
rules above), key resolution from the registry by (``iss``, ``kid``) at
``iat`` (unknown, revoked or not yet valid key and suspended agency are
refused with the registry's typed errors), header and signature, then time.
A grant is additionally refused when its signing key has been revoked in the
registry by *now*: a revocation says the key must no longer be trusted, and a
grant authorises what is done now. (A revocation token is accepted in that
case: withdrawing consent can only restrict.)

Binding and enforcement
-----------------------
A grant is worth something only for exactly one envelope (its digest), one
holder, one originator, one scope and one purpose or onward recipient, and
only between ``iat`` and ``exp`` and while it is not revoked.
:class:`ConsentStore` keeps verified grants and revocations on the shared
storage layer; :meth:`ConsentStore.find` returns a grant only when every one
of these matches exactly, and :meth:`ConsentStore.require` raises
:class:`~safeshare.errors.PolicyError` naming the consent that is missing.
The caller passes the envelope's issuer as *originator*: a grant signed by
anyone else (even a valid one) never authorises a use of that envelope's data.

Audit
-----
Consent passes through the agency's audit log (metadata only: the grant id
as ``jti``, the envelope digest, the other agency, the purpose, a short
reason; never a token's conditions or any record content). The holder's
:meth:`ConsentStore.add` and :meth:`ConsentStore.revoke` take a *recorder*
(an :class:`~safeshare.audit.recorder.AccessRecorder`) and an *actor*: a
recorded grant is logged as ``consent_grant``, a recorded revocation as
``consent_revoke``, and a refused token (invalid, not for us, replayed id,
revocation by another agency) as ``deny`` before the error is raised. The
originator logs what it hands out with :func:`record_grant_issued` and
:func:`record_revocation_issued`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

import msgspec

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._internal.clock import from_unix, require_aware, resolve_now, rfc3339, to_unix
from safeshare._jose import jws
from safeshare._jose.headers import decode_protected
from safeshare.audit.checkpoint import agency_of_log_origin
from safeshare.audit.entry import MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, AuditEntry
from safeshare.audit.recorder import AccessRecorder
from safeshare.errors import (
    ExpiredError,
    KeyRegistryError,
    KeyRevokedError,
    MalformedInputError,
    NotYetValidError,
    OversizedInputError,
    PolicyError,
    ReplayError,
    SafeShareError,
    StorageError,
    UnknownAgencyError,
    UsageError,
    ValidityError,
    VerificationError,
)
from safeshare.keys import AgencyKeySet, VerifyKey
from safeshare.registry import TrustRegistry
from safeshare.storage import Migration, Schema, Store

__all__ = [
    "CONSENT_SCHEMA",
    "CONSENT_SCOPES",
    "DEFAULT_SKEW",
    "GRANT_TYP",
    "MAX_CONDITIONS",
    "MAX_CONSENT_TOKEN_CHARS",
    "MAX_GRANT_LIFETIME",
    "MAX_TEXT_LENGTH",
    "REVOCATION_TYP",
    "ConsentGrant",
    "ConsentRevocation",
    "ConsentScope",
    "ConsentStore",
    "GrantClaims",
    "RevocationClaims",
    "consent_token_kind",
    "describe_scope",
    "issue_grant",
    "issue_revocation",
    "record_grant_issued",
    "record_revocation_issued",
    "verify_grant",
    "verify_revocation",
]

ConsentScope = Literal["purpose", "onward_transfer", "evidential_use"]
"""What a grant allows: a new purpose, an onward transfer, or use as evidence."""
#: Every scope, in the order of :data:`ConsentScope`.
CONSENT_SCOPES: Final[tuple[ConsentScope, ...]] = get_args(ConsentScope)

#: ``typ`` of a consent grant (RFC 7515 section 4.1.9; RFC 8725 section 3.11).
GRANT_TYP: Final = "safeshare-consent+jwt"
#: ``typ`` of a consent revocation.
REVOCATION_TYP: Final = "safeshare-consent-revocation+jwt"
#: Longest lifetime of a grant (``exp - iat``).
MAX_GRANT_LIFETIME: Final = timedelta(days=365)
#: Most conditions one grant may carry.
MAX_CONDITIONS: Final = 32
#: Longest condition or revocation reason, in characters.
MAX_TEXT_LENGTH: Final = 1000
#: Largest grant or revocation accepted (characters of the compact serialization).
MAX_CONSENT_TOKEN_CHARS: Final = 64 * 1024
#: Tolerance for a token issued slightly "in the future" by the originator's clock.
DEFAULT_SKEW: Final = timedelta(minutes=5)

# The wire types. They repeat the patterns of safeshare.envelope._profile on
# purpose: this module must not import the envelope package, which will import
# it (purpose enforcement at opening).
AgencyIdStr = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}$")]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Jti = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{22}$")]
NumericDate = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
HexDigest = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_LENGTH)]

_AGENCY_ID: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}")
_CODE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_JTI: Final = re.compile(r"[A-Za-z0-9_-]{22}")
_HEX_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
#: C0 control characters and DEL: refused in conditions and reasons.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_JTI_BYTES: Final = 16

#: What each scope needs, for messages (and the treaty rule behind it).
_LEGAL_RULE: Final[dict[str, str]] = {
    "purpose": "UNTOC Art. 18(19); Second Additional Protocol Art. 14(2)",
    "onward_transfer": "Second Additional Protocol Art. 14(9)-(10)",
    "evidential_use": "UNTOC Art. 18(19); the envelope's condition evidential_use: with_consent",
}


class GrantClaims(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The payload of a consent grant. ``purpose``/``onward_recipient`` per scope."""

    iss: AgencyIdStr
    aud: AgencyIdStr
    iat: NumericDate
    exp: NumericDate
    jti: Jti
    envelope_jti: Jti
    envelope_digest: HexDigest
    scope: ConsentScope
    purpose: Code | msgspec.UnsetType = msgspec.UNSET
    onward_recipient: AgencyIdStr | msgspec.UnsetType = msgspec.UNSET
    conditions: Annotated[tuple[Text, ...], msgspec.Meta(max_length=MAX_CONDITIONS)]


class RevocationClaims(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The payload of a consent revocation. ``reason`` is optional."""

    iss: AgencyIdStr
    iat: NumericDate
    jti: Jti
    grant_id: Jti
    reason: Text | msgspec.UnsetType = msgspec.UNSET


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    """A verified consent grant. Only :func:`verify_grant` and :class:`ConsentStore` make one."""

    grant_id: str
    """The grant's ``jti`` (base64url of 16 random bytes)."""
    originator: str
    """The agency that granted the consent (the envelope's issuer)."""
    holder: str
    """The agency allowed to act (a recipient of the envelope)."""
    envelope_jti: str
    envelope_digest: str
    """Hex SHA-256 of the envelope's issuer-signed JWT: binds the grant to one envelope."""
    scope: ConsentScope
    purpose: str | None
    """For scope ``purpose``: the new purpose allowed (else None)."""
    onward_recipient: str | None
    """For scope ``onward_transfer``: the agency the data may go to (else None)."""
    issued_at: datetime
    expires_at: datetime
    conditions: tuple[str, ...]
    """Free-text conditions attached by the originator; the holder must honour them."""
    token: str
    """The signed grant itself (to record, or to attach to a forwarded envelope)."""

    def describe(self) -> str:
        """What the grant allows, in words: ``"use for purpose 'prosecution'"``."""
        return describe_scope(self.scope, self.purpose, self.onward_recipient)


@dataclass(frozen=True, slots=True)
class ConsentRevocation:
    """A verified revocation of a consent grant."""

    revocation_id: str
    """The revocation's ``jti``."""
    originator: str
    """The agency that revoked (it can only revoke its own grants)."""
    grant_id: str
    """The ``jti`` of the revoked grant."""
    issued_at: datetime
    reason: str | None
    token: str


def describe_scope(
    scope: ConsentScope, purpose: str | None = None, onward_recipient: str | None = None
) -> str:
    """A scope in words, for messages and listings."""
    if scope == "purpose":
        return f"use for purpose {purpose!r}"
    if scope == "onward_transfer":
        return f"onward transfer to {onward_recipient}"
    return "use as evidence"


# -- shared checks ------------------------------------------------------------------------

_E = TypeVar("_E", bound=MalformedInputError | UsageError)
_S = TypeVar("_S", bound=msgspec.Struct)


def _convert(data: Any, struct: type[_S], *, what: str, error: type[_E]) -> _S:
    try:
        return msgspec.convert(data, struct)
    except msgspec.ValidationError as exc:
        raise error(f"the {what} claims do not match the profile: {exc}") from None


def _text_problem(value: str, name: str) -> str | None:
    if _CONTROL.search(value) is not None:
        return f"{name} contains control characters (line breaks, tabs, ...)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{name} is not valid Unicode text (lone surrogate)"
    return None


def _grant_problems(claims: GrantClaims) -> list[str]:
    """The rules of the grant format that the struct's types cannot express."""
    problems: list[str] = []
    has_purpose = claims.purpose is not msgspec.UNSET
    has_recipient = claims.onward_recipient is not msgspec.UNSET
    if claims.scope == "purpose" and not has_purpose:
        problems.append("scope 'purpose' needs the new purpose (claim 'purpose')")
    if claims.scope == "onward_transfer" and not has_recipient:
        problems.append(
            "scope 'onward_transfer' needs the agency the data may go to (claim 'onward_recipient')"
        )
    if has_purpose and claims.scope != "purpose":
        problems.append(
            f"claim 'purpose' is only allowed with scope 'purpose', not {claims.scope!r}"
        )
    if has_recipient and claims.scope != "onward_transfer":
        problems.append(
            "claim 'onward_recipient' is only allowed with scope 'onward_transfer', "
            f"not {claims.scope!r}"
        )
    if claims.aud == claims.iss:
        problems.append(f"the holder (aud) is the originator {claims.iss} itself")
    if has_recipient and claims.onward_recipient in (claims.iss, claims.aud):
        problems.append(
            f"the onward recipient {claims.onward_recipient} is the "
            + ("originator" if claims.onward_recipient == claims.iss else "holder")
            + " itself: that is no onward transfer"
        )
    if claims.exp <= claims.iat:
        problems.append("exp must be later than iat")
    elif claims.exp - claims.iat > MAX_GRANT_LIFETIME.total_seconds():
        problems.append(f"the lifetime exp - iat exceeds {MAX_GRANT_LIFETIME.days} days")
    for i, text in enumerate(claims.conditions):
        problem = _text_problem(text, f"conditions[{i}]")
        if problem:
            problems.append(problem)
    if len(set(claims.conditions)) != len(claims.conditions):
        problems.append("a condition is listed twice")
    return problems


def _revocation_problems(claims: RevocationClaims) -> list[str]:
    if isinstance(claims.reason, str):
        problem = _text_problem(claims.reason, "reason")
        if problem:
            return [problem]
    return []


def _split(token: object, *, what: str) -> tuple[str, str, str]:
    if not isinstance(token, str):
        raise MalformedInputError(f"a {what} is a compact JWS string")
    if len(token) > MAX_CONSENT_TOKEN_CHARS:
        raise OversizedInputError(
            f"the {what} is {len(token)} characters; the limit is {MAX_CONSENT_TOKEN_CHARS}"
        )
    if not token.isascii():
        raise MalformedInputError(f"a {what} is ASCII (a compact JWS)")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedInputError(f"a {what} is a compact JWS: three parts separated by '.'")
    return parts[0], parts[1], parts[2]


def _decode_payload(payload_b64: str, *, what: str) -> Any:
    raw = b64u_decode(payload_b64, what=f"{what} payload")
    return strictjson.loads(raw, what=f"{what} payload", max_bytes=MAX_CONSENT_TOKEN_CHARS)


def _check_skew(skew: timedelta) -> None:
    if not isinstance(skew, timedelta) or skew < timedelta(0) or skew > timedelta(hours=1):
        raise UsageError("skew must be a timedelta between 0 and 1 hour")


def _check_registry(registry: object, caller: str) -> None:
    if not isinstance(registry, TrustRegistry):
        raise UsageError(f"{caller} takes the verified safeshare.registry.TrustRegistry")


def _revoked_key_message(
    registry: TrustRegistry, agency: str, kid: str, at: datetime
) -> str | None:
    """Why *kid* of *agency* must not be trusted at *at* (revoked), or None."""
    for entry in registry.agency(agency).keys:
        if entry.kid == kid and entry.revoked_at is not None and at >= entry.revoked_at:
            reason = f" ({entry.revocation_reason})" if entry.revocation_reason else ""
            return f"key {kid} of {agency} was revoked at {rfc3339(entry.revoked_at)}{reason}"
    return None


def _new_jti(randbytes: Callable[[int], bytes] | None = None) -> str:
    # os.urandom looked up at call time (not bound as a default).
    data = (randbytes or os.urandom)(_JTI_BYTES)
    if not isinstance(data, bytes) or len(data) != _JTI_BYTES:
        raise UsageError(f"randbytes({_JTI_BYTES}) must return {_JTI_BYTES} bytes")
    return b64u_encode(data)


def _grant_from_claims(claims: GrantClaims, token: str) -> ConsentGrant:
    return ConsentGrant(
        grant_id=claims.jti,
        originator=claims.iss,
        holder=claims.aud,
        envelope_jti=claims.envelope_jti,
        envelope_digest=claims.envelope_digest,
        scope=claims.scope,
        purpose=claims.purpose if isinstance(claims.purpose, str) else None,
        onward_recipient=(
            claims.onward_recipient if isinstance(claims.onward_recipient, str) else None
        ),
        issued_at=from_unix(claims.iat),
        expires_at=from_unix(claims.exp),
        conditions=claims.conditions,
        token=token,
    )


def _revocation_from_claims(claims: RevocationClaims, token: str) -> ConsentRevocation:
    return ConsentRevocation(
        revocation_id=claims.jti,
        originator=claims.iss,
        grant_id=claims.grant_id,
        issued_at=from_unix(claims.iat),
        reason=claims.reason if isinstance(claims.reason, str) else None,
        token=token,
    )


# -- grants ---------------------------------------------------------------------------------


def issue_grant(
    *,
    originator: AgencyKeySet,
    holder: str,
    envelope_jti: str,
    envelope_digest: str,
    scope: ConsentScope,
    purpose: str | None = None,
    onward_recipient: str | None = None,
    valid_for: timedelta,
    conditions: Sequence[str] = (),
    now: datetime | None = None,
    _randbytes: Callable[[int], bytes] | None = None,
) -> str:
    """Sign a consent grant of *originator* for *holder*; return the compact JWS.

    *envelope_jti* and *envelope_digest* name the envelope the originator
    sealed (the digest is the hex SHA-256 of its issuer-signed JWT). Give
    *purpose* exactly with scope ``"purpose"`` and *onward_recipient* exactly
    with scope ``"onward_transfer"``. The grant is valid from *now* for
    *valid_for* (whole seconds, at most :data:`MAX_GRANT_LIFETIME`). Every
    rule of the format is checked before anything is signed
    (:class:`~safeshare.errors.UsageError` otherwise).

    *_randbytes* (private: test vectors only) replaces ``os.urandom`` as the
    source of the grant id.
    """
    if not isinstance(originator, AgencyKeySet):
        raise UsageError("issue_grant() takes the originator's AgencyKeySet")
    if not isinstance(valid_for, timedelta):
        raise UsageError("valid_for must be a timedelta")
    if isinstance(conditions, str | bytes) or not isinstance(conditions, Sequence):
        raise UsageError("conditions must be a sequence of texts (not one text)")
    seconds = valid_for // timedelta(seconds=1)
    if seconds < 1 or valid_for > MAX_GRANT_LIFETIME:
        raise UsageError(f"valid_for must be between 1 second and {MAX_GRANT_LIFETIME.days} days")
    iat = to_unix(resolve_now(now))
    data: dict[str, Any] = {
        "iss": originator.agency,
        "aud": holder,
        "iat": iat,
        "exp": iat + seconds,
        "jti": _new_jti(_randbytes),
        "envelope_jti": envelope_jti,
        "envelope_digest": envelope_digest,
        "scope": scope,
        "conditions": list(conditions),
    }
    if purpose is not None:
        data["purpose"] = purpose
    if onward_recipient is not None:
        data["onward_recipient"] = onward_recipient
    claims = _convert(data, GrantClaims, what="consent grant", error=UsageError)
    problems = _grant_problems(claims)
    if problems:
        raise UsageError("cannot issue this consent grant: " + "; ".join(problems))
    payload = strictjson.dumps(msgspec.to_builtins(claims))
    return jws.sign_compact({"typ": GRANT_TYP}, payload, originator.signing_key)


_C = TypeVar("_C", GrantClaims, RevocationClaims)


def _verify_token(
    token: str,
    struct: type[_C],
    problems_of: Callable[[_C], list[str]],
    *,
    registry: TrustRegistry,
    now: datetime | None,
    skew: timedelta,
    what: str,
    typ: str,
    caller: str,
) -> tuple[_C, dict[str, Any], datetime, datetime]:
    """The steps a grant and a revocation share: parse, check the profile, verify.

    Returns ``(claims, header, issued_at, now)`` once the signature verified
    with the issuer's key as of ``iat``; the time checks are the caller's.
    """
    now = resolve_now(now)
    _check_skew(skew)
    _check_registry(registry, caller)
    protected_b64, payload_b64, signature_b64 = _split(token, what=what)
    payload = _decode_payload(payload_b64, what=what)
    claims = _convert(payload, struct, what=what, error=MalformedInputError)
    problems = problems_of(claims)
    if problems:
        raise MalformedInputError(f"the {what} breaks the profile: " + "; ".join(problems))
    issued_at = from_unix(claims.iat)

    def originator_key(kid: str, _header: dict[str, Any]) -> VerifyKey:
        return registry.verify_key(claims.iss, kid, at=issued_at)

    header, _ = jws.verify_parts(
        protected_b64,
        payload_b64,
        signature_b64,
        what=what,
        typ=typ,
        resolve_key=originator_key,
    )
    return claims, header, issued_at, now


def _check_not_future(issued_at: datetime, now: datetime, skew: timedelta, *, what: str) -> None:
    if issued_at > now + skew:
        raise NotYetValidError(
            f"the {what} is issued at {rfc3339(issued_at)}, in the future; "
            "check the clocks of both agencies"
        )


def verify_grant(
    token: str,
    *,
    registry: TrustRegistry,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> ConsentGrant:
    """Verify a consent grant; return it only if every check passed.

    Raises :class:`~safeshare.errors.MalformedInputError` (structure, header,
    claims), :class:`~safeshare.errors.KeyRegistryError` subclasses (unknown
    agency or key, key not valid at ``iat`` or revoked by *now*, agency
    suspended at ``iat``), :class:`~safeshare.errors.VerificationError`
    (signature), :class:`~safeshare.errors.NotYetValidError` (``iat`` after
    *now* + *skew*) or :class:`~safeshare.errors.ExpiredError` (*now* at or
    after ``exp``).

    This says nothing yet about *which* envelope, holder or use the grant
    may serve: that is :meth:`ConsentStore.find`'s exact matching.
    """
    claims, header, issued_at, now = _verify_token(
        token,
        GrantClaims,
        _grant_problems,
        registry=registry,
        now=now,
        skew=skew,
        what="consent grant",
        typ=GRANT_TYP,
        caller="verify_grant()",
    )
    revoked = _revoked_key_message(registry, claims.iss, str(header["kid"]), now)
    if revoked is not None:
        raise KeyRevokedError(
            f"the consent grant is signed with a key that must no longer be trusted: {revoked}",
            hint=f"ask {claims.iss} for a new grant signed with its current key",
        )
    _check_not_future(issued_at, now, skew, what="consent grant")
    expires_at = from_unix(claims.exp)
    if now >= expires_at:
        raise ExpiredError(
            f"the consent grant {claims.jti} expired at {rfc3339(expires_at)}",
            hint=f"ask {claims.iss} for a new grant",
        )
    return _grant_from_claims(claims, token)


# -- revocations ----------------------------------------------------------------------------


def issue_revocation(
    *,
    originator: AgencyKeySet,
    grant_id: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> str:
    """Sign the revocation of *originator*'s grant *grant_id*; return the compact JWS."""
    if not isinstance(originator, AgencyKeySet):
        raise UsageError("issue_revocation() takes the originator's AgencyKeySet")
    data: dict[str, Any] = {
        "iss": originator.agency,
        "iat": to_unix(resolve_now(now)),
        "jti": _new_jti(),
        "grant_id": grant_id,
    }
    if reason is not None:
        data["reason"] = reason
    claims = _convert(data, RevocationClaims, what="consent revocation", error=UsageError)
    problems = _revocation_problems(claims)
    if problems:
        raise UsageError("cannot issue this consent revocation: " + "; ".join(problems))
    payload = strictjson.dumps(msgspec.to_builtins(claims))
    return jws.sign_compact({"typ": REVOCATION_TYP}, payload, originator.signing_key)


def verify_revocation(
    token: str,
    *,
    registry: TrustRegistry,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> ConsentRevocation:
    """Verify a consent revocation; errors as for :func:`verify_grant` (no expiry).

    Whether the revocation's issuer may revoke a given grant (only the
    grant's originator may) is checked by :meth:`ConsentStore.revoke`.
    """
    claims, _, issued_at, now = _verify_token(
        token,
        RevocationClaims,
        _revocation_problems,
        registry=registry,
        now=now,
        skew=skew,
        what="consent revocation",
        typ=REVOCATION_TYP,
        caller="verify_revocation()",
    )
    _check_not_future(issued_at, now, skew, what="consent revocation")
    return _revocation_from_claims(claims, token)


def consent_token_kind(token: str) -> Literal["grant", "revocation"]:
    """Whether *token* claims to be a grant or a revocation (by its header ``typ``).

    Only a dispatch aid (for example for ``safeshare consent add``): nothing
    is verified here; verify the token with :func:`verify_grant` or
    :func:`verify_revocation`.
    """
    protected_b64, _, _ = _split(token, what="consent token")
    header, _ = decode_protected(protected_b64, what="consent token header")
    typ = header.get("typ")
    if typ == GRANT_TYP:
        return "grant"
    if typ == REVOCATION_TYP:
        return "revocation"
    shown = repr(typ)[:64] if isinstance(typ, str) else type(typ).__name__
    raise MalformedInputError(
        f"the token is neither a consent grant nor a consent revocation (typ {shown}; "
        f"expected {GRANT_TYP!r} or {REVOCATION_TYP!r})"
    )


# -- audit recording ------------------------------------------------------------------------

_AUDIT_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Errors that mean "this token is refused" (recorded as ``deny``); others are faults.
_REFUSALS: Final = (
    MalformedInputError,
    VerificationError,
    ValidityError,
    PolicyError,
    KeyRegistryError,
)


def _audit_reason(text: str) -> str:
    """*text* fit for an audit entry's reason: no control characters, bounded."""
    text = _AUDIT_CONTROL.sub("?", text)
    if len(text) > MAX_REASON_LENGTH:
        text = text[: MAX_REASON_LENGTH - 3] + "..."
    return text


def _check_recording(
    recorder: AccessRecorder | None, actor: str | None, agency: str | None, caller: str
) -> str | None:
    """The own agency to record under (None without a recorder); check the arguments."""
    if recorder is None:
        if actor is not None or agency is not None:
            raise UsageError(f"{caller}: actor and agency are only used with a recorder")
        return None
    if not callable(getattr(recorder, "record", None)):
        raise UsageError(
            f"{caller}: recorder must be an AccessRecorder (e.g. AuditLogRecorder(log)) or None"
        )
    if not isinstance(actor, str) or not actor or len(actor) > MAX_ACTOR_LENGTH:
        raise UsageError(
            f"{caller}: a recorder needs actor=, the officer or system acting "
            f"(1-{MAX_ACTOR_LENGTH} characters)"
        )
    if _AUDIT_CONTROL.search(actor):
        raise UsageError(f"{caller}: actor must not contain control characters")
    if agency is None:
        log = getattr(recorder, "log", None)
        origin = getattr(log, "origin", None)
        parsed = agency_of_log_origin(origin) if isinstance(origin, str) else None
        if parsed is None:
            raise UsageError(
                f"{caller}: give agency= (our own agency id) with this recorder; it is "
                "taken from the log origin only for a recorder of a safeshare audit log"
            )
        agency = parsed[1]
    if not isinstance(agency, str) or not _AGENCY_ID.fullmatch(agency):
        raise UsageError(f"{caller}: agency must be an agency id such as XA-NPOL")
    return agency


def _claimed(token: object, struct: type[_S]) -> _S | None:
    """The claims *token* makes, unverified (for a denial's metadata), or None."""
    try:
        _, payload_b64, _ = _split(token, what="consent token")
        payload = _decode_payload(payload_b64, what="consent token")
        return _convert(payload, struct, what="consent token", error=MalformedInputError)
    except SafeShareError:
        return None


def _record_denial(
    recorder: AccessRecorder,
    error: SafeShareError,
    *,
    what: str,
    agency: str,
    actor: str,
    now: datetime,
    counterparty: str | None,
    jti: str | None,
    envelope_digest: str | None = None,
    purpose: str | None = None,
) -> None:
    """Record the refusal of a consent token; the recorder's error wins over *error*."""
    entry = AuditEntry(
        action="deny",
        time=to_unix(now),
        actor=actor,
        agency=agency,
        counterparty=counterparty if counterparty != agency else None,
        jti=jti,
        envelope_digest=envelope_digest,
        purpose=purpose,
        outcome="denied",
        reason=_audit_reason(f"{what} refused: {error.message}"),
    )
    try:
        recorder.record(entry)
    except SafeShareError as exc:
        raise exc from error


def _grant_entry(
    grant: ConsentGrant, *, agency: str, actor: str, now: datetime, reason: str
) -> AuditEntry:
    return AuditEntry(
        action="consent_grant",
        time=to_unix(now),
        actor=actor,
        agency=agency,
        counterparty=grant.holder if agency == grant.originator else grant.originator,
        jti=grant.grant_id,
        envelope_digest=grant.envelope_digest,
        purpose=grant.purpose,
        outcome="success",
        reason=_audit_reason(
            f"{reason}: {grant.originator} allows {grant.holder} the {grant.describe()} "
            f"until {rfc3339(grant.expires_at)}"
        ),
    )


def record_grant_issued(
    recorder: AccessRecorder,
    grant: ConsentGrant,
    *,
    actor: str,
    now: datetime | None = None,
) -> int:
    """Record, on the originator's side, that it issued *grant*; return the entry's index.

    Call it with the grant verified after :func:`issue_grant` (as ``safeshare
    consent grant`` does), before handing the token out. The entry is
    ``consent_grant``/``success`` of ``grant.originator`` with the holder as
    counterparty, the grant id as ``jti``, the envelope digest and the
    purpose (for scope ``purpose``).
    """
    if not isinstance(grant, ConsentGrant):
        raise UsageError("record_grant_issued() takes the ConsentGrant issued")
    agency = _check_recording(recorder, actor, grant.originator, "record_grant_issued()")
    assert agency is not None
    entry = _grant_entry(
        grant, agency=agency, actor=actor, now=resolve_now(now), reason="consent granted"
    )
    return recorder.record(entry)


def record_revocation_issued(
    recorder: AccessRecorder,
    token: str,
    *,
    actor: str,
    now: datetime | None = None,
    holder: str | None = None,
    envelope_digest: str | None = None,
) -> int:
    """Record, on the originator's side, the revocation *token* it issued; return the index.

    *token* is what :func:`issue_revocation` returned. The entry is
    ``consent_revoke``/``success`` of the revoking agency, with the revoked
    grant's id as ``jti``; give *holder* and *envelope_digest* of the
    revoked grant, if known, to record them too.
    """
    claims = _claimed(token, RevocationClaims)
    if claims is None:
        raise UsageError("record_revocation_issued() takes the token issue_revocation() returned")
    agency = _check_recording(recorder, actor, claims.iss, "record_revocation_issued()")
    assert agency is not None
    if envelope_digest is not None and not _HEX_DIGEST.fullmatch(envelope_digest):
        raise UsageError("envelope_digest must be a lower-case hex SHA-256")
    entry = AuditEntry(
        action="consent_revoke",
        time=to_unix(resolve_now(now)),
        actor=actor,
        agency=agency,
        counterparty=holder,
        jti=claims.grant_id,
        envelope_digest=envelope_digest,
        outcome="success",
        reason="consent revoked by its originator",
    )
    return recorder.record(entry)


# -- the store ------------------------------------------------------------------------------

CONSENT_SCHEMA: Final = Schema(
    component="consent",
    migrations=(
        Migration(
            version=1,
            sqlite=(
                "CREATE TABLE safeshare_consent_grant ("
                "originator TEXT NOT NULL, "
                "grant_id TEXT NOT NULL, "
                "holder TEXT NOT NULL, "
                "envelope_digest TEXT NOT NULL, "
                "envelope_jti TEXT NOT NULL, "
                "scope TEXT NOT NULL, "
                "purpose TEXT, "
                "onward_recipient TEXT, "
                "issued_at INTEGER NOT NULL, "
                "expires_at INTEGER NOT NULL, "
                "token TEXT NOT NULL, "
                "added_at INTEGER NOT NULL, "
                "PRIMARY KEY (grant_id, originator))",
                "CREATE INDEX safeshare_consent_grant_envelope "
                "ON safeshare_consent_grant (envelope_digest, holder, scope)",
                "CREATE TABLE safeshare_consent_revocation ("
                "originator TEXT NOT NULL, "
                "grant_id TEXT NOT NULL, "
                "revocation_id TEXT NOT NULL, "
                "issued_at INTEGER NOT NULL, "
                "token TEXT NOT NULL, "
                "added_at INTEGER NOT NULL, "
                "PRIMARY KEY (grant_id, originator))",
            ),
            postgresql=(
                "CREATE TABLE safeshare_consent_grant ("
                'originator TEXT COLLATE "C" NOT NULL, '
                'grant_id TEXT COLLATE "C" NOT NULL, '
                'holder TEXT COLLATE "C" NOT NULL, '
                'envelope_digest TEXT COLLATE "C" NOT NULL, '
                'envelope_jti TEXT COLLATE "C" NOT NULL, '
                'scope TEXT COLLATE "C" NOT NULL, '
                'purpose TEXT COLLATE "C", '
                'onward_recipient TEXT COLLATE "C", '
                "issued_at BIGINT NOT NULL, "
                "expires_at BIGINT NOT NULL, "
                "token TEXT NOT NULL, "
                "added_at BIGINT NOT NULL, "
                "PRIMARY KEY (grant_id, originator))",
                "CREATE INDEX safeshare_consent_grant_envelope "
                "ON safeshare_consent_grant (envelope_digest, holder, scope)",
                "CREATE TABLE safeshare_consent_revocation ("
                'originator TEXT COLLATE "C" NOT NULL, '
                'grant_id TEXT COLLATE "C" NOT NULL, '
                'revocation_id TEXT COLLATE "C" NOT NULL, '
                "issued_at BIGINT NOT NULL, "
                "token TEXT NOT NULL, "
                "added_at BIGINT NOT NULL, "
                "PRIMARY KEY (grant_id, originator))",
            ),
        ),
    ),
)

_INSERT_GRANT: Final = (
    "INSERT INTO safeshare_consent_grant (originator, grant_id, holder, envelope_digest, "
    "envelope_jti, scope, purpose, onward_recipient, issued_at, expires_at, token, added_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (grant_id, originator) DO NOTHING"
)
_INSERT_REVOCATION: Final = (
    "INSERT INTO safeshare_consent_revocation "
    "(originator, grant_id, revocation_id, issued_at, token, added_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (grant_id, originator) DO NOTHING"
)
_FIND: Final = (
    "SELECT g.token FROM safeshare_consent_grant g "
    "WHERE g.envelope_digest = ? AND g.holder = ? AND g.scope = ? AND g.originator = ? "
    "AND g.expires_at > ? AND NOT EXISTS (SELECT 1 FROM safeshare_consent_revocation r "
    "WHERE r.originator = g.originator AND r.grant_id = g.grant_id) "
    "ORDER BY g.expires_at DESC, g.issued_at DESC, g.grant_id"
)
_FOR_ENVELOPE: Final = (
    "SELECT g.token, r.token FROM safeshare_consent_grant g "
    "LEFT JOIN safeshare_consent_revocation r "
    "ON r.originator = g.originator AND r.grant_id = g.grant_id "
    "WHERE g.envelope_digest = ? "
    "ORDER BY g.issued_at, g.originator, g.grant_id"
)
#: Grants listed in a :meth:`ConsentStore.require` refusal, at most.
_MAX_LISTED: Final = 5


def _stored_grant(token: str) -> ConsentGrant:
    """A grant read back from the database (verified when it was added)."""
    try:
        _, payload_b64, _ = _split(token, what="consent grant")
        payload = _decode_payload(payload_b64, what="consent grant")
        claims = _convert(payload, GrantClaims, what="consent grant", error=MalformedInputError)
    except MalformedInputError as exc:
        raise StorageError(f"the consent store holds a damaged grant: {exc.message}") from None
    return _grant_from_claims(claims, token)


def _stored_revocation(token: str) -> ConsentRevocation:
    try:
        _, payload_b64, _ = _split(token, what="consent revocation")
        payload = _decode_payload(payload_b64, what="consent revocation")
        claims = _convert(
            payload, RevocationClaims, what="consent revocation", error=MalformedInputError
        )
    except MalformedInputError as exc:
        raise StorageError(f"the consent store holds a damaged revocation: {exc.message}") from None
    return _revocation_from_claims(claims, token)


def _signing_kid(token: str) -> str:
    header, _ = decode_protected(token.split(".", 1)[0], what="consent grant header")
    return str(header.get("kid"))


@dataclass(frozen=True, slots=True)
class _Query:
    envelope_digest: str
    holder: str
    originator: str
    scope: ConsentScope
    purpose: str | None
    onward_recipient: str | None
    now: datetime

    def matches(self, grant: ConsentGrant) -> bool:
        """Exactly the envelope, holder, originator, scope and target asked for."""
        return (
            grant.envelope_digest == self.envelope_digest
            and grant.holder == self.holder
            and grant.originator == self.originator
            and grant.scope == self.scope
            and grant.purpose == self.purpose
            and grant.onward_recipient == self.onward_recipient
        )

    def in_time(self, grant: ConsentGrant) -> bool:
        return grant.issued_at - DEFAULT_SKEW <= self.now < grant.expires_at

    def wanted(self) -> str:
        return describe_scope(self.scope, self.purpose, self.onward_recipient)


def _query(
    *,
    envelope_digest: str,
    holder: str,
    originator: str,
    scope: ConsentScope,
    purpose: str | None,
    onward_recipient: str | None,
    now: datetime,
) -> _Query:
    """Check the arguments of find/require (a bad one is a programming error)."""
    if not isinstance(envelope_digest, str) or not _HEX_DIGEST.fullmatch(envelope_digest):
        raise UsageError(
            "envelope_digest must be the lower-case hex SHA-256 of the envelope "
            "(OpenedEnvelope.digest)"
        )
    for name, value in (("holder", holder), ("originator", originator)):
        if not isinstance(value, str) or not _AGENCY_ID.fullmatch(value):
            raise UsageError(f"{name} must be an agency id such as XA-NPOL")
    if scope not in CONSENT_SCOPES:
        raise UsageError(f"scope must be one of {', '.join(CONSENT_SCOPES)}; got {scope!r}")
    if scope == "purpose":
        if not isinstance(purpose, str) or not _CODE.fullmatch(purpose):
            raise UsageError("scope 'purpose' needs the purpose code asked for (purpose=...)")
    elif purpose is not None:
        raise UsageError(f"purpose is only given with scope 'purpose', not {scope!r}")
    if scope == "onward_transfer":
        if not isinstance(onward_recipient, str) or not _AGENCY_ID.fullmatch(onward_recipient):
            raise UsageError(
                "scope 'onward_transfer' needs the agency id of the onward recipient "
                "(onward_recipient=...)"
            )
    elif onward_recipient is not None:
        raise UsageError(
            f"onward_recipient is only given with scope 'onward_transfer', not {scope!r}"
        )
    return _Query(
        envelope_digest,
        holder,
        originator,
        scope,
        purpose,
        onward_recipient,
        require_aware(now, "now"),
    )


class ConsentStore:
    """Verified consent grants and revocations in a :class:`~safeshare.storage.Store`.

    Creating one applies the consent tables to the store if needed. The
    store holds no state of its own; any number of instances, threads and
    processes may share one database. Only verified tokens are stored, and
    every answer is computed from the stored signed tokens.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise UsageError("ConsentStore() takes a safeshare.storage.Store")
        store.ensure_schema(CONSENT_SCHEMA)
        self._store = store

    def add(
        self,
        token: str,
        *,
        registry: TrustRegistry,
        now: datetime | None = None,
        recorder: AccessRecorder | None = None,
        actor: str | None = None,
        agency: str | None = None,
    ) -> ConsentGrant:
        """Verify a grant (:func:`verify_grant`) and record it; return it.

        Idempotent for the same token. A different token with the id of a
        grant already recorded from the same originator raises
        :class:`~safeshare.errors.ReplayError`. A grant whose revocation was
        recorded before it is stored too, but :meth:`find` never returns it.

        With *recorder* (and *actor*, who acts), the grant is logged as
        ``consent_grant`` once it is stored, before this returns; a refused
        token is logged as ``deny`` before the error is raised (a recorder
        failure is raised instead, chained to the refusal). *agency* is our
        own agency id (default: the agency of the recorder's log origin); a
        grant for another holder is then refused
        (:class:`~safeshare.errors.VerificationError`).
        """
        own = _check_recording(recorder, actor, agency, "ConsentStore.add()")
        now = resolve_now(now)
        try:
            grant = verify_grant(token, registry=registry, now=now)
            if own is not None and grant.holder != own:
                raise VerificationError(
                    f"consent grant {grant.grant_id} is for {grant.holder}, not for us ({own})"
                )
            new = self._insert_grant(grant, now)
        except _REFUSALS as exc:
            if recorder is not None and own is not None and actor is not None:
                claims = _claimed(token, GrantClaims)
                _record_denial(
                    recorder,
                    exc,
                    what="consent grant",
                    agency=own,
                    actor=actor,
                    now=now,
                    counterparty=None if claims is None else claims.iss,
                    jti=None if claims is None else claims.jti,
                    envelope_digest=None if claims is None else claims.envelope_digest,
                    purpose=None
                    if claims is None or isinstance(claims.purpose, msgspec.UnsetType)
                    else claims.purpose,
                )
            raise
        if recorder is not None and own is not None and actor is not None:
            reason = "consent grant recorded" if new else "consent grant already on file"
            recorder.record(_grant_entry(grant, agency=own, actor=actor, now=now, reason=reason))
        return grant

    def _insert_grant(self, grant: ConsentGrant, now: datetime) -> bool:
        """Store *grant*; True if new, False if the same token was on file."""
        row = (
            grant.originator,
            grant.grant_id,
            grant.holder,
            grant.envelope_digest,
            grant.envelope_jti,
            grant.scope,
            grant.purpose,
            grant.onward_recipient,
            to_unix(grant.issued_at),
            to_unix(grant.expires_at),
            grant.token,
            to_unix(now),
        )
        with self._store.transaction(write=True) as cur:
            cur.execute(_INSERT_GRANT, row)
            if cur.rowcount == 1:
                return True
            rows = cur.execute(
                "SELECT token FROM safeshare_consent_grant WHERE originator = ? AND grant_id = ?",
                (grant.originator, grant.grant_id),
            )
        if rows and rows[0][0] == grant.token:
            return False
        raise ReplayError(
            f"{grant.originator} already granted a different consent with the id "
            f"{grant.grant_id}; the new one is refused",
            hint=f"a grant id is never reused: report it to {grant.originator}",
        )

    def revoke(
        self,
        token: str,
        *,
        registry: TrustRegistry,
        now: datetime | None = None,
        recorder: AccessRecorder | None = None,
        actor: str | None = None,
        agency: str | None = None,
    ) -> ConsentRevocation:
        """Verify a revocation (:func:`verify_revocation`) and record it; return it.

        A revocation by an agency other than the recorded grant's originator
        raises :class:`~safeshare.errors.VerificationError` and changes
        nothing. A revocation of a grant not (yet) recorded is kept, and
        applies to that grant of the revoking agency when it arrives. The
        first revocation of a grant is the one kept; revoking again is a no-op.

        With *recorder* and *actor* (and *agency*, as for :meth:`add`), the
        revocation is logged as ``consent_revoke`` (the grant id as ``jti``,
        with the grant's envelope digest when the grant is on file) once it
        is stored; a refused revocation is logged as ``deny``.
        """
        own = _check_recording(recorder, actor, agency, "ConsentStore.revoke()")
        now = resolve_now(now)
        try:
            revocation = verify_revocation(token, registry=registry, now=now)
            digest = self._insert_revocation(revocation, now)
        except _REFUSALS as exc:
            if recorder is not None and own is not None and actor is not None:
                claims = _claimed(token, RevocationClaims)
                _record_denial(
                    recorder,
                    exc,
                    what="consent revocation",
                    agency=own,
                    actor=actor,
                    now=now,
                    counterparty=None if claims is None else claims.iss,
                    jti=None if claims is None else claims.grant_id,
                )
            raise
        if recorder is not None and own is not None and actor is not None:
            recorder.record(
                AuditEntry(
                    action="consent_revoke",
                    time=to_unix(now),
                    actor=actor,
                    agency=own,
                    counterparty=revocation.originator if revocation.originator != own else None,
                    jti=revocation.grant_id,
                    envelope_digest=digest,
                    outcome="success",
                    reason="consent revocation recorded"
                    + ("" if digest is not None else " (the grant is not on file yet)"),
                )
            )
        return revocation

    def _insert_revocation(self, revocation: ConsentRevocation, now: datetime) -> str | None:
        """Store *revocation*; the revoked grant's envelope digest if it is on file."""
        with self._store.transaction(write=True) as cur:
            rows = cur.execute(
                "SELECT originator, envelope_digest FROM safeshare_consent_grant "
                "WHERE grant_id = ?",
                (revocation.grant_id,),
            )
            originators = sorted(str(r[0]) for r in rows)
            if originators and revocation.originator not in originators:
                raise VerificationError(
                    f"consent grant {revocation.grant_id} was issued by {originators[0]}; "
                    f"{revocation.originator} cannot revoke it (only the originator can)"
                )
            digests = [str(r[1]) for r in rows if str(r[0]) == revocation.originator]
            cur.execute(
                _INSERT_REVOCATION,
                (
                    revocation.originator,
                    revocation.grant_id,
                    revocation.revocation_id,
                    to_unix(revocation.issued_at),
                    revocation.token,
                    to_unix(now),
                ),
            )
        return digests[0] if digests else None

    def find(
        self,
        *,
        envelope_digest: str,
        holder: str,
        originator: str,
        scope: ConsentScope,
        purpose: str | None = None,
        onward_recipient: str | None = None,
        now: datetime,
        registry: TrustRegistry | None = None,
    ) -> ConsentGrant | None:
        """A valid grant for exactly this use, or None.

        Valid means: for the envelope with *envelope_digest*, to *holder*,
        signed by *originator* (pass the envelope's issuer), for *scope* and
        exactly *purpose* (scope ``purpose``) or *onward_recipient* (scope
        ``onward_transfer``), issued (allowing :data:`DEFAULT_SKEW`) and not
        expired at *now*, and not revoked. With *registry*, a grant whose
        signing key is revoked in it by *now* is not valid either. Of several
        valid grants, the one that expires last is returned.
        """
        query = _query(
            envelope_digest=envelope_digest,
            holder=holder,
            originator=originator,
            scope=scope,
            purpose=purpose,
            onward_recipient=onward_recipient,
            now=now,
        )
        if registry is not None:
            _check_registry(registry, "find()")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(
                _FIND,
                (
                    query.envelope_digest,
                    query.holder,
                    query.scope,
                    query.originator,
                    to_unix(query.now),
                ),
            )
        for (token,) in rows:
            grant = _stored_grant(str(token))
            if not (query.matches(grant) and query.in_time(grant)):
                continue
            if registry is not None and self._key_distrusted(registry, grant, query.now):
                continue
            return grant
        return None

    def require(
        self,
        *,
        envelope_digest: str,
        holder: str,
        originator: str,
        scope: ConsentScope,
        purpose: str | None = None,
        onward_recipient: str | None = None,
        now: datetime,
        registry: TrustRegistry | None = None,
    ) -> ConsentGrant:
        """Like :meth:`find`, but raise :class:`~safeshare.errors.PolicyError` if none.

        The message names the consent that is missing (who must allow whom
        to do what with which envelope) and why the grants on file for this
        envelope and holder do not serve (expired, revoked, another use).
        """
        grant = self.find(
            envelope_digest=envelope_digest,
            holder=holder,
            originator=originator,
            scope=scope,
            purpose=purpose,
            onward_recipient=onward_recipient,
            now=now,
            registry=registry,
        )
        if grant is not None:
            return grant
        query = _query(
            envelope_digest=envelope_digest,
            holder=holder,
            originator=originator,
            scope=scope,
            purpose=purpose,
            onward_recipient=onward_recipient,
            now=now,
        )
        raise PolicyError(
            f"consent missing: {holder} holds no valid consent of {originator} to the "
            f"{query.wanted()} of the data of envelope {envelope_digest[:16]}... "
            f"({_LEGAL_RULE[scope]})" + self._on_file(query, registry),
            hint=(
                f"ask {originator} for a consent grant for this use (a consent_request "
                "naming the envelope) and record it (ConsentStore.add, 'safeshare consent add')"
            ),
        )

    def grants_for(self, envelope_digest: str) -> list[ConsentGrant]:
        """Every grant recorded for the envelope, valid or not (oldest first).

        A listing, not an authorisation: expired and revoked grants are
        included; use :meth:`find` or :meth:`require` to decide a use.
        """
        return [grant for grant, _ in self._records(envelope_digest)]

    def revocation_for(self, grant: ConsentGrant) -> ConsentRevocation | None:
        """The recorded revocation of *grant* (by its originator), or None."""
        if not isinstance(grant, ConsentGrant):
            raise UsageError("revocation_for() takes a ConsentGrant")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(
                "SELECT token FROM safeshare_consent_revocation "
                "WHERE originator = ? AND grant_id = ?",
                (grant.originator, grant.grant_id),
            )
        return _stored_revocation(str(rows[0][0])) if rows else None

    # -- helpers --------------------------------------------------------------------------

    def _records(self, envelope_digest: str) -> list[tuple[ConsentGrant, ConsentRevocation | None]]:
        if not isinstance(envelope_digest, str) or not _HEX_DIGEST.fullmatch(envelope_digest):
            raise UsageError("envelope_digest must be a lower-case hex SHA-256")
        with self._store.transaction(write=False) as cur:
            rows = cur.execute(_FOR_ENVELOPE, (envelope_digest,))
        return [
            (
                _stored_grant(str(grant_token)),
                None if revocation_token is None else _stored_revocation(str(revocation_token)),
            )
            for grant_token, revocation_token in rows
        ]

    @staticmethod
    def _key_distrusted(registry: TrustRegistry, grant: ConsentGrant, now: datetime) -> bool:
        try:
            return (
                _revoked_key_message(registry, grant.originator, _signing_kid(grant.token), now)
                is not None
            )
        except (MalformedInputError, UnknownAgencyError):
            return True  # a damaged header, or an agency gone from the registry

    def _on_file(self, query: _Query, registry: TrustRegistry | None) -> str:
        """Why the grants on file for this envelope and holder do not serve."""
        notes: list[str] = []
        for grant, revocation in self._records(query.envelope_digest):
            if grant.holder != query.holder:
                continue
            what = f"grant {grant.grant_id} of {grant.originator} ({grant.describe()})"
            if grant.originator != query.originator:
                notes.append(f"{what} is not from the originator {query.originator}")
            elif not query.matches(grant):
                notes.append(f"{what} is for another use")
            elif revocation is not None:
                reason = f": {revocation.reason}" if revocation.reason else ""
                notes.append(f"{what} was revoked at {rfc3339(revocation.issued_at)}{reason}")
            elif query.now >= grant.expires_at:
                notes.append(f"{what} expired at {rfc3339(grant.expires_at)}")
            elif not query.in_time(grant):
                notes.append(f"{what} is valid only from {rfc3339(grant.issued_at)}")
            elif registry is not None and self._key_distrusted(registry, grant, query.now):
                notes.append(f"{what} is signed with a key revoked in the registry")
            else:  # pragma: no cover - find() would have returned it
                notes.append(f"{what} is on file")
        if not notes:
            return "; no consent of any kind is on file for this envelope and holder"
        more = len(notes) - _MAX_LISTED
        listed = "; ".join(notes[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")
        return f"; on file: {listed}"
