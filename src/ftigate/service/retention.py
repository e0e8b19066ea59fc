"""The audit trail: list it in the Publication 1075 shape, and purge it after its retention.

IRS Publication 1075 asks that audit records say *when*, *who*, *what kind of event*, *whether
it succeeded*, *from where* and *on what object*, that they carry no FTI, and that they be kept
for the retention period (ftigate's default is 7 years: ``FTIGATE_AUDIT_RETENTION_DAYS``).

Audit events are the only rows ftigate ever deletes, and only here: ledger leaves record
decisions and are never purged, whatever their age. A purge removes the events older than
*now − retention* and is itself an audit event (written in the same transaction, so it is never
older than the cutoff and survives the purge it records).

Example::

    since = datetime(2026, 1, 1, tzinfo=UTC)
    events = list_audit_events(gw, Principal.local("auditor"), since=since)
    result = purge_audit_events(gw, Principal.local("admin"))  # result.purged, result.cutoff
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftigate.errors import InputError
from ftigate.service import accounts as acc
from ftigate.service.context import Gateway, Principal
from ftigate.store import repo
from ftigate.store import tables as t

AUDIT_READERS = (acc.AUDITOR, acc.ADMIN)
AUDIT_PURGERS = (acc.ADMIN, "system")
PUB1075_COLUMNS = ("time", "principal", "event_type", "outcome", "origin", "object", "detail")
"""The shape of an audit record: the six Publication 1075 elements and a FTI-free detail."""


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: datetime
    principal: str
    event_type: str
    outcome: str
    origin: str
    object: str
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.astimezone(UTC).isoformat(),
            "principal": self.principal,
            "event_type": self.event_type,
            "outcome": self.outcome,
            "origin": self.origin,
            "object": self.object,
            "detail": self.detail,
        }


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        int(row["id"]),
        repo._aware(row["at"]),
        row["principal"],
        row["event_type"],
        row["outcome"],
        row["origin"],
        row["object"],
        row["detail"],
    )


def list_audit_events(
    gw: Gateway, principal: Principal, since: datetime | None = None
) -> list[AuditEvent]:
    """Audit events at or after ``since`` (all when None), oldest first. Reading the trail is
    itself recorded (after the read, so the list shows the events before it)."""
    obj = "audit_events" if since is None else f"audit_events:since:{since.isoformat()}"
    acc.authorize(gw, principal, AUDIT_READERS, "AUDIT_READ", obj)
    rows = gw.audited(
        principal, "AUDIT_READ", obj, lambda conn: repo.audit_events(conn, since=since)
    )
    return [_event(r) for r in rows]


@dataclass(frozen=True)
class PurgeResult:
    retention_days: int
    cutoff: datetime
    purged: int
    dry_run: bool


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Events strictly before this instant are past retention.

    >>> retention_cutoff(datetime(2032, 1, 10, tzinfo=UTC), 7).isoformat()
    '2032-01-03T00:00:00+00:00'
    """
    if days < 1:
        raise InputError(
            f"FTIGATE_AUDIT_RETENTION_DAYS is {days}; it must be at least 1 "
            "(Publication 1075 expects 7 years, 2557 days)",
            field="FTIGATE_AUDIT_RETENTION_DAYS",
        )
    return now - timedelta(days=days)


def _count_before(conn: Connection, cutoff: datetime) -> int:
    q = sa.select(sa.func.count()).select_from(t.audit_events).where(t.audit_events.c.at < cutoff)
    return int(conn.execute(q).scalar_one())


def purge_audit_events(
    gw: Gateway, principal: Principal, *, now: datetime | None = None, dry_run: bool = False
) -> PurgeResult:
    """Delete audit events older than the retention period (administrators only).

    The purge event's detail says the retention, the cutoff and how many events were due, so
    the trail itself shows what was removed and why.
    """
    days = gw.settings.audit_retention_days
    cutoff = retention_cutoff(now or datetime.now(UTC), days)
    obj = "audit_events"
    acc.authorize(gw, principal, AUDIT_PURGERS, "AUDIT_PURGE", obj)
    with gw.reading() as conn:
        due = _count_before(conn, cutoff)
    detail = f"retention_days={days}; before={cutoff.isoformat()}; events={due}" + (
        "; dry run" if dry_run else ""
    )

    def run(conn: Connection) -> int:
        return _count_before(conn, cutoff) if dry_run else repo.purge_audit_before(conn, cutoff)

    purged = gw.audited(principal, "AUDIT_PURGE", obj, run, detail=detail)
    return PurgeResult(days, cutoff, purged, dry_run)
