"""Batch intake: sign (requester side), then submit (gateway side).

Submission checks the batch as a whole first (signature, signer, manifest hash and row count,
agreement known, active, in term, recipient safeguards, size). A batch refused at that level is
recorded with one REFUSED decision per row, ledger leaves and a signed checkpoint, in one
transaction, so the refusal itself is accountable and the requester can fetch a response. A
batch that passes is stored with every row's findings (all of them, not the first); rows with
findings are refused at matching, the rest go to linkage.

A file we cannot read at all (not UTF-8, a missing column, a malformed manifest) is an input
error: nothing is stored, and the message names the file, line and field.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ftigate.errors import BatchRefused, Detail, Forbidden, InputError, NotFound, RefusalCode
from ftigate.keys import load_private_key
from ftigate.ledger import log as ledger_log
from ftigate.model import Agreement, Decision, Finding, Manifest, Outcome, Request
from ftigate.policy.batch import (
    build_manifest,
    check_batch,
    decode_signature,
    parse_manifest,
    sign_manifest,
)
from ftigate.policy.requests import validate_requests
from ftigate.service.admin import effective_agreement
from ftigate.service.context import SOFTWARE_VERSION, Gateway, Principal
from ftigate.service.records import decision_records
from ftigate.store import repo
from ftigate.store.batch_files import read_requests_bytes

UNAUTHENTICATED = frozenset(
    {
        RefusalCode.AGREEMENT_UNKNOWN,
        RefusalCode.SIGNER_NOT_AUTHORIZED,
        RefusalCode.SIGNATURE_INVALID,
        RefusalCode.MANIFEST_MISMATCH,
    }
)
"""Batch codes meaning we cannot tell who sent the batch or that it is what they signed.

Such a batch is refused with an error and nothing is stored but the audit event: it is not an
authentic request, so it gets no ledger leaves (which would also let anyone fill the ledger).
A batch refused for its standing (suspended or expired agreement, open safeguard findings,
too many rows) is authentic, and its refusal is recorded decision by decision in the ledger.
"""

REQUEST_FILE_NAMES = ("requests.csv", "requests.parquet", "requests.jsonl")
GATEWAY_PRINCIPAL = "gateway"


@dataclass(frozen=True)
class SubmitResult:
    batch_id: str
    rows: int
    rows_refused: int
    refusal_codes: Counter[str]
    refusal: str | None = None  # a batch-level refusal code
    message: str | None = None


def find_requests_file(directory: Path) -> Path:
    for name in REQUEST_FILE_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise InputError(
        f"{directory} has no requests file ({', '.join(REQUEST_FILE_NAMES)})", file=str(directory)
    )


def sign_batch(
    directory: Path,
    key_path: Path,
    *,
    signer: str,
    agreement_id: str,
    batch_id: str | None = None,
    submitted_at: datetime | None = None,
) -> Manifest:
    """Write ``manifest.json`` and ``manifest.sig`` (base64 Ed25519) for ``directory``'s batch."""
    requests_path = find_requests_file(directory)
    data = requests_path.read_bytes()
    rows, _problems = read_requests_bytes(data, requests_path.name)
    when = (submitted_at or datetime.now(UTC)).replace(microsecond=0)
    manifest_bytes = build_manifest(
        batch_id=batch_id or f"{directory.resolve().name}-{when:%Y%m%dT%H%M%SZ}",
        agreement_id=agreement_id,
        submitted_at=when,
        signer=signer,
        row_count=len(rows),
        requests_bytes=data,
        requests_file=requests_path.name,
    )
    signature = sign_manifest(manifest_bytes, load_private_key(key_path))
    (directory / "manifest.json").write_bytes(manifest_bytes)
    (directory / "manifest.sig").write_bytes(base64.b64encode(signature) + b"\n")
    return parse_manifest(manifest_bytes, str(directory / "manifest.json"))


def submit_batch(gw: Gateway, directory: Path, principal: Principal) -> SubmitResult:
    """Submit the batch folder written by ``ftigate batch sign`` (or by the requester)."""
    manifest_path, sig_path = directory / "manifest.json", directory / "manifest.sig"
    for p in (manifest_path, sig_path):
        if not p.is_file():
            raise InputError(
                f"{p} is missing; sign the batch first (ftigate batch sign)", file=str(p)
            )
    manifest_bytes = manifest_path.read_bytes()
    manifest = parse_manifest(manifest_bytes, str(manifest_path))
    name = Path(manifest.requests_file).name  # never a path outside the batch folder
    requests_path = directory / name
    if not requests_path.is_file():
        raise InputError(
            f"the manifest names {name}, which is not in {directory}",
            file=str(manifest_path),
            field="requests_file",
        )
    return submit_batch_bytes(
        gw,
        manifest=manifest_bytes,
        signature=sig_path.read_bytes(),
        requests=requests_path.read_bytes(),
        requests_name=name,
        principal=principal,
    )


def submit_batch_bytes(
    gw: Gateway,
    *,
    manifest: bytes,
    signature: bytes,
    requests: bytes,
    requests_name: str,
    principal: Principal,
    received_at: datetime | None = None,
) -> SubmitResult:
    """Check and store a batch given as bytes (the API's entry point; the CLI reads files)."""
    parsed = parse_manifest(manifest, "manifest.json")
    rows, problems = read_requests_bytes(requests, requests_name)
    sig = decode_signature(signature) or b""  # unreadable: SIGNATURE_INVALID
    when = received_at or datetime.now(UTC)

    def run(conn: Connection) -> SubmitResult:
        try:
            agreement: Agreement | None = effective_agreement(conn, parsed.agreement_id)
        except NotFound:
            agreement = None
        if principal.role == "requester" and (
            agreement is None or principal.agency != agreement.requesting_agency
        ):
            raise Forbidden(
                f"{principal.name} may not submit under agreement {parsed.agreement_id}"
            )
        batch_findings = check_batch(
            manifest_bytes=manifest,
            signature=sig,
            manifest=parsed,
            requests_bytes=requests,
            row_count=len(rows),
            agreement=agreement,
            received_at=when,
        )
        common: dict[str, Any] = dict(
            id=parsed.batch_id,
            requester=agreement.requesting_agency if agreement else "unknown",
            agreement_id=agreement.id if agreement else parsed.agreement_id,
            agreement_version=agreement.version if agreement else None,
            agreement_sha256=agreement.sha256 if agreement else None,
            manifest_json=manifest.decode("utf-8", "replace"),
            signature_b64=base64.b64encode(sig).decode(),
            signer=parsed.signer,
            requests_sha256=parsed.requests_sha256,
            row_count=len(rows),
        )
        if batch_findings and batch_findings[0].code in UNAUTHENTICATED:
            raise _unauthenticated(batch_findings, requests_name)
        if batch_findings:
            return _refuse_batch(gw, conn, common, agreement, rows, batch_findings)
        assert agreement is not None  # no batch finding means the agreement is known
        merged = validate_requests(rows, agreement, as_of=when.date(), read_problems=problems)
        repo.insert_batch(conn, status=repo.BATCH_RECEIVED, **common)
        repo.insert_requests(conn, parsed.batch_id, rows, merged)
        codes = Counter(str(fs[0].code) for fs in merged.values() if fs)
        return SubmitResult(
            parsed.batch_id, len(rows), sum(1 for fs in merged.values() if fs), codes
        )

    return gw.audited(principal, "BATCH_SUBMIT", f"batch:{parsed.batch_id}", run)


def _unauthenticated(findings: list[Finding], requests_name: str) -> BatchRefused:
    def where(f: Finding) -> str:
        return requests_name if f.field in ("requests_sha256", "row_count") else "manifest.json"

    return BatchRefused(
        findings[0].code,
        f"batch refused {findings[0].code}: {findings[0].message}",
        details=[Detail(f"{f.code}: {f.message}", file=where(f), field=f.field) for f in findings],
    )


def _refuse_batch(
    gw: Gateway,
    conn: Connection,
    common: dict[str, Any],
    agreement: Agreement | None,
    rows: list[Request],
    findings: list[Finding],
) -> SubmitResult:
    code = findings[0].code
    batch_id = str(common["id"])
    repo.insert_batch(
        conn,
        status=repo.BATCH_REFUSED,
        refusal_code=str(code),
        refusal_message="; ".join(f.message for f in findings),
        software_version=SOFTWARE_VERSION,
        **common,
    )
    repo.insert_requests(conn, batch_id, rows, {})
    decisions = [
        (
            r.line,
            Decision(
                r.request_id,
                Outcome.REFUSED,
                refusal_codes=(code,),
                rules=tuple(f"{f.code}: {f.message}" for f in findings),
            ),
        )
        for r in rows
    ]
    repo.insert_decisions(conn, batch_id, decisions)
    stored = repo.load_decisions(conn, batch_id)
    batch = repo.get_batch(conn, batch_id)
    records = decision_records(
        batch,
        agreement,
        {r.line: r for r in rows},
        [(s, Outcome.REFUSED, None) for s in stored],
        gw.tin_hmac_key,
        reviewers=(),
        releaser=GATEWAY_PRINCIPAL,
    )
    first = ledger_log.append(conn, records) if records else ledger_log.tree_size(conn)
    repo.finalise_decisions(
        conn, batch_id, [(s.line, Outcome.REFUSED, None, first + i) for i, s in enumerate(stored)]
    )
    ledger_log.sign_checkpoint(conn, gw.signing_key, gw.settings.log_origin)
    repo.insert_release(
        conn, batch_id, GATEWAY_PRINCIPAL, first, len(records), ledger_log.tree_size(conn)
    )
    return SubmitResult(
        batch_id,
        len(rows),
        len(rows),
        Counter({str(code): len(rows)}),
        refusal=str(code),
        message=findings[0].message,
    )


__all__ = ["RefusalCode", "SubmitResult", "sign_batch", "submit_batch", "submit_batch_bytes"]
