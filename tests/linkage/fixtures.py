"""A small, seeded register-and-requests generator for the linkage tests.

It is deliberately *not* ftigate.synth: the matcher must not be tuned to one generator. People
are drawn from several naming traditions, families share surnames and addresses, and a few
hard cases are planted by name (twins, father and son, a crowd sharing a common name).

Each request carries its truth: the TIN of the person it is about ("" when that person is not
in the register) and a case label.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ftigate.model import Request

BLANK_AND_ODD = (
    Request(line=900, request_id="blank"),
    Request(
        line=901,
        request_id="odd",
        first_name="?",
        last_name="'",
        dob="13/45/99",
        street="Failed to Provide",
        zip="n/a",
        tin="12",
    ),
)
"""A request with nothing in it and one with only junk: linkage must take both in its stride."""

GIVEN_M = [
    "Francisco",
    "José",
    "Juan",
    "Carlos",
    "Luis",
    "Miguel",
    "Jesús",
    "Ignacio",
    "Roberto",
    "Alberto",
    "Eduardo",
    "Guillermo",
    "Rafael",
    "Antonio",
    "Manuel",
    "William",
    "Robert",
    "James",
    "Michael",
    "David",
    "Richard",
    "Thomas",
    "Joseph",
    "Minh",
    "Tuan",
    "Hung",
    "Quang",
    "Wei",
    "Jun",
    "Ming",
    "Mohammed",
    "Ahmed",
    "Omar",
    "Yusuf",
    "Hussein",
    "Abdul Rahman",
    "Enrique",
    "Alejandro",
    "Daniel",
    "Pedro",
]
GIVEN_F = [
    "María",
    "Guadalupe",
    "Dolores",
    "Rosario",
    "Concepción",
    "Mercedes",
    "Ana",
    "Carmen",
    "Elizabeth",
    "Margaret",
    "Patricia",
    "Jennifer",
    "Linda",
    "Susan",
    "Thi Hoa",
    "Lan",
    "Mai",
    "Li Na",
    "Mei",
    "Fatima",
    "Aisha",
    "Layla",
    "Sofia",
    "Lucia",
    "Isabel",
    "Alejandra",
    "Gabriela",
    "Josefa",
    "Teresa",
    "Yolanda",
]
SURNAMES = [
    "García",
    "López",
    "Martínez",
    "Rodríguez",
    "Hernández",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Díaz",
    "Reyes",
    "Morales",
    "Smith",
    "Johnson",
    "Williams",
    "Williamson",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Nguyen",
    "Tran",
    "Le",
    "Pham",
    "Hoang",
    "Zhang",
    "Wang",
    "Li",
    "Chen",
    "Liu",
    "Al-Hassan",
    "Haddad",
    "Khalil",
    "Mansour",
    "de la Cruz",
    "del Río",
    "Castillo",
]
STREETS = [
    "Main St",
    "Oak Avenue",
    "N. Broadway",
    "Elm Street",
    "Calle Sol",
    "Maple Dr",
    "W 5th St",
    "Cedar Lane",
    "S Central Ave",
    "Pine Road",
    "Lake Shore Blvd",
    "Martin Luther King Jr Blvd",
    "Valley View Rd",
    "E Washington St",
    "Mission St",
]
CITIES = [
    ("Los Angeles", "CA", "900"),
    ("Houston", "TX", "770"),
    ("Chicago", "IL", "606"),
    ("Phoenix", "AZ", "850"),
    ("San Jose", "CA", "951"),
    ("Miami", "FL", "331"),
]
NICK = {
    "Francisco": "Paco",
    "José": "Pepe",
    "Guadalupe": "Lupe",
    "Ignacio": "Nacho",
    "Jesús": "Chuy",
    "Roberto": "Beto",
    "Eduardo": "Lalo",
    "Guillermo": "Memo",
    "William": "Bill",
    "Robert": "Bob",
    "Elizabeth": "Liz",
    "Dolores": "Lola",
    "Rosario": "Chayo",
    "Mohammed": "Muhammad",
    "Margaret": "Peggy",
    "Manuel": "Manolo",
    "Antonio": "Toño",
    "Enrique": "Quique",
    "Concepción": "Concha",
    "Mercedes": "Meche",
}


@dataclass
class Person:
    tin: str
    first: str
    middle: str
    last: str
    suffix: str
    dob: date | None
    addresses: list[tuple[str, str, str, str, str, date]] = field(default_factory=list)


@dataclass
class Fixture:
    people: list[Person]
    requests: list[Request]
    truth: dict[int, tuple[str, str]]  # line -> (tin or "", case)

    def write_snapshot(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "tin": [p.tin for p in self.people],
                    "tin_type": ["ITIN" if p.tin.startswith("9") else "SSN" for p in self.people],
                    "first_name": [p.first for p in self.people],
                    "middle_name": [p.middle or None for p in self.people],
                    "last_name": [p.last for p in self.people],
                    "suffix": [p.suffix or None for p in self.people],
                    "dob": pa.array([p.dob for p in self.people], pa.date32()),
                }
            ),
            directory / "taxpayers.parquet",
        )
        rows = [(p.tin, *a) for p in self.people for a in p.addresses]
        pq.write_table(
            pa.table(
                {
                    "tin": [r[0] for r in rows],
                    "street": [r[1] for r in rows],
                    "unit": [r[2] or None for r in rows],
                    "city": [r[3] for r in rows],
                    "state": [r[4] for r in rows],
                    "zip": [r[5] for r in rows],
                    "valid_from": pa.array([r[6] for r in rows], pa.date32()),
                    "source": ["1040" for _ in rows],
                }
            ),
            directory / "addresses.parquet",
        )
        return directory


def _address(rng: random.Random, when: date) -> tuple[str, str, str, str, str, date]:
    city, state, zip3 = rng.choice(CITIES)
    unit = f"Apt {rng.randint(1, 40)}" if rng.random() < 0.3 else ""
    return (
        f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        unit,
        city,
        state,
        f"{zip3}{rng.randint(10, 99)}",
        when,
    )


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 4:
        return s
    i = rng.randint(1, len(s) - 3)
    return s[:i] + s[i + 1] + s[i] + s[i + 2 :]


def make_fixture(n_people: int = 400, seed: int = 7) -> Fixture:
    rng = random.Random(seed)
    people: list[Person] = []
    tins: set[str] = set()

    def new_tin() -> str:
        while True:
            t = f"{rng.choice(['9', '5', '3'])}{rng.randint(0, 99999999):08d}"
            if t not in tins:
                tins.add(t)
                return t

    def person(
        first: str, last: str, dob: date | None, addrs: list, suffix: str = "", middle: str = ""
    ) -> Person:
        p = Person(new_tin(), first, middle, last, suffix, dob, addrs)
        people.append(p)
        return p

    for _ in range(n_people):
        female = rng.random() < 0.5
        first = rng.choice(GIVEN_F if female else GIVEN_M)
        last = rng.choice(SURNAMES)
        if rng.random() < 0.3:
            last = f"{last} {rng.choice(SURNAMES)}"
        dob = date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000))
        addrs = [_address(rng, date(2015 + k, 4, 15)) for k in range(rng.randint(1, 3))]
        person(first, last, dob, addrs, middle=rng.choice(["", "", "A", "Luis", "Marie"]))

    requests: list[Request] = []
    truth: dict[int, tuple[str, str]] = {}

    def ask(
        p: Person | None,
        case: str,
        *,
        first: str,
        last: str,
        dob: str,
        addr: tuple,
        middle: str = "",
        tin: str = "",
    ) -> None:
        line = len(requests) + 2
        requests.append(
            Request(
                line=line,
                request_id=f"R{line:05d}",
                first_name=first,
                middle_name=middle,
                last_name=last,
                dob=dob,
                street=addr[0],
                unit=addr[1],
                city=addr[2],
                state=addr[3],
                zip=addr[4],
                tax_periods="2023",
                tin=tin,
            )
        )
        truth[line] = (p.tin if p else "", case)

    iso = lambda d: d.isoformat() if d else ""  # noqa: E731
    for p in rng.sample(people, min(len(people), 150)):
        latest = max(p.addresses, key=lambda a: a[5])
        oldest = min(p.addresses, key=lambda a: a[5])
        case = rng.choice(
            [
                "clean",
                "nickname",
                "one_surname",
                "stale_address",
                "no_dob",
                "typo",
                "accents",
                "swapped_dob",
            ]
        )
        first, last, dob, addr = p.first, p.last, iso(p.dob), latest
        if case == "nickname" and p.first in NICK:
            first = NICK[p.first]
        elif case == "one_surname":
            last = p.last.split()[0]
        elif case == "stale_address":
            addr = oldest
        elif case == "no_dob":
            dob = ""
        elif case == "typo":
            last = _typo(rng, p.last)
        elif case == "accents":
            first, last = first.upper(), last.upper()
        elif case == "swapped_dob" and p.dob and p.dob.day <= 12:
            dob = f"{p.dob.year}-{p.dob.day:02d}-{p.dob.month:02d}"
        ask(p, case, first=first, last=last, dob=dob, addr=addr)

    # Hard cases, planted.
    home = _address(rng, date(2021, 1, 1))
    twin_dob = date(1990, 6, 6)
    twin_a = person("Ana", "Reyes Flores", twin_dob, [home])
    person("Eva", "Reyes Flores", twin_dob, [home])
    ask(twin_a, "twin_in_register", first="Ana", last="Reyes Flores", dob=iso(twin_dob), addr=home)
    # The other twin files nothing: her request must not land on her sister.
    ask(
        None,
        "twin_not_in_register",
        first="Inés",
        last="Reyes Flores",
        dob=iso(twin_dob),
        addr=home,
    )

    home2 = _address(rng, date(2020, 1, 1))
    father = person("John", "Miller", date(1960, 3, 3), [home2], suffix="Sr")
    son = person("John", "Miller", date(1988, 9, 9), [home2], suffix="Jr")
    ask(son, "son_jr", first="John", last="Miller Jr", dob=iso(son.dob), addr=home2)
    ask(father, "father_sr", first="John", last="Miller", dob=iso(father.dob), addr=home2)
    ask(None, "father_or_son_no_dob", first="John", last="Miller", dob="", addr=home2)

    for _ in range(30):
        person(
            "José",
            "García",
            date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000)),
            [_address(rng, date(2022, 1, 1))],
        )
    ask(
        None,
        "common_name_no_match",
        first="José",
        last="García",
        dob="1977-07-07",
        addr=_address(rng, date(2023, 1, 1)),
    )

    # Twins sharing an initial, both filers: a request with the initial alone fits both.
    home3 = _address(rng, date(2021, 6, 1))
    twin_dob3 = date(1980, 2, 5)
    person("Ha", "Hoang", twin_dob3, [home3])
    person("Hiep", "Hoang", twin_dob3, [home3], middle="Van")
    ask(None, "twin_initial_only", first="H", last="Hoang", dob=iso(twin_dob3), addr=home3)
    # Boy-girl twins with the two forms of one name; only the brother files.
    home4 = _address(rng, date(2019, 3, 1))
    twin_dob4 = date(1995, 11, 30)
    person("Christian", "Valdez Ortega", twin_dob4, [home4])
    ask(
        None,
        "gendered_twin_not_in_register",
        first="Christina",
        last="Valdez Ortega",
        dob=iso(twin_dob4),
        addr=home4,
    )
    # Identical-name twins (the family reuses a name with a different middle one): no request
    # without the middle name can tell them apart.
    home5 = _address(rng, date(2020, 8, 1))
    twin_dob5 = date(1999, 1, 17)
    person("Luis", "Mendoza", twin_dob5, [home5], middle="Alberto")
    person("Luis", "Mendoza", twin_dob5, [home5], middle="Enrique")
    ask(None, "identical_name_twins", first="Luis", last="Mendoza", dob=iso(twin_dob5), addr=home5)
    # Father and son at one address, the suffix nowhere, dob given: the dob tells them apart.
    home6 = _address(rng, date(2018, 5, 1))
    dad = person("Ramon", "Salinas", date(1955, 4, 4), [home6])
    person("Ramon", "Salinas", date(1984, 10, 10), [home6])
    ask(dad, "father_by_dob", first="Ramon", last="Salinas", dob=iso(dad.dob), addr=home6)
    ask(None, "father_or_son_no_suffix_no_dob", first="Ramon", last="Salinas", dob="", addr=home6)
    # A slip of the hand in the street name and the ZIP's last digit of a real filer's address.
    slip = rng.choice(people[:n_people])
    s_addr = max(slip.addresses, key=lambda a: a[5])
    number, _, street_name = s_addr[0].partition(" ")
    ask(
        slip,
        "address_typo",
        first=slip.first,
        last=slip.last,
        dob=iso(slip.dob),
        addr=(f"{number} {_typo(rng, street_name)}", *s_addr[1:4], s_addr[4][:4] + "0"),
    )

    # Not in the register at all.
    for _ in range(30):
        ask(
            None,
            "not_in_register",
            first=rng.choice(GIVEN_M),
            last=rng.choice(SURNAMES),
            dob=iso(date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000))),
            addr=_address(rng, date(2023, 1, 1)),
        )
    # A supplied TIN that belongs to someone else.
    victim = rng.choice(people[:n_people])
    ask(
        None,
        "tin_of_other_person",
        first="Zenaida",
        last="Quiroga",
        dob="1971-01-01",
        addr=_address(rng, date(2023, 1, 1)),
        tin=victim.tin,
    )
    # A namesake in another ZIP whose dob is one keystroke from the requested person's: no rule
    # pairs on names alone any more, and a typo in a dob is no proof of another person, so
    # the dob-tolerant rules must keep him in view as a competitor.
    home7 = _address(rng, date(2021, 9, 1))
    away = _address(rng, date(2022, 2, 1))
    while away[4] == home7[4]:
        away = _address(rng, date(2022, 2, 1))
    octavio = person("Octavio", "Zamarripa", date(1971, 8, 19), [home7])
    person("Octavio", "Zamarripa", date(1971, 8, 18), [away])
    ask(
        octavio,
        "namesake_dob_typo_elsewhere",
        first="Octavio",
        last="Zamarripa",
        dob=iso(octavio.dob),
        addr=home7,
    )
    return Fixture(people, requests, truth)
