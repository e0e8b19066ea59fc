"""Address histories: 1-5 dated addresses per person, with the source that reported each.

Rows are kept person-major, most recent first (``k == 0`` is the last known address). A
history is built backwards from the last address: each older one is in the same city, the same
state or anywhere, as people move. Every address is a real city with its own state and one of
its real ZIP codes, so city, state and ZIP always agree.

Dates follow the source: a Form 1040 for tax year Y is dated January-April of Y+1 and labelled
``1040:Y``; a W-2 or 1099 for Y arrives in January-March of Y+1; a Form 8822 (change of
address) can come any time after May. Years strictly decrease with ``k``, so the last known
address is unambiguous, and nobody has an address before the age of sixteen.

Example:
    >>> from ftigate.synth.pools import load_pools
    >>> from ftigate.synth.people import draw_people
    >>> pools, rng = load_pools(), np.random.default_rng(5)
    >>> a = draw_addresses(pools, rng, draw_people(pools, rng, 200))
    >>> bool((a.k[a.start[:-1]] == 0).all())
    True
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ftigate.synth.people import FATHER, SON, TWIN_A, People, format_days
from ftigate.synth.pools import ORIGINS, Pools

N_ADDRESSES_P = np.array([0.28, 0.27, 0.21, 0.14, 0.10])  # 1..5 addresses
LAST_YEARS = np.arange(2016, 2025)
LAST_YEAR_P = np.array([1, 1, 2, 2, 3, 4, 6, 9, 14], dtype=float) / 42.0
GAP_P = np.array([0.30, 0.25, 0.20, 0.12, 0.08, 0.05])  # 1..6 years between addresses
MOVE_SAME_CITY, MOVE_SAME_STATE = 0.5, 0.8  # cumulative; the rest move anywhere

SOURCES = ("1040:", "W-2:", "1099:", "8822")
SOURCE_P_SSN = np.array([0.60, 0.22, 0.08, 0.10])
SOURCE_P_ITIN = np.array([0.88, 0.0, 0.0, 0.12])  # ITIN filers rarely get W-2s in that number
# first day-of-year and window length of each source
SOURCE_DAY = np.array([19, 4, 24, 120])
SOURCE_SPAN = np.array([86, 37, 50, 230])

DIRECTIONS = ("", "N", "S", "E", "W")
PREFIXES = ("", "Calle", "Avenida", "Camino", "Via", "Paseo")
PREFIX_P = np.array([0.4, 0.2, 0.2, 0.1, 0.1])
TYPES = ("", "St", "Ave", "Dr", "Rd", "Ln", "Blvd", "Ct", "Way", "Pl", "Cir", "Pkwy", "Ter")
TYPE_P = np.array([0.30, 0.20, 0.12, 0.10, 0.06, 0.05, 0.05, 0.04, 0.04, 0.02, 0.01, 0.01])
UNIT_KINDS = ("", "Apt", "Unit", "#", "Spc", "Lot", "Trlr")
UNIT_KIND_P = np.array([0.65, 0.15, 0.10, 0.04, 0.03, 0.03])
LETTERS = "ABCDEFGH"
SPANISH_STATES = frozenset({"CA", "TX", "AZ", "NM", "NV", "CO", "FL"})


@dataclass
class Addresses:
    """One entry per address row; ``start[p]:start[p+1]`` are person ``p``'s rows."""

    person: np.ndarray  # int64
    k: np.ndarray  # int8, 0 = most recent
    start: np.ndarray  # int64, len(people) + 1
    city: np.ndarray  # int32 into pools.city
    zip: np.ndarray  # int32 into pools.zips
    number: np.ndarray  # int32 house number
    predir: np.ndarray  # int8 into DIRECTIONS
    prefix: np.ndarray  # int8 into PREFIXES (Spanish style)
    street: np.ndarray  # int32 into pools.streets
    stype: np.ndarray  # int8 into TYPES
    unit_kind: np.ndarray  # int8 into UNIT_KINDS
    unit_num: np.ndarray  # int16, 0 = letter only
    unit_letter: np.ndarray  # int8, 0 none, else LETTERS[i - 1]
    valid_from: np.ndarray  # int32 days since 1970
    source: np.ndarray  # int8 into SOURCES
    year: np.ndarray  # int16 calendar year of valid_from

    def __len__(self) -> int:
        return len(self.person)

    def take(self, rows: np.ndarray) -> Addresses:
        """The rows at ``rows`` (``start`` is then meaningless and left empty)."""
        out = {f.name: getattr(self, f.name)[rows] for f in fields(self) if f.name != "start"}
        return Addresses(start=np.zeros(0, dtype=np.int64), **out)


LOCATION_FIELDS = (
    "city",
    "zip",
    "number",
    "predir",
    "prefix",
    "street",
    "stype",
    "unit_kind",
    "unit_num",
    "unit_letter",
)
"""What makes two addresses the same place (dates and source excluded)."""


def segment_rows(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``range(s, s + n)`` for each start and length, without a loop.

    >>> segment_rows(np.array([10, 20]), np.array([2, 3])).tolist()
    [10, 11, 20, 21, 22]
    """
    total = int(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def draw_addresses(
    pools: Pools,
    rng: np.random.Generator,
    people: People,
    crowd_city: np.ndarray | None = None,
    single: bool = False,
) -> Addresses:
    """Address histories for ``people`` (``single``: only a current address each)."""
    n = len(people)
    count = np.ones(n, dtype=np.int64) if single else rng.choice(5, size=n, p=N_ADDRESSES_P) + 1
    twins_a = np.nonzero(people.role == TWIN_A)[0]
    twins_b = people.partner[twins_a]
    count[twins_b] = count[twins_a]
    start = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    person = np.repeat(np.arange(n, dtype=np.int64), count)
    rows = len(person)
    k = (np.arange(rows) - start[person]).astype(np.int8)

    birth_year = people.dob.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    last_year = np.maximum(rng.choice(LAST_YEARS, size=n, p=LAST_YEAR_P), birth_year + 18)
    gap = rng.choice(6, size=rows, p=GAP_P) + 1
    gap[k == 0] = 0
    csum = np.cumsum(gap)
    year = last_year[person] - (csum - csum[start[:-1]][person])
    itin = people.itin[person]
    source = np.where(
        itin,
        rng.choice(4, size=rows, p=SOURCE_P_ITIN),
        rng.choice(4, size=rows, p=SOURCE_P_SSN),
    ).astype(np.int8)
    day = SOURCE_DAY[source] + np.floor(rng.random(rows) * SOURCE_SPAN[source]).astype(np.int64)

    city = _draw_cities(pools, rng, people.origin[person], k)
    if crowd_city is not None:  # a crowd's members all live in its city now
        crowd = people.crowd[person]
        m = (k == 0) & (crowd >= 0)
        city[m] = crowd_city[crowd[m]]
    cols = _draw_streets(pools, rng, city, itin)
    cols["city"] = city
    cols["year"] = year
    cols["source"] = source
    cols["day"] = day

    # Twin B's history is twin A's: same homes, same dates.
    if len(twins_a):
        ra = segment_rows(start[twins_a], count[twins_a])
        rb = segment_rows(start[twins_b], count[twins_a])
        for v in cols.values():
            v[rb] = v[ra]

    keep = (k == 0) | (cols["year"] >= birth_year[person] + 16)
    person, k = person[keep], k[keep]
    cols = {name: v[keep] for name, v in cols.items()}
    count = np.bincount(person, minlength=n)
    start = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    year = cols.pop("year").astype(np.int64)
    day = cols.pop("day")
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    out = Addresses(
        person=person,
        k=k,
        start=start,
        valid_from=(jan1 + day).astype(np.int32),
        year=year.astype(np.int16),
        **cols,
    )
    # A son lives at his father's last address.
    sons = np.nonzero(people.role == SON)[0]
    if len(sons):
        fathers = people.partner[sons]
        for name in LOCATION_FIELDS:
            arr = getattr(out, name)
            arr[start[sons]] = arr[start[fathers]]
    if np.any(people.role == FATHER) and not len(sons):  # pragma: no cover - planted in pairs
        raise AssertionError("fathers without sons")
    return out


def _draw_cities(
    pools: Pools, rng: np.random.Generator, origin: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """Last address by where each origin lives; older ones by a move from the next newer."""
    city = np.zeros(len(k), dtype=np.int32)
    anywhere = _by_origin(pools, rng, origin)
    city[k == 0] = anywhere[k == 0]
    # Cities are sorted by state: the key state + cumulative share within state samples a city
    # of a given state, weighted by population, with one searchsorted.
    code = pools.city_state_code
    within = np.zeros(len(code))
    for s in range(len(pools.states)):
        m = code == s
        w = np.cumsum(pools.city_population[m])
        within[m] = np.concatenate([[0.0], w[:-1]]) / w[-1]
    key = code + within
    for level in range(1, int(k.max(initial=0)) + 1):
        rows = np.nonzero(k == level)[0]
        prev = city[rows - 1]
        u = rng.random(len(rows))
        same_state = code[prev] + rng.random(len(rows)) * (1 - 1e-9)
        in_state = (np.searchsorted(key, same_state, side="right") - 1).astype(np.int32)
        city[rows] = np.where(
            u < MOVE_SAME_CITY, prev, np.where(u < MOVE_SAME_STATE, in_state, anywhere[rows])
        )
    return city


def _by_origin(pools: Pools, rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
    out = np.zeros(len(origin), dtype=np.int32)
    for o in range(len(ORIGINS)):
        m = origin == o
        out[m] = rng.choice(len(pools.city), size=int(m.sum()), p=pools.city_weight[o])
    return out


def _draw_streets(
    pools: Pools, rng: np.random.Generator, city: np.ndarray, itin: np.ndarray
) -> dict[str, np.ndarray]:
    """House number, street, unit and ZIP for addresses in ``city``."""
    rows = len(city)
    spanish_state = np.array([s in SPANISH_STATES for s in pools.city_state])
    spanish = rng.random(rows) < np.where(spanish_state[city], 0.2, 0.02)
    street = np.zeros(rows, dtype=np.int32)
    for flag in (False, True):
        m = spanish == flag
        idx = np.nonzero(pools.street_spanish == flag)[0]
        p = pools.street_p[idx] / pools.street_p[idx].sum()
        street[m] = idx[rng.choice(len(idx), size=int(m.sum()), p=p)]
    # House numbers are roughly log-uniform: 1-19999, most with 3 or 4 digits.
    number = np.exp(rng.uniform(np.log(1.0), np.log(20000.0), rows)).astype(np.int32)
    number = np.maximum(number, 1)
    prefixed = spanish & (rng.random(rows) < 0.7)
    prefix = np.where(prefixed, rng.choice(5, size=rows, p=PREFIX_P) + 1, 0).astype(np.int8)
    stype = np.where(prefixed, 0, rng.choice(12, size=rows, p=TYPE_P) + 1).astype(np.int8)
    predir = np.where(~spanish & (rng.random(rows) < 0.2), rng.integers(1, 5, rows), 0).astype(
        np.int8
    )
    dense = np.minimum(pools.city_population[city] / 2000.0, 1.0)
    has_unit = rng.random(rows) < 0.12 + 0.28 * dense + 0.1 * itin
    unit_kind = np.where(has_unit, rng.choice(6, size=rows, p=UNIT_KIND_P) + 1, 0).astype(np.int8)
    form = rng.choice(4, size=rows, p=[0.35, 0.25, 0.30, 0.10])
    unit_num = np.select(
        [form == 0, form == 1, form == 2],
        [rng.integers(1, 41, rows), rng.integers(1, 13, rows), rng.integers(101, 451, rows)],
        0,
    ).astype(np.int16)
    unit_letter = np.where((form == 1) | (form == 3), rng.integers(1, 7, rows), 0).astype(np.int8)
    zip_ = pools.zip_start[city] + np.floor(rng.random(rows) * pools.zip_count[city]).astype(
        np.int32
    )
    return {
        "zip": zip_.astype(np.int32),
        "number": number,
        "predir": predir,
        "prefix": prefix,
        "street": street,
        "stype": stype,
        "unit_kind": unit_kind,
        "unit_num": unit_num,
        "unit_letter": unit_letter,
    }


def street_names(pools: Pools, a: Addresses) -> pa.Array:
    """The street name alone (no number, direction or type): what a typo hits."""
    return pools.arrow("streets").take(pa.array(a.street))


def address_columns(pools: Pools, a: Addresses) -> dict[str, pa.Array]:
    """street, unit, city, state, zip, valid_from and source strings."""

    def lookup(table: tuple[str, ...], idx: np.ndarray) -> pa.Array:
        # "" entries become nulls, which the joins below skip
        arr = pa.array([t or None for t in table], type=pa.string())
        return arr.take(pa.array(idx.astype(np.int32)))

    number = pc.cast(pa.array(a.number), pa.string())
    street = pc.binary_join_element_wise(
        number,
        lookup(PREFIXES, a.prefix),
        lookup(DIRECTIONS, a.predir),
        pools.arrow("streets").take(pa.array(a.street)),
        lookup(TYPES, a.stype),
        " ",
        null_handling="skip",
    )
    num = pc.cast(pa.array(a.unit_num, mask=a.unit_num == 0), pa.string())
    letter = lookup(("", *LETTERS), a.unit_letter)
    designator = pc.binary_join_element_wise(num, letter, "", null_handling="skip")
    unit = pc.binary_join_element_wise(
        lookup(UNIT_KINDS, a.unit_kind), designator, " ", null_handling="skip"
    )
    unit = pc.if_else(pa.array(a.unit_kind == 0), pa.scalar(""), unit)
    year = pc.cast(pa.array(a.year.astype(np.int32) - 1), pa.string())
    tax_year = pc.if_else(pa.array(a.source == 3), pa.scalar(None, pa.string()), year)
    source = pc.binary_join_element_wise(
        lookup(SOURCES, a.source), tax_year, "", null_handling="skip"
    )
    city = pa.array(a.city.astype(np.int32))
    return {
        "street": street,
        "unit": unit,
        "city": pools.arrow("city").take(city),
        "state": pools.arrow("city_state").take(city),
        "zip": pools.arrow("zips").take(pa.array(a.zip)),
        "valid_from": format_days(a.valid_from),
        "source": source,
    }
