"""Linkage: who in the register, if anyone, a request is about.

The pure parts — :mod:`~ftigate.linkage.names`, :mod:`~ftigate.linkage.addresses`,
:mod:`~ftigate.linkage.settings` (the Splink model, authored without a backend) and
:mod:`~ftigate.linkage.decide` (the disclosure rules) — import no database. A backend runs the
model: :mod:`ftigate.linkage.duckdb_backend` is the embedded default and
:mod:`ftigate.linkage.spark_backend` runs the same pipeline on Spark; each implements
:class:`LinkageBackend` (a module with these three functions is one). What they share — the
prepared-table layout and value maps, the candidates query, the model's post-processing — is in
:mod:`~ftigate.linkage.prepared` and :mod:`~ftigate.linkage.scoring`, so both give the same
decisions, and a model trained by one is used by the other.

Snapshot layout (written by ingest, then by ``prepare_register`` and ``train``)::

    <snapshot>/taxpayers.parquet      tin, tin_type, first_name, middle_name, last_name, suffix, dob
    <snapshot>/addresses.parquet      tin, street, unit, city, state, zip, valid_from, source
    <snapshot>/linkage/taxpayers.parquet   one row per taxpayer, settings.PREPARED_COLUMNS
    <snapshot>/linkage/addresses.parquet   every address, parsed (tin, addr_num, addr_street,
                                           addr_zip, addr_city, addr_state, valid_from)
    <snapshot>/linkage/tf_first.parquet, tf_last.parquet   term frequencies of the register
    <snapshot>/linkage/prepared.json  what was prepared, by which version, with row counts
    <snapshot>/linkage/model.json     the trained Splink model (byte-identical on retraining)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ftigate.config import Settings
from ftigate.model import Candidate, Request

__all__ = ["LinkageBackend", "model_sha256"]


class LinkageBackend(Protocol):
    """What a linkage backend provides. Errors of the engine surface as ``BackendError``."""

    def prepare_register(self, snapshot_dir: Path, settings: Settings) -> None:
        """Write ``snapshot_dir/linkage/`` from the snapshot's Parquet files (idempotent)."""
        ...

    def train(self, snapshot_dir: Path, settings: Settings) -> Path:
        """Train the model for a prepared snapshot; return the model file (deterministic bytes)."""
        ...

    def match(
        self,
        snapshot_dir: Path,
        model_path: Path,
        requests: Sequence[Request],
        settings: Settings,
    ) -> dict[int, list[Candidate]]:
        """Candidates per ``Request.line``, best first (ties by TIN), runner-up always included."""
        ...


def model_sha256(path: Path) -> str:
    """SHA-256 (hex) of a model file; recorded with every decision for replay."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
