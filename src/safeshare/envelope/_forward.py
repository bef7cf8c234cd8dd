"""Onward transfer: forward part of a received record, and verify a forwarding chain.

The normative text is ``specs/safeshare-v1.md`` section 7. In short: an envelope
sealed to one agency B binds B's signing key (``cnf``, RFC 9901 section
4.1.2). To pass data on to C, B presents the originator's Issuer-signed JWT
with a *subset* of the disclosures it received and a Key Binding JWT (RFC
9901 section 4.3) signed with the bound key, addressed to C (``aud``), with a
nonce and the ``sd_hash`` of exactly what it presents. That KB-JWT is also
B's forwarding statement: it names the key C's envelope is sealed to, the
digests of the disclosures passed on, C's own signing key (``cnf``, so that C
can forward in turn), the originator's consent grant where the conditions
reserve onward transfer, and the previous hop's KB-JWT (``prev``) when B
itself received the data by forwarding. The whole is encrypted to C in a JWE
of the same profile as a direct envelope, so an observer cannot tell a
forwarded envelope from a direct one.

C verifies, oldest hop first: the originator's signature (as for a direct
envelope), each hop's signature with the key the previous link bound (and
that the registry lists for the forwarding agency at the hop's ``iat``), that
each hop passes on no more than it received (``disclosed`` narrows), the
conditions (onward transfer forbidden, to listed agencies only, or with a
consent grant of the originator bound to this envelope, this holder and this
next recipient), and for the last hop: audience, sealed-to key and
``sd_hash`` over the presentation as received (an added, removed or
reordered disclosure breaks it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode, b64u_encode
from safeshare._internal.clock import from_unix, resolve_now, rfc3339, to_unix
from safeshare._jose import jwe, jws, sdjwt
from safeshare.envelope import _padding
from safeshare.envelope._profile import (
    DEFAULT_SKEW,
    DEFAULT_TTL,
    ENVELOPE_TYP,
    KB_JWT_TYP,
    MAX_ENVELOPE_BYTES,
    MAX_HOPS,
    MAX_TTL,
    SD_JWT_TYP,
    HopClaims,
    OkpJwk,
    SignedClaims,
)
from safeshare.envelope._seal import holder_binding, refuse_transfer
from safeshare.errors import (
    ExpiredError,
    MalformedInputError,
    NotYetValidError,
    PolicyError,
    SafeShareError,
    UsageError,
    VerificationError,
)
from safeshare.keys import AgencyKeySet, SigningKey, VerifyKey, jwk_thumbprint
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore, verify_grant
from safeshare.purpose.transfer import check_transfer
from safeshare.purpose.use import check_onward_transfer
from safeshare.registry import TrustRegistry

if TYPE_CHECKING:
    from safeshare.audit.recorder import AccessRecorder
    from safeshare.envelope._open import OpenedEnvelope

__all__ = ["ForwardingHop", "forward", "verify_chain"]

_ART = "Second Additional Protocol Art. 14(10)"


@dataclass(frozen=True, slots=True)
class ForwardingHop:
    """One verified onward transfer of the data: *forwarder* passed it to *recipient*."""

    forwarder: str
    recipient: str
    issued_at: datetime
    expires_at: datetime
    jti: str
    """The hop's id: the replay-cache key of the envelope it travelled in, with *forwarder*."""
    disclosed: tuple[str, ...]
    """Digests of the disclosures passed on (sorted)."""
    consent_id: str | None
    """The originator's consent grant that authorised the hop, if the conditions needed one."""
    token: str
    """The hop's Key Binding JWT (compact JWS): the signed forwarding statement."""


# -- forwarding (holder side) -------------------------------------------------------------


def forward(
    opened: OpenedEnvelope,
    *,
    sender: AgencyKeySet,
    to: str,
    registry: TrustRegistry,
    disclose: Sequence[str | Sequence[str | int]],
    actor: str,
    recorder: AccessRecorder,
    consents: ConsentStore | None = None,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
    pad: bool = False,
) -> bytes:
    """Forward the record fields *disclose* of *opened* to agency *to*; return the envelope.

    *opened* is an envelope *sender* opened (directly, or forwarded to it);
    *disclose* names the record fields to pass on, as ``"field"`` or
    ``"address.city"`` strings or as paths (``("address", "city")``); only
    their disclosures travel, so *to* sees nothing else. Every other field
    stays an undisclosed digest, as the originator signed it.

    Checks, in order, each raising a typed error: the envelope binds a key of
    *sender* (``cnf``; :class:`~safeshare.errors.UsageError` for a key set
    that does not hold it, :class:`~safeshare.errors.PolicyError` for an
    envelope without binding); the chain has fewer than
    :data:`~safeshare.envelope.MAX_HOPS` hops; the originator's envelope is
    still valid (:class:`~safeshare.errors.ExpiredError`); *to*'s declared
    safeguards meet the conditions (:mod:`safeshare.purpose.transfer`; a
    refusal is recorded as a denial); and the onward transfer itself
    (:func:`safeshare.purpose.use.check_onward_transfer`: forbidden, listed
    agencies, or a consent grant in *consents*), which records the decision
    (``forward``, or ``deny``). The envelope is returned only after that.
    With *pad*, the token is padded to a size bucket (spec section 16.2).
    """
    return forward_with_randomness(
        opened,
        sender=sender,
        to=to,
        registry=registry,
        disclose=disclose,
        actor=actor,
        recorder=recorder,
        consents=consents,
        ttl=ttl,
        now=now,
        pad=pad,
        randbytes=os.urandom,
    )


def forward_with_randomness(
    opened: OpenedEnvelope,
    *,
    sender: AgencyKeySet,
    to: str,
    registry: TrustRegistry,
    disclose: Sequence[str | Sequence[str | int]],
    actor: str,
    recorder: AccessRecorder,
    consents: ConsentStore | None,
    ttl: timedelta,
    now: datetime | None,
    pad: bool,
    randbytes: Callable[[int], bytes],
) -> bytes:
    """:func:`forward` with an explicit randomness source (private: test vectors only)."""
    now = resolve_now(now).replace(microsecond=0)
    if opened.recipient != sender.agency:
        raise UsageError(
            f"the envelope was opened by {opened.recipient}; only it can forward it, with its keys"
        )
    if recorder is None or not callable(getattr(recorder, "record", None)):
        raise UsageError("an onward transfer must be recorded: pass recorder= (and actor=)")
    if not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise UsageError(f"ttl must be between one second and {MAX_TTL.days} days")
    paths = _paths(disclose)
    if opened.holder_binding is None:
        raise PolicyError(
            f"the envelope {opened.jti} of {opened.issuer} binds no key of {opened.recipient}: "
            "it was sealed to several agencies, or its conditions forbid onward transfer, so it "
            "cannot be forwarded",
            hint=f"ask {opened.issuer} to send the data to {to} itself",
        )
    key = _holder_key(sender, opened.holder_binding)
    if len(opened.provenance) >= MAX_HOPS:
        raise PolicyError(
            f"the data has already been forwarded {len(opened.provenance)} times; this profile "
            f"allows at most {MAX_HOPS} onward transfers",
            hint=f"ask {opened.issuer} to send the data to {to} itself",
        )
    if now >= opened.expires_at:
        raise ExpiredError(
            f"the envelope of {opened.issuer} expired at {rfc3339(opened.expires_at)}; its data "
            "can be forwarded only while it is valid",
            hint=f"ask {opened.issuer} for a new envelope",
        )
    if opened.provenance and now >= opened.provenance[-1].expires_at:
        last = opened.provenance[-1]
        raise ExpiredError(
            f"the envelope {last.forwarder} forwarded to us expired at "
            f"{rfc3339(last.expires_at)}; its data can be forwarded only while it is valid",
            hint=f"ask {last.forwarder} to forward it again",
        )
    registry.verify_key(sender.agency, key.kid, at=now)

    issuer_jwt, payload, parsed = opened.held_disclosures()
    selected = sdjwt.select(payload, parsed, [("record", *p) for p in paths])

    # The target's declared safeguards must meet the conditions (as for a seal);
    # a refusal is recorded as a denial. No override: the originator decides.
    mismatches = check_transfer(
        registry, [to], opened.handling, now=now, legal_basis=opened.legal_basis
    )
    if mismatches:
        refuse_transfer(
            mismatches,
            override=None,
            recorder=recorder,
            actor=actor,
            agency=sender.agency,
            purpose=opened.purpose,
            now=now,
        )
    # Forbidden / listed / consent: records "deny" and raises, or records "forward"
    # and returns the consent grant to attach (with_prior_authorisation).
    grant = check_onward_transfer(
        opened, to, registry=registry, consents=consents, recorder=recorder, actor=actor, now=now
    )

    enc_key = registry.encryption_key(to, at=now)
    presentation = sdjwt.serialize(issuer_jwt, selected)
    iat = to_unix(now)
    hop: dict[str, Any] = {
        "iss": sender.agency,
        "aud": to,
        "iat": iat,
        "exp": iat + int(ttl.total_seconds()),
        "jti": b64u_encode(randbytes(16)),
        "nonce": b64u_encode(randbytes(16)),
        "sd_hash": sdjwt.sd_hash(presentation),
        "sealed_to": [enc_key.kid],
        "disclosed": sorted(d.digest for d in selected),
    }
    if opened.handling.onward_transfer != "forbidden":
        hop["cnf"] = holder_binding(registry.signing_key(to, at=now))
    if grant is not None:
        hop["consent"] = grant.token
    if opened.provenance:
        hop["prev"] = opened.provenance[-1].token
    body = strictjson.dumps(hop)
    if pad:
        fixed = (
            len(presentation) + len(jws.protected_b64({"typ": KB_JWT_TYP}, key)) + 2
        ) + jws.MAX_SIGNATURE_B64
        hop["pad"] = "0" * _padding.pad_zeros(fixed, len(body))
        body = strictjson.dumps(hop)
    kb_jwt = jws.sign_compact({"typ": KB_JWT_TYP}, body, key)
    token = presentation + kb_jwt
    envelope = jwe.encrypt(
        token.encode("ascii"), [enc_key], typ=ENVELOPE_TYP, cty=SD_JWT_TYP, randbytes=randbytes
    )
    out = strictjson.dumps(envelope)
    if len(out) > MAX_ENVELOPE_BYTES:
        raise UsageError(
            f"the forwarded envelope would be {len(out)} bytes; recipients refuse envelopes over "
            f"{MAX_ENVELOPE_BYTES} bytes"
        )
    return out


def _paths(disclose: object) -> list[tuple[str | int, ...]]:
    if isinstance(disclose, str) or not isinstance(disclose, Sequence) or not disclose:
        raise UsageError(
            "disclose lists the record fields to pass on, e.g. ['name', 'address.city']"
        )
    paths: list[tuple[str | int, ...]] = []
    for item in disclose:
        if isinstance(item, str):
            path: tuple[str | int, ...] = tuple(item.split("."))
        elif isinstance(item, Sequence) and all(
            isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in item
        ):
            path = tuple(item)
        else:
            raise UsageError(f"cannot read the field path {item!r}")
        if not path or any(p == "" for p in path):
            raise UsageError(f"empty field name in {item!r}")
        paths.append(path)
    return paths


def _holder_key(sender: AgencyKeySet, binding: Any) -> SigningKey:
    """The signing key of *sender* that the binding names (by RFC 7638 thumbprint)."""
    kid = jwk_thumbprint(binding["jwk"])
    for key in sender.signing_keys:
        if key.kid == kid:
            return key
    raise UsageError(
        f"the envelope binds signing key {kid} of {sender.agency}; this key set does not hold "
        "it (was it replaced by a key rotation without keeping the old key?)"
    )


# -- verification (recipient side) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parsed:
    protected_b64: str
    payload_b64: str
    signature_b64: str
    payload: bytes
    claims: HopClaims
    token: str


def _parse_hop(token: str, position: int) -> _Parsed:
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedInputError(f"forwarding hop {position}: not a compact JWS (three parts)")
    payload = b64u_decode(parts[1], what=f"forwarding hop {position} payload")
    data = strictjson.loads(
        payload, what=f"forwarding hop {position} payload", max_bytes=MAX_ENVELOPE_BYTES
    )
    try:
        claims = msgspec.convert(data, HopClaims)
    except msgspec.ValidationError as exc:
        raise MalformedInputError(
            f"forwarding hop {position}: the claims do not match the profile: {exc}"
        ) from None
    return _Parsed(parts[0], parts[1], parts[2], payload, claims, token)


def _unnest(kb_jwt: str) -> list[_Parsed]:
    """The hops, oldest first, from the last hop's KB-JWT and its ``prev`` links."""
    chain: list[_Parsed] = []
    token: str | None = kb_jwt
    while token is not None:
        if len(chain) == MAX_HOPS:
            raise MalformedInputError(
                f"the forwarding chain has more than {MAX_HOPS} hops (the profile's limit)"
            )
        hop = _parse_hop(token, len(chain) + 1)
        chain.append(hop)
        prev = hop.claims.prev
        token = prev if isinstance(prev, str) else None
    chain.reverse()
    return chain


def _binding_key(binding: OkpJwk) -> str:
    return jwk_thumbprint({"kty": binding.kty, "crv": binding.crv, "x": binding.x})


def verify_chain(
    kb_jwt: str,
    *,
    claims: SignedClaims,
    presentation: str,
    presented: Sequence[str],
    digest: str,
    handling: HandlingConditions,
    registry: TrustRegistry,
    recipient: str,
    recipient_kid: str,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
) -> tuple[ForwardingHop, ...]:
    """Verify the forwarding chain of a forwarded envelope; return its hops, oldest first.

    *claims* are the originator's verified signed claims, *presentation* the
    SD-JWT as received up to its last ``~``, *presented* the digests of its
    disclosures, *digest* the hex SHA-256 of the Issuer-signed JWT. Raises
    :class:`~safeshare.errors.MalformedInputError` (structure),
    :class:`~safeshare.errors.VerificationError` (signatures, key binding,
    audience, sealed-to key, ``sd_hash``, widening),
    :class:`~safeshare.errors.PolicyError` (conditions and consent), the
    registry errors, and validity errors for hop times.
    """
    if not isinstance(claims.cnf, msgspec.Struct) or len(claims.aud) != 1:
        raise VerificationError(
            f"the envelope of {claims.iss} binds no holder key, so it cannot have been "
            "forwarded: this key binding is not the originator's"
        )
    hops = _unnest(kb_jwt)
    holder = claims.aud[0]
    binding: OkpJwk | None = claims.cnf.jwk
    previous_iat = claims.iat
    previous_exp = claims.exp
    out: list[ForwardingHop] = []
    for position, parsed in enumerate(hops, start=1):
        hop = parsed.claims
        where = f"forwarding hop {position} ({hop.iss} -> {hop.aud})"
        if hop.iss != holder:
            raise VerificationError(
                f"{where}: forwarded by {hop.iss}, but the data was held by {holder}"
            )
        if binding is None:
            raise VerificationError(
                f"{where}: the previous hop bound no key for {holder}, so it cannot forward"
            )
        bound_kid = _binding_key(binding)
        issued_at = from_unix(hop.iat)

        def hop_key(
            kid: str,
            _header: dict[str, Any],
            *,
            _w: str = where,
            _b: str = bound_kid,
            _who: str = hop.iss,
            _at: datetime = issued_at,
        ) -> VerifyKey:
            if kid != _b:
                raise VerificationError(
                    f"{_w}: signed with key {kid}, not with the key {_b} the data was bound to"
                )
            return registry.verify_key(_who, kid, at=_at)

        jws.verify_parts(
            parsed.protected_b64,
            parsed.payload_b64,
            parsed.signature_b64,
            what=where,
            typ=KB_JWT_TYP,
            resolve_key=hop_key,
            decoded_payload=parsed.payload,
        )
        _check_hop_times(
            hop,
            where,
            previous_iat=previous_iat,
            previous_exp=previous_exp,
            original_exp=claims.exp,
            skew=skew,
        )
        if hop.aud == hop.iss:
            raise VerificationError(f"{where}: an agency cannot forward to itself")
        if hop.disclosed != sorted(set(hop.disclosed)):
            raise MalformedInputError(f"{where}: 'disclosed' must be sorted and without repeats")
        if out and not set(hop.disclosed) <= set(out[-1].disclosed):
            raise VerificationError(
                f"{where}: passes on disclosures that {hop.iss} did not receive"
            )
        registry.check_active(hop.aud, at=issued_at)
        consent_id = _check_conditions(
            hop,
            where,
            claims=claims,
            digest=digest,
            handling=handling,
            registry=registry,
            skew=skew,
        )
        out.append(
            ForwardingHop(
                forwarder=hop.iss,
                recipient=hop.aud,
                issued_at=issued_at,
                expires_at=from_unix(hop.exp),
                jti=hop.jti,
                disclosed=tuple(hop.disclosed),
                consent_id=consent_id,
                token=parsed.token,
            )
        )
        holder = hop.aud
        binding = hop.cnf.jwk if isinstance(hop.cnf, msgspec.Struct) else None
        previous_iat, previous_exp = hop.iat, hop.exp

    last = hops[-1].claims
    where = f"forwarding hop {len(hops)} ({last.iss} -> {last.aud})"
    if last.aud != recipient:
        raise VerificationError(f"{where}: this envelope is forwarded to {last.aud}, not to us")
    if recipient_kid not in last.sealed_to:
        raise VerificationError(
            f"{where}: {last.iss} did not seal this envelope to our key: it was re-encrypted by "
            "someone else (surreptitious forwarding)"
        )
    if sdjwt.sd_hash(presentation) != last.sd_hash:
        raise VerificationError(
            f"{where}: the key binding does not cover the disclosures received (sd_hash "
            "mismatch, RFC 9901 section 7.3): a disclosure was added, removed or reordered "
            "after signing"
        )
    if sorted(presented) != last.disclosed:
        raise VerificationError(
            f"{where}: the disclosures received are not the ones the forwarding statement lists"
        )
    now_unix = to_unix(now)
    if now_unix >= last.exp + int(skew.total_seconds()):
        raise ExpiredError(
            f"{where}: the forwarded envelope expired at {rfc3339(from_unix(last.exp))}"
        )
    if last.iat > now_unix + int(skew.total_seconds()):
        raise NotYetValidError(
            f"{where}: issued at {rfc3339(from_unix(last.iat))}, in the future; check the clocks"
        )
    return tuple(out)


def _check_hop_times(
    hop: HopClaims,
    where: str,
    *,
    previous_iat: int,
    previous_exp: int,
    original_exp: int,
    skew: timedelta,
) -> None:
    tolerance = int(skew.total_seconds())
    if hop.exp <= hop.iat or hop.exp - hop.iat > int(MAX_TTL.total_seconds()):
        raise MalformedInputError(
            f"{where}: exp must be after iat and at most {MAX_TTL.days} days later"
        )
    if hop.iat + tolerance < previous_iat:
        raise VerificationError(f"{where}: dated before the data reached {hop.iss}")
    if hop.iat >= previous_exp + tolerance or hop.iat >= original_exp + tolerance:
        raise ExpiredError(
            f"{where}: forwarded at {rfc3339(from_unix(hop.iat))}, after the envelope it "
            "forwards had expired"
        )


def _check_conditions(
    hop: HopClaims,
    where: str,
    *,
    claims: SignedClaims,
    digest: str,
    handling: HandlingConditions,
    registry: TrustRegistry,
    skew: timedelta,
) -> str | None:
    """The originator's conditions for this hop; the consent grant's id when one was needed."""
    rule = handling.onward_transfer
    if rule == "forbidden":
        raise PolicyError(
            f"{where}: the conditions of {claims.iss} forbid any onward transfer "
            f"(onward_transfer: forbidden, {_ART})",
            hint=f"ask {claims.iss} to send the data to {hop.aud} itself",
        )
    if rule == "allowed_to_listed":
        if hop.aud not in handling.onward_allowed_to:
            raise PolicyError(
                f"{where}: the conditions of {claims.iss} allow onward transfer only to "
                f"{', '.join(handling.onward_allowed_to)}"
            )
        return None
    if not isinstance(hop.consent, str):
        raise PolicyError(
            f"{where}: the conditions of {claims.iss} allow onward transfer only with its prior "
            f"authorisation ({_ART}) and the forwarding statement carries no consent grant",
            hint=f"{hop.iss} must obtain a consent grant of {claims.iss} and attach it",
        )
    try:
        grant = verify_grant(hop.consent, registry=registry, now=from_unix(hop.iat), skew=skew)
    except SafeShareError as exc:
        raise PolicyError(
            f"{where}: the attached consent grant does not verify: {exc.message}"
        ) from None
    wanted = {
        "originator": (grant.originator, claims.iss),
        "holder": (grant.holder, hop.iss),
        "scope": (grant.scope, "onward_transfer"),
        "onward recipient": (grant.onward_recipient, hop.aud),
        "envelope": (grant.envelope_digest, digest),
        "envelope id": (grant.envelope_jti, claims.jti),
    }
    wrong = [name for name, (have, want) in wanted.items() if have != want]
    if wrong:
        raise PolicyError(
            f"{where}: the attached consent grant {grant.grant_id} does not authorise this "
            f"transfer (its {', '.join(wrong)} differ{'s' if len(wrong) == 1 else ''})",
            hint=f"{hop.iss} must attach the grant of {claims.iss} for exactly this transfer",
        )
    return grant.grant_id
