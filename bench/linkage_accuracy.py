"""Linkage accuracy and cost at scale: prepare, train and match timings, peak RSS, precision.

With ``ftigate.synth`` installed (``generate(taxpayers=N, requests=M, seed=S, out=DIR)``) the
register, batch and ``truth.csv`` come from it. Without it, a small vectorised generator here
makes a register of N people (several naming traditions, families sharing surnames and
addresses, address histories) and M requests about a mix of registered and unregistered people,
with nicknames, one surname only, stale addresses, missing and transposed dobs and typos.

Each phase runs in a fresh subprocess so its peak RSS is its own. Figures go to
``bench/out/linkage_accuracy_<N>.json``.

Run: ``.venv/bin/python bench/linkage_accuracy.py --taxpayers 200000 --requests 5000``
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).parent / "out"

FIRST = np.array(
    """
Francisco José Juan Carlos Luis Miguel Jesús Ignacio Roberto Alberto Eduardo Guillermo
Rafael Antonio Manuel William Robert James Michael David Richard Thomas Joseph Minh Tuan
Hung Quang Wei Jun Ming Mohammed Ahmed Omar Yusuf Hussein Enrique Alejandro Daniel Pedro
María Guadalupe Dolores Rosario Concepción Mercedes Ana Carmen Elizabeth Margaret Patricia
Jennifer Linda Susan Lan Mai Mei Fatima Aisha Layla Sofia Lucía Isabel Gabriela Teresa
Yolanda Kevin Brian Jason Emily Sarah Jessica Ashley Amanda Nicole Olga Irina Dmitri
Sergei Priya Raj Amit Sunita Kwame Ama Kofi Abena Chen Hui Hoa Thanh Duc Binh Rosa Andrea
Marco
""".split()  # noqa: SIM905
)
LAST = np.array(
    """
García López Martínez Rodríguez Hernández González Pérez Sánchez Ramírez Cruz Flores Gómez
Díaz Reyes Morales Ortiz Gutiérrez Chávez Ramos Ruiz Jiménez Vásquez Castillo Romero Smith
Johnson Williams Williamson Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore
Nguyen Tran Le Pham Hoang Huynh Phan Vu Dang Bui Zhang Wang Li Chen Liu Yang Huang Zhao Wu
Zhou Haddad Khalil Mansour Nasser Hassan Saleh Ibrahim Patel Shah Singh Kumar Mensah Owusu
Boateng Ivanov Petrov Kowalski Nowak Schmidt Müller Rossi Russo Silva Santos Oliveira
""".split()  # noqa: SIM905
)
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
    "Michael": "Mike",
    "Richard": "Rick",
    "Thomas": "Tom",
    "Joseph": "Joe",
}
STREETS = np.array(
    """Main;Oak;Broadway;Elm;Sol;Maple;5th;Cedar;Central;Pine;Lake Shore;Valley
View;Washington;Mission;Lincoln;Park;Hill;River;Sunset;Jefferson;Madison;Franklin;Chestnut;
Walnut;Spruce;Willow;Magnolia;Alamo;Rio Grande;Las Palmas""".replace("\n", " ").split(";")
)
SUFFIX = np.array(["St", "Street", "Ave", "Avenue", "Blvd", "Dr", "Rd", "Ln", "Way", "Ct"])
CITIES = [
    ("Los Angeles", "CA", 900),
    ("Houston", "TX", 770),
    ("Chicago", "IL", 606),
    ("Phoenix", "AZ", 850),
    ("San Jose", "CA", 951),
    ("Miami", "FL", 331),
    ("New York", "NY", 100),
    ("Dallas", "TX", 752),
    ("Atlanta", "GA", 303),
    ("Seattle", "WA", 981),
    ("Denver", "CO", 802),
    ("El Paso", "TX", 799),
]


def _street(rng: np.random.Generator, n: int) -> np.ndarray:
    num = rng.integers(1, 20000, n).astype(str)
    return np.char.add(
        np.char.add(np.char.add(num, " "), rng.choice(STREETS, n)),
        np.char.add(" ", rng.choice(SUFFIX, n)),
    )


def generate_own(n: int, m: int, seed: int, out: Path) -> Path:
    """Register (Parquet snapshot) + requests.csv + truth.csv; returns the snapshot dir."""
    rng = np.random.default_rng(seed)
    snap = out / "snapshot"
    snap.mkdir(parents=True, exist_ok=True)
    tins = np.array([f"{x + 100_000_000:09d}" for x in rng.choice(899_999_999, n, replace=False)])
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    compound = rng.random(n) < 0.25
    last = np.where(compound, np.char.add(np.char.add(last, " "), rng.choice(LAST, n)), last)
    dob_days = rng.integers(0, 25000, n)
    dob = np.datetime64("1940-01-01") + dob_days.astype("timedelta64[D]")
    # families: 30% of people share surname and address with the previous person
    family = rng.random(n) < 0.3
    family[0] = False
    n_addr = rng.integers(1, 4, n)
    owner = np.repeat(np.arange(n), n_addr)
    k = len(owner)
    city_idx = rng.integers(0, len(CITIES), k)
    streets = _street(rng, k)
    zips = np.array(
        [
            f"{CITIES[c][2]:03d}{z:02d}"
            for c, z in zip(city_idx, rng.integers(0, 100, k), strict=True)
        ]
    )
    order_in = np.concatenate([np.arange(c) for c in n_addr])
    valid = np.array([date(2016 + int(o) * 3, 4, 15) for o in order_in])
    # family members live at the previous person's latest address as their latest address
    last_idx = np.cumsum(n_addr) - 1
    for i in np.nonzero(family)[0]:
        last.__setitem__(i, last[i - 1])
        streets[last_idx[i]] = streets[last_idx[i - 1]]
        zips[last_idx[i]] = zips[last_idx[i - 1]]
        city_idx[last_idx[i]] = city_idx[last_idx[i - 1]]
    pq.write_table(
        pa.table(
            {
                "tin": tins,
                "tin_type": np.where(np.char.startswith(tins, "9"), "ITIN", "SSN"),
                "first_name": first,
                "middle_name": pa.nulls(n, pa.string()),
                "last_name": last,
                "suffix": pa.nulls(n, pa.string()),
                "dob": pa.array(dob.astype("datetime64[D]").astype(object), pa.date32()),
            }
        ),
        snap / "taxpayers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "tin": tins[owner],
                "street": streets,
                "unit": pa.nulls(k, pa.string()),
                "city": [CITIES[c][0] for c in city_idx],
                "state": [CITIES[c][1] for c in city_idx],
                "zip": zips,
                "valid_from": pa.array(valid, pa.date32()),
                "source": ["1040"] * k,
            }
        ),
        snap / "addresses.parquet",
    )

    # requests: 70% about registered people (with variations), 30% about unregistered ones
    with (
        (out / "requests.csv").open("w", newline="") as fh,
        (out / "truth.csv").open("w", newline="") as th,
    ):
        w = csv.writer(fh)
        t = csv.writer(th)
        w.writerow(
            ["request_id", "first_name", "last_name", "dob", "street", "city", "state", "zip"]
        )
        t.writerow(["request_id", "tin", "case"])
        starts = np.concatenate([[0], np.cumsum(n_addr)[:-1]])
        for j in range(m):
            rid = f"R{j:07d}"
            if rng.random() < 0.7:
                i = int(rng.integers(0, n))
                case = str(
                    rng.choice(
                        [
                            "clean",
                            "nickname",
                            "one_surname",
                            "stale_address",
                            "no_dob",
                            "typo",
                            "swapped_dob",
                        ]
                    )
                )
                f, ln, d = str(first[i]), str(last[i]), str(dob[i])
                a = int(last_idx[i])
                if case == "nickname":
                    f = NICK.get(f, f)
                elif case == "one_surname":
                    ln = ln.split()[0]
                elif case == "stale_address":
                    a = int(starts[i])
                elif case == "no_dob":
                    d = ""
                elif case == "typo" and len(ln) > 4:
                    ln = ln[:2] + ln[3] + ln[2] + ln[4:]
                elif case == "swapped_dob" and int(d[8:10]) <= 12:
                    d = f"{d[:4]}-{d[8:10]}-{d[5:7]}"
                c = CITIES[city_idx[a]]
                w.writerow([rid, f, ln, d, streets[a], c[0], c[1], zips[a]])
                t.writerow([rid, tins[i], case])
            else:
                c = CITIES[int(rng.integers(0, len(CITIES)))]
                d = str(np.datetime64("1940-01-01") + int(rng.integers(0, 25000)))
                w.writerow(
                    [
                        rid,
                        str(rng.choice(FIRST)),
                        str(rng.choice(LAST)),
                        d,
                        str(_street(rng, 1)[0]),
                        c[0],
                        c[1],
                        f"{c[2]:03d}{rng.integers(0, 100):02d}",
                    ]
                )
                t.writerow([rid, "", "not_in_register"])
    return snap


def snapshot_from_synth(work: Path) -> None:
    """synth's CSV register -> the Parquet snapshot layout; its batch and truth into place.

    Only requests synth expects to reach matching are kept (expected != REFUSE): refusals are
    the policy layer's job and never reach the matcher.
    """
    import duckdb

    snap = work / "snapshot"
    snap.mkdir(parents=True, exist_ok=True)
    reg = work / "register"
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT regexp_replace(CAST(tin AS VARCHAR), '[^0-9]', '', 'g') AS tin,
            tin_type, first_name, middle_name, last_name, suffix, TRY_CAST(dob AS DATE) AS dob
            FROM read_csv('{reg / "taxpayers.csv"}', all_varchar=true))
            TO '{snap / "taxpayers.parquet"}' (FORMAT parquet)""").fetchall()
        con.execute(f"""COPY (SELECT regexp_replace(CAST(tin AS VARCHAR), '[^0-9]', '', 'g') AS tin,
            street, unit, city, state, zip, TRY_CAST(valid_from AS DATE) AS valid_from, source
            FROM read_csv('{reg / "addresses.csv"}', all_varchar=true))
            TO '{snap / "addresses.parquet"}' (FORMAT parquet)""").fetchall()
    with (work / "truth.csv").open() as fh:
        truth = {r["request_id"]: r for r in csv.DictReader(fh)}
    keep = {rid for rid, r in truth.items() if r.get("expected") != "REFUSE"}
    with (
        (work / "batch" / "requests.csv").open() as src,
        (work / "requests.csv").open("w", newline="") as dst,
    ):
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if row["request_id"] in keep:
                writer.writerow(row)
    with (work / "truth.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["tin"] = "".join(ch for ch in r.get("tin", "") if ch.isdigit())
    with (work / "truth.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["request_id", "tin"])
        writer.writeheader()
        writer.writerows(rows)


def _phase(phase: str, work: Path) -> dict[str, float]:
    """Run one phase in a child process; return its wall time and peak RSS."""
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--phase", phase, "--work", str(work)], check=True)
    rss = json.loads((work / f"rss_{phase}.json").read_text())["peak_rss_mib"]
    return {"seconds": round(time.perf_counter() - t, 1), "peak_rss_mib": rss}


def _blocking_analysis(work: Path, settings: object) -> None:
    """Size each blocking rule with splink.blocking_analysis (requests x register, exact)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from ftigate.linkage import duckdb_backend
    from ftigate.linkage.prepared import requests_table
    from ftigate.linkage.settings import blocking_rules
    from ftigate.model import Request

    with (work / "requests.csv").open() as fh:
        reqs = [
            Request(line=i + 2, **{k: v for k, v in row.items() if k in Request.__slots__})
            for i, row in enumerate(csv.DictReader(fh))
        ]
    table = requests_table(reqs)
    con = duckdb_backend.connect(settings)  # type: ignore[arg-type]
    con.register("req_arrow", table)
    con.execute(
        "CREATE TABLE req AS SELECT *, 'requests' AS source_dataset FROM req_arrow"
    ).fetchall()
    prepared = work / "snapshot" / "linkage" / "taxpayers.parquet"
    con.execute(
        f"CREATE TABLE reg AS SELECT *, 'register' AS source_dataset "
        f"FROM read_parquet('{prepared}')"
    ).fetchall()
    db_api = DuckDBAPI(connection=con)
    sdfs = [db_api.register("req"), db_api.register("reg")]
    rules = blocking_rules()
    records = count_comparisons_from_blocking_rules(
        sdfs,
        blocking_rules=[r.creator for r in rules],
        link_type="link_only",
        source_dataset_column_name="source_dataset",
        record_sample_proportion=1.0,
    )
    out = []
    for rule, rec in zip(rules, records, strict=True):
        out.append(
            {
                "rule": rule.name,
                "keeps": rule.keeps,
                "marginal_pairs": rec["marginal_comparison_count"],
                "cumulative_pairs": rec["cumulative_comparison_count"],
            }
        )
    (work / "blocking.json").write_text(json.dumps({"requests": len(reqs), "rules": out}))


def run_phase(phase: str, work: Path) -> None:
    from ftigate.config import Settings
    from ftigate.linkage import duckdb_backend
    from ftigate.linkage.decide import decide_request, estimated_false_disclosures
    from ftigate.model import MatchPolicy, Outcome, Request

    settings = Settings(data_dir=str(work))
    snap = work / "snapshot"
    if phase == "prepare":
        duckdb_backend.prepare_register(snap, settings)
    elif phase == "train":
        duckdb_backend.train(snap, settings)
    elif phase == "blocking":
        _blocking_analysis(work, settings)
    elif phase == "match":
        with (work / "requests.csv").open() as fh:
            reqs = [
                Request(line=i + 2, **{k: v for k, v in row.items() if k in Request.__slots__})
                for i, row in enumerate(csv.DictReader(fh))
            ]
        with (work / "truth.csv").open() as fh:
            truth = {row["request_id"]: row for row in csv.DictReader(fh)}
        t = time.perf_counter()
        cands = duckdb_backend.match(snap, snap / "linkage" / "model.json", reqs, settings)
        match_s = time.perf_counter() - t
        decisions = {r.request_id: decide_request(r, cands[r.line], MatchPolicy()) for r in reqs}
        wrong = right = 0
        by_case: dict[str, dict[str, int]] = {}
        for rid, d in decisions.items():
            tin, case = truth[rid]["tin"], truth[rid].get("case", "")
            if truth[rid].get("expected") == "DISCLOSE" and not tin:
                tin = "?"
            slot = by_case.setdefault(case, {})
            slot[d.outcome.value] = slot.get(d.outcome.value, 0) + 1
            if d.outcome is Outcome.DISCLOSE:
                if d.tin == tin:
                    right += 1
                else:
                    wrong += 1
        in_register = sum(1 for row in truth.values() if row["tin"])
        (work / "match.json").write_text(
            json.dumps(
                {
                    "requests": len(reqs),
                    "match_seconds": round(match_s, 1),
                    "disclosed": right + wrong,
                    "wrong_person_disclosures": wrong,
                    "precision": right / (right + wrong) if right + wrong else 1.0,
                    "recall_of_registered": right / in_register if in_register else 0.0,
                    "estimated_false_disclosures": estimated_false_disclosures(decisions.values()),
                    "outcomes_by_case": by_case,
                }
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taxpayers", type=int, default=200_000)
    ap.add_argument("--requests", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--own", action="store_true", help="use this file's generator, not synth")
    ap.add_argument("--phase", choices=["prepare", "train", "blocking", "match"], default=None)
    args = ap.parse_args()
    if args.phase:
        run_phase(args.phase, args.work)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        (args.work / f"rss_{args.phase}.json").write_text(json.dumps({"peak_rss_mib": peak}))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="linkage-bench-"))
    t = time.perf_counter()
    try:
        from ftigate import synth

        generate = synth.generate
    except (ImportError, AttributeError):
        generate = None
    if generate is not None and not args.own:
        generator = "ftigate.synth"
        generate(taxpayers=args.taxpayers, requests=args.requests, seed=args.seed, out=work)
        snapshot_from_synth(work)
    else:
        generator = "bench/linkage_accuracy.py (own)"
        generate_own(args.taxpayers, args.requests, args.seed, work)
    gen_s = time.perf_counter() - t
    report: dict[str, object] = {
        "generator": generator,
        "taxpayers": args.taxpayers,
        "requests": args.requests,
        "generate_seconds": round(gen_s, 1),
    }
    for phase in ("prepare", "train", "blocking", "match"):
        report[phase] = _phase(phase, work)
    report["blocking_rules"] = json.loads((work / "blocking.json").read_text())
    report["accuracy"] = json.loads((work / "match.json").read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"linkage_accuracy_{args.taxpayers}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
