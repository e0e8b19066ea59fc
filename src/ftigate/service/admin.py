"""Administration: initialise the store and keys, load agreements, suspend and resume them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Connection

from ftigate.errors import Conflict, InputError
from ftigate.keys import generate_keypair, generate_secret
from ftigate.model import Agreement, AgreementStatus
from ftigate.policy.agreement import parse_agreement
from ftigate.service.context import Gateway, Principal
from ftigate.store import repo


@dataclass(frozen=True)
class InitResult:
    database: str
    revision: str
    created_keys: tuple[str, ...]


def init(gw: Gateway) -> InitResult:
    """Create or migrate the store; create the gateway signing key and TIN HMAC key if absent."""
    revision = gw.db.migrate()
    created = []
    key = gw.settings.gateway_key_path
    if not key.exists():
        generate_keypair(key, key.with_suffix(".pub"))
        created.append(str(key))
    hmac_key = gw.settings.tin_hmac_key_path
    if not hmac_key.exists():
        generate_secret(hmac_key)
        created.append(str(hmac_key))
    gw.settings.data_path.mkdir(parents=True, exist_ok=True)
    return InitResult(
        gw.db.engine.url.render_as_string(hide_password=True), revision, tuple(created)
    )


def load_agreement(gw: Gateway, path: Path, principal: Principal) -> tuple[Agreement, bool]:
    """Validate and store an agreement version. Returns (agreement, newly stored)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}", file=str(path)) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path} is not UTF-8", file=str(path), line=data[: e.start].count(b"\n") + 1
        ) from e
    return store_agreement(gw, parse_agreement(text, str(path)), text, principal)


def store_agreement(
    gw: Gateway, agreement: Agreement, text: str, principal: Principal
) -> tuple[Agreement, bool]:
    """Store a parsed agreement version with its exact text. Returns (agreement, newly stored)."""

    def run(conn: Connection) -> bool:
        return repo.insert_agreement(
            conn,
            id=agreement.id,
            version=agreement.version,
            sha256=agreement.sha256,
            title=agreement.title,
            requesting_agency=agreement.requesting_agency,
            yaml_text=text,
            principal=principal.name,
        )

    created = gw.audited(
        principal, "AGREEMENT_LOAD", f"agreement:{agreement.id}:{agreement.version}", run
    )
    return agreement, created


def effective_agreement(
    conn: Connection, agreement_id: str, version: int | None = None
) -> Agreement:
    """The stored agreement with the operator's newest status (suspension) applied."""
    stored = repo.get_agreement(conn, agreement_id, version)
    agreement = parse_agreement(stored.yaml_text, f"store:{agreement_id}:{stored.version}")
    event = repo.agreement_status(conn, agreement_id)
    if event is None:
        return agreement
    return replace(
        agreement,
        status=AgreementStatus(event.status),
        status_reason=event.reason,
        status_date=event.at.date(),
    )


def set_status(
    gw: Gateway, agreement_id: str, status: AgreementStatus, reason: str, principal: Principal
) -> Agreement:
    """Suspend (e.g. by court order) or resume an agreement, at once, for every later step."""
    if principal.role not in ("admin", "system"):
        from ftigate.errors import Forbidden

        raise Forbidden("only an administrator may suspend or resume an agreement")
    if not reason.strip():
        raise InputError("a reason is required", field="reason")

    def run(conn: Connection) -> Agreement:
        current = effective_agreement(conn, agreement_id)
        if current.status is status:
            raise Conflict(f"agreement {agreement_id} is already {status.value}")
        repo.set_agreement_status(conn, agreement_id, status.value, reason.strip(), principal.name)
        return replace(
            current, status=status, status_reason=reason.strip(), status_date=date.today()
        )

    return gw.audited(
        principal,
        f"AGREEMENT_{'SUSPEND' if status is AgreementStatus.SUSPENDED else 'RESUME'}",
        f"agreement:{agreement_id}",
        run,
    )
