"""Every error the API returns is the one JSON shape of :meth:`FtigateError.to_json`.

Our errors map to their ``status``. The web framework's own errors are translated here, at the
seam, into the same shape:

    FtigateError (ftigate.errors)          its .status
    ├── RequestInvalid (InputError)   422  FastAPI's request validation (types, required fields)
    ├── RequestTooLarge (InputError)  413  an upload over MAX_UPLOAD_BYTES
    ├── MethodNotAllowed              405  the route exists, the method does not
    └── NotFound                      404  no such route
    anything else                     500  INTERNAL, with no message (it might carry FTI)

An error not already in the audit trail (the service's ``gw.audited`` and the access checks
record their own) is recorded here as an ``API_REQUEST`` failure, so every refusal leaves a
trace. Messages of unexpected exceptions are never logged or returned: they may hold FTI.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ftigate.errors import (
    Detail,
    FtigateError,
    MethodNotAllowed,
    NotFound,
    RequestInvalid,
    RequestTooLarge,
)
from ftigate.service.accounts import ANONYMOUS, identify, is_recorded, mark_recorded
from ftigate.store import repo

log = logging.getLogger("ftigate.api")


class Internal(FtigateError):
    """An unexpected failure; its real message stays out of the response and the logs."""


def error_response(error: FtigateError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="ftigate"'} if error.status == 401 else None
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def record_failure(request: Request, error: FtigateError) -> None:
    """Record an error that no use case or access check recorded (own transaction)."""
    gw = getattr(request.app.state, "gateway", None)
    if gw is None:
        return
    principal = getattr(request.state, "principal", None)
    try:
        name = principal.name if principal else identify(gw, _bearer(request)) or ANONYMOUS
        with gw.db.transaction() as conn:
            repo.record_audit(
                conn,
                principal=name,
                event_type="API_REQUEST",
                outcome="failure",
                origin="api",
                object=f"{request.method} {request.url.path}"[:200],
                detail=f"{error.status} {error.code}",
            )
    except FtigateError:
        log.exception("could not record a failed API request")
    mark_recorded(error)


async def _respond(request: Request, error: FtigateError) -> JSONResponse:
    if not is_recorded(error):
        await run_in_threadpool(record_failure, request, error)
    return error_response(error)


async def ftigate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FtigateError)
    return await _respond(request, exc)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header"))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Report where and what, never the submitted value (it could be a name or an address).
    details = [
        Detail(str(e.get("msg", "invalid")), field=_where(e.get("loc", ())) or None)
        for e in exc.errors()
    ]
    return await _respond(request, RequestInvalid("the request is not valid", details=details))


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error: FtigateError
    if exc.status_code == 404:
        error = NotFound(f"no route {request.method} {request.url.path}"[:300])
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"[:300])
    elif exc.status_code == 413:
        error = RequestTooLarge("the request body is too large")
    else:
        cls = type(
            f"Http{exc.status_code}",
            (FtigateError,),
            {"code": f"HTTP_{exc.status_code}", "status": exc.status_code},
        )
        error = cls(str(exc.detail))
    return await _respond(request, error)


def install(app: FastAPI) -> None:
    """Map every error to the one JSON shape."""
    app.add_exception_handler(FtigateError, ftigate_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
