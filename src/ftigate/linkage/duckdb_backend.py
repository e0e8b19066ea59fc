"""The embedded linkage backend: DuckDB runs the Splink model over Parquet snapshots.

``prepare_register`` normalises the register once per snapshot, ``train`` estimates the model
once per snapshot, and ``match`` scores a batch of requests against it. All DuckDB options
(threads, memory limit, spill directory) are set in :func:`connect`, from
:class:`ftigate.config.Settings`, and nowhere else.

Scale
-----
Names and addresses are normalised in Python, but only once per *distinct* field value
(first names, surnames, street lines, cities), and the per-taxpayer work — joining the
normalised fields back, choosing the last known address, gathering the address history — is
DuckDB SQL. Two million taxpayers fit in two cores and a few GiB; DuckDB spills beyond
``duckdb_memory_limit``.

How the model is trained, and why
---------------------------------
A Fellegi–Sunter model needs, for each comparison level, *u* (how often it happens between two
different people) and *m* (how often it happens between two records of the same person), and
the prior that a pair matches (lambda).

* **u** is estimated from the register itself by random sampling of register × register pairs
  (Splink's ``estimate_u_using_random_sampling``, fixed seed). The register holds one row per
  taxpayer, so such pairs are non-matches by construction: this is the one thing the snapshot
  can tell us exactly, and it is what makes a common name ("Maria Garcia") weigh less than a
  rare one, together with the term-frequency tables.
* **m** cannot be learnt from the snapshot: it has no duplicates and no labels, and it
  describes how *the requester's* records differ from ours. The alternatives were worse:
  expectation maximisation over register pairs that share blocking keys would learn *family
  resemblance* — spouses, twins, father and son share surname and address — as "match", the
  exact error this gateway must not make; EM over a synthetic perturbation of the register only
  gives back the perturbation rates we chose; and EM on a batch would let each batch (and its
  author) reshape the model and break replay across batches. So m is a documented prior, set
  per level in :mod:`ftigate.linkage.settings` and kept fixed; it changes only with the
  software version, which every decision records.
* **lambda** follows from the register size: each request is about at most one taxpayer, so
  the chance that a given (request, taxpayer) pair matches is ``IN_REGISTER_PRIOR / N``. A
  bigger register demands more evidence for the same probability.

The model file is written with sorted keys and rounded numbers, so the same snapshot and
software give the same bytes (its SHA-256 is recorded with each decision).

Example:
    >>> from ftigate.config import Settings
    >>> s = Settings(duckdb_temp_dir="/tmp/ftigate-doctest")
    >>> with connect(s) as con:
    ...     con.execute("select current_setting('threads')").fetchall()[0][0]
    2
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker
from splink.internals.exceptions import SplinkException

from ftigate.config import Settings
from ftigate.errors import BackendError, FtigateError, NotFound
from ftigate.linkage import addresses, names
from ftigate.linkage.features import LIST_COLUMNS, request_row
from ftigate.linkage.settings import (
    LEVEL_GENDERED,
    PREPARED_COLUMNS,
    TF_COLUMNS,
    UNIQUE_ID,
    linkage_settings,
)
from ftigate.model import Candidate, Request

log = logging.getLogger(__name__)

PREPARE_VERSION = 5
"""Bump when prepared tables change meaning; a snapshot prepared by another version is redone."""
IN_REGISTER_PRIOR = 0.5
"""Prior share of requests whose person is in the register (sets lambda; see the docstring)."""
U_MAX_PAIRS = 2e6
SEED = 6103
TOP_K = 5
"""Candidates kept per request (the supplied TIN's owner is kept as well)."""

LINKAGE_DIR = "linkage"
PREPARED_TAXPAYERS = "taxpayers.parquet"
PREPARED_ADDRESSES = "addresses.parquet"
PREPARED_META = "prepared.json"
MODEL_FILE = "model.json"

# Levels that mean "another person" whatever the score (labels from settings.py).
_DOB_CONFLICT_LABELS = frozenset({"same year", "different"})
_NAME_CONFLICT_LABELS = frozenset({"different", LEVEL_GENDERED})

_DIGITS = re.compile(r"\d{4,}")


# --------------------------------------------------------------------------- the seam


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection configured from the settings (the only place we do so)."""
    temp = settings.duckdb_temp_path
    temp.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        ":memory:",
        config={
            "threads": settings.duckdb_threads,
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": str(temp),
            "preserve_insertion_order": False,
        },
    )


@contextlib.contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Turn DuckDB, Splink and Arrow failures into ``BackendError(operation=...)``.

    Engine messages can quote data, so runs of four or more digits (TINs, house numbers, ZIPs)
    are masked in the message we keep; the original stays chained as ``__cause__``.
    """
    try:
        yield
    except FtigateError:
        raise
    except (
        duckdb.Error,
        SplinkException,
        pa.ArrowException,
        ValueError,
        KeyError,
        TypeError,
        OSError,
    ) as e:
        detail = _DIGITS.sub("####", str(e).splitlines()[0] if str(e) else "")[:300]
        raise BackendError(
            f"linkage {operation} failed ({type(e).__name__}: {detail}); "
            "check the snapshot files and the duckdb_* settings, then retry",
            operation=operation,
        ) from e


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Execute a statement and consume its result (DuckDB refuses new work on a pending one)."""
    con.execute(sql).fetchall()


def _q(path: Path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


# --------------------------------------------------------------------------- prepare


def _given_map(values: list[str], *, middle: bool) -> pa.Table:
    parsed = [names.parse_given_field(v, middle=middle) for v in values]
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "tokens": pa.array([list(p.tokens) for p in parsed], pa.list_(pa.string())),
            "suffix": pa.array([p.suffix or None for p in parsed], pa.string()),
            "first_keys": pa.array([list(p.first_keys) for p in parsed], pa.list_(pa.string())),
            "all_keys": pa.array([list(p.all_keys) for p in parsed], pa.list_(pa.string())),
        }
    )


def _surname_map(values: list[str]) -> pa.Table:
    parsed = [names.parse_surname_field(v) for v in values]
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "parts": pa.array([list(p.parts) for p in parsed], pa.list_(pa.string())),
            "suffix": pa.array([p.suffix or None for p in parsed], pa.string()),
            "keys": pa.array([list(p.keys) for p in parsed], pa.list_(pa.string())),
            "compact": pa.array(
                [names.surname_compact(p.parts) or None for p in parsed], pa.string()
            ),
        }
    )


def _simple_map(values: list[str], fn: Any) -> pa.Table:
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "value": pa.array([fn(v) or None for v in values], pa.string()),
        }
    )


def _street_map(values: list[str]) -> pa.Table:
    """Distinct street lines -> (number, standardised street), by the same function as requests."""
    parsed = [addresses.parse_street_line(v) for v in values]
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "number": pa.array([p[0] or None for p in parsed], pa.string()),
            "street": pa.array([p[1] or None for p in parsed], pa.string()),
        }
    )


def _distinct(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


_PREPARE_SQL = """
CREATE TABLE addr AS
SELECT a.tin, ln.number AS addr_num, ln.street AS addr_street, z.value AS addr_zip,
       c.value AS addr_city, st.value AS addr_state, a.valid_from, a.source
FROM src_addresses a
LEFT JOIN street_lines ln ON ln.raw = a.street
LEFT JOIN zip_map z ON z.raw = CAST(a.zip AS VARCHAR)
LEFT JOIN city_map c ON c.raw = a.city
LEFT JOIN state_map st ON st.raw = a.state;

CREATE TABLE last_known AS
SELECT * EXCLUDE (rk) FROM (
  SELECT *, row_number() OVER (
    PARTITION BY tin
    ORDER BY valid_from DESC NULLS LAST, source, addr_zip, addr_street, addr_num) AS rk
  FROM addr) WHERE rk = 1;

CREATE TABLE hist AS
SELECT tin,
  list_sort(list_distinct(list(addr_num || '|' || addr_street)
    FILTER (WHERE addr_num IS NOT NULL AND addr_street IS NOT NULL))) AS addr_keys,
  list_sort(list_distinct(list(addr_zip) FILTER (WHERE addr_zip IS NOT NULL))) AS zip_keys
FROM addr GROUP BY tin;

CREATE TABLE prepared AS
WITH base AS (
  SELECT t.tin,
    g1.tokens AS g1_tokens, coalesce(g2.tokens, []) AS g2_tokens,
    coalesce(sn.parts, []) AS last_parts, sn.compact AS last_compact,
    coalesce(sx.value, sn.suffix, g1.suffix, g2.suffix) AS suffix,
    coalesce(g1.first_keys, []) AS first_keys,
    list_sort(list_distinct(list_concat(coalesce(g1.all_keys, []), coalesce(g2.all_keys, []))))
      AS given_keys,
    coalesce(sn.keys, []) AS last_keys,
    strftime(CAST(t.dob AS DATE), '%Y-%m-%d') AS dob
  FROM src_taxpayers t
  LEFT JOIN first_map g1 ON g1.raw = t.first_name
  LEFT JOIN middle_map g2 ON g2.raw = t.middle_name
  LEFT JOIN last_map sn ON sn.raw = t.last_name
  LEFT JOIN suffix_map sx ON sx.raw = t.suffix
)
SELECT b.tin AS unique_id,
  nullif(coalesce(b.g1_tokens[1], ''), '') AS first,
  nullif(array_to_string(list_concat(coalesce(b.g1_tokens[2:], []), b.g2_tokens), ' '), '')
    AS middle,
  nullif(array_to_string(b.last_parts, ' '), '') AS last,
  nullif(array_to_string(list_sort(b.last_parts), ' '), '') AS last_sorted,
  b.last_compact,
  nullif(array_to_string(list_concat(coalesce(b.g1_tokens, []), b.g2_tokens), ''), '')
    AS given_compact,
  b.suffix, b.first_keys, b.given_keys, b.last_keys, b.last_parts,
  list_sort(list_distinct(list_concat(b.first_keys, b.given_keys, b.last_keys))) AS name_keys,
  b.dob,
  lk.addr_num, lk.addr_street, lk.addr_zip, lk.addr_city, lk.addr_state,
  coalesce(h.addr_keys, []) AS addr_keys, coalesce(h.zip_keys, []) AS zip_keys,
  b.tin AS tin_key
FROM base b
LEFT JOIN last_known lk ON lk.tin = b.tin
LEFT JOIN hist h ON h.tin = b.tin;
"""


def _prepared_is_current(out: Path) -> bool:
    meta = out / PREPARED_META
    if not meta.exists() or not (out / PREPARED_TAXPAYERS).exists():
        return False
    try:
        return bool(json.loads(meta.read_text())["prepare_version"] == PREPARE_VERSION)
    except (ValueError, KeyError):
        return False


def prepare_register(snapshot_dir: Path, settings: Settings) -> None:
    """Write the prepared linkage tables of a snapshot under ``snapshot_dir/linkage/``.

    Skips the work when the snapshot was already prepared by this version (snapshots are
    immutable). Raises ``NotFound`` when the snapshot's Parquet files are missing.
    """
    taxpayers = snapshot_dir / "taxpayers.parquet"
    addrs = snapshot_dir / "addresses.parquet"
    for f in (taxpayers, addrs):
        if not f.exists():
            raise NotFound(f"register snapshot file {f.name} is missing", file=str(f))
    out = snapshot_dir / LINKAGE_DIR
    if _prepared_is_current(out):
        return
    out.mkdir(parents=True, exist_ok=True)
    with translate_errors("prepare_register"), connect(settings) as con:
        _run(con, f"CREATE VIEW src_taxpayers AS SELECT * FROM read_parquet({_q(taxpayers)})")
        _run(con, f"CREATE VIEW src_addresses AS SELECT * FROM read_parquet({_q(addrs)})")
        con.register(
            "first_map", _given_map(_distinct(con, "src_taxpayers", "first_name"), middle=False)
        )
        con.register(
            "middle_map", _given_map(_distinct(con, "src_taxpayers", "middle_name"), middle=True)
        )
        con.register("last_map", _surname_map(_distinct(con, "src_taxpayers", "last_name")))
        con.register(
            "suffix_map",
            _simple_map(_distinct(con, "src_taxpayers", "suffix"), names.parse_suffix_field),
        )
        con.register("street_lines", _street_map(_distinct(con, "src_addresses", "street")))
        con.register(
            "zip_map",
            _simple_map(
                _distinct(con, "src_addresses", "CAST(zip AS VARCHAR)"), addresses.normalize_zip
            ),
        )
        con.register(
            "city_map",
            _simple_map(_distinct(con, "src_addresses", "city"), addresses.normalize_city),
        )
        con.register(
            "state_map",
            _simple_map(_distinct(con, "src_addresses", "state"), addresses.normalize_state),
        )
        _run(con, _PREPARE_SQL)
        cols = ", ".join(PREPARED_COLUMNS)
        _run(
            con,
            f"COPY (SELECT {cols} FROM prepared ORDER BY unique_id) "
            f"TO {_q(out / PREPARED_TAXPAYERS)} (FORMAT parquet)",
        )
        _run(
            con,
            "COPY (SELECT tin, addr_num, addr_street, addr_zip, addr_city, addr_state, valid_from "
            "FROM addr ORDER BY tin, valid_from, addr_zip, addr_street, addr_num) "
            f"TO {_q(out / PREPARED_ADDRESSES)} (FORMAT parquet)",
        )
        for col in TF_COLUMNS:
            _run(
                con,
                f"COPY (SELECT {col}, count(*) / (SELECT count({col}) FROM prepared) AS tf_{col} "
                f"FROM prepared WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY {col}) "
                f"TO {_q(out / f'tf_{col}.parquet')} (FORMAT parquet)",
            )
        n_tp = con.execute("SELECT count(*) FROM prepared").fetchall()[0]
        n_ad = con.execute("SELECT count(*) FROM addr").fetchall()[0]
    meta = {
        "prepare_version": PREPARE_VERSION,
        "taxpayers": n_tp[0] if n_tp else 0,
        "addresses": n_ad[0] if n_ad else 0,
    }
    (out / PREPARED_META).write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n")


# --------------------------------------------------------------------------- train


def _linker_on(
    con: duckdb.DuckDBPyConnection, linkage_dir: Path, tables: list[tuple[str, str]], model: Any
) -> tuple[Linker, DuckDBAPI]:
    """A Splink linker over registered DuckDB tables, with the register's tf lookups."""
    db_api = DuckDBAPI(connection=con)
    sdfs = [db_api.register(physical, dataset_display_name=display) for physical, display in tables]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], model, log_level=logging.WARNING)
    for col in TF_COLUMNS:
        _run(
            con,
            f"CREATE OR REPLACE TABLE tf_{col}_lookup AS "
            f"SELECT * FROM read_parquet({_q(linkage_dir / f'tf_{col}.parquet')})",
        )
        tf_sdf = db_api.register(f"tf_{col}_lookup", dataset_display_name=f"tf_{col}_lookup")
        linker.table_management.register_term_frequency_lookup(tf_sdf, col)
    return linker, db_api


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


def _canonical_model(raw: dict[str, Any]) -> dict[str, Any]:
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


def train(snapshot_dir: Path, settings: Settings) -> Path:
    """Estimate u on the register (seeded), keep the m priors, set lambda; save ``model.json``."""
    out = snapshot_dir / LINKAGE_DIR
    prepared = out / PREPARED_TAXPAYERS
    if not prepared.exists():
        raise NotFound(
            "the snapshot has no prepared linkage tables: prepare_register first",
            file=str(prepared),
        )
    model_path = out / MODEL_FILE
    with translate_errors("train"), connect(settings) as con:
        _run(
            con,
            f"CREATE TABLE reg AS SELECT * FROM read_parquet({_q(prepared)}) ORDER BY unique_id",
        )
        row = con.execute("SELECT count(*) FROM reg").fetchall()[0]
        n = max(int(row[0]) if row else 0, 2)
        creator = replace(linkage_settings(IN_REGISTER_PRIOR / n), link_type="dedupe_only")
        linker, _ = _linker_on(con, out, [("reg", "register")], creator)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=U_MAX_PAIRS, seed=SEED, min_count_per_level=None, num_chunks=1
        )
        raw = linker.misc.save_model_to_json(None)
    model = _canonical_model(regularise_u(raw, U_MAX_PAIRS))
    tmp = model_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(model, sort_keys=True, indent=2) + "\n")
    tmp.replace(model_path)
    return model_path


# --------------------------------------------------------------------------- match


def _requests_table(requests: Sequence[Request]) -> pa.Table:
    rows = [request_row(r) for r in requests]
    return pa.table(
        {
            col: pa.array(
                [r[col] for r in rows],
                pa.list_(pa.string()) if col in LIST_COLUMNS else pa.string(),
            )
            for col in PREPARED_COLUMNS
        }
    )


def _level_labels(linker: Linker) -> dict[str, tuple[str, dict[int, str]]]:
    """Per comparison: its gamma CASE expression and gamma value -> level label."""
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
  FROM ranked r JOIN req q ON q.unique_id = r.unique_id_l
  WHERE r.rk <= {top_k} OR r.unique_id_r = q.tin_key
),
pairs AS (
  SELECT k.*, {pair_columns}
  FROM kept k JOIN req l ON l.unique_id = k.unique_id_l JOIN reg r ON r.unique_id = k.unique_id_r
),
corroborated AS (
  SELECT DISTINCT k.unique_id_l, k.unique_id_r
  FROM kept k
  JOIN req q ON q.unique_id = k.unique_id_l
  JOIN hist_addr a ON a.tin = k.unique_id_r
  WHERE q.addr_num IS NOT NULL AND a.addr_num = q.addr_num
    AND (a.addr_street = q.addr_street
         OR jaro_winkler_similarity(a.addr_street, q.addr_street) >= 0.9)
    AND (a.addr_zip = q.addr_zip OR (a.addr_city = q.addr_city AND a.addr_state = q.addr_state))
)
SELECT p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight, p.supplied_tin,
       c.unique_id_r IS NOT NULL AS corroborated, {gammas}
FROM pairs p
LEFT JOIN corroborated c ON c.unique_id_l = p.unique_id_l AND c.unique_id_r = p.unique_id_r
ORDER BY p.unique_id_l, p.rk
"""
"""Top candidates per request, with the comparison levels re-evaluated on just those pairs
(Splink 5 keeps per-comparison weights, not levels, in its predictions) and corroboration
against every address in each candidate's history."""


def match(
    snapshot_dir: Path,
    model_path: Path,
    requests: Sequence[Request],
    settings: Settings,
) -> dict[int, list[Candidate]]:
    """Score requests against a prepared snapshot; candidates per ``Request.line``, best first."""
    out = snapshot_dir / LINKAGE_DIR
    prepared = out / PREPARED_TAXPAYERS
    for f in (prepared, model_path):
        if not f.exists():
            raise NotFound(
                f"linkage file {f.name} is missing: prepare and train first", file=str(f)
            )
    result: dict[int, list[Candidate]] = {r.line: [] for r in requests}
    if not requests:
        return result
    by_uid = {f"r{r.line}": r for r in requests}
    model = json.loads(model_path.read_text())
    with translate_errors("match"), connect(settings) as con:
        con.register("req_arrow", _requests_table(requests))
        _run(con, "CREATE TABLE req AS SELECT * FROM req_arrow")
        _run(con, f"CREATE TABLE reg AS SELECT * FROM read_parquet({_q(prepared)})")
        _run(
            con,
            f"CREATE VIEW hist_addr AS SELECT * FROM read_parquet({_q(out / PREPARED_ADDRESSES)})",
        )
        linker, _ = _linker_on(con, out, [("req", "requests"), ("reg", "register")], model)
        sdfs = list(linker._input_tables_dict.values())
        preds = linker.inference.predict_between(sdfs[0], sdfs[1], warning_mode="never")
        labels = _level_labels(linker)
        pair_columns = ", ".join(
            f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PREPARED_COLUMNS if c != UNIQUE_ID
        )
        gammas = ", ".join(case for case, _ in labels.values())
        rows = con.execute(
            _CANDIDATES_SQL.format(
                preds=preds.physical_name, top_k=TOP_K, pair_columns=pair_columns, gammas=gammas
            )
        ).fetchall()
    comparisons = list(labels)
    for row in rows:
        uid_l, tin, prob, weight, supplied, corroborated = row[:6]
        evidence = {
            c: labels[c][1].get(int(g), str(g)) for c, g in zip(comparisons, row[6:], strict=True)
        }
        req = by_uid[uid_l]
        result[req.line].append(
            Candidate(
                tin=tin,
                probability=float(prob),
                match_weight=float(weight),
                dob_conflict=evidence.get("dob") in _DOB_CONFLICT_LABELS,
                address_corroborated=bool(corroborated),
                supplied_tin_matches=None if supplied is None else supplied == tin,
                evidence=MappingProxyType(evidence),
                name_conflict=evidence.get("first_name") in _NAME_CONFLICT_LABELS,
                suffix_conflict=evidence.get("suffix") == "different",
            )
        )
    return result
