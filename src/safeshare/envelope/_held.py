"""The held copy of an opened envelope: what a holder keeps to re-open and forward later.

An opened envelope (:class:`~safeshare.envelope.OpenedEnvelope`) exists only
in memory, and the envelope it came from cannot be opened a second time (the
replay cache refuses it). A holder that wants to forward the data later (after
a restart, or when an officer decides days afterwards) keeps a *held copy*:
the decrypted SD-JWT exactly as received (the Issuer-signed JWT, the
disclosures and, for a forwarded envelope, the Key Binding JWT of the last
hop), with the recipient agency and the id of the key it was decrypted with.
:func:`~safeshare.envelope.reopen_held` verifies it again, without the JWE and
without the replay check (``specs/safeshare-v1.md`` section 7.4).

The format (``safeshare-held/v1``) is one JSON object with exactly these
members, in this order, compact, UTF-8::

    {"format":"safeshare-held/v1","recipient":"XB-PROS","recipient_kid":"<43 chars>",
     "token":"<Issuer-signed JWT>~<D1>~...~<Dn>~[<KB-JWT>]"}

A held copy holds the record in clear (its disclosures): it is as sensitive as
the record itself, for the holder's own use only, never sent to anyone (the
CLI writes it with mode 0600).
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from safeshare._internal import strictjson
from safeshare.envelope._profile import MAX_ENVELOPE_BYTES, AgencyIdStr, Kid
from safeshare.errors import MalformedInputError, OversizedInputError, UsageError

__all__ = ["HELD_FORMAT", "MAX_HELD_BYTES", "HeldCopy", "encode_held", "parse_held"]

#: The ``format`` member of a held copy: the name and version of this format.
HELD_FORMAT: Final = "safeshare-held/v1"
#: Largest held copy accepted (bytes): the token fits in an envelope, so in this too.
MAX_HELD_BYTES: Final = MAX_ENVELOPE_BYTES

_FORMAT_FAMILY: Final = "safeshare-held/"


class HeldCopy(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A parsed held copy (not yet verified: :func:`~safeshare.envelope.reopen_held` does)."""

    format: str
    recipient: AgencyIdStr
    """The agency that opened the envelope and holds the data."""
    recipient_kid: Kid
    """The id of the recipient's encryption key the envelope was decrypted with."""
    token: Annotated[str, msgspec.Meta(min_length=1, pattern=r"^[A-Za-z0-9_.~-]+$")]
    """The decrypted SD-JWT as received (with the KB-JWT of a forwarded envelope)."""


def encode_held(*, recipient: str, recipient_kid: str, token: str) -> str:
    """The held copy (text) of *token*, decrypted by *recipient* with key *recipient_kid*."""
    return strictjson.dumps(
        {
            "format": HELD_FORMAT,
            "recipient": recipient,
            "recipient_kid": recipient_kid,
            "token": token,
        }
    ).decode("ascii")


def parse_held(held: str | bytes) -> HeldCopy:
    """Parse a held copy strictly; typed errors for anything else.

    :class:`~safeshare.errors.OversizedInputError` over :data:`MAX_HELD_BYTES`;
    :class:`~safeshare.errors.MalformedInputError` for bad JSON (duplicate
    members, ...), a ``format`` other than :data:`HELD_FORMAT` (another
    version says so), missing or unknown members, or members of the wrong
    shape.
    """
    if isinstance(held, str):
        raw = held.encode("utf-8", "surrogatepass")
    elif isinstance(held, bytes):
        raw = held
    else:
        raise UsageError("a held copy is str or bytes (what OpenedEnvelope.held() returned)")
    if len(raw) > MAX_HELD_BYTES:
        raise OversizedInputError(
            f"the held copy is {len(raw)} bytes; the limit is {MAX_HELD_BYTES} bytes"
        )
    doc = strictjson.loads(raw, what="held copy", max_bytes=MAX_HELD_BYTES)
    if not isinstance(doc, dict):
        raise MalformedInputError(f"a held copy is a JSON object with format {HELD_FORMAT!r}")
    fmt = doc.get("format")
    if fmt != HELD_FORMAT:
        if isinstance(fmt, str) and fmt.startswith(_FORMAT_FAMILY):
            raise MalformedInputError(
                f"the held copy has format {fmt[:64]!r}; this version reads only {HELD_FORMAT!r}"
            )
        raise MalformedInputError(f"this is not a held copy (format {HELD_FORMAT!r})")
    try:
        return msgspec.convert(doc, HeldCopy)
    except msgspec.ValidationError as exc:
        raise MalformedInputError(f"the held copy does not match its format: {exc}") from None
