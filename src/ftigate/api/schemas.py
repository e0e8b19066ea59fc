"""Pydantic models at the edge: what each route accepts and returns (and what OpenAPI shows).

They mirror the service's frozen values; they add nothing a role may not see. Inputs forbid
unknown fields, so a misspelt ``aprove`` is a 422 rather than a silent no-op.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine code of the error class, e.g. NOT_FOUND.")
    status: int = Field(description="The HTTP status, repeated.")
    message: str
    details: list[ErrorDetail] = []
    refusal_code: str | None = Field(None, description="Only for BATCH_REFUSED.")


class ErrorBody(BaseModel):
    """The one JSON error shape (``FtigateError.to_json()``)."""

    error: ErrorInfo


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Input invalid"),
        (401, "No, unknown or disabled token"),
        (403, "The caller's role may not do this"),
        (404, "No such object, or not the caller's to see"),
        (409, "The action does not fit the object's state"),
        (422, "Request invalid, or the batch is refused (refusal_code)"),
    )
}


# --- identity and accounts --------------------------------------------------------------------


class Me(BaseModel):
    name: str
    role: str
    agency: str | None


class AccountIn(_In):
    name: str = Field(examples=["officer.alvarez"])
    role: str = Field(description="requester | officer | auditor | admin")
    agency: str | None = Field(
        None, description="Requesters only: the requesting agency, as the agreement names it."
    )


class AccountOut(BaseModel):
    name: str
    role: str
    agency: str | None
    disabled: bool
    created_at: str
    created_by: str


class AccountCreated(AccountOut):
    token: str = Field(description="Shown once; only its SHA-256 is stored.")


class TokenOut(BaseModel):
    name: str
    token: str = Field(description="Shown once; the previous token no longer works.")


# --- batches ----------------------------------------------------------------------------------


class SubmitOut(BaseModel):
    batch_id: str
    rows: int
    rows_refused: int
    refusal_codes: dict[str, int] = Field(description="Rows refused at intake, by code.")


class BatchOut(BaseModel):
    id: str
    agreement_id: str | None
    status: str = Field(description="RECEIVED | REFUSED | MATCHED | RELEASED")
    rows: int
    received_at: str | None
    matched_at: str | None
    released_at: str | None
    refusal_code: str | None
    refusal_message: str | None
    intake_refusals: dict[str, int] = Field(
        description="Intake refusals by first code (reads of one batch only)."
    )
    response_counts: dict[str, int] | None = Field(
        description="DISCLOSED / NOT_DISCLOSED / REFUSED after release."
    )
    internal: dict[str, Any] | None = Field(
        None, description="IRS roles only: internal outcomes, reasons, reviewers."
    )


class ResponseOut(BaseModel):
    batch_id: str
    response_csv: str
    response_manifest_json: str = Field(description="Exact bytes the signature covers.")
    response_manifest_sig: str = Field(description="Base64 Ed25519 signature of the manifest.")


class MatchOut(BaseModel):
    batch_id: str
    snapshot_id: str
    model_sha256: str
    outcomes: dict[str, int]
    refusal_codes: dict[str, int]
    estimated_false_disclosures: float
    seconds: dict[str, float]


# --- review -----------------------------------------------------------------------------------


class ReviewItemOut(BaseModel):
    request_id: str
    line: int
    state: str = Field(description="pending | approved | withheld")
    acted_by: str | None
    probability: float | None
    runner_up_probability: float | None
    reason: str | None
    rules: list[str]
    request: dict[str, str]
    candidate: dict[str, Any] | None
    clean: bool
    not_clean_because: list[str]


class ReviewQueueOut(BaseModel):
    batch_id: str
    agreement_id: str | None
    status: str
    rows: int
    threshold: float | None
    margin: float | None
    items: list[ReviewItemOut]
    counts: dict[str, int]
    reviewers: list[str]
    signed_off_by: list[str]
    may_review: bool
    may_release: bool
    release_blocked_because: str | None
    outcomes: dict[str, int]


class ReviewIn(_In):
    approve: list[str] = Field(default_factory=list, description="Request ids to approve.")
    withhold: list[str] = Field(default_factory=list, description="Request ids to withhold.")
    approve_all: bool = False
    withhold_all: bool = False
    note: str | None = Field(None, max_length=2000)


class ReviewOut(BaseModel):
    approved: int
    withheld: int
    pending: int
    signed_off: bool


class ReleaseOut(BaseModel):
    batch_id: str
    first_leaf: int
    leaf_count: int
    checkpoint: str
    outcomes: dict[str, int]


# --- ledger, reports, agreements ------------------------------------------------------------


class CheckpointOut(BaseModel):
    size: int
    root_b64: str
    text: str = Field(description="C2SP tlog-checkpoint signed note.")
    signed_at: str


class InclusionOut(BaseModel):
    index: int
    size: int
    hashes_b64: list[str]


class ConsistencyOut(BaseModel):
    size1: int = Field(serialization_alias="from")
    size2: int = Field(serialization_alias="to")
    hashes_b64: list[str]


class LeafOut(BaseModel):
    index: int
    record_b64: str
    leaf_hash_b64: str


class AgreementOut(BaseModel):
    id: str
    version: int
    sha256: str
    title: str
    requesting_agency: str
    status: str
    status_reason: str | None
    stored: bool = Field(description="False when this exact version was already stored.")


class StatusIn(_In):
    reason: str = Field(
        min_length=1,
        max_length=2000,
        examples=["Order of the U.S. District Court enjoining disclosures"],
    )
