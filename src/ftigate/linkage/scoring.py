"""What both backends do around Splink: fix the model's numbers, pick candidates, read them.

The backends differ in how they run SQL, not in what they compute. This module holds the parts
that must not differ between DuckDB and Spark, so a decision does not depend on the engine:

* the training constants (the u sample, the in-register prior) and the post-processing of
  a trained model (:func:`regularise_u`, :func:`canonical_model`, :func:`save_model`);
* :func:`model_in_dialect`, which lets a model trained on one engine be used by the other;
* :func:`candidates_sql`, the one query that keeps the top candidates per request, re-evaluates
  their comparison levels and checks corroboration against the address history — written in
  the SQL that DuckDB and Spark share (the Spark backend registers ``jaro_winkler_similarity`` and
  ``damerau_levenshtein`` for it; corroboration is
  :func:`ftigate.linkage.settings.address_corroboration_sql`);
* :func:`candidates_from_rows`, which turns that query's rows into :class:`Candidate` values;
* :class:`MatchTimer`, the one log line a match writes with its phases and pair count.

Why the model is trained this way is explained in :mod:`ftigate.linkage.duckdb_backend`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlglot

from ftigate.errors import Conflict
from ftigate.linkage.settings import (
    LEVEL_GENDERED,
    PREPARED_COLUMNS,
    UNIQUE_ID,
    address_corroboration_sql,
    linkage_settings,
)
from ftigate.model import Candidate, Request

IN_REGISTER_PRIOR = 0.5
"""Prior share of requests whose person is in the register (sets lambda)."""
U_MAX_PAIRS = 2e6
U_SAMPLE_ROWS = 2000
"""Register rows u is estimated on: every pair of them, 1,999,000 (just under ``U_MAX_PAIRS``)."""
SEED = 6103
"""Splink's sampling seed. With :func:`u_sample_sql` Splink samples nothing (its input holds
fewer pairs than ``U_MAX_PAIRS``); the seed only keeps its call reproducible if that changes."""
TOP_K = 5
"""Candidates kept per request (the supplied TIN's owner is kept as well)."""

# Levels that mean "another person" whatever the score (labels from settings.py).
DOB_CONFLICT_LABELS = frozenset({"same year", "different"})
NAME_CONFLICT_LABELS = frozenset({"different", LEVEL_GENDERED})


def u_sample_sql(table: str) -> str:
    """The register rows u is estimated on: the :data:`U_SAMPLE_ROWS` with the smallest MD5 of
    their TIN, in SQL that DuckDB and Spark read alike.

    Splink samples by a hash of its own engine (DuckDB's ``hash`` is not Spark's), so a model
    trained on one engine would differ from the same snapshot's model trained on the other.
    Choosing the rows by MD5 — the same hex string on every engine — before Splink sees them
    leaves it nothing to sample (every pair of so few rows fits in ``U_MAX_PAIRS``), so either
    engine estimates u on the same pairs and writes the same numbers. MD5 here is a
    uniform, reproducible shuffle, not a security measure.

    >>> u_sample_sql("reg")
    'SELECT * FROM reg ORDER BY md5(unique_id), unique_id LIMIT 2000'
    """
    return f"SELECT * FROM {table} ORDER BY md5({UNIQUE_ID}), {UNIQUE_ID} LIMIT {U_SAMPLE_ROWS}"


def regularise_u(model: dict[str, Any], pairs_sampled: float) -> dict[str, Any]:
    """Fill u for levels never seen in the sample, and keep each comparison's weights monotone.

    A level that no sampled pair of different people reached has u below about 3/n (the "rule
    of three": the 95% upper bound after n trials with no event); we use that bound, which
    gives the level *less* weight than a smaller guess would. Then, walking each comparison
    from its most to its least specific level, a level may not weigh more than the one above
    it ("one surname only" is rarer by chance than "exact" in a register with few compound
    surnames, but it is not better evidence); its u is raised until it weighs the same.

    >>> m = {"comparisons": [{"comparison_levels": [
    ...     {"is_null_level": True},
    ...     {"m_probability": 0.8, "u_probability": 0.01},
    ...     {"m_probability": 0.1, "u_probability": 0.0001},
    ...     {"m_probability": 0.1}]}]}
    >>> [lvl.get("u_probability") for lvl in regularise_u(m, 3e6)["comparisons"][0]
    ...  ["comparison_levels"]]
    [None, 0.01, 0.00125, 0.00125]
    """
    floor = 3.0 / pairs_sampled
    for comparison in model["comparisons"]:
        best_ratio = float("inf")
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m = float(level["m_probability"])
            u = level.get("u_probability")
            u = floor if u is None or u <= 0 else float(u)
            if m / u > best_ratio:
                u = m / best_ratio
            best_ratio = min(best_ratio, m / u)
            level["u_probability"] = u
    return model


def canonical_model(raw: dict[str, Any]) -> dict[str, Any]:
    """The saved model with link_only restored and floats rounded, for stable bytes."""

    def walk(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.10g}")
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    model: dict[str, Any] = walk(raw)
    model["link_type"] = "link_only"
    return model


def save_model(raw: dict[str, Any], model_path: Path) -> Path:
    """Regularise, canonicalise and write a trained model atomically; returns its path."""
    model = canonical_model(regularise_u(raw, U_MAX_PAIRS))
    tmp = model_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(model, sort_keys=True, indent=2) + "\n")
    tmp.replace(model_path)
    return model_path


def _rendered(probability_two_random_records_match: float, dialect: str) -> dict[str, Any]:
    settings = linkage_settings(probability_two_random_records_match).get_settings(dialect)
    rendered: dict[str, Any] = settings.as_dict()  # type: ignore[no-untyped-call]
    return rendered


def model_in_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The same trained model with its SQL rendered for ``dialect`` ("duckdb" or "spark").

    A saved Splink model carries SQL in the dialect it was trained in. Its *numbers* (m, u,
    lambda) are what training produced; its SQL comes from :func:`linkage_settings`. So the
    settings are rendered in the model's dialect and must equal the model's SQL level by level
    (otherwise the model belongs to another version of the settings: ``Conflict``), then
    rendered in ``dialect`` and given the model's numbers. A model already in ``dialect`` is
    returned unchanged, so each engine reads its own models exactly as saved.
    """
    source = model.get("sql_dialect")
    if source == dialect:
        return model
    lam = float(model["probability_two_random_records_match"])
    ours = _rendered(lam, str(source))
    target = _rendered(lam, dialect)
    problems = []
    if len(ours["comparisons"]) != len(model["comparisons"]):
        problems.append("the number of comparisons")
    for mine, saved in zip(ours["comparisons"], model["comparisons"], strict=False):
        name = saved.get("output_column_name", "?")
        levels = [lvl.get("sql_condition") for lvl in saved["comparison_levels"]]
        if [lvl.get("sql_condition") for lvl in mine["comparison_levels"]] != levels:
            problems.append(f"comparison {name}")
    rules = [r.get("blocking_rule") for r in model["blocking_rules_to_generate_predictions"]]
    if [r.get("blocking_rule") for r in ours["blocking_rules_to_generate_predictions"]] != rules:
        problems.append("the blocking rules")
    if problems:
        raise Conflict(
            f"the snapshot's model was trained with other linkage settings ({', '.join(problems)} "
            "differ); retrain the snapshot with this version"
        )
    out: dict[str, Any] = json.loads(json.dumps(model))
    out["sql_dialect"] = dialect
    out["blocking_rules_to_generate_predictions"] = target["blocking_rules_to_generate_predictions"]
    for comparison, rendered in zip(out["comparisons"], target["comparisons"], strict=True):
        for level, new in zip(
            comparison["comparison_levels"], rendered["comparison_levels"], strict=True
        ):
            level["sql_condition"] = new["sql_condition"]
    return out


def level_labels(linker: Any) -> dict[str, tuple[str, dict[int, str]]]:
    """Per comparison of a Splink linker: its gamma CASE expression (in the linker's dialect)
    and gamma value -> level label."""
    out: dict[str, tuple[str, dict[int, str]]] = {}
    for comparison in linker._settings_obj.comparisons:
        labels = {
            level.comparison_vector_value: level.label_for_charts
            for level in comparison.comparison_levels
        }
        out[comparison.output_column_name] = (comparison._case_statement, labels)
    return out


_CANDIDATES_SQL = """
WITH ranked AS (
  SELECT p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight,
    row_number() OVER (
      PARTITION BY p.unique_id_l
      ORDER BY p.match_probability DESC, p.match_weight DESC, p.unique_id_r) AS rk
  FROM {preds} p
),
kept AS (
  SELECT r.*, q.tin_key AS supplied_tin
  FROM ranked r JOIN {req} q ON q.unique_id = r.unique_id_l
  WHERE r.rk <= {top_k} OR r.unique_id_r = q.tin_key
),
pairs AS (
  SELECT k.*, {pair_columns}
  FROM kept k
  JOIN {req} l ON l.unique_id = k.unique_id_l
  JOIN {reg} r ON r.unique_id = k.unique_id_r
),
corroborated AS (
  SELECT DISTINCT k.unique_id_l, k.unique_id_r
  FROM kept k
  JOIN {req} q ON q.unique_id = k.unique_id_l
  JOIN {hist} a ON a.tin = k.unique_id_r
  WHERE {corroboration}
)
SELECT p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight, p.supplied_tin,
       c.unique_id_r IS NOT NULL AS corroborated, {gammas}
FROM pairs p
LEFT JOIN corroborated c ON c.unique_id_l = p.unique_id_l AND c.unique_id_r = p.unique_id_r
ORDER BY p.unique_id_l, p.rk
"""


def candidates_sql(
    preds: str,
    labels: Mapping[str, tuple[str, dict[int, str]]],
    *,
    req: str = "req",
    reg: str = "reg",
    hist: str = "hist_addr",
    top_k: int = TOP_K,
    dialect: str = "duckdb",
) -> str:
    """Top candidates per request, with the comparison levels re-evaluated on just those pairs
    (Splink 5 keeps per-comparison weights, not levels, in its predictions) and corroboration
    against every address in each candidate's history.

    ``preds`` is Splink's prediction table; ``req``, ``reg`` and ``hist`` name the prepared
    requests, the prepared register and its address history. Rows come out as
    ``unique_id_l, unique_id_r, match_probability, match_weight, supplied_tin, corroborated``
    followed by one gamma per comparison, in ``labels`` order. The query is plain SQL that
    DuckDB and Spark both read, except the corroboration predicate, which is written in DuckDB's
    dialect and translated by sqlglot for another ``dialect``.
    """
    pair_columns = ", ".join(
        f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PREPARED_COLUMNS if c != UNIQUE_ID
    )
    gammas = ", ".join(case for case, _ in labels.values())
    corroboration = address_corroboration_sql("q", "a")
    if dialect != "duckdb":
        corroboration = sqlglot.transpile(corroboration, read="duckdb", write=dialect)[0]
    return _CANDIDATES_SQL.format(
        preds=preds,
        req=req,
        reg=reg,
        hist=hist,
        top_k=top_k,
        pair_columns=pair_columns,
        gammas=gammas,
        corroboration=corroboration,
    )


def candidates_from_rows(
    rows: Iterable[Sequence[Any]],
    labels: Mapping[str, tuple[str, dict[int, str]]],
    requests: Sequence[Request],
) -> dict[int, list[Candidate]]:
    """The rows of :func:`candidates_sql` as candidates per ``Request.line``, in row order.

    A batch has hundreds of thousands of candidates but only a few hundred distinct
    combinations of comparison levels, so each combination's evidence (a read-only mapping)
    and the conflicts it implies are built once and shared by every candidate that has it.
    """
    result: dict[int, list[Candidate]] = {r.line: [] for r in requests}
    by_uid = {f"r{r.line}": result[r.line] for r in requests}
    comparisons = list(labels)
    n_fixed = 6
    seen: dict[tuple[Any, ...], tuple[Mapping[str, str], bool, bool, bool]] = {}
    for row in rows:
        uid_l, tin, prob, weight, supplied, corroborated = row[:n_fixed]
        gammas = tuple(row[n_fixed:])
        known = seen.get(gammas)
        if known is None:
            evidence = {
                c: labels[c][1].get(int(g), str(g))
                for c, g in zip(comparisons, gammas, strict=True)
            }
            known = seen[gammas] = (
                MappingProxyType(evidence),
                evidence.get("dob") in DOB_CONFLICT_LABELS,
                evidence.get("first_name") in NAME_CONFLICT_LABELS,
                evidence.get("suffix") == "different",
            )
        evidence_view, dob_conflict, name_conflict, suffix_conflict = known
        by_uid[uid_l].append(
            Candidate(
                tin=tin,
                probability=float(prob),
                match_weight=float(weight),
                dob_conflict=dob_conflict,
                address_corroborated=bool(corroborated),
                supplied_tin_matches=None if supplied is None else supplied == tin,
                evidence=evidence_view,
                name_conflict=name_conflict,
                suffix_conflict=suffix_conflict,
            )
        )
    return result


class MatchTimer:
    """Wall-clock seconds of a match's phases, logged as one line when the match is done.

    The line carries the figures as ``record.match`` too (``requests``, ``pairs`` scored,
    ``seconds`` by phase and ``total``), so a benchmark can read them without parsing text.

    >>> t = MatchTimer("duckdb", requests=3)
    >>> t.lap("requests"); sorted(t.seconds)
    ['requests']
    """

    def __init__(self, engine: str, requests: int) -> None:
        self.engine = engine
        self.requests = requests
        self.seconds: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Close ``phase``: the time since the previous lap (or the start)."""
        now = time.perf_counter()
        self.seconds[phase] = round(now - self._last, 3)
        self._last = now

    def log(self, log: logging.Logger, pairs: int) -> None:
        total = round(time.perf_counter() - self._start, 3)
        figures = {
            "requests": self.requests,
            "pairs": pairs,
            "seconds": dict(self.seconds),
            "total": total,
        }
        log.info(
            "matched %d requests on %s: %d pairs scored, %.1f s (%s)",
            self.requests,
            self.engine,
            pairs,
            total,
            ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()),
            extra={"match": figures},
        )
