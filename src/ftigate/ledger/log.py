"""The ledger over the store: append leaves, serve proofs, sign checkpoints, account per TIN.

Every function takes a SQLAlchemy :class:`~sqlalchemy.engine.Connection` from the caller and
never commits: the service layer owns the transaction, so a release writes its decisions, their
leaves and the checkpoint at once or not at all.

Storage (``ftigate.store.ledger_tables``): leaves with their hash, every *perfect* interior node
(written once, when its last leaf arrives), a one-row head holding the tree size, and every
signed checkpoint. A proof is planned by :mod:`ftigate.ledger.merkle` and costs one indexed
read of at most about 2·log2(n) rows, never a rebuild. An append computes the release's
interior nodes in memory and writes leaves and nodes in bulk (``executemany`` on SQLite, a
binary ``COPY`` on PostgreSQL), inside the caller's transaction.

Example (the service's release, in one transaction)::

    with db.transaction() as conn:
        ...write the decisions...
        first = log.append(conn, records)               # leaf indices first .. first+len-1
        text = log.sign_checkpoint(conn, key, settings.log_origin)
        size = log.tree_size(conn)
        proofs = log.inclusion_proofs(conn, range(first, first + len(records)), size)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from ftigate.errors import BackendError, InputError, IntegrityError, NotFound
from ftigate.ledger import merkle, note
from ftigate.ledger.leaf import LedgerRecord, decode_record, encode_record, tin_hmac
from ftigate.ledger.merkle import NodeID
from ftigate.ledger.replay import extend_edge
from ftigate.store.ledger_tables import ledger_checkpoints as _cps
from ftigate.store.ledger_tables import ledger_head as _head
from ftigate.store.ledger_tables import ledger_leaves as _leaves
from ftigate.store.ledger_tables import ledger_nodes as _nodes

_CHUNK = 400  # bound parameters per query (SQLite allows 32766; PostgreSQL 65535)
T = TypeVar("T")


def _chunks(items: Sequence[T], n: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


# --- raw statements -----------------------------------------------------------------------
# Appends and proofs run a few statements of changing shape per call; SQLAlchemy's compiler
# and per-row parameter processing cost more than the database work there, so these paths
# send plain SQL (built here from the table definitions, executing nothing) to the driver.


def placeholder(conn: Connection) -> str:
    """The driver's positional placeholder: sqlite3 takes ``?``, psycopg ``%s``."""
    style = conn.dialect.paramstyle
    if style not in _PLACEHOLDERS:
        raise BackendError(
            f"the ledger's bulk statements do not support the {conn.dialect.driver} driver "
            f"(parameter style {style}); use SQLite or PostgreSQL with psycopg",
            operation="ledger",
        )
    return _PLACEHOLDERS[style]


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _marks(mark: str, n: int) -> str:
    return ", ".join([mark] * n)


def insert_sql(table: sa.Table, mark: str) -> str:
    """``INSERT INTO table (every column) VALUES (placeholders)``, columns in table order."""
    names = [c.name for c in table.columns]
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({_marks(mark, len(names))})"


def copy_sql(table: sa.Table) -> str:
    """PostgreSQL ``COPY table (every column) FROM STDIN`` in the binary format."""
    names = ", ".join(c.name for c in table.columns)
    return f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"


def nodes_sql(leaves: int, levels: Sequence[int], mark: str) -> str:
    """One query for the hashes of ``leaves`` leaf indices and, per level >= 1, of
    ``levels[i]`` node indices: rows ``(level, index, hash)``. Parameters: the leaf indices,
    then each level followed by its indices. Both engines use the primary keys for each term.

    >>> nodes_sql(1, [2], "?")  # doctest: +NORMALIZE_WHITESPACE
    'SELECT 0, idx, leaf_hash FROM ledger_leaves WHERE idx IN (?) UNION ALL
     SELECT level, idx, hash FROM ledger_nodes WHERE (level = ? AND idx IN (?, ?))'
    """
    parts = []
    if leaves:
        parts.append(
            f"SELECT 0, {_leaves.c.idx.name}, {_leaves.c.leaf_hash.name} FROM {_leaves.name} "
            f"WHERE {_leaves.c.idx.name} IN ({_marks(mark, leaves)})"
        )
    if levels:
        lvl, idx = _nodes.c.level.name, _nodes.c.idx.name
        terms = " OR ".join(f"({lvl} = {mark} AND {idx} IN ({_marks(mark, n)}))" for n in levels)
        parts.append(f"SELECT {lvl}, {idx}, {_nodes.c.hash.name} FROM {_nodes.name} WHERE {terms}")
    return " UNION ALL ".join(parts)


def _copy_types(conn: Connection, table: sa.Table) -> list[str]:
    # the binary COPY format needs each column's exact type: BIGINT -> bigint, VARCHAR(20) ->
    # varchar, BYTEA -> bytea
    return [
        re.sub(r"\(.*\)", "", c.type.compile(dialect=conn.dialect)).lower() for c in table.columns
    ]


def _insert_rows(conn: Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in column order) in the caller's transaction, in bulk.

    PostgreSQL gets one binary COPY through psycopg's connection (the same session, so the
    rows commit or roll back with everything else); SQLite one ``executemany``.
    """
    if not rows:
        return
    if conn.dialect.driver != "psycopg":
        conn.exec_driver_sql(insert_sql(table, placeholder(conn)), list(rows))
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cur, cur.copy(copy_sql(table)) as copy:
            copy.set_types(_copy_types(conn, table))
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as e:
        raise BackendError(
            f"could not append to {table.name}: {type(e).__name__}: {e}", operation="ledger append"
        ) from e


def driver_rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one query on the driver's cursor, in this connection's transaction: plain tuples.

    For reads of hundreds of thousands of rows, where building SQLAlchemy rows costs more
    than the database does. Driver errors become :class:`BackendError` with the SQL.
    """
    if not conn.in_transaction():  # what conn.execute would do: every read in one snapshot
        conn.begin()
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    except conn.dialect.loaded_dbapi.Error as e:
        raise BackendError(
            f"ledger read failed: {type(e).__name__}: {e} in {sql}", operation="ledger read"
        ) from e
    finally:
        cursor.close()


def tune_connection(conn: Connection) -> None:
    """Once per SQLite connection: a page cache and memory map sized for a million leaves.

    The default 2 MB cache makes appends and proofs at 1M leaves re-read index pages from
    the OS; mapping the file spares verify a copy of every page it scans.
    """
    if conn.dialect.name != "sqlite":
        return
    info = conn.connection.info
    if info.get("ftigate.ledger.tuned"):
        return
    conn.exec_driver_sql("PRAGMA cache_size = -65536")  # KiB: 64 MB
    conn.exec_driver_sql("PRAGMA mmap_size = 1073741824")  # 1 GB
    info["ftigate.ledger.tuned"] = True


# --- size, append -------------------------------------------------------------------------


def tree_size(conn: Connection) -> int:
    """Number of leaves in the log (as this transaction sees it)."""
    # plain SQL: every proof asks, and building the select cost a third of a proof
    size = conn.exec_driver_sql(_HEAD_SIZE_SQL).scalar_one_or_none()
    if size is None:
        raise IntegrityError("the ledger head row is missing; run `ftigate init` (migrations)")
    return int(size)


_HEAD_SIZE_SQL = f"SELECT {_head.c.size.name} FROM {_head.name} WHERE {_head.c.id.name} = 1"


def append(conn: Connection, records: Sequence[LedgerRecord]) -> int:
    """Append ``records`` as consecutive leaves; return the index of the first.

    The head row is updated first: on PostgreSQL that row lock makes concurrent releases take
    turns, so leaf indices never collide; SQLite allows one writer at a time anyway.
    """
    if not records:
        return tree_size(conn)
    tune_connection(conn)
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
    hashes = [merkle.hash_leaf(data) for data in encoded]
    nodes = extend_edge(edge, hashes)  # (level, index, hash): the nodes table's column order
    _insert_rows(
        conn,
        _leaves,
        [
            (first + i, str(r.kind), r.batch_id, r.request_id, r.tin_hmac, data, leaf_hash)
            for i, (r, data, leaf_hash) in enumerate(zip(records, encoded, hashes, strict=True))
        ],
    )
    _insert_rows(conn, _nodes, nodes)
    return first


# --- reading nodes and leaves -------------------------------------------------------------


def load_nodes(conn: Connection, ids: Sequence[NodeID]) -> list[bytes]:
    """The stored hash of each node, in order: level 0 from the leaves, the rest from nodes.

    One query per few hundred nodes (an inclusion proof at 1M leaves: one query of about 20).
    Raises :class:`IntegrityError` naming the first leaf of a node that is missing (a
    truncated or damaged store; ``ftigate ledger verify`` says more).
    """
    tune_connection(conn)
    mark = placeholder(conn)
    got: dict[tuple[int, int], bytes] = {}
    for part in _chunks(list({(n.level, n.index): None for n in ids})):  # each once, in order
        leaves = [i for lvl, i in part if lvl == 0]
        by_level: dict[int, list[int]] = defaultdict(list)
        for lvl, i in part:
            if lvl:
                by_level[lvl].append(i)
        params: list[int] = list(leaves)
        for lvl, idxs in by_level.items():
            params += [lvl, *idxs]
        sql = nodes_sql(len(leaves), [len(v) for v in by_level.values()], mark)
        for lvl, i, h in conn.exec_driver_sql(sql, tuple(params)).all():
            got[int(lvl), int(i)] = bytes(h)
    out: list[bytes] = []
    for n in ids:
        h = got.get((n.level, n.index))
        if h is None:
            first = min((m for m in ids if (m.level, m.index) not in got), key=lambda m: m.begin)
            raise IntegrityError(
                f"ledger node {first} (leaves {first.begin}..{first.end - 1}) is missing from "
                "the store; run `ftigate ledger verify`",
                index=first.begin,
            )
        out.append(h)
    return out


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


def load_leaf_chunks(
    conn: Connection, end: int | None = None, chunk: int = 65536
) -> Iterator[list[tuple[int, bytes, bytes]]]:
    """``(index, record bytes, stored leaf hash)`` of every leaf below ``end`` (default: every
    stored leaf, also any beyond the head) in index order, ``chunk`` rows per query by primary
    key. Gaps are not filled or reported here; the caller sees the indices."""
    tune_connection(conn)
    mark = placeholder(conn)
    idx = _leaves.c.idx.name
    upper = "" if end is None else f" AND {idx} < {mark}"
    sql = (
        f"SELECT {idx}, {_leaves.c.record.name}, {_leaves.c.leaf_hash.name} FROM {_leaves.name} "
        f"WHERE {idx} >= {mark}{upper} ORDER BY {idx} LIMIT {mark}"
    )
    start = 0
    while True:
        params = (start, chunk) if end is None else (start, end, chunk)
        rows = [(int(i), bytes(d), bytes(h)) for i, d, h in driver_rows(conn, sql, params)]
        if not rows:
            return
        yield rows
        start = rows[-1][0] + 1


def iter_leaf_data(conn: Connection, end: int, chunk: int = 65536) -> Iterator[bytes]:
    """The record bytes of leaves ``0 .. end-1`` in order, read in chunks by primary key."""
    expected = 0
    for rows in load_leaf_chunks(conn, end, chunk):
        for idx, data, _ in rows:
            if idx != expected:
                raise IntegrityError(
                    f"ledger leaf {expected} is missing; run `ftigate ledger verify`",
                    index=expected,
                )
            yield data
            expected += 1


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
