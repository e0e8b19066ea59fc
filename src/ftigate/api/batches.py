"""Batches: a requester submits and reads its own; officers (and admins) start matching.

A requester never learns whether another agency's batch exists: reading one is a 404 with the
same message as an unknown id. Responses carry only what the agreement allows to be disclosed.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from ftigate.api.deps import Gw, allow
from ftigate.api.schemas import ERRORS, BatchOut, MatchOut, ResponseOut, SubmitOut
from ftigate.errors import BatchRefused, RefusalCode, RequestTooLarge
from ftigate.service import views
from ftigate.service.accounts import ADMIN, AUDITOR, OFFICER, REQUESTER, check_may_submit
from ftigate.service.context import Principal

router = APIRouter(prefix="/v1/batches", tags=["batches"], responses=ERRORS)

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
"""Largest requests file accepted (an agreement's 25,000 rows are a few MB)."""

RESPONSE_FILES = {
    "response.csv": "text/csv; charset=utf-8",
    "response_manifest.json": "application/json",
    "response_manifest.sig": "text/plain; charset=us-ascii",
}


def _read(upload: UploadFile, what: str) -> bytes:
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise RequestTooLarge(f"{what} is larger than {MAX_UPLOAD_BYTES} bytes", field=what)
    return data


Requester = Annotated[Principal, allow(REQUESTER, event="BATCH_SUBMIT")]
Reader = Annotated[Principal, allow(REQUESTER, OFFICER, AUDITOR, ADMIN, event="BATCH_READ")]
ResponseReader = Annotated[Principal, allow(REQUESTER, OFFICER, event="RESPONSE_READ")]
Matcher = Annotated[Principal, allow(OFFICER, ADMIN, event="BATCH_MATCH")]


@router.post("", status_code=201, response_model=SubmitOut, summary="Submit a signed batch")
def submit_batch(
    gw: Gw,
    principal: Requester,
    manifest: Annotated[UploadFile, File(description="manifest.json")],
    signature: Annotated[UploadFile, File(description="manifest.sig (Ed25519, base64)")],
    requests: Annotated[UploadFile, File(description="requests.csv, .parquet or .jsonl")],
) -> SubmitOut:
    """Requester only, under an agreement whose requesting agency is the caller's.

    The signature, signer, manifest and agreement are checked, then every row. A batch-level
    refusal is a 422 ``BATCH_REFUSED`` with its ``refusal_code``; the refused batch is kept on
    record and readable at ``GET /v1/batches/{id}``. Row-level refusals are counted here and
    answered in the response.
    """
    manifest_bytes = _read(manifest, "manifest")
    check_may_submit(gw, principal, manifest_bytes)
    # Imported here: intake is the lead's module and loads the policy engine.
    from ftigate.service.intake import submit_batch_bytes

    result = submit_batch_bytes(
        gw,
        manifest=manifest_bytes,
        signature=_read(signature, "signature"),
        requests=_read(requests, "requests"),
        requests_name=requests.filename or "requests.csv",
        principal=principal,
    )
    if result.refusal:
        raise BatchRefused(
            RefusalCode(result.refusal),
            f"batch {result.batch_id} refused: {result.message or result.refusal}",
        )
    return SubmitOut(
        batch_id=result.batch_id,
        rows=result.rows,
        rows_refused=result.rows_refused,
        refusal_codes=dict(result.refusal_codes),
    )


@router.get("", response_model=list[BatchOut], summary="List the batches the caller may see")
def list_batches(gw: Gw, principal: Reader) -> list[BatchOut]:
    """A requester sees its own agency's batches; officers, auditors and admins see all."""
    return [BatchOut.model_validate(asdict(v)) for v in views.list_batches(gw, principal)]


@router.get("/{batch_id}", response_model=BatchOut, summary="A batch's status and counts")
def get_batch(gw: Gw, principal: Reader, batch_id: str) -> BatchOut:
    """Another agency's batch is a 404, exactly like a batch that does not exist."""
    return BatchOut.model_validate(asdict(views.batch_status(gw, principal, batch_id)))


@router.get(
    "/{batch_id}/response",
    response_model=ResponseOut,
    summary="The signed response of a released batch",
)
def get_response(gw: Gw, principal: ResponseReader, batch_id: str) -> ResponseOut:
    """Requester (own agency) or officer. 409 until the batch is released."""
    files = views.response_files(gw, principal, batch_id)
    return ResponseOut(
        batch_id=batch_id,
        response_csv=files.csv.decode("utf-8"),
        response_manifest_json=files.manifest.decode("utf-8"),
        response_manifest_sig=files.signature.decode("ascii").strip(),
    )


@router.get(
    "/{batch_id}/response/{file_name}",
    summary="One response file, byte for byte",
    response_class=Response,
)
def get_response_file(
    gw: Gw,
    principal: ResponseReader,
    batch_id: str,
    file_name: Literal["response.csv", "response_manifest.json", "response_manifest.sig"],
) -> Response:
    """The same files ``ftigate batch response`` writes (the signature covers the manifest)."""
    files = views.response_files(gw, principal, batch_id)
    body = {
        "response.csv": files.csv,
        "response_manifest.json": files.manifest,
        "response_manifest.sig": files.signature,
    }[file_name]
    return Response(
        body,
        media_type=RESPONSE_FILES[file_name],
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


@router.post("/{batch_id}/match", response_model=MatchOut, summary="Match a received batch")
def match_batch(gw: Gw, principal: Matcher, batch_id: str) -> MatchOut:
    """Officer or admin: run linkage and the decision rules (may take minutes on big batches)."""
    from ftigate.service.matching import match_batch as run_match

    views.batch_status(gw, principal, batch_id)  # 404 before any work
    r = run_match(gw, batch_id, principal)
    return MatchOut(
        batch_id=r.batch_id,
        snapshot_id=r.snapshot_id,
        model_sha256=r.model_sha256,
        outcomes=dict(r.outcomes),
        refusal_codes=dict(r.refusal_codes),
        estimated_false_disclosures=r.estimated_false_disclosures,
        seconds=dict(r.seconds),
    )
