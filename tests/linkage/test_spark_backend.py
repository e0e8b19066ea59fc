"""The Spark backend gives DuckDB's answers: same prepared tables, same candidates, same
decisions; a model trained by either engine is usable by the other.

The two tests marked ``spark`` share the backend's one local SparkSession (``local[2]``; the
backend keeps one per process); the first uses a 20,000-taxpayer / 2,000-request synthetic
batch. Their work is gathered in two tests so that parallel workers start few JVMs.
The exception-mapping tests need PySpark installed but no JVM.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

try:
    import pyspark
except ImportError:
    # Without the spark extra the Spark tests skip locally; CI installs it, so there a missing
    # pyspark is a broken environment and fails the run rather than passing it quietly.
    if os.environ.get("CI"):
        pytest.fail("pyspark is missing: CI must run the Spark tests (pip install -e '.[test]')")
    pytest.skip("pyspark is not installed (pip install 'ftigate[spark]')", allow_module_level=True)

import py4j.protocol
import pyspark.errors

from ftigate.config import Settings, launched_by_spark_submit
from ftigate.errors import BackendError, Conflict, NotFound
from ftigate.linkage import duckdb_backend, spark_backend
from ftigate.linkage.decide import decide_request
from ftigate.linkage.scoring import candidates_sql, model_in_dialect
from ftigate.linkage.settings import linkage_settings
from ftigate.model import Candidate, Decision, MatchPolicy, Outcome, Request
from ftigate.store.batch_files import read_requests
from ftigate.store.register import ingest_register
from ftigate.synth import generate

from .fixtures import make_fixture

POLICY = MatchPolicy()
TABLES = ("taxpayers.parquet", "addresses.parquet", "tf_first.parquet", "tf_last.parquet")


# --------------------------------------------------------------------------- no JVM needed


def _exception_classes(module: object) -> list[type[BaseException]]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseException)
    ]


def test_every_spark_and_py4j_exception_is_translated() -> None:
    """A new exception class in PySpark or Py4J that escapes the mapping fails here."""
    classes = _exception_classes(pyspark.errors) + _exception_classes(py4j.protocol)
    assert classes
    unmapped = [c.__name__ for c in classes if not issubclass(c, spark_backend.ENGINE_ERRORS)]
    assert not unmapped


def test_translated_errors_keep_the_operation_and_mask_digits() -> None:
    with pytest.raises(BackendError) as err, spark_backend.translate_errors("match"):
        raise py4j.protocol.Py4JError("row 123456789 could not be read")
    assert err.value.operation == "match"
    assert "123456789" not in str(err.value) and "####" in str(err.value)
    assert isinstance(err.value.__cause__, py4j.protocol.Py4JError)


def test_snapshot_location() -> None:
    snap = Path("/data/snapshots/snap-abc")
    remote = Settings(spark_snapshot_root="s3a://bucket/ftigate/snapshots/")
    assert spark_backend.location(snap, remote) == "s3a://bucket/ftigate/snapshots/snap-abc"
    assert spark_backend.location(snap, Settings()) == "/data/snapshots/snap-abc"
    assert launched_by_spark_submit({"PYSPARK_GATEWAY_PORT": "41234"})
    assert not launched_by_spark_submit({})


# --------------------------------------------------------------------------- on local Spark


@dataclass
class Synth:
    duck: Path  # snapshot prepared and trained by DuckDB
    spark: Path  # the same snapshot files, prepared by Spark
    requests: list[Request]
    settings: Settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("spark")
    s = Settings(data_dir=str(root), duckdb_threads=1, spark_shuffle_partitions=4)
    yield s


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Synth:
    root = tmp_path_factory.mktemp("synth20k")
    generate(taxpayers=20_000, requests=2_000, seed=7, out=root / "synth")
    files = ingest_register(root / "synth" / "register", root / "snapshots", date.today())
    spark_copy = root / "spark" / files.path.name
    shutil.copytree(files.path, spark_copy)
    duckdb_backend.prepare_register(files.path, settings)
    duckdb_backend.train(files.path, settings)
    requests, _problems = read_requests(root / "synth" / "batch" / "requests.csv")
    assert len(requests) > 1_900
    return Synth(files.path, spark_copy, requests, settings)


def _table(path: Path) -> list[tuple[object, ...]]:
    rows = pq.read_table(path).to_pylist()
    return sorted(tuple((k, repr(v)) for k, v in sorted(r.items())) for r in rows)


def _near_a_threshold(*decisions: Decision) -> bool:
    """Whether a disagreement is explained by a probability within 1e-6 of a threshold."""
    for d in decisions:
        for p in (d.probability, d.runner_up_probability):
            if (
                p is not None
                and min(abs(p - POLICY.threshold), abs(p - POLICY.review_floor)) <= 1e-6
            ):
                return True
        if d.probability is not None and d.runner_up_probability is not None:
            gap = d.probability - d.runner_up_probability
            if abs(gap - POLICY.margin) <= 1e-6:
                return True
    return False


def _disclosed(d: Decision) -> str | None:
    return d.tin if d.outcome is Outcome.DISCLOSE else None


def _disagreements(
    requests: list[Request],
    a: dict[int, list[Candidate]],
    b: dict[int, list[Candidate]],
) -> tuple[int, list[str]]:
    """Number of DISCLOSE decisions on the first side, and unexplained disagreements."""
    disclosed, unexplained = 0, []
    for r in requests:
        da, db = decide_request(r, a[r.line], POLICY), decide_request(r, b[r.line], POLICY)
        disclosed += da.outcome is Outcome.DISCLOSE
        if _disclosed(da) != _disclosed(db) and not _near_a_threshold(da, db):
            unexplained.append(
                f"{r.request_id}: {da.outcome}/{da.probability} vs {db.outcome}/{db.probability}"
            )
    return disclosed, unexplained


@pytest.mark.spark
@pytest.mark.slow
def test_spark_prepares_like_duckdb_and_decides_like_duckdb(synth: Synth) -> None:
    """The issue's check: the same DISCLOSE set, or each difference within 1e-6 of a threshold.

    One test, so that parallel test workers do not each build the 20k batch and start a JVM.
    Both engines train the same model from the same snapshot, and match with one model: the
    model, not the engine, fixes the decisions. The prepared tables and every candidate agree
    too (probabilities to 1e-9).
    """
    spark_backend.prepare_register(synth.spark, synth.settings)
    for name in TABLES:
        assert _table(synth.spark / "linkage" / name) == _table(synth.duck / "linkage" / name), name
    meta = json.loads((synth.spark / "linkage" / "prepared.json").read_text())
    assert meta["taxpayers"] == 20_000
    # Idempotent: a second call leaves the tables alone.
    before = (synth.spark / "linkage" / "taxpayers.parquet").stat().st_mtime_ns
    spark_backend.prepare_register(synth.spark, synth.settings)
    assert (synth.spark / "linkage" / "taxpayers.parquet").stat().st_mtime_ns == before

    model = synth.duck / "linkage" / "model.json"
    # Spark trains the same model from 20,000 taxpayers: the u sample is chosen by MD5, not by
    # an engine's own sampler, so both engines count the same 1,999,000 pairs.
    spark_model = json.loads(spark_backend.train(synth.spark, synth.settings).read_text())
    assert model_in_dialect(spark_model, "duckdb") == json.loads(model.read_text())
    on_duck = duckdb_backend.match(synth.duck, model, synth.requests, synth.settings)
    on_spark = spark_backend.match(synth.spark, model, synth.requests, synth.settings)
    disclosed, unexplained = _disagreements(synth.requests, on_duck, on_spark)
    assert disclosed > 500
    assert not unexplained
    for r in synth.requests:
        a, b = on_duck[r.line], on_spark[r.line]
        assert [c.tin for c in a] == [c.tin for c in b], r.request_id
        for x, y in zip(a, b, strict=True):
            assert x.probability == pytest.approx(y.probability, abs=1e-9)
            assert (x.address_corroborated, dict(x.evidence)) == (
                y.address_corroborated,
                dict(y.evidence),
            )
    # One session for the process: a second batch starts no second JVM.
    assert spark_backend.session(synth.settings) is spark_backend.session(synth.settings)


@pytest.mark.spark
def test_both_engines_train_the_same_model_when_the_register_is_used_whole_and_errors(
    tmp_path: Path, settings: Settings
) -> None:
    """Below the u-sampling size every register pair is counted, so no engine's sampler is
    involved and both engines must estimate the same u; the models agree level by level and
    give the same decisions."""
    fx = make_fixture(n_people=300, seed=11)
    duck = fx.write_snapshot(tmp_path / "duck")
    spark = fx.write_snapshot(tmp_path / "spark")
    duckdb_backend.prepare_register(duck, settings)
    spark_backend.prepare_register(spark, settings)
    duck_model = duckdb_backend.train(duck, settings)
    spark_model = spark_backend.train(spark, settings)
    saved = json.loads(spark_model.read_text())
    assert saved["sql_dialect"] == "spark"
    assert model_in_dialect(saved, "duckdb") == json.loads(duck_model.read_text())
    on_duck = duckdb_backend.match(duck, spark_model, fx.requests, settings)
    on_spark = spark_backend.match(spark, duck_model, fx.requests, settings)
    assert not _disagreements(fx.requests, on_duck, on_spark)[1]

    # Jaro-Winkler is DuckDB's on Spark too, under every name the SQL uses, where Splink's jar
    # differs (0.889 vs 0.906 for the first pair: a level's 0.9 threshold lies between).
    pairs = [
        ("E SECOND RD", "N SECOND RD"),
        ("flowers", "fowler"),
        ("lopez contreras", "lopez duarte"),
        ("mendoza gonzalez", "mendoza guzman"),
        ("ana", None),
    ]
    con = duckdb.connect()
    expected = [
        con.execute("SELECT jaro_winkler_similarity(?, ?)", list(pair)).fetchall()[0][0]
        for pair in pairs
    ]
    spark_session = spark_backend.session(settings)
    spark_session.createDataFrame(pairs, "x string, y string").createOrReplaceTempView("jw_pairs")
    for name in spark_backend.JARO_WINKLER_NAMES:
        got = [row[0] for row in spark_session.sql(f"SELECT {name}(x, y) FROM jw_pairs").collect()]
        assert got[-1] is None, name
        assert got[:-1] == pytest.approx(expected[:-1], abs=1e-12), name
    over = spark_session.sql("SELECT count(*) FROM jw_pairs WHERE jaro_winkler(x, y) >= 0.9")
    assert over.collect()[0][0] == 3  # NULL is not above a threshold
    # ... and no SQL rendered for Spark calls a Jaro-Winkler that is not ours (Spark's built-in
    # jaro_winkler_similarity gives the jar's values and cannot be replaced).
    rendered = json.dumps(linkage_settings(1e-6).get_settings("spark").as_dict())  # type: ignore[no-untyped-call]
    rendered += candidates_sql("preds", {}, dialect="spark")
    called = {name.lower() for name in re.findall(r"(?i)\b(\w*jaro\w*)\s*\(", rendered)}
    assert called and called <= set(spark_backend.JARO_WINKLER_NAMES)

    # Engine failures surface as BackendError, with the operation and without the data.
    with pytest.raises(NotFound):
        spark_backend.prepare_register(tmp_path / "nope", settings)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "taxpayers.parquet").write_bytes(b"not parquet 123456789")
    (bad / "addresses.parquet").write_bytes(b"not parquet")
    with pytest.raises(BackendError) as err:
        spark_backend.prepare_register(bad, settings)
    assert err.value.operation == "prepare_register"
    assert "123456789" not in str(err.value)
    with pytest.raises(NotFound):
        spark_backend.train(bad, settings)


def test_a_model_of_other_settings_is_refused() -> None:
    fx_model = {
        "sql_dialect": "duckdb",
        "probability_two_random_records_match": 1e-6,
        "comparisons": [],
        "blocking_rules_to_generate_predictions": [],
    }
    with pytest.raises(Conflict, match="retrain"):
        model_in_dialect(fx_model, "spark")
