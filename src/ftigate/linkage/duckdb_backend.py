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

* **u** is estimated from the register itself, on every pair of a reproducible sample of its
  rows (:func:`ftigate.linkage.scoring.u_sample_sql`: the same rows on DuckDB and Spark, so
  either engine writes the same model), with Splink's ``estimate_u_using_random_sampling``.
  The register holds one row per
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
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker
from splink.internals.exceptions import SplinkException

from ftigate.config import Settings
from ftigate.errors import BackendError, FtigateError, NotFound
from ftigate.linkage.prepared import (
    LINKAGE_DIR,
    MODEL_FILE,
    PREPARED_ADDRESSES,
    PREPARED_TAXPAYERS,
    VALUE_MAPS,
    prepared_is_current,
    requests_table,
    write_prepared_meta,
)
from ftigate.linkage.scoring import (
    IN_REGISTER_PRIOR,
    SEED,
    U_MAX_PAIRS,
    MatchTimer,
    candidates_from_rows,
    candidates_sql,
    level_labels,
    model_in_dialect,
    save_model,
    u_sample_sql,
)
from ftigate.linkage.settings import PREPARED_COLUMNS, TF_COLUMNS, linkage_settings
from ftigate.model import Candidate, Request

log = logging.getLogger(__name__)

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
    if prepared_is_current(out):
        return
    out.mkdir(parents=True, exist_ok=True)
    with translate_errors("prepare_register"), connect(settings) as con:
        _run(con, f"CREATE VIEW src_taxpayers AS SELECT * FROM read_parquet({_q(taxpayers)})")
        _run(con, f"CREATE VIEW src_addresses AS SELECT * FROM read_parquet({_q(addrs)})")
        for name, (table, column, build) in VALUE_MAPS.items():
            con.register(name, build(_distinct(con, f"src_{table}", f"CAST({column} AS VARCHAR)")))
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
    write_prepared_meta(out, n_tp[0] if n_tp else 0, n_ad[0] if n_ad else 0)


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


def train(snapshot_dir: Path, settings: Settings) -> Path:
    """Estimate u on the register's u sample, keep the m priors, set lambda; save ``model.json``.

    The sample (:func:`~ftigate.linkage.scoring.u_sample_sql`) is small enough that Splink
    compares every pair of it and samples nothing itself: the Spark backend trains the same
    model from the same rows.
    """
    out = snapshot_dir / LINKAGE_DIR
    prepared = out / PREPARED_TAXPAYERS
    if not prepared.exists():
        raise NotFound(
            "the snapshot has no prepared linkage tables: prepare_register first",
            file=str(prepared),
        )
    model_path = out / MODEL_FILE
    with translate_errors("train"), connect(settings) as con:
        _run(con, f"CREATE VIEW reg_all AS SELECT * FROM read_parquet({_q(prepared)})")
        _run(con, f"CREATE TABLE reg AS {u_sample_sql('reg_all')}")
        row = con.execute("SELECT count(*) FROM reg_all").fetchall()[0]
        n = max(int(row[0]) if row else 0, 2)
        creator = replace(linkage_settings(IN_REGISTER_PRIOR / n), link_type="dedupe_only")
        linker, _ = _linker_on(con, out, [("reg", "register")], creator)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=U_MAX_PAIRS, seed=SEED, min_count_per_level=None, num_chunks=1
        )
        raw = linker.misc.save_model_to_json(None)
    return save_model(raw, model_path)


# --------------------------------------------------------------------------- match


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
    if not requests:
        return {}
    model = model_in_dialect(json.loads(model_path.read_text()), "duckdb")
    timer = MatchTimer("duckdb", len(requests))
    with translate_errors("match"), connect(settings) as con:
        con.register("req_arrow", requests_table(requests))
        _run(con, "CREATE TABLE req AS SELECT * FROM req_arrow")
        timer.lap("requests")
        _run(con, f"CREATE TABLE reg AS SELECT * FROM read_parquet({_q(prepared)})")
        _run(
            con,
            f"CREATE VIEW hist_addr AS SELECT * FROM read_parquet({_q(out / PREPARED_ADDRESSES)})",
        )
        linker, _ = _linker_on(con, out, [("req", "requests"), ("reg", "register")], model)
        timer.lap("register")
        sdfs = list(linker._input_tables_dict.values())
        preds = linker.inference.predict_between(sdfs[0], sdfs[1], warning_mode="never")
        timer.lap("predict")
        labels = level_labels(linker)
        rows = con.execute(candidates_sql(preds.physical_name, labels)).fetchall()
        timer.lap("candidates")
        counted = con.execute(f"SELECT count(*) FROM {preds.physical_name}").fetchall()
    timer.log(log, int(counted[0][0]) if counted else 0)
    return candidates_from_rows(rows, labels, requests)
