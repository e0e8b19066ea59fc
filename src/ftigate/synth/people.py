"""Synthetic people as integer codes, the decoys planted among them, and their name strings.

A person is a row of small integer arrays (origin, sex, indices into the name pools, dob as
days since 1970, ...). Everything is drawn for all people at once, and strings are made only at
the end, in Arrow, so two million taxpayers take seconds rather than minutes.

Decoys are the people a careless matcher discloses by mistake, so they are planted on purpose:

* twins: same surname, dob and address history, different first names; some pairs share a
  first initial, so a request that gives only the initial fits both;
* father and son (Sr/Jr) with the same full name, living at the same last address;
* crowds: many people with one very common full name in one city ("José Hernández" in
  Houston, "Nguyen Van Minh" in San Jose).

Example:
    >>> from ftigate.synth.pools import load_pools
    >>> rng = np.random.default_rng(3)
    >>> p = draw_people(load_pools(), rng, 1000)
    >>> 0.10 < p.itin.mean() < 0.25 and len(p.first) == 1000
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

from ftigate.synth.pools import ORIGINS, Pool, Pools

HISPANIC, ANGLO, VIETNAMESE, CHINESE, ARABIC = range(5)
FEMALE, MALE = 0, 1
SEX = ("F", "M")
SUFFIXES: tuple[str, ...] = ("", "Jr", "Sr", "II", "III")
JR, SR = 1, 2
PLAIN, TWIN_A, TWIN_B, FATHER, SON, CROWD = range(6)
ROLE_NAMES = ("plain", "twin_a", "twin_b", "father", "son", "crowd")

REF_DAY = int(np.datetime64("2025-01-01", "D").astype(np.int64))
"""Ages are measured on this day; everyone in the register is an adult by then."""

REGISTER_ORIGIN_SHARE = np.array([0.34, 0.40, 0.07, 0.10, 0.09])
"""About a third Hispanic, as the brief asks; Anglo stands for every other long-settled name."""
ITIN_RATE = np.array([0.38, 0.03, 0.11, 0.15, 0.13])
"""Per origin; gives 15-20% ITIN filers overall, concentrated where ITIN filers are."""
ENGLISH_FIRST = np.array([0.08, 0.0, 0.20, 0.30, 0.04])
"""Chance that a first name is an English one (Kevin Nguyen, David Chen, Jennifer Martínez)."""
MIDDLE_RATE = np.array([0.35, 0.70, 0.85, 0.15, 0.60])
COMPOUND_SURNAME = 0.45  # Hispanic: paternal + maternal surname
HYPHENATED = 0.12  # of compound surnames
ASCII_RATE = np.array([0.30, 0.0, 0.60, 0.0, 0.0])
"""Share of records stored without accents (José as Jose); IRS systems often drop them."""


@dataclass
class People:
    """One entry per person in every array; ``-1`` means "none" in the index arrays."""

    origin: np.ndarray  # int8 index into ORIGINS
    sex: np.ndarray  # int8 FEMALE | MALE
    first: np.ndarray  # int32 index into pools.given
    middle: np.ndarray  # int32 index into pools.given, -1 none
    sur1: np.ndarray  # int32 index into pools.surnames
    sur2: np.ndarray  # int32, -1 none (Hispanic maternal surname)
    hyphen: np.ndarray  # bool: sur1-sur2
    ascii: np.ndarray  # bool: names stored without accents
    suffix: np.ndarray  # int8 index into SUFFIXES
    dob: np.ndarray  # int32 days since 1970-01-01
    itin: np.ndarray  # bool
    tin: np.ndarray  # int64, 0 until assigned
    role: np.ndarray  # int8 PLAIN ... CROWD
    partner: np.ndarray  # int64: the other twin, or father <-> son; -1 none
    crowd: np.ndarray  # int32 crowd id, -1 none

    def __len__(self) -> int:
        return len(self.origin)

    def subset(self, idx: np.ndarray) -> People:
        return People(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass(frozen=True)
class DecoyPlan:
    """How many decoy structures to plant; sized by the caller from the requests it will make."""

    twin_pairs: int = 0
    ambiguous_twin_pairs: int = 0  # of twin_pairs: first names share an initial
    jr_sr_pairs: int = 0
    crowds: int = 0
    crowd_min: int = 12
    crowd_max: int = 40


@dataclass(frozen=True)
class Crowds:
    """Crowd ``c`` lives (last address) in city ``city[c]``; its members have ``crowd == c``."""

    city: np.ndarray  # int32 per crowd


def draw_people(
    pools: Pools, rng: np.random.Generator, n: int, origin_share: np.ndarray = REGISTER_ORIGIN_SHARE
) -> People:
    """``n`` independent adults with names fitting their origin and sex (no TINs yet)."""
    origin = rng.choice(len(ORIGINS), size=n, p=origin_share).astype(np.int8)
    sex = (rng.random(n) < 0.5).astype(np.int8)
    itin = rng.random(n) < ITIN_RATE[origin]
    # Ages 18-90 skewed to working age; ITIN filers are younger on average.
    age = 18.0 + 72.0 * np.where(itin, rng.beta(1.8, 3.5, n), rng.beta(1.7, 2.6, n))
    dob = (REF_DAY - np.floor(age * 365.25)).astype(np.int32)
    first = np.zeros(n, dtype=np.int32)
    middle = np.full(n, -1, dtype=np.int32)
    english = rng.random(n) < ENGLISH_FIRST[origin]
    has_mid = rng.random(n) < MIDDLE_RATE[origin]
    for o, name in enumerate(ORIGINS):
        for s, sx in enumerate(SEX):
            m = (origin == o) & (sex == s)
            own = pools.given_pools[(name, sx, "given")]
            first[m] = own.draw(rng, int(m.sum()))
            me = m & english
            first[me] = pools.given_pools[("anglo", sx, "given")].draw(rng, int(me.sum()))
            mm = m & has_mid
            middle[mm] = _middle_pool(pools, name, sx).draw(rng, int(mm.sum()))
    middle[middle == first] = -1
    sur1 = np.zeros(n, dtype=np.int32)
    for o, name in enumerate(ORIGINS):
        m = origin == o
        sur1[m] = pools.surname_pools[name].draw(rng, int(m.sum()))
    hisp = origin == HISPANIC
    compound = hisp & (rng.random(n) < COMPOUND_SURNAME)
    sur2 = np.full(n, -1, dtype=np.int32)
    sur2[compound] = pools.surname_pools["hispanic"].draw(rng, int(compound.sum()))
    hyphen = compound & (rng.random(n) < HYPHENATED)
    ascii_ = rng.random(n) < ASCII_RATE[origin]
    suffix = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    anglo_m = (origin == ANGLO) & (sex == MALE)
    suffix[anglo_m & (u < 0.025)] = JR
    suffix[anglo_m & (u >= 0.025) & (u < 0.033)] = SR
    suffix[anglo_m & (u >= 0.033) & (u < 0.038)] = 3
    suffix[anglo_m & (u >= 0.038) & (u < 0.042)] = 4
    suffix[hisp & (sex == MALE) & (u < 0.01)] = JR
    return People(
        origin=origin,
        sex=sex,
        first=first,
        middle=middle,
        sur1=sur1,
        sur2=sur2,
        hyphen=hyphen,
        ascii=ascii_,
        suffix=suffix,
        dob=dob,
        itin=itin,
        tin=np.zeros(n, dtype=np.int64),
        role=np.zeros(n, dtype=np.int8),
        partner=np.full(n, -1, dtype=np.int64),
        crowd=np.full(n, -1, dtype=np.int32),
    )


def plant_decoys(pools: Pools, rng: np.random.Generator, people: People, plan: DecoyPlan) -> Crowds:
    """Turn randomly chosen plain people into twins, Sr/Jr pairs and crowds (in place)."""
    n = len(people)
    py = random.Random(int(rng.integers(2**62)))
    order = rng.permutation(n)
    at = 0

    # Twins: B becomes A's sibling born the same day (addresses are copied later).
    t = plan.twin_pairs
    a, b = order[at : at + t], order[at + t : at + 2 * t]
    at += 2 * t
    for name in ("origin", "sur1", "sur2", "hyphen", "ascii", "dob", "itin"):
        arr = getattr(people, name)
        arr[b] = arr[a]
    people.sex[b] = (rng.random(t) < 0.5).astype(np.int8)
    people.suffix[a] = 0
    people.suffix[b] = 0
    _redraw_first(pools, rng, people, b, avoid=people.first[a])
    _share_initial(
        pools, py, people, a[: plan.ambiguous_twin_pairs], b[: plan.ambiguous_twin_pairs]
    )
    _redraw_middle(pools, rng, people, b)  # after _share_initial: the sex may change
    people.role[a], people.role[b] = TWIN_A, TWIN_B
    people.partner[a], people.partner[b] = b, a

    # Father and son: same full name, Sr/Jr (the father's suffix is often left off).
    rest = order[at:]
    fit = rest[np.isin(people.origin[rest], (ANGLO, HISPANIC))]
    j = plan.jr_sr_pairs
    f, s = fit[:j], fit[j : 2 * j]
    people.origin[s] = people.origin[f]
    people.sex[f] = MALE
    people.sex[s] = MALE
    _redraw_first(pools, rng, people, f, avoid=np.full(j, -1))
    _redraw_middle(pools, rng, people, f)
    for name in ("first", "middle", "sur1", "sur2", "hyphen", "ascii"):
        arr = getattr(people, name)
        arr[s] = arr[f]
    people.suffix[s] = JR
    people.suffix[f] = np.where(rng.random(j) < 0.7, SR, 0)
    son_age = rng.uniform(18.0, 50.0, j)
    people.dob[s] = (REF_DAY - np.floor(son_age * 365.25)).astype(np.int32)
    people.dob[f] = people.dob[s] - np.floor(rng.uniform(20.0, 40.0, j) * 365.25).astype(np.int32)
    people.role[f], people.role[s] = FATHER, SON
    people.partner[f], people.partner[s] = s, f
    used = np.zeros(n, dtype=bool)
    used[order[:at]] = True
    used[f] = used[s] = True
    free = order[~used[order]]

    # Crowds: one very common name, many people, one city.
    crowd_origin = rng.choice(5, size=plan.crowds, p=[0.45, 0.2, 0.15, 0.1, 0.1])
    crowd_city = np.zeros(plan.crowds, dtype=np.int32)
    size = rng.integers(plan.crowd_min, plan.crowd_max + 1, plan.crowds)
    pos = 0
    for c in range(plan.crowds):
        o = int(crowd_origin[c])
        name = ORIGINS[o]
        sx = MALE if rng.random() < 0.75 else FEMALE
        first = _head(pools.given_pools[(name, SEX[sx], "given")].index, rng, 4)
        sur = _head(pools.surname_pools[name].index, rng, 4)
        mid = -1
        if name == "vietnamese":
            mid = int(pools.given_pools[(name, SEX[sx], "middle")].index[0])  # Văn / Thị
        crowd_city[c] = rng.choice(len(pools.city), p=pools.city_weight[o])
        members = free[pos : pos + int(size[c])]
        pos += int(size[c])
        people.origin[members] = o
        people.sex[members] = sx
        people.first[members] = first
        people.middle[members] = mid
        people.sur1[members] = sur
        people.sur2[members] = -1
        people.hyphen[members] = False
        people.ascii[members] = rng.random(len(members)) < ASCII_RATE[o]
        people.suffix[members] = 0
        people.itin[members] = rng.random(len(members)) < ITIN_RATE[o]
        people.role[members] = CROWD
        people.crowd[members] = c
    return Crowds(city=crowd_city)


def _middle_pool(pools: Pools, origin: str, sex: str) -> Pool:
    if origin == "vietnamese":  # Văn, Thị, Đức ...
        return pools.given_pools[(origin, sex, "middle")]
    if origin == "arabic":  # the father's given name
        return pools.given_pools[(origin, "M", "given")]
    return pools.given_pools[(origin, sex, "given")]


def _redraw_middle(pools: Pools, rng: np.random.Generator, people: People, who: np.ndarray) -> None:
    """New middle names for those of ``who`` who have one, fitting their (new) origin and sex."""
    who = who[people.middle[who] >= 0]
    for o, name in enumerate(ORIGINS):
        for s, sx in enumerate(SEX):
            idx = who[(people.origin[who] == o) & (people.sex[who] == s)]
            people.middle[idx] = _middle_pool(pools, name, sx).draw(rng, len(idx))
    clash = who[people.middle[who] == people.first[who]]
    people.middle[clash] = -1


def _head(index: np.ndarray, rng: np.random.Generator, k: int) -> int:
    """One of the ``k`` most common names of a pool."""
    return int(index[rng.integers(0, min(k, len(index)))])


def _redraw_first(
    pools: Pools, rng: np.random.Generator, people: People, who: np.ndarray, avoid: np.ndarray
) -> None:
    """New first names for ``who`` from their origin and sex, never equal to ``avoid``."""
    for o, name in enumerate(ORIGINS):
        for s, sx in enumerate(SEX):
            m = (people.origin[who] == o) & (people.sex[who] == s)
            pool = pools.given_pools[(name, sx, "given")]
            idx = who[m]
            people.first[idx] = pool.draw(rng, len(idx))
            clash = people.first[idx] == avoid[m]
            if clash.any():  # the next name in the pool is as good and never the same
                pos = np.searchsorted(pool.index, people.first[idx][clash])
                people.first[idx[clash]] = pool.index[(pos + 1) % len(pool.index)]


def _share_initial(
    pools: Pools, py: random.Random, people: People, a: np.ndarray, b: np.ndarray
) -> None:
    """Give twins ``a[i]``, ``b[i]`` the same sex and two different names with one initial."""
    groups: dict[tuple[int, int], list[tuple[str, list[int], list[float]]]] = {}
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        o, s = int(people.origin[i]), int(people.sex[i])
        if (o, s) not in groups:
            groups[(o, s)] = _initial_groups(pools, ORIGINS[o], SEX[s])
        options = groups[(o, s)]
        _, idx, w = py.choices(options, weights=[sum(g[2]) for g in options])[0]
        x, y = _two_distinct(py, idx, w)
        people.first[i], people.first[j] = x, y
        people.sex[j] = s


def _initial_groups(
    pools: Pools, origin: str, sex: str
) -> list[tuple[str, list[int], list[float]]]:
    pool = pools.given_pools[(origin, sex, "given")]
    by: dict[str, tuple[list[int], list[float]]] = {}
    for i, p in zip(pool.index.tolist(), pool.p.tolist(), strict=True):
        key = unidecode(str(pools.given[i]))[:1].upper()
        by.setdefault(key, ([], []))
        by[key][0].append(i)
        by[key][1].append(p)
    return [(k, v[0], v[1]) for k, v in sorted(by.items()) if len(v[0]) >= 2]


def _two_distinct(py: random.Random, idx: list[int], w: list[float]) -> tuple[int, int]:
    x = py.choices(idx, weights=w)[0]
    rest = [(i, p) for i, p in zip(idx, w, strict=True) if i != x]
    y = py.choices([i for i, _ in rest], weights=[p for _, p in rest])[0]
    return x, y


def name_columns(pools: Pools, people: People) -> dict[str, pa.Array]:
    """first_name, middle_name, last_name and suffix strings; dob as ``YYYY-MM-DD``."""
    first = _pick(pools, "given", people.first, people.ascii)
    middle = _pick(pools, "given", people.middle, people.ascii)
    s1 = _pick(pools, "surnames", people.sur1, people.ascii)
    s2 = _pick(pools, "surnames", people.sur2, people.ascii)
    joined = pc.binary_join_element_wise(s1, s2, " ", null_handling="skip")
    hyph = pc.binary_join_element_wise(s1, s2, "-", null_handling="skip")
    last = pc.if_else(pa.array(people.hyphen), hyph, joined)
    suffix = pa.array(SUFFIXES, type=pa.string()).take(pa.array(people.suffix.astype(np.int32)))
    return {
        "first_name": first,
        "middle_name": pc.fill_null(middle, ""),
        "last_name": last,
        "suffix": suffix,
        "dob": format_days(people.dob),
    }


def _pick(pools: Pools, table: str, idx: np.ndarray, ascii_: np.ndarray) -> pa.Array:
    """Strings at ``idx`` (null where -1), folded to ASCII where ``ascii_``."""
    ix = pa.array(idx, mask=idx < 0, type=pa.int32())
    written = pools.arrow(table).take(ix)
    folded = pools.arrow(f"{table}_ascii").take(ix)
    return pc.if_else(pa.array(ascii_), folded, written)


def format_days(days: np.ndarray) -> pa.Array:
    """Days since 1970 -> ``YYYY-MM-DD`` strings."""
    return pc.cast(pa.array(days.astype(np.int32), type=pa.int32()).cast(pa.date32()), pa.string())
