"""The requester's response files and the officers' decision export.

``response.csv`` carries one status per request and only the disclosable fields;
``response_manifest.json`` carries the hash of that file, the checkpoint that covers the
release and, for each request, its ledger leaf index and inclusion proof, so the requester (or
a court) can check that every answer was recorded; ``response_manifest.sig`` is the gateway's
Ed25519 signature over the manifest bytes. Writing the same response twice gives the same bytes.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from ftigate.disclosure.last_known import last_known_address
from ftigate.disclosure.response import disclosed_columns, response_csv, response_row
from ftigate.errors import Conflict, InputError
from ftigate.ledger import log as ledger_log
from ftigate.model import Outcome, ResponseRow
from ftigate.service.admin import effective_agreement
from ftigate.service.context import Gateway, Principal
from ftigate.store import repo
from ftigate.store.files import write_atomic
from ftigate.store.register import load_address_histories
from ftigate.tin import format_tin

RESPONSE_FORMAT = "ftigate-response/1"


def build_response(conn: Connection, batch_id: str) -> tuple[list[ResponseRow], dict[str, object]]:
    """Rows and manifest body for a released (or batch-refused) batch."""
    batch = repo.get_batch(conn, batch_id)
    if batch["status"] not in (repo.BATCH_RELEASED, repo.BATCH_REFUSED):
        raise Conflict(
            f"batch {batch_id} is {batch['status']}; a response exists only after release"
        )
    release = repo.get_release(conn, batch_id)
    stored = repo.load_decisions(conn, batch_id)
    agreement = (
        effective_agreement(conn, batch["agreement_id"], batch["agreement_version"])
        if batch["agreement_id"] and batch["agreement_version"]
        else None
    )
    allowed = disclosed_columns(agreement) if agreement is not None else ()
    disclosed_tins = [
        d.decision.tin for d in stored if d.final_outcome is Outcome.DISCLOSE and d.decision.tin
    ]
    histories = {}
    if disclosed_tins:
        snapshot = repo.get_snapshot(conn, batch["snapshot_id"])
        histories = load_address_histories(Path(snapshot.path), disclosed_tins)
    rows: list[ResponseRow] = []
    proofs = []
    size = int(release["checkpoint_size"])
    all_proofs = ledger_log.inclusion_proofs(
        conn, [d.leaf_index for d in stored if d.leaf_index is not None], size
    )
    leaf_hashes = ledger_log.leaf_hashes(
        conn, [d.leaf_index for d in stored if d.leaf_index is not None]
    )
    for d in stored:
        assert d.final_outcome is not None and d.leaf_index is not None
        address = None
        if d.final_outcome is Outcome.DISCLOSE:
            if agreement is None or d.decision.tin is None:
                raise Conflict(
                    f"decision {d.decision.request_id} discloses without an agreement or person"
                )
            address = last_known_address(histories[d.decision.tin])
        rows.append(
            response_row(
                d.decision.request_id, d.final_outcome, d.decision.refusal_codes, address, allowed
            )
        )
        proof = all_proofs[d.leaf_index]
        proofs.append(
            {
                "request_id": d.decision.request_id,
                "line": d.line,
                "leaf_index": d.leaf_index,
                "leaf_hash": base64.b64encode(leaf_hashes[d.leaf_index]).decode(),
                "inclusion_proof": [base64.b64encode(h).decode() for h in proof],
            }
        )
    checkpoint = ledger_log.checkpoint_at(conn, size)
    body: dict[str, object] = {
        "format": RESPONSE_FORMAT,
        "batch_id": batch_id,
        "agreement_id": batch["agreement_id"],
        "agreement_sha256": batch["agreement_sha256"],
        "released_at": repo._aware(release["at"]).isoformat(),
        "rows": len(rows),
        "counts": {
            s: sum(1 for r in rows if r.status.value == s)
            for s in ("DISCLOSED", "NOT_DISCLOSED", "REFUSED")
        },
        "tree_size": size,
        "checkpoint": checkpoint,
        "leaves": proofs,
    }
    return rows, body


@dataclass(frozen=True)
class ResponseFiles:
    """The three files of a response, as bytes (the CLI writes them; the API serves them)."""

    csv: bytes
    manifest: bytes
    signature: bytes  # base64 of the Ed25519 signature over ``manifest``, with a newline

    NAMES = ("response.csv", "response_manifest.json", "response_manifest.sig")

    def by_name(self) -> dict[str, bytes]:
        return dict(zip(self.NAMES, (self.csv, self.manifest, self.signature), strict=True))


def response_files(gw: Gateway, batch_id: str, principal: Principal, event: str) -> ResponseFiles:
    """Build and sign a released batch's response; audited as ``event``."""

    def run(conn: Connection) -> tuple[bytes, bytes]:
        rows, body = build_response(conn, batch_id)
        data = response_csv(rows)
        body["response_sha256"] = hashlib.sha256(data).hexdigest()
        manifest = (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        return data, manifest

    data, manifest = gw.audited(principal, event, f"batch:{batch_id}", run)
    signature = base64.b64encode(gw.signing_key.sign(manifest)) + b"\n"
    return ResponseFiles(data, manifest, signature)


def write_response(gw: Gateway, batch_id: str, out: Path, principal: Principal) -> list[Path]:
    """Write the three response files into ``out`` (each atomically)."""
    files = response_files(gw, batch_id, principal, "RESPONSE_WRITE")
    paths = []
    for name, data in files.by_name().items():
        write_atomic(out / name, data)
        paths.append(out / name)
    return paths


DECISION_EXPORT_COLUMNS = (
    "request_id",
    "line",
    "decision",
    "reason_or_refusal_code",
    "candidate_tin",
    "match_probability",
    "runner_up_probability",
    "final_decision",
    "leaf_index",
    "rules",
)


def export_decisions(gw: Gateway, batch_id: str, out: Path, principal: Principal) -> int:
    """Internal decisions as CSV. Holds TINs: for officers and evaluation, never the requester."""
    if principal.role not in ("admin", "officer", "system"):
        from ftigate.errors import Forbidden

        raise Forbidden("decisions carry TINs; only officers and administrators may export them")

    def run(conn: Connection) -> list[repo.StoredDecision]:
        repo.get_batch(conn, batch_id)
        return repo.load_decisions(conn, batch_id)

    stored = gw.audited(principal, "DECISIONS_EXPORT", f"batch:{batch_id}", run)
    if out.exists() and out.is_dir():
        raise InputError(f"{out} is a directory; give a file name", file=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(DECISION_EXPORT_COLUMNS)
        for s in stored:
            d = s.decision
            why = (
                ";".join(str(c) for c in d.refusal_codes)
                if d.refusal_codes
                else (str(d.reason) if d.reason else "")
            )
            w.writerow(
                [
                    d.request_id,
                    s.line,
                    str(d.outcome),
                    why,
                    format_tin(d.tin) if d.tin else "",
                    "" if d.probability is None else f"{d.probability:.6f}",
                    "" if d.runner_up_probability is None else f"{d.runner_up_probability:.6f}",
                    str(s.final_outcome) if s.final_outcome else "",
                    "" if s.leaf_index is None else s.leaf_index,
                    " | ".join(d.rules),
                ]
            )
    return len(stored)
