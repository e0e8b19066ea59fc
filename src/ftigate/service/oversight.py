"""Oversight reports: gather leaves and their context from the store, then count (no FTI).

The counting lives in :mod:`ftigate.reports.oversight` and takes values; this module decides
what to read. The numbers are computed over the leaves covered by the newest signed checkpoint,
so an overseer holding a ledger export (``ftigate ledger export``) can recount them from the
same leaves and check them against the same signed tree head.

Reading the whole log once per report is deliberate: a leaf's time is inside its record, so
choosing a period means decoding leaves. At a million leaves that is a few tens of seconds,
acceptable for a monthly or annual report and far simpler than a second index that could
disagree with the ledger.

Example (what ``ftigate report annual --year 2025 --out table.csv`` does)::

    table = annual_report(gw, Principal.local("auditor"), 2025)
    Path("table.csv").write_text(table.to_csv())
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftigate.errors import FtigateError, InputError, IntegrityError
from ftigate.ledger import log as ledger_log
from ftigate.ledger.leaf import LedgerRecord, decode_record, utc_timestamp
from ftigate.policy.agreement import parse_agreement
from ftigate.reports.oversight import (
    AgreementFacts,
    AnnualTable,
    DecisionRow,
    OversightReport,
    annual_table,
    in_period,
    render_annual_html,
    render_oversight_html,
    summarise_oversight,
)
from ftigate.service import accounts as acc
from ftigate.service.context import Gateway, Principal
from ftigate.store import repo
from ftigate.store import tables as t

REPORT_READERS = (acc.AUDITOR, acc.ADMIN, acc.OFFICER, "system")
"""Who may compute oversight numbers: IRS roles, never a requester (they are about everyone)."""

ANNUAL_SUFFIXES = (".json", ".csv", ".html")


def _covered(conn: Connection) -> tuple[int, int, str | None]:
    """(tree size, size covered by the newest checkpoint, that checkpoint's text)."""
    latest = ledger_log.latest_checkpoint(conn)
    size = ledger_log.tree_size(conn)
    if latest is None:
        return size, 0, None
    return size, min(latest.size, size), latest.text


def iter_records(conn: Connection, end: int) -> Iterator[tuple[int, LedgerRecord]]:
    """Decoded leaves ``0 .. end-1``. A leaf that does not decode stops the report: numbers
    over a damaged log would be wrong, and ``ftigate ledger verify`` says where it is."""
    for index, data in enumerate(ledger_log.iter_leaf_data(conn, end)):
        try:
            yield index, decode_record(data)
        except InputError as e:
            raise IntegrityError(
                f"ledger leaf {index} does not decode ({e.message}); run `ftigate ledger verify`",
                index=index,
            ) from e


def load_decision_rows(conn: Connection, indices: Sequence[int]) -> dict[int, DecisionRow]:
    """Decision rows pointing to ``indices`` (one range query, filtered)."""
    if not indices:
        return {}
    wanted = set(indices)
    d = t.decisions
    q = sa.select(
        d.c.leaf_index,
        d.c.batch_id,
        d.c.line,
        d.c.request_id,
        d.c.final_outcome,
        d.c.final_reason,
        d.c.probability,
    ).where(d.c.leaf_index.between(min(wanted), max(wanted)))
    return {
        int(r.leaf_index): DecisionRow(
            int(r.leaf_index),
            r.batch_id,
            int(r.line),
            r.request_id,
            r.final_outcome,
            r.final_reason,
            r.probability,
        )
        for r in conn.execute(q)
        if int(r.leaf_index) in wanted
    }


def load_received_at(conn: Connection, batch_ids: set[str]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    ids = sorted(batch_ids)
    for i in range(0, len(ids), 400):
        q = sa.select(t.batches.c.id, t.batches.c.received_at).where(
            t.batches.c.id.in_(ids[i : i + 400])
        )
        out.update((r.id, repo._aware(r.received_at)) for r in conn.execute(q))
    return out


def load_pending(conn: Connection, start: date, end: date) -> dict[str, int]:
    """Batches received in the period and not yet released: their requests are not in the
    ledger yet, and an overseer should see that they exist."""
    lo = datetime.combine(start, time.min, UTC)
    hi = datetime.combine(end, time.max, UTC)
    q = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(t.batches.c.row_count), 0)).where(
        t.batches.c.received_at.between(lo, hi),
        t.batches.c.status.in_((repo.BATCH_RECEIVED, repo.BATCH_MATCHED)),
    )
    batches, requests = conn.execute(q).one()
    return {"batches": int(batches), "requests": int(requests)}


def load_agreement_facts(conn: Connection) -> dict[str, AgreementFacts]:
    """Every stored agreement version by SHA-256 (what each leaf records)."""
    out = {}
    for stored in repo.list_agreements(conn):
        try:
            a = parse_agreement(stored.yaml_text, f"store:{stored.id}:{stored.version}")
        except FtigateError:  # stored versions were valid when loaded; never hide a count
            continue
        out[stored.sha256] = AgreementFacts(a.id, a.version, a.requesting_agency, a.legal_basis)
    return out


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})", field="--to")


def oversight_report(
    gw: Gateway, principal: Principal, start: date, end: date, now: datetime | None = None
) -> OversightReport:
    """The oversight numbers for ``[start, end]`` (UTC days, inclusive), read in one audited
    transaction."""
    _check_period(start, end)
    obj = f"ledger:period:{start.isoformat()}..{end.isoformat()}"
    acc.authorize(gw, principal, REPORT_READERS, "REPORT_OVERSIGHT", obj)

    def run(conn: Connection) -> OversightReport:
        size, covered, checkpoint = _covered(conn)
        chosen = [(i, r) for i, r in iter_records(conn, covered) if in_period(r, start, end)]
        return summarise_oversight(
            chosen,
            start=start,
            end=end,
            rows=load_decision_rows(conn, [i for i, _ in chosen]),
            received_at=load_received_at(conn, {r.batch_id for _, r in chosen}),
            generated_at=utc_timestamp(now or datetime.now(UTC)),
            tree_size=size,
            covered_size=covered,
            checkpoint=checkpoint,
            pending=load_pending(conn, start, end),
        )

    return gw.audited(principal, "REPORT_OVERSIGHT", obj, run)


def write_oversight_report(
    gw: Gateway, principal: Principal, start: date, end: date, out: Path
) -> tuple[OversightReport, list[Path]]:
    """Write ``out/oversight.json`` and ``out/oversight.html`` (the plot embedded as PNG)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a directory", file=str(out))
    report = oversight_report(gw, principal, start, end)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "oversight.json", out / "oversight.html"]
    files[0].write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n", "utf-8")
    files[1].write_text(render_oversight_html(report), encoding="utf-8")
    return report, files


def annual_report(
    gw: Gateway, principal: Principal, year: int, now: datetime | None = None
) -> AnnualTable:
    """The § 6103(p)(3)(C) table of calendar ``year`` (see :mod:`ftigate.reports.oversight`)."""
    if not 1900 < year < 10000:
        raise InputError(f"{year} is not a calendar year", field="--year")
    obj = f"ledger:year:{year}"
    acc.authorize(gw, principal, REPORT_READERS, "REPORT_ANNUAL", obj)

    def run(conn: Connection) -> AnnualTable:
        _, covered, checkpoint = _covered(conn)
        return annual_table(
            iter_records(conn, covered),
            load_agreement_facts(conn),
            year,
            generated_at=utc_timestamp(now or datetime.now(UTC)),
            covered_size=covered,
            checkpoint=checkpoint,
        )

    return gw.audited(principal, "REPORT_ANNUAL", obj, run)


def render_annual(table: AnnualTable, suffix: str) -> str:
    """The table as ``.json``, ``.csv`` or ``.html`` text."""
    if suffix == ".json":
        return json.dumps(table.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if suffix == ".csv":
        return table.to_csv()
    _check_suffix(suffix)
    return render_annual_html(table)


def _check_suffix(suffix: str) -> None:
    if suffix not in ANNUAL_SUFFIXES:
        raise InputError(
            f"the annual table is written as {', '.join(ANNUAL_SUFFIXES)}, "
            f"not {suffix or 'a file without a suffix'}",
            field="--out",
        )


def write_annual_report(gw: Gateway, principal: Principal, year: int, out: Path) -> AnnualTable:
    """Write the table to ``out`` in the format its suffix names."""
    suffix = out.suffix.lower()
    _check_suffix(suffix)  # before the work, not after it
    table = annual_report(gw, principal, year)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_annual(table, suffix), encoding="utf-8")
    return table
