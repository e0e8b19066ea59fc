from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ftigate.config import SETTINGS, Settings
from ftigate.errors import InputError

ROOT = Path(__file__).parents[1]


def test_settings_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    undocumented = [s.env for s in SETTINGS if s.env not in readme]
    assert not undocumented


def test_settings_table_matches_dataclass_defaults() -> None:
    defaults = Settings()
    for s in SETTINGS:
        assert getattr(defaults, s.name) == s.default, s.name


def test_env_overrides_and_bad_values() -> None:
    s = Settings.from_env({"FTIGATE_DUCKDB_THREADS": "1", "FTIGATE_BACKEND": "spark"})
    assert (s.duckdb_threads, s.backend) == (1, "spark")
    with pytest.raises(InputError, match="FTIGATE_DUCKDB_THREADS"):
        Settings.from_env({"FTIGATE_DUCKDB_THREADS": "many"})
    with pytest.raises(InputError):
        Settings.from_env({"FTIGATE_BACKEND": "oracle"})


def test_no_module_reads_environment_outside_config() -> None:
    offenders = []
    for path in (ROOT / "src" / "ftigate").rglob("*.py"):
        if path.name == "config.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders
