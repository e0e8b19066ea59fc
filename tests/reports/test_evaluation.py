from __future__ import annotations

import pandas as pd

from ftigate.reports.evaluation import Scored, evaluate, origin_recall_gap

TRUTH = pd.DataFrame(
    [
        ("R1", "111111111", "exact", "hispanic", "DISCLOSE"),
        ("R2", "222222222", "twin", "anglo", "DISCLOSE"),
        ("R3", "333333333", "twin_ambiguous", "anglo", "NOT_DISCLOSED"),
        ("R4", "", "absent", "arabic", "NOT_DISCLOSED"),
        ("R5", "555555555", "pattern_2025", "hispanic", "REFUSE"),
        ("R5", "666666666", "duplicate_request", "hispanic", "REFUSE"),
    ],
    columns=["request_id", "tin", "case", "origin", "expected"],
)


def test_right_person_by_luck_is_not_correct_and_wrong_person_counts() -> None:
    decisions = [
        Scored("R1", "DISCLOSE", "111111111"),
        Scored("R2", "DISCLOSE", "999999999"),  # the other twin
        Scored("R3", "DISCLOSE", "333333333"),  # ambiguous request, right twin by luck
        Scored("R4", "NOT_DISCLOSED", None),
        Scored("R5", "REFUSED", None),
        Scored("R5", "DISCLOSE", "666666666"),  # a duplicate that should have been refused
    ]
    r = evaluate(decisions, TRUTH)
    assert (r["disclosed"], r["correct"], r["wrong_person"], r["unwarranted"]) == (4, 1, 1, 2)
    assert r["forbidden_disclosed"] == 1
    assert r["precision"] == 0.25 and r["recall"] == 0.5
    assert r["by_case"]["twin_ambiguous"]["unwarranted"] == 1
    assert r["by_origin"]["anglo"]["wrong_person"] == 1


def test_duplicates_pair_by_occurrence_and_gap_in_points() -> None:
    decisions = [Scored("R5", "REFUSED", None), Scored("R5", "REFUSED", None)]
    r = evaluate(decisions, TRUTH)
    assert r["refusals_made"] == 2 and r["by_case"]["exact"]["recall"] == 0.0
    gap = origin_recall_gap(
        {
            "a": {"recall": 0.97, "should_disclose": 5},
            "b": {"recall": 0.93, "should_disclose": 4},
            "c": {"recall": 0.0, "should_disclose": 0},
        }
    )
    assert gap == 4.0
