"""ftigate's pipeline beside a plain Splink 5 linkage, on the same synthetic data, in one run.

(a) **ftigate**: init, agreement, register ingest (validation, Parquet snapshot, prepared linkage
tables), training, batch sign + submit (signature and statute checks, row refusals), match and
decide — the stages of ``bench/pipeline.py``, whose stage code this reuses.

(b) **plain Splink**, as a new user would write it from Splink's tutorial: the register's last
known address joined onto each taxpayer, the raw name, dob and address columns, default-style
comparisons from ``splink.comparison_library``, a few ``block_on`` rules, lambda from a
deterministic rule, u by random sampling, m by expectation maximisation, then ``predict`` and
the best candidate above 0.99 for each request is a "disclosure". Every request goes through it,
including the ones ftigate refuses (a placeholder address, a wrong statute, an overloaded
officer): a plain linkage has no way to refuse them, and that is the point of the comparison.

Every stage runs in a child process so its wall time and peak RSS are its own (``ru_maxrss``
of the child, and a sampled peak over the child's process tree, which counts Spark's JVM).
Both sides are scored against ``truth.csv`` by :mod:`ftigate.reports.evaluation`: precision,
recall, wrong-person and forbidden disclosures, by case and by name origin. The time ratio
compares the two *match* stages measured inside the child (ftigate: ``match_batch`` — candidate
scoring, decisions and storing them; plain: ``predict`` and picking the best candidate), so
interpreter start-up and imports count for neither. A second ratio is per batch: ftigate's
submit and match against plain's load, train and predict (its model is learnt from the batch).

Prints the tables and writes ``bench/out/compare_<size>.json``; ftigate's batch report
(``report.html`` and ``report.json`` in the work folder) carries its evaluation by case and by
name origin. Nothing here asserts a time.

Run::

    .venv/bin/python bench/compare.py --size small                  # 200,000 / 20,000
    .venv/bin/python bench/compare.py --size large                  # 2,000,000 / 200,000
    .venv/bin/python bench/compare.py --taxpayers 5000 --requests 500 --backend spark
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import pipeline  # bench/pipeline.py: its stages and evaluation are reused

OUT = Path(__file__).parent / "out"
ROOT = Path(__file__).parents[1]
SIZES = {"small": (200_000, 20_000), "large": (2_000_000, 200_000)}
FTIGATE_STAGES = ("synth", "init", "ingest", "train", "submit", "match", "evaluate")
PLAIN_STAGES = ("plain_load", "plain_train", "plain_match", "plain_evaluate")
PLAIN_THRESHOLD = 0.99
PLAIN_BLOCKING = (
    ("first_name", "last_name"),
    ("last_name", "dob"),
    ("first_name", "dob"),
    ("zip", "last_name"),
    ("zip", "first_name"),
)
"""The plain linkage's blocking rules: pairs that agree exactly on both raw columns."""
ORIGINS = ("hispanic", "anglo", "vietnamese", "chinese", "arabic")


# --------------------------------------------------------------------------- measuring


@contextmanager
def tree_peak_rss() -> Iterator[dict[str, float]]:
    """Sample the RSS of this process and all its descendants (Spark's JVM, Python workers)."""
    import psutil

    box = {"peak_mib": 0.0}
    stop = threading.Event()
    me = psutil.Process()

    def sample() -> None:
        while not stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            box["peak_mib"] = max(box["peak_mib"], total / 2**20)
            stop.wait(0.25)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        stop.set()
        thread.join()


def run_child(name: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its wall time, peak RSS and what it reported."""
    out = pipeline.stage(
        name,
        work,
        args,
        script=__file__,
        extra=["--backend", args.backend],
        env={**os.environ, "FTIGATE_BACKEND": args.backend},
    )
    print(f"  {name:15} {out['seconds']:8.1f} s  {out.get('peak_rss_mib', 0):8.0f} MiB", flush=True)
    return out


def run_stage(name: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    stages: dict[str, Callable[[Path, argparse.Namespace], dict[str, Any]]] = {
        "init": init_stage,
        "match": match_stage,
        "plain_load": plain_load,
        "plain_train": plain_train,
        "plain_match": plain_match,
        "plain_evaluate": plain_evaluate,
    }
    with tree_peak_rss() as tree:
        out = stages[name](work, args) if name in stages else pipeline.run_stage(name, work, args)
    out.pop("peak_rss_mb", None)
    self_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_rss_mib"] = round(max(self_mib, tree["peak_mib"]), 1)
    return out


# --------------------------------------------------------------------------- ftigate


def _gateway(work: Path) -> Any:
    from ftigate.config import Settings
    from ftigate.service import Gateway

    return Gateway(
        Settings.from_env(
            database_url=f"sqlite:///{work / 'ftigate.db'}", data_dir=str(work / "data")
        )
    )


def init_stage(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The store, keys and the sample agreement, its batch limit raised to the batch size."""
    import yaml

    from ftigate.demo import SAMPLE_AGREEMENT, agreement_with_signer
    from ftigate.service import Principal
    from ftigate.service.admin import init, load_agreement

    gw = _gateway(work)
    init(gw)
    data = work / "synth"
    signer = json.loads((data / "keys" / "signer.json").read_text())
    path = agreement_with_signer(ROOT / SAMPLE_AGREEMENT, signer, work / "agreement.yaml")
    agreement = yaml.safe_load(path.read_text())
    limits = agreement.setdefault("limits", {})
    limits["max_batch_rows"] = max(int(limits.get("max_batch_rows", 0)), args.requests)
    path.write_text(yaml.safe_dump(agreement, sort_keys=False, allow_unicode=True))
    load_agreement(gw, path, Principal("bench", "admin"))
    return {"max_batch_rows": limits["max_batch_rows"]}


def match_stage(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """match_batch, with the backend's own phases (normalise requests, read the register,
    predict, candidates) and the number of pairs it scored."""
    from ftigate.service import Principal
    from ftigate.service.matching import match_batch

    gw = _gateway(work)
    handler = pipeline.MatchFigures.attached()
    t0 = time.perf_counter()
    result = match_batch(gw, "BENCH", Principal("bench", "admin"))
    return {
        "work_seconds": round(time.perf_counter() - t0, 2),
        "phases": {k: round(v, 2) for k, v in result.seconds.items()},
        "linkage": handler.figures,
        "snapshot": result.snapshot_id,
        "outcomes": dict(result.outcomes),
        "estimated_false_disclosures": result.estimated_false_disclosures,
    }


# --------------------------------------------------------------------------- plain Splink


def _plain_db(work: Path) -> Path:
    return work / "plain" / "plain.duckdb"


def plain_load(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Register with its last known address, and the batch, as raw text columns in DuckDB."""
    import duckdb

    reg, batch = work / "synth" / "register", work / "synth" / "batch"
    db = _plain_db(work)
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        con.execute(f"""
            CREATE TABLE register AS
            WITH latest AS (
              SELECT *, row_number() OVER (PARTITION BY tin ORDER BY valid_from DESC) AS rk
              FROM read_csv('{reg / "addresses.csv"}', all_varchar = true))
            SELECT t.tin AS unique_id, t.first_name, t.middle_name, t.last_name, t.dob,
                   a.street, a.city, a.state, a.zip
            FROM read_csv('{reg / "taxpayers.csv"}', all_varchar = true) t
            LEFT JOIN latest a ON a.tin = t.tin AND a.rk = 1""")
        # request_id may repeat in a batch; the file line is the unique id.
        con.execute(f"""
            CREATE TABLE requests AS
            SELECT 'q' || CAST(row_number() OVER () AS VARCHAR) AS unique_id, request_id,
                   first_name, middle_name, last_name, dob, street, city, state, zip
            FROM read_csv('{batch / "requests.csv"}', all_varchar = true)""")
        n = con.execute("SELECT (SELECT count(*) FROM register), count(*) FROM requests")
        taxpayers, requests = n.fetchone() or (0, 0)
    return {
        "work_seconds": round(time.perf_counter() - t0, 2),
        "taxpayers": taxpayers,
        "requests": requests,
    }


def plain_settings() -> Any:
    """What the tutorial suggests: library comparisons on raw columns, a few block_on rules."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.JaroWinklerAtThresholds("street"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in PLAIN_BLOCKING],
        retain_intermediate_calculation_columns=False,
    )


def _plain_linker(con: Any, settings: Any) -> Any:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    return Linker(
        [
            db_api.register("register", dataset_display_name="register"),
            db_api.register("requests", dataset_display_name="requests"),
        ],
        settings,
    )


def plain_train(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import duckdb
    from splink import block_on

    t0 = time.perf_counter()
    with duckdb.connect(str(_plain_db(work))) as con:
        linker = _plain_linker(con, plain_settings())
        linker.training.estimate_probability_two_random_records_match(
            [block_on("first_name", "last_name", "dob")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("first_name", "last_name")
        )
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
        linker.misc.save_model_to_json(str(work / "plain" / "model.json"), overwrite=True)
    return {"work_seconds": round(time.perf_counter() - t0, 2)}


def plain_pairs(con: Any) -> int:
    """Pairs the plain blocking rules make (the union of their equi-joins), for the report.

    Counted outside the timed match: ``predict`` keeps only pairs above the threshold.
    """
    rules = [" AND ".join(f"q.{c} = r.{c}" for c in cols) for cols in PLAIN_BLOCKING]
    union = " UNION ".join(
        f"SELECT q.unique_id AS q, r.unique_id AS r FROM requests q JOIN register r ON {rule}"
        for rule in rules
    )
    row = con.execute(f"SELECT count(*) FROM ({union})").fetchone()
    return int(row[0]) if row else 0


def plain_match(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """predict above 0.99, then the best candidate per request is disclosed."""
    import duckdb

    t0 = time.perf_counter()
    with duckdb.connect(str(_plain_db(work))) as con:
        linker = _plain_linker(con, str(work / "plain" / "model.json"))
        preds = linker.inference.predict(threshold_match_probability=PLAIN_THRESHOLD)
        con.execute(f"""
            CREATE OR REPLACE TABLE plain_decisions AS
            WITH p AS (
              SELECT CASE WHEN source_dataset_l = 'requests' THEN unique_id_l
                          ELSE unique_id_r END AS q,
                     CASE WHEN source_dataset_l = 'requests' THEN unique_id_r
                          ELSE unique_id_l END AS tin,
                     match_probability
              FROM {preds.physical_name}),
            best AS (
              SELECT q, tin, match_probability FROM (
                SELECT *, row_number() OVER (
                  PARTITION BY q ORDER BY match_probability DESC, tin) AS rk FROM p)
              WHERE rk = 1)
            SELECT r.unique_id, r.request_id, b.tin, b.match_probability
            FROM requests r LEFT JOIN best b ON b.q = r.unique_id""")
        n = con.execute("SELECT count(tin) FROM plain_decisions").fetchone() or (0,)
        seconds = round(time.perf_counter() - t0, 2)
        pairs = plain_pairs(con)
    return {"work_seconds": seconds, "disclosed": n[0], "pairs": pairs}


def plain_evaluate(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import duckdb

    from ftigate.reports.evaluation import Scored, read_truth

    with duckdb.connect(str(_plain_db(work)), read_only=True) as con:
        rows = con.execute(
            "SELECT request_id, tin FROM plain_decisions "
            "ORDER BY CAST(substr(unique_id, 2) AS INTEGER)"
        ).fetchall()
    scored = [
        Scored(rid, "DISCLOSE" if tin else "NOT_DISCLOSED", (tin or "").replace("-", ""))
        for rid, tin in rows
    ]
    return {"evaluation": _score(scored, read_truth(work / "synth" / "truth.csv"))}


def _score(scored: list[Any], truth: Any) -> dict[str, Any]:
    from ftigate.reports.evaluation import evaluate, origin_recall_gap

    result = evaluate(scored, truth)
    result["origin_recall_gap_points"] = origin_recall_gap(result["by_origin"])
    result["decoys_disclosed_wrongly"] = sum(
        result["by_case"].get(c, {}).get("wrong_person", 0) for c in pipeline.DECOYS
    )
    return result


# --------------------------------------------------------------------------- report


def _by(stages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["stage"]: s for s in stages}


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """The time ratio and whether each target of the issue is met (no assertion: figures)."""
    ft, plain = report["ftigate"]["stages"], report["plain"]["stages"]
    f, p = _by(ft), _by(plain)
    ft_match = f["match"]["work_seconds"]
    plain_match_s = p["plain_match"]["work_seconds"]
    ev_f, ev_p = report["ftigate"]["evaluation"], report["plain"]["evaluation"]
    targets = {
        "match_time_ratio_le_1": ft_match / plain_match_s <= 1.0,
        "precision_ge_0.999": ev_f["precision"] >= 0.999,
        "recall_above_plain": ev_f["recall"] > ev_p["recall"],
        "peak_rss_le_8_gib": max(s["peak_rss_mib"] for s in ft) <= 8 * 1024,
        "match_le_10_min": f["match"]["seconds"] <= 600,
        "wrong_person_rate_le_0.1pct_every_origin": all(
            g["wrong_person_rate"] <= 0.001 for g in ev_f["by_origin"].values()
        ),
        "origin_recall_gap_le_5_points": ev_f["origin_recall_gap_points"] <= 5.0,
    }
    # Per batch: what a new batch costs once the register is ready. ftigate checks and stores
    # the batch (submit) and matches it with the snapshot's model; the plain linkage loads it
    # and must train again, because its lambda and EM estimates are learnt from the batch.
    ft_batch = f["submit"]["seconds"] + ft_match
    plain_batch = sum(p[n]["work_seconds"] for n in ("plain_load", "plain_train", "plain_match"))
    return {
        "match_seconds": {"ftigate": ft_match, "plain": plain_match_s},
        "match_time_ratio": round(ft_match / plain_match_s, 3),
        "per_batch_seconds": {"ftigate": round(ft_batch, 2), "plain": round(plain_batch, 2)},
        "per_batch_time_ratio": round(ft_batch / plain_batch, 3),
        "targets": targets,
    }


def _print_accuracy(title: str, ev: dict[str, Any]) -> None:
    keys = ("disclosed", "correct", "wrong_person", "forbidden_disclosed", "review")
    print(f"\n{title}: " + ", ".join(f"{k} {ev[k]}" for k in keys))
    print(
        f"  precision {ev['precision']:.5f}  recall {ev['recall']:.5f}  "
        f"origin recall gap {ev['origin_recall_gap_points']} points"
    )


def print_report(report: dict[str, Any]) -> None:
    ev_f, ev_p = report["ftigate"]["evaluation"], report["plain"]["evaluation"]
    print(f"\n{'stage':16} {'seconds':>9} {'work s':>8} {'peak RSS MiB':>13}")
    for side in ("ftigate", "plain"):
        for s in report[side]["stages"]:
            work_s = s.get("work_seconds", "")
            print(f"{s['stage']:16} {s['seconds']:>9.1f} {work_s!s:>8} {s['peak_rss_mib']:>13.0f}")
    _print_accuracy("ftigate", ev_f)
    _print_accuracy("plain Splink", ev_p)
    print(
        f"\n{'case':24} {'n':>7} | {'ftigate disc':>12} {'wrong':>6} {'recall':>7} | "
        f"{'plain disc':>10} {'wrong':>6} {'recall':>7}"
    )
    for case in sorted(ev_f["by_case"]):
        a, b = ev_f["by_case"][case], ev_p["by_case"].get(case, {})
        print(
            f"{case:24} {a['requests']:>7} | {a['disclosed']:>12} {a['wrong_person']:>6} "
            f"{a['recall']:>7.3f} | {b.get('disclosed', 0):>10} {b.get('wrong_person', 0):>6} "
            f"{b.get('recall', 0):>7.3f}"
        )
    print(
        f"\n{'origin':12} {'n':>7} | {'ftigate disc':>12} {'wrong':>6} {'wrong %':>8} "
        f"{'recall':>7} | {'plain disc':>10} {'wrong':>6} {'wrong %':>8} {'recall':>7}"
    )
    for origin in sorted(ev_f["by_origin"]):
        a, b = ev_f["by_origin"][origin], ev_p["by_origin"].get(origin, {})
        print(
            f"{origin:12} {a['requests']:>7} | {a['disclosed']:>12} {a['wrong_person']:>6} "
            f"{100 * a['wrong_person_rate']:>7.3f}% {a['recall']:>7.3f} | "
            f"{b.get('disclosed', 0):>10} {b.get('wrong_person', 0):>6} "
            f"{100 * b.get('wrong_person_rate', 0):>7.3f}% {b.get('recall', 0):>7.3f}"
        )
    s = report["summary"]
    print(
        f"\nmatch: ftigate {s['match_seconds']['ftigate']} s, plain {s['match_seconds']['plain']}"
        f" s, ratio ftigate/plain {s['match_time_ratio']}"
    )
    ft_match = _by(report["ftigate"]["stages"])["match"]
    linkage = ft_match.get("linkage") or {}
    if linkage:
        phases = {**linkage.get("seconds", {}), **ft_match.get("phases", {})}
        phases.pop("match", None)
        print(
            f"  ftigate: {linkage.get('pairs', 0):,} pairs; "
            + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
        )
    plain_pairs_n = _by(report["plain"]["stages"])["plain_match"].get("pairs")
    if plain_pairs_n is not None:
        print(f"  plain: {plain_pairs_n:,} pairs (predict keeps those above {PLAIN_THRESHOLD})")
    print(
        f"per batch (ftigate submit + match; plain load + train + predict): ftigate "
        f"{s['per_batch_seconds']['ftigate']} s, plain {s['per_batch_seconds']['plain']} s, "
        f"ratio {s['per_batch_time_ratio']}"
    )
    for name, ok in s["targets"].items():
        print(f"  {'met ' if ok else 'MISS'} {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default=None)
    ap.add_argument("--taxpayers", type=int, default=None)
    ap.add_argument("--requests", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--backend", choices=("duckdb", "spark"), default="duckdb")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="JSON report path")
    ap.add_argument("--stage", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    size_n, size_m = SIZES[args.size or "small"]
    args.taxpayers = args.taxpayers or size_n
    args.requests = args.requests or size_m
    label = (
        args.size
        if args.size and args.taxpayers == size_n and args.requests == size_m
        else (f"{args.taxpayers}_{args.requests}")
    )
    work = args.work or ROOT / "bench" / "data" / (
        f"compare-{args.taxpayers}-{args.requests}-{args.seed}"
    )
    if args.stage:
        print(json.dumps(run_stage(args.stage, work, args), default=str))
        return
    for stale in ("ftigate.db", "ftigate.db-wal", "ftigate.db-shm", "data", "plain"):
        target = work / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(
        f"compare {label}: {args.taxpayers} taxpayers, {args.requests} requests, "
        f"backend {args.backend}, load {load[0]:.2f}",
        flush=True,
    )
    t0 = time.perf_counter()
    ft = [run_child(n, work, args) for n in FTIGATE_STAGES]
    plain = [run_child(n, work, args) for n in PLAIN_STAGES]
    report = {
        "taxpayers": args.taxpayers,
        "requests": args.requests,
        "seed": args.seed,
        "backend": args.backend,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "total_seconds": round(time.perf_counter() - t0, 1),
        "ftigate": {"stages": ft, "evaluation": ft[-1].pop("evaluation")},
        "plain": {
            "stages": plain,
            "threshold": PLAIN_THRESHOLD,
            "evaluation": plain[-1].pop("evaluation"),
        },
    }
    report["summary"] = summarise(report)
    OUT.mkdir(parents=True, exist_ok=True)
    path = args.out or OUT / f"compare_{label}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_report(report)
    print(f"\nwrote {path}")
    print(f"batch report with the evaluation by case and origin: {ft[-1].get('batch_report')}")


if __name__ == "__main__":
    main()
