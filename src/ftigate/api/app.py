"""The FastAPI application: routers, the one error shape, security headers.

Build it with :func:`create_app` (``ftigate serve`` does, and the tests do against a temporary
store). Interactive docs are off (Swagger UI would load from a CDN, which the policy forbids);
the OpenAPI document is at ``/openapi.json``.

Example:
    >>> from ftigate.config import Settings
    >>> app = create_app(Settings(database_url="sqlite:///:memory:"))
    >>> "/v1/ledger/checkpoint" in app.openapi()["paths"]
    True
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ftigate.api import admin, batches, errors, oversight, review, web
from ftigate.config import Settings
from ftigate.service.accounts import is_recorded
from ftigate.service.context import SOFTWARE_VERSION
from ftigate.store.db import Database

log = logging.getLogger("ftigate.api")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class EdgeMiddleware:
    """Adds the security headers to every response and turns any unexpected exception into
    the one JSON shape (500) without re-raising it, so no server log prints its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as e:
            route = getattr(scope.get("route"), "path", "?")
            log.error("unexpected %s in %s %s", type(e).__name__, scope.get("method"), route)
            if started:
                return
            error = errors.Internal("internal error; the event was recorded")
            if not is_recorded(e):
                await run_in_threadpool(errors.record_failure, Request(scope), error)
            response = errors.error_response(error)
            await response(scope, receive, send_with_headers)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI with FastAPI's 422 schema replaced by the one error shape."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            resp = op.get("responses", {}).get("422")
            if resp is not None:
                resp["content"] = {"application/json": {"schema": ref}}
    comps = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        comps.pop(name, None)
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The API over the store named by ``settings`` (or the given ``db``)."""
    from ftigate.api.deps import ApiGateway

    settings = settings or Settings.from_env()
    app = FastAPI(
        title="ftigate",
        version=SOFTWARE_VERSION,
        description=(
            "Lawful, minimal and accountable disclosure of Federal Tax Information. Every "
            "route needs `Authorization: Bearer <token>`; every error is "
            '`{"error": {"code", "status", "message", "details"}}`.'
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.gateway = ApiGateway(settings, db)
    errors.install(app)
    app.add_middleware(EdgeMiddleware)
    for module in (batches, review, oversight, admin, web):
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"], summary="Liveness and store reachability")
    def healthz() -> dict[str, str]:
        with app.state.gateway.reading() as conn:
            conn.exec_driver_sql("select 1")
        return {"status": "ok", "version": SOFTWARE_VERSION}

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
