"""The ledger over the store: append leaves, serve proofs, sign checkpoints, account per TIN.

Every function takes a SQLAlchemy :class:`~sqlalchemy.engine.Connection` from the caller and
never commits: the service layer owns the transaction, so a release writes its decisions, their
leaves and the checkpoint at once or not at all.

Storage (``ftigate.store.ledger_tables``): leaves with their hash, every *perfect* interior node
(written once, when its last leaf arrives), a one-row head holding the tree size, and every
signed checkpoint. A proof is planned by :mod:`ftigate.ledger.merkle` and costs one or two
indexed reads of at most about 2·log2(n) rows, never a rebuild.

Example (the service's release, in one transaction)::

    with db.transaction() as conn:
        ...write the decisions...
        first = log.append(conn, records)               # leaf indices first .. first+len-1
        text = log.sign_checkpoint(conn, key, settings.log_origin)
        size = log.tree_size(conn)
        proofs = log.inclusion_proofs(conn, range(first, first + len(records)), size)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from ftigate.errors import InputError, IntegrityError, NotFound
from ftigate.ledger import merkle, note
from ftigate.ledger.leaf import LedgerRecord, decode_record, encode_record, tin_hmac
from ftigate.ledger.merkle import NodeID
from ftigate.store.ledger_tables import ledger_checkpoints as _cps
from ftigate.store.ledger_tables import ledger_head as _head
from ftigate.store.ledger_tables import ledger_leaves as _leaves
from ftigate.store.ledger_tables import ledger_nodes as _nodes

_CHUNK = 400  # bound parameters per IN list (SQLite allows 32766; PostgreSQL 65535)
T = TypeVar("T")


def _chunks(items: Sequence[T], n: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


# --- size, append -------------------------------------------------------------------------


def tree_size(conn: Connection) -> int:
    """Number of leaves in the log (as this transaction sees it)."""
    size = conn.execute(sa.select(_head.c.size).where(_head.c.id == 1)).scalar_one_or_none()
    if size is None:
        raise IntegrityError("the ledger head row is missing; run `ftigate init` (migrations)")
    return int(size)


def append(conn: Connection, records: Sequence[LedgerRecord]) -> int:
    """Append ``records`` as consecutive leaves; return the index of the first.

    The head row is updated first: on PostgreSQL that row lock makes concurrent releases take
    turns, so leaf indices never collide; SQLite allows one writer at a time anyway.
    """
    if not records:
        return tree_size(conn)
    encoded = [encode_record(r) for r in records]
    new_size = conn.execute(
        _head.update()
        .where(_head.c.id == 1)
        .values(size=_head.c.size + len(records))
        .returning(_head.c.size)
    ).scalar_one_or_none()
    if new_size is None:
        raise IntegrityError("the ledger head row is missing; run `ftigate init` (migrations)")
    first = int(new_size) - len(records)
    edge = merkle.CompactRange.load(first, node_fetcher(conn))
    leaf_rows: list[dict[str, Any]] = []
    node_rows: list[dict[str, Any]] = []
    for i, (record, data) in enumerate(zip(records, encoded, strict=True)):
        leaf_hash = merkle.hash_leaf(data)
        done = edge.append(leaf_hash)
        leaf_rows.append(
            {
                "idx": first + i,
                "kind": str(record.kind),
                "batch_id": record.batch_id,
                "request_id": record.request_id,
                "tin_hmac": record.tin_hmac,
                "record": data,
                "leaf_hash": leaf_hash,
            }
        )
        node_rows.extend({"level": n.level, "idx": n.index, "hash": h} for n, h in done[1:])
    conn.execute(_leaves.insert(), leaf_rows)
    if node_rows:
        conn.execute(_nodes.insert(), node_rows)
    return first


# --- reading nodes and leaves -------------------------------------------------------------


def load_nodes(conn: Connection, ids: Sequence[NodeID]) -> list[bytes]:
    """The stored hash of each node, in order: level 0 from the leaves, the rest from nodes.

    Raises :class:`IntegrityError` naming the first leaf of a node that is missing (a
    truncated or damaged store; ``ftigate ledger verify`` says more).
    """
    got: dict[NodeID, bytes] = {}
    leaf_ids = [n.index for n in ids if n.level == 0]
    for chunk in _chunks(leaf_ids):
        q = sa.select(_leaves.c.idx, _leaves.c.leaf_hash).where(_leaves.c.idx.in_(chunk))
        got.update((NodeID(0, int(i)), bytes(h)) for i, h in conn.execute(q))
    by_level: dict[int, list[int]] = defaultdict(list)
    for n in ids:
        if n.level > 0:
            by_level[n.level].append(n.index)
    # one OR of (level = l AND idx IN ...) terms: both engines use the primary key for each
    terms = [(lvl, idx) for lvl, idxs in sorted(by_level.items()) for idx in idxs]
    for part in _chunks(terms):
        levels: dict[int, list[int]] = defaultdict(list)
        for lvl, idx in part:
            levels[lvl].append(idx)
        cond = sa.or_(
            *(
                sa.and_(_nodes.c.level == lvl, _nodes.c.idx.in_(idxs))
                for lvl, idxs in levels.items()
            )
        )
        q = sa.select(_nodes.c.level, _nodes.c.idx, _nodes.c.hash).where(cond)
        for row in conn.execute(q):
            got[NodeID(int(row.level), int(row.idx))] = bytes(row.hash)
    missing = [n for n in ids if n not in got]
    if missing:
        first = min(missing, key=lambda n: n.begin)
        raise IntegrityError(
            f"ledger node {first} (leaves {first.begin}..{first.end - 1}) is missing from the "
            "store; run `ftigate ledger verify`",
            index=first.begin,
        )
    return [got[n] for n in ids]


def node_fetcher(conn: Connection) -> merkle.Fetch:
    """A :data:`merkle.Fetch` over this connection."""
    return lambda ids: load_nodes(conn, ids)


@dataclass(frozen=True, slots=True)
class StoredLeaf:
    index: int
    data: bytes
    leaf_hash: bytes

    @property
    def record(self) -> LedgerRecord:
        return decode_record(self.data)


def load_leaf(conn: Connection, index: int) -> StoredLeaf:
    row = conn.execute(
        sa.select(_leaves.c.record, _leaves.c.leaf_hash).where(_leaves.c.idx == index)
    ).first()
    if row is None:
        raise NotFound(f"no ledger leaf {index} (the log has {tree_size(conn)} leaves)")
    return StoredLeaf(index, bytes(row.record), bytes(row.leaf_hash))


def find_leaves(conn: Connection, batch_id: str, request_id: str) -> list[int]:
    """Indices of every leaf about one request (its decision, then any remediation)."""
    q = (
        sa.select(_leaves.c.idx)
        .where(_leaves.c.batch_id == batch_id, _leaves.c.request_id == request_id)
        .order_by(_leaves.c.idx)
    )
    found = [int(i) for i in conn.execute(q).scalars()]
    if not found:
        raise NotFound(f"no ledger leaf for request {request_id!r} of batch {batch_id!r}")
    return found


# --- tree heads and proofs ----------------------------------------------------------------


def _check_size(conn: Connection, size: int) -> None:
    current = tree_size(conn)
    if not 0 <= size <= current:
        raise InputError(f"tree size {size} is outside 0..{current}", field="size")


def root(conn: Connection, size: int | None = None) -> bytes:
    """The tree head at ``size`` (default: now)."""
    size = tree_size(conn) if size is None else size
    _check_size(conn, size)
    return merkle.root_hash(size, node_fetcher(conn))


def inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    _check_size(conn, size)
    return merkle.inclusion_proof(index, size, node_fetcher(conn))


def inclusion_proofs(conn: Connection, indices: Iterable[int], size: int) -> dict[int, list[bytes]]:
    """Proofs for many leaves at one size with batched reads (a response manifest's leaves).

    Neighbouring leaves share most of their nodes, so a whole release costs about one read per
    few hundred leaves rather than one per leaf.
    """
    _check_size(conn, size)
    plans = {i: merkle.inclusion_plan(i, size) for i in indices}
    ids = sorted({n for p in plans.values() for n in p.node_ids})
    hashes = dict(zip(ids, load_nodes(conn, ids), strict=True))
    return {i: p.assemble(hashes) for i, p in plans.items()}


def consistency_proof(conn: Connection, size1: int, size2: int) -> list[bytes]:
    """The RFC 9162 consistency proof from ``size1`` to ``size2``."""
    _check_size(conn, size2)
    return merkle.consistency_proof(size1, size2, node_fetcher(conn))


# --- checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    id: int
    size: int
    root: bytes
    text: str
    signed_at: datetime


def _stored(row: Any) -> StoredCheckpoint:
    at = row.signed_at if row.signed_at.tzinfo else row.signed_at.replace(tzinfo=UTC)
    return StoredCheckpoint(int(row.id), int(row.size), bytes(row.root), str(row.text), at)


def load_checkpoints(conn: Connection) -> list[StoredCheckpoint]:
    """Every stored checkpoint, in signing order."""
    return [_stored(r) for r in conn.execute(sa.select(_cps).order_by(_cps.c.id))]


def latest_checkpoint(conn: Connection) -> StoredCheckpoint | None:
    row = conn.execute(sa.select(_cps).order_by(_cps.c.id.desc()).limit(1)).first()
    return None if row is None else _stored(row)


def checkpoint_at(conn: Connection, size: int) -> str:
    """The text of the latest checkpoint signed at exactly ``size`` (NotFound when none)."""
    row = conn.execute(
        sa.select(_cps).where(_cps.c.size == size).order_by(_cps.c.id.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"no checkpoint was signed at tree size {size}")
    return str(row.text)


def sign_checkpoint(conn: Connection, private_key: Ed25519PrivateKey, origin: str) -> str:
    """Sign and store a checkpoint of the current tree; return its text.

    Refuses (IntegrityError) to sign a tree that is not an extension of the latest stored
    checkpoint: a log must never sign two inconsistent views. Signing again at an unchanged
    size with the same key returns the stored text (Ed25519 is deterministic, so it is the same).
    """
    size = tree_size(conn)
    fetch = node_fetcher(conn)
    head = merkle.root_hash(size, fetch)
    signer = note.NoteSigner(origin, private_key)
    latest = latest_checkpoint(conn)
    if latest is not None:
        if latest.size > size:
            raise IntegrityError(
                f"the log has {size} leaves but a checkpoint was signed at {latest.size}: "
                "it was truncated; run `ftigate ledger verify`",
                index=size,
            )
        proof = merkle.consistency_proof(latest.size, size, fetch)
        merkle.verify_consistency(latest.size, size, proof, latest.root, head)
    text = note.sign_checkpoint(note.Checkpoint(origin, size, head), signer)
    if latest is not None and latest.text == text:
        return text
    conn.execute(_cps.insert().values(size=size, root=head, text=text, signed_at=datetime.now(UTC)))
    return text


def leaf_hashes(conn: Connection, indices: Sequence[int]) -> dict[int, bytes]:
    """Stored leaf hashes by index: what a response manifest gives the requester per row."""
    ids = [NodeID(0, i) for i in indices]
    return dict(zip(indices, load_nodes(conn, ids), strict=True))


def iter_leaf_data(conn: Connection, end: int, chunk: int = 65536) -> Iterator[bytes]:
    """The record bytes of leaves ``0 .. end-1`` in order, read in chunks by primary key."""
    start = 0
    while start < end:
        q = (
            sa.select(_leaves.c.idx, _leaves.c.record)
            .where(_leaves.c.idx >= start, _leaves.c.idx < end)
            .order_by(_leaves.c.idx)
            .limit(chunk)
        )
        rows = conn.execute(q).all()
        if not rows:
            return
        for idx, data in rows:
            if int(idx) != start:
                raise IntegrityError(
                    f"ledger leaf {start} is missing; run `ftigate ledger verify`", index=start
                )
            yield bytes(data)
            start += 1


# --- accounting ---------------------------------------------------------------------------


def records_for_tin_hmac(conn: Connection, hmac_hex: str) -> list[tuple[int, LedgerRecord]]:
    """Every leaf about the taxpayer with this TIN HMAC, oldest first (uses the index)."""
    q = (
        sa.select(_leaves.c.idx, _leaves.c.record)
        .where(_leaves.c.tin_hmac == hmac_hex)
        .order_by(_leaves.c.idx)
    )
    return [(int(i), decode_record(bytes(data))) for i, data in conn.execute(q)]


def accounting(conn: Connection, hmac_key: bytes, tin: str) -> list[tuple[int, LedgerRecord]]:
    """26 U.S.C. 6103(p)(3) accounting for one taxpayer: every leaf that concerned them."""
    return records_for_tin_hmac(conn, tin_hmac(hmac_key, tin))
