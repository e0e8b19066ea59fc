"""Request dependencies: the gateway, the caller (bearer token) and the role a route needs.

``Authorization: Bearer <token>`` names an account (:mod:`ftigate.service.accounts`); the
dependency turns it into a :class:`Principal` with ``origin="api"`` and the account's agency.
A route declares the roles it admits with :func:`allow`; a caller without one gets a 403 and
an audit event. Ownership (which batches a requester may see) is checked by the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection

from ftigate.service.accounts import authenticate, authorize, mark_recorded
from ftigate.service.context import Gateway, Principal

T = TypeVar("T")

bearer = HTTPBearer(auto_error=False, description="An account token from `ftigate account create`.")


class ApiGateway(Gateway):
    """A :class:`Gateway` that marks the errors its audited transactions already recorded.

    The API records every error response it sends; this mark keeps a failure the use case
    recorded itself from being recorded twice.
    """

    def audited(
        self,
        principal: Principal,
        event_type: str,
        obj: str,
        fn: Callable[[Connection], T],
        detail: str | None = None,
    ) -> T:
        try:
            return super().audited(principal, event_type, obj, fn, detail)
        except Exception as e:
            mark_recorded(e)
            raise


def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


Gw = Annotated[Gateway, Depends(gateway)]


def object_of(request: Request) -> str:
    """The audit object a request is about: ``batch:ID``, ``agreement:ID`` ... or its path."""
    params = request.path_params
    for key, kind in (("batch_id", "batch"), ("agreement_id", "agreement"), ("name", "account")):
        if key in params:
            return f"{kind}:{params[key]}"[:200]
    return request.url.path[:200]


def caller(
    request: Request, gw: Gw, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The authenticated caller; 401 (recorded) for a missing, unknown or disabled token."""
    token = creds.credentials if creds is not None else None
    principal = authenticate(gw, token, obj=object_of(request))
    request.state.principal = principal  # for the audit record of a later validation error
    return principal


Caller = Annotated[Principal, Depends(caller)]


def allow(*roles: str, event: str) -> Any:
    """A dependency admitting only ``roles``; others get a 403 recorded as ``event``."""

    def check(request: Request, gw: Gw, principal: Caller) -> Principal:
        authorize(gw, principal, roles, event, object_of(request))
        return principal

    check.__name__ = f"allow_{'_'.join(roles)}"
    return Depends(check)
