"""The batch manifest, its signature, and the batch-level refusals (pure).

A batch arrives as three files: the requests file, ``manifest.json`` (which names the batch,
the agreement, the signer, the row count and the requests file's SHA-256) and ``manifest.sig``
(an Ed25519 signature over the exact bytes of ``manifest.json``). :func:`build_manifest` writes
the manifest as canonical JSON (RFC 8785), so the same inputs always give the same bytes, and
:func:`sign_manifest` signs them; ``ftigate batch sign`` is those two calls.

:func:`check_batch` returns every batch-level finding that can be evaluated, ordered by
:data:`BATCH_PRECEDENCE`; the first is the batch's refusal code. The order, and why:

1. ``AGREEMENT_UNKNOWN``: without the agreement there is no signer list, term or limit to check.
2. ``SIGNER_NOT_AUTHORIZED``: without an authorised signer there is no key to verify with.
3. ``SIGNATURE_INVALID``: the manifest is not the signer's; nothing it says can be trusted.
4. ``MANIFEST_MISMATCH``: the requests file (hash, row count) is not the one that was signed.
5. ``AGREEMENT_SUSPENDED``: a suspension (e.g. a court order) outranks the calendar.
6. ``AGREEMENT_EXPIRED``: received outside the term (dates compared in UTC, both ends inclusive).
7. ``RECIPIENT_SAFEGUARDS_OPEN``: a safeguard finding is open with no corrective action plan.
8. ``BATCH_TOO_LARGE``: more rows than the agreement allows.

Authenticity comes before standing: a batch nobody authorised is reported as such, not as
"expired". Checks that depend on an earlier one that failed are skipped (an unknown agreement
has no signers), the rest are all reported, so an operator sees every problem at once.

Example:
    >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    >>> key = Ed25519PrivateKey.generate()
    >>> data = build_manifest(batch_id="B1", agreement_id="irs-ice-2025",
    ...     submitted_at="2026-11-25T10:00:00Z", signer="A. Official",
    ...     requests_bytes=b"request_id\\nR1\\n", row_count=1)
    >>> parse_manifest(data, "manifest.json").row_count
    1
    >>> len(sign_manifest(data, key))
    64
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.errors import BatchRefused, Detail, InputError, RefusalCode
from ftigate.keys import public_key_from_raw, verify_signature
from ftigate.model import Agreement, AgreementStatus, Finding, Manifest

_R = RefusalCode
BATCH_PRECEDENCE: tuple[RefusalCode, ...] = (
    _R.AGREEMENT_UNKNOWN,
    _R.SIGNER_NOT_AUTHORIZED,
    _R.SIGNATURE_INVALID,
    _R.MANIFEST_MISMATCH,
    _R.AGREEMENT_SUSPENDED,
    _R.AGREEMENT_EXPIRED,
    _R.RECIPIENT_SAFEGUARDS_OPEN,
    _R.BATCH_TOO_LARGE,
)
"""Batch-level codes, most fundamental first; see the module docstring for why."""

MANIFEST_KEYS: tuple[str, ...] = (
    "batch_id", "agreement_id", "submitted_at", "signer", "row_count", "requests_sha256",
    "requests_file",
)  # fmt: skip
REQUESTS_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".jsonl", ".ndjson")
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def build_manifest(
    *,
    batch_id: str,
    agreement_id: str,
    submitted_at: datetime | str,
    signer: str,
    requests_bytes: bytes,
    row_count: int,
    requests_file: str = "requests.csv",
) -> bytes:
    """The canonical JSON bytes of a manifest for ``requests_bytes`` (validated as parsed)."""
    when = submitted_at
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise InputError("submitted_at needs a time zone", field="submitted_at")
        when = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
    data: bytes = rfc8785.dumps(
        {
            "batch_id": batch_id,
            "agreement_id": agreement_id,
            "submitted_at": when,
            "signer": signer,
            "row_count": row_count,
            "requests_sha256": hashlib.sha256(requests_bytes).hexdigest(),
            "requests_file": requests_file,
        }
    )
    parse_manifest(data, "manifest.json")  # the same rules as on receipt
    return data


def sign_manifest(manifest_bytes: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """The raw 64-byte Ed25519 signature of the exact manifest bytes (``manifest.sig``)."""
    return private_key.sign(manifest_bytes)


def decode_signature(data: bytes) -> bytes | None:
    """The 64 signature bytes of ``manifest.sig``, raw or base64 text; None if it is neither."""
    if len(data) == 64:
        return data
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 64 else None


def parse_manifest(data: bytes, source: str) -> Manifest:
    """Read ``manifest.json`` strictly; InputError naming every bad or unknown field."""
    problems: list[Detail] = []

    def fail(key: str | None, message: str) -> None:
        problems.append(Detail(message, file=source, field=key))

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as e:
        raise InputError(f"{source} is not UTF-8", file=source) from e
    except json.JSONDecodeError as e:
        raise InputError(f"{source} is not JSON: {e.msg}", file=source, line=e.lineno) from e
    except ValueError as e:  # a repeated key
        raise InputError(f"{source}: {e}", file=source) from e
    if not isinstance(value, dict):
        raise InputError(f"{source} must hold a JSON object", file=source)
    for key in value:
        if key not in MANIFEST_KEYS:
            fail(key, "unknown manifest field")
    for key in MANIFEST_KEYS[:-1]:
        if key not in value:
            fail(key, "required manifest field is missing")
    text = {k: _text(value, k, fail) for k in ("batch_id", "agreement_id", "signer")}
    if text["batch_id"] and not _BATCH_ID.match(text["batch_id"]):
        fail("batch_id", "use letters, digits, '.', '_', ':' or '-' (at most 128)")
    submitted = _text(value, "submitted_at", fail)
    if submitted and not _aware_timestamp(submitted):
        fail(
            "submitted_at",
            "must be an ISO 8601 date and time with a zone, e.g. 2026-11-25T10:00:00Z",
        )
    rows = value.get("row_count")
    if "row_count" in value and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        fail("row_count", "must be a whole number of rows, 0 or more")
    digest = _text(value, "requests_sha256", fail)
    if digest and not _SHA256.match(digest):
        fail("requests_sha256", "must be 64 hexadecimal digits (SHA-256)")
    name = value.get("requests_file", "requests.csv")
    if not isinstance(name, str) or not _plain_file_name(name):
        fail("requests_file", f"must be a plain file name ending in {', '.join(REQUESTS_SUFFIXES)}")
    if problems:
        raise InputError(f"{source} is not a valid manifest", details=problems)
    return Manifest(
        batch_id=str(text["batch_id"]),
        agreement_id=str(text["agreement_id"]),
        submitted_at=str(submitted),
        signer=str(text["signer"]),
        row_count=int(rows),  # type: ignore[arg-type]  # checked above
        requests_sha256=str(digest).lower(),
        requests_file=str(name),
    )


def check_batch(
    manifest_bytes: bytes,
    signature: bytes,
    manifest: Manifest,
    requests_bytes: bytes,
    row_count: int,
    agreement: Agreement | None,
    agreement_status: AgreementStatus | None = None,
    *,
    received_at: datetime,
) -> list[Finding]:
    """Every batch-level finding that can be evaluated, in :data:`BATCH_PRECEDENCE` order.

    ``agreement`` is the one the manifest names (None: the gateway holds no such agreement);
    ``agreement_status`` is its current status if an operator changed it since the file was
    loaded (None: the file's). ``row_count`` counts the data rows actually read. An empty list
    means the batch may proceed to row-level validation.
    """
    found: list[Finding] = []
    known = agreement is not None and agreement.id == manifest.agreement_id
    if agreement is None or not known:
        found.append(
            Finding(
                _R.AGREEMENT_UNKNOWN,
                f"the gateway holds no agreement {manifest.agreement_id!r}",
                "agreement_id",
            )
        )
    else:
        found.extend(_authenticity(manifest_bytes, signature, manifest, agreement))
    found.extend(_integrity(manifest_bytes, manifest, requests_bytes, row_count))
    if agreement is not None and known:
        found.extend(_standing(agreement, agreement_status, received_at, row_count))
    return sorted(found, key=lambda f: BATCH_PRECEDENCE.index(f.code))


def batch_refusal(findings: Sequence[Finding]) -> BatchRefused | None:
    """The error to raise for a refused batch (the first finding's code), or None if none.

    >>> err = batch_refusal([Finding(RefusalCode.BATCH_TOO_LARGE, "30000 rows > 25000")])
    >>> err.refusal.value, [d.message for d in err.details]
    ('BATCH_TOO_LARGE', ['BATCH_TOO_LARGE: 30000 rows > 25000'])
    """
    if not findings:
        return None
    first = findings[0]
    return BatchRefused(
        first.code,
        f"batch refused: {first.code.value}: {first.message}",
        details=[Detail(f"{f.code.value}: {f.message}", field=f.field) for f in findings],
    )


def _authenticity(
    manifest_bytes: bytes, signature: bytes, manifest: Manifest, agreement: Agreement
) -> list[Finding]:
    signer = next((s for s in agreement.signers if s.name == manifest.signer), None)
    if signer is None:
        why = f"{manifest.signer!r} is not an authorised signer of {agreement.id}"
        return [Finding(_R.SIGNER_NOT_AUTHORIZED, why, "signer")]
    raw = decode_signature(signature)
    key = public_key_from_raw(signer.public_key, f"signer {signer.name}")
    if raw is None or not verify_signature(key, raw, manifest_bytes):
        why = f"manifest.sig is not {signer.name}'s Ed25519 signature of manifest.json"
        return [Finding(_R.SIGNATURE_INVALID, why, "signature")]
    return []


def _integrity(
    manifest_bytes: bytes, manifest: Manifest, requests_bytes: bytes, row_count: int
) -> list[Finding]:
    found: list[Finding] = []
    name = manifest.requests_file
    try:
        signed: Manifest | None = parse_manifest(manifest_bytes, "manifest.json")
    except InputError:
        signed = None
    if signed != manifest:
        why = "the manifest checked is not the manifest that was signed"
        found.append(Finding(_R.MANIFEST_MISMATCH, why, "manifest"))
    digest = hashlib.sha256(requests_bytes).hexdigest()
    if digest != manifest.requests_sha256:
        why = f"{name} has SHA-256 {digest}; the manifest says {manifest.requests_sha256}"
        found.append(Finding(_R.MANIFEST_MISMATCH, why, "requests_sha256"))
    if row_count != manifest.row_count:
        why = f"{name} has {row_count} rows; the manifest says {manifest.row_count}"
        found.append(Finding(_R.MANIFEST_MISMATCH, why, "row_count"))
    return found


def _standing(
    agreement: Agreement, status: AgreementStatus | None, received_at: datetime, row_count: int
) -> list[Finding]:
    found: list[Finding] = []
    if (status or agreement.status) is AgreementStatus.SUSPENDED:
        why = f"{agreement.id} is suspended" + (
            f": {agreement.status_reason}" if agreement.status_reason else ""
        )
        found.append(Finding(_R.AGREEMENT_SUSPENDED, why, "agreement_id"))
    day = _utc_day(received_at)
    if not agreement.effective <= day <= agreement.expires:
        term = f"{agreement.effective.isoformat()} to {agreement.expires.isoformat()}"
        why = f"received {day.isoformat()}, outside the term {term}"
        found.append(Finding(_R.AGREEMENT_EXPIRED, why, "agreement_id"))
    blocking = [f.id for f in agreement.safeguard_findings if f.blocks_disclosure]
    if blocking:
        why = f"open safeguard findings with no corrective action plan: {', '.join(blocking)}"
        found.append(Finding(_R.RECIPIENT_SAFEGUARDS_OPEN, why, "agreement_id"))
    if row_count > agreement.max_batch_rows:
        why = f"{row_count} rows; the agreement allows {agreement.max_batch_rows}"
        found.append(Finding(_R.BATCH_TOO_LARGE, why, "row_count"))
    return found


def _utc_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in UTC; a naive datetime is taken to be UTC already."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in pairs:
        if key in out:
            raise ValueError(f"field {key!r} appears twice")
        out[key] = val
    return out


def _text(value: dict[str, Any], key: str, fail: Any) -> str | None:
    item = value.get(key)
    if key in value and (not isinstance(item, str) or not item.strip()):
        fail(key, "must be a non-blank string")
        return None
    return item.strip() if isinstance(item, str) else None


def _aware_timestamp(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.tzinfo is not None


def _plain_file_name(name: str) -> bool:
    return (
        bool(name)
        and name == name.strip()
        and not set(name) & set("/\\:\0")
        and name not in (".", "..")
        and name.lower().endswith(REQUESTS_SUFFIXES)
    )
