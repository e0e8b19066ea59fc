"""Repositories: small functions over a caller's ``Connection`` (the caller owns the transaction).

Contracts: ``get_*`` raise :class:`NotFound` when the row is absent; ``insert_*`` raise
:class:`Conflict` when the key exists; nothing here deletes. Values come back as frozen model
objects or plain mappings, never ORM objects, so the service layer stays testable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from ftigate.errors import Conflict, NotFound, RefusalCode
from ftigate.model import Decision, Finding, Outcome, Reason, Request
from ftigate.store import tables as t


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone=True columns; they were stored as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- agreements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAgreement:
    id: str
    version: int
    sha256: str
    yaml_text: str
    loaded_at: datetime


def insert_agreement(
    conn: Connection,
    *,
    id: str,
    version: int,
    sha256: str,
    title: str,
    requesting_agency: str,
    yaml_text: str,
    principal: str,
) -> bool:
    """Store an agreement version; False if this exact version (same hash) is already stored."""
    row = conn.execute(
        sa.select(t.agreements.c.sha256).where(
            t.agreements.c.id == id, t.agreements.c.version == version
        )
    ).first()
    if row is not None:
        if row.sha256 == sha256:
            return False
        raise Conflict(
            f"agreement {id} version {version} is already stored with different "
            "content; give the changed agreement a new version number"
        )
    conn.execute(
        t.agreements.insert().values(
            id=id,
            version=version,
            sha256=sha256,
            title=title,
            requesting_agency=requesting_agency,
            yaml_text=yaml_text,
            loaded_at=now(),
            loaded_by=principal,
        )
    )
    return True


def get_agreement(conn: Connection, id: str, version: int | None = None) -> StoredAgreement:
    q = sa.select(t.agreements).where(t.agreements.c.id == id)
    q = q.where(t.agreements.c.version == version) if version is not None else q
    row = conn.execute(q.order_by(t.agreements.c.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(
            f"no agreement {id}" + (f" version {version}" if version is not None else "")
        )
    return StoredAgreement(row.id, row.version, row.sha256, row.yaml_text, _aware(row.loaded_at))


def list_agreements(conn: Connection) -> list[StoredAgreement]:
    rows = conn.execute(sa.select(t.agreements).order_by(t.agreements.c.id, t.agreements.c.version))
    return [
        StoredAgreement(r.id, r.version, r.sha256, r.yaml_text, _aware(r.loaded_at)) for r in rows
    ]


@dataclass(frozen=True)
class StatusEvent:
    status: str
    reason: str | None
    at: datetime
    principal: str


def set_agreement_status(
    conn: Connection, agreement_id: str, status: str, reason: str | None, principal: str
) -> None:
    conn.execute(
        t.agreement_status.insert().values(
            agreement_id=agreement_id, status=status, reason=reason, at=now(), principal=principal
        )
    )


def agreement_status(conn: Connection, agreement_id: str) -> StatusEvent | None:
    """The newest status event set by an operator, or None (the YAML's status then applies)."""
    row = conn.execute(
        sa.select(t.agreement_status)
        .where(t.agreement_status.c.agreement_id == agreement_id)
        .order_by(t.agreement_status.c.id.desc())
        .limit(1)
    ).first()
    return (
        None if row is None else StatusEvent(row.status, row.reason, _aware(row.at), row.principal)
    )


# --- snapshots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSnapshot:
    id: str
    path: str
    taxpayers: int
    addresses: int
    content_sha256: str
    created_at: datetime
    model_path: str | None
    model_sha256: str | None
    is_current: bool


def _snapshot(row: Any) -> StoredSnapshot:
    return StoredSnapshot(
        row.id,
        row.path,
        row.taxpayers,
        row.addresses,
        row.content_sha256,
        _aware(row.created_at),
        row.model_path,
        row.model_sha256,
        row.is_current,
    )


def upsert_current_snapshot(
    conn: Connection,
    *,
    id: str,
    path: str,
    source: str,
    taxpayers: int,
    addresses: int,
    content_sha256: str,
) -> StoredSnapshot:
    """Make ``id`` the current snapshot (inserting it if new); the previous one stays on record."""
    conn.execute(
        t.snapshots.update().where(t.snapshots.c.is_current.is_(True)).values(is_current=False)
    )
    exists = conn.execute(sa.select(t.snapshots.c.id).where(t.snapshots.c.id == id)).first()
    if exists:
        conn.execute(t.snapshots.update().where(t.snapshots.c.id == id).values(is_current=True))
    else:
        conn.execute(
            t.snapshots.insert().values(
                id=id,
                created_at=now(),
                path=path,
                source=source,
                taxpayers=taxpayers,
                addresses=addresses,
                content_sha256=content_sha256,
                is_current=True,
            )
        )
    return get_snapshot(conn, id)


def get_snapshot(conn: Connection, id: str | None = None) -> StoredSnapshot:
    """The snapshot ``id``, or the current one when ``id`` is None."""
    q = sa.select(t.snapshots)
    q = q.where(t.snapshots.c.id == id) if id else q.where(t.snapshots.c.is_current.is_(True))
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(
            f"no register snapshot {id}"
            if id
            else "no register snapshot yet; run `ftigate register ingest DIR` first"
        )
    return _snapshot(row)


def set_snapshot_model(conn: Connection, id: str, model_path: str, model_sha256: str) -> None:
    conn.execute(
        t.snapshots.update()
        .where(t.snapshots.c.id == id)
        .values(model_path=model_path, model_sha256=model_sha256, trained_at=now())
    )


# --- batches and requests ---------------------------------------------------------------------

BATCH_RECEIVED = "RECEIVED"
BATCH_REFUSED = "REFUSED"
BATCH_MATCHED = "MATCHED"
BATCH_RELEASED = "RELEASED"


def insert_batch(conn: Connection, **values: Any) -> None:
    try:
        with conn.begin_nested():
            conn.execute(t.batches.insert().values(received_at=now(), **values))
    except SAIntegrityError as e:
        raise Conflict(
            f"batch {values.get('id')} was already submitted; a batch id is used once"
        ) from e


def get_batch(conn: Connection, batch_id: str) -> Mapping[str, Any]:
    row = conn.execute(sa.select(t.batches).where(t.batches.c.id == batch_id)).mappings().first()
    if row is None:
        raise NotFound(f"no batch {batch_id}")
    return dict(row)


def list_batches(conn: Connection, requester: str | None = None) -> list[Mapping[str, Any]]:
    q = sa.select(t.batches).order_by(t.batches.c.received_at)
    if requester is not None:
        q = q.where(t.batches.c.requester == requester)
    return [dict(r) for r in conn.execute(q).mappings()]


def update_batch(conn: Connection, batch_id: str, **values: Any) -> None:
    conn.execute(t.batches.update().where(t.batches.c.id == batch_id).values(**values))


_REQUEST_FIELDS = tuple(f.name for f in fields(Request))


def _request_json(r: Request) -> str:
    """A request's fields as JSON (all are plain strings and the line number, so no deep copy
    as ``dataclasses.asdict`` would make: it took a fifth of a 200k-row submit)."""
    return json.dumps({name: getattr(r, name) for name in _REQUEST_FIELDS}, ensure_ascii=False)


def insert_requests(
    conn: Connection,
    batch_id: str,
    rows: Sequence[Request],
    findings: Mapping[int, Sequence[Finding]],
) -> None:
    if not rows:
        return
    conn.execute(
        t.requests.insert(),
        [
            {
                "batch_id": batch_id,
                "line": r.line,
                "request_id": r.request_id,
                "row_json": _request_json(r),
                "findings_json": json.dumps(
                    [
                        {"code": str(f.code), "message": f.message, "field": f.field}
                        for f in findings.get(r.line, ())
                    ]
                ),
            }
            for r in rows
        ],
    )


def load_requests(conn: Connection, batch_id: str) -> list[tuple[Request, tuple[Finding, ...]]]:
    rows = conn.execute(
        sa.select(t.requests.c.row_json, t.requests.c.findings_json)
        .where(t.requests.c.batch_id == batch_id)
        .order_by(t.requests.c.line)
    )
    out = []
    for row_json, findings_json in rows:
        req = Request(**json.loads(row_json))
        # most rows have no findings: "[]" needs no decoding (200k rows: 0.8 s of 3.7 s)
        found = (
            tuple(
                Finding(RefusalCode(f["code"]), f["message"], f["field"])
                for f in json.loads(findings_json)
            )
            if findings_json != "[]"
            else ()
        )
        out.append((req, found))
    return out


# --- decisions, reviews, releases -------------------------------------------------------------


def _decision_row(batch_id: str, line: int, d: Decision, at: datetime) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "line": line,
        "request_id": d.request_id,
        "outcome": str(d.outcome),
        "reason": str(d.reason) if d.reason else None,
        "refusal_codes": ";".join(str(c) for c in d.refusal_codes),
        "tin": d.tin,
        "probability": d.probability,
        "runner_up_probability": d.runner_up_probability,
        "rules_json": json.dumps(list(d.rules)),
        "decided_at": at,
    }


def insert_decisions(
    conn: Connection, batch_id: str, decisions: Iterable[tuple[int, Decision]]
) -> int:
    at = now()
    rows = [_decision_row(batch_id, line, d, at) for line, d in decisions]
    if rows:
        conn.execute(t.decisions.insert(), rows)
    return len(rows)


@dataclass(frozen=True)
class StoredDecision:
    line: int
    decision: Decision
    final_outcome: Outcome | None
    final_reason: Reason | None
    leaf_index: int | None
    decided_at: datetime


def load_decisions(conn: Connection, batch_id: str) -> list[StoredDecision]:
    rows = conn.execute(
        sa.select(t.decisions)
        .where(t.decisions.c.batch_id == batch_id)
        .order_by(t.decisions.c.line)
    )
    out = []
    for r in rows:
        d = Decision(
            request_id=r.request_id,
            outcome=Outcome(r.outcome),
            reason=Reason(r.reason) if r.reason else None,
            refusal_codes=tuple(RefusalCode(c) for c in r.refusal_codes.split(";") if c),
            tin=r.tin,
            probability=r.probability,
            runner_up_probability=r.runner_up_probability,
            rules=tuple(json.loads(r.rules_json)),
        )
        out.append(
            StoredDecision(
                r.line,
                d,
                Outcome(r.final_outcome) if r.final_outcome else None,
                Reason(r.final_reason) if r.final_reason else None,
                r.leaf_index,
                _aware(r.decided_at),
            )
        )
    return out


def finalise_decisions(
    conn: Connection, batch_id: str, finals: Sequence[tuple[int, Outcome, Reason | None, int]]
) -> None:
    """Record (line, final outcome, final reason, leaf index) for each decision of a release."""
    if not finals:
        return
    stmt = (
        t.decisions.update()
        .where(
            t.decisions.c.batch_id == sa.bindparam("b_batch"),
            t.decisions.c.line == sa.bindparam("b_line"),
        )
        .values(
            final_outcome=sa.bindparam("b_outcome"),
            final_reason=sa.bindparam("b_reason"),
            leaf_index=sa.bindparam("b_leaf"),
        )
    )
    conn.execute(
        stmt,
        [
            {
                "b_batch": batch_id,
                "b_line": line,
                "b_outcome": str(o),
                "b_reason": str(r) if r else None,
                "b_leaf": leaf,
            }
            for line, o, r, leaf in finals
        ],
    )


@dataclass(frozen=True)
class Review:
    line: int  # 0: the batch-level sign-off
    officer: str
    action: str  # approve | withhold | approve_batch
    note: str | None
    at: datetime


def insert_reviews(
    conn: Connection, batch_id: str, reviews: Sequence[tuple[int, str, str, str | None]]
) -> None:
    """(line, officer, action, note) rows; line 0 is the officer's sign-off of the whole batch."""
    at = now()
    if reviews:
        conn.execute(
            t.reviews.insert(),
            [
                {
                    "batch_id": batch_id,
                    "line": line,
                    "officer": officer,
                    "action": action,
                    "note": note,
                    "at": at,
                }
                for line, officer, action, note in reviews
            ],
        )


def load_reviews(conn: Connection, batch_id: str) -> list[Review]:
    rows = conn.execute(
        sa.select(t.reviews).where(t.reviews.c.batch_id == batch_id).order_by(t.reviews.c.id)
    )
    return [Review(r.line, r.officer, r.action, r.note, _aware(r.at)) for r in rows]


def insert_release(
    conn: Connection,
    batch_id: str,
    officer: str,
    first_leaf: int,
    leaf_count: int,
    checkpoint_size: int,
) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                t.releases.insert().values(
                    batch_id=batch_id,
                    officer=officer,
                    at=now(),
                    first_leaf=first_leaf,
                    leaf_count=leaf_count,
                    checkpoint_size=checkpoint_size,
                )
            )
    except SAIntegrityError as e:
        raise Conflict(f"batch {batch_id} was already released") from e


def get_release(conn: Connection, batch_id: str) -> Mapping[str, Any]:
    row = (
        conn.execute(sa.select(t.releases).where(t.releases.c.batch_id == batch_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"batch {batch_id} has not been released")
    return dict(row)


# --- audit ------------------------------------------------------------------------------------


def record_audit(
    conn: Connection,
    *,
    principal: str,
    event_type: str,
    outcome: str,
    origin: str,
    object: str,
    detail: str | None = None,
) -> None:
    """An audit event in the Publication 1075 shape; callers never put FTI in ``detail``."""
    conn.execute(
        t.audit_events.insert().values(
            at=now(),
            principal=principal,
            event_type=event_type,
            outcome=outcome,
            origin=origin,
            object=object,
            detail=detail,
        )
    )


def audit_events(conn: Connection, since: datetime | None = None) -> list[Mapping[str, Any]]:
    q = sa.select(t.audit_events).order_by(t.audit_events.c.id)
    if since is not None:
        q = q.where(t.audit_events.c.at >= since)
    return [dict(r) for r in conn.execute(q).mappings()]


def purge_audit_before(conn: Connection, cutoff: datetime) -> int:
    """Retention: audit events older than the retention period are the only rows ever removed."""
    result = conn.execute(t.audit_events.delete().where(t.audit_events.c.at < cutoff))
    return int(result.rowcount or 0)
