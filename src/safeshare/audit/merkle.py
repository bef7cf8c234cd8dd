"""RFC 9162 Merkle tree hashing, proofs and proof verification; pure, no I/O.

Everything here follows RFC 9162 ("Certificate Transparency Version 2.0")
section 2.1, with SHA-256 as ``HASH``:

* **Hashing** (section 2.1.1): a leaf is ``HASH(0x00 || data)``
  (:func:`leaf_hash`), an interior node ``HASH(0x01 || left || right)``
  (:func:`node_hash`). The distinct prefixes make it impossible to pass a
  node off as a leaf or the other way round (second-preimage resistance of
  the tree). The tree of ``n`` leaves splits at ``k``, the largest power of
  two smaller than ``n``; the empty tree's hash is ``HASH()``
  (:data:`EMPTY_ROOT`). :func:`root` is this recursive definition, written
  plainly, for tests and full re-verification.
* **Proof generation** (sections 2.1.3.1 and 2.1.4.1) reads stored nodes
  through a callback ``get_node(level, index)`` returning the hash of the
  *complete* subtree of ``2**level`` leaves that starts at leaf
  ``index * 2**level``. Those subtrees never change once complete, so a
  log stores each one once, when its last leaf is appended
  (:func:`nodes_to_write`, :class:`Frontier`); a tree of ``n`` leaves has
  fewer than ``2n`` of them. Any other subtree hash a proof needs is the
  right spine of complete subtrees, folded. :func:`root_at`,
  :func:`inclusion_proof` and :func:`consistency_proof` therefore read
  O(log n) nodes: at most ``2 * ceil(log2(n))`` for either kind of proof
  (the tests count them).
  Which nodes are read depends only on the sizes and indexes, never on the
  hashes, so :func:`required_nodes` can list them in advance (a storage
  back end fetches them in one query).
* **Verification** (sections 2.1.3.2 and 2.1.4.2) needs no storage at all:
  :func:`verify_inclusion` and :func:`verify_consistency` take the sizes,
  the proof and the roots (normally from signed checkpoints), run the RFC
  algorithms step by step, and raise
  :class:`~safeshare.errors.AuditIntegrityError` with a message naming the
  exact failure. Before any hashing, every length and bound is checked: an
  index at or beyond the size, a proof with the wrong number of nodes
  (trailing, inserted or missing nodes; the exact length follows from the
  sizes), nodes or roots that are not 32 bytes, a first size above the
  second, and the special cases below.

Cases outside the RFC's algorithms, and what this module does with them:

* An inclusion proof in a tree of size 1 is empty, and verifies only when the
  leaf hash *is* the root. For any other size an empty proof is refused by
  the length check before it can make a leaf hash pass for a root.
* RFC 9162 defines consistency proofs for ``0 < size1 < size2`` only (section
  2.1.4.1), and its verifier fails on an empty proof (section 2.1.4.2 step
  1). Two further cases are decided here, as most transparency logs do:

  - ``size1 == size2``: the proof must be empty and the two roots equal
    (equal sizes with different roots is a fork and is reported as one);
  - ``size1 == 0``: every tree extends the empty tree, so the proof is
    defined as empty, any other proof is refused, and ``root1`` must be the
    empty tree's hash ``HASH()`` (section 2.1.1). This proves nothing about
    ``root2``: that root must be authenticated another way (its signed
    checkpoint).

Security notes: verification compares hashes with ``==`` (the values are
public, so timing leaks nothing); sizes are bounded by
:data:`MAX_TREE_SIZE` (unsigned 64 bits, as in the C2SP checkpoint format),
so proof lengths are bounded by 64 and 128 nodes and no input makes a
verifier loop long.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final, TypeAlias

from safeshare.errors import AuditIntegrityError, UsageError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "Frontier",
    "GetNode",
    "Node",
    "consistency_proof",
    "consistency_proof_length",
    "inclusion_proof",
    "inclusion_proof_length",
    "leaf_hash",
    "node_hash",
    "nodes_to_write",
    "required_nodes",
    "root",
    "root_at",
    "verify_consistency",
    "verify_inclusion",
]

#: Bytes in every hash of the tree (SHA-256).
HASH_SIZE: Final = 32
#: The root of the empty tree: ``MTH({}) = HASH()`` (RFC 9162 section 2.1.1).
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
#: Largest tree size accepted (an unsigned 64-bit integer).
MAX_TREE_SIZE: Final = 2**64 - 1

#: ``get_node(level, index)``: the hash of the complete subtree of
#: ``2**level`` leaves starting at leaf ``index * 2**level``.
GetNode: TypeAlias = Callable[[int, int], bytes]
#: A stored node: ``(level, index, hash)`` as :data:`GetNode` addresses it.
Node: TypeAlias = tuple[int, int, bytes]

_sha256 = hashlib.sha256
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_PLACEHOLDER: Final = bytes(HASH_SIZE)


# -- hashing (RFC 9162 section 2.1.1) ------------------------------------------


def leaf_hash(data: bytes | bytearray | memoryview) -> bytes:
    """``HASH(0x00 || data)``: the hash of one leaf (RFC 9162 section 2.1.1)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError("leaf_hash() takes bytes")
    return _sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``HASH(0x01 || left || right)``: an interior node (RFC 9162 section 2.1.1)."""
    if not _is_hash(left) or not _is_hash(right):
        raise UsageError("node_hash() takes two 32-byte hashes")
    return _sha256(_NODE_PREFIX + left + right).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(_NODE_PREFIX + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _split(n: int) -> int:
    """The largest power of two smaller than *n* (n >= 2): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaf hashes, by the recursive definition.

    ``MTH({}) = HASH()``, ``MTH({d[0]}) = HASH(0x00 || d[0])`` (here: the given
    leaf hash) and ``MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` for
    the largest power of two ``k < n`` (RFC 9162 section 2.1.1). This is the
    reference: simple, O(n) memory, used by tests and to cross-check.
    """
    hashes = list(leaf_hashes)
    for h in hashes:
        if not _is_hash(h):
            raise UsageError("root() takes a list of 32-byte leaf hashes")
    if not hashes:
        return EMPTY_ROOT
    return _mth(hashes, 0, len(hashes))


def _mth(hashes: list[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 1:
        return hashes[start]
    k = _split(n)
    return _node(_mth(hashes, start, start + k), _mth(hashes, start + k, end))


# -- reading stored nodes ----------------------------------------------------------


def _check_size(size: object, name: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise UsageError(f"{name} must be an int")
    if size < 0 or size > MAX_TREE_SIZE:
        raise UsageError(f"{name} must be between 0 and 2**64 - 1, not {size}")
    return size


def _range_hash(start: int, end: int, get_node: GetNode) -> bytes:
    """MTH(D[start:end]) from complete-subtree nodes (start < end).

    A complete, aligned range is one stored node. Otherwise the range splits
    at its largest power of two (RFC 9162 section 2.1.1); in the ranges that
    proofs need, the left part is always complete, so only the right spine
    recurses and at most ``bit_length(end - start)`` nodes are read.
    """
    n = end - start
    if n & (n - 1) == 0 and start & (n - 1) == 0:
        level = n.bit_length() - 1
        return _checked_node(get_node, level, start >> level)
    k = _split(n)
    return _node(_range_hash(start, start + k, get_node), _range_hash(start + k, end, get_node))


def _checked_node(get_node: GetNode, level: int, index: int) -> bytes:
    value = get_node(level, index)
    if not _is_hash(value):
        raise AuditIntegrityError(
            f"stored tree node (level {level}, index {index}) is not a 32-byte hash; "
            "the log storage is damaged"
        )
    return value


def root_at(size: int, get_node: GetNode) -> bytes:
    """The root of the tree of the first *size* leaves, from stored nodes.

    Reads one node per set bit of *size* (at most 64); the empty tree's root
    is :data:`EMPTY_ROOT`.
    """
    _check_size(size, "size")
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, get_node)


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """The inclusion proof ``PATH(index, D[0:size])`` (RFC 9162 section 2.1.3.1).

    The list is ordered from the leaf's sibling up to the root's child, as
    the RFC defines it: ``PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])`` for
    ``m < k`` and ``PATH(m - k, D[k:n]) : MTH(D[0:k])`` otherwise; the path of
    the only leaf of a one-leaf tree is empty. Reads at most
    ``2 * ceil(log2(size))`` nodes: one per proof element, except the single
    incomplete right subtree, which costs one node per set bit of its size.
    """
    _check_size(size, "size")
    _check_size(index, "index")
    if index >= size:
        raise UsageError(f"no entry {index} in a tree of size {size}")
    siblings: list[bytes] = []  # collected from the root down
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            siblings.append(_range_hash(start + k, end, get_node))
            end = start + k
        else:
            siblings.append(_range_hash(start, start + k, get_node))
            start += k
    siblings.reverse()
    return siblings


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """The consistency proof ``PROOF(size1, D[0:size2])`` (RFC 9162 section 2.1.4.1).

    ``PROOF(m, D_n) = SUBPROOF(m, D_n, true)``; ``SUBPROOF(m, D_m, true) = {}``,
    ``SUBPROOF(m, D_m, false) = {MTH(D_m)}``, and for ``m < n``:
    ``SUBPROOF(m, D[0:k], b) : MTH(D[k:n])`` if ``m <= k``, else
    ``SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])``. The RFC defines it for
    ``0 < size1 < size2``; for ``size1 == 0`` and ``size1 == size2`` the proof
    is empty (see the module docstring). Reads O(log size2) nodes.
    """
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    if size1 > size2:
        raise UsageError(f"no consistency proof from size {size1} to the smaller size {size2}")
    if size1 in (0, size2):
        return []
    parts: list[bytes] = []  # collected from the root down
    m, start, end, known = size1, 0, size2, True
    while True:
        n = end - start
        if m == n:
            if not known:
                parts.append(_range_hash(start, end, get_node))
            break
        k = _split(n)
        if m <= k:
            parts.append(_range_hash(start + k, end, get_node))
            end = start + k
        else:
            parts.append(_range_hash(start, start + k, get_node))
            m -= k
            start += k
            known = False
    parts.reverse()
    return parts


def required_nodes(compute: Callable[[GetNode], object]) -> list[tuple[int, int]]:
    """The ``(level, index)`` addresses that ``compute(get_node)`` would read.

    Runs *compute* with a stand-in ``get_node`` that records each address and
    returns a placeholder hash. Valid for :func:`root_at`,
    :func:`inclusion_proof` and :func:`consistency_proof` (and
    :meth:`Frontier.load`), whose reads depend only on sizes and indexes:
    storage can fetch the nodes in one query, then run *compute* again
    against them. Addresses are returned once each, in first-read order.
    """
    seen: dict[tuple[int, int], None] = {}

    def record(level: int, index: int) -> bytes:
        seen[(level, index)] = None
        return _PLACEHOLDER

    compute(record)
    return list(seen)


# -- appending ---------------------------------------------------------------------


def nodes_to_write(index: int, leaf: bytes, get_node: GetNode) -> list[Node]:
    """The nodes to store when leaf *index* (hash *leaf*) is appended.

    The leaf itself at level 0, then every parent that the new leaf
    completes: while the current node is a right child, its parent
    ``HASH(0x01 || left sibling || node)`` is complete. Reads the left
    siblings through *get_node* (one per trailing 1 bit of *index*, at most
    64). For many appends in a row, :class:`Frontier` keeps those siblings in
    memory instead.
    """
    _check_size(index, "index")
    if not _is_hash(leaf):
        raise UsageError("nodes_to_write() takes a 32-byte leaf hash")
    out: list[Node] = [(0, index, leaf)]
    h, level, i = leaf, 0, index
    while i & 1:
        h = _node(_checked_node(get_node, level, i - 1), h)
        level += 1
        i >>= 1
        out.append((level, i, h))
    return out


class Frontier:
    """The right edge of a tree: the roots of its maximal complete subtrees.

    For a tree of ``size`` leaves these are the complete subtrees given by
    the binary digits of ``size``, largest (leftmost) first; they are all
    that is needed to append further leaves and to compute the root.
    :meth:`append` returns the nodes to store for each new leaf (as
    :func:`nodes_to_write` does) without reading storage. A frontier is
    plain data: it holds no lock and does no I/O; not thread-safe.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size, "size")
        hs = list(hashes)
        if len(hs) != size.bit_count() or not all(_is_hash(h) for h in hs):
            raise UsageError(
                f"a frontier of size {size} holds exactly {size.bit_count()} 32-byte hashes"
            )
        self._size = size
        self._hashes = hs

    @staticmethod
    def addresses(size: int) -> list[tuple[int, int]]:
        """The ``(level, index)`` of the frontier nodes of a tree of *size* leaves."""
        _check_size(size, "size")
        out: list[tuple[int, int]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, start >> level))
                start += 1 << level
        return out

    @classmethod
    def load(cls, size: int, get_node: GetNode) -> Frontier:
        """The frontier of a stored tree of *size* leaves (reads popcount(size) nodes)."""
        return cls(size, [_checked_node(get_node, lv, ix) for lv, ix in cls.addresses(size)])

    @property
    def size(self) -> int:
        """How many leaves the tree has."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The frontier hashes, largest subtree first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[Node]:
        """Add the leaf hash *leaf*; return the nodes it completes (leaf first)."""
        if not _is_hash(leaf):
            raise UsageError("Frontier.append() takes a 32-byte leaf hash")
        hashes = self._hashes
        i = self._size
        out: list[Node] = [(0, i, leaf)]
        h, level = leaf, 0
        while i & 1:
            h = _node(hashes.pop(), h)
            level += 1
            i >>= 1
            out.append((level, i, h))
        hashes.append(h)
        self._size += 1
        return out

    def root(self) -> bytes:
        """The Merkle Tree Hash of the whole tree (RFC 9162 section 2.1.1)."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        h = hashes[-1]
        for left in reversed(hashes[:-1]):
            h = _node(left, h)
        return h


# -- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ---------------------------


def inclusion_proof_length(index: int, size: int) -> int:
    """How many nodes ``PATH(index, D[0:size])`` has (``0 <= index < size``).

    The leaf's path shares its top ``inner`` levels' structure with the last
    leaf: below the highest bit where ``index`` and ``size - 1`` differ, the
    path runs through complete subtrees (one node per level); above it, one
    node per set bit of ``index`` (a left sibling), the other levels being
    skipped by the RFC's right edge (RFC 9162 section 2.1.3.2 step 4.b.ii).
    """
    _check_size(size, "size")
    _check_size(index, "index")
    if index >= size:
        raise UsageError(f"no entry {index} in a tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(size1: int, size2: int) -> int:
    """How many nodes ``PROOF(size1, D[0:size2])`` has (0 when it is empty)."""
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    if size1 > size2:
        raise UsageError(f"no consistency proof from size {size1} to the smaller size {size2}")
    if size1 in (0, size2):
        return 0
    # The proof is the inclusion path of leaf size1 - 1 in the bigger tree,
    # minus the levels inside the complete subtree that ends the smaller tree
    # (that subtree's root takes their place), whose root is itself omitted
    # when the smaller tree *is* that subtree (size1 a power of two).
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = ((size1 - 1) >> inner).bit_count()
    shift = (size1 & -size1).bit_length() - 1
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner - shift + border


def _check_proof_nodes(proof: object, what: str) -> list[bytes]:
    if isinstance(proof, bytes | bytearray | str) or not isinstance(proof, Sequence):
        raise AuditIntegrityError(f"{what} must be a list of 32-byte hashes")
    if len(proof) > 2 * 64:
        raise AuditIntegrityError(
            f"{what} has {len(proof)} nodes; no proof in a tree of up to 2**64 - 1 "
            "entries has more than 128"
        )
    nodes = list(proof)
    for position, node in enumerate(nodes):
        if not isinstance(node, bytes):
            raise AuditIntegrityError(
                f"{what} node {position} is a {type(node).__name__}, not bytes"
            )
        if len(node) != HASH_SIZE:
            raise AuditIntegrityError(
                f"{what} node {position} is {len(node)} bytes long; every node is a "
                f"{HASH_SIZE}-byte SHA-256 hash"
            )
    return nodes


def _check_hash_arg(value: object, name: str) -> bytes:
    if not isinstance(value, bytes):
        raise AuditIntegrityError(f"{name} is a {type(value).__name__}, not bytes")
    if len(value) != HASH_SIZE:
        raise AuditIntegrityError(
            f"{name} is {len(value)} bytes long; it must be a {HASH_SIZE}-byte SHA-256 hash"
        )
    return value


def _check_size_arg(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be an int")
    if value < 0:
        raise AuditIntegrityError(f"{name} {value} is negative")
    if value > MAX_TREE_SIZE:
        raise AuditIntegrityError(f"{name} {value} is beyond 2**64 - 1")
    return value


def _length_error(what: str, got: int, want: int, context: str) -> AuditIntegrityError:
    if got > want:
        return AuditIntegrityError(
            f"{what} has {got} nodes but {context} has exactly {want}: "
            f"{got - want} node(s) too many (trailing or inserted nodes are refused)"
        )
    return AuditIntegrityError(
        f"{what} has {got} nodes but {context} has exactly {want}: {want - got} node(s) missing"
    )


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that *leaf_hash* is entry *index* of the tree of *size* with *root*.

    RFC 9162 section 2.1.3.2, after these checks (each its own message):
    *index* below *size* (step 1); *leaf_hash*, *root* and every proof node
    32 bytes; the proof has exactly :func:`inclusion_proof_length` nodes, so
    trailing, inserted or missing nodes are refused before any hashing, and
    an empty proof only ever proves the single leaf of a tree of size 1.
    Returns ``None`` when the proof holds; raises
    :class:`~safeshare.errors.AuditIntegrityError` otherwise. Uses no
    storage: *root* and *size* should come from a verified checkpoint.
    """
    index = _check_size_arg(index, "leaf index")
    size = _check_size_arg(size, "tree size")
    leaf = _check_hash_arg(leaf_hash, "leaf hash")
    want_root = _check_hash_arg(root, "root")
    path = _check_proof_nodes(proof, "inclusion proof")
    # Step 1: the index must be inside the tree.
    if index >= size:
        raise AuditIntegrityError(
            f"inclusion proof for entry {index} in a tree of size {size}: "
            "the index must be below the size (RFC 9162 section 2.1.3.2 step 1)"
        )
    want = inclusion_proof_length(index, size)
    if len(path) != want:
        if not path:
            raise AuditIntegrityError(
                f"empty inclusion proof for a tree of size {size}: only the single entry "
                "of a tree of size 1 has an empty proof, so a leaf hash cannot stand in "
                f"for the root of a tree of {size} entries"
            )
        raise _length_error(
            "inclusion proof",
            len(path),
            want,
            f"the proof for entry {index} in a tree of size {size}",
        )
    # Steps 2 and 3.
    fn, sn = index, size - 1
    r = leaf
    # Step 4.
    for p in path:
        # 4.a (unreachable after the length check; kept as the RFC states it)
        if sn == 0:  # pragma: no cover - the length check refuses such proofs
            raise AuditIntegrityError("inclusion proof is longer than the path to the root")
        # 4.b
        if fn & 1 or fn == sn:
            r = _node(p, r)  # 4.b.i
            if not fn & 1:  # 4.b.ii: skip the levels where we are the right edge
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)  # 4.b "Otherwise"
        # 4.c
        fn >>= 1
        sn >>= 1
    # Step 5.
    if sn != 0:  # pragma: no cover - the length check refuses such proofs
        raise AuditIntegrityError("inclusion proof ends before the root")
    if r != want_root:
        raise AuditIntegrityError(
            f"inclusion proof does not verify: the root recomputed from entry {index} "
            f"and the proof differs from the root of the tree of size {size} (the entry "
            "is not in that tree, or the leaf, proof or root was altered)"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (*size2*, *root2*) extends the tree (*size1*, *root1*).

    RFC 9162 section 2.1.4.2 for ``0 < size1 < size2``, after these checks
    (each its own message): *size1* not above *size2* (a log never shrinks);
    roots and proof nodes 32 bytes; the proof has exactly
    :func:`consistency_proof_length` nodes (trailing, inserted or missing
    nodes refused; an empty one refused as in step 1). Equal sizes need an
    empty proof and equal roots (different roots for one size are a fork);
    from size 0 the proof must be empty and *root1* the empty tree's hash
    (see the module docstring). Returns ``None`` when consistent; raises
    :class:`~safeshare.errors.AuditIntegrityError` otherwise.
    """
    first = _check_size_arg(size1, "first tree size")
    second = _check_size_arg(size2, "second tree size")
    first_hash = _check_hash_arg(root1, "first root")
    second_hash = _check_hash_arg(root2, "second root")
    path = _check_proof_nodes(proof, "consistency proof")
    if first > second:
        raise AuditIntegrityError(
            f"consistency proof from size {first} to the smaller size {second}: "
            "a log only grows, so the second tree cannot be smaller (a rollback?)"
        )
    if first == second:
        if path:
            raise AuditIntegrityError(
                f"consistency proof between two trees of the same size {first} must be "
                f"empty; this one has {len(path)} nodes"
            )
        if first_hash != second_hash:
            raise AuditIntegrityError(
                f"two different roots for the same tree size {first}: the log has forked "
                "(or one of the roots is wrong)"
            )
        return
    if first == 0:
        if path:
            raise AuditIntegrityError(
                "a consistency proof from the empty tree (size 0) is empty, because every "
                f"tree extends the empty tree; this one has {len(path)} nodes"
            )
        if first_hash != EMPTY_ROOT:
            raise AuditIntegrityError(
                "the first root is not the root of the empty tree: a tree of size 0 has "
                "the root SHA-256() (RFC 9162 section 2.1.1)"
            )
        return
    # Step 1.
    if not path:
        raise AuditIntegrityError(
            f"empty consistency proof between sizes {first} and {second}: only equal "
            "sizes or a first size of 0 have an empty proof (RFC 9162 section 2.1.4.2 step 1)"
        )
    want = consistency_proof_length(first, second)
    if len(path) != want:
        raise _length_error(
            "consistency proof", len(path), want, f"the proof from size {first} to {second}"
        )
    # Step 2: a power-of-two first tree is a complete subtree: its root seeds the walk.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # Step 3.
    fn, sn = first - 1, second - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        # 6.a
        if sn == 0:  # pragma: no cover - the length check refuses such proofs
            raise AuditIntegrityError("consistency proof is longer than the path to the root")
        # 6.b
        if fn & 1 or fn == sn:
            fr = _node(c, fr)  # 6.b.i
            sr = _node(c, sr)
            if not fn & 1:  # 6.b.ii
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)  # 6.b "Otherwise"
        # 6.c
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:  # pragma: no cover - the length check refuses such proofs
        raise AuditIntegrityError("consistency proof ends before the root")
    if fr != first_hash:
        raise AuditIntegrityError(
            f"consistency proof does not verify: the root it yields for the first "
            f"{first} entries differs from the first root (the proof or that root was "
            "altered, or the logs differ)"
        )
    if sr != second_hash:
        raise AuditIntegrityError(
            f"consistency proof does not verify: the tree of size {second} does not "
            f"extend the tree of size {first} (the second root differs from the one the "
            "proof yields: entries were rewritten, or the proof or root was altered)"
        )
