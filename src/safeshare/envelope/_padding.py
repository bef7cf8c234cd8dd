"""Padding of the signed token to size buckets (specs/safeshare-v1.md section 16.2).

The JWE ciphertext is exactly as long as its plaintext (AES-GCM is a stream
mode, RFC 7518 section 5.3), so without padding an observer of the encrypted
envelope learns the length of the record to within a byte. With padding the
sender adds a signed claim ``pad`` (a string of ``0`` characters) to the
issuer-signed JWT, or to the forwarding hop's Key Binding JWT, so that the
whole SD-JWT lands on a Padmé bucket: Nikitin et al., "Reducing Metadata
Leakage from Encrypted Files and Communication with PURBs", PETS 2019,
section 4. Padmé leaks O(log log L) bits of a length L with at most 12%
overhead, against O(log L) bits for padding to powers of two (up to 100%).

The payload of a JWS is base64url-encoded, whose length (without ``=``) is
never 1 modulo 4; a bucket that would need such a length is met one
character short. The length is then one of two values per bucket, which
depends on the bucket and not on the record.
"""

from __future__ import annotations

from typing import Final

#: ``,"pad":""``: what a ``pad`` claim adds to the JSON payload besides its zeros.
PAD_OVERHEAD: Final = len(',"pad":""')


def padme(length: int) -> int:
    """The Padmé bucket of *length*: the smallest allowed size >= *length* (PURBs section 4)."""
    if length < 2:
        return length
    e = length.bit_length() - 1  # floor(log2 L)
    s = e.bit_length()  # floor(log2 E) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def b64_length(n: int) -> int:
    """Length of the unpadded base64url encoding of *n* bytes (RFC 7515 section 2)."""
    return (4 * n + 2) // 3


def pad_zeros(fixed: int, payload_len: int) -> int:
    """How many ``0`` characters the ``pad`` claim needs.

    *fixed* is the length of everything in the serialized token except the
    base64url payload; *payload_len* is the JSON payload's length without a
    ``pad`` claim. The result makes the token as long as its Padmé bucket (or
    one character shorter, see the module docstring).
    """
    smallest = payload_len + PAD_OVERHEAD
    target = padme(fixed + b64_length(smallest))
    budget = target - fixed  # room for the base64url payload
    total = (3 * budget) // 4 + 1
    while b64_length(total) > budget:
        total -= 1
    return total - smallest
