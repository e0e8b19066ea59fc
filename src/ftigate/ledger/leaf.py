"""The ledger's leaf: one canonical JSON record per decision or remediation. Pure.

**Encoding.** A leaf is the UTF-8 bytes of a JSON object in the RFC 8785 canonical form (JSON
Canonicalization Scheme): keys sorted, no insignificant whitespace, strings escaped the
ECMAScript way, integers in decimal. Every key below is always present (``null`` when it does
not apply), so one record has exactly one encoding and an overseer can re-derive the bytes from
the fields. Format version 1 has these keys:

==================== ====================================================================
``v``                 format version, ``1``
``kind``              ``DECISION`` | ``ERRONEOUS_RELEASE`` | ``DISPOSAL_NOTICE`` | ``DISPOSAL_ACK``
``batch_id``          the requester's batch
``request_id``        the requester's id of the row
``line``              the row's line in the batch file (``null`` for a remediation of a batch)
``agreement_id``      the agreement the request was made under
``agreement_sha256``  SHA-256 (hex) of that agreement version's YAML
``statute``           the statute of the requester's proceeding, as sent
``outcome``           ``DISCLOSE`` | ``NOT_DISCLOSED`` | ``REFUSED`` (``null`` for remediations)
``reason``            the internal reason (``NO_MATCH``, ``AMBIGUOUS`` ...), never sent out
``refusal_codes``     refusal codes, sorted
``fields_disclosed``  names of the fields released (never their values), sorted
``reviewers``         officers who reviewed the decision, sorted
``releaser``          the officer who released the batch
``time``              RFC 3339, UTC, ``Z`` suffix
``tin_hmac``          HMAC-SHA-256 of the 9-digit TIN under the TIN HMAC key, hex; ``null``
                      when no person is concerned (a refused request, no match)
``snapshot_id``       register snapshot the decision was made against
``model_sha256``      SHA-256 of the linkage model
``software_version``  ftigate version that decided
``remediates``        for remediation kinds: the leaf index remediated
``remediation_reason`` for remediation kinds: why (wrong person, deficient request, court order)
``salt``              16 random bytes, hex: blinds the leaf hash (see below)
==================== ====================================================================

The TIN itself is never in a leaf. With the HMAC key the gateway can answer "which leaves
concern this taxpayer" (26 U.S.C. 6103(p)(3) accounting); without it nobody can enumerate TINs
against the ledger, because the key is 32 random bytes kept apart from the signing key.

**Why a salt.** A requester receives each of its leaves' hash and inclusion proof, to check
that its response was logged. Without a salt it could hash every plausible record (it knows the
batch, request, time and officers) and learn the internal reason - ``NO_MATCH`` or
``AMBIGUOUS`` - which would tell it whether the person files. A random salt per leaf makes the
hash reveal nothing; the overseer, who holds the leaves, sees the salt like any other field.

We produce the canonical form with :func:`json.dumps` (sorted keys, compact separators, no ASCII
escaping), which equals RFC 8785 for the values a record may hold (strings without lone
surrogates, integers below 2**53, ``null``, lists of strings); the tests compare it with the
``rfc8785`` package on random records, and :func:`decode_record` refuses any bytes that are not
exactly the canonical encoding of what they decode to.

Example:
    >>> r = LedgerRecord(kind=RecordKind.DECISION, batch_id="B1", request_id="R1", line=2,
    ...     agreement_id="irs-dhs-2025", agreement_sha256="a" * 64, statute="8 U.S.C. 1253(a)(1)",
    ...     outcome=Outcome.REFUSED, refusal_codes=("MISSING_ADDRESS",),
    ...     time="2025-08-07T12:00:00Z", software_version="0.1.0", salt="0" * 32)
    >>> decode_record(encode_record(r)) == r
    True
    >>> encode_record(r)[:40]
    b'{"agreement_id":"irs-dhs-2025","agreemen'
"""

from __future__ import annotations

import hmac
import json
import operator
import re
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from itertools import chain
from typing import Any

from ftigate.errors import Detail, InputError
from ftigate.model import Outcome, Reason

FORMAT_VERSION = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_SALT = re.compile(r"^[0-9a-f]{32}\Z")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z\Z")
_MAX_SAFE_INT = 2**53 - 1


class RecordKind(StrEnum):
    DECISION = "DECISION"
    ERRONEOUS_RELEASE = "ERRONEOUS_RELEASE"  # a disclosure found wrong: which one and why
    DISPOSAL_NOTICE = "DISPOSAL_NOTICE"  # the recipient was told to dispose of it
    DISPOSAL_ACK = "DISPOSAL_ACK"  # the recipient acknowledged disposal


REMEDIATION_KINDS = frozenset(
    {RecordKind.ERRONEOUS_RELEASE, RecordKind.DISPOSAL_NOTICE, RecordKind.DISPOSAL_ACK}
)
LEDGER_OUTCOMES = frozenset({Outcome.DISCLOSE, Outcome.NOT_DISCLOSED, Outcome.REFUSED})


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One leaf's content. Validated at construction: every problem is reported at once."""

    kind: RecordKind
    batch_id: str
    request_id: str
    agreement_id: str
    agreement_sha256: str
    statute: str
    time: str
    software_version: str
    line: int | None = None
    outcome: Outcome | None = None
    reason: Reason | None = None
    refusal_codes: tuple[str, ...] = ()
    fields_disclosed: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    releaser: str | None = None
    tin_hmac: str | None = None
    snapshot_id: str | None = None
    model_sha256: str | None = None
    remediates: int | None = None
    remediation_reason: str | None = None
    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    v: int = field(default=FORMAT_VERSION)

    def __post_init__(self) -> None:
        # order never matters for these; sorting makes equal records encode equally
        for name in ("refusal_codes", "fields_disclosed", "reviewers"):
            object.__setattr__(self, name, tuple(sorted(getattr(self, name))))
        problems = list(_problems(self))
        if problems:
            raise InputError("invalid ledger record", details=problems)

    @property
    def concerns_person(self) -> bool:
        return self.tin_hmac is not None


def _problems(r: LedgerRecord) -> list[Detail]:
    out: list[Detail] = []

    def bad(name: str, message: str) -> None:
        out.append(Detail(message, field=name))

    if r.v != FORMAT_VERSION:
        bad("v", f"unknown format version {r.v}")
    for name in ("batch_id", "request_id", "agreement_id", "software_version"):
        if not getattr(r, name):
            bad(name, "must not be empty")
    if not _HEX64.match(r.agreement_sha256):
        bad("agreement_sha256", "must be 64 lowercase hex digits")
    for name in ("tin_hmac", "model_sha256"):
        value = getattr(r, name)
        if value is not None and not _HEX64.match(value):
            bad(name, "must be 64 lowercase hex digits or null")
    if not _SALT.match(r.salt):
        bad("salt", "must be 32 lowercase hex digits")
    if not _RFC3339_UTC.match(r.time):
        bad("time", "must be RFC 3339 in UTC ending in Z, e.g. 2025-08-07T12:00:00Z")
    for name in ("line", "remediates"):
        value = getattr(r, name)
        if value is not None and not 0 <= value <= _MAX_SAFE_INT:
            bad(name, "must be a non-negative integer below 2**53")
    for name in r.fields_disclosed:
        if not _FIELD_NAME.match(name):
            bad("fields_disclosed", "holds field names only (lowercase identifiers), never values")
            break
    if r.kind is RecordKind.DECISION:
        if r.outcome not in LEDGER_OUTCOMES:
            bad("outcome", "a decision leaf records DISCLOSE, NOT_DISCLOSED or REFUSED")
        if r.remediates is not None or r.remediation_reason is not None:
            bad("remediates", "only remediation leaves remediate")
        if r.outcome is Outcome.DISCLOSE and not r.fields_disclosed:
            bad("fields_disclosed", "a disclosure names the fields it released")
        if r.outcome is Outcome.DISCLOSE and r.tin_hmac is None:
            bad("tin_hmac", "a disclosure concerns a person")
        if r.outcome is not Outcome.DISCLOSE and r.fields_disclosed:
            bad("fields_disclosed", "only a disclosure releases fields")
        if r.outcome is Outcome.REFUSED and not r.refusal_codes:
            bad("refusal_codes", "a refusal carries its codes")
        if r.outcome is not Outcome.REFUSED and r.refusal_codes:
            bad("refusal_codes", "only a refusal carries refusal codes")
    else:
        if r.remediates is None or not r.remediation_reason:
            bad("remediates", f"a {r.kind} leaf names the leaf it remediates and why")
        if r.outcome is not None:
            bad("outcome", "a remediation leaf has no outcome of its own")
    return out


_FIELD_NAMES = tuple(f.name for f in fields(LedgerRecord))
_TUPLES = ("refusal_codes", "fields_disclosed", "reviewers")


def utc_timestamp(when: datetime) -> str:
    """RFC 3339 in UTC with a Z, the form leaves carry.

    >>> utc_timestamp(datetime(2025, 8, 7, 12, 0, tzinfo=UTC))
    '2025-08-07T12:00:00Z'
    """
    if when.tzinfo is None:
        raise InputError("a naive datetime has no time zone; pass an aware one")
    spec = "microseconds" if when.microsecond else "seconds"
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


_FIELDS_OF = operator.attrgetter(*_FIELD_NAMES)
_ENUM_FIELDS = ("kind", "outcome", "reason")


def record_to_json(record: LedgerRecord) -> dict[str, Any]:
    """The record as a JSON object (lists for tuples, plain strings for enums)."""
    # by hand, not dataclasses.asdict: that deep-copies and costs most of an append
    out = dict(zip(_FIELD_NAMES, _FIELDS_OF(record), strict=True))
    for name in _TUPLES:
        out[name] = list(out[name])
    for name in _ENUM_FIELDS:
        v = out[name]
        if isinstance(v, StrEnum):
            out[name] = v.value
    return out


# what json.dumps builds on every call with these arguments, built once (the output is the same)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# ... and what its encode() builds on every call: CPython's C encoder with its settings. No
# circular-reference markers: parsed JSON and records cannot refer to themselves.
_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    None
    if _make_c_encoder is None
    else _make_c_encoder(
        None,
        _CANONICAL.default,
        json.encoder.encode_basestring,
        _CANONICAL.indent,
        _CANONICAL.key_separator,
        _CANONICAL.item_separator,
        _CANONICAL.sort_keys,
        _CANONICAL.skipkeys,
        _CANONICAL.allow_nan,
    )
)


def _canonical_text(obj: dict[str, Any]) -> str:
    """``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False)``, a microsecond sooner."""
    if _C_ENCODER is None:  # an interpreter without the C accelerator
        return _CANONICAL.encode(obj)
    return "".join(_C_ENCODER(obj, 0))


def encode_record(record: LedgerRecord) -> bytes:
    """The canonical (RFC 8785) bytes of ``record``: what the leaf hash is computed over."""
    # the attributes as they are: the encoder writes a tuple as a list and a StrEnum as its
    # string, exactly as it writes record_to_json's plain values (the golden test holds this)
    values = dict(zip(_FIELD_NAMES, _FIELDS_OF(record), strict=True))
    try:
        return _canonical_text(values).encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate has no UTF-8 and no canonical form
        raise InputError("ledger record holds a string that is not valid Unicode") from e


_KEYS = frozenset(f.name for f in fields(LedgerRecord))
_OPTIONAL_INTS = frozenset({"line", "remediates"})
_OPTIONAL_STRS = frozenset(
    {
        "outcome",
        "reason",
        "releaser",
        "tin_hmac",
        "snapshot_id",
        "model_sha256",
        "remediation_reason",
    }
)


def decode_record(data: bytes) -> LedgerRecord:
    """Parse leaf bytes; refuse anything that is not exactly the canonical encoding.

    Raises :class:`InputError` with every problem found.
    """
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # bad UTF-8 or JSON, too deep, too long an int
        raise InputError(f"leaf is not UTF-8 JSON: {e}") from e
    if not isinstance(raw, dict):
        raise InputError("leaf is not a JSON object")
    if set(raw) != _KEYS:
        missing, extra = sorted(_KEYS - set(raw)), sorted(set(raw) - _KEYS)
        raise InputError(
            f"leaf keys differ from format {FORMAT_VERSION}: missing {missing}, unexpected {extra}"
        )
    problems = [Detail(f"must be {want}", field=k) for k, want in _type_problems(raw)]
    if problems:
        raise InputError("invalid ledger record", details=problems)
    try:
        values: dict[str, Any] = {k: tuple(raw[k]) if k in _TUPLES else raw[k] for k in _KEYS}
        values["kind"] = RecordKind(raw["kind"])
        values["outcome"] = None if raw["outcome"] is None else Outcome(raw["outcome"])
        values["reason"] = None if raw["reason"] is None else Reason(raw["reason"])
        record = LedgerRecord(**values)
    except (ValueError, TypeError) as e:
        raise InputError(f"leaf holds a value of the wrong kind: {e}") from e
    # canonical iff the parsed JSON re-serialises to the same bytes and the lists are sorted
    # (then the record, which sorts them, encodes to exactly these bytes too)
    if not _is_canonical(raw, data):
        raise InputError("leaf bytes are not the canonical encoding of their record")
    return record


def _is_canonical(raw: dict[str, Any], data: bytes) -> bool:
    try:
        canonical = _canonical_text(raw).encode("utf-8")
    except UnicodeEncodeError:  # an escaped lone surrogate (\ud800) parses but has no UTF-8
        return False
    if canonical != data:
        return False
    for k in _TUPLES:
        v = raw[k]
        if len(v) > 1 and v != sorted(v):
            return False
    return True


_KINDS = frozenset(k.value for k in RecordKind)
_OUTCOMES = frozenset(o.value for o in Outcome)
_REASONS = frozenset(r.value for r in Reason)
_LEDGER_OUTCOMES = frozenset(o.value for o in LEDGER_OUTCOMES)
_DECISION, _DISCLOSE, _REFUSED = (
    RecordKind.DECISION.value,
    Outcome.DISCLOSE.value,
    Outcome.REFUSED.value,
)
_REQUIRED_STRS = operator.itemgetter(
    "kind",
    "batch_id",
    "request_id",
    "agreement_id",
    "agreement_sha256",
    "statute",
    "time",
    "software_version",
    "salt",
)
_OPTIONALS = operator.itemgetter(*sorted(_OPTIONAL_STRS))
_LISTS = operator.itemgetter(*_TUPLES)
_STR, _STR_OR_NONE, _LIST = {str}, {str, type(None)}, {list}


def valid_record_json(data: bytes) -> dict[str, Any] | None:
    """The JSON object of ``data`` when :func:`decode_record` would accept it, else ``None``.

    For checking a million leaves: it applies exactly the checks of :func:`decode_record`
    (and so of :class:`LedgerRecord`) to the parsed object without building a record, and
    keeps no reasons; call :func:`decode_record` on a ``None`` to learn what is wrong. The
    tests hold the two to the same acceptance set on valid and mutated records.

    >>> r = valid_record_json(encode_record(LedgerRecord(kind=RecordKind.DECISION,
    ...     batch_id="B1", request_id="R1", agreement_id="a", agreement_sha256="a" * 64,
    ...     statute="s", time="2025-08-07T12:00:00Z", software_version="0.1.0",
    ...     outcome=Outcome.REFUSED, refusal_codes=("MISSING_ADDRESS",))))
    >>> r["request_id"], valid_record_json(b'{"v":1}')
    ('R1', None)
    """
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if type(raw) is not dict or raw.keys() != _KEYS:
        return None
    # the types, as _type_problems checks them (exact: a bool is not an int)
    lists = _LISTS(raw)
    if (
        set(map(type, _REQUIRED_STRS(raw))) != _STR
        or not set(map(type, _OPTIONALS(raw))) <= _STR_OR_NONE
        or set(map(type, lists)) != _LIST
        or not set(map(type, chain.from_iterable(lists))) <= _STR
    ):
        return None
    version, line, remediates = raw["v"], raw["line"], raw["remediates"]
    if type(version) is not int:
        return None
    if line is not None and (type(line) is not int or not 0 <= line <= _MAX_SAFE_INT):
        return None
    if remediates is not None and (
        type(remediates) is not int or not 0 <= remediates <= _MAX_SAFE_INT
    ):
        return None
    # the enums decode_record converts to, then the rules of _problems
    kind, outcome, reason = raw["kind"], raw["outcome"], raw["reason"]
    if kind not in _KINDS or (outcome is not None and outcome not in _OUTCOMES):
        return None
    if reason is not None and reason not in _REASONS:
        return None
    if version != FORMAT_VERSION:
        return None
    if not (raw["batch_id"] and raw["request_id"] and raw["agreement_id"]):
        return None
    if not raw["software_version"] or not _HEX64.match(raw["agreement_sha256"]):
        return None
    tin, model = raw["tin_hmac"], raw["model_sha256"]
    if (tin is not None and not _HEX64.match(tin)) or (
        model is not None and not _HEX64.match(model)
    ):
        return None
    if not _SALT.match(raw["salt"]) or not _RFC3339_UTC.match(raw["time"]):
        return None
    fields_disclosed, refusal_codes = raw["fields_disclosed"], raw["refusal_codes"]
    for name in fields_disclosed:
        if not _FIELD_NAME.match(name):
            return None
    if kind == _DECISION:
        if outcome not in _LEDGER_OUTCOMES:
            return None
        if remediates is not None or raw["remediation_reason"] is not None:
            return None
        disclose = outcome == _DISCLOSE
        if disclose != bool(fields_disclosed) or (disclose and tin is None):
            return None
        if (outcome == _REFUSED) != bool(refusal_codes):
            return None
    elif remediates is None or not raw["remediation_reason"] or outcome is not None:
        return None
    return raw if _is_canonical(raw, data) else None


def _type_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    # exact type checks (``type(x) is``): a bool is not an int here, and this runs per leaf
    out: list[tuple[str, str]] = []
    for k, v in raw.items():
        t = type(v)
        if k in _TUPLES:
            if t is not list or any(type(x) is not str for x in v):
                out.append((k, "a list of strings"))
        elif k == "v" or k in _OPTIONAL_INTS:
            if not (t is int or (v is None and k in _OPTIONAL_INTS)):
                out.append((k, "an integer" + (" or null" if k in _OPTIONAL_INTS else "")))
        elif not (t is str or (v is None and k in _OPTIONAL_STRS)):
            out.append((k, "a string" + (" or null" if k in _OPTIONAL_STRS else "")))
    return sorted(out)


def normalise_tin(tin: str) -> str:
    """Nine digits: dashes and spaces removed. The TIN is never echoed in an error."""
    digits = tin.strip().replace("-", "").replace(" ", "")
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        raise InputError("a TIN has nine digits (dashes and spaces allowed)", field="tin")
    return digits


def tin_hmac(key: bytes, tin: str) -> str:
    """HMAC-SHA-256 of the normalised TIN under the ledger's TIN key, as hex.

    >>> tin_hmac(b"k" * 32, "123-45-6789") == tin_hmac(b"k" * 32, "123456789")
    True
    """
    if len(key) < 32:
        raise InputError("the TIN HMAC key must have at least 32 bytes")
    return hmac.digest(key, normalise_tin(tin).encode("ascii"), "sha256").hex()
