"""Pick the linkage backend named by the settings (DuckDB embedded default, Spark at scale)."""

from __future__ import annotations

from ftigate.config import Settings
from ftigate.linkage import LinkageBackend


def backend_for(settings: Settings) -> LinkageBackend:
    if settings.backend == "spark":
        from ftigate.linkage import spark_backend

        return spark_backend  # type: ignore[return-value]
    from ftigate.linkage import duckdb_backend

    return duckdb_backend  # type: ignore[return-value]
