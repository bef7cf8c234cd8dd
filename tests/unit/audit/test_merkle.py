"""RFC 9162 Merkle trees: roots, proofs, verification and every hostile proof.

Everything the module computes is checked against an *independent*
recomputation written here from the RFC's definitions (section 2.1.1 MTH,
2.1.3.1 PATH, 2.1.4.1 PROOF/SUBPROOF) over plain lists, with ``hashlib``
directly, and against the published Certificate Transparency test vectors.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeshare.audit import merkle
from safeshare.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    consistency_proof_length,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    node_hash,
    nodes_to_write,
    required_nodes,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from safeshare.errors import AuditIntegrityError, UsageError

# -- the independent reference (RFC 9162 section 2.1, written out plainly) ----------


def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes (section 2.1.1)."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = ref_k(n)
    return ref_node(ref_mth(hashes[:k]), ref_mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D_n) (section 2.1.3.1)."""
    n = len(hashes)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D_n, b) (section 2.1.4.1)."""
    n = len(hashes)
    if m == n:
        return [] if b else [ref_mth(hashes)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], b), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: list[bytes]) -> list[bytes]:
    """PROOF(m, D_n) for 0 < m < n (section 2.1.4.1)."""
    return ref_subproof(m, hashes, True)


MAX_LEAVES = 4096


@cache
def leaves() -> list[bytes]:
    return [ref_leaf(f"entry {i}".encode()) for i in range(MAX_LEAVES)]


@cache
def complete_nodes() -> dict[tuple[int, int], bytes]:
    """Every complete subtree of the MAX_LEAVES-leaf tree, built level by level."""
    nodes: dict[tuple[int, int], bytes] = {}
    level_hashes = leaves()
    level = 0
    while level_hashes:
        for j, h in enumerate(level_hashes):
            nodes[(level, j)] = h
        level_hashes = [
            ref_node(level_hashes[2 * j], level_hashes[2 * j + 1])
            for j in range(len(level_hashes) // 2)
        ]
        level += 1
    return nodes


class Nodes:
    """A get_node over the tree of the first `size` leaves that counts reads.

    Reading a node that is not complete within `size` leaves fails the test:
    a log of that size would not have it yet.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        assert level >= 0
        assert index >= 0
        assert (index + 1) << level <= self.size, (level, index, self.size)
        self.reads.append((level, index))
        return complete_nodes()[(level, index)]


class FakeNodes:
    """A get_node for huge trees: a deterministic stand-in hash per address."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0

    def __call__(self, level: int, index: int) -> bytes:
        assert (index + 1) << level <= self.size
        self.reads += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


def ceil_log2(n: int) -> int:
    return (n - 1).bit_length()


# -- published vectors (Certificate Transparency / Trillian test suites) -----------

CT_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (1, 8): CT_INCLUSION[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def ct_get_node(size: int) -> Callable[[int, int], bytes]:
    hashes = [leaf_hash(d) for d in CT_INPUTS[:size]]

    def get(level: int, index: int) -> bytes:
        assert (index + 1) << level <= size
        return ref_mth(hashes[index << level : (index + 1) << level])

    return get


def test_empty_root_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert merkle.root([]) == EMPTY_ROOT
    assert root_at(0, ct_get_node(0)) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_published_roots(size: int) -> None:
    hashes = [leaf_hash(d) for d in CT_INPUTS[:size]]
    assert merkle.root(hashes).hex() == CT_ROOTS[size]
    assert root_at(size, ct_get_node(size)).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_published_inclusion_proofs(index: int, size: int) -> None:
    proof = inclusion_proof(index, size, ct_get_node(size))
    assert [p.hex() for p in proof] == CT_INCLUSION[(index, size)]
    verify_inclusion(leaf_hash(CT_INPUTS[index]), index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("size1", "size2"), sorted(CT_CONSISTENCY))
def test_published_consistency_proofs(size1: int, size2: int) -> None:
    proof = consistency_proof(size1, size2, ct_get_node(size2))
    assert [p.hex() for p in proof] == CT_CONSISTENCY[(size1, size2)]
    verify_consistency(
        size1, size2, proof, bytes.fromhex(CT_ROOTS[size1]), bytes.fromhex(CT_ROOTS[size2])
    )


def test_hash_prefixes() -> None:
    data = b"audit"
    assert leaf_hash(data) == hashlib.sha256(b"\x00audit").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(bytearray(data)) == leaf_hash(memoryview(data)) == leaf_hash(data)


@pytest.mark.parametrize(
    ("left", "right"), [(b"x" * 31, b"y" * 32), (b"x" * 32, b"y" * 33), ("x" * 32, b"y" * 32)]
)
def test_node_hash_takes_two_hashes(left: Any, right: Any) -> None:
    with pytest.raises(UsageError):
        node_hash(left, right)


def test_leaf_hash_takes_bytes() -> None:
    with pytest.raises(UsageError):
        leaf_hash("text")  # type: ignore[arg-type]


def test_root_takes_hashes() -> None:
    with pytest.raises(UsageError):
        merkle.root([b"short"])


# -- every proof of the trees up to 64 leaves -----------------------------------------

SMALL = 64


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_roots_and_inclusion_proofs_up_to_64(size: int) -> None:
    hashes = leaves()[:size]
    expected_root = ref_mth(hashes)
    assert merkle.root(hashes) == expected_root
    get = Nodes(size)
    assert root_at(size, get) == expected_root
    assert len(get.reads) == size.bit_count()
    other_root = ref_mth(leaves()[: size + 1])
    for index in range(size):
        get = Nodes(size)
        proof = inclusion_proof(index, size, get)
        assert proof == ref_path(index, hashes)
        assert len(proof) == inclusion_proof_length(index, size)
        assert len(get.reads) <= 2 * ceil_log2(size)
        verify_inclusion(hashes[index], index, size, proof, expected_root)
        # the same proof proves nothing else
        with pytest.raises(AuditIntegrityError):
            verify_inclusion(leaves()[size], index, size, proof, expected_root)
        with pytest.raises(AuditIntegrityError):
            verify_inclusion(hashes[index], index, size, proof, other_root)
        if size > 1:
            wrong = (index + 1) % size
            with pytest.raises(AuditIntegrityError):
                verify_inclusion(hashes[wrong], index, size, proof, expected_root)


@pytest.mark.parametrize("size2", range(SMALL + 1))
def test_consistency_proofs_up_to_64(size2: int) -> None:
    hashes = leaves()[:size2]
    root2 = ref_mth(hashes)
    for size1 in range(size2 + 1):
        root1 = ref_mth(hashes[:size1])
        get = Nodes(size2)
        proof = consistency_proof(size1, size2, get)
        if 0 < size1 < size2:
            assert proof == ref_proof(size1, hashes)
        else:
            assert proof == []
            assert get.reads == []
        assert len(proof) == consistency_proof_length(size1, size2)
        if size2:
            assert len(get.reads) <= 2 * ceil_log2(size2)
        verify_consistency(size1, size2, proof, root1, root2)
        if 0 < size1 < size2:
            with pytest.raises(AuditIntegrityError, match="does not verify"):
                verify_consistency(size1, size2, proof, ref_mth(leaves()[1 : size1 + 1]), root2)
            with pytest.raises(AuditIntegrityError, match="does not verify"):
                verify_consistency(size1, size2, proof, root1, ref_mth(leaves()[: size2 + 1]))


def test_rfc_example_tree_of_seven() -> None:
    """The example of RFC 9162 section 2.1.5: seven leaves d0 .. d6."""
    hashes = leaves()[:7]
    a, b, c, d, e, f, d6 = hashes
    g, h, i, j = ref_node(a, b), ref_node(c, d), ref_node(e, f), d6
    k, l_ = ref_node(g, h), ref_node(i, j)
    get = Nodes(7)
    assert inclusion_proof(0, 7, get) == [b, h, l_]
    assert inclusion_proof(3, 7, get) == [c, g, l_]
    assert inclusion_proof(4, 7, get) == [f, j, k]
    assert inclusion_proof(6, 7, get) == [i, k]
    assert consistency_proof(3, 7, get) == [c, d, g, l_]
    assert consistency_proof(4, 7, get) == [l_]
    assert consistency_proof(6, 7, get) == [i, j, k]


# -- random sizes: hypothesis ---------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(1, MAX_LEAVES).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_random_inclusion_proofs(case: tuple[int, int]) -> None:
    size, index = case
    hashes = leaves()[:size]
    get = Nodes(size)
    proof = inclusion_proof(index, size, get)
    assert proof == ref_path(index, hashes)
    assert len(get.reads) <= 2 * ceil_log2(size)
    verify_inclusion(hashes[index], index, size, proof, ref_mth(hashes))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, MAX_LEAVES).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_random_consistency_proofs(case: tuple[int, int]) -> None:
    size1, size2 = case
    hashes = leaves()[:size2]
    get = Nodes(size2)
    proof = consistency_proof(size1, size2, get)
    if 0 < size1 < size2:
        assert proof == ref_proof(size1, hashes)
    assert len(proof) == consistency_proof_length(size1, size2)
    verify_consistency(size1, size2, proof, ref_mth(hashes[:size1]), ref_mth(hashes))


# -- O(log n) reads --------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 3, 7, 1000, 2**20 - 1, 2**20, 10**6, 2**40 + 12345, 2**63 - 1])
def test_proof_generation_reads_o_log_n_nodes(size: int) -> None:
    bound = ceil_log2(size)
    for index in {0, 1 % size, size // 3, size // 2, size - 2, size - 1}:
        get = FakeNodes(size)
        proof = inclusion_proof(index, size, get)
        assert len(proof) == inclusion_proof_length(index, size) <= bound
        assert get.reads <= 2 * bound
    for size1 in {1, 2, size // 3, size // 2 + 1, size - 1}:
        if not 0 < size1 < size:
            continue
        get = FakeNodes(size)
        proof = consistency_proof(size1, size, get)
        assert len(proof) == consistency_proof_length(size1, size) <= 2 * bound
        assert get.reads <= 2 * bound
    get = FakeNodes(size)
    root_at(size, get)
    assert get.reads == size.bit_count()


def test_worst_case_read_counts_up_to_256() -> None:
    """The bounds stated in the module docstring hold for every case up to 256."""
    for size in range(1, 257):
        for index in range(size):
            get = FakeNodes(size)
            inclusion_proof(index, size, get)
            assert get.reads <= 2 * ceil_log2(size)
        for size1 in range(size + 1):
            get = FakeNodes(size)
            consistency_proof(size1, size, get)
            assert get.reads <= 2 * ceil_log2(size)


def test_required_nodes_lists_exactly_the_reads() -> None:
    for size, index in [(1, 0), (7, 3), (1000, 999), (1000, 17)]:
        get = Nodes(size)
        inclusion_proof(index, size, get)
        assert required_nodes(functools.partial(inclusion_proof, index, size)) == list(
            dict.fromkeys(get.reads)
        )
    get = Nodes(1000)
    consistency_proof(300, 1000, get)
    assert required_nodes(lambda g: consistency_proof(300, 1000, g)) == list(
        dict.fromkeys(get.reads)
    )
    assert required_nodes(lambda g: root_at(0, g)) == []


# -- appending: the nodes a log stores --------------------------------------------------


def test_frontier_produces_every_complete_subtree_once() -> None:
    frontier = Frontier()
    written: dict[tuple[int, int], bytes] = {}
    for n, leaf in enumerate(leaves()[:1100]):
        new = frontier.append(leaf)
        assert new[0] == (0, n, leaf)
        assert len(new) <= 1 + ceil_log2(n + 1)
        for level, index, h in new:
            assert (level, index) not in written
            written[(level, index)] = h
        size = n + 1
        assert frontier.size == size
        assert frontier.root() == ref_mth(leaves()[:size]) if size % 97 == 0 else True
        assert len(written) == 2 * size - size.bit_count()
    expected = {k: v for k, v in complete_nodes().items() if (k[1] + 1) << k[0] <= 1100}
    assert written == expected
    assert Frontier().root() == EMPTY_ROOT


def test_frontier_load_and_root() -> None:
    for size in [0, 1, 2, 5, 64, 100, 1023]:
        loaded = Frontier.load(size, Nodes(size))
        assert loaded.root() == ref_mth(leaves()[:size])
        assert len(loaded.hashes) == size.bit_count()
        loaded.append(leaves()[size])
        assert loaded.root() == ref_mth(leaves()[: size + 1])


def test_frontier_refuses_bad_state() -> None:
    with pytest.raises(UsageError):
        Frontier(3, [leaves()[0]])
    with pytest.raises(UsageError):
        Frontier(1, [b"short"])
    with pytest.raises(UsageError):
        Frontier().append(b"short")
    with pytest.raises(UsageError):
        Frontier(-1)


def test_nodes_to_write_matches_the_frontier() -> None:
    frontier = Frontier()
    for n in range(300):
        get = Nodes(n)  # only nodes complete before the append may be read
        new = nodes_to_write(n, leaves()[n], get)
        assert new == frontier.append(leaves()[n])
        assert len(get.reads) == len(new) - 1
    with pytest.raises(UsageError):
        nodes_to_write(0, b"short", Nodes(0))


def test_a_damaged_stored_node_is_reported() -> None:
    with pytest.raises(AuditIntegrityError, match=r"level 0, index 0"):
        root_at(1, lambda level, index: b"short")
    with pytest.raises(AuditIntegrityError):
        nodes_to_write(1, leaves()[1], lambda level, index: "text")  # type: ignore[arg-type,return-value]


# -- generation refuses impossible requests ----------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda g: inclusion_proof(5, 5, g),
        lambda g: inclusion_proof(0, 0, g),
        lambda g: inclusion_proof(-1, 5, g),
        lambda g: inclusion_proof(True, 5, g),
        lambda g: consistency_proof(6, 5, g),
        lambda g: consistency_proof(-1, 5, g),
        lambda g: root_at(-1, g),
        lambda g: root_at(2**64, g),
        lambda g: root_at(1.0, g),  # type: ignore[arg-type]
        lambda g: inclusion_proof_length(3, 3),
        lambda g: consistency_proof_length(4, 3),
    ],
)
def test_generation_usage_errors(call: Callable[[Callable[[int, int], bytes]], Any]) -> None:
    with pytest.raises(UsageError):
        call(Nodes(5))


# -- hostile inclusion proofs (HOSTILE_INPUTS.md, Audit log) --------------------------

N = 13
HASHES = leaves()[:N]
ROOT = ref_mth(HASHES)
INDEX = 6
PROOF = ref_path(INDEX, HASHES)  # 4 nodes
LEAF = HASHES[INDEX]


def test_valid_inclusion_proof_passes() -> None:
    verify_inclusion(LEAF, INDEX, N, PROOF, ROOT)
    verify_inclusion(LEAF, INDEX, N, tuple(PROOF), ROOT)


@pytest.mark.parametrize("index", [N, N + 1, 2**64 - 1])
def test_inclusion_index_not_below_size(index: int) -> None:
    with pytest.raises(AuditIntegrityError, match="must be below the size"):
        verify_inclusion(LEAF, index, N, PROOF, ROOT)


def test_inclusion_in_the_empty_tree() -> None:
    with pytest.raises(AuditIntegrityError, match="must be below the size"):
        verify_inclusion(LEAF, 0, 0, [], EMPTY_ROOT)


def test_inclusion_proof_with_a_trailing_node() -> None:
    with pytest.raises(
        AuditIntegrityError, match=r"has 5 nodes .* exactly 4: 1 node\(s\) too many"
    ):
        verify_inclusion(LEAF, INDEX, N, [*PROOF, ROOT], ROOT)


@pytest.mark.parametrize("position", range(len(PROOF) + 1))
def test_inclusion_proof_with_an_inserted_node(position: int) -> None:
    proof = [*PROOF[:position], leaves()[99], *PROOF[position:]]
    with pytest.raises(AuditIntegrityError, match="too many"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


@pytest.mark.parametrize("position", range(len(PROOF)))
def test_inclusion_proof_with_a_missing_node(position: int) -> None:
    proof = PROOF[:position] + PROOF[position + 1 :]
    with pytest.raises(AuditIntegrityError, match=r"1 node\(s\) missing"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


@pytest.mark.parametrize("position", range(len(PROOF)))
def test_inclusion_proof_with_a_replaced_node(position: int) -> None:
    proof = list(PROOF)
    proof[position] = leaves()[99]
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


def test_inclusion_proof_with_swapped_nodes() -> None:
    proof = [PROOF[1], PROOF[0], *PROOF[2:]]
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


def test_inclusion_proof_for_another_size() -> None:
    # (size, root) must come together from one checkpoint: the proof checks the pair.
    with pytest.raises(AuditIntegrityError, match="missing"):
        verify_inclusion(LEAF, INDEX, 100, PROOF, ROOT)
    with pytest.raises(AuditIntegrityError, match="too many"):
        verify_inclusion(LEAF, INDEX, 7, PROOF, ROOT)
    proof_12 = ref_path(INDEX, leaves()[:12])
    with pytest.raises(AuditIntegrityError):
        verify_inclusion(LEAF, INDEX, N, proof_12, ROOT)


@pytest.mark.parametrize("size", [2, 3, 13, 2**40])
def test_empty_proof_cannot_prove_the_root_as_a_leaf(size: int) -> None:
    """An empty proof with root == leaf "proves" nothing unless the tree has size 1."""
    with pytest.raises(AuditIntegrityError, match="empty inclusion proof"):
        verify_inclusion(ROOT, 0, size, [], ROOT)
    with pytest.raises(AuditIntegrityError, match="empty inclusion proof"):
        verify_inclusion(ROOT, size - 1, size, [], ROOT)


def test_size_one_tree_has_an_empty_proof() -> None:
    verify_inclusion(LEAF, 0, 1, [], LEAF)
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        verify_inclusion(LEAF, 0, 1, [], ROOT)
    with pytest.raises(AuditIntegrityError, match="too many"):
        verify_inclusion(LEAF, 0, 1, [LEAF], ref_node(LEAF, LEAF))


def test_an_interior_node_is_not_a_leaf() -> None:
    """Second preimage: the data of a leaf never hashes to an interior node."""
    four = leaves()[:4]
    left = ref_node(four[0], four[1])
    root4 = ref_mth(four)
    # With the interior node as "leaf hash" of a 2-leaf tree, the hashes line up ...
    verify_inclusion(left, 0, 2, [ref_node(four[2], four[3])], root4)
    # ... but no entry data gives that leaf hash: the 0x00 prefix separates them.
    forged_data = four[0] + four[1]
    with pytest.raises(AuditIntegrityError):
        verify_inclusion(leaf_hash(forged_data), 0, 2, [ref_node(four[2], four[3])], root4)


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_inclusion_proof_nodes_must_be_32_bytes(length: int) -> None:
    proof = list(PROOF)
    proof[2] = b"\x01" * length
    with pytest.raises(AuditIntegrityError, match=f"node 2 is {length} bytes long"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


@pytest.mark.parametrize("node", ["a" * 32, bytearray(32), None, 7])
def test_inclusion_proof_nodes_must_be_bytes(node: Any) -> None:
    proof: list[Any] = list(PROOF)
    proof[0] = node
    with pytest.raises(AuditIntegrityError, match="node 0 is a"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


@pytest.mark.parametrize("proof", [b"\x00" * 128, "nodes", None, 5])
def test_inclusion_proof_must_be_a_list(proof: Any) -> None:
    with pytest.raises(AuditIntegrityError, match="must be a list"):
        verify_inclusion(LEAF, INDEX, N, proof, ROOT)


def test_inclusion_proof_length_is_capped() -> None:
    with pytest.raises(AuditIntegrityError, match="more than 128"):
        verify_inclusion(LEAF, INDEX, N, [LEAF] * 129, ROOT)


@pytest.mark.parametrize(("leaf", "root"), [(b"x" * 31, ROOT), (LEAF, b"x" * 33), ("x", ROOT)])
def test_inclusion_hashes_must_be_32_bytes(leaf: Any, root: Any) -> None:
    with pytest.raises(AuditIntegrityError):
        verify_inclusion(leaf, INDEX, N, PROOF, root)


@pytest.mark.parametrize(("index", "size"), [(-1, N), (0, -1), (0, 2**64)])
def test_inclusion_bounds(index: int, size: int) -> None:
    with pytest.raises(AuditIntegrityError):
        verify_inclusion(LEAF, index, size, PROOF, ROOT)


@pytest.mark.parametrize(("index", "size"), [(True, N), (1.0, N), (0, "13")])
def test_inclusion_sizes_must_be_ints(index: Any, size: Any) -> None:
    with pytest.raises(UsageError):
        verify_inclusion(LEAF, index, size, PROOF, ROOT)


# -- hostile consistency proofs -----------------------------------------------------

M = 6
ROOT_M = ref_mth(HASHES[:M])
CPROOF = ref_proof(M, HASHES)


def test_valid_consistency_proof_passes() -> None:
    verify_consistency(M, N, CPROOF, ROOT_M, ROOT)


def test_consistency_first_size_above_second() -> None:
    with pytest.raises(AuditIntegrityError, match="smaller size"):
        verify_consistency(N, M, CPROOF, ROOT, ROOT_M)
    with pytest.raises(AuditIntegrityError, match="smaller size"):
        verify_consistency(1, 0, [], LEAF, EMPTY_ROOT)


def test_consistency_equal_sizes() -> None:
    verify_consistency(N, N, [], ROOT, ROOT)
    with pytest.raises(AuditIntegrityError, match="same size 13 must be empty; this one has 1"):
        verify_consistency(N, N, [ROOT], ROOT, ROOT)
    with pytest.raises(AuditIntegrityError, match="forked"):
        verify_consistency(N, N, [], ROOT, ROOT_M)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)


def test_consistency_from_the_empty_tree() -> None:
    verify_consistency(0, N, [], EMPTY_ROOT, ROOT)
    with pytest.raises(AuditIntegrityError, match="from the empty tree"):
        verify_consistency(0, N, CPROOF, EMPTY_ROOT, ROOT)
    with pytest.raises(AuditIntegrityError, match="from the empty tree"):
        verify_consistency(0, N, [ROOT], EMPTY_ROOT, ROOT)
    with pytest.raises(AuditIntegrityError, match="not the root of the empty tree"):
        verify_consistency(0, N, [], ROOT_M, ROOT)


def test_consistency_empty_proof_between_different_sizes() -> None:
    with pytest.raises(AuditIntegrityError, match="step 1"):
        verify_consistency(M, N, [], ROOT_M, ROOT)
    # a power-of-two first size gets its root prepended: still not an empty proof
    with pytest.raises(AuditIntegrityError, match="step 1"):
        verify_consistency(8, N, [], ref_mth(HASHES[:8]), ROOT)


def test_consistency_proof_with_a_trailing_node() -> None:
    with pytest.raises(AuditIntegrityError, match="too many"):
        verify_consistency(M, N, [*CPROOF, ROOT], ROOT_M, ROOT)


@pytest.mark.parametrize("position", range(len(CPROOF) + 1))
def test_consistency_proof_with_an_inserted_node(position: int) -> None:
    proof = [*CPROOF[:position], leaves()[99], *CPROOF[position:]]
    with pytest.raises(AuditIntegrityError, match="too many"):
        verify_consistency(M, N, proof, ROOT_M, ROOT)


@pytest.mark.parametrize("position", range(len(CPROOF)))
def test_consistency_proof_with_a_missing_node(position: int) -> None:
    proof = CPROOF[:position] + CPROOF[position + 1 :]
    if not proof:
        pytest.skip("covered by the empty-proof test")
    with pytest.raises(AuditIntegrityError, match="missing"):
        verify_consistency(M, N, proof, ROOT_M, ROOT)


@pytest.mark.parametrize("position", range(len(CPROOF)))
def test_consistency_proof_with_a_replaced_node(position: int) -> None:
    proof = list(CPROOF)
    proof[position] = leaves()[99]
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        verify_consistency(M, N, proof, ROOT_M, ROOT)


def test_consistency_with_a_rewritten_history() -> None:
    """A second tree that changed an old entry is not consistent with the first."""
    rewritten = list(HASHES)
    rewritten[2] = leaves()[99]
    other_proof = ref_proof(M, rewritten)
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        verify_consistency(M, N, other_proof, ROOT_M, ref_mth(rewritten))


def test_consistency_proof_is_not_an_inclusion_proof() -> None:
    with pytest.raises(AuditIntegrityError):
        verify_consistency(1, N, ref_path(0, HASHES)[:-1], HASHES[0], ROOT)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_consistency_nodes_must_be_32_bytes(length: int) -> None:
    proof = list(CPROOF)
    proof[0] = b"\x02" * length
    with pytest.raises(AuditIntegrityError, match="32-byte"):
        verify_consistency(M, N, proof, ROOT_M, ROOT)


@pytest.mark.parametrize(
    ("root1", "root2"), [(b"x", ROOT), (ROOT_M, b"y" * 64), (None, ROOT), (ROOT_M, "z")]
)
def test_consistency_roots_must_be_32_bytes(root1: Any, root2: Any) -> None:
    with pytest.raises(AuditIntegrityError):
        verify_consistency(M, N, CPROOF, root1, root2)


@pytest.mark.parametrize(("size1", "size2"), [(-1, N), (M, -1), (M, 2**64)])
def test_consistency_bounds(size1: int, size2: int) -> None:
    with pytest.raises(AuditIntegrityError):
        verify_consistency(size1, size2, CPROOF, ROOT_M, ROOT)


def test_consistency_sizes_must_be_ints() -> None:
    with pytest.raises(UsageError):
        verify_consistency(False, N, [], EMPTY_ROOT, ROOT)


def test_huge_sizes_verify_without_long_loops() -> None:
    size = 2**64 - 1
    get = FakeNodes(size)
    for index in (0, size // 2, size - 1):
        proof = inclusion_proof(index, size, get)
        assert len(proof) <= 64
        with pytest.raises(AuditIntegrityError, match="does not verify"):
            verify_inclusion(LEAF, index, size, proof, ROOT)
    proof = consistency_proof(2**63 + 5, size, get)
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        verify_consistency(2**63 + 5, size, proof, ROOT_M, ROOT)
    assert math.isfinite(len(proof))
