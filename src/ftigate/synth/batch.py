"""Assemble the batch: shuffle the case rows, then add TINs, statutes, officers and ids.

The identity of each row comes from :mod:`ftigate.synth.requests`; this module adds what an
enforcement agency's case system would: tax periods, the statute of the proceeding and a reason
that fits it, a case number, the officer(s) named on the case, the fields requested, and a TIN
on about a third of the rows. It then writes the expected outcome of every row into the truth.

Officers are drawn from a pool sized to the batch, with at most :data:`OFFICER_QUOTA` rows
each, so that no officer is near the agreement's limit by accident, even in a 200,000-row
batch; the one overloaded officer is the exception, on purpose.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ftigate.errors import RefusalCode
from ftigate.model import REQUEST_FIELDS
from ftigate.synth import tins
from ftigate.synth.cases import CASE_BY_NAME, CASES, Expected, refusal_order
from ftigate.synth.pools import Pools
from ftigate.synth.register import Register
from ftigate.synth.requests import RequestBuilder

REQUEST_COLUMNS: tuple[str, ...] = REQUEST_FIELDS
"""The intake's column list, in its order."""
TRUTH_COLUMNS = (
    "request_id",
    "tin",
    "case",
    "origin",
    "expected",
    "refusal_code",
    "tin_supplied",
    "line",
)

ALLOWED_STATUTES = ("8 U.S.C. 1253(a)(1)", "8 U.S.C. 1326", "8 U.S.C. 1324")
"""The statutes the sample agreement allows (agreements/irs-ice-2025.yaml)."""
STATUTE_P = np.array([0.6, 0.3, 0.1])
WRONG_STATUTES = (
    "8 U.S.C. 1227(a)(1)(B)",  # civil removability
    "8 U.S.C. 1182(a)(6)(A)(i)",  # civil inadmissibility
    "8 U.S.C. 1229a",  # removal proceedings (civil)
    "8 U.S.C. 1325(a)",  # criminal, but not an agreed statute
    "26 U.S.C. 7201",  # a tax statute: (i)(2) is for non-tax criminal matters
    "26 U.S.C. 7203",
    "18 U.S.C. 1546",
)
REASONS: dict[str, tuple[str, ...]] = {
    "8 U.S.C. 1253(a)(1)": (
        "Subject is under a final order of removal and has willfully failed to depart; the "
        "current address is needed to locate the subject for the criminal investigation.",
        "Final order of removal issued; subject did not appear for removal. Address required to "
        "locate and serve the subject in the pending criminal case.",
        "Subject has hindered departure under a final removal order; address sought to locate "
        "the subject for prosecution.",
    ),
    "8 U.S.C. 1326": (
        "Subject was previously removed and is believed to have reentered without permission; "
        "the address is needed to locate the subject for prosecution.",
        "Reentry after removal under investigation; address needed to locate the subject and "
        "execute the arrest warrant.",
    ),
    "8 U.S.C. 1324": (
        "Subject is under investigation for transporting and harboring aliens; the address is "
        "needed to locate the subject and identify the premises used.",
        "Subject is suspected of bringing in and harboring aliens for financial gain; address "
        "required to locate the subject.",
    ),
}
OTHER_REASON = (
    "Subject is believed to be present in the United States in violation of law; the address "
    "is needed to locate the subject."
)
DISCLOSABLE_FIELD = "last_known_address"
FORBIDDEN_FIELDS = (
    "last_known_address;phone",
    "last_known_address;email",
    "phone;email",
    "last_known_address;phone;email",
)
OFFICES = (
    "ATL",
    "BAL",
    "BOS",
    "BUF",
    "CHI",
    "DAL",
    "DEN",
    "DET",
    "ELP",
    "HOU",
    "LOS",
    "MIA",
    "NEW",
    "NOL",
    "NYC",
    "PHI",
    "PHO",
    "SEA",
    "SFR",
    "SLC",
    "SNA",
    "SND",
    "SPM",
    "WAS",
)
OFFICER_QUOTA = 150
"""Most rows a normal officer is named on: well under the sample agreement's 200."""
SECOND_OFFICER = 0.2
TIN_SHARE = 1 / 3
MISTYPED = 0.15  # of overlaid TINs
UNKNOWN_TIN = 0.15  # of absent people: a TIN nobody in the register has
DUPLICATE_SOURCES = frozenset({"exact", "typo", "nickname", "stale_address", "missing_dob"})


@dataclass(frozen=True)
class Batch:
    requests: pd.DataFrame  # REQUEST_COLUMNS, in file order
    truth: pd.DataFrame  # TRUTH_COLUMNS, one row per request row, same order


def build_batch(
    pools: Pools, reg: Register, rng: np.random.Generator, counts: dict[str, int]
) -> Batch:
    """Every case's rows, shuffled, with ids, officers, TINs and the truth."""
    builder = RequestBuilder(pools, reg, rng)
    frames = [builder.build(c.name, counts.get(c.name, 0)) for c in CASES]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True)
    m = len(df)
    for col, default in (("tin", ""), ("tin_supplied", "")):
        df[col] = df[col].fillna(default) if col in df else default
    _admin(df, rng)
    _overlay_tins(df, reg, rng)
    df = df.iloc[rng.permutation(m)].reset_index(drop=True)
    df, resubmitted = _duplicates(df, rng)
    _officers(df, rng)
    if resubmitted:  # the same request sent again, officers and all
        first, second = (np.array(x) for x in zip(*resubmitted, strict=True))
        for c in df.columns:
            if c not in ("case", "request_id"):
                values = df[c].to_numpy(copy=True)
                values[second] = values[first]
                df[c] = values
    df["codes"] = [_codes(c, x) for c, x in zip(df["case"], df["extra_codes"], strict=True)]
    expected = [
        Expected.REFUSE if codes else CASE_BY_NAME[case].expected
        for codes, case in zip(df["codes"], df["case"], strict=True)
    ]
    truth = pd.DataFrame(
        {
            "request_id": df["request_id"],
            "tin": df["truth_tin"],
            "case": df["case"],
            "origin": df["origin"],
            "expected": [str(e) for e in expected],
            "refusal_code": df["codes"],
            "tin_supplied": df["tin_supplied"],
            "line": np.arange(2, m + 2),
        }
    )
    return Batch(df[list(REQUEST_COLUMNS)].copy(), truth)


def _admin(df: pd.DataFrame, rng: np.random.Generator) -> None:
    """Tax periods, statute, reason and requested fields; then each case's own defect."""
    m = len(df)
    end = rng.choice(np.arange(2021, 2025), size=m, p=[0.1, 0.2, 0.3, 0.4])
    length = rng.choice([1, 2, 3], size=m, p=[0.3, 0.5, 0.2])
    df["tax_periods"] = [
        ";".join(str(y) for y in range(e - n + 1, e + 1)) for e, n in zip(end, length, strict=True)
    ]
    statute = np.array(ALLOWED_STATUTES, dtype=object)[rng.choice(3, size=m, p=STATUTE_P)]
    pick = rng.random(m)
    df["statute"] = statute
    df["reason"] = [
        REASONS[s][int(u * len(REASONS[s]))] for s, u in zip(statute, pick, strict=True)
    ]
    df["requested_fields"] = DISCLOSABLE_FIELD
    df["extra_codes"] = ""

    def rows(case: str) -> np.ndarray:
        return np.nonzero((df["case"] == case).to_numpy())[0]

    wrong = rows("wrong_statute")
    df.loc[wrong, "statute"] = np.array(WRONG_STATUTES, dtype=object)[np.arange(len(wrong)) % 7]
    df.loc[wrong, "reason"] = OTHER_REASON
    df.loc[rows("missing_tax_period"), "tax_periods"] = ""
    df.loc[rows("missing_reason"), "reason"] = ""
    forbidden = rows("field_not_disclosable")
    df.loc[forbidden, "requested_fields"] = np.array(FORBIDDEN_FIELDS, dtype=object)[
        np.arange(len(forbidden)) % len(FORBIDDEN_FIELDS)
    ]
    # Two defects at once: statute and reason, or a placeholder address and a phone number.
    multi = rows("multi_refusal")
    a, b = multi[::2], multi[1::2]
    df.loc[a, "statute"] = "26 U.S.C. 7201"
    df.loc[a, "reason"] = ""
    df.loc[a, "extra_codes"] = (
        f"{RefusalCode.STATUTE_NOT_IN_AGREEMENT};{RefusalCode.MISSING_REASON}"
    )
    df.loc[b, "street"] = "Unknown Address"
    for c in ("unit", "city", "state", "zip"):
        df.loc[b, c] = ""
    df.loc[b, "requested_fields"] = "last_known_address;phone"
    df.loc[b, "extra_codes"] = (
        f"{RefusalCode.ADDRESS_NOT_SPECIFIC};{RefusalCode.FIELD_NOT_DISCLOSABLE}"
    )


def _overlay_tins(df: pd.DataFrame, reg: Register, rng: np.random.Generator) -> None:
    """Right, mistyped or unknown TINs, so that about a third of the rows carry one."""
    rule = df["case"].map(lambda c: CASE_BY_NAME[c].tin).to_numpy()
    right = rule == "right"
    df.loc[right, "tin"] = df.loc[right, "truth_tin"]
    df.loc[right, "tin_supplied"] = "right"
    overlay = np.nonzero(rule == "overlay")[0]
    unknown = np.nonzero(rule == "unknown")[0]
    fixed = int(right.sum() + np.isin(rule, ("conflict", "other_person")).sum())
    want = TIN_SHARE * len(df) - fixed - UNKNOWN_TIN * len(unknown)
    p = float(np.clip(want / max(len(overlay), 1), 0.0, 0.9))
    with_tin = overlay[rng.random(len(overlay)) < p]
    mistyped = rng.random(len(with_tin)) < MISTYPED
    taken = np.sort(reg.people.tin)
    df.loc[with_tin, "tin"] = df.loc[with_tin, "truth_tin"]
    df.loc[with_tin, "tin_supplied"] = "right"
    bad = with_tin[mistyped]
    df.loc[bad, "tin"] = [
        tins.format_tin(_mistype(int(t.replace("-", "")), taken, rng))
        for t in df.loc[bad, "truth_tin"]
    ]
    df.loc[bad, "tin_supplied"] = "mistyped"
    got = unknown[rng.random(len(unknown)) < UNKNOWN_TIN]
    df.loc[got, "tin"] = [tins.format_tin(t) for t in _unused_tins(len(got), taken, rng)]
    df.loc[got, "tin_supplied"] = "unknown"


def _mistype(tin: int, taken: np.ndarray, rng: np.random.Generator) -> int:
    """One keying error that still looks valid and belongs to nobody in the register."""
    while True:
        new = tins.mistype(tin, int(rng.integers(10)), int(rng.integers(9)), rng.random() < 0.3)
        if new != tin and tins.valid_same_kind(new, tin) and not _has(taken, new):
            return new


def _unused_tins(n: int, taken: np.ndarray, rng: np.random.Generator) -> list[int]:
    out: list[int] = []
    while len(out) < n:
        codes = rng.integers(tins.SSN_SPACE, size=n - len(out))
        out += [int(t) for t in tins.ssn_from_code(codes) if not _has(taken, int(t))]
    return out


def _has(sorted_values: np.ndarray, value: int) -> bool:
    i = int(np.searchsorted(sorted_values, value))
    return i < len(sorted_values) and int(sorted_values[i]) == value


def _duplicates(
    df: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """Give each duplicate row the id of an earlier row; half are exact resubmissions.

    Returns the reordered frame and the (first, second) positions of the resubmissions,
    whose content the caller copies once officers are assigned.
    """
    m = len(df)
    df["request_id"] = [f"ICE-{i + 1:07d}" for i in range(m)]
    dups = np.nonzero((df["case"] == "duplicate_request").to_numpy())[0]
    sources = np.nonzero(df["case"].isin(DUPLICATE_SOURCES).to_numpy())[0]
    if not len(dups):
        return df, []
    originals = rng.choice(sources, size=len(dups), replace=len(sources) < len(dups))
    order = np.arange(m)
    late = dups < originals  # the duplicate must come second: swap places
    order[dups[late]], order[originals[late]] = originals[late], dups[late]
    df = df.iloc[order].reset_index(drop=True)
    first = np.minimum(dups, originals)
    second = np.maximum(dups, originals)
    ids = [f"ICE-{i + 1:07d}" for i in range(m)]
    df["request_id"] = ids
    copy = rng.random(len(dups)) < 0.5
    for f, s in zip(first, second, strict=True):
        df.at[s, "request_id"] = ids[f]
    return df, [(int(f), int(s)) for f, s, c in zip(first, second, copy, strict=True) if c]


def _officers(df: pd.DataFrame, rng: np.random.Generator) -> None:
    """One or two officers per row from a pool sized so that nobody nears the limit."""
    m = len(df)
    case = df["case"].to_numpy()
    normal = np.nonzero((case != "missing_officer") & (case != "officer_overloaded"))[0]
    second = rng.random(len(normal)) < SECOND_OFFICER
    slots = len(normal) + int(second.sum())
    size = max(20, math.ceil(slots / 60))
    quota = np.zeros(0, dtype=np.int64)
    while quota.sum() < slots:
        quota = np.clip(np.round(rng.lognormal(np.log(60), 0.5, size)), 5, OFFICER_QUOTA)
        quota = quota.astype(np.int64)
        size += max(1, math.ceil((slots - int(quota.sum())) / 60))
    numbers = rng.choice(100_000, size=len(quota) + 1, replace=False)
    office = np.array(OFFICES, dtype=object)[rng.integers(len(OFFICES), size=len(quota) + 1)]
    names = np.array([f"{o}{n:05d}" for o, n in zip(office, numbers, strict=True)], dtype=object)
    pool = rng.permutation(np.repeat(np.arange(len(quota)), quota))[:slots]
    primary = pool[: len(normal)]
    other = np.full(len(normal), -1)
    other[second] = pool[len(normal) :]
    other[other == primary] = -1
    officer = np.full(m, "", dtype=object)
    officer[normal] = [
        names[a] if b < 0 else f"{names[a]};{names[b]}" for a, b in zip(primary, other, strict=True)
    ]
    overloaded = case == "officer_overloaded"
    officer[overloaded] = f"WAS{numbers[-1]:05d}"
    df["officer_id"] = officer
    prefix = [o[:3] if o else OFFICES[-1] for o in officer]
    serial = rng.choice(10_000_000, size=m, replace=False)
    year = rng.integers(23, 26, m)
    df["case_number"] = [f"{p}-{y}-{s:07d}" for p, y, s in zip(prefix, year, serial, strict=True)]


@functools.cache
def _codes(case_name: str, extra: str) -> str:
    """Every refusal code of a row, first code first ("" when the row is lawful)."""
    codes = {str(c) for c in CASE_BY_NAME[case_name].refusal}
    if extra:
        codes.update(extra.split(";"))
    return ";".join(refusal_order(codes))


__all__ = ["REQUEST_COLUMNS", "TRUTH_COLUMNS", "Batch", "build_batch"]
