"""The auditor-only report routes: the same numbers as the CLI, refused to everyone else."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ftigate.api import create_app
from ftigate.service.accounts import create_account
from ftigate.service.oversight import annual_report

from .conftest import ADMIN, AUDITOR, ICE, Store, disclose, refuse, review
from .test_reports import C

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what the project ships
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

ROLES = (("audra", "auditor", None), ("alvarez", "officer", None), ("root", "admin", None))


@pytest.fixture
def api(store: Store) -> Iterator[tuple[TestClient, dict[str, str]]]:
    store.make_batch(
        "B1",
        [
            disclose("R1", "123456789"),
            review("R2", "912701234"),
            refuse("R3", C.MISSING_ADDRESS, C.MISSING_REASON),
        ],
    )
    store.release_by_hand("B1", datetime(2025, 8, 7, 12, tzinfo=UTC), approve=["R2"])
    tokens = {}
    for name, role, agency in (*ROLES, ("ice", "requester", ICE)):
        _, tokens[name] = create_account(store.gw, name, role, agency, ADMIN)
    with TestClient(create_app(store.gw.settings)) as client:
        yield client, tokens


def get(api: tuple[TestClient, dict[str, str]], who: str, url: str):  # type: ignore[no-untyped-def]
    client, tokens = api
    return client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})


def test_auditor_reads_the_oversight_numbers(api, store: Store) -> None:  # type: ignore[no-untyped-def]
    r = get(api, "audra", "/v1/reports/oversight?from=2025-08-01&to=2025-08-31")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "ftigate-oversight/1"
    assert body["totals"]["requests"] == 3 and body["totals"]["disclosed_other"] == 1
    assert body["by_month"]["2025-08"]["refusal_codes"] == {
        "MISSING_ADDRESS": 1,
        "MISSING_REASON": 1,
    }
    assert "123456789" not in r.text and "400 N Main St" not in r.text
    assert store.audit(principal="audra", event_type="REPORT_OVERSIGHT", outcome="success")


def test_auditor_reads_the_annual_table(api, store: Store) -> None:  # type: ignore[no-untyped-def]
    r = get(api, "audra", "/v1/reports/annual?year=2025")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == [
        {
            "Disclosure To/For": ICE,
            "§ 6103 subsection": "6103(i)(2)",
            "Bulk": 1,
            "Other": 1,
            "Total": 2,
        }
    ]
    same = annual_report(store.gw, AUDITOR, 2025).to_json()
    assert body["rows"] == same["rows"] and body["total"] == same["total"]


@pytest.mark.parametrize("who", ["alvarez", "root", "ice"])
def test_only_auditors(api, store: Store, who: str) -> None:  # type: ignore[no-untyped-def]
    for url in (
        "/v1/reports/oversight?from=2025-01-01&to=2025-12-31",
        "/v1/reports/annual?year=2025",
    ):
        r = get(api, who, url)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "FORBIDDEN"
    assert len(store.audit(principal=who, event_type="REPORT_READ", outcome="failure")) == 2


def test_bad_queries_get_the_error_shape(api) -> None:  # type: ignore[no-untyped-def]
    for url in (
        "/v1/reports/oversight?from=2025-08-31&to=2025-08-01",
        "/v1/reports/oversight?from=yesterday&to=2025-08-01",
        "/v1/reports/annual?year=12",
    ):
        r = get(api, "audra", url)
        assert r.status_code in (400, 422), (url, r.text)
        assert set(r.json()["error"]) >= {"code", "status", "message", "details"}
    client, _ = api
    assert client.get("/v1/reports/annual?year=2025").status_code == 401
