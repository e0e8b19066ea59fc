"""Pick the linkage backend named by the settings (DuckDB embedded default, Spark at scale).

Backends are modules implementing :class:`ftigate.linkage.LinkageBackend`; they are imported
only when chosen, so DuckDB users never import PySpark and the reverse.
"""

from __future__ import annotations

import importlib
from typing import cast

from ftigate.config import Settings
from ftigate.errors import InputError
from ftigate.linkage import LinkageBackend

BACKEND_MODULES = {
    "duckdb": "ftigate.linkage.duckdb_backend",
    "spark": "ftigate.linkage.spark_backend",
}


def backend_for(settings: Settings) -> LinkageBackend:
    name = BACKEND_MODULES.get(settings.backend)
    if name is None:
        raise InputError(f"unknown linkage backend {settings.backend!r}", field="FTIGATE_BACKEND")
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        extra = " (pip install 'ftigate[spark]')" if settings.backend == "spark" else ""
        raise InputError(
            f"the {settings.backend} backend cannot be loaded: {e}{extra}", field="FTIGATE_BACKEND"
        ) from e
    return cast(LinkageBackend, module)
