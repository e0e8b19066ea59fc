"""The HTTP API against a real uvicorn: roles, ownership, four eyes, one error shape, audit."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ftigate.ledger import merkle
from ftigate.model import REQUEST_FIELDS
from ftigate.service import Principal
from ftigate.service.intake import sign_batch
from ftigate.service.response import write_response
from ftigate.store.db import Database

from .conftest import (
    CBP,
    ICE,
    SAMPLE,
    SECRET_STREET,
    Site,
    assert_error_shape,
    build_site,
    demo_signer_key,
)


def _review_and_release(site: Site, batch_id: str) -> None:
    with site.client("alvarez") as officer:
        r = officer.post(
            f"/v1/review/batches/{batch_id}", json={"approve": ["R1"], "withhold": ["R2"]}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"approved": 1, "withheld": 1, "pending": 0, "signed_off": True}
    with site.client("brennan") as second:
        r = second.post(f"/v1/review/batches/{batch_id}/release")
        assert r.status_code == 200, r.text


# --- authentication ---------------------------------------------------------------------------


def test_healthz_and_security_headers(site: Site) -> None:
    with site.client() as c:
        r = c.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_missing_and_bad_tokens_are_401_and_audited(site: Site) -> None:
    with site.client() as anonymous:
        err = assert_error_shape(anonymous.get("/v1/batches"), 401, "UNAUTHENTICATED")
    with site.client(token="ftg_not-a-real-token") as bad:
        r = bad.get("/v1/batches")
        assert_error_shape(r, 401, "UNAUTHENTICATED")
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert "token" in err["message"]
    events = site.audit(event_type="AUTHENTICATE", principal="anonymous", outcome="failure")
    details = {e["detail"] for e in events}
    assert "UNAUTHENTICATED: no token" in details and "UNAUTHENTICATED: unknown token" in details


def test_disabled_account_is_401(site: Site) -> None:
    with site.client("gone") as c:
        err = assert_error_shape(c.get("/v1/review/batches"), 401, "UNAUTHENTICATED")
    assert "disabled" in err["message"]
    assert site.audit(event_type="AUTHENTICATE", principal="gone", outcome="failure")


# --- ownership --------------------------------------------------------------------------------


def test_agency_cannot_list_read_or_get_the_response_of_another_agencys_batch(site: Site) -> None:
    theirs = site.make_batch("irs-cbp-2025", prefix="CBP")
    _review_and_release(site, theirs)
    with site.client("cbp") as cbp:
        assert theirs in {b["id"] for b in cbp.get("/v1/batches").json()}
        assert cbp.get(f"/v1/batches/{theirs}").status_code == 200
        assert cbp.get(f"/v1/batches/{theirs}/response").status_code == 200
    with site.client("ice") as ice:
        assert theirs not in {b["id"] for b in ice.get("/v1/batches").json()}
        hidden = assert_error_shape(ice.get(f"/v1/batches/{theirs}"), 404, "NOT_FOUND")
        missing = assert_error_shape(ice.get("/v1/batches/NO-SUCH"), 404, "NOT_FOUND")
        assert hidden["message"] == f"no batch {theirs}"
        assert missing["message"] == "no batch NO-SUCH"  # the same words: existence not revealed
        for path in ("response", "response/response.csv"):
            assert_error_shape(ice.get(f"/v1/batches/{theirs}/{path}"), 404, "NOT_FOUND")
    assert site.audit(
        principal="cbp", event_type="RESPONSE_READ", outcome="success", object=f"batch:{theirs}"
    )
    denied = site.audit(principal="ice", object=f"batch:{theirs}", outcome="failure")
    assert {e["event_type"] for e in denied} == {"BATCH_READ", "RESPONSE_READ"}
    assert all("another agency" in e["detail"] for e in denied)


def test_requester_sees_no_internal_reasons(site: Site) -> None:
    ours = site.make_batch()
    with site.client("ice") as ice:
        body = ice.get(f"/v1/batches/{ours}").json()
    assert body["internal"] is None and body["response_counts"] is None
    assert body["intake_refusals"] == {"ADDRESS_NOT_SPECIFIC": 1}
    assert "NO_MATCH" not in json.dumps(body) and "REVIEW" not in json.dumps(body)
    with site.client("audra") as auditor:
        internal = auditor.get(f"/v1/batches/{ours}").json()["internal"]
    assert internal["outcomes"]["REVIEW"] == 2 and internal["reasons"]["NO_MATCH"] == 1


# --- roles ------------------------------------------------------------------------------------


def test_requester_cannot_review_release_match_or_read_the_queue(site: Site) -> None:
    ours = site.make_batch()
    with site.client("ice") as ice:
        for method, path, body in (
            ("GET", "/v1/review/batches", None),
            ("GET", f"/v1/review/batches/{ours}", None),
            ("POST", f"/v1/review/batches/{ours}", {"approve_all": True}),
            ("POST", f"/v1/review/batches/{ours}/release", None),
            ("POST", f"/v1/batches/{ours}/match", None),
            ("GET", "/v1/ledger/checkpoint", None),
            ("GET", f"/v1/reports/batches/{ours}", None),
            ("POST", "/v1/agreements/irs-ice-2025/suspend", {"reason": "x"}),
        ):
            assert_error_shape(ice.request(method, path, json=body), 403, "FORBIDDEN")
    events = site.audit(principal="ice", object=f"batch:{ours}", outcome="failure")
    assert {e["event_type"] for e in events} >= {
        "REVIEW_QUEUE_READ",
        "BATCH_REVIEW",
        "BATCH_RELEASE",
        "BATCH_MATCH",
        "REPORT_READ",
    }
    assert all(e["detail"].startswith("FORBIDDEN") for e in events)
    with site.gw.reading() as conn:
        from ftigate.store import repo

        assert repo.load_reviews(conn, ours) == []


def test_auditor_never_sees_addresses(site: Site) -> None:
    ours = site.make_batch()
    _review_and_release(site, ours)
    with site.client("audra") as auditor:
        assert_error_shape(auditor.get(f"/v1/review/batches/{ours}"), 403, "FORBIDDEN")
        assert_error_shape(auditor.get(f"/v1/batches/{ours}/response"), 403, "FORBIDDEN")
        assert_error_shape(auditor.get(f"/v1/batches/{ours}/response/response.csv"), 403)
        seen = [
            auditor.get(p)
            for p in (
                f"/v1/batches/{ours}",
                "/v1/batches",
                f"/v1/reports/batches/{ours}",
                "/v1/ledger/checkpoint",
            )
        ]
    for r in seen:
        assert r.status_code == 200, r.text
        for secret in (SECRET_STREET, "77 Elm Street", "García", "123456789", "123-45-6789"):
            assert secret not in r.text
    assert seen[2].json()["final_outcomes"]["DISCLOSE"] == 2


def test_officer_sees_the_candidate_beside_the_request(site: Site) -> None:
    ours = site.make_batch()
    with site.client("alvarez") as officer:
        listed = officer.get("/v1/review/batches").json()
        queue = officer.get(f"/v1/review/batches/{ours}").json()
    assert ours in {q["batch_id"] for q in listed}
    items = {i["request_id"]: i for i in queue["items"]}
    assert set(items) == {"R1", "R2"} and queue["counts"] == {
        "pending": 2,
        "approved": 0,
        "withheld": 0,
    }
    r1 = items["R1"]
    assert r1["candidate"]["first_name"] == "María"
    assert r1["candidate"]["last_known_address"]["street"] == SECRET_STREET
    assert r1["candidate"]["tin_masked"] == "***-**-6789"
    assert r1["request"]["street"] == SECRET_STREET and r1["probability"] == 0.985
    assert r1["clean"] is True and r1["rules"][0].startswith("best 0.985")
    r2 = items["R2"]
    assert r2["clean"] is False
    assert "runner-up within the agreement's margin" in r2["not_clean_because"]
    assert "date of birth missing or different" in r2["not_clean_because"]
    assert queue["may_review"] is True and queue["may_release"] is False


# --- four eyes --------------------------------------------------------------------------------


def test_officer_cannot_release_a_batch_they_reviewed(site: Site) -> None:
    ours = site.make_batch()
    with site.client("alvarez") as alvarez:
        r = alvarez.post(f"/v1/review/batches/{ours}", json={"approve": ["R1"]})
        assert r.json() == {"approved": 1, "withheld": 0, "pending": 1, "signed_off": False}
        assert_error_shape(alvarez.post(f"/v1/review/batches/{ours}/release"), 409, "CONFLICT")
        r = alvarez.post(f"/v1/review/batches/{ours}", json={"withhold": ["R2"]})
        assert r.json()["signed_off"] is True
        queue = alvarez.get(f"/v1/review/batches/{ours}").json()
        assert queue["may_release"] is False and "four eyes" in queue["release_blocked_because"]
        err = assert_error_shape(
            alvarez.post(f"/v1/review/batches/{ours}/release"), 409, "CONFLICT"
        )
    assert "second officer" in err["message"]
    assert site.audit(
        principal="alvarez", event_type="BATCH_RELEASE", object=f"batch:{ours}", outcome="failure"
    )
    with site.client("brennan") as brennan:
        assert brennan.get(f"/v1/review/batches/{ours}").json()["may_release"] is True
        released = brennan.post(f"/v1/review/batches/{ours}/release")
        assert released.status_code == 200, released.text
        assert released.json()["outcomes"] == {"DISCLOSE": 2, "NOT_DISCLOSED": 2, "REFUSED": 1}
        assert_error_shape(brennan.post(f"/v1/review/batches/{ours}/release"), 409, "CONFLICT")
    assert site.audit(
        principal="brennan", event_type="BATCH_RELEASE", outcome="success", object=f"batch:{ours}"
    )


def test_requester_gets_the_signed_minimal_response_after_release(
    site: Site, tmp_path: Path
) -> None:
    ours = site.make_batch()
    with site.client("ice") as ice:
        assert_error_shape(ice.get(f"/v1/batches/{ours}/response"), 409, "CONFLICT")
        _review_and_release(site, ours)
        body = ice.get(f"/v1/batches/{ours}/response").json()
        raw_csv = ice.get(f"/v1/batches/{ours}/response/response.csv")
        sig = ice.get(f"/v1/batches/{ours}/response/response_manifest.sig").content
        status = ice.get(f"/v1/batches/{ours}").json()
    assert raw_csv.content.decode() == body["response_csv"]
    rows = {r["request_id"]: r for r in csv.DictReader(io.StringIO(body["response_csv"]))}
    assert rows["R1"]["status"] == "DISCLOSED" and rows["R1"]["street"] == SECRET_STREET
    assert rows["R2"] == {**rows["R2"], "status": "NOT_DISCLOSED", "street": "", "refusal_code": ""}
    assert rows["R4"]["refusal_code"] == "ADDRESS_NOT_SPECIFIC"
    assert rows["R5"]["status"] == "NOT_DISCLOSED"  # no reason: "no match" would reveal filing
    assert "NO_MATCH" not in body["response_csv"] + body["response_manifest_json"]
    pub = load_pem_public_key(site.gw.settings.gateway_key_path.with_suffix(".pub").read_bytes())
    pub.verify(base64.b64decode(sig), body["response_manifest_json"].encode())  # type: ignore[union-attr]
    assert status["response_counts"] == {"DISCLOSED": 2, "NOT_DISCLOSED": 2, "REFUSED": 1}
    # Byte for byte what `ftigate batch response` writes (the API must not drift from it).
    files = write_response(site.gw, ours, tmp_path, Principal.local("officer"))
    assert [f.read_bytes() for f in files] == [
        body["response_csv"].encode(),
        body["response_manifest_json"].encode(),
        sig,
    ]


# --- intake -----------------------------------------------------------------------------------


def _signed_batch(tmp: Path, batch_id: str, agreement: str = "irs-ice-2025") -> dict:
    folder = tmp / batch_id
    folder.mkdir()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REQUEST_FIELDS)
    w.writerow(
        [
            "Q1",
            "Maria",
            "",
            "Garcia",
            "1980-02-03",
            "400 N Main St",
            "Apt 4B",
            "San Antonio",
            "TX",
            "78205",
            "2023",
            "8 U.S.C. 1326",
            "removal case",
            "C-9",
            "O-9",
            "",
            "",
        ]
    )
    w.writerow(
        [
            "Q2",
            "Pedro",
            "",
            "Ruiz",
            "1970-01-01",
            "Failed to Provide",
            "",
            "",
            "",
            "",
            "2023",
            "8 U.S.C. 1326",
            "removal case",
            "C-10",
            "O-9",
            "",
            "",
        ]
    )
    (folder / "requests.csv").write_text(buf.getvalue(), encoding="utf-8")
    sign_batch(
        folder,
        demo_signer_key(tmp),
        signer="Demo Requester Signer 1",
        agreement_id=agreement,
        batch_id=batch_id,
    )
    return {
        name: (name, (folder / name).read_bytes())
        for name in ("manifest.json", "manifest.sig", "requests.csv")
    }


def _multipart(files: dict) -> dict:
    return {
        "manifest": files["manifest.json"],
        "signature": files["manifest.sig"],
        "requests": files["requests.csv"],
    }


def test_submit_a_signed_batch(site: Site, tmp_path: Path) -> None:
    files = _signed_batch(tmp_path, "API-SUBMIT-1")
    with site.client("ice") as ice:
        r = ice.post("/v1/batches", files=_multipart(files))
        assert r.status_code == 201, r.text
        assert r.json() == {
            "batch_id": "API-SUBMIT-1",
            "rows": 2,
            "rows_refused": 1,
            "refusal_codes": {"ADDRESS_NOT_SPECIFIC": 1},
        }
        assert ice.get("/v1/batches/API-SUBMIT-1").json()["status"] == "RECEIVED"
        assert_error_shape(ice.post("/v1/batches", files=_multipart(files)), 409, "CONFLICT")
    with site.client("cbp") as cbp:
        other = _signed_batch(tmp_path, "API-SUBMIT-2")
        assert_error_shape(cbp.post("/v1/batches", files=_multipart(other)), 403, "FORBIDDEN")
        assert_error_shape(cbp.get("/v1/batches/API-SUBMIT-1"), 404)
    assert site.audit(principal="cbp", event_type="BATCH_SUBMIT", outcome="failure")
    with site.client("alvarez") as officer:
        assert_error_shape(officer.post("/v1/batches", files=_multipart(files)), 403)
        # Already matched batches cannot be matched again; a received one goes to linkage.
        matched = site.make_batch()
        assert_error_shape(officer.post(f"/v1/batches/{matched}/match"), 409, "CONFLICT")


def test_a_refused_batch_is_a_422_with_its_refusal_code(site: Site, tmp_path: Path) -> None:
    files = _signed_batch(tmp_path, "API-BADSIG")
    name, _ = files["manifest.sig"]
    files["manifest.sig"] = (name, base64.b64encode(b"\0" * 64) + b"\n")
    with site.client("ice") as ice:
        err = assert_error_shape(
            ice.post("/v1/batches", files=_multipart(files)), 422, "BATCH_REFUSED"
        )
    assert err["refusal_code"] == "SIGNATURE_INVALID"
    assert site.audit(principal="ice", event_type="BATCH_SUBMIT", outcome="failure")


def test_a_batch_under_a_suspended_agreement_is_refused_and_answered(
    site: Site, tmp_path: Path
) -> None:
    files = _signed_batch(tmp_path, "API-SUSPENDED")
    with site.client("root") as root, site.client("ice") as ice:
        root.post("/v1/agreements/irs-ice-2025/suspend", json={"reason": "court order"})
        try:
            err = assert_error_shape(
                ice.post("/v1/batches", files=_multipart(files)), 422, "BATCH_REFUSED"
            )
        finally:
            root.post("/v1/agreements/irs-ice-2025/resume", json={"reason": "order lifted"})
        assert err["refusal_code"] == "AGREEMENT_SUSPENDED" and "API-SUSPENDED" in err["message"]
        stored = ice.get("/v1/batches/API-SUSPENDED").json()
        answer = ice.get("/v1/batches/API-SUSPENDED/response/response.csv").text
    assert stored["status"] == "REFUSED" and stored["refusal_code"] == "AGREEMENT_SUSPENDED"
    assert answer.count("AGREEMENT_SUSPENDED") == 2  # every row answered with the batch's code


# --- the one error shape --------------------------------------------------------------------


def test_every_error_has_the_one_shape(site: Site) -> None:
    ours = site.make_batch()
    with site.client("alvarez") as officer:
        assert_error_shape(officer.get("/v1/no-such-route"), 404, "NOT_FOUND")
        assert_error_shape(officer.delete("/v1/batches"), 405, "METHOD_NOT_ALLOWED")
        err = assert_error_shape(
            officer.post(f"/v1/review/batches/{ours}", json={"aprove": ["R1"]}),
            422,
            "REQUEST_INVALID",
        )
        assert {d.get("field") for d in err["details"]} == {"aprove"}
        assert_error_shape(
            officer.post(
                f"/v1/review/batches/{ours}",
                content=b"{not json",
                headers={"content-type": "application/json"},
            ),
            422,
        )
        assert_error_shape(officer.get("/v1/ledger/proof/inclusion?index=-1&size=x"), 422)
        assert_error_shape(
            officer.post(f"/v1/review/batches/{ours}", json={"approve": ["R3"]}),
            400,
            "INPUT_INVALID",
        )
        assert_error_shape(officer.get("/v1/ledger/proof/inclusion?index=0&size=999999"), 400)
        assert_error_shape(officer.get("/docs"), 404)
    failed = site.audit(principal="alvarez", event_type="API_REQUEST")
    assert {e["detail"] for e in failed} >= {
        "404 NOT_FOUND",
        "405 METHOD_NOT_ALLOWED",
        "422 REQUEST_INVALID",
    }


def test_an_unexpected_failure_is_a_500_in_the_shape_without_its_message(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ftigate.service import views

    def boom(*_args: object) -> None:
        raise RuntimeError("KeyError for taxpayer 123-45-6789 at 400 N Main St")

    monkeypatch.setattr(views, "batch_status", boom)
    caplog.set_level(logging.DEBUG)
    with site.client("audra") as auditor:
        err = assert_error_shape(auditor.get("/v1/batches/ANY"), 500, "INTERNAL")
    assert "123-45-6789" not in err["message"] and "123-45-6789" not in caplog.text
    assert "RuntimeError" in caplog.text
    assert site.audit(principal="audra", event_type="API_REQUEST", detail="500 INTERNAL")


def _error_classes() -> list[type]:
    import inspect

    from ftigate import errors
    from ftigate.api import errors as api_errors

    found = {
        c
        for m in (errors, api_errors)
        for _, c in inspect.getmembers(m, inspect.isclass)
        if issubclass(c, errors.FtigateError)
    }
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_maps_to_its_status(
    site: Site, monkeypatch: pytest.MonkeyPatch, cls: type
) -> None:
    from ftigate.errors import BatchRefused, RefusalCode
    from ftigate.service import views

    def fail(*_args: object) -> None:
        if cls is BatchRefused:
            raise cls(RefusalCode.BATCH_TOO_LARGE, "too big")
        raise cls("it failed", field="x")

    monkeypatch.setattr(views, "batch_status", fail)
    with site.client("audra") as auditor:
        err = assert_error_shape(auditor.get("/v1/batches/ANY"), cls.status, cls.code)
    assert err["details"] == (
        [] if cls is BatchRefused else [{"field": "x", "message": "it failed"}]
    )


def test_openapi_documents_the_error_shape(site: Site) -> None:
    with site.client() as c:
        spec = c.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(spec)
    op = spec["paths"]["/v1/review/batches/{batch_id}/release"]["post"]
    assert op["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorBody"
    )
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# --- ledger and admin -----------------------------------------------------------------------


def test_ledger_proofs_verify(site: Site) -> None:
    _review_and_release(site, site.make_batch())
    with site.client("audra") as auditor:
        cp = auditor.get("/v1/ledger/checkpoint").json()
        size = cp["size"]
        root = base64.b64decode(cp["root_b64"])
        leaf = auditor.get(f"/v1/ledger/leaves/{size - 1}").json()
        proof = auditor.get(f"/v1/ledger/proof/inclusion?index={size - 1}&size={size}").json()
        cons = auditor.get(f"/v1/ledger/proof/consistency?from=1&to={size}").json()
        first = auditor.get("/v1/ledger/checkpoint?size=5")
    assert cp["text"].startswith(site.gw.settings.log_origin)
    merkle.verify_inclusion(
        size - 1,
        size,
        base64.b64decode(leaf["leaf_hash_b64"]),
        [base64.b64decode(h) for h in proof["hashes_b64"]],
        root,
    )
    assert cons["from"] == 1 and cons["to"] == size and cons["hashes_b64"]
    assert first.status_code == 200 and first.json()["size"] == 5


def test_admin_loads_suspends_and_resumes_agreements(site: Site) -> None:
    with site.client("root") as root:
        r = root.post(
            "/v1/agreements",
            content=SAMPLE.read_bytes(),
            headers={"content-type": "application/yaml"},
        )
        assert r.status_code == 200 and r.json()["stored"] is False
        assert r.json()["requesting_agency"] == ICE
        new_text = SAMPLE.read_text(encoding="utf-8").replace("id: irs-ice-2025", "id: irs-api-1")
        r = root.post(
            "/v1/agreements",
            content=new_text.encode(),
            headers={"content-type": "application/yaml"},
        )
        assert r.status_code == 201 and r.json()["stored"] is True and r.json()["id"] == "irs-api-1"
        bad = root.post(
            "/v1/agreements",
            content=b"id: x\nversion: one\n",
            headers={"content-type": "application/yaml"},
        )
        err = assert_error_shape(bad, 400, "AGREEMENT_INVALID")
        assert err["details"] and all("message" in d for d in err["details"])
        r = root.post("/v1/agreements/irs-cbp-2025/suspend", json={"reason": "court order"})
        assert r.status_code == 200 and r.json()["status"] == "suspended"
        assert_error_shape(
            root.post("/v1/agreements/irs-cbp-2025/suspend", json={"reason": "again"}),
            409,
            "CONFLICT",
        )
        batch = site.make_batch("irs-cbp-2025", prefix="SUSP")
        with site.client("alvarez") as a, site.client("brennan") as b:
            a.post(f"/v1/review/batches/{batch}", json={"approve_all": True})
            err = assert_error_shape(b.post(f"/v1/review/batches/{batch}/release"), 409)
            assert "suspended" in err["message"]
        r = root.post("/v1/agreements/irs-cbp-2025/resume", json={"reason": "order lifted"})
        assert r.json()["status"] == "active"
        assert_error_shape(root.post("/v1/agreements/irs-cbp-2025/resume", json={}), 422)
    assert site.audit(principal="root", event_type="AGREEMENT_SUSPEND", outcome="success")
    with site.client("alvarez") as officer:
        assert_error_shape(officer.post("/v1/agreements", content=b"x: 1"), 403, "FORBIDDEN")


def test_admin_manages_accounts_over_the_api(site: Site) -> None:
    with site.client("root") as root:
        r = root.post("/v1/accounts", json={"name": "cruz", "role": "auditor"})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        assert_error_shape(
            root.post("/v1/accounts", json={"name": "cruz", "role": "auditor"}), 409, "CONFLICT"
        )
        err = assert_error_shape(
            root.post("/v1/accounts", json={"name": "x y", "role": "boss"}), 400, "INPUT_INVALID"
        )
        assert {d["field"] for d in err["details"]} == {"name", "role"}
        names = {a["name"]: a for a in root.get("/v1/accounts").json()}
        assert names["cruz"]["role"] == "auditor" and names["gone"]["disabled"] is True
        assert "token" not in json.dumps(root.get("/v1/accounts").json())
        with site.client(token=token) as cruz:
            assert cruz.get("/v1/me").json() == {"name": "cruz", "role": "auditor", "agency": None}
            assert_error_shape(cruz.get("/v1/accounts"), 403)
            assert root.post("/v1/accounts/cruz/disable").status_code == 200
            assert_error_shape(cruz.get("/v1/me"), 401)
        new = root.post("/v1/accounts/brennan/token").json()["token"]
        site.tokens["brennan"] = new
    with site.gw.reading() as conn:
        from ftigate.store.accounts import accounts

        stored = " ".join(str(v) for row in conn.execute(accounts.select()) for v in row)
    assert token not in stored and new not in stored


def test_no_fti_in_logs(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    ours = site.make_batch()
    caplog.set_level(logging.DEBUG)
    with site.client("alvarez") as officer:
        assert SECRET_STREET in officer.get(f"/v1/review/batches/{ours}").text
        officer.post(f"/v1/review/batches/{ours}", json={"approve_all": True})
    with site.client("brennan") as b:
        b.post(f"/v1/review/batches/{ours}/release")
    with site.client("ice") as ice:
        assert SECRET_STREET in ice.get(f"/v1/batches/{ours}/response").text
    logged = caplog.text + json.dumps(site.audit(), default=str)
    for secret in (SECRET_STREET, "María", "García", "123456789", "123-45-6789", "Calle Sol"):
        assert secret not in logged


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
class TestOnPostgres:
    """The ownership and four-eyes guarantees on the production database."""

    @pytest.fixture
    def pg_site(self, postgres_db: Database, tmp_path: Path) -> Iterator[Site]:
        site, server = build_site(tmp_path, db=postgres_db)
        try:
            yield site
        finally:
            server.stop()
            shutil.rmtree(tmp_path / "data", ignore_errors=True)

    def test_agency_isolation(self, pg_site: Site) -> None:
        theirs = pg_site.make_batch("irs-cbp-2025", prefix="CBP")
        with pg_site.client("ice") as ice:
            assert theirs not in {b["id"] for b in ice.get("/v1/batches").json()}
            assert_error_shape(ice.get(f"/v1/batches/{theirs}"), 404, "NOT_FOUND")
        with pg_site.client("cbp") as cbp:
            assert cbp.get(f"/v1/batches/{theirs}").json()["agreement_id"] == "irs-cbp-2025"
        assert pg_site.audit(principal="ice", event_type="BATCH_READ", outcome="failure")
        assert CBP  # the agency of that batch

    def test_four_eyes_and_response(self, pg_site: Site) -> None:
        ours = pg_site.make_batch()
        with pg_site.client("alvarez") as a:
            a.post(f"/v1/review/batches/{ours}", json={"approve": ["R1"], "withhold": ["R2"]})
            assert_error_shape(a.post(f"/v1/review/batches/{ours}/release"), 409, "CONFLICT")
        with pg_site.client("brennan") as b:
            assert b.post(f"/v1/review/batches/{ours}/release").status_code == 200
        with pg_site.client("ice") as ice:
            assert SECRET_STREET in ice.get(f"/v1/batches/{ours}/response").text
        with pg_site.client("gone") as gone:
            assert_error_shape(gone.get("/v1/me"), 401)
