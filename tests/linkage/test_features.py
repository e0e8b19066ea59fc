"""A batch is prepared column by column exactly as each of its requests would be alone."""

from __future__ import annotations

import gc
from dataclasses import replace

from ftigate.linkage.features import request_row
from ftigate.linkage.prepared import requests_table
from ftigate.linkage.settings import PREPARED_COLUMNS
from ftigate.model import Request

from .fixtures import BLANK_AND_ODD, make_fixture

ODD = [
    *BLANK_AND_ODD,
    Request(
        line=902,
        request_id="full",
        first_name="José Luis",
        middle_name="Jr",
        last_name="de la Cruz-García",
        dob="03/04/1980",
        street="4500 W. Martin Luther King Jr Boulevard",
        unit="Suite 200",
        city="St. Louis",
        state="missouri",
        zip="6310",
        tin="900-70-0001",
    ),
]


def test_a_batch_is_prepared_like_each_request_alone() -> None:
    fx = make_fixture(n_people=200, seed=3)
    # Repeated rows share their normalised values; they must still come out whole.
    batch = [*fx.requests, *ODD, *(replace(r, line=r.line + 1000) for r in ODD)]
    got = requests_table(batch)
    assert got.column_names == list(PREPARED_COLUMNS)
    assert got.to_pylist() == [request_row(r) for r in batch]
    assert gc.isenabled()
