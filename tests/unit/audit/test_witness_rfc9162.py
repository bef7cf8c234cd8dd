"""An independent RFC 9162 reference tree for the witness and receipt tests.

The functions below transcribe the recursive definitions of RFC 9162 section
2.1 (MTH, PATH, PROOF/SUBPROOF) directly, with no storage and no shortcuts, so
that the proofs the witness tests feed to :mod:`safeshare.audit.merkle` come
from an implementation that shares no code with it. The tests in this module
check that the two agree.
"""

from __future__ import annotations

import hashlib

import pytest

from safeshare.audit.merkle import verify_consistency, verify_inclusion
from safeshare.errors import AuditIntegrityError


def leaf(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 9162 section 2.1.1)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = _split(n)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), the inclusion proof (RFC 9162 section 2.1.3.1)."""
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]), the consistency proof for 0 < m < n (RFC 9162 section 2.1.4.1)."""
    return _subproof(m, leaves, True)


def leaves(n: int, tag: bytes = b"entry") -> list[bytes]:
    return [leaf(tag + b"-" + str(i).encode()) for i in range(n)]


def test_reference_roots_known_values() -> None:
    # Empty tree and one-leaf tree, by the definitions.
    assert mth([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert mth([leaf(b"")]).hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


@pytest.mark.parametrize("n", range(1, 18))
def test_reference_consistency_proofs_verify_with_merkle(n: int) -> None:
    tree = leaves(n)
    for m in range(1, n):
        verify_consistency(m, n, proof(m, tree), mth(tree[:m]), mth(tree))
        with pytest.raises(AuditIntegrityError):
            verify_consistency(m, n, proof(m, tree), mth(leaves(m, b"other")), mth(tree))


@pytest.mark.parametrize("n", range(1, 18))
def test_reference_inclusion_proofs_verify_with_merkle(n: int) -> None:
    tree = leaves(n)
    for i in range(n):
        verify_inclusion(tree[i], i, n, path(i, tree), mth(tree))
        with pytest.raises(AuditIntegrityError):
            verify_inclusion(leaf(b"not in the tree"), i, n, path(i, tree), mth(tree))
