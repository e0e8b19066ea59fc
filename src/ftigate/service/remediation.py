"""Remediation of a wrong release: new ledger leaves, never an edit or a deletion.

A disclosure found wrong (the wrong person, a request that did not meet the statute, a court
order) cannot be called back, and the ledger must go on saying that it happened. What the gateway
can do is record that it was wrong, tell the recipient to dispose of what it received, and record
the recipient's signed acknowledgement. Each step is one leaf that refers to the disclosure's
leaf D (``remediates = D``) and is written with a new signed checkpoint in one transaction:

1. ``ERRONEOUS_RELEASE`` (an officer): which disclosure and why. Only a DISCLOSE decision can be
   one, and only once.
2. ``DISPOSAL_NOTICE`` (an officer, after 1): a notice file for the recipient, signed with the
   gateway's key; the leaf records the notice's SHA-256, binding the file to the log.
3. ``DISPOSAL_ACK`` (after 2): the recipient's acknowledgement, signed by one of the requester's
   signers named in the agreement; the leaf records who signed and the SHA-256 of what they sent.

Every remediation leaf copies D's batch, request, line, agreement, statute and TIN HMAC, so
``ftigate accounting --tin`` lists it under the taxpayer next to the disclosure it corrects.
Its ``releaser`` names who answers for the leaf: the officer (1, 2) or the recipient's signer (3).

The acknowledgement (``ftigate-disposal-ack/1``) is a JSON file ``{"ack": {...}, "signature":
"<base64>"}`` whose signature is Ed25519 over the RFC 8785 canonical bytes of ``ack``; the
requester makes it with ``ftigate remediate sign-ack`` (:func:`sign_disposal_ack`).

Example (the recipient's side, given the notice it received)::

    ack = build_disposal_ack(notice_bytes, signer="Demo Requester Signer 1",
                             disposed_at=datetime.now(UTC), statement="all copies destroyed")
    Path("ack.json").write_bytes(sign_disposal_ack(ack, load_private_key(key_path)))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from ftigate.errors import AuthError, Conflict, Forbidden, InputError, NotFound
from ftigate.keys import public_key_from_raw, verify_signature
from ftigate.ledger import log as ledger_log
from ftigate.ledger.leaf import REMEDIATION_KINDS, LedgerRecord, RecordKind, utc_timestamp
from ftigate.model import Agreement, Outcome
from ftigate.policy.agreement import parse_agreement
from ftigate.service import accounts as acc
from ftigate.service.context import SOFTWARE_VERSION, Gateway, Principal
from ftigate.store import repo
from ftigate.store.files import write_atomic
from ftigate.store.ledger_tables import ledger_head

NOTICE_FORMAT = "ftigate-disposal-notice/1"
ACK_FORMAT = "ftigate-disposal-ack/1"
ACK_KEYS = frozenset(
    {"format", "notice_sha256", "batch_id", "request_id", "disclosure_leaf", "signer"}
    | {"disposed_at", "statement"}
)
NOTICE_INSTRUCTION = (
    "The information released in answer to this request was disclosed in error. Do not use it. "
    "Destroy every copy of it, in every system and medium it reached, and return an "
    "acknowledgement (format ftigate-disposal-ack/1) that names this notice's SHA-256 and is "
    "signed by a signer the agreement authorises."
)
ACK_SENDERS = (acc.OFFICER, acc.ADMIN, "system", acc.REQUESTER)
"""Who may hand in an acknowledgement: the IRS staff who received it, or the requester itself.
The signature, not the sender, is what proves the recipient acknowledged."""

_TIN_LIKE = re.compile(r"(?<!\d)\d{3}[- ]?\d{2}[- ]?\d{4}(?!\d)")
_NOTICE_SHA = re.compile(r"notice sha256:([0-9a-f]{64})")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_REASON = 1000


# --- the chain of one disclosure ------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """A disclosure's leaf and the remediation leaves that refer to it (``None``: not yet)."""

    disclosure: tuple[int, LedgerRecord]
    erroneous: tuple[int, LedgerRecord] | None = None
    notice: tuple[int, LedgerRecord] | None = None
    ack: tuple[int, LedgerRecord] | None = None

    @property
    def index(self) -> int:
        return self.disclosure[0]

    @property
    def record(self) -> LedgerRecord:
        return self.disclosure[1]

    @property
    def notice_sha256(self) -> str | None:
        if self.notice is None:
            return None
        m = _NOTICE_SHA.search(self.notice[1].remediation_reason or "")
        return m.group(1) if m else None

    def to_json(self) -> dict[str, Any]:
        def step(leaf: tuple[int, LedgerRecord] | None) -> dict[str, Any] | None:
            if leaf is None:
                return None
            i, r = leaf
            return {"leaf": i, "time": r.time, "by": r.releaser, "detail": r.remediation_reason}

        return {
            "batch_id": self.record.batch_id,
            "request_id": self.record.request_id,
            "disclosure_leaf": self.index,
            "disclosed_at": self.record.time,
            "erroneous_release": step(self.erroneous),
            "disposal_notice": step(self.notice),
            "disposal_ack": step(self.ack),
        }


def load_chain(
    conn: Connection, batch_id: str, request_id: str, leaf_index: int | None = None
) -> Chain:
    """The disclosure of ``request_id`` in ``batch_id`` and its remediations.

    Raises NotFound when the request has no leaf, Conflict when its decision is not a
    disclosure (nothing was released, so nothing can be remediated), and InputError when the
    request id names several disclosures and ``leaf_index`` does not say which.
    """
    leaves = [(i, ledger_log.load_leaf(conn, i).record) for i in
              ledger_log.find_leaves(conn, batch_id, request_id)]  # fmt: skip
    decisions = [(i, r) for i, r in leaves if r.kind is RecordKind.DECISION]
    if leaf_index is not None:
        decisions = [(i, r) for i, r in decisions if i == leaf_index]
        if not decisions:
            raise NotFound(f"leaf {leaf_index} is not a decision on {request_id!r} of {batch_id!r}")
    disclosures = [(i, r) for i, r in decisions if r.outcome is Outcome.DISCLOSE]
    if not disclosures:
        i, r = decisions[0]
        raise Conflict(
            f"leaf {i} records {r.outcome} for request {request_id!r}, not a disclosure; "
            "only a DISCLOSE can be an erroneous release"
        )
    if len(disclosures) > 1:
        raise InputError(
            f"request {request_id!r} of {batch_id!r} has disclosures at leaves "
            f"{[i for i, _ in disclosures]}; name one with --leaf"
        )
    index = disclosures[0][0]
    found: dict[RecordKind, tuple[int, LedgerRecord]] = {}
    for i, r in leaves:
        if r.kind in REMEDIATION_KINDS and r.remediates == index:
            found.setdefault(r.kind, (i, r))
    return Chain(
        disclosures[0],
        found.get(RecordKind.ERRONEOUS_RELEASE),
        found.get(RecordKind.DISPOSAL_NOTICE),
        found.get(RecordKind.DISPOSAL_ACK),
    )


def remediation_record(
    chain: Chain, kind: RecordKind, why: str, by: str, at: datetime | None = None
) -> LedgerRecord:
    """A remediation leaf for ``chain``'s disclosure, carrying its person's TIN HMAC."""
    d = chain.record
    return LedgerRecord(
        kind=kind,
        batch_id=d.batch_id,
        request_id=d.request_id,
        line=d.line,
        agreement_id=d.agreement_id,
        agreement_sha256=d.agreement_sha256,
        statute=d.statute,
        time=utc_timestamp(at or datetime.now(UTC)),
        software_version=SOFTWARE_VERSION,
        releaser=by,
        tin_hmac=d.tin_hmac,
        remediates=chain.index,
        remediation_reason=why,
    )


@dataclass(frozen=True)
class RemediationResult:
    kind: RecordKind
    leaf_index: int
    remediates: int
    checkpoint: str
    files: tuple[Path, ...] = ()


def _lock_ledger(conn: Connection) -> None:
    # Write to the head row before reading anything, so that two officers remediating the same
    # disclosure at once take turns: a row lock on PostgreSQL, the write lock on SQLite (taken
    # before this transaction has read, so it waits instead of failing on a stale snapshot).
    # The second then sees the first's leaf and is refused.
    conn.execute(ledger_head.update().where(ledger_head.c.id == 1).values(size=ledger_head.c.size))


def _append(gw: Gateway, conn: Connection, record: LedgerRecord) -> tuple[int, str]:
    index = ledger_log.append(conn, [record])
    return index, ledger_log.sign_checkpoint(conn, gw.signing_key, gw.settings.log_origin)


def _obj(batch_id: str, request_id: str) -> str:
    return f"batch:{batch_id}:request:{request_id}"[:200]


def check_reason(reason: str) -> str:
    """The officer's reason, fit for a permanent public-to-overseers record (no FTI).

    >>> check_reason("  wrong person: twin sibling  ")
    'wrong person: twin sibling'
    """
    text = " ".join(reason.split())
    if not text:
        raise InputError("a reason is required: why the release was wrong", field="reason")
    if len(text) > MAX_REASON:
        raise InputError(f"the reason has {len(text)} characters; at most {MAX_REASON}")
    if _TIN_LIKE.search(text):
        raise InputError(
            "the reason looks like it holds a TIN; the ledger is permanent and carries no FTI: "
            "describe the error, not the person",
            field="reason",
        )
    return text


# --- 1. erroneous release -------------------------------------------------------------------


def mark_erroneous_release(
    gw: Gateway,
    principal: Principal,
    batch_id: str,
    request_id: str,
    reason: str,
    leaf_index: int | None = None,
) -> RemediationResult:
    """Record that a disclosure was wrong (officers only; once per disclosure)."""
    obj = _obj(batch_id, request_id)
    acc.authorize(gw, principal, (acc.OFFICER,), "REMEDIATE_ERRONEOUS_RELEASE", obj)
    why = check_reason(reason)

    def run(conn: Connection) -> RemediationResult:
        _lock_ledger(conn)
        chain = load_chain(conn, batch_id, request_id, leaf_index)
        if chain.erroneous is not None:
            raise Conflict(
                f"leaf {chain.index} was already recorded as an erroneous release "
                f"(leaf {chain.erroneous[0]})"
            )
        record = remediation_record(chain, RecordKind.ERRONEOUS_RELEASE, why, principal.name)
        index, checkpoint = _append(gw, conn, record)
        return RemediationResult(record.kind, index, chain.index, checkpoint)

    return gw.audited(principal, "REMEDIATE_ERRONEOUS_RELEASE", obj, run)


# --- 2. disposal notice ---------------------------------------------------------------------


def _agreement_of(conn: Connection, record: LedgerRecord, newest: bool = False) -> Agreement:
    """The agreement version a leaf was decided under (or the newest version of it)."""
    versions = [a for a in repo.list_agreements(conn) if a.id == record.agreement_id]
    if not newest:
        versions = [a for a in versions if a.sha256 == record.agreement_sha256] or versions
    if not versions:
        raise NotFound(f"no agreement {record.agreement_id} is on file")
    stored = versions[-1]
    return parse_agreement(stored.yaml_text, f"store:{stored.id}:{stored.version}")


def notice_bytes(
    chain: Chain, agreement: Agreement, leaf_hash: bytes, officer: str, issued_at: str, origin: str
) -> bytes:
    """The notice the recipient receives: which answer to destroy, and how to acknowledge.

    It names the fields released, never their values, and not the internal reason.
    """
    assert chain.erroneous is not None
    d = chain.record
    body = {
        "format": NOTICE_FORMAT,
        "to": agreement.requesting_agency,
        "from": agreement.disclosing_agency,
        "agreement_id": d.agreement_id,
        "agreement_sha256": d.agreement_sha256,
        "batch_id": d.batch_id,
        "request_id": d.request_id,
        "disclosed_at": d.time,
        "fields_disclosed": list(d.fields_disclosed),
        "disclosure_leaf": chain.index,
        "disclosure_leaf_hash": base64.b64encode(leaf_hash).decode(),
        "erroneous_release_leaf": chain.erroneous[0],
        "log_origin": origin,
        "issued_at": issued_at,
        "issued_by": officer,
        "instruction": NOTICE_INSTRUCTION,
    }
    return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def notice_path(out: Path, batch_id: str, request_id: str) -> Path:
    """``out/disposal-notice-<batch>-<request>.json`` (ids reduced to safe file characters)."""
    return out / f"disposal-notice-{_SAFE.sub('_', batch_id)}-{_SAFE.sub('_', request_id)}.json"


def issue_disposal_notice(
    gw: Gateway,
    principal: Principal,
    batch_id: str,
    request_id: str,
    out: Path,
    leaf_index: int | None = None,
) -> RemediationResult:
    """Write the signed notice into ``out`` and append its DISPOSAL_NOTICE leaf (officers only).

    The files are written inside the transaction, so a failed write leaves no leaf; a notice
    file without a leaf (the commit failed after the write) is harmless, because an
    acknowledgement must name the SHA-256 a leaf recorded.
    """
    obj = _obj(batch_id, request_id)
    acc.authorize(gw, principal, (acc.OFFICER,), "REMEDIATE_DISPOSAL_NOTICE", obj)
    key = gw.signing_key  # fail before any write if the key is missing

    def run(conn: Connection) -> RemediationResult:
        _lock_ledger(conn)
        chain = load_chain(conn, batch_id, request_id, leaf_index)
        if chain.erroneous is None:
            raise Conflict(
                f"leaf {chain.index} is not recorded as an erroneous release; run "
                "`ftigate remediate erroneous-release` first"
            )
        if chain.notice is not None:
            raise Conflict(f"a disposal notice was already issued (leaf {chain.notice[0]})")
        agreement = _agreement_of(conn, chain.record)
        at = datetime.now(UTC)
        data = notice_bytes(
            chain,
            agreement,
            ledger_log.load_leaf(conn, chain.index).leaf_hash,
            principal.name,
            utc_timestamp(at),
            gw.settings.log_origin,
        )
        digest = hashlib.sha256(data).hexdigest()
        why = f"disposal notice sha256:{digest} to {agreement.requesting_agency}"
        record = remediation_record(chain, RecordKind.DISPOSAL_NOTICE, why, principal.name, at)
        index, checkpoint = _append(gw, conn, record)
        path = notice_path(out, batch_id, request_id)
        sig = path.with_name(path.name + ".sig")
        write_atomic(path, data)
        write_atomic(sig, base64.b64encode(key.sign(data)) + b"\n")
        return RemediationResult(record.kind, index, chain.index, checkpoint, (path, sig))

    return gw.audited(principal, "REMEDIATE_DISPOSAL_NOTICE", obj, run)


# --- 3. the recipient's acknowledgement -----------------------------------------------------


def build_disposal_ack(
    notice: bytes, *, signer: str, disposed_at: datetime, statement: str
) -> dict[str, Any]:
    """The acknowledgement body for a notice the recipient received (pure)."""
    try:
        body = json.loads(notice)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"the notice is not JSON: {e}") from e
    if not isinstance(body, dict) or body.get("format") != NOTICE_FORMAT:
        raise InputError(f"the notice is not a {NOTICE_FORMAT} document")
    return {
        "format": ACK_FORMAT,
        "notice_sha256": hashlib.sha256(notice).hexdigest(),
        "batch_id": body["batch_id"],
        "request_id": body["request_id"],
        "disclosure_leaf": body["disclosure_leaf"],
        "signer": signer,
        "disposed_at": utc_timestamp(disposed_at),
        "statement": " ".join(statement.split()),
    }


def sign_disposal_ack(ack: Mapping[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The acknowledgement file: the body and an Ed25519 signature over its RFC 8785 bytes."""
    signature = key.sign(rfc8785.dumps(dict(ack)))
    doc = {"ack": dict(ack), "signature": base64.b64encode(signature).decode()}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse_disposal_ack(data: bytes, source: str = "ack") -> tuple[dict[str, Any], bytes]:
    """(body, signature) of an acknowledgement file; InputError naming every problem."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{source} is not JSON: {e}", file=source) from e
    if not isinstance(doc, dict) or set(doc) != {"ack", "signature"}:
        raise InputError(f"{source} must hold exactly 'ack' and 'signature'", file=source)
    ack, sig = doc["ack"], doc["signature"]
    if not isinstance(ack, dict) or set(ack) != ACK_KEYS:
        got = sorted(ack) if isinstance(ack, dict) else []
        raise InputError(
            f"{source}: 'ack' must hold exactly {sorted(ACK_KEYS)}, not {got}", file=source
        )
    if ack["format"] != ACK_FORMAT:
        raise InputError(f"{source}: format must be {ACK_FORMAT}", file=source, field="format")
    if not isinstance(ack["disclosure_leaf"], int) or any(
        not isinstance(ack[k], str) for k in ACK_KEYS - {"disclosure_leaf"}
    ):
        raise InputError(f"{source}: disclosure_leaf is an integer, the rest are strings")
    try:
        signature = base64.b64decode(sig, validate=True) if isinstance(sig, str) else b""
    except (binascii.Error, ValueError):
        signature = b""
    return ack, signature


def verify_disposal_ack(data: bytes, chain: Chain, agreement: Agreement) -> dict[str, Any]:
    """Check an acknowledgement against the chain and the agreement's signers; return its body.

    InputError: malformed, or about another request or notice. Forbidden: the signer is not
    one the agreement authorises. AuthError: the signature does not verify with their key.
    """
    ack, signature = parse_disposal_ack(data)
    want = {
        "batch_id": chain.record.batch_id,
        "request_id": chain.record.request_id,
        "disclosure_leaf": chain.index,
        "notice_sha256": chain.notice_sha256,
    }
    wrong = [k for k, v in want.items() if ack[k] != v]
    if wrong:
        raise InputError(
            "the acknowledgement does not answer this disposal notice: "
            + ", ".join(f"{k} is {ack[k]!r}, the ledger has {want[k]!r}" for k in wrong)
        )
    signer = next((s for s in agreement.signers if s.name == ack["signer"]), None)
    if signer is None:
        raise Forbidden(
            f"{ack['signer']!r} is not among the signers agreement {agreement.id} authorises"
        )
    key = public_key_from_raw(signer.public_key, f"signer {signer.name}")
    if not verify_signature(key, signature, rfc8785.dumps(ack)):
        raise AuthError(f"the acknowledgement's signature does not verify with {signer.name}'s key")
    return ack


def record_disposal_ack(
    gw: Gateway,
    principal: Principal,
    batch_id: str,
    request_id: str,
    data: bytes,
    leaf_index: int | None = None,
) -> RemediationResult:
    """Verify the recipient's signed acknowledgement and append its DISPOSAL_ACK leaf."""
    obj = _obj(batch_id, request_id)
    acc.authorize(gw, principal, ACK_SENDERS, "REMEDIATE_DISPOSAL_ACK", obj)

    if principal.role == acc.REQUESTER:  # another agency's request does not exist for it
        with gw.reading() as conn:
            acc.visible_batch(gw, conn, principal, batch_id, "REMEDIATE_DISPOSAL_ACK")

    def run(conn: Connection) -> RemediationResult:
        _lock_ledger(conn)
        chain = load_chain(conn, batch_id, request_id, leaf_index)
        if chain.notice is None:
            raise Conflict(
                f"no disposal notice was issued for leaf {chain.index}; nothing to acknowledge"
            )
        if chain.ack is not None:
            raise Conflict(f"disposal was already acknowledged (leaf {chain.ack[0]})")
        # the signers authorised now: an acknowledgement is signed today, by today's officials
        agreement = _agreement_of(conn, chain.record, newest=True)
        ack = verify_disposal_ack(data, chain, agreement)
        why = (
            f"disposal acknowledged at {ack['disposed_at']}; ack sha256:"
            f"{hashlib.sha256(data).hexdigest()}; notice sha256:{chain.notice_sha256}"
        )
        record = remediation_record(chain, RecordKind.DISPOSAL_ACK, why, str(ack["signer"]))
        index, checkpoint = _append(gw, conn, record)
        return RemediationResult(record.kind, index, chain.index, checkpoint)

    return gw.audited(principal, "REMEDIATE_DISPOSAL_ACK", obj, run)


def remediation_status(
    gw: Gateway,
    principal: Principal,
    batch_id: str,
    request_id: str,
    leaf_index: int | None = None,
) -> Chain:
    """Where a disclosure's remediation stands (IRS roles)."""
    obj = _obj(batch_id, request_id)
    acc.authorize(gw, principal, (acc.OFFICER, acc.AUDITOR, acc.ADMIN), "REMEDIATE_STATUS", obj)
    return gw.audited(
        principal,
        "REMEDIATE_STATUS",
        obj,
        lambda conn: load_chain(conn, batch_id, request_id, leaf_index),
    )
