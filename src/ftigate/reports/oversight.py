"""Oversight numbers and the annual § 6103(p)(3)(C) table, computed from ledger leaves. No FTI.

The ledger is the authoritative record, so every count here is a count of leaves (decoded with
:func:`ftigate.ledger.leaf.decode_record`); the ``decisions`` table is only a cross-check and the
source of match probabilities, which the ledger does not hold. Everything in this module takes
values and returns values: :mod:`ftigate.service.oversight` reads the store and calls it.

**What is counted, and when.** A request is counted in the month (UTC) of its DECISION leaf,
i.e. when its outcome was released, not when it was received; a remediation leaf is counted in
its own month. Per request the outcome is one of DISCLOSE, NOT_DISCLOSED (with an internal
reason) or REFUSED (with every refusal code it earned: ``refusal_codes`` counts codes, a request
refused for two reasons counts under both, while ``refused`` counts requests). Officers'
reviews are the DECISION leaves whose reason is APPROVED_BY_OFFICER or WITHHELD_BY_OFFICER.
The estimated number of false disclosures is the sum of 1 − p over disclosures, p being the
match probability stored with the decision row.

**The annual table.** The IRS reports disclosures to the Joint Committee on Taxation under
26 U.S.C. 6103(p)(3)(C) in rows of *Disclosure To/For | § 6103 subsection | Bulk | Other |
Total*. Here a row is one (requesting agency, subsection of the agreement's legal basis) pair,
e.g. (U.S. Immigration and Customs Enforcement ..., ``6103(i)(2)``), and a cell counts *records
disclosed*: DISCLOSE decision leaves whose time falls in the calendar year (UTC).

* **Bulk**: disclosures the gateway matched itself and that went out in a batch release
  (a DISCLOSE leaf with no internal reason): no person looked at that record on its own.
* **Other**: disclosures released individually, i.e. approved one by one by a disclosure
  officer from the review queue (reason APPROVED_BY_OFFICER).

A disclosure later found erroneous is still a disclosure that was made; it stays in the table
and the number of ERRONEOUS_RELEASE leaves of the year is given beside it. Every agreement with
a decision in the year gets a row, so one with requests but no disclosures shows 0.

Example:
    >>> subsection("26 U.S.C. 6103(i)(2)")
    '6103(i)(2)'
    >>> AnnualRow("ICE", "6103(i)(2)", bulk=3, other=1).total
    4
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ftigate.ledger.leaf import LedgerRecord, RecordKind
from ftigate.model import Outcome, Reason

OVERSIGHT_FORMAT = "ftigate-oversight/1"
ANNUAL_FORMAT = "ftigate-annual-6103p3c/1"
ANNUAL_COLUMNS = ("Disclosure To/For", "§ 6103 subsection", "Bulk", "Other", "Total")
REVIEW_REASONS = {
    Reason.APPROVED_BY_OFFICER: "approved",
    Reason.WITHHELD_BY_OFFICER: "withheld",
}
MAX_PROBLEMS = 50  # cross-check problems listed; the count says how many there were
MAX_YEARS_OF_MONTHS = 50  # a longer period lists only the months that had leaves


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """What the ``decisions`` table says about one leaf (the cross-check's other side)."""

    leaf_index: int
    batch_id: str
    line: int
    request_id: str
    outcome: str | None  # the final outcome written at release
    reason: str | None
    probability: float | None


@dataclass(frozen=True, slots=True)
class AgreementFacts:
    """The parts of a stored agreement version the reports name rows by."""

    id: str
    version: int
    requesting_agency: str
    legal_basis: str


def subsection(legal_basis: str) -> str:
    """The § 6103 subsection a legal basis cites (``6103(i)(2)``), or the text itself."""
    m = re.search(r"6103\s*((?:\([0-9A-Za-z]+\))+)", legal_basis)
    return f"6103{m.group(1)}" if m else legal_basis.strip()


def leaf_day(record: LedgerRecord) -> str:
    """``YYYY-MM-DD`` (UTC) of a leaf; its ``time`` is RFC 3339 in UTC by construction."""
    return record.time[:10]


def in_period(record: LedgerRecord, start: date, end: date) -> bool:
    return start.isoformat() <= leaf_day(record) <= end.isoformat()


def months(start: date, end: date) -> list[str]:
    """Every ``YYYY-MM`` from ``start`` to ``end``, so a month without requests shows as 0.

    >>> months(date(2025, 11, 30), date(2026, 2, 1))
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# --- the oversight numbers ------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Counts for one slice (all, a month, an agreement)."""

    requests: int = 0
    disclosed: int = 0
    disclosed_bulk: int = 0
    disclosed_other: int = 0
    not_disclosed: int = 0
    refused: int = 0
    refusal_codes: Counter[str] = field(default_factory=Counter)
    not_disclosed_reasons: Counter[str] = field(default_factory=Counter)
    reviews_approved: int = 0
    reviews_withheld: int = 0
    erroneous_releases: int = 0
    disposal_notices: int = 0
    disposal_acks: int = 0
    estimated_false_disclosures: float = 0.0
    disclosures_without_probability: int = 0

    def add(self, record: LedgerRecord, probability: float | None) -> None:
        if record.kind is RecordKind.ERRONEOUS_RELEASE:
            self.erroneous_releases += 1
        elif record.kind is RecordKind.DISPOSAL_NOTICE:
            self.disposal_notices += 1
        elif record.kind is RecordKind.DISPOSAL_ACK:
            self.disposal_acks += 1
        else:
            self._add_decision(record, probability)

    def _add_decision(self, record: LedgerRecord, probability: float | None) -> None:
        self.requests += 1
        if record.reason is Reason.APPROVED_BY_OFFICER:
            self.reviews_approved += 1
        elif record.reason is Reason.WITHHELD_BY_OFFICER:
            self.reviews_withheld += 1
        if record.outcome is Outcome.DISCLOSE:
            self.disclosed += 1
            if is_individual(record):
                self.disclosed_other += 1
            else:
                self.disclosed_bulk += 1
            if probability is None:
                self.disclosures_without_probability += 1
            else:
                self.estimated_false_disclosures += 1.0 - probability
        elif record.outcome is Outcome.NOT_DISCLOSED:
            self.not_disclosed += 1
            self.not_disclosed_reasons[str(record.reason) if record.reason else "UNKNOWN"] += 1
        elif record.outcome is Outcome.REFUSED:
            self.refused += 1
            self.refusal_codes.update(record.refusal_codes)

    @property
    def open_remediations(self) -> int:
        """Erroneous releases whose recipient has not yet acknowledged disposal (in this slice)."""
        return max(self.erroneous_releases - self.disposal_acks, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "disclosed": self.disclosed,
            "disclosed_bulk": self.disclosed_bulk,
            "disclosed_other": self.disclosed_other,
            "not_disclosed": self.not_disclosed,
            "refused": self.refused,
            "refusal_codes": dict(sorted(self.refusal_codes.items())),
            "not_disclosed_reasons": dict(sorted(self.not_disclosed_reasons.items())),
            "reviews": {"approved": self.reviews_approved, "withheld": self.reviews_withheld},
            "erroneous_releases": self.erroneous_releases,
            "disposal_notices": self.disposal_notices,
            "disposal_acks": self.disposal_acks,
            "estimated_false_disclosures": round(self.estimated_false_disclosures, 6),
            "disclosures_without_probability": self.disclosures_without_probability,
        }


def is_individual(record: LedgerRecord) -> bool:
    """A disclosure an officer approved on its own ("Other"), not matched in bulk."""
    return record.reason is Reason.APPROVED_BY_OFFICER


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """Leaves against decision rows. ``ok`` when every DECISION leaf has an agreeing row."""

    decision_leaves: int
    decision_rows: int
    ledger_outcomes: Mapping[str, int]
    table_outcomes: Mapping[str, int]
    problems: tuple[str, ...]
    problem_count: int

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "decision_leaves": self.decision_leaves,
            "decision_rows": self.decision_rows,
            "ledger_outcomes": dict(sorted(self.ledger_outcomes.items())),
            "decisions_table_outcomes": dict(sorted(self.table_outcomes.items())),
            "problem_count": self.problem_count,
            "problems": list(self.problems),
        }


def cross_check(
    leaves: Sequence[tuple[int, LedgerRecord]], rows: Mapping[int, DecisionRow]
) -> CrossCheck:
    """Compare each DECISION leaf with the decision row that points to it (by leaf index).

    A remediation leaf must have no decision row; a DECISION leaf must have exactly one whose
    batch, line, request, final outcome and reason agree. ``ftigate ledger verify`` checks the
    same and more over the whole log; this keeps a report honest about its own slice.
    """
    problems: list[str] = []
    ledger: Counter[str] = Counter()
    table: Counter[str] = Counter()
    found = 0
    for index, record in leaves:
        row = rows.get(index)
        if record.kind is not RecordKind.DECISION:
            if row is not None:
                problems.append(f"leaf {index} is a {record.kind} but a decision row points to it")
            continue
        ledger[str(record.outcome)] += 1
        if row is None:
            problems.append(
                f"leaf {index} ({record.batch_id} line {record.line}): no decision row points to it"
            )
            continue
        found += 1
        table[row.outcome or "NONE"] += 1
        have = (row.batch_id, row.line, row.request_id, row.outcome, row.reason)
        want = (
            record.batch_id,
            record.line,
            record.request_id,
            str(record.outcome),
            str(record.reason) if record.reason else None,
        )
        if have != want:
            names = ("batch_id", "line", "request_id", "outcome", "reason")
            wrong = [n for n, h, w in zip(names, have, want, strict=True) if h != w]
            problems.append(f"leaf {index}: the decision row differs in {', '.join(wrong)}")
    return CrossCheck(
        sum(ledger.values()),
        found,
        dict(ledger),
        dict(table),
        tuple(problems[:MAX_PROBLEMS]),
        len(problems),
    )


@dataclass(frozen=True, slots=True)
class BatchTiming:
    batch_id: str
    agreement_id: str
    received_at: str
    released_at: str
    hours: float
    requests: int


def receipt_to_release(
    leaves: Iterable[tuple[int, LedgerRecord]], received_at: Mapping[str, datetime]
) -> list[BatchTiming]:
    """Per batch: from receipt (batches table) to its release (its first DECISION leaf's time)."""
    first: dict[str, LedgerRecord] = {}
    counts: Counter[str] = Counter()
    for _, r in leaves:
        if r.kind is RecordKind.DECISION:
            counts[r.batch_id] += 1
            first.setdefault(r.batch_id, r)
    out = []
    for batch_id, r in first.items():
        received = received_at.get(batch_id)
        if received is None:
            continue
        released = datetime.fromisoformat(r.time.replace("Z", "+00:00"))
        hours = max((released - received).total_seconds(), 0.0) / 3600
        out.append(
            BatchTiming(
                batch_id,
                r.agreement_id,
                received.isoformat(),
                released.isoformat(),
                round(hours, 4),
                counts[batch_id],
            )
        )
    return sorted(out, key=lambda t: (t.released_at, t.batch_id))


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a real batch's)."""
    rank = max(math.ceil(q * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def timing_summary(timings: Sequence[BatchTiming]) -> dict[str, Any]:
    hours = sorted(t.hours for t in timings)
    if not hours:
        return {"batches": 0, "median_hours": None, "p90_hours": None, "max_hours": None}
    return {
        "batches": len(hours),
        "median_hours": _percentile(hours, 0.5),
        "p90_hours": _percentile(hours, 0.9),
        "max_hours": hours[-1],
    }


@dataclass(frozen=True)
class OversightReport:
    """Oversight numbers for ``[start, end]`` (UTC days, both inclusive)."""

    start: date
    end: date
    generated_at: str
    tree_size: int
    covered_size: int  # leaves covered by ``checkpoint``; the numbers are over these
    checkpoint: str | None
    totals: Tally
    by_month: Mapping[str, Tally]
    by_agreement: Mapping[str, Tally]
    timings: Sequence[BatchTiming]
    cross: CrossCheck
    pending: Mapping[str, int]  # received in the period, not yet released (not in the ledger)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": OVERSIGHT_FORMAT,
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "generated_at": self.generated_at,
            "ledger": {
                "tree_size": self.tree_size,
                "covered_size": self.covered_size,
                "checkpoint": self.checkpoint,
            },
            "totals": {**self.totals.to_json(), "open_remediations": self.totals.open_remediations},
            "by_month": {k: v.to_json() for k, v in sorted(self.by_month.items())},
            "by_agreement": {k: v.to_json() for k, v in sorted(self.by_agreement.items())},
            "receipt_to_release": {
                **timing_summary(self.timings),
                "per_batch": [asdict(t) for t in self.timings],
            },
            "cross_check": self.cross.to_json(),
            "pending": dict(self.pending),
        }


def summarise_oversight(
    leaves: Sequence[tuple[int, LedgerRecord]],
    *,
    start: date,
    end: date,
    rows: Mapping[int, DecisionRow],
    received_at: Mapping[str, datetime],
    generated_at: str,
    tree_size: int,
    covered_size: int,
    checkpoint: str | None,
    pending: Mapping[str, int] | None = None,
) -> OversightReport:
    """The numbers for the leaves of ``[start, end]`` (``leaves`` may hold others; they are
    skipped). ``rows`` maps leaf index to its decision row; ``received_at`` batch to receipt."""
    chosen = [(i, r) for i, r in leaves if in_period(r, start, end)]
    totals = Tally()
    quiet = months(start, end) if end.year - start.year <= MAX_YEARS_OF_MONTHS else []
    by_month: dict[str, Tally] = {m: Tally() for m in quiet}  # a quiet month shows as 0
    by_agreement: dict[str, Tally] = {}
    for index, record in chosen:
        row = rows.get(index)
        p = row.probability if row is not None else None
        for tally in (
            totals,
            by_month.setdefault(record.time[:7], Tally()),
            by_agreement.setdefault(record.agreement_id, Tally()),
        ):
            tally.add(record, p)
    return OversightReport(
        start=start,
        end=end,
        generated_at=generated_at,
        tree_size=tree_size,
        covered_size=covered_size,
        checkpoint=checkpoint,
        totals=totals,
        by_month=by_month,
        by_agreement=by_agreement,
        timings=receipt_to_release(chosen, received_at),
        cross=cross_check(chosen, rows),
        pending=dict(pending or {}),
    )


# --- the annual table -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnualRow:
    disclosure_to_for: str
    subsection: str
    bulk: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.bulk + self.other

    def cells(self) -> tuple[str, str, int, int, int]:
        return (self.disclosure_to_for, self.subsection, self.bulk, self.other, self.total)


@dataclass(frozen=True)
class AnnualTable:
    """The § 6103(p)(3)(C) table of one calendar year (UTC)."""

    year: int
    rows: tuple[AnnualRow, ...]
    erroneous_releases: int
    generated_at: str
    covered_size: int
    checkpoint: str | None

    @property
    def total(self) -> AnnualRow:
        return AnnualRow(
            "Total", "", sum(r.bulk for r in self.rows), sum(r.other for r in self.rows)
        )

    def to_json(self) -> dict[str, Any]:
        def row(r: AnnualRow) -> dict[str, Any]:
            return dict(zip(ANNUAL_COLUMNS, r.cells(), strict=True))

        return {
            "format": ANNUAL_FORMAT,
            "year": self.year,
            "columns": list(ANNUAL_COLUMNS),
            "rows": [row(r) for r in self.rows],
            "total": row(self.total),
            "erroneous_releases": self.erroneous_releases,
            "definitions": {
                "Bulk": "records disclosed in a batch release on the gateway's own match",
                "Other": "records disclosed individually: approved by a disclosure officer "
                "from the review queue",
                "counted": "DISCLOSE decision leaves of the ledger whose time falls in the year "
                "(UTC)",
            },
            "generated_at": self.generated_at,
            "ledger": {"covered_size": self.covered_size, "checkpoint": self.checkpoint},
        }

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(ANNUAL_COLUMNS)
        for r in (*self.rows, self.total):
            w.writerow(r.cells())
        return buf.getvalue()


def annual_table(
    leaves: Iterable[tuple[int, LedgerRecord]],
    agreements: Mapping[str, AgreementFacts],
    year: int,
    *,
    generated_at: str,
    covered_size: int,
    checkpoint: str | None,
) -> AnnualTable:
    """Count the year's DISCLOSE leaves by requesting agency and § 6103 subsection.

    ``agreements`` maps an agreement's SHA-256 (what a leaf records) to its facts; a leaf whose
    agreement is not on file is counted under ``unknown (agreement <id>)`` rather than dropped.
    """
    prefix = f"{year:04d}-"
    cells: dict[tuple[str, str], list[int]] = {}
    erroneous = 0
    for _, r in leaves:
        if not r.time.startswith(prefix):
            continue
        if r.kind is RecordKind.ERRONEOUS_RELEASE:
            erroneous += 1
        if r.kind is not RecordKind.DECISION:
            continue
        facts = agreements.get(r.agreement_sha256)
        key = (
            (facts.requesting_agency, subsection(facts.legal_basis))
            if facts
            else (f"unknown (agreement {r.agreement_id})", "unknown")
        )
        cell = cells.setdefault(key, [0, 0])
        if r.outcome is Outcome.DISCLOSE:
            cell[1 if is_individual(r) else 0] += 1
    rows = tuple(AnnualRow(a, s, b, o) for (a, s), (b, o) in sorted(cells.items()))
    return AnnualTable(year, rows, erroneous, generated_at, covered_size, checkpoint)


# --- rendering ------------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("ftigate.reports", "templates"), autoescape=select_autoescape(["html"])
)


def oversight_plot_png(report: OversightReport) -> bytes:
    """Disclosures and refusals per month as grouped bars, PNG bytes (no metadata)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    labels = sorted(report.by_month)
    disclosed = [report.by_month[m].disclosed for m in labels]
    refused = [report.by_month[m].refused for m in labels]
    x = range(len(labels))
    fig, ax = plt.subplots(figsize=(7, 2.8), dpi=100)
    ax.bar([i - 0.2 for i in x], disclosed, width=0.4, label="disclosed", color="#35608d")
    ax.bar([i + 0.2 for i in x], refused, width=0.4, label="refused", color="#a23b3b")
    step = max(math.ceil(len(labels) / 12), 1)  # at most a dozen labels, however long
    ax.set_xticks(list(x)[::step], labels[::step], rotation=45 if len(labels) > 6 else 0)
    ax.set_ylabel("requests")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render_oversight_html(report: OversightReport) -> str:
    data = report.to_json()
    codes = sorted({c for t in report.by_month.values() for c in t.refusal_codes})
    return _env.get_template("oversight.html").render(
        r=report,
        d=data,
        codes=codes,
        months=sorted(report.by_month),
        plot=base64.b64encode(oversight_plot_png(report)).decode(),
        data_json=json.dumps(data, indent=1, sort_keys=True),
    )


def render_annual_html(table: AnnualTable) -> str:
    return _env.get_template("oversight_annual.html").render(
        t=table, columns=ANNUAL_COLUMNS, data=table.to_json()
    )
