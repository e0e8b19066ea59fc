"""Score decisions against ground truth (synthetic data and benchmarks only).

Ground truth is a CSV with ``request_id, tin, case, origin, expected`` (``expected`` is
DISCLOSE, REFUSE or NOT_DISCLOSED). Rows pair with decisions by request_id and occurrence, so a
duplicated request id pairs its first truth row with its first decision.

A *wrong-person disclosure* is a DISCLOSE whose person is not the truth's person (including any
disclosure for someone not in the register). An *unwarranted disclosure* names the right person
on a request that should not have been disclosed (an ambiguous twin or father/son request, a
contradictory TIN): right by luck, which is still an error. A *forbidden disclosure* is a
DISCLOSE where the truth says the request must be refused. A disclosure is *correct* only when
it names the truth's person and the truth says DISCLOSE. Precision is correct disclosures over
all disclosures; recall is correct disclosures over requests whose truth is DISCLOSE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Scored:
    request_id: str
    outcome: str  # DISCLOSE | NOT_DISCLOSED | REFUSED | REVIEW
    tin: str | None


def read_truth(path: Path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    truth["tin"] = truth["tin"].str.replace("-", "", regex=False)
    for col in ("origin", "case", "expected"):
        if col not in truth.columns:
            truth[col] = ""
    return truth


def _pair(decisions: Iterable[Scored], truth: pd.DataFrame) -> pd.DataFrame:
    dec = pd.DataFrame(
        [{"request_id": d.request_id, "outcome": d.outcome, "dtin": d.tin or ""} for d in decisions]
    )
    if dec.empty:
        dec = pd.DataFrame(columns=["request_id", "outcome", "dtin"])
    dec["occ"] = dec.groupby("request_id").cumcount()
    tr = truth.copy()
    tr["occ"] = tr.groupby("request_id").cumcount()
    return tr.merge(dec, on=["request_id", "occ"], how="left").fillna(
        {"outcome": "MISSING", "dtin": ""}
    )


def _rates(frame: pd.DataFrame) -> dict[str, Any]:
    disclosed = frame["outcome"] == "DISCLOSE"
    should = frame["expected"] == "DISCLOSE"
    right_person = disclosed & (frame["dtin"] == frame["tin"]) & (frame["tin"] != "")
    correct = right_person & should
    n_disc = int(disclosed.sum())
    return {
        "requests": len(frame),
        "disclosed": n_disc,
        "correct": int(correct.sum()),
        "wrong_person": int((disclosed & ~right_person).sum()),
        "unwarranted": int((right_person & ~should).sum()),
        "forbidden_disclosed": int((disclosed & (frame["expected"] == "REFUSE")).sum()),
        "review": int((frame["outcome"] == "REVIEW").sum()),
        "should_disclose": int(should.sum()),
        "precision": round(float(correct.sum()) / n_disc, 5) if n_disc else 1.0,
        "recall": round(float(correct.sum()) / float(should.sum()), 5) if should.any() else 1.0,
        "wrong_person_rate": round(float((disclosed & ~right_person).sum()) / n_disc, 5)
        if n_disc
        else 0.0,
    }


def evaluate(decisions: Iterable[Scored], truth: pd.DataFrame) -> dict[str, Any]:
    """Overall rates, then per case and per name origin (each a mapping group -> rates)."""
    paired = _pair(decisions, truth)
    overall = _rates(paired)
    refuse = paired["expected"] == "REFUSE"
    overall["refusals_expected"] = int(refuse.sum())
    overall["refusals_made"] = int((refuse & (paired["outcome"] == "REFUSED")).sum())
    by_case = {str(k): _rates(g) for k, g in paired.groupby("case")}
    by_origin = {str(k): _rates(g) for k, g in paired.groupby("origin") if k}
    return {**overall, "by_case": by_case, "by_origin": by_origin}


def origin_recall_gap(by_origin: Mapping[str, Mapping[str, Any]]) -> float:
    """Largest difference in recall between two name-origin groups, in points (0-100)."""
    recalls = [g["recall"] for g in by_origin.values() if g["should_disclose"]]
    return round(100 * (max(recalls) - min(recalls)), 2) if recalls else 0.0
