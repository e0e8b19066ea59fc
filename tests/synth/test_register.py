"""The register: valid unique TINs, ITIN share, address histories, realistic names and decoys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ftigate.synth.people import CROWD, FATHER, SON, TWIN_A, DecoyPlan
from ftigate.synth.pools import ORIGINS, load_pools
from ftigate.synth.register import build_register
from ftigate.tin import tin_type_of

from .conftest import Synth


def test_every_tin_is_valid_unique_and_of_its_stated_type(synth: Synth) -> None:
    t = synth.taxpayers
    assert t["tin"].is_unique
    assert t["tin"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
    kinds = [str(tin_type_of(x)) for x in t["tin"]]
    assert kinds == t["tin_type"].tolist()


def test_ssn_rules_hold_digit_by_digit(synth: Synth) -> None:
    ssn = synth.taxpayers.loc[synth.taxpayers["tin_type"] == "SSN", "tin"].str.split(
        "-", expand=True
    )
    area, group, serial = ssn[0].astype(int), ssn[1].astype(int), ssn[2].astype(int)
    assert ((area > 0) & (area != 666) & (area < 900)).all()
    assert (group > 0).all() and (serial > 0).all()
    itin = synth.taxpayers.loc[synth.taxpayers["tin_type"] == "ITIN", "tin"].str.split(
        "-", expand=True
    )
    g = itin[1].astype(int)
    assert itin[0].str.startswith("9").all()
    assert g.between(50, 65).sum() + g.between(70, 88).sum() + g.between(90, 92).sum() + g.between(
        94, 99
    ).sum() == len(g)


def test_itin_filers_are_fifteen_to_twenty_percent(synth: Synth) -> None:
    share = (synth.taxpayers["tin_type"] == "ITIN").mean()
    assert 0.15 <= share <= 0.20


def test_each_taxpayer_has_one_to_five_addresses_with_a_unique_latest(synth: Synth) -> None:
    a = synth.addresses
    per = a.groupby("tin").size()
    assert set(per.index) == set(synth.taxpayers["tin"])
    assert per.between(1, 5).all()
    assert not a.duplicated(["tin", "valid_from"]).any()  # no tie for the last known address
    dob = synth.taxpayers.set_index("tin")["dob"]
    years = a["valid_from"].str[:4].astype(int) - a["tin"].map(dob).str[:4].astype(int)
    assert (years >= 16).all()


def test_sources_fit_their_dates(synth: Synth) -> None:
    a = synth.addresses
    assert a["source"].str.fullmatch(r"(1040|W-2|1099):\d{4}|8822").all()
    dated = a[a["source"] != "8822"]
    tax_year = dated["source"].str.split(":").str[1].astype(int)
    assert (dated["valid_from"].str[:4].astype(int) == tax_year + 1).all()
    assert dated["valid_from"].str[5:7].astype(int).le(4).all()


def test_city_state_and_zip_agree_with_the_city_table(synth: Synth) -> None:
    pools = load_pools()
    zips: dict[tuple[str, str], set[str]] = {}
    for i, (city, state) in enumerate(zip(pools.city, pools.city_state, strict=True)):
        start, n = int(pools.zip_start[i]), int(pools.zip_count[i])
        zips[(str(city), str(state))] = {str(z) for z in pools.zips[start : start + n]}
    a = synth.addresses
    assert all(z in zips[(c, s)] for c, s, z in zip(a["city"], a["state"], a["zip"], strict=True))
    assert a["zip"].str.fullmatch(r"\d{5}").all()
    assert a["street"].str.match(r"\d+ \S").all()


def test_units_and_spanish_streets_occur(synth: Synth) -> None:
    a = synth.addresses
    assert a["unit"].str.match(r"(Apt|Unit|#|Spc|Lot|Trlr) \w+$").sum() > 0.1 * len(a)
    assert (a.loc[a["unit"] != "", "unit"].str.match(r"(Apt|Unit|#|Spc|Lot|Trlr) ")).all()
    assert a["street"].str.contains(r"^\d+ (?:Calle|Avenida|Camino) ").sum() > 0


def test_names_are_varied_accented_compound_and_crowded() -> None:
    pools = load_pools()
    reg = build_register(pools, np.random.default_rng(2), 60_000, DecoyPlan())
    t = reg.taxpayers.to_pandas()
    origin = pd.Series([ORIGINS[o] for o in reg.people.origin])
    assert 0.30 <= (origin == "hispanic").mean() <= 0.37  # about a third
    assert set(origin) == set(ORIGINS)
    hisp = t[origin == "hispanic"]
    assert hisp["last_name"].str.contains(" ").mean() > 0.3  # García López
    assert hisp["last_name"].str.contains(r"^(?:de|del) ", regex=True).any()  # de la Cruz
    assert t["first_name"].str.contains("[áéíóúñ]").any()
    viet = t[origin == "vietnamese"]["last_name"]
    assert viet.value_counts().index[0] in {"Nguyễn", "Nguyen"}
    assert viet.isin(["Nguyễn", "Nguyen"]).mean() > 0.25
    assert t["middle_name"].isin(["Văn", "Van"]).sum() > 100
    arab = t[origin == "arabic"]
    assert arab["first_name"].isin(["Mohammed", "Muhammad", "Mohamed", "Mohammad"]).mean() > 0.03
    for o in ORIGINS:  # hundreds of given names per origin actually used
        assert t.loc[origin == o, "first_name"].nunique() >= 150, o
    # common names pile up: the same full name many times over
    assert t.groupby(["first_name", "last_name"]).size().max() >= 20


def test_decoys_are_planted_as_described() -> None:
    reg = build_register(
        load_pools(),
        np.random.default_rng(4),
        20_000,
        DecoyPlan(twin_pairs=50, ambiguous_twin_pairs=20, jr_sr_pairs=40, crowds=5),
    )
    p, t = reg.people, reg.taxpayers.to_pandas()
    a = np.nonzero(p.role == TWIN_A)[0]
    b = p.partner[a]
    assert len(a) == 50
    assert (t["dob"].to_numpy()[a] == t["dob"].to_numpy()[b]).all()
    assert (t["last_name"].to_numpy()[a] == t["last_name"].to_numpy()[b]).all()
    assert (t["first_name"].to_numpy()[a] != t["first_name"].to_numpy()[b]).all()
    street = reg.addresses.column("street").to_numpy(zero_copy_only=False)
    last = reg.addr.start[:-1]
    assert (street[last[a]] == street[last[b]]).all()
    f = np.nonzero(p.role == FATHER)[0]
    s = p.partner[f]
    assert (p.role[s] == SON).all() and len(f) == 40
    assert (t["first_name"].to_numpy()[f] == t["first_name"].to_numpy()[s]).all()
    assert (t["suffix"].to_numpy()[s] == "Jr").all()
    assert (t["dob"].to_numpy()[f] < t["dob"].to_numpy()[s]).all()
    assert (street[last[f]] == street[last[s]]).all()
    crowd = np.nonzero(p.role == CROWD)[0]
    city = reg.addr.city[last[crowd]]
    assert (city == reg.crowds.city[p.crowd[crowd]]).all()
    for c in range(5):
        members = crowd[p.crowd[crowd] == c]
        assert len(members) >= 12
        assert t.loc[members, "first_name"].str.normalize("NFKD").nunique() <= 2  # José / Jose
