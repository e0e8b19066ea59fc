"""Name, place and street pools, read once from the CSV files in ``synth/data``.

The pools are data, not code, so that a reviewer who knows a community's names can correct
them without reading Python. Each file lists names in rough order of frequency; where a
``weight`` column is blank, a Zipf–Mandelbrot weight ``1 / (rank + q) ** s`` is derived from
the rank. That gives the long tail of real name distributions *and* a heavy head, which is the
point: a crowd of "José Hernández" or "Nguyen Van Minh" in one city must actually occur,
because that is where a careless matcher discloses the wrong person.

Every string is kept in two forms: as written (José, Nguyễn) and folded to ASCII (Jose,
Nguyen), since tax records and requests each hold either form.

Example:
    >>> p = load_pools()
    >>> p.origins
    ('hispanic', 'anglo', 'vietnamese', 'chinese', 'arabic')
    >>> str(p.surnames[p.surname_pools["vietnamese"].index[0]])
    'Nguyễn'
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pyarrow as pa
from unidecode import unidecode

ORIGINS: tuple[str, ...] = ("hispanic", "anglo", "vietnamese", "chinese", "arabic")
"""Name origins, in the order of every per-origin array (their index is the origin code)."""

PARTICLES: frozenset[str] = frozenset({"de", "del", "la", "las", "los", "y"})
"""Lower-case words that belong to the following surname word (de la Cruz, del Río)."""

# Zipf–Mandelbrot (q, s) per kind of pool: given names are flatter than surnames at the head.
_ZIPF: dict[str, tuple[float, float]] = {
    "given": (6.0, 1.05),
    "middle": (4.0, 1.0),
    "surname": (10.0, 1.0),
    "street": (5.0, 0.9),
}


@dataclass(frozen=True)
class Pool:
    """Indices into a global string table with sampling probabilities (summing to 1)."""

    index: np.ndarray  # int32 positions in the global table
    p: np.ndarray  # float64 probabilities

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` global indices drawn with the pool's weights."""
        if n == 0:
            return np.zeros(0, dtype=np.int32)
        return self.index[rng.choice(len(self.index), size=n, p=self.p)].astype(np.int32)


@dataclass(frozen=True)
class Pools:
    """Everything the generator samples from. Arrays are indexed by global position."""

    origins: tuple[str, ...]
    given: np.ndarray  # object: given and middle names as written
    given_ascii: np.ndarray
    given_accent: np.ndarray  # bool: the written form has a non-ASCII letter
    given_pools: dict[tuple[str, str, str], Pool]  # (origin, "M"|"F", "given"|"middle")
    surnames: np.ndarray
    surnames_ascii: np.ndarray
    surname_accent: np.ndarray
    surname_particle: np.ndarray  # bool: starts with a particle (de la Cruz)
    surname_pools: dict[str, Pool]
    nicknames: dict[str, tuple[str, ...]]  # folded lower-case formal name -> nicknames
    city: np.ndarray  # object, sorted by state then city
    city_state: np.ndarray
    city_state_code: np.ndarray  # int32 index into ``states``
    city_population: np.ndarray  # float64, thousands
    city_weight: np.ndarray  # float64 [origin, city]: where people of each origin live
    states: tuple[str, ...]
    zips: np.ndarray  # object: every city's ZIP codes, concatenated
    zip_start: np.ndarray  # int32 first ZIP of each city
    zip_count: np.ndarray  # int32 number of ZIPs of each city
    streets: np.ndarray  # object, ASCII (USPS addresses carry no accents)
    street_spanish: np.ndarray  # bool: Spanish-style name (Calle Sol, Camino Real)
    street_p: np.ndarray
    facilities: tuple[tuple[str, str, str, str], ...]  # name, city, state, zip

    def arrow(self, name: str) -> pa.Array:
        """A string table as an Arrow array, for vectorised ``take``."""
        return _arrow_cache(self, name)


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("ftigate.synth").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def zipf_weights(n: int, kind: str) -> np.ndarray:
    """Zipf–Mandelbrot probabilities for ranks 1..n of a pool of ``kind``.

    >>> w = zipf_weights(3, "given")
    >>> bool(w[0] > w[1] > w[2]) and round(float(w.sum()), 6)
    1.0
    """
    q, s = _ZIPF[kind]
    w = 1.0 / (np.arange(1, n + 1, dtype=np.float64) + q) ** s
    return np.asarray(w / w.sum(), dtype=np.float64)


def _weights(rows: list[dict[str, str]], kind: str, where: str) -> np.ndarray:
    given = [r["weight"].strip() for r in rows]
    if all(given):
        w = np.array([float(x) for x in given])
        return np.asarray(w / w.sum(), dtype=np.float64)
    if any(given):
        raise ValueError(f"{where}: give a weight to every row of a group or to none")
    return zipf_weights(len(rows), kind)


def _has_accent(names: np.ndarray) -> np.ndarray:
    return np.array([not s.isascii() for s in names], dtype=bool)


def _fold(names: list[str]) -> np.ndarray:
    return np.array([unidecode(s) for s in names], dtype=object)


@functools.cache
def load_pools() -> Pools:
    """Read and index every data file (cached: the files never change while running)."""
    given_rows = _read("given_names.csv")
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, r in enumerate(given_rows):
        groups.setdefault((r["origin"], r["sex"], r["kind"]), []).append(i)
    given = np.array([r["name"] for r in given_rows], dtype=object)
    given_pools = {
        key: Pool(
            np.array(idx, dtype=np.int32),
            _weights([given_rows[i] for i in idx], key[2], f"given_names.csv {key}"),
        )
        for key, idx in groups.items()
    }

    sur_rows = _read("surnames.csv")
    sgroups: dict[str, list[int]] = {}
    for i, r in enumerate(sur_rows):
        sgroups.setdefault(r["origin"], []).append(i)
    surnames = np.array([r["name"] for r in sur_rows], dtype=object)
    surname_pools = {
        o: Pool(
            np.array(idx, dtype=np.int32),
            _weights([sur_rows[i] for i in idx], "surname", f"surnames.csv {o}"),
        )
        for o, idx in sgroups.items()
    }

    nick: dict[str, list[str]] = {}
    for r in _read("nicknames.csv"):
        nick.setdefault(unidecode(r["name"]).lower(), []).append(r["nickname"])

    cities = sorted(_read("cities.csv"), key=lambda r: (r["state"], r["city"]))
    states = tuple(sorted({r["state"] for r in cities}))
    pop = np.array([float(r["population_k"]) for r in cities])
    pct = {
        o: np.array([float(r[f"{o}_pct"]) for r in cities])
        for o in ("hispanic", "vietnamese", "chinese", "arabic")
    }
    anglo = np.clip(100.0 - sum(pct.values()), 1.0, None)
    share = {**pct, "anglo": anglo}
    city_weight = np.stack([pop * share[o] / 100.0 for o in ORIGINS])
    city_weight /= city_weight.sum(axis=1, keepdims=True)
    zip_lists = [r["zips"].split() for r in cities]
    zip_count = np.array([len(z) for z in zip_lists], dtype=np.int32)
    zip_start = np.concatenate([[0], np.cumsum(zip_count)[:-1]]).astype(np.int32)

    street_rows = _read("streets.csv")
    return Pools(
        origins=ORIGINS,
        given=given,
        given_ascii=_fold(list(given)),
        given_accent=_has_accent(given),
        given_pools=given_pools,
        surnames=surnames,
        surnames_ascii=_fold(list(surnames)),
        surname_accent=_has_accent(surnames),
        surname_particle=np.array(
            [s.split(" ", 1)[0].lower() in PARTICLES for s in surnames], dtype=bool
        ),
        surname_pools=surname_pools,
        nicknames={k: tuple(v) for k, v in nick.items()},
        city=np.array([r["city"] for r in cities], dtype=object),
        city_state=np.array([r["state"] for r in cities], dtype=object),
        city_state_code=np.array([states.index(r["state"]) for r in cities], dtype=np.int32),
        city_population=pop,
        city_weight=city_weight,
        states=states,
        zips=np.array([z for zs in zip_lists for z in zs], dtype=object),
        zip_start=zip_start,
        zip_count=zip_count,
        streets=_fold([r["name"] for r in street_rows]),
        street_spanish=np.array([r["style"] == "es" for r in street_rows], dtype=bool),
        street_p=zipf_weights(len(street_rows), "street"),
        facilities=tuple(
            (r["name"], r["city"], r["state"], r["zip"]) for r in _read("facilities.csv")
        ),
    )


_ARROW: dict[tuple[int, str], pa.Array] = {}


def _arrow_cache(pools: Pools, name: str) -> pa.Array:
    key = (id(pools), name)
    if key not in _ARROW:
        _ARROW[key] = pa.array(list(getattr(pools, name)), type=pa.string())
    return _ARROW[key]
