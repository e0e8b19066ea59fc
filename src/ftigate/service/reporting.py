"""Gather a batch's report data from the store and write it as HTML and JSON (no FTI)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ftigate.ledger import log as ledger_log
from ftigate.reports.batch import BatchReport, render_html, summarise
from ftigate.service.context import Gateway, Principal
from ftigate.store import repo


def batch_report(
    conn: Connection,
    batch_id: str,
    timings: Mapping[str, float] | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> BatchReport:
    batch = repo.get_batch(conn, batch_id)
    stored = repo.load_decisions(conn, batch_id)
    summary = summarise([s.decision for s in stored])
    checkpoint = None
    if batch["status"] in (repo.BATCH_RELEASED, repo.BATCH_REFUSED) and stored:
        checkpoint = ledger_log.checkpoint_at(
            conn, int(repo.get_release(conn, batch_id)["checkpoint_size"])
        )
    return BatchReport(
        batch_id=batch_id,
        agreement_id=batch["agreement_id"],
        agreement_sha256=batch["agreement_sha256"],
        status=batch["status"],
        refusal_code=batch["refusal_code"],
        snapshot_id=batch["snapshot_id"],
        model_sha256=batch["model_sha256"],
        software_version=batch["software_version"],
        rows=int(batch["row_count"]),
        outcomes=summary["outcomes"],
        final_outcomes=dict(Counter(str(s.final_outcome) for s in stored if s.final_outcome)),
        refusal_codes=summary["refusal_codes"],
        internal_reasons=summary["internal_reasons"],
        estimated_false_disclosures=summary["estimated_false_disclosures"],
        probabilities=summary["probabilities"],
        checkpoint=checkpoint,
        timings=dict(timings or {}),
        evaluation=evaluation,
    )


def write_batch_report(
    gw: Gateway,
    batch_id: str,
    out: Path,
    principal: Principal,
    timings: Mapping[str, float] | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> BatchReport:
    """Write ``out`` (HTML) and ``out`` with suffix ``.json`` (the same data)."""

    def run(conn: Connection) -> BatchReport:
        return batch_report(conn, batch_id, timings, evaluation)

    report = gw.audited(principal, "REPORT_WRITE", f"batch:{batch_id}", run)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report), encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps(report.to_json(), indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    return report
