"""Rebuild a ledger from its leaves and check its checkpoints against it. Pure: no storage.

Both ``ftigate ledger verify`` (reading the store) and ``ftigate-verify`` (reading an exported
bundle) feed leaves through a :class:`Replayer` in index order. It recomputes every leaf hash
and the tree, checks each leaf is a canonical record, verifies every checkpoint's signature and
that the recomputed tree had exactly the signed root at the signed size. Because every signed
root is recomputed from the same leaves, consecutive checkpoints that all match are consistent.
It never stops at the first problem: it collects :class:`Finding` s, each with the leaf (or
tree size) it concerns, and the report names the first.

Example:
    >>> r = Replayer([], checkpoints=[])
    >>> r.add(0, b'not a record')[0] is None
    True
    >>> [f.code for f in r.finish()]
    ['RECORD_INVALID']
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ftigate.errors import FtigateError, InputError
from ftigate.ledger import merkle, note
from ftigate.ledger.leaf import LedgerRecord, decode_record, valid_record_json
from ftigate.ledger.merkle import NodeID


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with the ledger. ``index``: the first leaf (or tree size) concerned.

    A finding that can only bound the damage (a signed root or an interior node that differs)
    carries ``end``: the bad leaf is somewhere in ``[index, end)``.
    """

    code: str
    index: int | None
    message: str
    end: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "index": self.index, "message": self.message}
        if self.end is not None:
            out["end"] = self.end
        return out

    def __str__(self) -> str:
        where = "" if self.index is None else f" at index {self.index}"
        return f"{self.code}{where}: {self.message}"


def first_finding(findings: Iterable[Finding]) -> Finding | None:
    """The first bad index: the lowest finding that names a leaf, or a range none explains.

    A range finding (``end`` set) is a symptom when a precise finding falls inside it: an
    edited leaf at 9 also changes the node over 8..9 and the root signed over 5..10, and the
    report should say 9.
    """
    found = list(findings)
    precise = [f for f in found if f.end is None]
    unexplained = [
        f
        for f in found
        if f.end is not None
        and f.index is not None
        and not any(p.index is not None and f.index <= p.index < f.end for p in precise)
    ]
    ordered = sorted(precise + unexplained, key=lambda f: (f.index is None, f.index or 0))
    return ordered[0] if ordered else None


def extend_edge(
    edge: merkle.CompactRange, leaf_hashes: Iterable[bytes]
) -> list[tuple[int, int, bytes]]:
    """Append many leaves to ``edge``; return the interior nodes they complete, as
    ``(level, index, hash)``: the nodes :meth:`~ftigate.ledger.merkle.CompactRange.append`
    reports, without the leaves and without a :class:`NodeID` each. A million-leaf append or
    verify runs this loop.

    >>> a, b = merkle.CompactRange(), merkle.CompactRange()
    >>> hs = [merkle.hash_leaf(bytes([i])) for i in range(5)]
    >>> extend_edge(a, hs) == [(n.level, n.index, h) for x in hs for n, h in b.append(x)[1:]]
    True
    """
    out: list[tuple[int, int, bytes]] = []
    hashes, size, sha256 = edge.hashes, edge.size, hashlib.sha256
    for h in leaf_hashes:
        i, level = size, 0
        while i & 1:  # as CompactRange.append: each completed pair folds into its parent
            h = sha256(b"\x01" + hashes.pop() + h).digest()
            i, level = i >> 1, level + 1
            out.append((level, i, h))
        hashes.append(h)
        size += 1
    edge.size = size
    return out


class LeafFacts(NamedTuple):
    """The fields of a valid leaf that the ``decisions`` table must agree with."""

    kind: str
    batch_id: str
    line: int | None
    request_id: str
    outcome: str | None
    reason: str | None
    refusal_codes: tuple[str, ...]
    tin_hmac: str | None

    @classmethod
    def of(cls, record: LedgerRecord) -> LeafFacts:
        return cls(
            str(record.kind),
            record.batch_id,
            record.line,
            record.request_id,
            None if record.outcome is None else str(record.outcome),
            None if record.reason is None else str(record.reason),
            record.refusal_codes,
            record.tin_hmac,
        )


class Examined(NamedTuple):
    """A run of leaves, hashed and checked: per leaf its hash and facts (``None`` when the
    record is invalid), and the problem of each invalid one by its position in the run."""

    hashes: list[bytes]
    facts: list[LeafFacts | None]
    problems: dict[int, str]


def examine_leaves(leaves: Sequence[bytes]) -> Examined:
    """Hash each leaf and check it is a valid canonical record. Pure.

    The fast check (:func:`~ftigate.ledger.leaf.valid_record_json`) decides for the valid
    leaves; :func:`~ftigate.ledger.leaf.decode_record` decides, and says why, for the rest.

    >>> ex = examine_leaves([b"[]"])
    >>> ex.facts, ex.problems
    ([None], {0: 'leaf is not a JSON object'})
    """
    hashes: list[bytes] = []
    facts: list[LeafFacts | None] = []
    problems: dict[int, str] = {}
    sha256 = hashlib.sha256
    for k, data in enumerate(leaves):
        hashes.append(sha256(b"\x00" + data).digest())
        raw = valid_record_json(data)
        if raw is not None:
            facts.append(
                LeafFacts(
                    raw["kind"],
                    raw["batch_id"],
                    raw["line"],
                    raw["request_id"],
                    raw["outcome"],
                    raw["reason"],
                    tuple(raw["refusal_codes"]),
                    raw["tin_hmac"],
                )
            )
            continue
        try:  # the tests hold the fast check to decode_record's verdict; this one is final
            facts.append(LeafFacts.of(decode_record(data)))
        except InputError as e:
            facts.append(None)
            problems[k] = e.message
    return Examined(hashes, facts, problems)


@dataclass(slots=True)
class _Signed:
    label: str
    checkpoint: note.Checkpoint


@dataclass(slots=True)
class Replayer:
    """Feed leaves in index order with :meth:`add`, then call :meth:`finish`.

    ``checkpoints`` are ``(label, signed text)`` pairs in signing order; ``label`` names each
    in findings (a database id, a file name).
    """

    verifiers: Sequence[note.NoteVerifier]
    checkpoints: Sequence[tuple[str, str]]
    origin: str | None = None
    findings: list[Finding] = field(default_factory=list, init=False)
    edge: merkle.CompactRange = field(default_factory=merkle.CompactRange, init=False)
    _by_size: dict[int, list[_Signed]] = field(default_factory=dict, init=False)
    _sizes: list[int] = field(default_factory=list, init=False)  # signed sizes, ascending
    _max_signed: int = field(default=-1, init=False)

    def __post_init__(self) -> None:
        previous: _Signed | None = None
        for label, text in self.checkpoints:
            signed = self._open(label, text)
            if signed is None:
                continue
            cp = signed.checkpoint
            if previous is not None and cp.size < previous.checkpoint.size:
                self._find(
                    "CHECKPOINT_ORDER",
                    cp.size,
                    f"{label} (size {cp.size}) was signed after {previous.label} "
                    f"(size {previous.checkpoint.size}): a log never shrinks",
                )
            self._by_size.setdefault(cp.size, []).append(signed)
            self._max_signed = max(self._max_signed, cp.size)
            previous = signed
        self._check_size()  # the empty tree's checkpoints
        self._sizes = sorted(self._by_size)

    def _find(self, code: str, index: int | None, message: str) -> None:
        self.findings.append(Finding(code, index, message))

    def _open(self, label: str, text: str) -> _Signed | None:
        try:
            cp = note.open_checkpoint(text, self.verifiers, origin=self.origin)
        except FtigateError as e:
            size = _claimed_size(text)
            self._find("CHECKPOINT_SIGNATURE", size, f"{label}: {e.message}")
            return None
        return _Signed(label, cp)

    @property
    def size(self) -> int:
        return self.edge.size

    def add(
        self, index: int, data: bytes, stored_hash: bytes | None = None
    ) -> tuple[LedgerRecord | None, list[tuple[NodeID, bytes]]]:
        """Append leaf ``index``; return its record (None if invalid) and the nodes it completes.

        ``stored_hash``: the leaf hash the store holds, compared with the recomputed one.
        """
        if index != self.size:
            self._find(
                "LEAF_MISSING",
                self.size,
                f"leaf {self.size} is missing (the next leaf stored is {index})"
                if index > self.size
                else f"leaf {index} appears twice or out of order",
            )
        record: LedgerRecord | None = None
        try:
            record = decode_record(data)
        except InputError as e:
            self._find("RECORD_INVALID", self.size, f"leaf {self.size}: {e.message}")
        leaf_hash = merkle.hash_leaf(data)
        if stored_hash is not None and stored_hash != leaf_hash:
            self._find(
                "LEAF_HASH_MISMATCH",
                self.size,
                f"leaf {self.size}'s record hashes to {leaf_hash.hex()}, the store holds "
                f"{stored_hash.hex()}: the record was edited",
            )
        done = self.edge.append(leaf_hash)
        self._check_size()
        return record, done

    def add_examined(
        self,
        indices: Sequence[int],
        examined: Examined,
        stored_hashes: Sequence[bytes] | None = None,
    ) -> list[tuple[int, int, bytes]]:
        """Append leaves that :func:`examine_leaves` checked, as :meth:`add` does one by one.

        Returns the interior nodes they complete, as ``(level, index, hash)``. The findings
        are those :meth:`add` makes, in the same order.
        """
        nodes: list[tuple[int, int, bytes]] = []
        hashes, problems = examined.hashes, examined.problems
        pos, n = 0, len(indices)
        while pos < n:
            # run up to the next signed size, where the tree head must be checked
            at = bisect.bisect_right(self._sizes, self.size)
            stop = n if at == len(self._sizes) else min(n, pos + self._sizes[at] - self.size)
            size = self.size
            for k in range(pos, stop):
                index = indices[k]
                if index != size:
                    self._find(
                        "LEAF_MISSING",
                        size,
                        f"leaf {size} is missing (the next leaf stored is {index})"
                        if index > size
                        else f"leaf {index} appears twice or out of order",
                    )
                problem = problems.get(k)
                if problem is not None:
                    self._find("RECORD_INVALID", size, f"leaf {size}: {problem}")
                if stored_hashes is not None and stored_hashes[k] != hashes[k]:
                    self._find(
                        "LEAF_HASH_MISMATCH",
                        size,
                        f"leaf {size}'s record hashes to {hashes[k].hex()}, the store holds "
                        f"{stored_hashes[k].hex()}: the record was edited",
                    )
                size += 1
            nodes += extend_edge(self.edge, hashes[pos:stop])
            self._check_size()
            pos = stop
        return nodes

    def _check_size(self) -> None:
        signed = self._by_size.get(self.size)
        if not signed:
            return
        head = self.edge.root()
        prior = max((s for s in self._by_size if s < self.size), default=0)
        for s in signed:
            if s.checkpoint.root != head:
                self.findings.append(
                    Finding(
                        "CHECKPOINT_ROOT_MISMATCH",
                        prior,
                        f"{s.label} signed root {s.checkpoint.root.hex()} at size {self.size}, "
                        f"the leaves give {head.hex()}: a leaf in {prior}..{self.size - 1} was "
                        "changed, dropped or reordered after signing",
                        end=self.size,
                    )
                )

    def finish(self, declared_size: int | None = None) -> list[Finding]:
        """Close the replay: checkpoints beyond the last leaf mean the log was truncated."""
        if declared_size is not None and declared_size != self.size:
            self._find(
                "SIZE_MISMATCH",
                min(declared_size, self.size),
                f"the log says it has {declared_size} leaves, {self.size} were found",
            )
        if self._max_signed > self.size:
            beyond = sorted(
                s.label for size, ss in self._by_size.items() if size > self.size for s in ss
            )
            self._find(
                "LOG_TRUNCATED",
                self.size,
                f"checkpoints sign up to {self._max_signed} leaves but only {self.size} "
                f"exist ({', '.join(beyond[:5])}{' ...' if len(beyond) > 5 else ''})",
            )
        return self.findings


def _claimed_size(text: str) -> int | None:
    lines = text.split("\n")
    return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else None
