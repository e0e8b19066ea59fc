"""The batched replay (``examine_leaves`` + ``add_examined``, what ``verify`` runs) finds what
leaf-at-a-time ``Replayer.add`` finds, in the same order, whatever the batch boundaries."""

from __future__ import annotations

import doctest
import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.ledger import leaf, log, merkle, note, replay, verify
from ftigate.ledger.replay import LeafFacts, Replayer, examine_leaves, extend_edge

from . import reference as ref
from .records import decision, many

ORIGIN = "ftigate.test/ledger"
KEY = Ed25519PrivateKey.generate()
VERIFIER = note.NoteSigner(ORIGIN, KEY).verifier


def signed(size: int, leaves: list[bytes]) -> str:
    cp = note.Checkpoint(ORIGIN, size, ref.mth(leaves[:size]))
    return note.sign_checkpoint(cp, note.NoteSigner(ORIGIN, KEY))


@st.composite
def damaged_logs(draw: st.DrawFn) -> tuple[list[int], list[bytes], list[bytes], list[str]]:
    """Indices, leaf bytes, stored hashes and checkpoint texts, some of each gone wrong."""
    n = draw(st.integers(0, 40))
    good = [leaf.encode_record(r) for r in many(n)]
    data = list(good)
    for i in draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)) if n else []:
        data[i] = draw(st.sampled_from([b"junk", b"{}", good[i].replace(b",", b", ", 1)]))
    hashes = [merkle.hash_leaf(d) for d in data]
    for i in draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=2)) if n else []:
        hashes[i] = b"\0" * 32
    indices = list(range(n))
    if n > 2 and draw(st.booleans()):  # a leaf gone from the store
        gone = draw(st.integers(0, n - 1))
        del indices[gone], data[gone], hashes[gone]
    sizes = sorted(draw(st.sets(st.integers(0, n + 3), max_size=4)))
    texts = [signed(s, good) if s <= n else signed(s, good + good) for s in sizes]
    if texts and draw(st.booleans()):  # one signed over another tree
        texts[0] = note.sign_checkpoint(
            note.Checkpoint(ORIGIN, sizes[0], b"\1" * 32), note.NoteSigner(ORIGIN, KEY)
        )
    return indices, data, hashes, texts


@settings(max_examples=150, deadline=None)
@given(damaged_logs(), st.lists(st.integers(1, 45), min_size=1, max_size=5))
def test_batched_replay_finds_what_add_finds(log_: tuple, cuts: list[int]) -> None:
    indices, data, hashes, texts = log_
    labelled = [(f"cp{i}", t) for i, t in enumerate(texts)]
    one = Replayer([VERIFIER], labelled, ORIGIN)
    want_nodes, want_facts = [], []
    for i, d, h in zip(indices, data, hashes, strict=True):
        record, done = one.add(i, d, h)
        want_nodes += [(n.level, n.index, v) for n, v in done[1:]]
        want_facts.append(None if record is None else LeafFacts.of(record))
    batched = Replayer([VERIFIER], labelled, ORIGIN)
    got_nodes, got_facts, pos, k = [], [], 0, 0
    while pos < len(data):
        cut, k = cuts[k % len(cuts)], k + 1
        part = slice(pos, pos + cut)
        examined = examine_leaves(data[part])
        got_nodes += batched.add_examined(indices[part], examined, hashes[part])
        got_facts += examined.facts
        pos += cut
    assert batched.finish(len(data)) == one.finish(len(data))
    assert got_nodes == want_nodes
    assert got_facts == want_facts
    assert batched.edge == one.edge


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 70), st.lists(st.integers(0, 70), max_size=4))
def test_extend_edge_completes_the_nodes_append_does(size: int, cuts: list[int]) -> None:
    leaves = [i.to_bytes(2, "big") for i in range(size)]
    hashes = [merkle.hash_leaf(x) for x in leaves]
    one = merkle.CompactRange()
    expected = [(n.level, n.index, h) for x in hashes for n, h in one.append(x)[1:]]
    pieces = merkle.CompactRange()
    got: list[tuple[int, int, bytes]] = []
    bounds = sorted({0, size, *(c for c in cuts if c <= size)})
    for a, b in itertools.pairwise(bounds):
        got += extend_edge(pieces, hashes[a:b])
        assert pieces.size == b and pieces.root() == ref.mth(leaves[:b])
    assert got == expected and pieces.hashes == one.hashes


def test_facts_of_a_fast_decoded_leaf_equal_those_of_its_record() -> None:
    records = [decision(1), decision(2, tin=None)]
    examined = examine_leaves([leaf.encode_record(r) for r in records])
    assert examined.facts == [LeafFacts.of(r) for r in records]
    assert examined.problems == {}


@pytest.mark.parametrize("module", [leaf, log, replay, verify])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0
