"""The synthetic register: taxpayers with TINs and address histories, as codes and as tables.

:func:`build_register` draws people, plants the decoys, assigns unique TINs and draws the
address histories; the two tables are what ``register/taxpayers.csv`` and
``register/addresses.csv`` hold. The integer codes stay alongside, because the request
builder needs to know who is whose twin and which address is the last one.

Example:
    >>> from ftigate.synth.pools import load_pools
    >>> reg = build_register(load_pools(), np.random.default_rng(1), 500, DecoyPlan(twin_pairs=2))
    >>> reg.taxpayers.column_names
    ['tin', 'tin_type', 'first_name', 'middle_name', 'last_name', 'suffix', 'dob']
    >>> reg.addresses.num_rows == len(reg.addr)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ftigate.synth.addresses import Addresses, address_columns, draw_addresses
from ftigate.synth.people import Crowds, DecoyPlan, People, draw_people, name_columns, plant_decoys
from ftigate.synth.pools import Pools
from ftigate.synth.tins import draw_tins, format_tins

TAXPAYER_COLUMNS = ("tin", "tin_type", "first_name", "middle_name", "last_name", "suffix", "dob")
ADDRESS_COLUMNS = ("tin", "street", "unit", "city", "state", "zip", "valid_from", "source")


@dataclass
class Register:
    people: People
    addr: Addresses
    crowds: Crowds
    taxpayers: pa.Table  # TAXPAYER_COLUMNS, one row per person, in person order
    addresses: pa.Table  # ADDRESS_COLUMNS, person-major, most recent first

    def last_address_rows(self, persons: np.ndarray) -> np.ndarray:
        """Row of each person's last known address."""
        return np.asarray(self.addr.start[persons], dtype=np.int64)

    def address_count(self) -> np.ndarray:
        return np.diff(self.addr.start)


def assign_tins(rng: np.random.Generator, people: People) -> None:
    """Unique SSNs for SSN filers and ITINs for ITIN filers (in place)."""
    ssn, itin = draw_tins(rng, int((~people.itin).sum()), int(people.itin.sum()))
    people.tin[~people.itin] = ssn
    people.tin[people.itin] = itin


def build_register(
    pools: Pools,
    rng: np.random.Generator,
    n: int,
    plan: DecoyPlan,
    step: Callable[[str, float], None] | None = None,
) -> Register:
    """``n`` taxpayers with the decoys of ``plan`` planted among them.

    ``step(what, fraction)`` is told what is being drawn and how far the register is.
    """
    report = step or (lambda what, fraction: None)
    report("people", 0.0)
    people = draw_people(pools, rng, n)
    crowds = plant_decoys(pools, rng, people, plan)
    assign_tins(rng, people)
    report("addresses", 0.3)
    addr = draw_addresses(pools, rng, people, crowds.city)
    report("register tables", 0.7)
    tins = format_tins(people.tin)
    names = name_columns(pools, people)
    tin_type = pa.array(np.where(people.itin, "ITIN", "SSN").tolist(), type=pa.string())
    taxpayers = pa.table(
        {"tin": tins, "tin_type": tin_type, **{c: names[c] for c in TAXPAYER_COLUMNS[2:]}}
    )
    cols = address_columns(pools, addr)
    addresses = pa.table({"tin": tins.take(pa.array(addr.person)), **cols})
    return Register(people, addr, crowds, taxpayers, addresses)
