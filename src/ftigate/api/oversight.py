"""Oversight: the ledger's checkpoints and proofs, and batch reports. No FTI leaves here.

Proofs are RFC 9162 (inclusion and consistency), hashes in base64, verifiable offline with
``ftigate-verify`` against a checkpoint signed by the gateway's key.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ftigate.api.deps import Gw, allow
from ftigate.api.schemas import ERRORS, CheckpointOut, ConsistencyOut, InclusionOut, LeafOut
from ftigate.service import oversight as oversight_service
from ftigate.service import views
from ftigate.service.accounts import ADMIN, AUDITOR, OFFICER
from ftigate.service.context import Principal

router = APIRouter(tags=["oversight"], responses=ERRORS)

LedgerReader = Annotated[Principal, allow(AUDITOR, ADMIN, OFFICER, event="LEDGER_READ")]
ReportReader = Annotated[Principal, allow(AUDITOR, ADMIN, OFFICER, event="REPORT_READ")]
Size = Annotated[int, Query(ge=0, description="Tree size (number of leaves).")]


@router.get(
    "/v1/ledger/checkpoint",
    response_model=CheckpointOut,
    summary="The newest signed checkpoint (or the one at ?size=)",
)
def get_checkpoint(
    gw: Gw, principal: LedgerReader, size: Annotated[int | None, Query(ge=0)] = None
) -> CheckpointOut:
    return CheckpointOut.model_validate(asdict(views.checkpoint(gw, principal, size)))


@router.get(
    "/v1/ledger/proof/inclusion",
    response_model=InclusionOut,
    summary="Inclusion proof of a leaf in a tree size",
)
def get_inclusion(
    gw: Gw,
    principal: LedgerReader,
    index: Annotated[int, Query(ge=0, description="Leaf index.")],
    size: Size,
) -> InclusionOut:
    return InclusionOut(
        index=index, size=size, hashes_b64=views.inclusion_proof(gw, principal, index, size)
    )


@router.get(
    "/v1/ledger/proof/consistency",
    response_model=ConsistencyOut,
    response_model_by_alias=True,
    summary="Consistency proof between two tree sizes",
)
def get_consistency(
    gw: Gw,
    principal: LedgerReader,
    size1: Annotated[int, Query(alias="from", ge=0)],
    size2: Annotated[int, Query(alias="to", ge=0)],
) -> ConsistencyOut:
    return ConsistencyOut(
        size1=size1, size2=size2, hashes_b64=views.consistency_proof(gw, principal, size1, size2)
    )


@router.get(
    "/v1/ledger/leaves/{index}",
    response_model=LeafOut,
    summary="One leaf's canonical record (TIN only as a keyed HMAC)",
)
def get_leaf(gw: Gw, principal: LedgerReader, index: int) -> LeafOut:
    return LeafOut.model_validate(views.leaf(gw, principal, index))


@router.get("/v1/reports/batches/{batch_id}", summary="A batch's report (counts, codes, hashes)")
def get_report(gw: Gw, principal: ReportReader, batch_id: str) -> dict[str, Any]:
    """Auditor, admin or officer: the same data as ``ftigate batch report``'s JSON."""
    data = views.report(gw, principal, batch_id).to_json()
    return {k: v for k, v in data.items() if k != "evaluation"}


# --- oversight numbers (auditors only; see ftigate.reports.oversight) ----------------------

Auditor = Annotated[Principal, allow(AUDITOR, event="REPORT_READ")]


@router.get(
    "/v1/reports/oversight",
    summary="Oversight numbers for a period: requests, refusals by code, disclosures, "
    "reviews, remediations, by month and agreement (no FTI)",
)
def get_oversight(
    gw: Gw,
    principal: Auditor,
    start: Annotated[date, Query(alias="from", description="First day (UTC).")],
    end: Annotated[date, Query(alias="to", description="Last day, inclusive (UTC).")],
) -> dict[str, Any]:
    """Auditor only: the same data as ``ftigate report oversight``'s JSON."""
    return oversight_service.oversight_report(gw, principal, start, end).to_json()


@router.get(
    "/v1/reports/annual",
    summary="The 26 U.S.C. 6103(p)(3)(C) table of a calendar year "
    "(Disclosure To/For, subsection, Bulk, Other, Total)",
)
def get_annual(
    gw: Gw,
    principal: Auditor,
    year: Annotated[int, Query(ge=1901, le=9999, description="Calendar year (UTC).")],
) -> dict[str, Any]:
    """Auditor only: the same data as ``ftigate report annual --out FILE.json``."""
    return oversight_service.annual_report(gw, principal, year).to_json()
