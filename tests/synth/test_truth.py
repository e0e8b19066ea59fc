"""The batch and its truth: every case present, shares kept, and each label justified."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from unidecode import unidecode

from ftigate.errors import RefusalCode
from ftigate.synth import CASES, generate
from ftigate.synth.batch import ALLOWED_STATUTES
from ftigate.synth.cases import CASE_BY_NAME, OFFICER_CASE_LIMIT, allocate
from ftigate.tin import tin_type_of

from .conftest import Synth, load

ADDRESS = ["street", "unit", "city", "state", "zip"]
SAME_LAST_ADDRESS = (
    "exact",
    "nickname",
    "surname_swap",
    "name_order_swap",
    "missing_dob",
    "twin",
    "jr_sr",
    "crowd_member",
    "tin_conflict",
    "twin_ambiguous",
    "jr_sr_ambiguous",
    "wrong_statute",
    "missing_tax_period",
    "missing_reason",
    "missing_officer",
    "missing_name",
    "field_not_disclosable",
    "officer_overloaded",
)


def fold(s: str) -> str:
    return unidecode(s).lower()


def of_case(synth: Synth, case: str) -> pd.DataFrame:
    rows = synth.rows
    return rows[rows["truth_case"] == case]


def test_every_case_is_present_at_modest_size(synth: Synth) -> None:
    assert set(synth.truth["case"]) == {c.name for c in CASES}


def test_counts_follow_the_case_table(synth: Synth) -> None:
    assert synth.truth["case"].value_counts().to_dict() == {
        k: v for k, v in allocate(CASES, 1_000).items() if v
    }


def test_shares_are_within_tolerance_of_the_table() -> None:
    counts = allocate(CASES, 20_000)
    total = sum(c.share for c in CASES)
    for c in CASES:
        if c.name != "officer_overloaded":
            assert abs(counts[c.name] / 20_000 - c.share / total) < 0.002, c.name
    absent = sum(
        counts[c.name]
        for c in CASES
        if c.subject in ("absent", "crowd") and c.expected != "DISCLOSE"
    )
    assert 0.28 <= absent / 20_000 <= 0.32  # about 30% not in the register
    assert counts["officer_overloaded"] > OFFICER_CASE_LIMIT


def test_expected_and_refusal_codes_agree(synth: Synth) -> None:
    t = synth.truth
    refused = t["expected"] == "REFUSE"
    assert (t.loc[refused, "refusal_code"] != "").all()
    assert (t.loc[~refused, "refusal_code"] == "").all()
    codes = {c for v in t["refusal_code"] for c in v.split(";") if c}
    assert codes <= {str(c) for c in RefusalCode}
    order = [str(c) for c in RefusalCode]
    for v in t.loc[t["refusal_code"].str.contains(";"), "refusal_code"]:
        parts = v.split(";")
        assert parts == sorted(parts, key=order.index)  # the first code comes first
    for case in CASES:
        got = t.loc[t["case"] == case.name, "expected"]
        assert (got == case.expected).all(), case.name


def test_disclose_rows_point_at_register_taxpayers(synth: Synth) -> None:
    tins = set(synth.taxpayers["tin"])
    t = synth.truth
    assert t.loc[t["expected"] == "DISCLOSE", "tin"].isin(tins).all()
    present = t["tin"] != ""
    assert t.loc[present, "tin"].isin(tins).all()
    absent = t["case"].isin(["absent", "near_miss", "tin_other_person", "crowd"])
    assert (t.loc[absent, "tin"] == "").all()


def test_non_stale_rows_carry_the_persons_last_address(synth: Synth) -> None:
    last = synth.last_address()
    for case in SAME_LAST_ADDRESS:
        rows = of_case(synth, case)
        want = last.loc[rows["truth_tin"], ADDRESS].to_numpy()
        assert (rows[ADDRESS].to_numpy() == want).all(), case


def test_variants_of_the_last_address(synth: Synth) -> None:
    last = synth.last_address()
    rows = of_case(synth, "accents_dropped")
    want = last.loc[rows["truth_tin"], ADDRESS]
    assert [fold(x) for x in rows["city"]] == [fold(x) for x in want["city"]]
    assert rows["street"].tolist() == want["street"].tolist()
    rows = of_case(synth, "partial_address")
    want = last.loc[rows["truth_tin"]]
    assert (
        rows[["street", "city", "state"]].to_numpy() == want[["street", "city", "state"]].to_numpy()
    ).all()
    dropped = (rows["unit"].to_numpy() != want["unit"].to_numpy()) | (
        rows["zip"].to_numpy() != want["zip"].to_numpy()
    )
    assert dropped.all()
    assert ((rows["unit"] == "") | (rows["zip"] == "")).all()


def test_stale_rows_carry_an_older_address_of_the_person(synth: Synth) -> None:
    a = synth.addresses.sort_values(["tin", "valid_from"], ascending=[True, False])
    a = a.assign(k=a.groupby("tin").cumcount())
    older = {tuple(r) for r in a.loc[a["k"] > 0, ["tin", *ADDRESS]].to_numpy()}
    rows = of_case(synth, "stale_address")
    assert all(tuple(r) in older for r in rows[["truth_tin", *ADDRESS]].to_numpy())


def test_name_variants_are_what_their_case_says(synth: Synth) -> None:
    people = synth.taxpayers.set_index("tin")
    exact = of_case(synth, "exact")
    reg = people.loc[exact["truth_tin"]]
    for c in ("first_name", "middle_name", "last_name", "dob"):
        assert exact[c].tolist() == reg[c].tolist()
    nick = of_case(synth, "nickname")
    assert (
        nick["first_name"].to_numpy() != people.loc[nick["truth_tin"], "first_name"].to_numpy()
    ).all()
    swap = of_case(synth, "surname_swap")
    for got, was in zip(swap["last_name"], people.loc[swap["truth_tin"], "last_name"], strict=True):
        assert got != was
        assert set(fold(got).replace("-", " ").split()) <= set(
            fold(was).replace("-", " ").split()
        ) | {fold(w) for w in re.findall(r"\w+", was)} or fold(got).replace(" ", "") in fold(
            was
        ).replace(" ", "")
    dropped = of_case(synth, "accents_dropped")
    assert all(v.isascii() for v in dropped["first_name"] + dropped["last_name"])
    reg = people.loc[dropped["truth_tin"]]
    assert not all((reg["first_name"] + reg["middle_name"] + reg["last_name"]).map(str.isascii))
    order = of_case(synth, "name_order_swap")
    reg = people.loc[order["truth_tin"]]
    assert order["first_name"].tolist() == reg["last_name"].tolist()


def test_typos_are_one_or_two_edits_away(synth: Synth) -> None:
    from difflib import SequenceMatcher

    people = synth.taxpayers.set_index("tin")
    last = synth.last_address()
    rows = of_case(synth, "typo")
    for _, r in rows.iterrows():
        p, a = people.loc[r["truth_tin"]], last.loc[r["truth_tin"]]
        changed = [
            (r[c], v)
            for c, v in (
                ("first_name", p["first_name"]),
                ("last_name", p["last_name"]),
                ("street", a["street"]),
            )
            if r[c] != v
        ]
        assert len(changed) == 1, r["request_id"]
        got, was = changed[0]
        assert SequenceMatcher(None, got, was).ratio() > 0.6 or len(was) <= 3
        assert abs(len(got) - len(was)) <= 2


def test_absent_people_are_nobodys_namesake(synth: Synth) -> None:
    keys = {
        (fold(f), fold(s), d)
        for f, s, d in synth.taxpayers[["first_name", "last_name", "dob"]].to_numpy()
    }
    rows = synth.rows[synth.rows["truth_case"].isin(["absent", "near_miss", "tin_other_person"])]
    for f, s, d in rows[["first_name", "last_name", "dob"]].to_numpy():
        assert (fold(f), fold(s), d) not in keys


def test_the_2025_pattern_rows_carry_the_right_tin_and_no_street(synth: Synth) -> None:
    people = synth.taxpayers.set_index("tin")
    rows = of_case(synth, "pattern_2025")
    assert (rows["tin"] == rows["truth_tin"]).all()
    assert (rows["truth_tin_supplied"] == "right").all()
    reg = people.loc[rows["truth_tin"]]
    assert rows["first_name"].tolist() == reg["first_name"].tolist()
    assert rows["last_name"].tolist() == reg["last_name"].tolist()
    assert not rows["street"].str.match(r"\d+ \w").any()
    assert (rows["truth_refusal_code"] == "ADDRESS_NOT_SPECIFIC").all()
    text = " ".join(rows["street"]) + " " + " ".join(rows["city"])
    for placeholder in ("Failed to Provide", "Unknown Address", "NA NA", "N/A"):
        assert placeholder in text
    assert ((rows["street"] == "") & rows["zip"].str.fullmatch(r"\d{5}")).any()  # a bare ZIP


def test_refused_rows_have_the_defect_their_code_names(synth: Synth) -> None:
    rows = synth.rows
    blank = rows[rows["truth_case"] == "blank_address"]
    assert (blank[ADDRESS] == "").all().all()
    facility = rows[rows["truth_case"] == "facility_address"]
    assert not facility["street"].str.match(r"\d").any()
    assert facility["street"].str.contains("Jail|Center|Hall|Island").all()
    assert (
        not rows.loc[rows["truth_case"] == "wrong_statute", "statute"].isin(ALLOWED_STATUTES).any()
    )
    lawful = rows[rows["truth_expected"] != "REFUSE"]
    assert lawful["statute"].isin(ALLOWED_STATUTES).all()
    assert (lawful["requested_fields"] == "last_known_address").all()
    assert (lawful[["tax_periods", "reason", "officer_id"]] != "").all().all()
    assert (rows.loc[rows["truth_case"] == "missing_tax_period", "tax_periods"] == "").all()
    assert (rows.loc[rows["truth_case"] == "missing_reason", "reason"] == "").all()
    assert (rows.loc[rows["truth_case"] == "missing_officer", "officer_id"] == "").all()
    fields = rows.loc[rows["truth_case"] == "field_not_disclosable", "requested_fields"]
    assert fields.str.contains("phone|email").all()
    bad_dob = rows.loc[rows["truth_case"] == "malformed_row", "dob"]
    assert pd.to_datetime(bad_dob, errors="coerce", format="%Y-%m-%d").isna().all()
    assert pd.to_datetime(lawful.loc[lawful["dob"] != "", "dob"], format="%Y-%m-%d").notna().all()


def test_duplicate_ids_repeat_an_earlier_row(synth: Synth) -> None:
    rows = synth.rows
    seen = rows["request_id"].duplicated(keep="first")
    assert (rows.loc[seen, "truth_case"] == "duplicate_request").all()
    assert seen.sum() == (rows["truth_case"] == "duplicate_request").sum()
    assert rows["truth_line"].astype(int).tolist() == list(range(2, len(rows) + 2))


def test_officers_stay_within_the_limit_except_the_overloaded_one(synth: Synth) -> None:
    rows = synth.rows
    named = rows["officer_id"].str.split(";").explode()
    named = named[named != ""]
    counts = named.value_counts()
    over = rows.loc[rows["truth_case"] == "officer_overloaded", "officer_id"].unique()
    assert len(over) == 1
    assert counts[over[0]] > OFFICER_CASE_LIMIT
    assert counts.drop(over[0]).max() <= OFFICER_CASE_LIMIT
    assert (
        rows.loc[rows["officer_id"].str.contains(over[0]), "truth_case"] == "officer_overloaded"
    ).all()


def test_tins_supplied_are_what_the_truth_says(synth: Synth) -> None:
    rows = synth.rows
    people = synth.taxpayers.set_index("tin")
    with_tin = rows[rows["tin"] != ""]
    assert 0.28 <= len(with_tin) / len(rows) <= 0.40  # about a third
    assert all(tin_type_of(x) is not None for x in with_tin["tin"])  # mistypes look valid
    kind = rows["truth_tin_supplied"]
    assert ((rows["tin"] != "") == (kind != "")).all()
    right = rows[kind == "right"]
    assert (right["tin"] == right["truth_tin"]).all()
    for k in ("mistyped", "unknown"):
        assert not rows.loc[kind == k, "tin"].isin(people.index).any(), k
    other = rows[kind == "other"]
    assert other["tin"].isin(people.index).all()
    owners = people.loc[other["tin"]]
    assert all(
        fold(a) != fold(b) for a, b in zip(other["last_name"], owners["last_name"], strict=True)
    )
    assert set(kind) == {"", "right", "mistyped", "unknown", "other"}


def test_decoy_rows_are_ambiguous_exactly_when_labelled_so(synth: Synth) -> None:
    rows, people, last = synth.rows, synth.taxpayers.set_index("tin"), synth.last_address()
    home = last[["street", "unit", "city", "zip"]].agg("|".join, axis=1)
    at = people.assign(home=home)

    def fits(r: pd.Series, first: str) -> pd.DataFrame:
        addr = "|".join(r[["street", "unit", "city", "zip"]])
        same = at[(at["home"] == addr) & (at["last_name"] == r["last_name"])]
        if r["dob"]:
            same = same[same["dob"] == r["dob"]]
        return same[same["first_name"].map(first)]

    for _, r in rows[rows["truth_case"] == "twin_ambiguous"].iterrows():
        assert len(fits(r, lambda f, i=r["first_name"]: unidecode(f)[:1] == i)) == 2
    for _, r in rows[rows["truth_case"] == "twin"].iterrows():
        assert len(fits(r, lambda f, g=r["first_name"]: f == g)) == 1
    for _, r in rows[rows["truth_case"] == "jr_sr_ambiguous"].iterrows():
        assert len(fits(r, lambda f, g=r["first_name"]: f == g)) == 2
    for _, r in rows[rows["truth_case"] == "jr_sr"].iterrows():
        assert list(fits(r, lambda f, g=r["first_name"]: f == g).index) == [r["truth_tin"]]


def test_crowd_rows_name_many_people_in_the_city_and_none_of_their_streets(synth: Synth) -> None:
    rows, people = synth.rows, synth.taxpayers.set_index("tin")
    a = synth.addresses.assign(
        first=lambda d: d["tin"].map(people["first_name"]).map(fold),
        last=lambda d: d["tin"].map(people["last_name"]).map(fold),
    )
    last = synth.last_address().join(people)
    for _, r in rows[rows["truth_case"] == "crowd"].iterrows():
        namesakes = last[
            (last["first_name"].map(fold) == fold(r["first_name"]))
            & (last["last_name"].map(fold) == fold(r["last_name"]))
            & (last["city"] == r["city"])
        ]
        assert len(namesakes) >= 12
        lived = a[(a["first"] == fold(r["first_name"])) & (a["last"] == fold(r["last_name"]))]
        assert r["street"] not in set(lived["street"])
        assert r["dob"] == ""


@pytest.mark.slow
def test_a_large_batch_keeps_officers_under_the_limit(tmp_path: Path) -> None:
    s = load(tmp_path, generate(200_000, 200_000, 9, tmp_path))
    named = s.requests["officer_id"].str.split(";").explode()
    counts = named[named != ""].value_counts()
    assert (counts > OFFICER_CASE_LIMIT).sum() == 1
    over = s.requests.loc[s.truth["case"] == "officer_overloaded", "officer_id"].iloc[0]
    assert counts.idxmax() == over and counts.max() >= 0.02 * 200_000 * 0.9
    shares = s.truth["case"].value_counts(normalize=True)
    for c in CASES:
        assert abs(shares[c.name] - c.share) < 0.003, c.name
    assert CASE_BY_NAME["officer_overloaded"].expected == "REFUSE"
