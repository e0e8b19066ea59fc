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

The decision rows carry the TIN of each disclosure and ``verify`` gets the TIN HMAC key, as
``ftigate ledger verify`` does, so it compares the HMACs too.

Other benchmarks share this machine, so every phase reports CPU seconds next to wall seconds
(this process, plus reaped child processes, plus - on PostgreSQL - the server backends this
bench is connected to, read from ``/proc`` when the server is local) and the load average
(1 minute) at its start and end. Wall figures taken at a load above the number of cores say
more about the neighbours than about the ledger; CPU figures do not. Proofs during which the
scheduler preempted this process are counted, with the p99 of the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
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


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a local process, 0 when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall and CPU seconds over one or more timed sections, with the load around them."""

    def __init__(self, server_pids: set[int]) -> None:
        self.server_pids = server_pids
        self.wall = self.cpu = self.children = self.server = 0.0
        self.load: list[float] = []

    def _now(self) -> tuple[float, float, float, float]:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (
            time.perf_counter(),
            time.process_time(),
            kids.ru_utime + kids.ru_stime,
            sum(_proc_cpu(p) for p in self.server_pids),
        )

    def __enter__(self) -> Meter:
        if not self.load:
            self.load.append(os.getloadavg()[0])
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.wall += end[0] - self._start[0]
        self.cpu += end[1] - self._start[1]
        self.children += end[2] - self._start[2]
        self.server += end[3] - self._start[3]

    def figures(self) -> dict[str, object]:
        out: dict[str, object] = {
            "wall_seconds": round(self.wall, 2),
            "cpu_seconds": round(self.cpu, 2),
        }
        if self.children:
            out["worker_cpu_seconds"] = round(self.children, 2)
        if self.server_pids:
            out["server_cpu_seconds"] = round(self.server, 2)
        out["load_1min"] = [round(self.load[0], 2), round(os.getloadavg()[0], 2)]
        return out


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
                "tin": f"{100000000 + int(r.request_id[1:]):09d}" if r.tin_hmac else None,
                "rules_json": "[]",
                "decided_at": now,
                "final_outcome": None,
                "final_reason": None,
                "leaf_index": first + k,
            }
            for k, r in enumerate(batch)
        ],
    )


def track_backends(db: Database, pids: set[int]) -> None:
    """Remember the PostgreSQL backend of each new connection, to read its CPU time."""

    def on_connect(dbapi_conn: object, _record: object) -> None:
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cur.execute("SELECT pg_backend_pid()")
        pids.add(int(cur.fetchone()[0]))
        cur.close()

    sa.event.listen(db.engine, "connect", on_connect)


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
    """Drop what the run made: the SQLite folder (a gigabyte at 1M leaves) or the schema."""
    db.dispose()
    if isinstance(handle, tuple):
        admin, schema = handle
        with admin.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    elif isinstance(handle, str):
        shutil.rmtree(handle, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--leaves", type=int, default=1_000_000)
    p.add_argument("--release", type=int, default=10_000, help="leaves per release")
    p.add_argument("--proofs", type=int, default=1000)
    p.add_argument("--skip-verify", action="store_true")
    p.add_argument("--out", type=Path, help="JSON file (default bench/out/ledger-DB.json)")
    args = p.parse_args()

    key = Ed25519PrivateKey.generate()
    hmac_key = os.urandom(32)
    db, handle = open_db(args.db)
    server_pids: set[int] = set()
    if args.db == "postgres":
        db.engine.dispose()  # so that every connection from now on is tracked
        track_backends(db, server_pids)
    result: dict[str, object] = {
        "db": args.db,
        "leaves": args.leaves,
        "release_size": args.release,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        append = Meter(server_pids)
        done = 0
        while done < args.leaves:
            n = min(args.release, args.leaves - done)
            batch = records(done, n, hmac_key)
            with db.transaction() as conn:
                with append:
                    first = log.append(conn, batch)
                    log.sign_checkpoint(conn, key, ORIGIN)
                write_decisions(conn, batch, first)  # what verify cross-checks; not timed
            done += n
            if done % (args.release * 10) == 0:
                print(
                    f"  {done:>9,} leaves, {done / append.wall:,.0f} leaves/s "
                    f"({done / append.cpu:,.0f} per CPU second)",
                    file=sys.stderr,
                )
        result["append"] = {
            **append.figures(),
            "leaves_per_second": round(args.leaves / append.wall),
            "leaves_per_cpu_second": round(
                args.leaves / (append.cpu + append.server) if append.cpu + append.server else 0
            ),
        }

        rng = random.Random(6103)
        timings: dict[str, tuple[list[float], list[float]]] = {"gen": ([], []), "ver": ([], [])}
        meters = {"gen": Meter(server_pids), "ver": Meter(server_pids)}
        preempted: list[float] = []
        with db.reading() as conn:
            size = log.tree_size(conn)
            cp = note.open_checkpoint(
                log.latest_checkpoint(conn).text,  # type: ignore[union-attr]
                [note.NoteSigner(ORIGIN, key).verifier],
            )
            for _ in range(args.proofs):
                i = rng.randrange(size)
                leaf_hash = log.load_leaf(conn, i).leaf_hash
                with meters["gen"]:
                    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
                    t, c = time.perf_counter(), time.process_time()
                    proof = log.inclusion_proof(conn, i, size)
                    timings["gen"][0].append((time.perf_counter() - t) * 1000)
                    timings["gen"][1].append((time.process_time() - c) * 1000)
                    # the scheduler took the CPU away mid-proof: the wall time is a neighbour's
                    if resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw != switches:
                        preempted.append(timings["gen"][0][-1])
                with meters["ver"]:
                    t, c = time.perf_counter(), time.process_time()
                    merkle.verify_inclusion(i, size, leaf_hash, proof, cp.root)
                    timings["ver"][0].append((time.perf_counter() - t) * 1000)
                    timings["ver"][1].append((time.process_time() - c) * 1000)
        for name, what in (("proof_generation_ms", "gen"), ("proof_verification_ms", "ver")):
            wall, cpu = (sorted(xs) for xs in timings[what])
            meter = meters[what]
            result[name] = {
                "mean": round(statistics.fmean(wall), 3),
                "p50": round(wall[len(wall) // 2], 3),
                "p99": round(wall[int(len(wall) * 0.99)], 3),
                "cpu_mean": round(statistics.fmean(cpu), 3),
                "cpu_p99": round(cpu[int(len(cpu) * 0.99)], 3),
                **(
                    {"server_cpu_mean": round(meter.server * 1000 / len(wall), 3)}
                    if server_pids
                    else {}
                ),
                "load_1min": meter.figures()["load_1min"],
            }
        calm = sorted(timings["gen"][0])  # the proofs the scheduler never interrupted
        for ms in preempted:
            calm.remove(ms)
        result["proof_generation_preempted"] = {
            "count": len(preempted),
            "p99_of_the_rest_ms": round(calm[int(len(calm) * 0.99)], 3) if calm else None,
        }

        if not args.skip_verify:
            with Meter(server_pids) as meter, db.reading() as conn:
                report = verify_ledger(
                    conn,
                    [note.NoteSigner(ORIGIN, key).verifier],
                    origin=ORIGIN,
                    hmac_key=hmac_key,  # as the CLI does: decision rows' TINs are compared too
                )
            result["verify"] = {
                **meter.figures(),
                "ok": report.ok,
                "findings": [str(f) for f in report.findings[:5]],
                "checked": {
                    "leaves": report.leaves,
                    "nodes": report.nodes,
                    "checkpoints": report.checkpoints,
                    "decisions": report.decisions,
                },
            }
    finally:
        close_db(db, handle)

    print(json.dumps(result, indent=2))
    out = args.out or OUT / f"ledger-{args.db}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
