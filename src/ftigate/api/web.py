"""The disclosure officer's review page: a server-rendered shell and its local script.

The page itself holds no FTI and needs no credentials: it is a form for the officer's token and
an empty queue that ``review.js`` fills from the JSON API, with the token kept in
``sessionStorage`` (gone when the tab closes). Everything is served from here - no CDN - and the
Content-Security-Policy admits only this origin's script and style, so a value that slipped
past escaping could still not run.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

router = APIRouter(include_in_schema=False)

_env = Environment(
    loader=PackageLoader("ftigate.api", "web"), autoescape=select_autoescape(["html"])
)
STATIC_TYPES = {
    "review.js": "text/javascript; charset=utf-8",
    "review.css": "text/css; charset=utf-8",
}


def _page(request: Request, batch_id: str | None) -> HTMLResponse:
    html = _env.get_template("review.html").render(batch_id=batch_id or "")
    return HTMLResponse(html)


@router.get("/review")
def review_index(request: Request) -> HTMLResponse:
    """The page without a batch: log in and pick a batch from the queue list."""
    return _page(request, None)


@router.get("/review/{batch_id}")
def review_page(request: Request, batch_id: str) -> HTMLResponse:
    return _page(request, batch_id)


@router.get("/static/{name}")
def static(name: Literal["review.js", "review.css"]) -> Response:
    data = resources.files("ftigate.api").joinpath("web", name).read_bytes()
    return Response(data, media_type=STATIC_TYPES[name], headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (browsers ask anyway; a 404 would be an audited failure for nothing)."""
    return Response(status_code=204)
