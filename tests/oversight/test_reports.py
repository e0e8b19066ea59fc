"""Oversight numbers and the annual table against a hand-built ledger whose counts we know."""

from __future__ import annotations

import base64
import csv
import doctest
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ftigate.cli import app
from ftigate.errors import Forbidden, InputError, IntegrityError
from ftigate.errors import RefusalCode as C
from ftigate.ledger.leaf import tin_hmac
from ftigate.reports import oversight as reports
from ftigate.service import Principal
from ftigate.service.oversight import annual_report, oversight_report, write_oversight_report
from ftigate.store import tables as t
from ftigate.store.ledger_tables import ledger_leaves

from .conftest import (
    AUDITOR,
    CBP,
    ICE,
    Store,
    cli_base,
    disclose,
    no_match,
    refuse,
    review,
)

TINS = ("123456789", "912701234", "234567890", "912881111")
runner = CliRunner()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def ledger(store: Store) -> Store:
    """Four releases over 2025 and 2026, two agreements.

    ========  ============  =====================================================================
    batch     released      rows
    ========  ============  =====================================================================
    B1 (ICE)  2025-03-03    R1 bulk p=.9995; R2 approved p=.97; R3 withheld; R4 refused x2; R5
                            no match
    B2 (ICE)  2025-08-10    R1, R2 bulk p=.9991/.9993; R3 refused MISSING_ADDRESS; R4 refused
                            ADDRESS_NOT_SPECIFIC
    C1 (CBP)  2025-08-20    R1 bulk p=.9999; R2 approved p=.96
    B3 (ICE)  2026-01-05    R1 bulk p=.9992
    ========  ============  =====================================================================
    """
    s = store
    s.make_batch(
        "B1",
        [
            disclose("R1", TINS[0], 0.9995),
            review("R2", TINS[1], 0.97),
            review("R3", TINS[2], 0.96),
            refuse("R4", C.ADDRESS_NOT_SPECIFIC, C.MISSING_TAX_PERIOD),
            no_match("R5"),
        ],
    )
    s.release_by_hand(
        "B1",
        at("2025-03-03T12:00:00"),
        received_at=at("2025-03-01T00:00:00"),
        approve=["R2"],
        withhold=["R3"],
    )
    s.make_batch(
        "B2",
        [
            disclose("R1", TINS[2], 0.9991),
            disclose("R2", TINS[3], 0.9993),
            refuse("R3", C.MISSING_ADDRESS),
            refuse("R4", C.ADDRESS_NOT_SPECIFIC),
        ],
    )
    s.release_by_hand("B2", at("2025-08-10T09:00:00"), received_at=at("2025-08-10T03:00:00"))
    s.make_batch(
        "C1", [disclose("R1", TINS[0], 0.9999), review("R2", TINS[1], 0.96)], "irs-cbp-2025"
    )
    s.release_by_hand(
        "C1", at("2025-08-20T10:00:00"), received_at=at("2025-08-19T10:00:00"), approve=["R2"]
    )
    s.make_batch("B3", [disclose("R1", TINS[3], 0.9992)])
    s.release_by_hand("B3", at("2026-01-05T08:00:00"), received_at=at("2026-01-05T07:00:00"))
    return s


def test_annual_table_counts_match_the_hand_built_ledger(ledger: Store) -> None:
    table = annual_report(ledger.gw, AUDITOR, 2025)
    rows = {(r.disclosure_to_for, r.subsection): (r.bulk, r.other, r.total) for r in table.rows}
    assert rows == {(ICE, "6103(i)(2)"): (3, 1, 4), (CBP, "6103(i)(2)"): (1, 1, 2)}
    assert table.total.cells() == ("Total", "", 4, 2, 6)
    assert table.erroneous_releases == 0
    assert table.covered_size == 12  # every leaf, all covered by the newest checkpoint
    # the next year counts only its own release, and an agreement without decisions has no row
    later = annual_report(ledger.gw, AUDITOR, 2026)
    assert [r.cells() for r in later.rows] == [(ICE, "6103(i)(2)", 1, 0, 1)]
    assert annual_report(ledger.gw, AUDITOR, 2024).rows == ()


def test_annual_table_files(ledger: Store, tmp_path: Path) -> None:
    for suffix in ("csv", "json", "html"):
        out = tmp_path / f"annual.{suffix}"
        r = runner.invoke(
            app, [*cli_base(ledger), "report", "annual", "--year", "2025", "--out", str(out)]
        )
        assert r.exit_code == 0, r.output
    got = list(csv.reader(io.StringIO((tmp_path / "annual.csv").read_text())))
    assert got == [
        ["Disclosure To/For", "§ 6103 subsection", "Bulk", "Other", "Total"],
        [CBP, "6103(i)(2)", "1", "1", "2"],
        [ICE, "6103(i)(2)", "3", "1", "4"],
        ["Total", "", "4", "2", "6"],
    ]
    doc = json.loads((tmp_path / "annual.json").read_text())
    assert doc["year"] == 2025 and doc["total"]["Total"] == 6
    assert {row["Disclosure To/For"]: row["Bulk"] for row in doc["rows"]} == {ICE: 3, CBP: 1}
    assert "checkpoint" in doc["ledger"] and doc["ledger"]["checkpoint"].startswith("ftigate")
    html = (tmp_path / "annual.html").read_text()
    assert "<td>Total</td>" in html and ICE in html
    # an unknown format is refused before anything is written
    bad = tmp_path / "annual.xlsx"
    r = runner.invoke(
        app, [*cli_base(ledger), "report", "annual", "--year", "2025", "--out", str(bad)]
    )
    assert r.exit_code == 3 and ".csv" in r.output and not bad.exists()


def test_refusals_by_code_per_month(ledger: Store) -> None:
    report = oversight_report(ledger.gw, AUDITOR, date(2025, 1, 1), date(2025, 12, 31))
    assert sorted(report.by_month) == [f"2025-{m:02d}" for m in range(1, 13)]
    active = [m for m, tally in report.by_month.items() if tally.requests]
    assert sorted(active) == ["2025-03", "2025-08"]  # the quiet months are there, as zeros
    march, august = report.by_month["2025-03"], report.by_month["2025-08"]
    assert march.refused == 1  # one request with two codes
    assert dict(march.refusal_codes) == {"ADDRESS_NOT_SPECIFIC": 1, "MISSING_TAX_PERIOD": 1}
    assert august.refused == 2
    assert dict(august.refusal_codes) == {"ADDRESS_NOT_SPECIFIC": 1, "MISSING_ADDRESS": 1}
    assert dict(report.totals.refusal_codes) == {
        "ADDRESS_NOT_SPECIFIC": 2,
        "MISSING_TAX_PERIOD": 1,
        "MISSING_ADDRESS": 1,
    }


def test_oversight_totals_by_month_and_agreement(ledger: Store) -> None:
    report = oversight_report(ledger.gw, AUDITOR, date(2025, 1, 1), date(2025, 12, 31))
    t_ = report.totals
    assert (t_.requests, t_.disclosed, t_.not_disclosed, t_.refused) == (11, 6, 2, 3)
    assert (t_.disclosed_bulk, t_.disclosed_other) == (4, 2)
    assert (t_.reviews_approved, t_.reviews_withheld) == (2, 1)
    assert dict(t_.not_disclosed_reasons) == {"WITHHELD_BY_OFFICER": 1, "NO_MATCH": 1}
    expected = sum(1 - p for p in (0.9995, 0.97, 0.9991, 0.9993, 0.9999, 0.96))
    assert t_.estimated_false_disclosures == pytest.approx(expected)
    assert t_.disclosures_without_probability == 0
    assert report.by_agreement["irs-cbp-2025"].disclosed == 2
    assert report.by_agreement["irs-ice-2025"].requests == 9
    assert report.by_month["2025-08"].requests == 6
    # the period is inclusive of both days and nothing outside it counts
    august = oversight_report(ledger.gw, AUDITOR, date(2025, 8, 10), date(2025, 8, 20))
    assert august.totals.requests == 6 and sorted(august.by_month) == ["2025-08"]
    assert oversight_report(ledger.gw, AUDITOR, date(2025, 8, 11), date(2025, 8, 19)).totals == (
        reports.Tally()
    )


def test_time_from_receipt_to_release(ledger: Store) -> None:
    report = oversight_report(ledger.gw, AUDITOR, date(2025, 1, 1), date(2025, 12, 31))
    hours = {b.batch_id: b.hours for b in report.timings}
    assert hours == {"B1": 60.0, "B2": 6.0, "C1": 24.0}
    summary = report.to_json()["receipt_to_release"]
    assert (summary["batches"], summary["median_hours"], summary["max_hours"]) == (3, 24.0, 60.0)


def test_cross_check_finds_a_decision_row_that_disagrees(ledger: Store) -> None:
    report = oversight_report(ledger.gw, AUDITOR, date(2025, 1, 1), date(2025, 12, 31))
    assert report.cross.ok and report.cross.decision_rows == report.cross.decision_leaves == 11
    with ledger.gw.db.transaction() as conn:
        leaf = conn.execute(
            sa.select(t.decisions.c.leaf_index).where(
                t.decisions.c.batch_id == "B2", t.decisions.c.request_id == "R3"
            )
        ).scalar_one()
        conn.execute(
            t.decisions.update()
            .where(t.decisions.c.leaf_index == leaf)
            .values(final_outcome="DISCLOSE")
        )
    report = oversight_report(ledger.gw, AUDITOR, date(2025, 1, 1), date(2025, 12, 31))
    assert not report.cross.ok and report.cross.problem_count == 1
    assert f"leaf {leaf}" in report.cross.problems[0] and "outcome" in report.cross.problems[0]
    # the ledger, not the table, is what is counted
    assert report.totals.refused == 3 and report.cross.table_outcomes["DISCLOSE"] == 7


def test_report_files_carry_no_fti(ledger: Store, tmp_path: Path) -> None:
    _, files = write_oversight_report(
        ledger.gw, AUDITOR, date(2025, 1, 1), date(2026, 12, 31), tmp_path / "out"
    )
    text = "\n".join(f.read_text() for f in files)
    for tin in TINS:
        assert tin not in text and f"{tin[:3]}-{tin[3:5]}-{tin[5:]}" not in text
        assert tin_hmac(ledger.gw.tin_hmac_key, tin) not in text
    assert "400 N Main St" not in text and "Maria" not in text
    doc = json.loads(files[0].read_text())
    assert doc["format"] == "ftigate-oversight/1" and doc["totals"]["requests"] == 12
    assert doc["ledger"]["covered_size"] == doc["ledger"]["tree_size"] == 12
    png = re.search(r'src="data:image/png;base64,([^"]+)"', files[1].read_text())
    assert png is not None and base64.b64decode(png.group(1)).startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_oversight_report(ledger: Store, tmp_path: Path) -> None:
    out = tmp_path / "ov"
    args = ["report", "oversight", "--from", "2025-01-01", "--to", "2025-12-31", "--out", str(out)]
    r = runner.invoke(app, [*cli_base(ledger), *args])
    assert r.exit_code == 0, r.output
    assert "11 requests: 6 disclosed, 2 not disclosed, 3 refused" in r.output
    assert json.loads((out / "oversight.json").read_text())["totals"]["disclosed"] == 6
    events = ledger.audit(event_type="REPORT_OVERSIGHT", outcome="success")
    assert events and events[-1]["principal"].startswith("local:")
    backwards = ["report", "oversight", "--from", "2025-12-31", "--to", "2025-01-01"]
    r = runner.invoke(app, [*cli_base(ledger), *backwards, "--out", str(tmp_path / "x")])
    assert r.exit_code == 3 and "before it starts" in r.output
    r = runner.invoke(app, [*cli_base(ledger), *args[:3], "2025-13-01", *args[4:]])
    assert r.exit_code == 3 and "--from" in r.output


def test_a_requester_may_not_read_oversight_numbers(ledger: Store) -> None:
    ice = Principal("ice", "requester", "api", ICE)
    with pytest.raises(Forbidden):
        oversight_report(ledger.gw, ice, date(2025, 1, 1), date(2025, 12, 31))
    with pytest.raises(Forbidden):
        annual_report(ledger.gw, ice, 2025)
    assert ledger.audit(principal="ice", event_type="REPORT_ANNUAL", outcome="failure")
    with pytest.raises(InputError):
        annual_report(ledger.gw, AUDITOR, 20250)


def test_empty_ledger(store: Store) -> None:
    report = oversight_report(store.gw, AUDITOR, date(2025, 1, 1), date(2025, 12, 31))
    assert report.totals.requests == 0 and report.checkpoint is None and report.cross.ok
    assert "<html" in reports.render_oversight_html(report)
    assert annual_report(store.gw, AUDITOR, 2025).to_csv().splitlines() == [
        "Disclosure To/For,§ 6103 subsection,Bulk,Other,Total",
        "Total,,0,0,0",
    ]


def test_pending_batches_are_reported_but_not_counted(store: Store) -> None:
    store.make_batch("P1", [disclose("R1", TINS[0]), no_match("R2")])
    today = datetime.now(UTC).date()
    report = oversight_report(store.gw, AUDITOR, today, today)
    assert report.pending == {"batches": 1, "requests": 2}
    assert report.totals.requests == 0


def test_subsection() -> None:
    assert reports.subsection("26 U.S.C. 6103(i)(2)") == "6103(i)(2)"
    assert reports.subsection("26 USC § 6103 (l)(3)(A)") == "6103(l)(3)(A)"
    assert reports.subsection("a treaty") == "a treaty"


def test_doctests() -> None:
    from ftigate.service import remediation, retention

    for module in (reports, remediation, retention):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_a_damaged_leaf_stops_the_report(ledger: Store, tmp_path: Path) -> None:
    """Numbers over a damaged log would be wrong: the report refuses, naming the leaf."""
    with ledger.gw.db.transaction() as conn:
        conn.execute(ledger_leaves.update().where(ledger_leaves.c.idx == 6).values(record=b"{}"))
    with pytest.raises(IntegrityError, match="leaf 6") as e:
        annual_report(ledger.gw, AUDITOR, 2025)
    assert e.value.index == 6
    r = runner.invoke(
        app,
        [*cli_base(ledger), "report", "annual", "--year", "2025", "--out", str(tmp_path / "a.csv")],
    )
    assert r.exit_code == 9 and "ledger verify" in r.output
