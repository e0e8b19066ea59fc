"""Merkle math: published RFC 6962 vectors, corrupted proofs, and a naive reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.errors import IntegrityError
from ftigate.ledger import merkle as m

from . import reference as ref

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc6962_vectors.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def tree(leaves: list[bytes]) -> m.Fetch:
    """A fetch function over an in-memory tree, the fake of the store's node table."""
    hashes = [m.hash_leaf(x) for x in leaves]
    return lambda ids: [m.subtree_hash(hashes, n) for n in ids]


def test_hash_vectors() -> None:
    h = VECTORS["hashes"]
    assert m.EMPTY_ROOT.hex() == h["empty_root"]
    assert m.hash_leaf(b"").hex() == h["empty_leaf"]
    assert m.hash_leaf(b"L123456").hex() == h["leaf_L123456"]
    assert m.hash_children(b"N123", b"N456").hex() == h["node_N123_N456"]


@pytest.mark.parametrize("size", range(1, 9))
def test_root_vectors(size: int) -> None:
    assert m.root_hash(size, tree(LEAVES[:size])) == ROOTS[size - 1]
    cr = m.CompactRange()
    for leaf in LEAVES[:size]:
        cr.append(m.hash_leaf(leaf))
    assert cr.root() == ROOTS[size - 1]


def test_empty_tree() -> None:
    assert m.root_hash(0, tree([])) == m.EMPTY_ROOT
    assert m.CompactRange().root() == m.EMPTY_ROOT


@pytest.mark.parametrize("v", VECTORS["inclusion"], ids=lambda v: f"{v['index']}in{v['size']}")
def test_inclusion_vectors(v: dict) -> None:
    index, size = v["index"], v["size"]
    want = [bytes.fromhex(x) for x in v["proof"]]
    assert m.inclusion_proof(index, size, tree(LEAVES[:size])) == want
    leaf = m.hash_leaf(LEAVES[index])
    m.verify_inclusion(index, size, leaf, want, ROOTS[size - 1])
    for desc, probe in corrupt_inclusion(index, size, leaf, want, ROOTS[size - 1]):
        with pytest.raises(IntegrityError):
            m.verify_inclusion(*probe)
            pytest.fail(f"verified a corrupted proof: {desc}")


def corrupt_inclusion(index, size, leaf, proof, root):
    """The corruptions transparency-dev/merkle's tests try; none may verify."""
    yield "index-1", (index - 1, size, leaf, proof, root)
    yield "index+1", (index + 1, size, leaf, proof, root)
    yield "index^2", (index ^ 2, size, leaf, proof, root)
    yield "size*2", (index, size * 2, leaf, proof, root)
    yield "size/2", (index, size // 2, leaf, proof, root)
    yield "wrong leaf", (index, size, b"WrongLeaf", proof, root)
    yield "empty root", (index, size, leaf, proof, m.EMPTY_ROOT)
    yield "random root", (index, size, leaf, proof, SOME_HASH)
    yield "trailing garbage", (index, size, leaf, [*proof, b""], root)
    yield "trailing root", (index, size, leaf, [*proof, root], root)
    yield "preceding garbage", (index, size, leaf, [b"", *proof], root)
    yield "preceding root", (index, size, leaf, [root, *proof], root)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield f"bit flip {i}", (index, size, leaf, bad, root)
    if proof:
        yield "removed", (index, size, leaf, proof[:-1], root)
    if len(proof) > 1:
        yield "inserted", (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)


@pytest.mark.parametrize("v", VECTORS["consistency"], ids=lambda v: f"{v['size1']}to{v['size2']}")
def test_consistency_vectors(v: dict) -> None:
    s1, s2 = v["size1"], v["size2"]
    want = [bytes.fromhex(x) for x in v["proof"]]
    assert m.consistency_proof(s1, s2, tree(LEAVES[:s2])) == want
    r1, r2 = ROOTS[s1 - 1], ROOTS[s2 - 1]
    m.verify_consistency(s1, s2, want, r1, r2)
    if not want:
        return
    probes = [
        (s1 - 1, s2, want, r1, r2),
        (s1 + 1, s2, want, r1, r2),
        (s1 ^ 2, s2, want, r1, r2),
        (s1, s2 * 2, want, r1, r2),
        (s1, s2 // 2, want, r1, r2),
        (s1, s2, want, b"WrongRoot", r2),
        (s1, s2, want, r1, b"WrongRoot"),
        (s1, s2, want, r2, r1),
        (s1, s2, [], r1, r2),
        (s1, s2, [*want, b""], r1, r2),
        (s1, s2, [*want, r1], r1, r2),
        (s1, s2, [*want, r2], r1, r2),
        (s1, s2, [b"", *want], r1, r2),
        (s1, s2, [r1, *want], r1, r2),
        (s1, s2, [r2, *want], r1, r2),
        (s1, s2, [want[0], *want], r1, r2),
        (s1, s2, want[:-1], r1, r2),
    ]
    for i in range(len(want)):
        bad = list(want)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((s1, s2, bad, r1, r2))
    for probe in probes:
        with pytest.raises(IntegrityError):
            m.verify_consistency(*probe)


@pytest.mark.parametrize(
    ("s1", "s2", "r1", "r2", "proof", "ok"),
    [
        (0, 0, b"1", b"2", [], False),
        (1, 1, b"1", b"2", [], False),
        (0, 0, b"1", b"1", [], True),
        (0, 1, b"1", b"2", [], True),
        (1, 1, b"2", b"2", [], True),
        (1, 0, b"1", b"2", [], False),
        (2, 1, b"1", b"2", [], False),
        (1, 2, b"1", b"2", [], False),
        (0, 0, m.EMPTY_ROOT, m.EMPTY_ROOT, [m.EMPTY_ROOT], False),
        (0, 1, m.EMPTY_ROOT, m.EMPTY_ROOT, [m.EMPTY_ROOT], False),
        (1, 1, m.EMPTY_ROOT, m.EMPTY_ROOT, [m.EMPTY_ROOT], False),
    ],
)
def test_consistency_edge_cases(s1, s2, r1, r2, proof, ok) -> None:
    if ok:
        m.verify_consistency(s1, s2, proof, r1, r2)
    else:
        with pytest.raises(IntegrityError):
            m.verify_consistency(s1, s2, proof, r1, r2)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_rejects_bad_roots_and_sizes(index: int, size: int) -> None:
    for leaf, root in [(SOME_HASH, b""), (b"", m.EMPTY_ROOT), (SOME_HASH, m.EMPTY_ROOT)]:
        with pytest.raises(IntegrityError):
            m.verify_inclusion(index, size, leaf, [], root)


def test_root_mismatch_carries_evidence() -> None:
    leaf = m.hash_leaf(b"x")
    with pytest.raises(m.RootMismatchError) as e:
        m.verify_inclusion(0, 1, leaf, [], SOME_HASH)
    assert e.value.expected_root == SOME_HASH
    assert e.value.calculated_root == leaf
    assert e.value.index == 0
    assert SOME_HASH.hex() in str(e.value) and leaf.hex() in str(e.value)


def test_plans_name_only_perfect_nodes() -> None:
    # one past a power of two: the right edge is a single leaf; its sibling a perfect subtree
    plan = m.inclusion_plan(16, 17)
    assert plan.ranges == ((0, 16),)
    assert plan.node_ids == (m.NodeID(4, 0),)
    plan = m.inclusion_plan(0, 17)
    assert plan.ranges == ((1, 2), (2, 4), (4, 8), (8, 16), (16, 17))
    for n in m.inclusion_plan(5, 1000).node_ids + m.consistency_plan(300, 1000).node_ids:
        assert n.end <= 1000


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(IntegrityError):
        m.inclusion_plan(5, 5)
    with pytest.raises(IntegrityError):
        m.consistency_plan(6, 5)
    with pytest.raises(ValueError):
        m.range_nodes(5, 4)
    with pytest.raises(ValueError):
        m.CompactRange(3, [SOME_HASH])


AWKWARD = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129]


@pytest.mark.parametrize("size", AWKWARD)
def test_awkward_sizes_against_reference(size: int) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    fetch = tree(leaves)
    root = ref.mth(leaves)
    assert m.root_hash(size, fetch) == root
    for i in range(size):
        p = m.inclusion_proof(i, size, fetch)
        assert p == ref.path(i, leaves)
        m.verify_inclusion(i, size, m.hash_leaf(leaves[i]), p, root)
    for s1 in range(size + 1):
        p = m.consistency_proof(s1, size, fetch)
        assert p == ref.proof(s1, leaves)
        m.verify_consistency(s1, size, p, ref.mth(leaves[:s1]), root)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(min_value=1, max_value=300))
    return size, draw(st.integers(0, size - 1)), draw(st.integers(0, size))


@settings(max_examples=200, deadline=None)
@given(size_and_index(), st.binary(max_size=8))
def test_random_trees_against_reference(sis: tuple[int, int, int], salt: bytes) -> None:
    size, index, size1 = sis
    leaves = [salt + i.to_bytes(4, "big") for i in range(size)]
    fetch = tree(leaves)
    root = ref.mth(leaves)
    cr = m.CompactRange()
    for x in leaves:
        cr.append(m.hash_leaf(x))
    assert cr.root() == root == m.root_hash(size, fetch)
    incl = m.inclusion_proof(index, size, fetch)
    assert incl == ref.path(index, leaves)
    m.verify_inclusion(index, size, m.hash_leaf(leaves[index]), incl, root)
    cons = m.consistency_proof(size1, size, fetch)
    assert cons == ref.proof(size1, leaves)
    m.verify_consistency(size1, size, cons, ref.mth(leaves[:size1]), root)
    if cons:  # a flipped bit anywhere must be caught
        bad = [bytes([cons[0][0] ^ 1]) + cons[0][1:], *cons[1:]]
        with pytest.raises(IntegrityError):
            m.verify_consistency(size1, size, bad, ref.mth(leaves[:size1]), root)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**40), st.integers(0, 2**40))
def test_range_nodes_cover_exactly(a: int, b: int) -> None:
    begin, end = min(a, b), max(a, b)
    nodes = m.range_nodes(begin, end)
    pos = begin
    for n in nodes:
        assert n.begin == pos
        pos = n.end
    assert pos == end
    assert len(nodes) <= 2 * 64


def test_compact_range_reports_completed_nodes() -> None:
    cr = m.CompactRange()
    stored: dict[m.NodeID, bytes] = {}
    leaves = [bytes([i]) for i in range(13)]
    for x in leaves:
        stored.update(cr.append(m.hash_leaf(x)))
    hashes = [m.hash_leaf(x) for x in leaves]
    # every perfect node of the tree, and nothing else
    expected = {m.NodeID(lvl, i) for lvl in range(5) for i in range(13 >> lvl)}
    assert set(stored) == expected
    for n, h in stored.items():
        assert h == m.subtree_hash(hashes, n)
    reloaded = m.CompactRange.load(13, lambda ids: [stored[n] for n in ids])
    assert reloaded.root() == cr.root()
