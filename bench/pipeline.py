"""The whole pipeline at scale: figures for the pipeline issue (ingest, train, match, decide).

Generates ``ftigate synth --taxpayers N --requests M --seed S`` (reused when present), then runs
init, agreement load, register ingest (validation + Parquet snapshot + linkage preparation),
training, batch sign + submit and match, each stage in a fresh subprocess so that its wall time
and peak RSS are its own. The decisions (before any officer review) are scored against
``truth.csv``: disclosures to the wrong person, disclosures of requests the rules must refuse,
decoys disclosed, precision and recall, per case and per name origin.

Prints a table and writes ``bench/out/pipeline_<N>_<M>.json``. Nothing here asserts a time.

Run: ``.venv/bin/python bench/pipeline.py --taxpayers 200000 --requests 20000 --seed 7``
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
ROOT = Path(__file__).parents[1]
DECOYS = (
    "twin_ambiguous",
    "jr_sr_ambiguous",
    "crowd",
    "tin_other_person",
    "tin_conflict",
    "near_miss",
)


class MatchFigures(logging.Handler):
    """Keeps the figures of the linkage backend's one log line (``MatchTimer``: phases and
    pairs scored), for the benchmarks that report where a match's time goes.

    Use :meth:`attached` around the match.
    """

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "match"):
            self.figures = dict(record.match)

    @classmethod
    def attached(cls) -> MatchFigures:
        """A handler listening to ``ftigate.linkage`` at INFO."""
        handler = cls()
        linkage_log = logging.getLogger("ftigate.linkage")
        linkage_log.addHandler(handler)
        linkage_log.setLevel(logging.INFO)
        return handler


def stage(
    name: str,
    work: Path,
    args: argparse.Namespace,
    script: str = __file__,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run one stage of ``script`` in a child process; returns its seconds and what it printed.

    The child prints one JSON line last (its figures, peak RSS among them); ``bench/compare.py``
    runs its own stages through this too, with its ``--backend`` in ``extra``.
    """
    cmd = [
        sys.executable,
        script,
        "--stage",
        name,
        "--work",
        str(work),
        "--taxpayers",
        str(args.taxpayers),
        "--requests",
        str(args.requests),
        "--seed",
        str(args.seed),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=False, env=None if env is None else dict(env)
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-20000:])
        raise SystemExit(f"stage {name} failed ({proc.returncode})")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"stage": name, "seconds": round(seconds, 2), **child}


def run_stage(name: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from ftigate.config import Settings
    from ftigate.demo import SAMPLE_AGREEMENT, agreement_with_signer
    from ftigate.service import Gateway, Principal

    settings = Settings.from_env(
        database_url=f"sqlite:///{work / 'ftigate.db'}", data_dir=str(work / "data")
    )
    gw = Gateway(settings)
    admin = Principal("bench", "admin")
    data = work / "synth"
    out: dict[str, Any] = {}
    if name == "synth":
        from ftigate.synth import generate

        if not (data / "truth.csv").exists():
            generate(taxpayers=args.taxpayers, requests=args.requests, seed=args.seed, out=data)
    elif name == "init":
        from ftigate.service.admin import init, load_agreement

        init(gw)
        signer = json.loads((data / "keys" / "signer.json").read_text())
        path = agreement_with_signer(ROOT / SAMPLE_AGREEMENT, signer, work / "agreement.yaml")
        load_agreement(gw, path, admin)
    elif name == "ingest":
        from ftigate.service.register import ingest

        snap = ingest(gw, data / "register", admin, train=False).snapshot
        out["snapshot"] = snap.id
    elif name == "train":
        from ftigate.service.register import ensure_trained
        from ftigate.store import repo

        with gw.reading() as conn:
            snap = repo.get_snapshot(conn)
        out["model_sha256"] = ensure_trained(gw, snap, admin).model_sha256
    elif name == "submit":
        from ftigate.service.intake import sign_batch, submit_batch

        signer = json.loads((data / "keys" / "signer.json").read_text())
        sign_batch(
            data / "batch",
            data / "keys" / "requester.key",
            signer=signer["name"],
            agreement_id="irs-ice-2025",
            batch_id="BENCH",
        )
        out["rows_refused"] = submit_batch(gw, data / "batch", admin).rows_refused
    elif name == "match":
        from ftigate.service.matching import match_batch

        result = match_batch(gw, "BENCH", admin)
        out["outcomes"] = dict(result.outcomes)
        out["estimated_false_disclosures"] = result.estimated_false_disclosures
    elif name == "evaluate":
        from ftigate.service.reporting import write_batch_report

        out["evaluation"] = evaluate(gw, data / "truth.csv")
        # the batch report carries the evaluation too: per case and per name origin
        report = work / "report.html"
        write_batch_report(gw, "BENCH", report, admin, evaluation=out["evaluation"])
        out["batch_report"] = str(report)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def evaluate(gw: Any, truth_path: Path) -> dict[str, Any]:
    from ftigate.reports.evaluation import Scored, origin_recall_gap, read_truth
    from ftigate.reports.evaluation import evaluate as score
    from ftigate.store import repo

    with gw.reading() as conn:
        stored = repo.load_decisions(conn, "BENCH")
    scored = [
        Scored(s.decision.request_id, str(s.decision.outcome), s.decision.tin) for s in stored
    ]
    result = score(scored, read_truth(truth_path))
    result["origin_recall_gap_points"] = origin_recall_gap(result["by_origin"])
    result["decoys_disclosed_wrongly"] = sum(
        result["by_case"].get(c, {}).get("wrong_person", 0) for c in DECOYS
    )
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--taxpayers", type=int, default=200_000)
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--stage", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    work = (
        args.work
        or ROOT / "bench" / "data" / f"pipeline-{args.taxpayers}-{args.requests}-{args.seed}"
    )
    if args.stage:
        print(json.dumps(run_stage(args.stage, work, args), default=str))
        return
    for stale in ("ftigate.db", "ftigate.db-wal", "ftigate.db-shm", "data"):
        target = work / stale
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    work.mkdir(parents=True, exist_ok=True)
    stages = [
        stage(n, work, args)
        for n in ("synth", "init", "ingest", "train", "submit", "match", "evaluate")
    ]
    ev = stages[-1].pop("evaluation")
    report = {
        "taxpayers": args.taxpayers,
        "requests": args.requests,
        "seed": args.seed,
        "stages": stages,
        "evaluation": ev,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"pipeline_{args.taxpayers}_{args.requests}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"{'stage':10} {'seconds':>9} {'peak RSS MB':>12}")
    for s in stages:
        print(f"{s['stage']:10} {s['seconds']:>9.1f} {s['peak_rss_mb']:>12.0f}")
    keys = (
        "requests",
        "disclosed",
        "correct",
        "wrong_person",
        "forbidden_disclosed",
        "review",
        "should_disclose",
        "precision",
        "recall",
        "decoys_disclosed_wrongly",
        "origin_recall_gap_points",
    )
    for k in keys:
        print(f"{k:28} {ev[k]}")
    print(f"\n{'case':24} {'n':>6} {'disc':>6} {'wrong':>6} {'review':>6} {'recall':>7}")
    for case, r in sorted(ev["by_case"].items()):
        print(
            f"{case:24} {r['requests']:>6} {r['disclosed']:>6} {r['wrong_person']:>6} "
            f"{r['review']:>6} {r['recall']:>7.3f}"
        )
    print(f"\n{'origin':24} {'n':>6} {'disc':>6} {'wrong':>6} {'recall':>7}")
    for origin, r in sorted(ev["by_origin"].items()):
        print(
            f"{origin:24} {r['requests']:>6} {r['disclosed']:>6} {r['wrong_person']:>6} "
            f"{r['recall']:>7.3f}"
        )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
