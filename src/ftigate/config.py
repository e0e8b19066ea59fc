"""One table of settings: name, default and help drive the CLI, the docs and validation.

A setting ``database_url`` is read from the environment variable ``FTIGATE_DATABASE_URL``; the
CLI may override it with an option. Nothing else in ftigate reads ``os.environ`` for its own
configuration (a test checks that every setting is documented in the README).

Example:
    >>> s = Settings.from_env({"FTIGATE_DUCKDB_THREADS": "1"})
    >>> s.duckdb_threads
    1
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ftigate.errors import InputError


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str | int | float
    help: str

    @property
    def env(self) -> str:
        return f"FTIGATE_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "sqlite:///./ftigate.db",
        "SQLAlchemy URL of the state store (SQLite default; postgresql+psycopg://... "
        "in production)",
    ),
    Setting(
        "data_dir",
        "./ftigate-data",
        "Directory for register snapshots (Parquet), trained models and key files",
    ),
    Setting("backend", "duckdb", "Linkage backend: duckdb (embedded default) or spark"),
    Setting("spark_master", "local[2]", "Spark master URL used by the spark backend"),
    Setting(
        "spark_shuffle_partitions",
        8,
        "spark.sql.shuffle.partitions of the spark backend's session (Spark's 200 suits a "
        "cluster, not local[2]); ignored when spark-submit already set it",
    ),
    Setting(
        "spark_driver_memory",
        "4g",
        "spark.driver.memory when ftigate starts Spark itself (local mode); under spark-submit "
        "pass --driver-memory instead",
    ),
    Setting(
        "spark_snapshot_root",
        "",
        "Where Spark executors read register snapshots, e.g. s3a://bucket/ftigate/snapshots "
        "(each snapshot in a folder named by its id); default: the local snapshot folder",
    ),
    Setting("duckdb_threads", 2, "DuckDB worker threads used for linkage"),
    Setting(
        "duckdb_memory_limit",
        "6GB",
        "DuckDB memory_limit for linkage; it spills to duckdb_temp_dir beyond it",
    ),
    Setting(
        "duckdb_temp_dir",
        "",
        "Where DuckDB spills when over memory_limit (default: a folder in data_dir)",
    ),
    Setting(
        "log_origin",
        "ftigate.example/ledger",
        "Origin line of the ledger's checkpoints (C2SP tlog-checkpoint); names this log",
    ),
    Setting(
        "gateway_key",
        "",
        "Ed25519 private key file (PEM, mode 0600) that signs checkpoints and responses "
        "(default: data_dir/keys/gateway.key, created by `ftigate init`)",
    ),
    Setting(
        "tin_hmac_key",
        "",
        "Key file (mode 0600) for the HMAC of TINs in the ledger; never the signing key "
        "(default: data_dir/keys/tin-hmac.key, created by `ftigate init`)",
    ),
    Setting(
        "audit_retention_days", 2557, "How long audit events are kept (Publication 1075: 7 years)"
    ),
    Setting("log_level", "WARNING", "Python logging level; no TIN or address is ever logged"),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///./ftigate.db"
    data_dir: str = "./ftigate-data"
    backend: str = "duckdb"
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 8
    spark_driver_memory: str = "4g"
    spark_snapshot_root: str = ""
    duckdb_threads: int = 2
    duckdb_memory_limit: str = "6GB"
    duckdb_temp_dir: str = ""
    log_origin: str = "ftigate.example/ledger"
    gateway_key: str = ""
    tin_hmac_key: str = ""
    audit_retention_days: int = 2557
    log_level: str = "WARNING"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``FTIGATE_*`` variables, then explicit non-None overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            setting = _BY_NAME[f.name]
            raw = env.get(setting.env)
            if raw is not None and raw != "":
                values[f.name] = _coerce(setting, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.backend not in ("duckdb", "spark"):
            raise InputError(
                f"backend must be duckdb or spark, not {self.backend!r}",
                field=_BY_NAME["backend"].env,
            )
        if self.spark_shuffle_partitions < 1:
            raise InputError(
                "spark_shuffle_partitions must be at least 1",
                field=_BY_NAME["spark_shuffle_partitions"].env,
            )
        if self.duckdb_threads < 1:
            raise InputError(
                "duckdb_threads must be at least 1", field=_BY_NAME["duckdb_threads"].env
            )

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def as_env(self) -> dict[str, str]:
        """The ``FTIGATE_*`` variables that reproduce these settings in another process."""
        return {s.env: str(getattr(self, s.name)) for s in SETTINGS}

    def export_to_environment(self) -> None:
        """Publish these settings as ``FTIGATE_*`` for code that builds its own (ASGI factory)."""
        os.environ.update(self.as_env())

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def gateway_key_path(self) -> Path:
        return (
            Path(self.gateway_key) if self.gateway_key else self.data_path / "keys" / "gateway.key"
        )

    @property
    def tin_hmac_key_path(self) -> Path:
        return (
            Path(self.tin_hmac_key)
            if self.tin_hmac_key
            else self.data_path / "keys" / "tin-hmac.key"
        )

    @property
    def duckdb_temp_path(self) -> Path:
        return Path(self.duckdb_temp_dir) if self.duckdb_temp_dir else self.data_path / "duckdb-tmp"


def launched_by_spark_submit(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs under spark-submit (or a pyspark shell): its JVM is up.

    spark-submit starts the JVM first and hands the Python driver its gateway port; the Spark
    backend then keeps spark-submit's master and configuration instead of its own settings.
    """
    env = os.environ if environ is None else environ
    return bool(env.get("PYSPARK_GATEWAY_PORT"))


def _coerce(setting: Setting, raw: str) -> str | int | float:
    if isinstance(setting.default, bool):
        raise AssertionError("boolean settings are not supported")
    try:
        if isinstance(setting.default, int):
            return int(raw)
        if isinstance(setting.default, float):
            return float(raw)
    except ValueError as e:
        raise InputError(f"{setting.env}={raw!r} is not a number", field=setting.env) from e
    return raw
