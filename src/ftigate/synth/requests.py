"""The identity part of each request row, case by case: who it is about and what it says.

A builder per case (see :mod:`ftigate.synth.cases`) picks its people and returns a frame with
the name, dob and address columns as the requester would send them, plus what only the truth
knows: the register TIN the row is about (empty when absent), the origin, the person index.
:mod:`ftigate.synth.batch` then adds statutes, officers, TINs and request ids.

People are picked once each, in a fixed priority order that favours those an enforcement
agency asks about (ITIN filers, Hispanic, Vietnamese, Chinese and Arabic names), and only from
people who fit the case: a nickname needs a name with one, a stale address needs a history.
General cases never pick a decoy; the decoy cases pick nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ftigate.synth import mutate
from ftigate.synth.addresses import DIRECTIONS, TYPE_P, TYPES, address_columns, draw_addresses
from ftigate.synth.people import (
    CHINESE,
    CROWD,
    FATHER,
    HISPANIC,
    PLAIN,
    TWIN_A,
    VIETNAMESE,
    draw_people,
    name_columns,
)
from ftigate.synth.pools import ORIGINS, Pools
from ftigate.synth.register import Register

Rows = dict[str, list[Any]]
"""Columns of one case's rows, as lists: cheap to edit row by row, framed once at the end."""

IDENTITY = (
    "first_name",
    "middle_name",
    "last_name",
    "dob",
    "street",
    "unit",
    "city",
    "state",
    "zip",
)
ADDRESS = ("street", "unit", "city", "state", "zip")
REQUEST_WEIGHT = np.array([3.0, 0.3, 1.5, 1.2, 1.5])
"""How much more often the requester asks about people of each origin."""
ITIN_WEIGHT = 4.0
ABSENT_ORIGIN_SHARE = np.array([0.70, 0.10, 0.06, 0.06, 0.08])
"""Origins of the people a requester names who are not in the register."""

PLACEHOLDERS: tuple[tuple[str, str, str, str, str], ...] = (
    # street, unit, city, state, zip - as in the 2025 batch; {zip} {plus4} {city} {state}
    ("Failed to Provide", "", "Failed to Provide", "", ""),
    ("Unknown Address", "", "", "", ""),
    ("NA NA", "", "NA", "NA", ""),
    ("N/A", "", "N/A", "N/A", "N/A"),
    ("", "", "", "", "{zip}"),
    ("", "", "", "", "{zip}-{plus4}"),
    ("Failed to Provide", "", "", "", "{zip}"),
    ("Don't Care {zip}", "", "", "", ""),
    ("Unknown", "", "{city}", "{state}", ""),
    ("", "", "{city}", "{state}", "{zip}"),
)
MALFORMED_DOB = ("{y}-02-30", "{y}-13-{d}", "{y}-00-{d}", "{y}-{m}-32")


class NobodyFits(Exception):
    """The register holds nobody a case could be about (only in tiny registers)."""


class RequestBuilder:
    """Builds identity frames for each case from one register, reproducibly from ``rng``."""

    def __init__(self, pools: Pools, reg: Register, rng: np.random.Generator) -> None:
        self.pools, self.reg, self.rng = pools, reg, rng
        self.py = random.Random(int(rng.integers(2**62)))
        people = reg.people
        n = len(people)
        weight = REQUEST_WEIGHT[people.origin] * np.where(people.itin, ITIN_WEIGHT, 1.0)
        key = np.log(rng.random(n) + 1e-300) / weight  # Efraimidis-Spirakis weighted order
        self.order = np.argsort(-key, kind="stable")
        self.used = np.zeros(n, dtype=bool)
        self.count = reg.address_count()
        self.plain = people.role == PLAIN
        self._reg_keys: np.ndarray | None = None
        self._streets = list(pools.streets)
        self._street_cum = np.cumsum(pools.street_p).tolist()

    # -- picking people -------------------------------------------------------------------
    def pick(self, mask: np.ndarray, k: int, what: str) -> np.ndarray:
        """``k`` people fitting ``mask``, unused ones first, in priority order."""
        fits = mask[self.order]
        fresh = self.order[fits & ~self.used[self.order]]
        chosen = fresh[:k]
        if len(chosen) < k:  # a small register: ask about somebody twice
            again = self.order[fits & self.used[self.order]]
            if len(again) + len(chosen) == 0:
                raise NobodyFits(what)
            pool = np.concatenate([chosen, again])
            chosen = np.concatenate([chosen, pool[np.arange(k - len(chosen)) % len(pool)]])
        self.used[chosen] = True
        return chosen.astype(np.int64)

    def base(self, persons: np.ndarray, rows: np.ndarray | None = None) -> Rows:
        """Rows exactly as the register has the people (at ``rows``: their last address)."""
        rows = self.reg.last_address_rows(persons) if rows is None else rows
        t, a = self.reg.taxpayers, self.reg.addresses
        ip, ir = pa.array(persons), pa.array(rows)
        data: Rows = {c: t.column(c).take(ip).to_pylist() for c in IDENTITY[:4]}
        data.update({c: a.column(c).take(ir).to_pylist() for c in ADDRESS})
        data["truth_tin"] = t.column("tin").take(ip).to_pylist()
        data["origin"] = [ORIGINS[o] for o in self.reg.people.origin[persons]]
        data["person"] = persons.tolist()
        return data

    # -- the cases --------------------------------------------------------------------------
    def build(self, case: str, k: int) -> pd.DataFrame:
        if k == 0:
            return pd.DataFrame(columns=[*IDENTITY, "truth_tin", "origin", "person"])
        method: Callable[[int], Rows] = getattr(self, f"case_{case}", self.case_exact)
        try:
            df = pd.DataFrame(method(k))
        except NobodyFits:  # a tiny register: ask plainly instead
            df, case = pd.DataFrame(self.case_exact(k)), "exact"
        df["case"] = case
        return df

    def case_exact(self, k: int) -> Rows:
        return self.base(self.pick(self.plain, k, "exact"))

    def case_typo(self, k: int) -> Rows:
        df = self.case_exact(k)
        py = self.py
        first, last, street = df["first_name"], df["last_name"], df["street"]
        for i in range(k):
            edits = 1 if py.random() < 0.7 else 2
            u = py.random()
            if u < 0.4:
                first[i] = mutate.typo(first[i], py, edits)
            elif u < 0.8:
                last[i] = mutate.typo(last[i], py, edits)
            else:
                street[i] = mutate.street_typo(street[i], py, edits)
        return df

    def case_nickname(self, k: int) -> Rows:
        pools = self.pools
        has = np.array(
            [mutate.fold(str(g)).lower() in pools.nicknames for g in pools.given], dtype=bool
        )
        df = self.base(self.pick(self.plain & has[self.reg.people.first], k, "nickname"))
        first = df["first_name"]
        for i in range(k):
            first[i] = mutate.nickname(first[i], pools.nicknames, self.py) or first[i]
        return df

    def case_surname_swap(self, k: int) -> Rows:
        p = self.reg.people
        fits = (p.origin == HISPANIC) & ((p.sur2 >= 0) | self.pools.surname_particle[p.sur1])
        df = self.base(self.pick(self.plain & fits, k, "surname_swap"))
        df["last_name"] = [mutate.surname_variant(v, self.py) for v in df["last_name"]]
        return df

    def case_name_order_swap(self, k: int) -> Rows:
        fits = np.isin(self.reg.people.origin, (VIETNAMESE, CHINESE))
        df = self.base(self.pick(self.plain & fits, k, "name_order_swap"))
        df["first_name"], df["last_name"] = df["last_name"], df["first_name"]
        return df

    def case_accents_dropped(self, k: int) -> Rows:
        p, pools = self.reg.people, self.pools
        mid = np.where(p.middle >= 0, p.middle, 0)
        sur2 = np.where(p.sur2 >= 0, p.sur2, 0)
        accented = ~p.ascii & (
            pools.given_accent[p.first]
            | (pools.given_accent[mid] & (p.middle >= 0))
            | pools.surname_accent[p.sur1]
            | (pools.surname_accent[sur2] & (p.sur2 >= 0))
        )
        df = self.base(self.pick(self.plain & accented, k, "accents_dropped"))
        for c in ("first_name", "middle_name", "last_name", "street", "city"):
            df[c] = [mutate.fold(v) for v in df[c]]
        return df

    def case_stale_address(self, k: int) -> Rows:
        persons = self.pick(self.plain & (self.count >= 2), k, "stale_address")
        older = 1 + np.floor(self.rng.random(k) * (self.count[persons] - 1)).astype(np.int64)
        return self.base(persons, self.reg.addr.start[persons] + older)

    def case_partial_address(self, k: int) -> Rows:
        df = self.case_exact(k)
        unit, zip_ = df["unit"], df["zip"]
        for i in range(k):
            if unit[i] and self.py.random() < 0.6:
                unit[i] = ""
            else:
                zip_[i] = ""
        return df

    def case_missing_dob(self, k: int) -> Rows:
        df = self.case_exact(k)
        df["dob"] = [""] * k
        return df

    def _twins(self, k: int, same_initial: bool, what: str) -> np.ndarray:
        """One twin of each of ``k`` pairs (either A or B), from pairs fitting ``same_initial``."""
        p = self.reg.people
        a = np.nonzero(p.role == TWIN_A)[0]
        b = p.partner[a]
        given = self.pools.given_ascii
        same = np.array(
            [given[x][:1] == given[y][:1] for x, y in zip(p.first[a], p.first[b], strict=True)]
        )
        mask = np.zeros(len(p), dtype=bool)
        mask[a[same == same_initial]] = True
        chosen = self.pick(mask, k, what)
        flip = self.rng.random(k) < 0.5
        self.used[p.partner[chosen]] = True
        return np.where(flip, p.partner[chosen], chosen)

    def case_twin(self, k: int) -> Rows:
        return self.base(self._twins(k, False, "twin"))

    def case_twin_ambiguous(self, k: int) -> Rows:
        df = self.base(self._twins(k, True, "twin_ambiguous"))
        df["first_name"] = [mutate.initial(v) for v in df["first_name"]]
        df["middle_name"] = [""] * k
        return df

    def _jr_sr(self, k: int, what: str) -> np.ndarray:
        p = self.reg.people
        chosen = self.pick(p.role == FATHER, k, what)
        self.used[p.partner[chosen]] = True
        return np.where(self.rng.random(k) < 0.5, p.partner[chosen], chosen)

    def case_jr_sr(self, k: int) -> Rows:
        return self.base(self._jr_sr(k, "jr_sr"))

    def case_jr_sr_ambiguous(self, k: int) -> Rows:
        df = self.base(self._jr_sr(k, "jr_sr_ambiguous"))
        df["dob"] = [""] * k
        return df

    def case_crowd_member(self, k: int) -> Rows:
        return self.base(self.pick(self.reg.people.role == CROWD, k, "crowd_member"))

    def case_crowd(self, k: int) -> Rows:
        """A crowd's name and city with a street none of its members ever lived on."""
        p, a = self.reg.people, self.reg.addr
        members = np.nonzero(p.role == CROWD)[0]
        by_crowd = {int(c): members[p.crowd[members] == c] for c in np.unique(p.crowd[members])}
        if not by_crowd:
            raise NobodyFits("crowd")
        ids = np.array(sorted(by_crowd))
        which = self.rng.permutation(ids[np.arange(k) % len(ids)])
        template = np.array([by_crowd[int(c)][0] for c in which], dtype=np.int64)
        df = self.base(template)
        streets = self.reg.addresses.column("street")
        for i, c in enumerate(which):
            rows = np.concatenate([np.arange(a.start[m], a.start[m + 1]) for m in by_crowd[int(c)]])
            lived = set(streets.take(pa.array(rows)).to_pylist())
            street = self.random_street()
            while street in lived:
                street = self.random_street()
            city = int(self.reg.crowds.city[int(c)])
            df["street"][i], df["unit"][i] = street, ""
            df["zip"][i] = self.random_zip(city)
        df["dob"] = df["truth_tin"] = [""] * k
        df["person"] = [-1] * k
        return df

    def case_tin_conflict(self, k: int) -> Rows:
        df = self.case_exact(k)
        df["tin"] = self.other_tins(df["first_name"], df["last_name"])
        df["tin_supplied"] = ["other"] * k
        return df

    def case_absent(self, k: int) -> Rows:
        return self.outsiders(k)

    def case_tin_other_person(self, k: int) -> Rows:
        df = self.outsiders(k)
        df["tin"] = self.other_tins(df["first_name"], df["last_name"])
        df["tin_supplied"] = ["other"] * k
        return df

    def case_near_miss(self, k: int) -> Rows:
        """A real filer's name with one edit, in their city, at another street and dob."""
        persons = self.pick(self.plain, k, "near_miss")
        df = self.base(persons)
        city = self.reg.addr.city[self.reg.last_address_rows(persons)]
        py = self.py
        for i in range(k):
            col = df["last_name"] if py.random() < 0.5 else df["first_name"]
            old = new = col[i]
            while mutate.fold(new).lower() == mutate.fold(old).lower():
                new = mutate.typo(old, py)
            col[i] = new
            df["street"][i], df["unit"][i] = self.random_street(), ""
            df["zip"][i] = self.random_zip(int(city[i]))
        years = self.rng.integers(1, 16, k) * np.where(self.rng.random(k) < 0.5, -1, 1)
        shift = years * 365 + self.rng.integers(0, 300, k)
        df["dob"] = _shift_days(df["dob"], shift)
        df["truth_tin"] = [""] * k
        df["person"] = [-1] * k
        return self.avoid_namesakes(df)

    def case_pattern_2025(self, k: int) -> Rows:
        df = self.case_exact(k)
        for i in range(k):
            values = {
                "zip": df["zip"][i],
                "plus4": f"{self.py.randint(1, 9999):04d}",
                "city": df["city"][i],
                "state": df["state"][i],
            }
            template = PLACEHOLDERS[i % len(PLACEHOLDERS)]
            for c, v in zip(ADDRESS, template, strict=True):
                df[c][i] = v.format(**values)
        return df

    def case_facility_address(self, k: int) -> Rows:
        df = self.case_exact(k)
        for i in range(k):
            name, city, state, zip_ = self.py.choice(self.pools.facilities)
            for c, v in zip(ADDRESS, (name, "", city, state, zip_), strict=True):
                df[c][i] = v
        return df

    def case_blank_address(self, k: int) -> Rows:
        df = self.case_exact(k)
        for c in ADDRESS:
            df[c] = [""] * k
        return df

    def case_missing_name(self, k: int) -> Rows:
        df = self.case_exact(k)
        for c in ("first_name", "middle_name", "last_name"):
            df[c] = [""] * k
        return df

    def case_malformed_row(self, k: int) -> Rows:
        df = self.case_exact(k)
        dob = df["dob"]
        for i in range(k):
            y, m, d = dob[i].split("-")
            dob[i] = MALFORMED_DOB[i % len(MALFORMED_DOB)].format(y=y, m=m, d=d)
        return df

    # -- helpers -----------------------------------------------------------------------------
    def outsiders(self, k: int) -> Rows:
        """``k`` people who are not in the register, each at a current address."""
        people = draw_people(self.pools, self.rng, k, ABSENT_ORIGIN_SHARE)
        addr = draw_addresses(self.pools, self.rng, people, single=True)
        names, where = name_columns(self.pools, people), address_columns(self.pools, addr)
        data: Rows = {c: names[c].to_pylist() for c in IDENTITY[:4]}
        data.update({c: where[c].to_pylist() for c in ADDRESS})
        data["truth_tin"] = [""] * k
        data["origin"] = [ORIGINS[o] for o in people.origin]
        data["person"] = [-1] * k
        return self.avoid_namesakes(data)

    def register_keys(self) -> np.ndarray:
        """Sorted hashes of every taxpayer's folded (first, last, dob)."""
        if self._reg_keys is None:
            t = self.reg.taxpayers
            self._reg_keys = np.sort(
                _name_keys(
                    t.column("first_name").to_pandas(),
                    t.column("last_name").to_pandas(),
                    t.column("dob").to_pandas(),
                )
            )
        return self._reg_keys

    def avoid_namesakes(self, rows: Rows) -> Rows:
        """Move the dob of any outsider whose name and dob equal a taxpayer's.

        A row about somebody absent must not describe a taxpayer by accident: that would make
        a correct disclosure look like a wrong one.
        """
        keys = self.register_keys()
        for _ in range(100):
            mine = _name_keys(
                pd.Series(rows["first_name"]), pd.Series(rows["last_name"]), pd.Series(rows["dob"])
            )
            pos = np.minimum(np.searchsorted(keys, mine), max(len(keys) - 1, 0))
            clash = np.nonzero(keys[pos] == mine)[0] if len(keys) else np.zeros(0, dtype=int)
            if not len(clash):
                return rows
            moved = _shift_days(
                [rows["dob"][i] for i in clash], -self.rng.integers(1, 400, len(clash))
            )
            for i, d in zip(clash, moved, strict=True):
                rows["dob"][i] = d
        raise AssertionError("could not move outsiders away from their namesakes")

    def other_tins(self, first: list[str], last: list[str]) -> list[str]:
        """For each row, the TIN of a random taxpayer with another first and last name."""
        t = self.reg.taxpayers
        out = [""] * len(first)
        todo = np.arange(len(first))
        mine_f = _folded(pd.Series(first)).to_numpy()
        mine_l = _folded(pd.Series(last)).to_numpy()
        while len(todo):
            j = pa.array(self.rng.integers(t.num_rows, size=len(todo)))
            f = _folded(t.column("first_name").take(j).to_pandas()).to_numpy()
            ln = _folded(t.column("last_name").take(j).to_pandas()).to_numpy()
            ok = (f != mine_f[todo]) & (ln != mine_l[todo])
            tins = t.column("tin").take(j).to_pylist()
            for i, good, tin in zip(todo, ok, tins, strict=True):
                if good:
                    out[i] = tin
            todo = todo[~ok]
        return out

    def random_street(self) -> str:
        """A street line that looks like the register's (for addresses nobody has)."""
        py = self.py
        name = py.choices(self._streets, cum_weights=self._street_cum)[0]
        kind = py.choices(TYPES[1:], weights=list(TYPE_P))[0]
        number = int(np.exp(py.uniform(0.0, np.log(20000.0))))
        direction = DIRECTIONS[py.randrange(1, 5)] if py.random() < 0.2 else ""
        return " ".join(x for x in (str(max(number, 1)), direction, name, kind) if x)

    def random_zip(self, city: int) -> str:
        pools = self.pools
        return str(pools.zips[pools.zip_start[city] + self.py.randrange(pools.zip_count[city])])


def _shift_days(dates: list[str], days: np.ndarray) -> list[str]:
    """``YYYY-MM-DD`` strings moved by ``days``."""
    moved = np.array(dates, dtype="datetime64[D]") + days.astype("timedelta64[D]")
    return [str(d) for d in moved]


def _name_keys(first: pd.Series, last: pd.Series, dob: pd.Series) -> np.ndarray:
    """One 64-bit hash per (folded first, folded last, dob); equal names give equal keys."""
    frame = pd.DataFrame(
        {"f": _folded(first).to_numpy(), "l": _folded(last).to_numpy(), "d": dob.to_numpy()}
    )
    return np.asarray(pd.util.hash_pandas_object(frame, index=False), dtype=np.uint64)


def _folded(values: pd.Series) -> pd.Series:
    """Accent-folded, lower-cased strings, folding each distinct value once."""
    codes, uniques = pd.factorize(values)
    folded = np.array([mutate.fold(str(u)).lower() for u in uniques], dtype=object)
    return pd.Series(folded[codes] if len(uniques) else [], index=values.index, dtype=object)
