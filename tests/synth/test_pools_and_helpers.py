"""Data files, TIN code spaces, string mutations and the doctests of the synth package."""

from __future__ import annotations

import doctest
import importlib
import random

import numpy as np
import pytest

from ftigate.synth import mutate, tins
from ftigate.synth.pools import ORIGINS, load_pools
from ftigate.tin import tin_type_of

# First digit of ZIP codes by state (USPS national areas).
ZIP_AREA = {
    "0": "CT MA ME NH NJ PR RI VT",
    "1": "DE NY PA",
    "2": "DC MD NC SC VA WV",
    "3": "AL FL GA MS TN",
    "4": "IN KY MI OH",
    "5": "IA MN MT ND SD WI",
    "6": "IL KS MO NE",
    "7": "AR LA OK TX",
    "8": "AZ CO ID NM NV UT WY",
    "9": "AK CA HI OR WA",
}
STATE_AREA = {s: d for d, states in ZIP_AREA.items() for s in states.split()}


def test_every_pool_exists_with_probabilities_that_sum_to_one() -> None:
    pools = load_pools()
    for o in ORIGINS:
        for sex in ("M", "F"):
            pool = pools.given_pools[(o, sex, "given")]
            assert len(pool.index) >= 100, (o, sex)
            assert abs(pool.p.sum() - 1) < 1e-9
            names = pools.given[pool.index]
            assert len(set(names)) == len(names), (o, sex)
        assert len(pools.surname_pools[o].index) >= (80 if o == "vietnamese" else 150), o
    head = pools.surnames[
        pools.surname_pools["vietnamese"].index[np.argmax(pools.surname_pools["vietnamese"].p)]
    ]
    assert head == "Nguyễn"


def test_nicknames_belong_to_names_the_pools_hold() -> None:
    pools = load_pools()
    known = {mutate.fold(str(g)).lower() for g in pools.given}
    assert set(pools.nicknames) <= known
    assert {"william", "francisco", "jose", "guadalupe", "robert"} <= set(pools.nicknames)


def test_city_zips_are_five_digits_in_their_states_zip_area() -> None:
    pools = load_pools()
    for i, state in enumerate(pools.city_state):
        zips = pools.zips[pools.zip_start[i] : pools.zip_start[i] + pools.zip_count[i]]
        assert len(zips) >= 1
        for z in zips:
            assert len(z) == 5 and z.isdigit()
            assert z[0] == STATE_AREA[state], (pools.city[i], state, z)
    assert len(set(zip(pools.city, pools.city_state, strict=True))) == len(pools.city)


def test_tin_code_spaces_cover_exactly_the_valid_tins() -> None:
    ends = np.array([0, 1, tins.SSN_SPACE - 1])
    assert [tins.format_tin(int(t)) for t in tins.ssn_from_code(ends)] == [
        "001-01-0001",
        "001-01-0002",
        "899-99-9999",
    ]
    around_666 = tins.ssn_from_code(np.array([665 * 99 * 9999 - 1, 665 * 99 * 9999]))
    assert [tins.format_tin(int(t))[:3] for t in around_666] == ["665", "667"]
    itin = tins.itin_from_code(np.array([0, tins.ITIN_SPACE - 1]))
    assert [tins.format_tin(int(t)) for t in itin] == ["900-50-0001", "999-99-9999"]
    rng = np.random.default_rng(0)
    sample = np.concatenate(
        [
            tins.ssn_from_code(rng.integers(tins.SSN_SPACE, size=2000)),
            tins.itin_from_code(rng.integers(tins.ITIN_SPACE, size=2000)),
        ]
    )
    assert all(tin_type_of(t) is not None for t in tins.format_tins(sample).to_pylist())


def test_typos_change_a_name_by_a_keystroke_or_two() -> None:
    rnd = random.Random(3)
    for name in ("Hernández", "Nguyễn", "Li", "Abdul-Rahman", "de la Cruz"):
        for edits in (1, 2):
            got = mutate.typo(name, rnd, edits)
            assert got != name
            assert abs(len(got) - len(name)) <= edits


def test_street_typos_leave_number_direction_and_type_alone() -> None:
    rnd = random.Random(5)
    for _ in range(50):
        got = mutate.street_typo("1234 N Main St", rnd, 2)
        number, direction, *_, kind = got.split(" ")
        assert (number, direction, kind) == ("1234", "N", "St")
        assert got != "1234 N Main St"


@pytest.mark.parametrize(
    ("last", "allowed"),
    [
        ("García López", {"López García", "García", "García-López"}),
        ("García-López", {"López García", "García", "García López"}),
        ("de la Cruz", {"Cruz", "Delacruz", "De La Cruz"}),
        ("de la Cruz Hernández", {"Hernández de la Cruz", "de la Cruz", "de la Cruz-Hernández"}),
    ],
)
def test_surname_variants_are_the_forms_requesters_write(last: str, allowed: set[str]) -> None:
    rnd = random.Random(1)
    seen = {mutate.surname_variant(last, rnd) for _ in range(200)}
    assert seen <= allowed
    assert len(seen) >= 2


MODULES = [
    "pools",
    "tins",
    "people",
    "addresses",
    "register",
    "cases",
    "mutate",
    "output",
    "generate",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"ftigate.synth.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0


def test_a_surname_repeated_twice_still_changes() -> None:
    rnd = random.Random(0)
    seen = {mutate.surname_variant("Ramírez Ramírez", rnd) for _ in range(100)}
    assert seen == {"Ramírez", "Ramírez-Ramírez"}
