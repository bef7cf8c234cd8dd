"""Envelopes: seal a record for recipient agencies, open one addressed to us.

The wire format is a strict profile of JWE (RFC 7516) around an SD-JWT
(RFC 9901) signed with Ed25519; see ``specs/safeshare-v1.md`` sections 5 to 7.
"""

from safeshare.envelope._forward import ForwardingHop, forward
from safeshare.envelope._held import HELD_FORMAT, MAX_HELD_BYTES
from safeshare.envelope._open import OpenedEnvelope, open_envelope, reopen_held
from safeshare.envelope._profile import (
    DEFAULT_SKEW,
    DEFAULT_TTL,
    ENVELOPE_TYP,
    MAX_ENVELOPE_BYTES,
    MAX_HOPS,
    MAX_RECIPIENTS,
    MAX_TTL,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    SD_JWT_TYP,
)
from safeshare.envelope._seal import seal

__all__ = [
    "DEFAULT_SKEW",
    "DEFAULT_TTL",
    "ENVELOPE_TYP",
    "HELD_FORMAT",
    "MAX_ENVELOPE_BYTES",
    "MAX_HELD_BYTES",
    "MAX_HOPS",
    "MAX_RECIPIENTS",
    "MAX_TTL",
    "MESSAGE_TYPES",
    "PROTOCOL_VERSION",
    "SD_JWT_TYP",
    "ForwardingHop",
    "OpenedEnvelope",
    "forward",
    "open_envelope",
    "reopen_held",
    "seal",
]
