"""Sealing: build the SD-JWT, sign it as the sender, encrypt it to each recipient."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from safeshare._internal import strictjson
from safeshare._internal.b64 import b64u_encode
from safeshare._internal.clock import resolve_now, to_unix
from safeshare._jose import jwe, jws, sdjwt
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
from safeshare.errors import UsageError
from safeshare.keys import AgencyKeySet
from safeshare.purpose.conditions import HandlingConditions
from safeshare.registry import TrustRegistry


def seal(
    record: Mapping[str, Any],
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
) -> bytes:
    """Seal *record* from *sender* to the agencies in *to*; return the envelope bytes.

    Security properties: the record's fields become selectively disclosable
    claims with fresh 128-bit salts and decoy digests; purpose, legal basis,
    case, handling conditions, audience, lifetime and the thumbprints of the
    recipients' encryption keys are signed and never selectively disclosable;
    the signed token is encrypted to each recipient's current X25519 key from
    *registry* (``ECDH-ES+A256KW``, ``A256GCM``). The caller chooses no
    algorithm, salt, nonce or key: those come from the profile and registry.

    Raises :class:`~safeshare.errors.AgencySuspendedError` and the other
    registry errors when a recipient cannot receive, and
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
    )


def seal_with_randomness(
    record: Mapping[str, Any],
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
) -> bytes:
    """:func:`seal` with an explicit randomness source (private: test vectors only)."""
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
    if not isinstance(record, Mapping) or not all(isinstance(k, str) for k in record):
        raise UsageError("a record is a mapping with string field names")
    record_dict = dict(record)
    try:
        strictjson.dumps(record_dict)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the record must contain only JSON values: {exc}") from None
    handling = handling if handling is not None else HandlingConditions()

    # Fail before signing anything: our own key must be registered and valid,
    # and every recipient must be active with a valid encryption key.
    registry.verify_key(sender.agency, sender.signing_key.kid, at=now)
    enc_keys = [registry.encryption_key(agency, at=now) for agency in recipients]

    concealed, disclosures = sdjwt.conceal(record_dict, randbytes=randbytes, decoys=DECOYS)
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
    _check_claims_shape(claims)
    issuer_jwt = jws.sign_compact({"typ": SD_JWT_TYP}, strictjson.dumps(claims), sender.signing_key)
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
    return out


def _check_claims_shape(claims: dict[str, Any]) -> None:
    """Refuse to sign what a recipient would reject (bad purpose code, case ref...)."""
    try:
        msgspec.convert(claims, SignedClaims)
    except msgspec.ValidationError as exc:
        raise UsageError(f"cannot seal: {exc}") from None
