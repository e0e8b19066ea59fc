"""The blocking rules lose no pair the decision could use.

Two references: the dob comparison itself (every pair of dobs it does not call a conflict is
paired by the dob-tolerant rules), and the rules as they were before they were split by the
dob (every pair they made is still made, unless decide would set it aside for its dob).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pytest
from splink import block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from ftigate.linkage import duckdb_backend
from ftigate.linkage.scoring import DOB_CONFLICT_LABELS, level_labels
from ftigate.linkage.settings import blocking_rules, dob_tolerant_rules, linkage_settings

from .conftest import World

KEYS = ("first_keys", "last_keys")


def _dob_pairs() -> list[tuple[str | None, str | None]]:
    """Dobs and the slips requesters make with them, and unrelated dobs and missing ones."""
    rng = random.Random(6103)
    pairs: list[tuple[str | None, str | None]] = [(None, "1980-03-04"), ("1980-03-04", None)]
    for _ in range(300):
        d = (date(1930, 1, 1) + timedelta(days=rng.randint(0, 30000))).isoformat()
        slips = {d}
        for i, ch in enumerate(d):
            if ch.isdigit():
                slips.add(d[:i] + str(rng.randint(0, 9)) + d[i + 1 :])
            if i + 1 < len(d) and "-" not in d[i : i + 2]:
                slips.add(d[:i] + d[i + 1] + d[i] + d[i + 2 :])
        slips.add(f"{d[:4]}-{d[8:10]}-{d[5:7]}")  # day and month transposed
        slips.add(f"{int(d[:4]) + rng.choice((-1, 1, -10))}{d[4:]}")  # the year off
        slips.add((date(1930, 1, 1) + timedelta(days=rng.randint(0, 30000))).isoformat())
        for other in slips:
            try:
                date.fromisoformat(other)
            except ValueError:
                continue  # parse_dob never yields an impossible date
            pairs.append((d, other))
    return pairs


def _dob_labels(con: duckdb.DuckDBPyConnection) -> list[str]:
    settings = linkage_settings(1e-6).get_settings("duckdb")
    dob = next(c for c in settings.comparisons if c.output_column_name == "dob")
    labels = {lvl.comparison_vector_value: lvl.label_for_charts for lvl in dob.comparison_levels}
    rows = con.execute(f"SELECT {dob._case_statement} FROM pairs ORDER BY i").fetchall()
    return [labels[g] for (g,) in rows]


def _paired(con: duckdb.DuckDBPyConnection, rules: list[BlockingRuleCreator]) -> list[bool]:
    """Whether any rule holds for each pair, its name keys equal (as once exploded)."""
    any_rule = " OR ".join(f"({r.get_blocking_rule('duckdb').blocking_rule_sql})" for r in rules)
    rows = con.execute(
        f"SELECT coalesce({any_rule}, false) FROM ("
        "  SELECT i, 'k' AS first_keys, 'k' AS last_keys, dob_l AS dob FROM pairs) l "
        "JOIN (SELECT i, 'k' AS first_keys, 'k' AS last_keys, dob_r AS dob FROM pairs) r "
        "USING (i) ORDER BY i"
    ).fetchall()
    return [bool(p) for (p,) in rows]


def test_dob_tolerant_rules_pair_every_dob_the_comparison_does_not_call_a_conflict() -> None:
    pairs = _dob_pairs()
    with duckdb.connect() as con:
        con.execute("CREATE TABLE pairs (i INTEGER, dob_l VARCHAR, dob_r VARCHAR)")
        con.executemany(
            "INSERT INTO pairs VALUES (?, ?, ?)", [(i, *p) for i, p in enumerate(pairs)]
        )
        labels = _dob_labels(con)
        paired = _paired(con, [r.creator for r in dob_tolerant_rules("x", "", KEYS)])
    lost = [(p, lbl) for p, lbl, ok in zip(pairs, labels, paired, strict=True) if not ok]
    assert all(lbl in DOB_CONFLICT_LABELS for _, lbl in lost), lost
    # ... and exactly: a missing dob, the same birth year or the same birthday.
    for (l_dob, r_dob), ok in zip(pairs, paired, strict=True):
        expected = (
            l_dob is None or r_dob is None or l_dob[:4] == r_dob[:4] or l_dob[5:] == r_dob[5:]
        )
        assert ok == expected, (l_dob, r_dob)
    assert {"one-character typo", "day and month transposed", "same year"} <= set(labels)
    assert sum(not ok for ok in paired) > 100


LEGACY = [
    block_on("tin_key"),
    block_on("name_keys", "dob", arrays_to_explode=["name_keys"]),
    block_on("first_keys", "last_keys", arrays_to_explode=["first_keys", "last_keys"]),
    block_on("name_keys", "zip_keys", arrays_to_explode=["name_keys", "zip_keys"]),
    block_on("zip_keys", "dob", arrays_to_explode=["zip_keys"]),
]
"""The rules before the name-only ones were split by the dob: the reference."""


def _pairs(world: World, rules: list[BlockingRuleCreator]) -> dict[tuple[str, str], str]:
    """Every pair the rules make for the world's requests, with its dob level."""
    fx, snap, model, settings = world
    out = snap / "linkage"
    with duckdb_backend.connect(settings) as con:
        con.register("req_arrow", duckdb_backend.requests_table(fx.requests))
        con.execute("CREATE TABLE req AS SELECT * FROM req_arrow")
        con.execute(
            f"CREATE TABLE reg AS SELECT * FROM read_parquet('{out / 'taxpayers.parquet'}')"
        )
        linker, _ = duckdb_backend._linker_on(
            con, out, [("req", "requests"), ("reg", "register")], str(model)
        )
        sdfs = list(linker._input_tables_dict.values())
        preds = linker.inference.predict_between(
            sdfs[0],
            sdfs[1],
            blocking_rules_to_generate_predictions=rules,  # type: ignore[arg-type]
            warning_mode="never",
        )
        case, labels = level_labels(linker)["dob"]
        rows = con.execute(
            f"SELECT unique_id_l, unique_id_r, {case} FROM ("
            f"  SELECT p.unique_id_l, p.unique_id_r, l.dob AS dob_l, r.dob AS dob_r"
            f"  FROM {preds.physical_name} p"
            "   JOIN req l ON l.unique_id = p.unique_id_l"
            "   JOIN reg r ON r.unique_id = p.unique_id_r)"
        ).fetchall()
    return {(a, b): labels[g] for a, b, g in rows}


@pytest.mark.slow
def test_the_rules_lose_only_pairs_decide_sets_aside_for_their_dob(world: World) -> None:
    before = _pairs(world, LEGACY)
    after = _pairs(world, [r.creator for r in blocking_rules()])
    assert set(after) <= set(before)
    lost = {pair: label for pair, label in before.items() if pair not in after}
    assert lost, "the reference must exercise the split"
    assert set(lost.values()) <= DOB_CONFLICT_LABELS, lost
    assert len(after) < len(before), (len(after), len(before))
