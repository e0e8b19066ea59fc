"""Blocking rules before and after, on a batch already submitted by a bench run.

For each rule set — ``current`` (:func:`ftigate.linkage.settings.blocking_rules`) and
``legacy`` (the five rules before the name-only ones were split by the dob) — it

1. counts the pairs each rule makes with ``splink.blocking_analysis`` (marginal: pairs no
   earlier rule made; ``--no-analysis`` skips it, it costs about as much as blocking itself);
2. matches the batch with the snapshot's trained model, its blocking rules replaced by the set
   (m and u do not depend on blocking), through ``duckdb_backend.match``, and reads the
   phases and the number of pairs scored from its log line;
3. decides every request with the sample agreement's policy and scores the decisions against
   ``truth.csv`` (refused rows stay refused), as ``bench/compare.py`` does.

Then it lists the requests whose outcome or internal reason differs between the sets.

It reads the work folder of ``bench/compare.py`` or ``bench/pipeline.py`` (``ftigate.db`` with
the batch ``BENCH``, ``data/snapshots/<id>/``, ``synth/truth.csv``); run one of them first.
Each rule set runs in its own process, so its timings and peak RSS are its own. Writes
``bench/out/blocking_<work folder>.json``.

Run::

    .venv/bin/python bench/blocking.py --work bench/data/compare-2000000-200000-7
    .venv/bin/python bench/blocking.py --work bench/data/pipeline-200000-20000-7 --every 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from pipeline import MatchFigures  # bench/pipeline.py, beside this script

OUT = Path(__file__).parent / "out"
RULE_SETS = ("legacy", "current")


def rule_set(name: str) -> list[Any]:
    """The named rule set as ``(name, keeps, creator)`` BlockingRules."""
    from splink import block_on

    from ftigate.linkage.settings import BlockingRule, blocking_rules

    if name == "current":
        return list(blocking_rules())
    return [
        BlockingRule("supplied_tin", "", block_on("tin_key")),
        BlockingRule(
            "name_key_dob", "", block_on("name_keys", "dob", arrays_to_explode=["name_keys"])
        ),
        BlockingRule(
            "first_last_keys",
            "",
            block_on("first_keys", "last_keys", arrays_to_explode=["first_keys", "last_keys"]),
        ),
        BlockingRule(
            "name_key_zip",
            "",
            block_on("name_keys", "zip_keys", arrays_to_explode=["name_keys", "zip_keys"]),
        ),
        BlockingRule("zip_dob", "", block_on("zip_keys", "dob", arrays_to_explode=["zip_keys"])),
    ]


def _batch(work: Path) -> tuple[list[Any], list[Any], Path]:
    """Rows of the batch (request, findings), in line order, and the snapshot folder."""
    from ftigate.config import Settings
    from ftigate.service import Gateway
    from ftigate.store import repo

    gw = Gateway(
        Settings.from_env(
            database_url=f"sqlite:///{work / 'ftigate.db'}", data_dir=str(work / "data")
        )
    )
    with gw.reading() as conn:
        rows = repo.load_requests(conn, "BENCH")
        snapshot = repo.get_snapshot(conn)
    gw.db.dispose()
    return [r for r, _ in rows], [f for _, f in rows], Path(snapshot.path)


def _analysis(snap: Path, requests: list[Any], rules: list[Any]) -> list[dict[str, Any]]:
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from ftigate.config import Settings
    from ftigate.linkage import duckdb_backend
    from ftigate.linkage.prepared import requests_table

    with duckdb_backend.connect(Settings(data_dir=str(snap.parent))) as con:
        con.register("req_arrow", requests_table(requests))
        # Splink's analysis puts the dataset whose name sorts first on the left; matching puts
        # the requests there, and the rules' "_l" and "_r" mean the same here.
        con.execute("CREATE TABLE req AS SELECT *, '1-requests' AS source_dataset FROM req_arrow")
        prepared = snap / "linkage" / "taxpayers.parquet"
        con.execute(
            "CREATE TABLE reg AS SELECT *, '2-register' AS source_dataset "
            f"FROM read_parquet('{prepared}')"
        )
        db_api = DuckDBAPI(connection=con)
        records = count_comparisons_from_blocking_rules(
            [db_api.register("req"), db_api.register("reg")],
            blocking_rules=[r.creator for r in rules],
            link_type="link_only",
            source_dataset_column_name="source_dataset",
            record_sample_proportion=1.0,
        )
    return [
        {
            "rule": rule.name,
            "marginal_pairs": rec["marginal_comparison_count"],
            "cumulative_pairs": rec["cumulative_comparison_count"],
        }
        for rule, rec in zip(rules, records, strict=True)
    ]


def run_set(work: Path, name: str, every: int, analysis: bool) -> dict[str, Any]:
    """One rule set, in this process: blocking analysis, match, decisions, evaluation."""
    from ftigate.config import Settings
    from ftigate.linkage import duckdb_backend
    from ftigate.linkage.decide import decide_request
    from ftigate.linkage.settings import linkage_settings
    from ftigate.model import MatchPolicy
    from ftigate.reports.evaluation import Scored, evaluate, read_truth

    requests, findings, snap = _batch(work)
    requests, findings = requests[::every], findings[::every]
    to_match = [r for r, f in zip(requests, findings, strict=True) if not f]
    rules = rule_set(name)
    out: dict[str, Any] = {"rule_set": name, "requests": len(requests), "matched": len(to_match)}
    if analysis:
        t0 = time.perf_counter()
        out["blocking_analysis"] = _analysis(snap, to_match, rules)
        out["blocking_analysis_seconds"] = round(time.perf_counter() - t0, 1)

    model = json.loads((snap / "linkage" / "model.json").read_text())
    lam = float(model["probability_two_random_records_match"])
    rendered = linkage_settings(lam, rules).get_settings("duckdb").as_dict()  # type: ignore[no-untyped-call]
    model["blocking_rules_to_generate_predictions"] = rendered[
        "blocking_rules_to_generate_predictions"
    ]
    handler = MatchFigures.attached()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "model.json"
        model_path.write_text(json.dumps(model))
        settings = Settings.from_env(data_dir=str(work / "data"))
        t0 = time.perf_counter()
        candidates = duckdb_backend.match(snap, model_path, to_match, settings)
        out["match_seconds"] = round(time.perf_counter() - t0, 2)
    out["match"] = handler.figures
    policy = MatchPolicy()
    decisions: dict[str, list[Any]] = {}
    scored = []
    for r, f in zip(requests, findings, strict=True):
        if f:
            scored.append(Scored(r.request_id, "REFUSED", None))
            continue
        d = decide_request(r, candidates[r.line], policy)
        decisions[str(r.line)] = [str(d.outcome), str(d.reason) if d.reason else None, d.tin]
        scored.append(Scored(r.request_id, str(d.outcome), d.tin))
    truth = read_truth(work / "synth" / "truth.csv")
    if every > 1:  # score the sample only (synth's truth names each request's line)
        truth = truth[truth["line"].astype(int).isin({r.line for r in requests})]
    ev = evaluate(scored, truth)
    keep = ("disclosed", "correct", "wrong_person", "forbidden_disclosed", "review")
    out["evaluation"] = {k: ev[k] for k in (*keep, "precision", "recall")}
    out["decisions"] = decisions
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Outcome changes (and the disclosed TIN) and internal reason changes, from a to b."""
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    examples: list[str] = []
    for line, (oa, ra, ta) in a["decisions"].items():
        ob, rb, tb = b["decisions"][line]
        if oa != ob or (oa == "DISCLOSE" and ta != tb):
            outcomes[f"{oa} -> {ob}"] += 1
            examples.append(f"line {line}: {oa}/{ra} -> {ob}/{rb}")
        elif ra != rb:
            reasons[f"{ra} -> {rb}"] += 1
    return {"outcomes": dict(outcomes), "reasons": dict(reasons), "examples": examples[:20]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--every", type=int, default=1, help="every n-th request of the batch")
    ap.add_argument("--sets", nargs="+", choices=RULE_SETS, default=list(RULE_SETS))
    ap.add_argument("--no-analysis", action="store_true")
    ap.add_argument("--set", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.set:
        print(json.dumps(run_set(args.work, args.set, args.every, not args.no_analysis)))
        return
    load = os.getloadavg()
    results = {}
    for name in args.sets:
        cmd = [sys.executable, __file__, "--work", str(args.work), "--every", str(args.every)]
        cmd += ["--set", name] + (["--no-analysis"] if args.no_analysis else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-20000:])
            raise SystemExit(f"rule set {name} failed ({proc.returncode})")
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    report: dict[str, Any] = {
        "work": str(args.work),
        "every": args.every,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "sets": {
            k: {kk: vv for kk, vv in v.items() if kk != "decisions"} for k, v in results.items()
        },
    }
    if len(results) == 2:
        a, b = (results[n] for n in RULE_SETS)
        report["differences_legacy_to_current"] = differences(a, b)
    for name, r in report["sets"].items():
        print(f"\n{name}: {r['matched']} requests matched of {r['requests']}")
        for row in r.get("blocking_analysis", []):
            print(f"  {row['rule']:28} {row['marginal_pairs']:>12,} {row['cumulative_pairs']:>12,}")
        m = r["match"]
        phases = ", ".join(f"{k} {v}" for k, v in m.get("seconds", {}).items())
        print(f"  pairs scored {m.get('pairs', 0):,}; match {r['match_seconds']} s ({phases})")
        print("  " + ", ".join(f"{k} {v}" for k, v in r["evaluation"].items()))
        print(f"  peak RSS {r['peak_rss_mib']} MiB")
    if "differences_legacy_to_current" in report:
        diff = report["differences_legacy_to_current"]
        print(f"\nlegacy -> current: outcomes {diff['outcomes']}, reasons {diff['reasons']}")
        for line in diff["examples"]:
            print("  " + line)
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = f"_every{args.every}" if args.every > 1 else ""
    path = OUT / f"blocking_{args.work.name}{suffix}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path} (load {load[0]:.2f} at start)")


if __name__ == "__main__":
    main()
