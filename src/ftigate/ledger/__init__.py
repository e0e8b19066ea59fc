"""The disclosure ledger: an RFC 6962 / RFC 9162 transparency log of every decision.

Pure modules (no I/O, mypy strict, usable by the offline verifier):

* :mod:`ftigate.ledger.merkle` - hashing, tree heads, which nodes a proof needs, proof checks;
* :mod:`ftigate.ledger.leaf` - the canonical leaf record (RFC 8785 JSON) and the TIN HMAC;
* :mod:`ftigate.ledger.note` - C2SP signed notes and tlog checkpoints (Ed25519);
* :mod:`ftigate.ledger.replay` - recompute a tree from leaves and check checkpoints against it;
* :mod:`ftigate.ledger.offline` - ``ftigate-verify``, the verifier an overseer runs.

Modules over the store (they take a SQLAlchemy ``Connection`` from the caller, who owns the
transaction): :mod:`ftigate.ledger.log` (append, proofs, checkpoints, accounting) and
:mod:`ftigate.ledger.verify` (recompute everything from storage and report tampering).
"""
