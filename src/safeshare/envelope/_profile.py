"""Envelope v1 profile: media types, caps, and the signed-claims wire struct.

The normative text is ``specs/safeshare-v1.md`` section 5; the JSON Schema of the signed
claims is generated from :class:`SignedClaims` into ``specs/schemas/``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

import msgspec

#: ``typ`` of the outer JWE (RFC 7516 section 4.1.11, RFC 7515 section 4.1.9).
ENVELOPE_TYP: Final = "safeshare-envelope+jwe"
#: ``typ`` of the inner issuer-signed JWT, and ``cty`` of the JWE.
SD_JWT_TYP: Final = "safeshare+sd-jwt"
#: Protocol version carried in the ``ver`` claim.
PROTOCOL_VERSION: Final = 1

#: Largest serialized envelope accepted by open (bytes).
MAX_ENVELOPE_BYTES: Final = 1024 * 1024
#: Most recipients one envelope may be sealed to.
MAX_RECIPIENTS: Final = 32
#: Default lifetime of an envelope (``exp - iat``) and the largest allowed.
DEFAULT_TTL: Final = timedelta(days=7)
MAX_TTL: Final = timedelta(days=90)
#: Default tolerance for clock differences between agencies.
DEFAULT_SKEW: Final = timedelta(minutes=5)
#: Decoy digests added to the record's ``_sd`` array (RFC 9901 section 4.2.5).
DECOYS: Final = 2
#: ``typ`` of a Key Binding JWT (RFC 9901 section 4.3: MUST be ``kb+jwt``); in
#: this profile it is also the forwarding statement of one onward-transfer hop.
KB_JWT_TYP: Final = "kb+jwt"
#: Most onward-transfer hops one forwarded envelope may carry (A -> B is not a
#: hop; B -> C is the first).
MAX_HOPS: Final = 4
#: Longest ``pad`` claim (characters): enough for the largest Padmé step.
MAX_PAD: Final = 128 * 1024

AgencyIdStr = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}(?:-[A-Z0-9]{1,24}){1,4}$")]
Kid = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Jti = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{22}$")]
NumericDate = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
Digest = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]
Pad = Annotated[str, msgspec.Meta(pattern=r"^0*$", max_length=MAX_PAD)]


class OkpJwk(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """An Ed25519 public key as a JWK (RFC 8037 section 2), exactly these members."""

    kty: str
    crv: str
    x: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]


class Confirmation(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``cnf`` (RFC 7800 section 3.2): the holder's public key, as RFC 9901 section 4.1.2 uses it."""

    jwk: OkpJwk


class SignedClaims(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The payload of the issuer-signed JWT. Unknown members are rejected.

    None of these claims is selectively disclosable: only the members of
    ``record`` are (through its ``_sd`` array).
    """

    iss: AgencyIdStr
    aud: Annotated[list[AgencyIdStr], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)]
    iat: NumericDate
    exp: NumericDate
    jti: Jti
    ver: int
    msg_type: Code
    purpose: Code
    legal_basis: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:()-]{0,127}$")]
    case_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    handling: dict[str, Any]
    sealed_to: Annotated[list[Kid], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)]
    record: dict[str, Any]
    sd_alg: str = msgspec.field(name="_sd_alg")
    cnf: Confirmation | msgspec.UnsetType = msgspec.UNSET
    """Holder binding: the signing key the single recipient must use to forward (section 7.1)."""
    pad: Pad | msgspec.UnsetType = msgspec.UNSET
    """Padding to a size bucket (section 16.2); carries no meaning."""


class HopClaims(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The payload of a Key Binding JWT that forwards an envelope one hop (B -> C).

    ``iat``, ``aud``, ``nonce`` and ``sd_hash`` are RFC 9901 section 4.3's;
    the rest is the forwarding statement of this profile (specs/safeshare-v1.md
    section 7.2): who forwards (``iss``), the replay id (``jti``), the key the
    next recipient's envelope was sealed to (``sealed_to``), the digests of the
    disclosures passed on (``disclosed``), the next holder's key (``cnf``), the
    originator's consent grant (``consent``) and the previous hop (``prev``).
    """

    iss: AgencyIdStr
    aud: AgencyIdStr
    iat: NumericDate
    exp: NumericDate
    jti: Jti
    nonce: Jti
    sd_hash: Digest
    sealed_to: Annotated[list[Kid], msgspec.Meta(min_length=1, max_length=1)]
    disclosed: Annotated[list[Digest], msgspec.Meta(max_length=256)]
    cnf: Confirmation | msgspec.UnsetType = msgspec.UNSET
    consent: Annotated[str, msgspec.Meta(max_length=16 * 1024)] | msgspec.UnsetType = msgspec.UNSET
    prev: Annotated[str, msgspec.Meta(max_length=256 * 1024)] | msgspec.UnsetType = msgspec.UNSET
    pad: Pad | msgspec.UnsetType = msgspec.UNSET


#: Message types this version knows (the message-types issue adds their schemas).
MESSAGE_TYPES: Final = frozenset(
    {
        "preservation_request",
        "preservation_response",
        "disclosure_request",
        "disclosure_response",
        "mla_request",
        "mla_response",
        "spontaneous_information",
        "emergency_request",
        "consent_request",
        "consent_grant",
        "consent_refusal",
        "refusal",
        "status_update",
        "cannot_comply_notice",
        "breach_notification",
        "rectification_notice",
        "receipt",
        "reidentification_request",
    }
)
