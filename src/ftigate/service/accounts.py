"""API accounts and access: create, list, disable, rotate; authenticate a token; authorise.

An account is a person or an agency system that calls the HTTP API. Its role decides which use
cases it may call; a requester's ``agency`` decides which batches it may see. The token is shown
once, when it is made, and only its SHA-256 is stored.

Authorisation has two halves, and both leave audit events when they say no:

* the *role* (:func:`authorize`): a requester may not review, an auditor may not read a
  response, and so on - a 403;
* the *ownership* (:func:`visible_batch`): a requester sees only batches under agreements whose
  requesting agency is its own. Another agency's batch is a 404 with the same message as a batch
  that does not exist, so a requester cannot learn which batch ids exist; the audit event says
  what really happened.

Example:
    >>> token = new_token()
    >>> token.startswith(TOKEN_PREFIX) and len(token_sha256(token)) == 64
    True
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from ftigate.errors import (
    AuthError,
    Conflict,
    Detail,
    Forbidden,
    FtigateError,
    NotFound,
    input_error,
)
from ftigate.policy.agreement import parse_agreement
from ftigate.service.context import Gateway, Principal, log
from ftigate.store import accounts as store
from ftigate.store import repo

REQUESTER, OFFICER, AUDITOR, ADMIN = "requester", "officer", "auditor", "admin"
ROLES: tuple[str, ...] = (REQUESTER, OFFICER, AUDITOR, ADMIN)
"""Roles an account can hold (``system`` is reserved for the gateway's own jobs)."""

TOKEN_PREFIX = "ftg_"  # noqa: S105 - a public prefix, not a secret
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_RECORDED = "audit_recorded"
ANONYMOUS = "anonymous"


# --- tokens ---------------------------------------------------------------------------------


def new_token() -> str:
    """A fresh bearer token: a recognisable prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- audit bookkeeping for denials ------------------------------------------------------------


def mark_recorded(error: BaseException) -> None:
    """Note on ``error`` that an audit event already records it (so the edge adds no second)."""
    setattr(error, _RECORDED, True)


def is_recorded(error: BaseException) -> bool:
    return bool(getattr(error, _RECORDED, False))


def record_denial(
    gw: Gateway,
    principal: Principal | None,
    event_type: str,
    obj: str,
    error: FtigateError,
    why: str | None = None,
    origin: str = "api",
) -> FtigateError:
    """Record a refused action in a transaction of its own; return ``error`` (marked) to raise.

    ``why`` is the internal truth (e.g. "batch of another agency") and goes to the audit trail
    only, never to the caller. It must not carry FTI.
    """
    detail = error.code if why is None else f"{error.code}: {why}"
    try:
        with gw.db.transaction() as conn:
            repo.record_audit(
                conn,
                principal=principal.name if principal else ANONYMOUS,
                event_type=event_type[:60],
                outcome="failure",
                origin=principal.origin if principal else origin,
                object=obj[:200],
                detail=detail,
            )
    except FtigateError:  # the store is down; the denial itself still stands
        log.exception("could not record denial of %s on %s", event_type, obj)
    mark_recorded(error)
    return error


# --- authentication ---------------------------------------------------------------------------


def authenticate(gw: Gateway, token: str | None, *, obj: str, origin: str = "api") -> Principal:
    """The principal holding ``token``; AuthError (recorded) when missing, unknown or disabled."""
    if not token:
        raise record_denial(
            gw,
            None,
            "AUTHENTICATE",
            obj,
            AuthError("a bearer token is required"),
            "no token",
            origin,
        )
    with gw.reading() as conn:
        account = store.find_by_token_hash(conn, token_sha256(token))
    if account is None:
        raise record_denial(
            gw,
            None,
            "AUTHENTICATE",
            obj,
            AuthError("the bearer token is not valid"),
            "unknown token",
            origin,
        )
    principal = Principal(account.name, account.role, origin, account.agency)
    if account.disabled:
        raise record_denial(
            gw,
            principal,
            "AUTHENTICATE",
            obj,
            AuthError(f"account {account.name} is disabled"),
            "account disabled",
        )
    return principal


def identify(gw: Gateway, token: str | None) -> str | None:
    """The account name a token belongs to, or None; no checks, no audit (for audit records
    of requests that failed before authentication, e.g. an unknown route)."""
    if not token:
        return None
    with gw.reading() as conn:
        account = store.find_by_token_hash(conn, token_sha256(token))
    return None if account is None else account.name


def authorize(
    gw: Gateway, principal: Principal, roles: tuple[str, ...], event_type: str, obj: str
) -> None:
    """Forbidden (recorded) unless ``principal`` holds one of ``roles``."""
    if principal.role not in roles:
        raise record_denial(
            gw,
            principal,
            event_type,
            obj,
            Forbidden(f"the {principal.role} role may not do this; it needs: {', '.join(roles)}"),
            f"role {principal.role}",
        )


# --- ownership --------------------------------------------------------------------------------


def same_agency(a: str | None, b: str | None) -> bool:
    """Exact equality, as intake compares them; a missing agency matches nothing."""
    return bool(a) and a == b


def batch_agency(conn: Connection, batch: Mapping[str, Any]) -> str | None:
    """The requesting agency of the batch's agreement, or None if no stored agreement is named."""
    if not batch.get("agreement_id"):
        return None
    try:
        stored = repo.get_agreement(conn, batch["agreement_id"], batch.get("agreement_version"))
    except NotFound:
        return None
    return _requesting_agency(
        stored.sha256, stored.yaml_text, f"store:{stored.id}:{stored.version}"
    )


@lru_cache(maxsize=256)
def _requesting_agency(sha256: str, yaml_text: str, source: str) -> str:
    # A stored agreement version never changes (its hash is its identity), so parse it once.
    return parse_agreement(yaml_text, source).requesting_agency


def may_see_batch(conn: Connection, principal: Principal, batch: Mapping[str, Any]) -> bool:
    """IRS roles see every batch's metadata; a requester only its own agency's batches."""
    if principal.role in (OFFICER, AUDITOR, ADMIN, "system"):
        return True
    if principal.role != REQUESTER:
        return False
    agency = batch_agency(conn, batch)
    if agency is not None:
        return same_agency(principal.agency, agency)
    # Refused before an agreement was known (AGREEMENT_UNKNOWN): whoever submitted it owns it.
    return batch.get("requester") in {principal.name, principal.agency} - {None}


def visible_batch(
    gw: Gateway, conn: Connection, principal: Principal, batch_id: str, event_type: str
) -> Mapping[str, Any]:
    """The batch, or NotFound (recorded) when it does not exist *or* the caller may not see it."""
    obj = f"batch:{batch_id}"
    try:
        batch = repo.get_batch(conn, batch_id)
    except NotFound as e:
        raise record_denial(gw, principal, event_type, obj, e, "no such batch") from None
    if not may_see_batch(conn, principal, batch):
        raise record_denial(
            gw,
            principal,
            event_type,
            obj,
            NotFound(f"no batch {batch_id}"),
            "batch of another agency",
        )
    return batch


def check_may_submit(gw: Gateway, principal: Principal, manifest: bytes) -> None:
    """A requester may submit only under an agreement whose requesting agency is its own.

    Only the agreement id is read here; a manifest that is not JSON, or names no stored
    agreement, is left to intake, which refuses it with its code and records the batch.
    """
    authorize(gw, principal, (REQUESTER,), "BATCH_SUBMIT", "batch:new")
    if not principal.agency:
        raise record_denial(
            gw,
            principal,
            "BATCH_SUBMIT",
            "batch:new",
            Forbidden(f"account {principal.name} has no agency; an administrator must set one"),
            "requester without agency",
        )
    try:
        agreement_id = json.loads(manifest.decode("utf-8")).get("agreement_id")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return
    if not isinstance(agreement_id, str):
        return
    with gw.reading() as conn:
        agency = batch_agency(conn, {"agreement_id": agreement_id})
    if agency is not None and not same_agency(principal.agency, agency):
        raise record_denial(
            gw,
            principal,
            "BATCH_SUBMIT",
            f"agreement:{agreement_id}",
            Forbidden(f"agency {principal.agency} is not the requesting agency of {agreement_id}"),
            "agreement of another agency",
        )


# --- account management -----------------------------------------------------------------------


def _require_admin(gw: Gateway, principal: Principal, event_type: str, obj: str) -> None:
    if principal.role not in (ADMIN, "system"):
        raise record_denial(
            gw,
            principal,
            event_type,
            obj,
            Forbidden("only an administrator manages accounts"),
            f"role {principal.role}",
            principal.origin,
        )


def validate_account(name: str, role: str, agency: str | None) -> str | None:
    """Check the fields of a new account (every problem at once); return the cleaned agency."""
    problems = []
    if not _NAME.fullmatch(name):
        problems.append(
            Detail(
                "a name is 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or "
                "digit",
                field="name",
            )
        )
    if role not in ROLES:
        problems.append(Detail(f"role must be one of {', '.join(ROLES)}", field="role"))
    agency = " ".join(agency.split()) if agency else None
    if role == REQUESTER and not agency:
        problems.append(Detail("a requester account needs its agency", field="agency"))
    if role != REQUESTER and agency:
        problems.append(Detail("only requester accounts carry an agency", field="agency"))
    if problems:
        raise input_error(f"account {name!r} is not valid", problems)
    return agency


def create_account(
    gw: Gateway, name: str, role: str, agency: str | None, principal: Principal
) -> tuple[store.StoredAccount, str]:
    """Create an account; returns it with its token, which is never shown again."""
    obj = f"account:{name}"
    _require_admin(gw, principal, "ACCOUNT_CREATE", obj)
    agency = validate_account(name, role, agency)
    token = new_token()

    def run(conn: Connection) -> store.StoredAccount:
        return store.insert_account(
            conn,
            name=name,
            role=role,
            agency=agency,
            token_sha256=token_sha256(token),
            principal=principal.name,
        )

    account = gw.audited(principal, "ACCOUNT_CREATE", obj, run, detail=f"role={role}")
    return account, token


def rotate_token(gw: Gateway, name: str, principal: Principal) -> str:
    """Replace an account's token (a lost or leaked one); returns the new token, shown once."""
    obj = f"account:{name}"
    _require_admin(gw, principal, "ACCOUNT_TOKEN_ROTATE", obj)
    token = new_token()
    gw.audited(
        principal,
        "ACCOUNT_TOKEN_ROTATE",
        obj,
        lambda conn: store.replace_token(conn, name, token_sha256(token)),
    )
    return token


def disable_account(gw: Gateway, name: str, principal: Principal) -> store.StoredAccount:
    """Disable an account at once. Accounts are never deleted (audit events name them)."""
    obj = f"account:{name}"
    _require_admin(gw, principal, "ACCOUNT_DISABLE", obj)
    if name == principal.name:
        raise record_denial(
            gw,
            principal,
            "ACCOUNT_DISABLE",
            obj,
            Conflict("an administrator cannot disable their own account"),
            "self",
            principal.origin,
        )
    return gw.audited(
        principal,
        "ACCOUNT_DISABLE",
        obj,
        lambda conn: store.disable_account(conn, name, principal.name),
    )


def list_accounts(gw: Gateway, principal: Principal) -> list[store.StoredAccount]:
    _require_admin(gw, principal, "ACCOUNT_LIST", "accounts")
    return gw.audited(principal, "ACCOUNT_LIST", "accounts", store.list_accounts)


def requesting_agencies(gw: Gateway) -> list[str]:
    """Requesting agencies of the stored agreements (to warn about a mistyped agency)."""
    with gw.reading() as conn:
        stored = repo.list_agreements(conn)
    names = {
        parse_agreement(s.yaml_text, f"store:{s.id}:{s.version}").requesting_agency for s in stored
    }
    return sorted(names)
