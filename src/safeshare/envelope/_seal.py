"""Sealing: build the SD-JWT, sign it as the sender, encrypt it to each recipient."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare._internal.clock import resolve_now, to_unix
from safeshare._jose import jwe, jws, sdjwt
from safeshare.audit.entry import MAX_REASON_LENGTH, AuditEntry
from safeshare.envelope import _padding
from safeshare.envelope._profile import (
    DECOYS,
    DEFAULT_TTL,
    ENVELOPE_TYP,
    MAX_ENVELOPE_BYTES,
    MAX_RECIPIENTS,
    MAX_TTL,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    SD_JWT_TYP,
    SignedClaims,
)
from safeshare.errors import MalformedInputError, UsageError
from safeshare.keys import AgencyKeySet, VerifyKey
from safeshare.privacy.blind_index import subject_tokens
from safeshare.privacy.plan import Minimized, plan_for
from safeshare.privacy.pseudonyms import PseudonymVault
from safeshare.privacy.schema import RecordSchema
from safeshare.purpose.conditions import HandlingConditions
from safeshare.purpose.transfer import (
    Mismatch,
    TransferOverride,
    check_transfer,
    transfer_refusal,
)
from safeshare.purpose.vocabulary import Vocabulary
from safeshare.registry import TrustRegistry

if TYPE_CHECKING:
    from safeshare.audit.recorder import AccessRecorder


def seal(
    record: Mapping[str, Any] | RecordSchema,
    *,
    sender: AgencyKeySet,
    to: Sequence[str],
    registry: TrustRegistry,
    purpose: str,
    legal_basis: str,
    case_ref: str,
    message_type: str,
    handling: HandlingConditions | None = None,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
    override: TransferOverride | None = None,
    recorder: AccessRecorder | None = None,
    actor: str | None = None,
    pad: bool = False,
    schema: type[RecordSchema] | None = None,
    vocabulary: Vocabulary | None = None,
    vault: PseudonymVault | None = None,
) -> bytes:
    """Seal *record* from *sender* to the agencies in *to*; return the envelope bytes.

    Security properties: the record's fields become selectively disclosable
    claims with fresh 128-bit salts and decoy digests; purpose, legal basis,
    case, handling conditions, audience, lifetime and the thumbprints of the
    recipients' encryption keys are signed and never selectively disclosable;
    the signed token is encrypted to each recipient's current X25519 key from
    *registry* (``ECDH-ES+A256KW``, ``A256GCM``). The caller chooses no
    algorithm, salt, nonce or key: those come from the profile and registry.

    Transfer check (:mod:`safeshare.purpose.transfer`): before anything is
    signed, each recipient's declared safeguards in *registry* are compared
    with *handling* and the legal basis. A suspended recipient is refused
    with :class:`~safeshare.errors.AgencySuspendedError`, always; any other
    mismatch with :class:`~safeshare.errors.PolicyError` listing every
    mismatch and its explanation, unless *override* (a
    :class:`~safeshare.purpose.transfer.TransferOverride`) acknowledges
    exactly the mismatches found.

    Recording: with *recorder* (and *actor*, the officer or system that
    seals), every successful seal is recorded as one audit entry per
    recipient (action ``seal``), preceded by one ``override`` entry per
    recipient whose mismatches the override covers (its actor is the
    override's ``decided_by``); a refused transfer is recorded as ``deny``
    entries before the error is raised. Sealing a ``breach_notification``
    (Second Additional Protocol Art. 14(7)) or a ``rectification_notice``
    (Art. 14(3)) also records, after the ``seal`` entries, one
    ``notify_breach`` or ``notify_rectification`` entry per recipient (same
    ``jti`` and digest, the reason naming the notice). The envelope is
    returned only after the recorder returned for every entry. An override
    needs a recorder: it exists only as a recorded decision.

    Holder binding (``specs/safeshare-v1.md`` section 7.1): an envelope sealed to
    exactly one agency whose conditions do not forbid onward transfer binds
    that agency's current signing key (``cnf``, RFC 9901 section 4.1.2), the
    key it must sign with to forward part of the record
    (:func:`~safeshare.envelope.forward`).

    With *pad*, the signed token is padded to a Padmé size bucket, so that
    the ciphertext's length hides the record's (spec section 16.2).

    Minimization (``specs/safeshare-v1.md`` section 12): with *schema* (a
    :class:`~safeshare.privacy.schema.RecordSchema`), *record* is checked
    against it and sealed by the disclosure plan for *purpose*
    (:func:`~safeshare.privacy.plan.plan_for`, with *vocabulary*): withheld
    fields travel only as undisclosed digests, pseudonymized fields as keyed
    pseudonyms of *sender*'s privacy secret for this recipient and case
    (one recipient only), generalized fields as their coarser value, and
    nested records member by member. Special categories that the plan
    discloses must be declared in *handling*. With *vault*, the originator's
    :class:`~safeshare.privacy.pseudonyms.PseudonymVault`, every pseudonym is
    recorded there (encrypted) so that a re-identification request can be
    answered; with *recorder* and a key set holding a privacy secret, the
    ``seal`` entries carry the blind-index tokens of the record's subject
    identifiers (:mod:`safeshare.privacy.blind_index`).

    Raises :class:`~safeshare.errors.AgencySuspendedError` and the other
    registry errors when a recipient cannot receive,
    :class:`~safeshare.errors.PolicyError` for a refused transfer, and
    :class:`~safeshare.errors.UsageError` for a bad argument.
    """
    return seal_with_randomness(
        record,
        sender=sender,
        to=to,
        registry=registry,
        purpose=purpose,
        legal_basis=legal_basis,
        case_ref=case_ref,
        message_type=message_type,
        handling=handling,
        ttl=ttl,
        now=now,
        randbytes=os.urandom,
        override=override,
        recorder=recorder,
        actor=actor,
        pad=pad,
        schema=schema,
        vocabulary=vocabulary,
        vault=vault,
    )


def seal_with_randomness(
    record: Mapping[str, Any] | RecordSchema,
    *,
    sender: AgencyKeySet,
    to: Sequence[str],
    registry: TrustRegistry,
    purpose: str,
    legal_basis: str,
    case_ref: str,
    message_type: str,
    handling: HandlingConditions | None,
    ttl: timedelta,
    now: datetime | None,
    randbytes: Callable[[int], bytes],
    override: TransferOverride | None = None,
    recorder: AccessRecorder | None = None,
    actor: str | None = None,
    pad: bool = False,
    schema: type[RecordSchema] | None = None,
    vocabulary: Vocabulary | None = None,
    vault: PseudonymVault | None = None,
) -> bytes:
    """:func:`seal` with an explicit randomness source (private: test vectors only).

    The transfer check draws no randomness, so it does not change the bytes
    a given randomness source produces.
    """
    # JWT times are whole seconds (RFC 7519 NumericDate); check the registry at
    # the same instant the recipient will use (iat), not a fraction later.
    now = resolve_now(now).replace(microsecond=0)
    recipients = list(dict.fromkeys(to))
    if not recipients or len(recipients) != len(to):
        raise UsageError("name each recipient agency once (at least one)")
    if len(recipients) > MAX_RECIPIENTS:
        raise UsageError(f"an envelope can be sealed to at most {MAX_RECIPIENTS} agencies")
    if message_type not in MESSAGE_TYPES:
        raise UsageError(f"unknown message type {message_type!r}; known: {sorted(MESSAGE_TYPES)}")
    if not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise UsageError(f"ttl must be between one second and {MAX_TTL.days} days")
    handling = handling if handling is not None else HandlingConditions()
    minimized = None
    if schema is not None:
        minimized = _minimize(
            record,
            schema,
            sender=sender,
            recipients=recipients,
            purpose=purpose,
            case_ref=case_ref,
            handling=handling,
            vocabulary=vocabulary,
            vault=vault,
        )
        record_dict = minimized.record
    else:
        if vault is not None:
            raise UsageError(
                "vault= records pseudonyms: it needs schema= (which fields to pseudonymize)"
            )
        if not isinstance(record, Mapping) or not all(isinstance(k, str) for k in record):
            raise UsageError("a record is a mapping with string field names")
        record_dict = dict(record)
    try:
        strictjson.dumps(record_dict)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the record must contain only JSON values: {exc}") from None
    _check_recording(sender.agency, recorder, actor, override)

    # Fail before signing anything: our own key must be registered and valid,
    # every recipient must be active with a valid encryption key, and its
    # declared safeguards must satisfy the conditions (or be overridden).
    registry.verify_key(sender.agency, sender.signing_key.kid, at=now)
    mismatches = check_transfer(registry, recipients, handling, now=now, legal_basis=legal_basis)
    if any(not m.overridable for m in mismatches):
        refuse_transfer(
            mismatches,
            override=override,
            recorder=recorder,
            actor=actor,
            agency=sender.agency,
            purpose=purpose,
            now=now,
        )
    enc_keys = [registry.encryption_key(agency, at=now) for agency in recipients]

    if minimized is None:
        concealed, disclosures = sdjwt.conceal(record_dict, randbytes=randbytes, decoys=DECOYS)
    else:
        concealed, disclosures = minimized.conceal(randbytes=randbytes, decoys=DECOYS)
    iat = to_unix(now)
    claims = {
        "iss": sender.agency,
        "aud": recipients,
        "iat": iat,
        "exp": iat + int(ttl.total_seconds()),
        "jti": b64u_encode(randbytes(16)),
        "ver": PROTOCOL_VERSION,
        "msg_type": message_type,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "case_ref": case_ref,
        "handling": handling.model_dump(mode="json"),
        "sealed_to": [k.kid for k in enc_keys],
        "record": concealed,
        "_sd_alg": sdjwt.SD_ALG,
    }
    if len(recipients) == 1 and handling.onward_transfer != "forbidden":
        claims["cnf"] = holder_binding(registry.signing_key(recipients[0], at=now))
    _check_claims_shape(claims)
    if mismatches or override is not None:
        refuse_transfer(
            mismatches,
            override=override,
            recorder=recorder,
            actor=actor,
            agency=sender.agency,
            purpose=purpose,
            now=now,
        )
    payload = strictjson.dumps(claims)
    if pad:
        payload = _padded(payload, claims, disclosures, sender)
    issuer_jwt = jws.sign_compact({"typ": SD_JWT_TYP}, payload, sender.signing_key)
    token = sdjwt.serialize(issuer_jwt, disclosures)
    envelope = jwe.encrypt(
        token.encode("ascii"), enc_keys, typ=ENVELOPE_TYP, cty=SD_JWT_TYP, randbytes=randbytes
    )
    out = strictjson.dumps(envelope)
    if len(out) > MAX_ENVELOPE_BYTES:
        raise UsageError(
            f"the sealed envelope would be {len(out)} bytes; recipients refuse envelopes over "
            f"{MAX_ENVELOPE_BYTES} bytes",
            hint="send a smaller record, or split it over several envelopes",
        )
    subjects: tuple[str, ...] = ()
    if (
        recorder is not None
        and minimized is not None
        and minimized.subjects
        and sender.has_privacy_secret
    ):
        subjects = subject_tokens(sender.privacy_secret, minimized.subjects)
    if minimized is not None and vault is not None and minimized.pseudonymized:
        # One transaction; if recording the seal fails afterwards, the rows name an
        # envelope that was never released, which resolves nothing anyone holds.
        vault.record_many(
            sender.privacy_secret,
            minimized.pseudonymized,
            issuer=sender.agency,
            recipient=recipients[0],
            case_ref=case_ref,
            jti=str(claims["jti"]),
            purpose=purpose,
            # Until the recipients' retention ends at the latest (iat + max_days, as
            # RetentionStore counts it): after that nobody may hold the pseudonymized data.
            keep_until=now + timedelta(days=handling.retention.max_days),
            now=now,
        )
    if recorder is not None:
        digest = hashlib.sha256(issuer_jwt.encode("ascii")).hexdigest()
        _record_seal(
            recorder,
            actor=str(actor),
            agency=sender.agency,
            recipients=recipients,
            jti=str(claims["jti"]),
            digest=digest,
            purpose=purpose,
            legal_basis=legal_basis,
            mismatches=mismatches,
            override=override,
            now=now,
            subjects=subjects,
            message_type=message_type,
        )
    return out


def _minimize(
    record: Mapping[str, Any] | RecordSchema,
    schema: type[RecordSchema],
    *,
    sender: AgencyKeySet,
    recipients: Sequence[str],
    purpose: str,
    case_ref: str,
    handling: HandlingConditions,
    vocabulary: Vocabulary | None,
    vault: PseudonymVault | None,
) -> Minimized:
    """The record minimized by *schema*'s disclosure plan for *purpose* (spec section 12.6)."""
    plan = plan_for(schema, purpose, vocabulary=vocabulary)
    undeclared = sorted(set(plan.special_categories_disclosed) - set(handling.special_categories))
    if undeclared:
        raise UsageError(
            f"for purpose {purpose!r} the {schema.__name__} plan discloses data of special "
            f"categories ({', '.join(undeclared)}) that the handling conditions do not declare",
            hint="seal with HandlingConditions.for_special_categories("
            + ", ".join(repr(c) for c in plan.special_categories_disclosed)
            + ") (Second Additional Protocol Art. 14(4))",
        )
    pseudonymize: Callable[[Any], str] | None = None
    if plan.pseudonymizes:
        if len(recipients) != 1:
            raise UsageError(
                f"the {schema.__name__} plan for {purpose!r} pseudonymizes fields, and pseudonyms "
                "are made for one recipient: seal one envelope per recipient"
            )
        secret = sender.privacy_secret
        recipient = recipients[0]

        def pseudonymize(value: Any) -> str:
            return secret.pseudonym(
                value, issuer=sender.agency, recipient=recipient, case_ref=case_ref
            )

    if vault is not None and not isinstance(vault, PseudonymVault):
        raise UsageError("vault must be a safeshare.privacy.pseudonyms.PseudonymVault")
    return plan.apply(record, pseudonymize=pseudonymize)


def holder_binding(key: VerifyKey) -> dict[str, Any]:
    """``cnf`` naming *key* (RFC 7800 section 3.2; RFC 8037 OKP members only)."""
    jwk = key.to_jwk()
    return {"jwk": {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"]}}


def _padded(
    payload: bytes,
    claims: dict[str, Any],
    disclosures: Sequence[sdjwt.Disclosure],
    sender: AgencyKeySet,
) -> bytes:
    """*payload* with a ``pad`` claim that puts the SD-JWT on its size bucket."""
    fixed = (
        len(jws.protected_b64({"typ": SD_JWT_TYP}, sender.signing_key))
        + 2  # the two dots
        + jws.MAX_SIGNATURE_B64
        + sum(len(d.encoded) + 1 for d in disclosures)
        + 1  # the '~' after the JWT
    )
    zeros = _padding.pad_zeros(fixed, len(payload))
    return strictjson.dumps({**claims, "pad": "0" * zeros})


def _check_claims_shape(claims: dict[str, Any]) -> None:
    """Refuse to sign what a recipient would reject (bad purpose code, case ref...)."""
    try:
        msgspec.convert(claims, SignedClaims)
    except msgspec.ValidationError as exc:
        raise UsageError(f"cannot seal: {exc}") from None


# -- transfer check and recording ---------------------------------------------------------

_CLIP: Final = MAX_REASON_LENGTH
_PURPOSE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _check_recording(
    agency: str,
    recorder: AccessRecorder | None,
    actor: str | None,
    override: TransferOverride | None,
) -> None:
    """Refuse recording arguments that would fail only after signing."""
    if override is not None:
        if not isinstance(override, TransferOverride):
            raise UsageError("override must be a safeshare.purpose.transfer.TransferOverride")
        if recorder is None:
            raise UsageError(
                "an override of the transfer check must be recorded: pass recorder= (and actor=)",
                hint="an override exists only as an explicit, recorded decision",
            )
    if recorder is None:
        return
    if not callable(getattr(recorder, "record", None)):
        raise UsageError("recorder must be an AccessRecorder (e.g. AuditLogRecorder(log))")
    if actor is None:
        raise UsageError(
            "recording a seal needs the actor (the officer or system that seals): pass actor="
        )
    try:  # the same checks the entries get later, before anything is signed
        AuditEntry(action="seal", time=0, actor=actor, agency=agency, outcome="success")
    except MalformedInputError as exc:
        raise UsageError(f"cannot record the seal: {exc.message}") from None


def refuse_transfer(
    mismatches: Sequence[Mismatch],
    *,
    override: TransferOverride | None,
    recorder: AccessRecorder | None,
    actor: str | None,
    agency: str,
    purpose: str,
    now: datetime,
) -> None:
    """Raise the transfer check's refusal, if any, after recording it as denials."""
    error = transfer_refusal(mismatches, override)
    if error is None:
        return
    if recorder is not None:
        refused = dict.fromkeys(m.recipient for m in mismatches)
        for recipient in refused or (None,):
            reasons = [m.explanation for m in mismatches if m.recipient == recipient]
            recorder.record(
                AuditEntry(
                    action="deny",
                    time=to_unix(now),
                    actor=str(actor),
                    agency=agency,
                    counterparty=recipient,
                    purpose=_purpose_or_none(purpose),
                    outcome="denied",
                    reason=_clip(
                        "transfer check: " + ("; ".join(reasons) if reasons else error.message)
                    ),
                )
            )
    raise error


def _purpose_or_none(purpose: object) -> str | None:
    """The purpose for a denial entry (a malformed one is refused later, as a UsageError)."""
    return purpose if isinstance(purpose, str) and _PURPOSE.fullmatch(purpose) else None


#: Message types whose seal is also a notification: the audit action recorded beside
#: each ``seal`` entry, and how its reason names the notice (spec section 13.2.2).
_NOTIFICATIONS: Final[
    Mapping[str, tuple[Literal["notify_breach", "notify_rectification"], str]]
] = {
    "breach_notification": (
        "notify_breach",
        "breach notification (Second Additional Protocol Art. 14(7))",
    ),
    "rectification_notice": (
        "notify_rectification",
        "rectification notice (Second Additional Protocol Art. 14(3))",
    ),
}


def _record_seal(
    recorder: AccessRecorder,
    *,
    actor: str,
    agency: str,
    recipients: Sequence[str],
    jti: str,
    digest: str,
    purpose: str,
    legal_basis: str,
    mismatches: Sequence[Mismatch],
    override: TransferOverride | None,
    now: datetime,
    subjects: tuple[str, ...] = (),
    message_type: str | None = None,
) -> None:
    """One ``override`` entry per overridden recipient, then one ``seal`` entry per recipient,
    then, for a notice (``_NOTIFICATIONS``), one notification entry per recipient."""
    time = to_unix(now)

    def entry(
        action: Literal["seal", "override", "notify_breach", "notify_rectification"],
        who: str,
        counterparty: str,
        reason: str,
    ) -> AuditEntry:
        return AuditEntry(
            action=action,
            time=time,
            actor=who,
            agency=agency,
            counterparty=counterparty,
            jti=jti,
            envelope_digest=digest,
            purpose=purpose,
            outcome="success",
            reason=_clip(reason),
            subjects=subjects if action == "seal" else (),
        )

    overridden = dict.fromkeys(m.recipient for m in mismatches)
    if override is not None:
        for recipient in overridden:
            explained = "; ".join(m.explanation for m in mismatches if m.recipient == recipient)
            recorder.record(
                entry(
                    "override",
                    override.decided_by,
                    recipient,
                    f"transfer despite the transfer check, decided by {override.decided_by}: "
                    f"{override.reason}; acknowledged: {explained}",
                )
            )
    for recipient in recipients:
        note = (
            f"; transfer check overridden by {override.decided_by}"
            if override is not None and recipient in overridden
            else ""
        )
        recorder.record(entry("seal", actor, recipient, f"sealed under {legal_basis}{note}"))
    notification = _NOTIFICATIONS.get(message_type or "")
    if notification is not None:
        action, notice = notification
        for recipient in recipients:
            recorder.record(
                entry(action, actor, recipient, f"{notice} sent to {recipient} under {legal_basis}")
            )
