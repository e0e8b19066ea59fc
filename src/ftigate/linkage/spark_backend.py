"""The Spark linkage backend: the DuckDB backend's pipeline, run by Splink's ``SparkAPI``.

It exists for the day the register outgrows one machine. It computes the same things as
:mod:`ftigate.linkage.duckdb_backend` — the same prepared tables (from the same per-value maps
in :mod:`~ftigate.linkage.prepared`), the same Splink settings, the same candidates query and
the same conversion to candidates (:mod:`~ftigate.linkage.scoring`) — so a batch gets the same
decisions on either engine. A test checks that on a synthetic batch.

What differs, and why
---------------------
* **The session** is made once per process (:func:`session`) and reused by every call, because
  starting a JVM costs seconds. When ftigate starts Spark itself it sets the master
  (``spark_master``), the driver memory, the shuffle partitions and ``spark.jars`` (Splink's
  similarity UDFs ship as a jar in its wheel). Under ``spark-submit`` the JVM is already up and
  its ``--master``, ``--conf``, ``--driver-memory`` and ``--jars`` stand; the jar must be among
  the ``--jars`` (the driver loads its classes at start-up), or a ``BackendError`` says so.
* **Jaro-Winkler.** The settings' custom SQL is written in DuckDB's dialect; sqlglot renders
  DuckDB's ``jaro_winkler_similarity`` for Spark as ``JAROWINKLER_SIMILARITY``, and Splink's
  levels call ``jaro_winkler``. Splink's jar (and Spark's built-in) compute a different Jaro
  than DuckDB (up to 0.027 apart on surnames and streets), so the session registers DuckDB's
  textbook formula (``jellyfish``, a vectorised Python UDF) under both names, and Splink's
  ``SparkAPI`` is told not to register the jar again over it; the jar serves the rest
  (Damerau-Levenshtein, which agrees with DuckDB's).
* **Normalising the register** happens on the executors: distinct raw values go through
  ``mapInArrow`` into the same Python functions DuckDB's driver calls, so the work spreads
  over the cluster instead of pulling millions of street lines onto the driver.
* **Where the data lives.** Executors read a snapshot at ``spark_snapshot_root/<snapshot id>``
  (object storage such as ``s3a://``) when that setting is given, else in the local snapshot
  folder. The model (``model.json``, small, hashed into every decision) and ``prepared.json``
  always stay in the local snapshot folder on the driver, where the gateway records them.
  Locally written tables are single Parquet files, so DuckDB can read what Spark prepared.
* **The model** is trained the same way and from the same rows (documented m priors, u on
  the MD5-chosen register sample of :func:`~ftigate.linkage.scoring.u_sample_sql`), so both
  engines write the same numbers. A snapshot is trained once by whichever backend meets it
  first, and both backends match with that one model file.
* **One job at a time** per process: Splink's intermediate tables are temporary views in the
  shared session, so calls are serialised by a lock.

Errors of Spark, Py4J, Splink and Arrow become :class:`~ftigate.errors.BackendError` with the
operation attached and digits masked (engine messages can quote data).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import DoubleType
from splink import Linker
from splink.backends.spark import SparkAPI, similarity_jar_location
from splink.internals.exceptions import SplinkException
from splink.internals.spark.jar_location import get_scala_udfs

from ftigate.config import Settings, launched_by_spark_submit
from ftigate.errors import BackendError, FtigateError, NotFound
from ftigate.linkage.prepared import (
    HISTORY_COLUMNS,
    LINKAGE_DIR,
    MODEL_FILE,
    PREPARE_VERSION,
    PREPARED_ADDRESSES,
    PREPARED_META,
    PREPARED_TAXPAYERS,
    VALUE_MAPS,
    MapBuilder,
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

ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    PySparkException,
    Py4JError,
    SplinkException,
    pa.ArrowException,
    ValueError,
    KeyError,
    TypeError,
    OSError,
)
"""What Spark, Py4J, Splink and Arrow raise; all of it becomes ``BackendError``."""

JARO_WINKLER_NAMES = ("jaro_winkler", "jarowinkler_similarity")
"""Splink's Spark name for it, and sqlglot's rendering of DuckDB's ``jaro_winkler_similarity``.

Spark 4's own ``jaro_winkler_similarity`` is a built-in (it gives the jar's values) and cannot
be replaced by a session function; no SQL ftigate renders for Spark calls it (tested)."""


def jaro_winkler_values(left: Iterable[object], right: Iterable[object]) -> list[float | None]:
    """The textbook Jaro-Winkler similarity (prefix scale 0.1, up to four letters), as DuckDB's
    ``jaro_winkler_similarity`` computes it; None where either side is missing.

    Splink's jar computes Jaro differently ("E SECOND RD" / "N SECOND RD": 0.889 against
    0.906), which moves pairs across the 0.88-0.92 thresholds the settings use. ``jellyfish``
    agrees with DuckDB on every one of 540,000 register pairs tried, so Spark uses it.

    >>> jaro_winkler_values(["flowers", None], ["fowler", "x"])
    [0.9071428571428571, None]
    """
    import jellyfish

    return [
        jellyfish.jaro_winkler_similarity(a, b)
        if isinstance(a, str) and isinstance(b, str)
        else None
        for a, b in zip(left, right, strict=True)
    ]


_DIGITS = re.compile(r"\d{4,}")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/+")
_session_lock = threading.Lock()
_work_lock = threading.RLock()
_session: SparkSession | None = None


# --------------------------------------------------------------------------- the seam


@contextlib.contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Turn Spark, Py4J, Splink and Arrow failures into ``BackendError(operation=...)``."""
    try:
        yield
    except FtigateError:
        raise
    except ENGINE_ERRORS as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        detail = _DIGITS.sub("####", first)[:300]
        raise BackendError(
            f"linkage {operation} on Spark failed ({type(e).__name__}: {detail}); "
            "check the snapshot location, spark.jars and the spark_* settings, then retry",
            operation=operation,
        ) from e


def session(settings: Settings) -> SparkSession:
    """The process's SparkSession, created on first use and reused afterwards.

    Started by ftigate: master, driver memory, shuffle partitions and the similarity jar come
    from the settings. Under ``spark-submit``: spark-submit's configuration stands, and its
    ``--jars`` must name the similarity jar. Either way the jar's functions are registered.
    """
    global _session
    with _session_lock:
        if _session is not None and _session.sparkContext._jsc is not None:
            return _session
        with translate_errors("session"):
            builder = SparkSession.builder.appName("ftigate").config(
                "spark.sql.session.timeZone", "UTC"
            )
            submitted = launched_by_spark_submit()
            if not submitted:
                builder = (
                    builder.master(settings.spark_master)
                    .config("spark.jars", similarity_jar_location())
                    .config("spark.driver.memory", settings.spark_driver_memory)
                    .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
                    .config("spark.ui.showConsoleProgress", "false")
                )
            spark = builder.getOrCreate()
            if not submitted:
                # Python workers must import ftigate (mapInArrow): run them on this
                # interpreter. Under spark-submit, PYSPARK_PYTHON says which one.
                spark.sparkContext.pythonExec = sys.executable
            _register_functions(spark)
        _session = spark
        return spark


def _jaro_winkler_series(left: pd.Series, right: pd.Series) -> pd.Series:
    """:func:`jaro_winkler_values` over Arrow batches (nullable doubles: NULL stays NULL, never
    NaN, which Spark would rank above every threshold)."""
    return pd.Series(pd.array(jaro_winkler_values(left.tolist(), right.tolist()), dtype="Float64"))


def _register_functions(spark: SparkSession) -> None:
    """Splink's jar functions under Splink's names, then DuckDB's Jaro-Winkler over the jar's.

    Jaro-Winkler is a vectorised Python UDF (:func:`jaro_winkler_values`) registered under
    every name the rendered SQL uses, so both engines put every pair on the same level.
    """
    try:
        for name, java_class, returns in get_scala_udfs():  # type: ignore[no-untyped-call]
            spark.udf.registerJavaFunction(name, java_class, returns)
    except (PySparkException, Py4JError) as e:
        raise BackendError(
            "Splink's similarity jar is not on Spark's classpath; pass "
            f"--jars {similarity_jar_location()} to spark-submit (or set spark.jars)",
            operation="session",
        ) from e

    jaro_winkler: Any = pandas_udf(_jaro_winkler_series, DoubleType())  # type: ignore[call-overload]
    for name in JARO_WINKLER_NAMES:
        spark.udf.register(name, jaro_winkler)


def location(snapshot_dir: Path, settings: Settings) -> str:
    """Where executors read a snapshot: ``spark_snapshot_root/<id>``, else the local folder.

    >>> location(Path("/data/snapshots/snap-1"), Settings(spark_snapshot_root="s3a://b/snaps/"))
    's3a://b/snaps/snap-1'
    >>> location(Path("/data/snapshots/snap-1"), Settings())
    '/data/snapshots/snap-1'
    """
    root = settings.spark_snapshot_root.rstrip("/")
    if root:
        return f"{root}/{snapshot_dir.name}"
    return _SCHEME.sub(lambda m: f"{m.group(1)}://", str(snapshot_dir))


def _is_local(uri: str) -> bool:
    return uri.startswith("/") or uri.startswith("file:")


def _write_parquet(frame: DataFrame, uri: str) -> None:
    """Write a table; a local target becomes one Parquet file (DuckDB reads it as such)."""
    if not _is_local(uri):
        frame.write.mode("overwrite").parquet(uri)
        return
    target = Path(uri.removeprefix("file:"))
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    frame.coalesce(1).write.mode("overwrite").parquet(str(staging))
    parts = sorted(staging.glob("part-*.parquet"))
    if len(parts) != 1:
        raise OSError(f"expected one part file in {staging}, found {len(parts)}")
    if target.is_dir():
        shutil.rmtree(target)
    parts[0].replace(target)
    shutil.rmtree(staging)


def _views(spark: SparkSession, prefix: str, frames: dict[str, DataFrame]) -> dict[str, str]:
    """Register frames as temporary views with a per-call prefix; returns name -> view."""
    names = {}
    for name, frame in frames.items():
        view = f"{prefix}_{name}"
        frame.createOrReplaceTempView(view)
        names[name] = view
    return names


def _drop_views(spark: SparkSession, views: Sequence[str]) -> None:
    for view in views:
        spark.catalog.dropTempView(view)


# --------------------------------------------------------------------------- prepare


def _value_map(source: DataFrame, column: str, build: MapBuilder) -> DataFrame:
    """Distinct values of ``column`` mapped by ``build`` on the executors (``mapInArrow``)."""
    schema = from_arrow_schema(build([]).schema)

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from build(batch.column(0).to_pylist()).to_batches()

    raw = source.selectExpr(f"CAST({column} AS STRING) AS raw").where("raw IS NOT NULL")
    return raw.distinct().mapInArrow(apply, schema)


_PREPARE_SQL = (
    """
CREATE OR REPLACE TEMPORARY VIEW {p}_addr AS
SELECT a.tin, ln.number AS addr_num, ln.street AS addr_street, z.value AS addr_zip,
       c.value AS addr_city, st.value AS addr_state, a.valid_from, a.source
FROM {p}_src_addresses a
LEFT JOIN {p}_street_lines ln ON ln.raw = a.street
LEFT JOIN {p}_zip_map z ON z.raw = CAST(a.zip AS STRING)
LEFT JOIN {p}_city_map c ON c.raw = a.city
LEFT JOIN {p}_state_map st ON st.raw = a.state
""",
    """
CREATE OR REPLACE TEMPORARY VIEW {p}_prepared AS
WITH last_known AS (
  SELECT * FROM (
    SELECT *, row_number() OVER (
      PARTITION BY tin
      ORDER BY valid_from DESC NULLS LAST, source ASC NULLS LAST, addr_zip ASC NULLS LAST,
               addr_street ASC NULLS LAST, addr_num ASC NULLS LAST) AS rk
    FROM {p}_addr) WHERE rk = 1
),
hist AS (
  SELECT tin,
    array_sort(array_distinct(collect_list(
      CASE WHEN addr_num IS NOT NULL AND addr_street IS NOT NULL
           THEN addr_num || '|' || addr_street END))) AS addr_keys,
    array_sort(array_distinct(collect_list(addr_zip))) AS zip_keys
  FROM {p}_addr GROUP BY tin
),
base AS (
  SELECT t.tin,
    g1.tokens AS g1_tokens, coalesce(g2.tokens, CAST(array() AS ARRAY<STRING>)) AS g2_tokens,
    coalesce(sn.parts, CAST(array() AS ARRAY<STRING>)) AS last_parts, sn.compact AS last_compact,
    coalesce(sx.value, sn.suffix, g1.suffix, g2.suffix) AS suffix,
    coalesce(g1.first_keys, CAST(array() AS ARRAY<STRING>)) AS first_keys,
    array_sort(array_distinct(concat(coalesce(g1.all_keys, CAST(array() AS ARRAY<STRING>)),
                                     coalesce(g2.all_keys, CAST(array() AS ARRAY<STRING>)))))
      AS given_keys,
    coalesce(sn.keys, CAST(array() AS ARRAY<STRING>)) AS last_keys,
    date_format(CAST(t.dob AS DATE), 'yyyy-MM-dd') AS dob
  FROM {p}_src_taxpayers t
  LEFT JOIN {p}_first_map g1 ON g1.raw = t.first_name
  LEFT JOIN {p}_middle_map g2 ON g2.raw = t.middle_name
  LEFT JOIN {p}_last_map sn ON sn.raw = t.last_name
  LEFT JOIN {p}_suffix_map sx ON sx.raw = t.suffix
),
tokens AS (
  SELECT *,
    CASE WHEN size(g1_tokens) > 1 THEN slice(g1_tokens, 2, size(g1_tokens) - 1)
         ELSE CAST(array() AS ARRAY<STRING>) END AS g1_rest
  FROM base
)
SELECT b.tin AS unique_id,
  nullif(CASE WHEN size(b.g1_tokens) > 0 THEN b.g1_tokens[0] ELSE '' END, '') AS first,
  nullif(array_join(concat(b.g1_rest, b.g2_tokens), ' '), '') AS middle,
  nullif(array_join(b.last_parts, ' '), '') AS last,
  nullif(array_join(array_sort(b.last_parts), ' '), '') AS last_sorted,
  b.last_compact,
  nullif(array_join(concat(coalesce(b.g1_tokens, CAST(array() AS ARRAY<STRING>)), b.g2_tokens),
                    ''), '') AS given_compact,
  b.suffix, b.first_keys, b.given_keys, b.last_keys, b.last_parts,
  array_sort(array_distinct(concat(b.first_keys, b.given_keys, b.last_keys))) AS name_keys,
  b.dob,
  lk.addr_num, lk.addr_street, lk.addr_zip, lk.addr_city, lk.addr_state,
  coalesce(h.addr_keys, CAST(array() AS ARRAY<STRING>)) AS addr_keys,
  coalesce(h.zip_keys, CAST(array() AS ARRAY<STRING>)) AS zip_keys,
  b.tin AS tin_key
FROM tokens b
LEFT JOIN last_known lk ON lk.tin = b.tin
LEFT JOIN hist h ON h.tin = b.tin
""",
)
"""The DuckDB backend's prepare SQL in Spark's dialect. Spark sorts NULLs first by default and
indexes arrays from 0; the explicit NULLS LAST and the ``[0]`` keep it equal to DuckDB's."""


def _prepared_here(linkage: Path, where: str) -> bool:
    meta = linkage / PREPARED_META
    if not meta.exists():
        return False
    try:
        saved = json.loads(meta.read_text())
    except ValueError:
        return False
    if saved.get("prepare_version") != PREPARE_VERSION:
        return False
    # Tables prepared into the local folder (by either backend) carry no location.
    return bool(saved.get("location", "") == ("" if _is_local(where) else where))


def prepare_register(snapshot_dir: Path, settings: Settings) -> None:
    """Write the prepared linkage tables of a snapshot (idempotent per version and location).

    Raises ``NotFound`` when a local snapshot's Parquet files are missing; a remote snapshot's
    absence surfaces as a ``BackendError`` from Spark.
    """
    where = location(snapshot_dir, settings)
    linkage = snapshot_dir / LINKAGE_DIR
    if _is_local(where):
        for name in ("taxpayers.parquet", "addresses.parquet"):
            if not (snapshot_dir / name).exists():
                raise NotFound(
                    f"register snapshot file {name} is missing", file=str(snapshot_dir / name)
                )
    if _prepared_here(linkage, where):
        return
    linkage.mkdir(parents=True, exist_ok=True)
    out = f"{where}/{LINKAGE_DIR}"
    with _work_lock, translate_errors("prepare_register"):
        spark = session(settings)
        p = f"ftigate_{uuid.uuid4().hex[:8]}"
        sources = {
            "taxpayers": spark.read.parquet(f"{where}/taxpayers.parquet"),
            "addresses": spark.read.parquet(f"{where}/addresses.parquet"),
        }
        frames = {f"src_{k}": v for k, v in sources.items()}
        for name, (table, column, build) in VALUE_MAPS.items():
            frames[name] = _value_map(sources[table], column, build).cache()
        views = list(_views(spark, p, frames).values())
        try:
            for statement in _PREPARE_SQL:
                spark.sql(statement.format(p=p))
            views += [f"{p}_addr", f"{p}_prepared"]
            addr = spark.table(f"{p}_addr").cache()
            prepared = spark.table(f"{p}_prepared").cache()
            cols = ", ".join(PREPARED_COLUMNS)
            _write_parquet(
                spark.sql(f"SELECT {cols} FROM {p}_prepared ORDER BY unique_id"),
                f"{out}/{PREPARED_TAXPAYERS}",
            )
            _write_parquet(
                addr.selectExpr(*HISTORY_COLUMNS).orderBy(
                    "tin", "valid_from", "addr_zip", "addr_street", "addr_num"
                ),
                f"{out}/{PREPARED_ADDRESSES}",
            )
            for col in TF_COLUMNS:
                _write_parquet(
                    spark.sql(
                        f"SELECT {col}, count(*) / (SELECT count({col}) FROM {p}_prepared) "
                        f"AS tf_{col} FROM {p}_prepared WHERE {col} IS NOT NULL "
                        f"GROUP BY {col} ORDER BY {col}"
                    ),
                    f"{out}/tf_{col}.parquet",
                )
            n_taxpayers, n_addresses = prepared.count(), addr.count()
        finally:
            spark.catalog.clearCache()
            _drop_views(spark, views)
    extra = {} if _is_local(where) else {"location": where}
    write_prepared_meta(linkage, n_taxpayers, n_addresses, **extra)


# --------------------------------------------------------------------------- train and match


def _linker_on(
    spark: SparkSession, out: str, tables: list[tuple[str, str]], model: Any, p: str
) -> tuple[Linker, list[str]]:
    """A Splink linker over temporary views, with the register's tf lookups; and its views."""
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
    db_api = SparkAPI(  # type: ignore[no-untyped-call]
        spark_session=spark,
        break_lineage_method="persist",
        num_partitions_on_repartition=partitions,
        # the session registered the jar and DuckDB's Jaro-Winkler once (_register_functions);
        # Splink's own registration would put the jar's Jaro-Winkler back
        register_udfs_automatically=False,
    )
    sdfs = [db_api.register(view, dataset_display_name=display) for view, display in tables]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], model, log_level=logging.WARNING)
    views = []
    for col in TF_COLUMNS:
        view = f"{p}_tf_{col}"
        spark.read.parquet(f"{out}/tf_{col}.parquet").createOrReplaceTempView(view)
        views.append(view)
        tf_sdf = db_api.register(view, dataset_display_name=f"tf_{col}_lookup")
        linker.table_management.register_term_frequency_lookup(tf_sdf, col)
    return linker, views


def _require_prepared(snapshot_dir: Path, settings: Settings) -> str:
    where = location(snapshot_dir, settings)
    if not _prepared_here(snapshot_dir / LINKAGE_DIR, where):
        raise NotFound(
            "the snapshot has no prepared linkage tables: prepare_register first",
            file=str(snapshot_dir / LINKAGE_DIR / PREPARED_META),
        )
    return f"{where}/{LINKAGE_DIR}"


def train(snapshot_dir: Path, settings: Settings) -> Path:
    """Estimate u on the register's u sample, keep the m priors, set lambda; save ``model.json``.

    The sample is the one DuckDB uses (:func:`~ftigate.linkage.scoring.u_sample_sql`), so the
    model is the same whichever engine trains it. It is written to the local snapshot folder,
    as the DuckDB backend does.
    """
    out = _require_prepared(snapshot_dir, settings)
    model_path = snapshot_dir / LINKAGE_DIR / MODEL_FILE
    with _work_lock, translate_errors("train"):
        spark = session(settings)
        p = f"ftigate_{uuid.uuid4().hex[:8]}"
        reg_all = spark.read.parquet(f"{out}/{PREPARED_TAXPAYERS}")
        views = list(_views(spark, p, {"reg_all": reg_all}).values())
        try:
            n = max(reg_all.count(), 2)
            # the same rows as on DuckDB (md5 order), cached: Splink reads them once per comparison
            sample = spark.sql(u_sample_sql(views[0])).cache()
            views += _views(spark, p, {"reg": sample}).values()
            creator = replace(linkage_settings(IN_REGISTER_PRIOR / n), link_type="dedupe_only")
            linker, tf_views = _linker_on(spark, out, [(views[1], "register")], creator, p)
            views += tf_views
            linker.training.estimate_u_using_random_sampling(
                max_pairs=U_MAX_PAIRS, seed=SEED, min_count_per_level=None, num_chunks=1
            )
            raw = linker.misc.save_model_to_json(None)
        finally:
            spark.catalog.clearCache()
            _drop_views(spark, views)
    return save_model(raw, model_path)


def match(
    snapshot_dir: Path,
    model_path: Path,
    requests: Sequence[Request],
    settings: Settings,
) -> dict[int, list[Candidate]]:
    """Score requests against a prepared snapshot; candidates per ``Request.line``, best first.

    Reads only the prepared tables and the model: a new batch against an unchanged snapshot
    re-reads neither the register files nor trains anything.
    """
    out = _require_prepared(snapshot_dir, settings)
    if not model_path.exists():
        raise NotFound(
            f"linkage file {model_path.name} is missing: prepare and train first",
            file=str(model_path),
        )
    if not requests:
        return {}
    model = model_in_dialect(json.loads(model_path.read_text()), "spark")
    timer = MatchTimer("spark", len(requests))
    with _work_lock, translate_errors("match"):
        spark = session(settings)
        p = f"ftigate_{uuid.uuid4().hex[:8]}"
        views = list(
            _views(
                spark,
                p,
                {
                    "req": spark.createDataFrame(requests_table(requests)),
                    "reg": spark.read.parquet(f"{out}/{PREPARED_TAXPAYERS}"),
                    "hist": spark.read.parquet(f"{out}/{PREPARED_ADDRESSES}"),
                },
            ).values()
        )
        try:
            linker, tf_views = _linker_on(
                spark, out, [(f"{p}_req", "requests"), (f"{p}_reg", "register")], model, p
            )
            views += tf_views
            timer.lap("requests")
            sdfs = list(linker._input_tables_dict.values())
            preds = linker.inference.predict_between(sdfs[0], sdfs[1], warning_mode="never")
            timer.lap("predict")
            labels = level_labels(linker)
            sql = candidates_sql(
                preds.physical_name,
                labels,
                req=f"{p}_req",
                reg=f"{p}_reg",
                hist=f"{p}_hist",
                dialect="spark",
            )
            rows = [tuple(r) for r in spark.sql(sql).collect()]
            timer.lap("candidates")
            pairs = preds.as_spark_dataframe().count()
        finally:
            spark.catalog.clearCache()
            _drop_views(spark, views)
    timer.log(log, pairs)
    return candidates_from_rows(rows, labels, requests)
