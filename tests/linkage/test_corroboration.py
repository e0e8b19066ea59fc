"""Address corroboration: one slip of the hand in a door is tolerated, another door is not."""

from __future__ import annotations

import duckdb
import pytest

from ftigate.linkage.addresses import parse_address
from ftigate.linkage.settings import address_corroboration_sql

COLS = "addr_num, addr_street, addr_zip, addr_city, addr_state"


def _row(street: str, city: str, state: str, zip_code: str) -> tuple[str | None, ...]:
    a = parse_address(street, "", city, state, zip_code)
    return (a.number or None, a.street or None, a.zip5 or None, a.city or None, a.state or None)


def corroborates(requested: tuple[str, ...], known: tuple[str, ...]) -> bool:
    sql = (
        f"SELECT {address_corroboration_sql('q', 'a')} "
        f"FROM (SELECT ?, ?, ?, ?, ?) q({COLS}), (SELECT ?, ?, ?, ?, ?) a({COLS})"
    )
    with duckdb.connect() as con:
        row = con.execute(sql, [*_row(*requested), *_row(*known)]).fetchone()
    return bool(row and row[0])


HOME = ("136 Jefferson St", "Houston", "TX", "77057")


@pytest.mark.parametrize(
    "requested",
    [
        ("136 Jefferson Street", "Houston", "Texas", "77057-1234"),  # spelling
        ("136 Jefefreon St", "Houston", "TX", "77057"),  # street typo
        ("136 Jefferson St", "Houston", "TX", "77075"),  # ZIP typo
        ("136 Jefferson St", "Huoston", "TX", ""),  # city typo, no ZIP
        ("137 Jefferson St", "Houston", "TX", "77057"),  # one-digit number typo
        ("136 N Jefferson St", "Houston", "TX", "77057"),  # directional added
    ],
)
def test_one_slip_in_a_door_still_corroborates(requested: tuple[str, ...]) -> None:
    assert corroborates(requested, HOME)


@pytest.mark.parametrize(
    ("requested", "known"),
    [
        (("123 N Main St", "Houston", "TX", "77001"), ("123 S Main St", "Houston", "TX", "77001")),
        (("123 Main St", "Houston", "TX", "77001"), ("123 Main Ave", "Houston", "TX", "77001")),
        (("123 Main St", "Houston", "TX", "77001"), ("123 Maple St", "Houston", "TX", "77001")),
        (("1 Knox St", "Austin", "TX", "78701"), ("4 Knox St", "Austin", "TX", "78701")),
        (("124 Knox St", "Austin", "TX", "78701"), ("124 Knox St", "Dallas", "TX", "75201")),
        # two uncertain parts at once are another address
        (("137 Jefefreon St", "Houston", "TX", "77057"), HOME),
        (("137 Jefferson St", "Houston", "TX", "77075"), HOME),
        (("Jefferson St", "Houston", "TX", "77057"), HOME),
    ],
)
def test_another_door_does_not_corroborate(
    requested: tuple[str, ...], known: tuple[str, ...]
) -> None:
    assert not corroborates(requested, known)


def test_typo_in_a_word_that_is_also_a_street_type() -> None:
    # "Center" and "Hill" are names here, not types: a typo in them is still close.
    assert corroborates(
        ("621 Centerr St", "Cicero", "IL", "60804"), ("621 Center St", "Cicero", "IL", "60804")
    )
    assert corroborates(
        ("1688 Secnod Ave", "Nashville", "TN", "37206"),
        ("1688 2nd Ave", "Nashville", "TN", "37206"),
    )
