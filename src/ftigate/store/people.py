"""Read a few taxpayers' identity rows from a register snapshot (for an officer's review).

Only the review queue needs this: an officer compares the request with the candidate's name,
date of birth and addresses before approving a disclosure. Reads are by TIN with a Parquet
filter, so a review of a few hundred items never loads the register.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq


@dataclass(frozen=True)
class Person:
    tin: str
    tin_type: str
    first_name: str
    middle_name: str
    last_name: str
    suffix: str
    dob: date | None


def load_people(snapshot_path: Path, tins: Sequence[str]) -> dict[str, Person]:
    """The taxpayers with these TINs, by TIN (absent TINs are simply missing)."""
    if not tins:
        return {}
    table = pq.read_table(
        snapshot_path / "taxpayers.parquet", filters=[("tin", "in", sorted(set(tins)))]
    )
    return {
        row["tin"]: Person(
            tin=row["tin"],
            tin_type=row["tin_type"] or "",
            first_name=row["first_name"] or "",
            middle_name=row["middle_name"] or "",
            last_name=row["last_name"] or "",
            suffix=row["suffix"] or "",
            dob=row["dob"],
        )
        for row in table.to_pylist()
    }
