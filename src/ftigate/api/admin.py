"""Administration over HTTP: agreements (load, suspend, resume) and accounts.

A suspension takes effect for every later step at once: submissions are refused
``AGREEMENT_SUSPENDED``, and nothing under the agreement is matched or released.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ftigate.api.deps import Caller, Gw, allow
from ftigate.api.schemas import (
    ERRORS,
    AccountCreated,
    AccountIn,
    AccountOut,
    AgreementOut,
    Me,
    StatusIn,
    TokenOut,
)
from ftigate.errors import InputError
from ftigate.model import Agreement, AgreementStatus
from ftigate.service import accounts, views
from ftigate.service.admin import set_status
from ftigate.service.context import Principal
from ftigate.store.accounts import StoredAccount

router = APIRouter(tags=["admin"], responses=ERRORS)

MAX_AGREEMENT_BYTES = 1024 * 1024

AgreementAdmin = Annotated[Principal, allow(accounts.ADMIN, event="AGREEMENT_ADMIN")]
AccountAdmin = Annotated[Principal, allow(accounts.ADMIN, event="ACCOUNT_ADMIN")]


def _agreement_out(a: Agreement, stored: bool) -> AgreementOut:
    return AgreementOut(
        id=a.id,
        version=a.version,
        sha256=a.sha256,
        title=a.title,
        requesting_agency=a.requesting_agency,
        status=a.status.value,
        status_reason=a.status_reason,
        stored=stored,
    )


def _account_out(a: StoredAccount) -> AccountOut:
    return AccountOut(
        name=a.name,
        role=a.role,
        agency=a.agency,
        disabled=a.disabled,
        created_at=a.created_at.isoformat(),
        created_by=a.created_by,
    )


@router.get("/v1/me", response_model=Me, summary="Who the token belongs to")
def me(gw: Gw, principal: Caller) -> Me:
    """Any account. The review page calls it to check a token before keeping it."""
    gw.audited(principal, "TOKEN_CHECK", f"account:{principal.name}", lambda _conn: None)
    return Me(name=principal.name, role=principal.role, agency=principal.agency)


@router.post(
    "/v1/agreements",
    response_model=AgreementOut,
    status_code=201,
    summary="Load an agreement version (YAML body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
async def load_agreement(
    request: Request, response: Response, gw: Gw, principal: AgreementAdmin
) -> AgreementOut:
    """Admin only. The body is the agreement's YAML; every problem is named by key path and
    line. Loading the same version again is harmless (``stored: false``)."""
    body = await request.body()
    if len(body) > MAX_AGREEMENT_BYTES:
        raise InputError(f"an agreement is at most {MAX_AGREEMENT_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("the agreement is not UTF-8", line=body[: e.start].count(b"\n") + 1) from e
    agreement, stored = await run_in_threadpool(views.load_agreement_text, gw, text, principal)
    if not stored:
        response.status_code = 200  # this exact version was already on file
    return _agreement_out(agreement, stored)


@router.post(
    "/v1/agreements/{agreement_id}/suspend",
    response_model=AgreementOut,
    summary="Suspend an agreement at once (e.g. a court order)",
)
def suspend(gw: Gw, principal: AgreementAdmin, agreement_id: str, body: StatusIn) -> AgreementOut:
    return _agreement_out(
        set_status(gw, agreement_id, AgreementStatus.SUSPENDED, body.reason, principal), True
    )


@router.post(
    "/v1/agreements/{agreement_id}/resume",
    response_model=AgreementOut,
    summary="Resume a suspended agreement",
)
def resume(gw: Gw, principal: AgreementAdmin, agreement_id: str, body: StatusIn) -> AgreementOut:
    return _agreement_out(
        set_status(gw, agreement_id, AgreementStatus.ACTIVE, body.reason, principal), True
    )


@router.get("/v1/accounts", response_model=list[AccountOut], summary="List accounts")
def list_accounts(gw: Gw, principal: AccountAdmin) -> list[AccountOut]:
    return [_account_out(a) for a in accounts.list_accounts(gw, principal)]


@router.post(
    "/v1/accounts",
    response_model=AccountCreated,
    status_code=201,
    summary="Create an account; its token is shown once",
)
def create_account(gw: Gw, principal: AccountAdmin, body: AccountIn) -> AccountCreated:
    account, token = accounts.create_account(gw, body.name, body.role, body.agency, principal)
    return AccountCreated(**_account_out(account).model_dump(), token=token)


@router.post(
    "/v1/accounts/{name}/disable", response_model=AccountOut, summary="Disable an account at once"
)
def disable_account(gw: Gw, principal: AccountAdmin, name: str) -> AccountOut:
    return _account_out(accounts.disable_account(gw, name, principal))


@router.post(
    "/v1/accounts/{name}/token",
    response_model=TokenOut,
    summary="Replace an account's token; the new one is shown once",
)
def rotate_token(gw: Gw, principal: AccountAdmin, name: str) -> TokenOut:
    return TokenOut(name=name, token=accounts.rotate_token(gw, name, principal))
