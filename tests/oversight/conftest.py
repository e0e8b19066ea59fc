"""A gateway store built with the service and store functions directly (no linkage, no synth).

Two ways to put decisions into the ledger:

* :meth:`Store.release_by_hand` writes a MATCHED batch's final outcomes, leaves and a signed
  checkpoint the way ``release_batch`` does, but at a chosen time, so the report tests can
  spread releases over months and years (a hand-built ledger whose counts we know);
* :meth:`Store.review_and_release` goes through ``review_batch`` and ``release_batch`` (two
  officers, four eyes), as the remediation tests need a ledger made the real way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.config import Settings
from ftigate.errors import RefusalCode
from ftigate.ledger import log as ledger_log
from ftigate.model import Decision, Outcome, Reason, Request
from ftigate.service import Gateway, Principal
from ftigate.service.admin import effective_agreement, init, load_agreement
from ftigate.service.records import decision_records
from ftigate.service.review import final_outcome, release_batch, review_batch
from ftigate.store import repo
from ftigate.store.db import Database

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "agreements" / "irs-ice-2025.yaml"
ICE = "U.S. Immigration and Customs Enforcement (Department of Homeland Security)"
CBP = "U.S. Customs and Border Protection (Department of Homeland Security)"
ADMIN = Principal.local("admin")
AUDITOR = Principal("audra", "auditor", "cli")
OFFICER_A = Principal("officer.alvarez", "officer", "cli")
OFFICER_B = Principal("officer.brennan", "officer", "cli")
DEMO_SIGNER = "Demo Requester Signer 1"
DEMO_SEED = b"ftigate demo requester signer 1"  # the sample agreement's publicly derived key


def demo_signer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEMO_SEED).digest())


def write_key(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Row:
    """One request and the gateway's decision on it (the tests' compact notation)."""

    request_id: str
    outcome: Outcome
    reason: Reason | None = None
    codes: tuple[RefusalCode, ...] = ()
    tin: str | None = None
    p: float | None = None
    street: str = "400 N Main St"

    def request(self, line: int) -> Request:
        return Request(
            line,
            self.request_id,
            "Maria",
            "",
            "Garcia",
            "1980-02-03",
            self.street,
            "",
            "San Antonio",
            "TX",
            "78205",
            "2023",
            "8 U.S.C. 1326",
            "subject of a reentry case",
            f"C-{self.request_id}",
            "O-1",
        )

    def decision(self) -> Decision:
        return Decision(
            self.request_id,
            self.outcome,
            self.reason,
            refusal_codes=self.codes,
            tin=self.tin,
            probability=self.p,
        )


def disclose(rid: str, tin: str, p: float = 0.9995) -> Row:
    return Row(rid, Outcome.DISCLOSE, tin=tin, p=p)


def review(rid: str, tin: str, p: float = 0.97) -> Row:
    return Row(rid, Outcome.REVIEW, Reason.LOW_CONFIDENCE, tin=tin, p=p)


def refuse(rid: str, *codes: RefusalCode) -> Row:
    return Row(rid, Outcome.REFUSED, codes=codes, street="Failed to Provide")


def no_match(rid: str) -> Row:
    return Row(rid, Outcome.NOT_DISCLOSED, Reason.NO_MATCH)


@dataclass
class Store:
    gw: Gateway
    shas: dict[str, str] = field(default_factory=dict)

    def make_batch(
        self, batch_id: str, rows: Sequence[Row], agreement_id: str = "irs-ice-2025"
    ) -> str:
        """A MATCHED batch holding ``rows`` (line 2 onwards)."""
        reqs = [r.request(i + 2) for i, r in enumerate(rows)]
        with self.gw.db.transaction() as conn:
            repo.insert_batch(
                conn,
                id=batch_id,
                requester=ICE if agreement_id == "irs-ice-2025" else CBP,
                agreement_id=agreement_id,
                agreement_version=1,
                agreement_sha256=self.shas[agreement_id],
                manifest_json="{}",
                signature_b64="",
                signer=DEMO_SIGNER,
                requests_sha256="0" * 64,
                row_count=len(rows),
                status=repo.BATCH_MATCHED,
                snapshot_id="snap-test",
                model_sha256="a" * 64,
                software_version="test",
                matched_at=repo.now(),
            )
            repo.insert_requests(conn, batch_id, reqs, {})
            repo.insert_decisions(
                conn, batch_id, [(q.line, r.decision()) for q, r in zip(reqs, rows, strict=True)]
            )
        return batch_id

    def release_by_hand(
        self,
        batch_id: str,
        at: datetime,
        *,
        received_at: datetime | None = None,
        approve: Sequence[str] = (),
        withhold: Sequence[str] = (),
    ) -> int:
        """What ``release_batch`` writes, at time ``at``; returns the first leaf index."""
        actions = {**dict.fromkeys(approve, "approve"), **dict.fromkeys(withhold, "withhold")}
        with self.gw.db.transaction() as conn:
            batch = repo.get_batch(conn, batch_id)
            agreement = effective_agreement(conn, batch["agreement_id"], batch["agreement_version"])
            stored = repo.load_decisions(conn, batch_id)
            finals = [
                (
                    d,
                    *final_outcome(
                        d.decision.outcome, d.decision.reason, actions.get(d.decision.request_id)
                    ),
                )
                for d in stored
            ]
            requests = {r.line: r for r, _ in repo.load_requests(conn, batch_id)}
            records = decision_records(
                batch,
                agreement,
                requests,
                finals,
                self.gw.tin_hmac_key,
                reviewers=(OFFICER_A.name,),
                releaser=OFFICER_B.name,
                at=at,
            )
            first = ledger_log.append(conn, records)
            repo.finalise_decisions(
                conn,
                batch_id,
                [(d.line, o, r, first + i) for i, (d, o, r) in enumerate(finals)],
            )
            ledger_log.sign_checkpoint(conn, self.gw.signing_key, self.gw.settings.log_origin)
            values = {"status": repo.BATCH_RELEASED, "released_at": at}
            if received_at is not None:
                values["received_at"] = received_at
            repo.update_batch(conn, batch_id, **values)
        return first

    def review_and_release(
        self, batch_id: str, approve: Sequence[str] = (), withhold: Sequence[str] = ()
    ) -> int:
        """Officer A reviews (and signs off), officer B releases; returns the first leaf."""
        review_batch(self.gw, batch_id, OFFICER_A, approve=approve, withhold=withhold)
        return release_batch(self.gw, batch_id, OFFICER_B).first_leaf

    def tree_size(self) -> int:
        with self.gw.reading() as conn:
            return ledger_log.tree_size(conn)

    def audit(self, **match: str) -> list[dict]:
        with self.gw.reading() as conn:
            events = repo.audit_events(conn)
        return [dict(e) for e in events if all(e[k] == v for k, v in match.items())]


def _cbp_agreement(tmp: Path) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("id: irs-ice-2025", "id: irs-cbp-2025").replace(
        f"requesting: {ICE}", f"requesting: {CBP}"
    )
    assert "irs-cbp-2025" in text and CBP in text
    out = tmp / "irs-cbp-2025.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def build_store(tmp: Path, db: Database | None = None, **settings: object) -> Store:
    """A migrated store with keys and both agreements (``db``: another engine, e.g. PostgreSQL)."""
    tmp.mkdir(parents=True, exist_ok=True)
    url = db.engine.url.render_as_string(hide_password=False) if db else None
    gw = Gateway(
        Settings(
            database_url=url or f"sqlite:///{tmp / 'ftigate.db'}",
            data_dir=str(tmp / "data"),
            **settings,  # type: ignore[arg-type]
        ),
        db,
    )
    init(gw)
    store = Store(gw)
    for path in (SAMPLE, _cbp_agreement(tmp)):
        agreement, _ = load_agreement(gw, path, ADMIN)
        store.shas[agreement.id] = agreement.sha256
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = build_store(tmp_path)
    try:
        yield s
    finally:
        s.gw.db.dispose()


@pytest.fixture
def any_store(tmp_path: Path, any_db: Database) -> Store:
    """The same store on SQLite and (marked ``postgres``) on PostgreSQL."""
    return build_store(tmp_path, any_db)


def cli_base(store: Store) -> list[str]:
    """Global options that point the CLI at ``store``."""
    return [
        "--database",
        store.gw.settings.database_url,
        "--data-dir",
        store.gw.settings.data_dir,
    ]
