"""One error hierarchy, the refusal-code table and the one JSON error shape.

Every error ftigate raises on purpose is a :class:`FtigateError`. Each class carries a stable
machine code and an HTTP status, so the CLI (exit code + message) and the API (status + JSON)
render them the same way. Foreign exceptions (SQLAlchemy, DuckDB, Spark, YAML, cryptography)
are translated into these at the seams that call those libraries, with ``raise ... from e``.

    FtigateError                 500  internal
    ├── InputError               400  a file or value we were given is wrong (file, line, field)
    │   ├── AgreementInvalid     400  an agreement YAML fails validation (path of the bad key)
    │   ├── RequestInvalid       422  an HTTP request does not fit the route's parameters or body
    │   └── RequestTooLarge      413  an upload is over the API's limit
    ├── AuthError                401  no or bad credentials
    ├── Forbidden                403  the caller's role or ownership does not allow the action
    ├── NotFound                 404  no such batch, agreement, snapshot, leaf ...
    ├── MethodNotAllowed         405  the route exists but not with this HTTP method
    ├── Conflict                 409  the action does not fit the object's state
    │                                 (release by the reviewing officer, suspended agreement)
    ├── BatchRefused             422  a batch-level refusal code (signature, manifest, agreement)
    ├── BackendError             502  the linkage or storage engine failed; carries the operation
    └── IntegrityError           500  ledger verification found tampering; carries the evidence

Refusal codes are the public vocabulary of the response: they are stable strings, listed once
in :data:`REFUSAL_CODES`, each with its level (batch or row) and a one-line meaning.

Example:
    >>> err = InputError("bad TIN", file="taxpayers.csv", line=7, field="tin")
    >>> err.to_json()["error"]["details"]
    [{'file': 'taxpayers.csv', 'line': 7, 'field': 'tin', 'message': 'bad TIN'}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal


class RefusalCode(StrEnum):
    """Stable refusal codes. Never rename one: requesters and overseers parse them."""

    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    SIGNER_NOT_AUTHORIZED = "SIGNER_NOT_AUTHORIZED"
    MANIFEST_MISMATCH = "MANIFEST_MISMATCH"
    AGREEMENT_UNKNOWN = "AGREEMENT_UNKNOWN"
    AGREEMENT_SUSPENDED = "AGREEMENT_SUSPENDED"
    AGREEMENT_EXPIRED = "AGREEMENT_EXPIRED"
    RECIPIENT_SAFEGUARDS_OPEN = "RECIPIENT_SAFEGUARDS_OPEN"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    DUPLICATE_REQUEST = "DUPLICATE_REQUEST"
    MISSING_NAME = "MISSING_NAME"
    MISSING_ADDRESS = "MISSING_ADDRESS"
    ADDRESS_NOT_SPECIFIC = "ADDRESS_NOT_SPECIFIC"
    MISSING_TAX_PERIOD = "MISSING_TAX_PERIOD"
    STATUTE_NOT_IN_AGREEMENT = "STATUTE_NOT_IN_AGREEMENT"
    MISSING_REASON = "MISSING_REASON"
    MISSING_OFFICER = "MISSING_OFFICER"
    ENGAGEMENT_IMPLAUSIBLE = "ENGAGEMENT_IMPLAUSIBLE"
    FIELD_NOT_DISCLOSABLE = "FIELD_NOT_DISCLOSABLE"
    MALFORMED_ROW = "MALFORMED_ROW"


@dataclass(frozen=True, slots=True)
class RefusalCodeInfo:
    code: RefusalCode
    level: Literal["batch", "row"]
    meaning: str


REFUSAL_CODES: Mapping[RefusalCode, RefusalCodeInfo] = {
    info.code: info
    for info in (
        RefusalCodeInfo(
            RefusalCode.SIGNATURE_INVALID,
            "batch",
            "manifest.sig is not a valid Ed25519 signature of manifest.json by the named signer",
        ),
        RefusalCodeInfo(
            RefusalCode.SIGNER_NOT_AUTHORIZED,
            "batch",
            "the signer is not among the requester's authorised signers in the agreement",
        ),
        RefusalCodeInfo(
            RefusalCode.MANIFEST_MISMATCH,
            "batch",
            "the requests file's SHA-256 or row count differs from the manifest",
        ),
        RefusalCodeInfo(
            RefusalCode.AGREEMENT_UNKNOWN,
            "batch",
            "the manifest names an agreement the gateway does not hold",
        ),
        RefusalCodeInfo(
            RefusalCode.AGREEMENT_SUSPENDED,
            "batch",
            "the agreement is suspended (for example by court order)",
        ),
        RefusalCodeInfo(
            RefusalCode.AGREEMENT_EXPIRED,
            "batch",
            "the batch was received outside the agreement's term",
        ),
        RefusalCodeInfo(
            RefusalCode.RECIPIENT_SAFEGUARDS_OPEN,
            "batch",
            "the recipient has open safeguard findings with no corrective action plan",
        ),
        RefusalCodeInfo(
            RefusalCode.BATCH_TOO_LARGE,
            "batch",
            "the batch has more rows than the agreement allows",
        ),
        RefusalCodeInfo(
            RefusalCode.DUPLICATE_REQUEST, "row", "the request_id already appeared in this batch"
        ),
        RefusalCodeInfo(
            RefusalCode.MISSING_NAME, "row", "the request lacks the taxpayer's first or last name"
        ),
        RefusalCodeInfo(
            RefusalCode.MISSING_ADDRESS,
            "row",
            "the request sets forth no address (26 U.S.C. 6103(i)(2)(B)(i))",
        ),
        RefusalCodeInfo(
            RefusalCode.ADDRESS_NOT_SPECIFIC,
            "row",
            "the address is a placeholder, city or ZIP only, a facility with no "
            "location, or a PO box the agreement forbids",
        ),
        RefusalCodeInfo(
            RefusalCode.MISSING_TAX_PERIOD,
            "row",
            "the request names no tax period (26 U.S.C. 6103(i)(2)(B)(ii))",
        ),
        RefusalCodeInfo(
            RefusalCode.STATUTE_NOT_IN_AGREEMENT,
            "row",
            "the statute of the proceeding is not one the agreement allows",
        ),
        RefusalCodeInfo(
            RefusalCode.MISSING_REASON,
            "row",
            "the request gives no specific reason the information is relevant "
            "(26 U.S.C. 6103(i)(2)(B)(iv))",
        ),
        RefusalCodeInfo(
            RefusalCode.MISSING_OFFICER,
            "row",
            "no officer personally and directly engaged in the case is named",
        ),
        RefusalCodeInfo(
            RefusalCode.ENGAGEMENT_IMPLAUSIBLE,
            "row",
            "an officer is named on more cases than the agreement allows",
        ),
        RefusalCodeInfo(
            RefusalCode.FIELD_NOT_DISCLOSABLE,
            "row",
            "the request asks for a field the agreement does not allow to be disclosed",
        ),
        RefusalCodeInfo(
            RefusalCode.MALFORMED_ROW,
            "row",
            "the row cannot be parsed (bad date, bad TIN format, wrong column count)",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Detail:
    """Where exactly an input went wrong. Every field but ``message`` is optional."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.file is not None:
            out["file"] = self.file
        if self.line is not None:
            out["line"] = self.line
        if self.field is not None:
            out["field"] = self.field
        out["message"] = self.message
        return out

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}" if where or field else self.message


class FtigateError(Exception):
    """Base of every error ftigate raises on purpose."""

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[Detail] = (),
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        found = list(details)
        if not found and (file is not None or line is not None or field is not None):
            found.append(Detail(message, file=file, line=line, field=field))
        self.details: tuple[Detail, ...] = tuple(found)

    def to_json(self) -> dict[str, Any]:
        """The one JSON error shape, used by the API and by ``--json`` CLI output."""
        return {
            "error": {
                "code": self.code,
                "status": self.status,
                "message": self.message,
                "details": [d.to_json() for d in self.details],
            }
        }

    def __str__(self) -> str:
        if not self.details:
            return self.message
        shown = "\n".join(f"  {d}" for d in self.details[:50])
        more = f"\n  ... and {len(self.details) - 50} more" if len(self.details) > 50 else ""
        return f"{self.message}\n{shown}{more}"


class InputError(FtigateError):
    """A file or value we were given is wrong; details name file, line and field."""

    code = "INPUT_INVALID"
    status = 400


class AgreementInvalid(InputError):
    """An agreement file fails validation; ``field`` is the dotted path of the bad key."""

    code = "AGREEMENT_INVALID"


class RequestInvalid(InputError):
    """The HTTP request does not fit the route's declared parameters or body."""

    code = "REQUEST_INVALID"
    status = 422


class RequestTooLarge(InputError):
    code = "REQUEST_TOO_LARGE"
    status = 413


class AuthError(FtigateError):
    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(FtigateError):
    code = "FORBIDDEN"
    status = 403


class NotFound(FtigateError):
    code = "NOT_FOUND"
    status = 404


class MethodNotAllowed(FtigateError):
    code = "METHOD_NOT_ALLOWED"
    status = 405


class Conflict(FtigateError):
    """The action does not fit the current state; the message says what would."""

    code = "CONFLICT"
    status = 409


class BatchRefused(FtigateError):
    """A whole batch is refused with a batch-level refusal code."""

    code = "BATCH_REFUSED"
    status = 422

    def __init__(self, refusal: RefusalCode, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.refusal = refusal

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["error"]["refusal_code"] = str(self.refusal)
        return out


class BackendError(FtigateError):
    """The linkage or storage engine failed. ``operation`` says what we were doing."""

    code = "BACKEND_FAILED"
    status = 502

    def __init__(self, message: str, *, operation: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.operation = operation


class IntegrityError(FtigateError):
    """Ledger verification failed; ``index`` is the first bad leaf or checkpoint."""

    code = "INTEGRITY_FAILED"
    status = 500

    def __init__(self, message: str, *, index: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.index = index


def input_error(message: str, problems: Iterable[Detail]) -> InputError:
    """Bundle every problem found in one input into a single error (never stop at the first)."""
    return InputError(message, details=tuple(problems))
