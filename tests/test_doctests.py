"""Every example in a docstring runs and shows what it says.

Docstrings carry examples where a function is not obvious; this keeps them true. Alembic's
``env.py`` is left out: it runs only inside Alembic.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import ftigate

SKIP = ("ftigate.store.migrations",)
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = [
        m.name
        for m in pkgutil.walk_packages(ftigate.__path__, prefix="ftigate.")
        if not m.name.startswith(SKIP)
    ]
    if importlib.util.find_spec("pyspark") is None:
        names.remove("ftigate.linkage.spark_backend")
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=OPTIONS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
