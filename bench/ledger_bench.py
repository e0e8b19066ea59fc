"""Ledger benchmark: append throughput, proof latency and full verification at 1M leaves.

Usage::

    .venv/bin/python bench/ledger_bench.py                       # SQLite, 1,000,000 leaves
    .venv/bin/python bench/ledger_bench.py --db postgres         # FTIGATE_TEST_DATABASE_URL
    .venv/bin/python bench/ledger_bench.py --leaves 100000 --release 5000

Each release appends ``--release`` leaves and signs a checkpoint in one transaction, as the
service does; the records are built outside the timed section (that is the service's cost).
Prints the figures and writes them to ``bench/out/ledger-<db>.json``. Targets (issue 4):
append >= 20,000 leaves/s on SQLite; inclusion proof generation and verification <= 2 ms
each at 1M; ``verify`` over 1M leaves <= 60 s. Nothing here asserts: tests never time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.ledger import log, merkle, note
from ftigate.ledger.leaf import LedgerRecord, RecordKind, tin_hmac
from ftigate.ledger.verify import verify_ledger
from ftigate.model import Outcome, Reason
from ftigate.store.db import Database
from ftigate.store.tables import batches, decisions

ORIGIN = "bench.ftigate.example/ledger"
OUT = Path(__file__).parent / "out"


def records(start: int, n: int, key: bytes) -> list[LedgerRecord]:
    out = []
    for i in range(start, start + n):
        disclose = i % 20 == 0  # about the 2025 batch's ratio of disclosures to requests
        out.append(
            LedgerRecord(
                kind=RecordKind.DECISION,
                batch_id=f"B-{i // 10000:05d}",
                request_id=f"R{i:09d}",
                line=i % 10000 + 2,
                agreement_id="irs-dhs-2025",
                agreement_sha256="a" * 64,
                statute="8 U.S.C. 1253(a)(1)",
                outcome=Outcome.DISCLOSE if disclose else Outcome.NOT_DISCLOSED,
                reason=Reason.APPROVED_BY_OFFICER if disclose else Reason.NO_MATCH,
                fields_disclosed=("city", "state", "street", "unit", "zip") if disclose else (),
                reviewers=("officer-a",),
                releaser="officer-b",
                time="2025-08-07T12:00:00Z",
                tin_hmac=tin_hmac(key, f"{100000000 + i:09d}") if disclose else None,
                snapshot_id="snap-2025-08",
                model_sha256="c" * 64,
                software_version="0.1.0",
            )
        )
    return out


def write_decisions(conn: sa.Connection, batch: list[LedgerRecord], first: int) -> None:
    now = datetime.now(UTC)
    for batch_id in sorted({r.batch_id for r in batch}):
        exists = conn.execute(sa.select(batches.c.id).where(batches.c.id == batch_id)).first()
        if exists is None:
            conn.execute(
                batches.insert().values(
                    id=batch_id,
                    requester="ICE",
                    manifest_json="{}",
                    signature_b64="",
                    signer="s",
                    requests_sha256="0" * 64,
                    row_count=0,
                    received_at=now,
                    status="RELEASED",
                )
            )
    conn.execute(
        decisions.insert(),
        [
            {
                "batch_id": r.batch_id,
                "line": r.line,
                "request_id": r.request_id,
                "outcome": r.outcome.value if r.outcome else "",
                "reason": r.reason.value if r.reason else None,
                "refusal_codes": "",
                "tin": None,
                "rules_json": "[]",
                "decided_at": now,
                "final_outcome": None,
                "final_reason": None,
                "leaf_index": first + k,
            }
            for k, r in enumerate(batch)
        ],
    )


def open_db(kind: str) -> tuple[Database, object]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="ledger-bench-")
        db = Database.connect(f"sqlite:///{folder}/bench.db")
        db.migrate()
        return db, folder
    url = os.environ.get("FTIGATE_TEST_DATABASE_URL")
    if not url:
        sys.exit("set FTIGATE_TEST_DATABASE_URL for --db postgres")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = Database.connect(url)
    with admin.engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(admin.engine.url, connect_args={"options": f"-csearch_path={schema}"})
    db = Database(engine)
    db.migrate()
    return db, (admin, schema)


def close_db(db: Database, handle: object) -> None:
    db.dispose()
    if isinstance(handle, tuple):
        admin, schema = handle
        with admin.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--leaves", type=int, default=1_000_000)
    p.add_argument("--release", type=int, default=10_000, help="leaves per release")
    p.add_argument("--proofs", type=int, default=1000)
    p.add_argument("--skip-verify", action="store_true")
    args = p.parse_args()

    key = Ed25519PrivateKey.generate()
    hmac_key = os.urandom(32)
    db, handle = open_db(args.db)
    result: dict[str, object] = {
        "db": args.db,
        "leaves": args.leaves,
        "release_size": args.release,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        timed = 0.0
        done = 0
        while done < args.leaves:
            n = min(args.release, args.leaves - done)
            batch = records(done, n, hmac_key)
            with db.transaction() as conn:
                t = time.perf_counter()
                first = log.append(conn, batch)
                log.sign_checkpoint(conn, key, ORIGIN)
                timed += time.perf_counter() - t
                write_decisions(conn, batch, first)  # what verify cross-checks; not timed
            done += n
            if done % (args.release * 10) == 0:
                print(f"  {done:>9,} leaves, {done / timed:,.0f} leaves/s", file=sys.stderr)
        result["append_seconds"] = round(timed, 2)
        result["append_leaves_per_second"] = round(args.leaves / timed)

        rng = random.Random(6103)
        gen, ver = [], []
        with db.reading() as conn:
            size = log.tree_size(conn)
            cp = note.open_checkpoint(
                log.latest_checkpoint(conn).text,  # type: ignore[union-attr]
                [note.NoteSigner(ORIGIN, key).verifier],
            )
            for _ in range(args.proofs):
                i = rng.randrange(size)
                leaf_hash = log.load_leaf(conn, i).leaf_hash
                t = time.perf_counter()
                proof = log.inclusion_proof(conn, i, size)
                t1 = time.perf_counter()
                merkle.verify_inclusion(i, size, leaf_hash, proof, cp.root)
                t2 = time.perf_counter()
                gen.append((t1 - t) * 1000)
                ver.append((t2 - t1) * 1000)
        for name, xs in (("proof_generation_ms", gen), ("proof_verification_ms", ver)):
            xs.sort()
            result[name] = {
                "mean": round(statistics.fmean(xs), 3),
                "p50": round(xs[len(xs) // 2], 3),
                "p99": round(xs[int(len(xs) * 0.99)], 3),
            }

        if not args.skip_verify:
            t = time.perf_counter()
            with db.reading() as conn:
                report = verify_ledger(conn, [note.NoteSigner(ORIGIN, key).verifier], origin=ORIGIN)
            result["verify_seconds"] = round(time.perf_counter() - t, 2)
            result["verify_ok"] = report.ok
            result["verify_findings"] = [str(f) for f in report.findings[:5]]
            result["verify_checked"] = {
                "leaves": report.leaves,
                "nodes": report.nodes,
                "checkpoints": report.checkpoints,
            }
    finally:
        close_db(db, handle)

    print(json.dumps(result, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"ledger-{args.db}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
