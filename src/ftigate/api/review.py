"""The disclosure officer's review: the queue, approve/withhold, and the four-eyes release.

The queue shows the candidate's name, date of birth and addresses so an officer can judge the
match; these values travel only in the response body and are never logged. The service refuses
a release by an officer who reviewed the batch (409); the API passes that on unchanged.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter

from ftigate.api.deps import Gw, allow
from ftigate.api.schemas import ERRORS, ReleaseOut, ReviewIn, ReviewOut, ReviewQueueOut
from ftigate.service import views
from ftigate.service.accounts import OFFICER
from ftigate.service.context import Principal
from ftigate.service.review import release_batch as run_release
from ftigate.service.review import review_batch as run_review

router = APIRouter(prefix="/v1/review", tags=["review"], responses=ERRORS)

Lister = Annotated[Principal, allow(OFFICER, event="REVIEW_LIST")]
Reader = Annotated[Principal, allow(OFFICER, event="REVIEW_QUEUE_READ")]
Reviewer = Annotated[Principal, allow(OFFICER, event="BATCH_REVIEW")]
Releaser = Annotated[Principal, allow(OFFICER, event="BATCH_RELEASE")]


@router.get(
    "/batches",
    response_model=list[ReviewQueueOut],
    summary="Matched batches awaiting review or release",
)
def list_review_batches(gw: Gw, principal: Lister) -> list[ReviewQueueOut]:
    """Officer only. Counts per batch; the items are in ``GET /v1/review/batches/{id}``."""
    return [ReviewQueueOut.model_validate(asdict(q)) for q in views.review_batches(gw, principal)]


@router.get(
    "/batches/{batch_id}",
    response_model=ReviewQueueOut,
    summary="A batch's review queue with the candidates' details",
)
def get_review_queue(gw: Gw, principal: Reader, batch_id: str) -> ReviewQueueOut:
    """Officer only. Each REVIEW item: the request beside its best candidate, the probability,
    the runner-up, the rules that fired, and whether it is "clean"."""
    return ReviewQueueOut.model_validate(asdict(views.review_queue(gw, principal, batch_id)))


@router.post(
    "/batches/{batch_id}", response_model=ReviewOut, summary="Approve or withhold review items"
)
def review(gw: Gw, principal: Reviewer, batch_id: str, body: ReviewIn) -> ReviewOut:
    """Officer only. By request id, or all. When nothing is pending the officer's sign-off of
    the batch is recorded; another officer must then release it."""
    views.batch_status(gw, principal, batch_id)  # 404 before anything else
    r = run_review(
        gw,
        batch_id,
        principal,
        approve=body.approve,
        withhold=body.withhold,
        approve_all=body.approve_all,
        withhold_all=body.withhold_all,
        note=body.note,
    )
    return ReviewOut(
        approved=r.approved, withheld=r.withheld, pending=r.pending, signed_off=r.signed_off
    )


@router.post(
    "/batches/{batch_id}/release",
    response_model=ReleaseOut,
    summary="Release a reviewed batch (second officer)",
)
def release(gw: Gw, principal: Releaser, batch_id: str) -> ReleaseOut:
    """Officer only, and not one who reviewed the batch (409). Writes the final decisions,
    one ledger leaf per request and a signed checkpoint in one transaction."""
    views.batch_status(gw, principal, batch_id)
    r = run_release(gw, batch_id, principal)
    return ReleaseOut(
        batch_id=r.batch_id,
        first_leaf=r.first_leaf,
        leaf_count=r.leaf_count,
        checkpoint=r.checkpoint,
        outcomes=dict(r.outcomes),
    )
