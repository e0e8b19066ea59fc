"""The HTTP API (FastAPI) and the disclosure officer's review page.

Routers call :mod:`ftigate.service` and nothing below it; every route checks the caller's role
(:mod:`ftigate.api.deps`) and the service checks ownership. See :func:`create_app`.
"""

from ftigate.api.app import create_app

__all__ = ["create_app"]
