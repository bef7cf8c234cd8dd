"""Opening: the checks of ``specs/safeshare-v1.md`` section 6.2, in order.

1. size cap; 2. strict JSON and JWE profile parse (headers, members,
algorithms, ``zip``/``crit``/embedded keys, base64url); 3. select our
recipient entry by ``kid``; 4. decrypt; 5. split the SD-JWT; 6. parse the
signed claims strictly; 7. resolve the sender key from the registry by
(``iss``, ``kid``, ``sig``, at ``iat``) - the algorithm is the key's; 8.
verify the signature; 9. check the claims (audience, sealed-to binding,
version, type, times); 10. verify the disclosures (RFC 9901 section 7.1);
11. authorize the caller's purpose and acknowledgements
(:mod:`safeshare.purpose.enforce`; a refusal is recorded as a denial); 12.
record (``iss``, ``jti``) in the replay cache, atomically; 13. record the
access (audit entry ``open``) and return an immutable result.

:func:`reopen_held` re-runs steps 5 to 11 on a held copy
(:meth:`OpenedEnvelope.held`), skips step 12 and records the access (step 13);
both functions share :func:`_verify_token`, so they verify alike.

Step 10 runs before step 12 on purpose: a co-recipient who tampers with the
disclosures and re-encrypts the token to us must not be able to "use up" the
``jti`` of the genuine envelope (see ``docs/adr/0002-envelope-processing.md``).
Step 11 runs before step 12 for the same reason: an open refused for its
purpose does not consume the ``jti``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from pydantic import ValidationError

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_decode
from safeshare._internal.clock import from_unix, resolve_now, to_unix
from safeshare._jose import jwe, jws, sdjwt
from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.audit.recorder import AccessRecorder, AuditLogRecorder
from safeshare.envelope._forward import ForwardingHop, verify_chain
from safeshare.envelope._held import encode_held, parse_held
from safeshare.envelope._profile import (
    DEFAULT_SKEW,
    ENVELOPE_TYP,
    MAX_ENVELOPE_BYTES,
    MAX_RECIPIENTS,
    MAX_TTL,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    SD_JWT_TYP,
    HopClaims,
    SignedClaims,
)
from safeshare.errors import (
    ExpiredError,
    MalformedInputError,
    NotYetValidError,
    OversizedInputError,
    PolicyError,
    SafeShareError,
    UsageError,
    VerificationError,
)
from safeshare.keys import AgencyKeySet, VerifyKey
from safeshare.purpose import enforce
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.consent import ConsentStore
from safeshare.purpose.vocabulary import Vocabulary
from safeshare.registry import TrustRegistry
from safeshare.storage import Cursor, ReplayCache


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """The verified content of an envelope. Immutable; only exists if every check passed."""

    issuer: str
    audience: tuple[str, ...]
    recipient: str
    recipient_kid: str
    issued_at: datetime
    expires_at: datetime
    jti: str
    version: int
    message_type: str
    purpose: str
    legal_basis: str
    case_ref: str
    handling: HandlingConditions
    sealed_to: tuple[str, ...]
    record: Mapping[str, Any]
    digest: str
    """SHA-256 (hex) of the issuer-signed JWT: names this envelope's signed content."""
    opened_for: str
    """The purpose the caller opened the envelope for (``purpose``, or one it allows)."""
    actor: str
    """The officer or system that opened it (as recorded in the audit entry)."""
    holder_binding: Mapping[str, Any] | None
    """The ``cnf`` that binds our signing key (to forward with), or None if the data cannot
    be forwarded (sealed to several agencies, or onward transfer forbidden)."""
    provenance: tuple[ForwardingHop, ...]
    """The onward transfers the data went through, oldest first; empty for a direct envelope."""
    presentation: str = field(repr=False)
    """The originator's SD-JWT as received, up to its last ``~`` (what :func:`forward` passes on)."""
    _held: tuple[dict[str, Any], tuple[sdjwt.Disclosure, ...]] | None = field(
        default=None, repr=False, compare=False
    )
    """The verified payload and parsed disclosures of :attr:`presentation`, kept from the open."""

    def held_disclosures(self) -> tuple[str, dict[str, Any], tuple[sdjwt.Disclosure, ...]]:
        """(Issuer-signed JWT, its payload, the disclosures received), as verified at the open."""
        issuer_jwt, received, _ = sdjwt.split(self.presentation)
        if self._held is not None:
            return issuer_jwt, *self._held
        payload = strictjson.loads(
            b64u_decode(issuer_jwt.split(".")[1], what="signed token payload"),
            what="signed token payload",
            max_bytes=MAX_ENVELOPE_BYTES,
        )
        _, parsed = sdjwt.reveal(payload, received)
        return issuer_jwt, payload, tuple(parsed)

    def held(self) -> str:
        """The held copy of this envelope (format ``safeshare-held/v1``), to forward it later.

        The decrypted SD-JWT exactly as received (the Issuer-signed JWT, the
        disclosures and, for a forwarded envelope, the last hop's Key Binding
        JWT) with :attr:`recipient` and :attr:`recipient_kid`, as one JSON
        object (:mod:`safeshare.envelope._held`); :func:`reopen_held` verifies
        it again and returns an equal :class:`OpenedEnvelope`. It holds the
        record in clear: it is as sensitive as the record, for the holder's
        own use only (never send it; store it readable by the holder alone).
        """
        kb_jwt = self.provenance[-1].token if self.provenance else ""
        return encode_held(
            recipient=self.recipient,
            recipient_kid=self.recipient_kid,
            token=self.presentation + kb_jwt,
        )

    @property
    def forwarded_by(self) -> str | None:
        """The agency that forwarded the data to us, or None if the originator sent it."""
        return self.provenance[-1].forwarder if self.provenance else None

    def verified_claims(self) -> dict[str, Any]:
        """The verified claims as plain JSON values (what the test vectors list)."""
        return {
            "iss": self.issuer,
            "aud": list(self.audience),
            "iat": int(self.issued_at.timestamp()),
            "exp": int(self.expires_at.timestamp()),
            "jti": self.jti,
            "ver": self.version,
            "msg_type": self.message_type,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "case_ref": self.case_ref,
            "handling": self.handling.model_dump(mode="json"),
            "sealed_to": list(self.sealed_to),
            "record": thaw(self.record),
            **({"cnf": thaw(self._issuer_cnf)} if self._issuer_cnf is not None else {}),
        }

    @property
    def _issuer_cnf(self) -> Mapping[str, Any] | None:
        """The originator's ``cnf`` (the first holder's key), whoever holds the data now."""
        if not self.provenance:
            return self.holder_binding
        payload = strictjson.loads(
            b64u_decode(self.presentation.split(".")[1], what="signed token payload"),
            what="signed token payload",
            max_bytes=MAX_ENVELOPE_BYTES,
        )
        cnf = payload.get("cnf")
        return cnf if isinstance(cnf, dict) else None


def thaw(value: Any) -> Any:
    """Plain JSON values from the read-only record (mapping proxies, tuples), for JSON output."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def open_envelope(
    envelope: bytes | str,
    *,
    recipient: AgencyKeySet,
    registry: TrustRegistry,
    replay: ReplayCache,
    purpose: str,
    actor: str,
    recorder: AccessRecorder | None,
    vocabulary: Vocabulary | None = None,
    consents: ConsentStore | None = None,
    acknowledged: Collection[str] = (),
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> OpenedEnvelope:
    """Verify and decrypt *envelope* for *recipient*; return the verified result.

    Security properties: nothing is returned unless the envelope decrypts with
    one of *recipient*'s keys, the inner token is signed by a key that
    *registry* lists for the claimed issuer and that was valid (not revoked,
    agency not suspended) at the token's ``iat``, *recipient* is in ``aud``
    and the key we decrypted with is in ``sealed_to`` (no surreptitious
    forwarding), the token is within its lifetime (with *skew*), every
    disclosure verifies (RFC 9901 section 7.1), and (``iss``, ``jti``) has
    never been accepted by *replay* before. Every failure raises a typed
    :class:`~safeshare.errors.SafeShareError`; no claim leaks through it.

    Purpose and actor (:mod:`safeshare.purpose.enforce`): *actor* (the
    officer or system) opens the envelope for *purpose*, which must be the
    envelope's purpose, one the *vocabulary* (default: the shipped one)
    lists as compatible with it, or one that a valid consent grant of the
    issuer in *consents* allows for this envelope; every text in
    ``handling.acknowledgements`` must be in *acknowledged*. Otherwise a
    denial is recorded through *recorder* and
    :class:`~safeshare.errors.PolicyError` (``policy_violation``) is raised,
    before the replay cache is touched (the envelope still opens later for
    an allowed purpose). An allowed open is recorded through *recorder*
    after the replay insert, and the result is returned only after
    ``recorder.record`` returned; its error (e.g.
    :class:`~safeshare.errors.StorageError`) propagates and nothing is
    returned (the ``jti`` is then consumed). When *recorder* is an
    :class:`~safeshare.audit.recorder.AuditLogRecorder` whose log is in the
    same :class:`~safeshare.storage.Store` as *replay*, the replay insert
    and the ``open`` entry are written in one transaction (group-committed
    with concurrent opens): either both are committed or neither is (a
    failed recording then leaves the ``jti`` unconsumed).

    *recorder* is required: applications and the CLI pass an
    :class:`~safeshare.audit.recorder.AuditLogRecorder` (durable on return);
    ``None`` is only for callers that record the access elsewhere
    themselves (benchmarks, conformance harnesses).

    To forward the data later (after a restart), keep
    :meth:`OpenedEnvelope.held` and re-open it with :func:`reopen_held`.
    """
    access = enforce.open_request(
        purpose=purpose,
        actor=actor,
        recorder=recorder,
        vocabulary=vocabulary,
        consents=consents,
        acknowledged=acknowledged,
    )
    now = _check_time(now, skew)
    raw = envelope.encode("utf-8", "surrogatepass") if isinstance(envelope, str) else envelope
    if not isinstance(raw, bytes):
        raise UsageError("an envelope is bytes or str")
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise OversizedInputError(
            f"the envelope is {len(raw)} bytes; the limit is {MAX_ENVELOPE_BYTES} bytes"
        )
    doc = strictjson.loads(raw, what="envelope", max_bytes=MAX_ENVELOPE_BYTES)
    parsed = jwe.parse(doc, typ=ENVELOPE_TYP, cty=SD_JWT_TYP, max_recipients=MAX_RECIPIENTS)
    plaintext, dkey = jwe.decrypt(parsed, recipient.decryption_keys)

    try:
        token = plaintext.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedInputError("the decrypted content is not an SD-JWT") from None
    verified = _verify_token(
        token,
        recipient=recipient.agency,
        recipient_kid=dkey.kid,
        registry=registry,
        access=access,
        now=now,
        skew=skew,
    )
    opened, authorized = verified.opened, verified.authorized
    replay_key, keep_until = verified.replay_key, verified.keep_until
    if isinstance(recorder, AuditLogRecorder) and recorder.log.store is replay.store:
        # One transaction (one commit, group-committed across concurrent opens):
        # the jti is consumed if and only if the open is recorded.
        def consume(cur: Cursor) -> None:
            replay.check_and_record_in(
                cur, *replay_key, opened.digest, keep_until=keep_until, now=now
            )

        recorder.record_with(authorized.entry(), before=consume)
        return opened
    replay.check_and_record(*replay_key, opened.digest, keep_until=keep_until, now=now)
    authorized.record()  # durable (AuditLogRecorder) before the data is released
    return opened


def reopen_held(
    held: str | bytes,
    *,
    recipient: AgencyKeySet,
    registry: TrustRegistry,
    purpose: str,
    actor: str,
    recorder: AccessRecorder,
    vocabulary: Vocabulary | None = None,
    consents: ConsentStore | None = None,
    acknowledged: Collection[str] = (),
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> OpenedEnvelope:
    """Verify a held copy (:meth:`OpenedEnvelope.held`) again; return the opened envelope.

    Runs every check of :func:`open_envelope` that does not need the JWE
    (``specs/safeshare-v1.md`` section 7.4), with the same code: the held
    copy is parsed strictly (:mod:`safeshare.envelope._held`); it must name
    *recipient*'s agency and one of *recipient*'s decryption key ids (the
    key the envelope was decrypted with, otherwise
    :class:`~safeshare.errors.VerificationError`); then the SD-JWT is split,
    the signed claims parsed, the signer's key resolved in *registry* at
    ``iat``, the signature, claims (audience, the stored key id in
    ``sealed_to``, times at *now*), disclosures and forwarding chain
    verified, and purpose and acknowledgements enforced (a refusal is
    recorded as a denial, as for an open). There is no replay check: the
    envelope was consumed when it was first opened, and the held copy is the
    holder's own. The re-open is recorded through *recorder* (required: an
    ``open`` entry whose reason says that a held copy was re-opened) before
    the result is returned. A held copy re-opens only within the lifetime of
    the envelope it came from (``expired`` after it).
    """
    access = enforce.open_request(
        purpose=purpose,
        actor=actor,
        recorder=recorder,
        vocabulary=vocabulary,
        consents=consents,
        acknowledged=acknowledged,
    )
    if recorder is None:
        raise UsageError("re-opening a held copy must be recorded: pass recorder=")
    now = _check_time(now, skew)
    if not isinstance(recipient, AgencyKeySet):
        raise UsageError("recipient must be the holder's AgencyKeySet")
    copy = parse_held(held)
    if copy.recipient != recipient.agency:
        raise VerificationError(
            f"this held copy was opened by {copy.recipient}; {recipient.agency} cannot re-open it"
        )
    if copy.recipient_kid not in {key.kid for key in recipient.decryption_keys}:
        raise VerificationError(
            f"the held copy was decrypted with key {copy.recipient_kid}, which is not one of "
            f"the decryption keys of {recipient.agency}",
            hint="re-open it with the key set that opened the envelope (keep retired keys)",
        )
    verified = _verify_token(
        copy.token,
        recipient=recipient.agency,
        recipient_kid=copy.recipient_kid,
        registry=registry,
        access=access,
        now=now,
        skew=skew,
    )
    recorder.record(_reopen_entry(verified.authorized.entry()))
    return verified.opened


def _check_time(now: datetime | None, skew: timedelta) -> datetime:
    resolved = resolve_now(now)
    if skew < timedelta(0) or skew > timedelta(hours=1):
        raise UsageError("skew must be between 0 and 1 hour")
    return resolved


def _reopen_entry(entry: AuditEntry) -> AuditEntry:
    """The ``open`` entry of a re-opened held copy (a forwarded one's too: nothing is received)."""
    return AuditEntry(
        action="open",
        time=entry.time,
        actor=entry.actor,
        agency=entry.agency,
        counterparty=entry.counterparty,
        jti=entry.jti,
        envelope_digest=entry.envelope_digest,
        purpose=entry.purpose,
        outcome=entry.outcome,
        reason=_clip_reason("re-opened a held copy (no replay check): " + (entry.reason or "")),
        subjects=entry.subjects,
    )


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed steps 5 to 11: the result, the open to record, the replay key."""

    opened: OpenedEnvelope
    authorized: enforce.AuthorizedOpen
    replay_key: tuple[str, str]
    keep_until: datetime


def _verify_token(
    token: str,
    *,
    recipient: str,
    recipient_kid: str,
    registry: TrustRegistry,
    access: enforce.OpenRequest,
    now: datetime,
    skew: timedelta,
) -> _Verified:
    """Steps 5 to 11 of section 6.2 (and 7.3) on the decrypted SD-JWT *token*.

    *recipient* is our agency and *recipient_kid* the id of our key the token
    was decrypted with (for a held copy: the id it records). Shared by
    :func:`open_envelope` and :func:`reopen_held`, so both verify alike.
    """
    issuer_jwt, disclosures, kb_jwt = sdjwt.split(token)
    parts = issuer_jwt.split(".")
    if len(parts) != 3:
        raise MalformedInputError("the signed token is not a compact JWS (three parts)")
    protected_b64, payload_b64, signature_b64 = parts
    payload_bytes = b64u_decode(payload_b64, what="signed token payload")
    payload = strictjson.loads(
        payload_bytes, what="signed token payload", max_bytes=MAX_ENVELOPE_BYTES
    )
    try:
        claims = msgspec.convert(payload, SignedClaims)
    except msgspec.ValidationError as exc:
        raise MalformedInputError(f"the signed claims do not match the profile: {exc}") from None

    if not isinstance(claims.record.get("_sd"), list):
        raise MalformedInputError(
            "the signed record has no '_sd' array; in this profile the record's fields are "
            "selectively disclosable (specs/safeshare-v1.md section 5.3)"
        )
    issued_at = from_unix(claims.iat)

    def sender_key(kid: str, _header: dict[str, Any]) -> VerifyKey:
        return registry.verify_key(claims.iss, kid, at=issued_at)

    jws.verify_parts(
        protected_b64,
        payload_b64,
        signature_b64,
        what="signed token",
        typ=SD_JWT_TYP,
        resolve_key=sender_key,
        decoded_payload=payload_bytes,
    )

    # -- the signature is good; now check what it says ---------------------
    if claims.ver != PROTOCOL_VERSION:
        raise MalformedInputError(f"protocol version {claims.ver} is not supported (expected 1)")
    if claims.msg_type not in MESSAGE_TYPES:
        raise MalformedInputError(f"unknown message type {claims.msg_type!r}")
    if claims.sd_alg != sdjwt.SD_ALG:
        raise MalformedInputError(f"_sd_alg must be {sdjwt.SD_ALG!r}")
    if len(set(claims.aud)) != len(claims.aud) or len(set(claims.sealed_to)) != len(
        claims.sealed_to
    ):
        raise MalformedInputError("aud and sealed_to must not repeat an entry")
    expires_at = from_unix(claims.exp)
    if claims.exp <= claims.iat or expires_at - issued_at > MAX_TTL:
        raise MalformedInputError(f"exp must be after iat and at most {MAX_TTL.days} days later")
    if issued_at > now + skew:
        raise NotYetValidError(
            f"the envelope is issued at {issued_at.isoformat()}, in the future; "
            "check the clocks of both agencies"
        )
    if kb_jwt is None:
        # A direct envelope: addressed and sealed to us, within its lifetime. (A
        # forwarded one: the last hop must be; see verify_chain below.)
        if recipient not in claims.aud:
            raise VerificationError(f"this envelope is not addressed to {recipient}")
        if recipient_kid not in claims.sealed_to:
            raise VerificationError(
                "the sender did not seal this envelope to our key: it was re-encrypted by "
                "someone else (surreptitious forwarding)"
            )
        if now >= expires_at + skew:
            raise ExpiredError(f"the envelope expired at {expires_at.isoformat()}")
    try:
        handling = HandlingConditions.model_validate_json(
            strictjson.dumps(claims.handling), strict=True
        )
    except ValidationError as exc:
        raise MalformedInputError(
            f"the handling conditions do not match the profile: {exc.error_count()} problem(s), "
            f"first at {'.'.join(str(p) for p in exc.errors()[0]['loc'])}"
        ) from None

    # frozen: the record comes back read-only (as freeze() would make it), built
    # in the one pass that processes the disclosures.
    revealed, presented = sdjwt.reveal(payload, disclosures, frozen=True)
    digest = hashlib.sha256(issuer_jwt.encode("ascii")).hexdigest()
    presentation = token if kb_jwt is None else token[: len(token) - len(kb_jwt)]
    provenance: tuple[ForwardingHop, ...] = ()
    valid_until = expires_at
    replay_key = (claims.iss, claims.jti)
    holder_binding: msgspec.Struct | None = (
        claims.cnf if isinstance(claims.cnf, msgspec.Struct) else None
    )
    if kb_jwt is not None:
        try:
            provenance = verify_chain(
                kb_jwt,
                claims=claims,
                presentation=presentation,
                presented=[d.digest for d in presented],
                digest=digest,
                handling=handling,
                registry=registry,
                recipient=recipient,
                recipient_kid=recipient_kid,
                now=now,
                skew=skew,
            )
        except PolicyError as exc:
            # Every signature of the chain up to the refused hop verified: an authentic
            # but unauthorised onward transfer, recorded as a denial (spec section 7.3).
            _record_chain_refusal(
                access, exc, claims=claims, digest=digest, recipient=recipient, now=now
            )
            raise
        last = provenance[-1]
        replay_key = (last.forwarder, last.jti)
        valid_until = last.expires_at
        holder_binding = _hop_binding(last.token)
    # Purpose, actor and acknowledgements: a refusal is recorded as a denial and
    # raised here, before the replay insert, so it does not consume the jti.
    authorized = enforce.enforce_open(
        access,
        issuer=claims.iss,
        recipient=recipient,
        jti=claims.jti,
        envelope_digest=digest,
        envelope_purpose=claims.purpose,
        handling=handling,
        registry=registry,
        now=now,
        forwarded_by=provenance[-1].forwarder if provenance else None,
    )
    opened = OpenedEnvelope(
        issuer=claims.iss,
        audience=tuple(claims.aud),
        recipient=recipient,
        recipient_kid=recipient_kid,
        issued_at=issued_at,
        expires_at=expires_at,
        jti=claims.jti,
        version=claims.ver,
        message_type=claims.msg_type,
        purpose=claims.purpose,
        legal_basis=claims.legal_basis,
        case_ref=claims.case_ref,
        handling=handling,
        sealed_to=tuple(claims.sealed_to),
        record=revealed["record"],
        digest=digest,
        opened_for=access.purpose,
        actor=access.actor,
        holder_binding=msgspec.to_builtins(holder_binding)
        if isinstance(holder_binding, msgspec.Struct)
        else None,
        provenance=provenance,
        presentation=presentation,
        _held=(payload, tuple(presented)),
    )
    return _Verified(opened, authorized, replay_key, valid_until + skew)


def _record_chain_refusal(
    access: enforce.OpenRequest,
    error: PolicyError,
    *,
    claims: SignedClaims,
    digest: str,
    recipient: str,
    now: datetime,
) -> None:
    """Record a refused onward transfer (conditions, consent) as a ``deny`` entry."""
    if access.recorder is None:
        return
    try:
        access.recorder.record(
            AuditEntry(
                action="deny",
                time=to_unix(now),
                actor=access.actor,
                agency=recipient,
                counterparty=claims.iss,
                jti=claims.jti,
                envelope_digest=digest,
                purpose=access.purpose,
                outcome="denied",
                reason=_clip_reason("forwarded envelope refused: " + error.message),
            )
        )
    except SafeShareError as exc:
        raise exc from error


def _clip_reason(text: str) -> str:
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 3] + "..."


def _hop_binding(kb_jwt: str) -> msgspec.Struct | None:
    """The ``cnf`` of a verified hop: the key that binds us, the hop's recipient."""
    payload = b64u_decode(kb_jwt.split(".")[1], what="forwarding hop payload")
    cnf = msgspec.json.decode(payload, type=HopClaims).cnf
    return cnf if isinstance(cnf, msgspec.Struct) else None
