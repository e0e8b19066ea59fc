"""RFC 6962 / RFC 9162 Merkle tree math: hashes, tree heads, proofs. Pure: no storage, no I/O.

Every leaf and node hash is domain-separated, so a leaf can never pass for an interior node::

    leaf hash = SHA-256(0x00 || leaf bytes)
    node hash = SHA-256(0x01 || left hash || right hash)

A tree of ``n`` leaves splits at the largest power of two below ``n``; the empty tree's head is
SHA-256 of nothing.

**Nodes.** A :class:`NodeID` ``(level, index)`` names the *perfect* subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``. Perfect subtrees never change once their last
leaf is appended, so the store keeps them and never rewrites one. Every other hash a proof or a
tree head needs (the right edge of a tree whose size is not a power of two) is the hash of a
range ``[begin, size)`` and is rebuilt from the perfect nodes of :func:`range_nodes`.

**Plans, then fetches.** As in transparency-dev/merkle's ``proof`` package, the code that
decides *which* nodes a proof needs (:func:`inclusion_plan`, :func:`consistency_plan`) is
separate from getting their hashes: the caller supplies a ``fetch`` function (a database query,
a dict, a tile server) and :meth:`ProofPlan.assemble` does the hashing. One proof costs one
batched fetch of at most about 2·log2(n) nodes.

Example:
    >>> leaves = [hash_leaf(bytes([i])) for i in range(5)]
    >>> tree = {NodeID(0, i): h for i, h in enumerate(leaves)}
    >>> fetch = lambda ids: [tree.get(n) or subtree_hash(leaves, n) for n in ids]
    >>> root = root_hash(5, fetch)
    >>> proof = inclusion_proof(3, 5, fetch)
    >>> verify_inclusion(3, 5, leaves[3], proof, root)
    >>> verify_consistency(2, 5, consistency_proof(2, 5, fetch), root_hash(2, fetch), root)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ftigate.errors import IntegrityError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def hash_leaf(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


@dataclass(frozen=True, slots=True, order=True)
class NodeID:
    """A perfect subtree: ``2**level`` leaves starting at leaf ``index * 2**level``."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


Fetch = Callable[[Sequence[NodeID]], Sequence[bytes]]
"""Returns the stored hash of each requested node, in request order (raise when one is missing)."""


def range_nodes(begin: int, end: int) -> tuple[NodeID, ...]:
    """The perfect nodes that exactly cover leaves ``[begin, end)``, left to right.

    Each is the largest aligned subtree that starts at the current position and fits.

    >>> range_nodes(0, 6)
    (NodeID(level=2, index=0), NodeID(level=1, index=2))
    """
    if not 0 <= begin <= end:
        raise ValueError(f"bad leaf range [{begin}, {end})")
    out: list[NodeID] = []
    while begin < end:
        # the room left bounds the level, and so does the alignment of begin
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, (begin & -begin).bit_length() - 1)
        out.append(NodeID(level, begin >> level))
        begin += 1 << level
    return tuple(out)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its :func:`range_nodes` hashes: fold from the right.

    A range ``[begin, size)`` splits like a tree of its length, largest perfect subtree on the
    left, so its hash is ``H(h0, H(h1, ... H(hk-1, hk)))``.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = hash_children(h, acc)
    return acc


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """The hashes a proof is made of, as leaf ranges, and the perfect nodes they need.

    ``ranges[i]`` is the ``i``-th proof element, the hash of leaves ``[begin, end)``.
    """

    ranges: tuple[tuple[int, int], ...]
    parts: tuple[tuple[NodeID, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(range_nodes(b, e) for b, e in self.ranges))

    @property
    def node_ids(self) -> tuple[NodeID, ...]:
        """Every node to fetch, each once, in a stable order."""
        return tuple(sorted({n for part in self.parts for n in part}))

    def assemble(self, hashes: Mapping[NodeID, bytes]) -> list[bytes]:
        """The proof, given the hash of every node in :attr:`node_ids`."""
        return [fold([hashes[n] for n in part]) for part in self.parts]

    def fetch_and_assemble(self, fetch: Fetch) -> list[bytes]:
        ids = self.node_ids
        got = fetch(ids)
        if len(got) != len(ids):
            raise IntegrityError(f"fetch returned {len(got)} hashes for {len(ids)} nodes")
        return self.assemble(dict(zip(ids, got, strict=True)))


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Which ranges prove leaf ``index`` is in the tree of ``size`` leaves (RFC 9162 PATH).

    Elements run bottom-up, as in the RFC.

    >>> inclusion_plan(2, 5).ranges
    ((3, 4), (0, 2), (4, 5))
    """
    if not 0 <= index < size:
        raise _shape(f"leaf index {index} is outside a tree of size {size}", index)
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:  # walk down, then reverse: the RFC lists the deepest sibling first
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    return ProofPlan(tuple(reversed(out)))


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Which ranges prove the tree of ``size1`` is a prefix of ``size2`` (RFC 9162 SUBPROOF).

    >>> consistency_plan(2, 5).ranges
    ((2, 4), (4, 5))
    """
    if not 0 <= size1 <= size2:
        raise _shape(f"cannot prove size {size1} consistent with smaller size {size2}", size2)
    if size1 in (0, size2):
        return ProofPlan(())
    out: list[tuple[int, int]] = []
    m, lo, hi, whole = size1, 0, size2, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            m, lo, whole = m - k, lo + k, False
    if not whole:  # the old tree's root is not a node of the proof's own: name it
        out.append((lo, hi))
    return ProofPlan(tuple(reversed(out)))


def root_hash(size: int, fetch: Fetch) -> bytes:
    """The tree head of the first ``size`` leaves, from its at most log2(size) perfect nodes."""
    ids = range_nodes(0, size)
    return fold(list(fetch(ids))) if ids else EMPTY_ROOT


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    return inclusion_plan(index, size).fetch_and_assemble(fetch)


def consistency_proof(size1: int, size2: int, fetch: Fetch) -> list[bytes]:
    return consistency_plan(size1, size2).fetch_and_assemble(fetch)


# --- verification -------------------------------------------------------------------------


class ProofError(IntegrityError):
    """A proof is malformed for its sizes (wrong length, index out of range, bad hash size)."""


class RootMismatchError(IntegrityError):
    """A proof verified to a different root than expected; both roots are kept as evidence."""

    def __init__(
        self, message: str, *, expected: bytes, calculated: bytes, index: int | None = None
    ) -> None:
        super().__init__(
            f"{message}: expected root {expected.hex()}, calculated {calculated.hex()}",
            index=index,
        )
        self.expected_root = expected
        self.calculated_root = calculated


def _shape(message: str, index: int | None = None) -> ProofError:
    return ProofError(message, index=index)


def _check_hashes(what: str, hashes: Iterable[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise _shape(f"{what}[{i}] has {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` leads to from ``leaf_hash`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        raise _shape(f"leaf index {index} is outside a tree of size {size}", index)
    _check_hashes("leaf hash", [leaf_hash])
    _check_hashes("proof", proof)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise _shape(f"inclusion proof for {index} in {size} is too long ({len(proof)})", index)
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _shape(f"inclusion proof for {index} in {size} is too short ({len(proof)})", index)
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` or :class:`RootMismatchError` unless ``proof`` holds."""
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatchError(
            f"leaf {index} is not in the tree of size {size}",
            expected=root,
            calculated=calculated,
            index=index,
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise unless tree ``(size1, root1)`` is a prefix of ``(size2, root2)`` (RFC 9162 2.1.4.2)."""
    if not 0 <= size1 <= size2:
        raise _shape(f"size {size1} is larger than size {size2}", size2)
    _check_hashes("proof", proof)
    if size1 == size2:
        if proof:
            raise _shape("a proof between equal sizes must be empty", size1)
        if root1 != root2:
            raise RootMismatchError(
                f"two different roots for size {size1}",
                expected=root1,
                calculated=root2,
                index=size1,
            )
        return
    if size1 == 0:
        if proof:
            raise _shape("a proof from the empty tree must be empty", 0)
        return
    if not proof:
        raise _shape(f"empty consistency proof from {size1} to {size2}", size1)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise _shape(f"consistency proof {size1}->{size2} is too long ({len(proof)})", size1)
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _shape(f"consistency proof {size1}->{size2} is too short ({len(proof)})", size1)
    if fr != root1:
        raise RootMismatchError(
            f"proof does not lead to the old tree of size {size1}",
            expected=root1,
            calculated=fr,
            index=size1,
        )
    if sr != root2:
        raise RootMismatchError(
            f"proof does not lead to the new tree of size {size2}",
            expected=root2,
            calculated=sr,
            index=size1,
        )


# --- building a tree one leaf at a time ---------------------------------------------------


@dataclass(slots=True)
class CompactRange:
    """The right edge of a tree of ``size`` leaves: the hashes of ``range_nodes(0, size)``.

    Appending a leaf returns the perfect nodes it completes (the leaf itself first), which is
    what the store writes. Enough to compute the tree head, never a proof.

    >>> cr = CompactRange()
    >>> [n for n, _ in cr.append(hash_leaf(b"a"))] + [n for n, _ in cr.append(hash_leaf(b"b"))]
    [NodeID(level=0, index=0), NodeID(level=0, index=1), NodeID(level=1, index=0)]
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.hashes) != self.size.bit_count():
            raise ValueError(f"a tree of size {self.size} has {self.size.bit_count()} edge nodes")

    @classmethod
    def load(cls, size: int, fetch: Fetch) -> CompactRange:
        ids = range_nodes(0, size)
        return cls(size, list(fetch(ids)) if ids else [])

    def append(self, leaf_hash: bytes) -> list[tuple[NodeID, bytes]]:
        i, level, h = self.size, 0, leaf_hash
        done = [(NodeID(0, i), h)]
        while i & 1:
            h = hash_children(self.hashes.pop(), h)
            i, level = i >> 1, level + 1
            done.append((NodeID(level, i), h))
        self.hashes.append(h)
        self.size += 1
        return done

    def root(self) -> bytes:
        return fold(self.hashes)


def subtree_hash(leaf_hashes: Sequence[bytes], node: NodeID) -> bytes:
    """The hash of one perfect node computed from all leaf hashes (for tests and small trees)."""
    level = [leaf_hashes[i] for i in range(node.begin, node.end)]
    while len(level) > 1:
        level = [hash_children(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]
