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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftigate.errors import FtigateError, InputError
from ftigate.ledger import merkle, note
from ftigate.ledger.leaf import LedgerRecord, decode_record
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
