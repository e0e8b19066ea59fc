"""A real ftigate API (uvicorn on a free loopback port) over a temporary store.

The store is built with the service and store functions directly - agreements loaded, a small
register snapshot ingested, batches and decisions inserted with ``ftigate.store.repo`` - so
these tests depend on neither linkage nor synth. One ``Site`` per test module: each test that
changes a batch makes its own with :meth:`Site.make_batch`.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.api import create_app
from ftigate.config import Settings
from ftigate.errors import RefusalCode
from ftigate.model import Decision, Finding, Outcome, Reason, Request
from ftigate.service import Gateway, Principal
from ftigate.service.accounts import create_account, disable_account
from ftigate.service.admin import init, load_agreement
from ftigate.store import repo
from ftigate.store.db import Database
from ftigate.store.register import ingest_register

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "agreements" / "irs-ice-2025.yaml"
ICE = "U.S. Immigration and Customs Enforcement (Department of Homeland Security)"
CBP = "U.S. Customs and Border Protection (Department of Homeland Security)"
ADMIN = Principal.local("admin")

TAXPAYERS = """tin,tin_type,first_name,middle_name,last_name,suffix,dob
123-45-6789,SSN,María,Elena,García López,,1980-02-03
912-70-1234,ITIN,José,,Hernández,,1975-06-07
234-56-7890,SSN,Ana,,Nguyen,,1990-01-01
"""
ADDRESSES = """tin,street,unit,city,state,zip,valid_from,source
123-45-6789,12 Calle Sol,,San Antonio,TX,78201,2021-04-15,1040:2020
123-45-6789,400 N Main St,Apt 4B,San Antonio,TX,78205,2024-04-15,1040:2023
912-70-1234,9 Oak Ln,,Austin,TX,78701,2023-04-15,W-7
234-56-7890,77 Elm Street,,Houston,TX,77002,2022-04-15,1040:2021
"""
# The candidate's identity and last known address, as the review queue must show them to an
# officer and never to anyone else.
SECRET_STREET = "400 N Main St"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn in a thread; ``url`` is ready when the constructor returns."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Site:
    """The running API, its store and the tokens of its accounts."""

    gw: Gateway
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    snapshot_id: str = ""
    agreement_sha: dict[str, str] = field(default_factory=dict)

    def client(self, account: str | None = None, token: str | None = None) -> httpx.Client:
        headers = {}
        if account is not None:
            headers["Authorization"] = f"Bearer {self.tokens[account]}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def make_batch(self, agreement_id: str = "irs-ice-2025", prefix: str = "B") -> str:
        """A MATCHED batch: two REVIEW items (one clean), a DISCLOSE, a REFUSED, a NO_MATCH."""
        batch_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
        agency = ICE if agreement_id == "irs-ice-2025" else CBP
        reqs = [
            Request(
                2,
                "R1",
                "Maria",
                "E",
                "Garcia Lopez",
                "1980-02-03",
                "400 N Main St",
                "Apt 4B",
                "San Antonio",
                "TX",
                "78205",
                "2023",
                "8 U.S.C. 1326",
                "subject of a removal case",
                "C-1",
                "O-1",
            ),
            Request(
                3,
                "R2",
                "Jose",
                "",
                "Hernandez",
                "1975-06-08",
                "9 Oak Ln",
                "",
                "Austin",
                "TX",
                "78701",
                "2023",
                "8 U.S.C. 1326",
                "reentry",
                "C-2",
                "O-1",
            ),
            Request(
                4,
                "R3",
                "Ana",
                "",
                "Nguyen",
                "1990-01-01",
                "77 Elm Street",
                "",
                "Houston",
                "TX",
                "77002",
                "2022",
                "8 U.S.C. 1324",
                "harboring",
                "C-3",
                "O-2",
            ),
            Request(
                5,
                "R4",
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
                "reentry",
                "C-4",
                "O-2",
            ),
            Request(
                6,
                "R5",
                "Nadie",
                "",
                "Nunca",
                "1999-09-09",
                "1 Nowhere Rd",
                "",
                "Dallas",
                "TX",
                "75201",
                "2023",
                "8 U.S.C. 1326",
                "reentry",
                "C-5",
                "O-2",
            ),
        ]
        refused = Finding(RefusalCode.ADDRESS_NOT_SPECIFIC, "placeholder address", "street")
        decisions = [
            (
                2,
                Decision(
                    "R1",
                    Outcome.REVIEW,
                    Reason.LOW_CONFIDENCE,
                    tin="123456789",
                    probability=0.985,
                    runner_up_probability=0.02,
                    rules=("best 0.985 below threshold 0.999", "address corroborated"),
                ),
            ),
            (
                3,
                Decision(
                    "R2",
                    Outcome.REVIEW,
                    Reason.LOW_CONFIDENCE,
                    tin="912701234",
                    probability=0.97,
                    runner_up_probability=0.95,
                    rules=("runner-up close",),
                ),
            ),
            (
                4,
                Decision(
                    "R3",
                    Outcome.DISCLOSE,
                    None,
                    tin="234567890",
                    probability=0.9995,
                    runner_up_probability=0.001,
                    rules=("confident unique match",),
                ),
            ),
            (
                5,
                Decision(
                    "R4",
                    Outcome.REFUSED,
                    refusal_codes=(RefusalCode.ADDRESS_NOT_SPECIFIC,),
                    rules=("ADDRESS_NOT_SPECIFIC: placeholder address",),
                ),
            ),
            (6, Decision("R5", Outcome.NOT_DISCLOSED, Reason.NO_MATCH, rules=("no candidate",))),
        ]
        with self.gw.db.transaction() as conn:
            repo.insert_batch(
                conn,
                id=batch_id,
                requester=agency,
                agreement_id=agreement_id,
                agreement_version=1,
                agreement_sha256=self.agreement_sha[agreement_id],
                manifest_json="{}",
                signature_b64="",
                signer="Demo Requester Signer 1",
                requests_sha256="0" * 64,
                row_count=len(reqs),
                status=repo.BATCH_MATCHED,
                snapshot_id=self.snapshot_id,
                model_sha256="a" * 64,
                software_version="test",
                matched_at=repo.now(),
            )
            repo.insert_requests(conn, batch_id, reqs, {5: [refused]})
            repo.insert_decisions(conn, batch_id, decisions)
        return batch_id

    def audit(self, **match: str) -> list[dict[str, Any]]:
        """Audit events whose columns equal ``match``."""
        with self.gw.reading() as conn:
            events = repo.audit_events(conn)
        return [dict(e) for e in events if all(e[k] == v for k, v in match.items())]


def _cbp_agreement(tmp: Path) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("id: irs-ice-2025", "id: irs-cbp-2025")
    text = text.replace(f"requesting: {ICE}", f"requesting: {CBP}")
    assert "irs-cbp-2025" in text and CBP in text
    out = tmp / "irs-cbp-2025.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def build_site(tmp: Path, db: Database | None = None) -> tuple[Site, Server]:
    settings = Settings(database_url=f"sqlite:///{tmp / 'ftigate.db'}", data_dir=str(tmp / "data"))
    gw = Gateway(settings, db)
    init(gw)
    shas = {}
    for path in (SAMPLE, _cbp_agreement(tmp)):
        agreement, _ = load_agreement(gw, path, ADMIN)
        shas[agreement.id] = agreement.sha256
    register = tmp / "register"
    register.mkdir()
    (register / "taxpayers.csv").write_text(TAXPAYERS, encoding="utf-8")
    (register / "addresses.csv").write_text(ADDRESSES, encoding="utf-8")
    files = ingest_register(register, gw.snapshots_root, date.today())
    with gw.db.transaction() as conn:
        repo.upsert_current_snapshot(
            conn,
            id=files.id,
            path=str(files.path),
            source=files.source,
            taxpayers=files.taxpayers,
            addresses=files.addresses,
            content_sha256=files.content_sha256,
        )
    tokens = {}
    for name, role, agency in (
        ("ice", "requester", ICE),
        ("cbp", "requester", CBP),
        ("alvarez", "officer", None),
        ("brennan", "officer", None),
        ("audra", "auditor", None),
        ("root", "admin", None),
        ("gone", "officer", None),
    ):
        _, tokens[name] = create_account(gw, name, role, agency, ADMIN)
    disable_account(gw, "gone", ADMIN)
    server = Server(create_app(settings, db=db))
    site = Site(gw, server.url, tokens, files.id, shas)
    return site, server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s, server = build_site(tmp_path_factory.mktemp("api"))
    try:
        yield s
    finally:
        server.stop()
        s.gw.db.dispose()


def demo_signer_key(tmp: Path) -> Path:
    """The sample agreement's publicly derived demo signer key, as a 0600 PEM file."""
    key = Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"ftigate demo requester signer 1").digest()
    )
    path = tmp / "signer.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def assert_error_shape(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The one JSON error shape, with the HTTP status repeated inside."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert {"code", "status", "message", "details"} <= set(err)
    assert set(err) - {"code", "status", "message", "details"} <= {"refusal_code"}
    assert err["status"] == status and isinstance(err["details"], list)
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err
