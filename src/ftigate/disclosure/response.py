"""Build the requester's response: one status per request, and only the disclosable fields.

The response never says *why* a person was not disclosed: "no match" or "ambiguous" would itself
reveal whether the person files. Refusals are about the request, so their codes are given.

Field minimisation is a whitelist: an agreement names disclosable field *groups* (today only
``last_known_address``) and each group maps to fixed response columns; anything not named
cannot appear, whatever the decision says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from ftigate.errors import RefusalCode
from ftigate.model import Agreement, LastKnownAddress, Outcome, ResponseRow, ResponseStatus

FIELD_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "last_known_address": ("street", "unit", "city", "state", "zip"),
    }
)
"""Disclosable field group -> the response columns it fills."""

RESPONSE_COLUMNS: tuple[str, ...] = (
    "request_id",
    "status",
    "refusal_code",
    *(c for cols in FIELD_GROUPS.values() for c in cols),
)


def disclosed_columns(agreement: Agreement) -> tuple[str, ...]:
    """The response columns this agreement allows to carry taxpayer data."""
    return tuple(c for g in agreement.disclosable_fields for c in FIELD_GROUPS.get(g, ()))


def response_row(
    request_id: str,
    outcome: Outcome,
    refusal_codes: Sequence[RefusalCode],
    address: LastKnownAddress | None,
    allowed_columns: Sequence[str],
) -> ResponseRow:
    """One response row from a *final* decision (after review; never REVIEW).

    ``allowed_columns`` comes from :func:`disclosed_columns` of the batch's agreement.
    """
    if outcome is Outcome.REVIEW:
        raise ValueError(f"request {request_id} is still in review; release resolves it first")
    if outcome is Outcome.REFUSED:
        code = refusal_codes[0] if refusal_codes else RefusalCode.MALFORMED_ROW
        return ResponseRow(request_id, ResponseStatus.REFUSED, refusal_code=code)
    if outcome is Outcome.NOT_DISCLOSED:
        return ResponseRow(request_id, ResponseStatus.NOT_DISCLOSED)
    if address is None:
        raise ValueError(f"request {request_id} is DISCLOSE but the person has no address")
    values = {
        "street": address.street,
        "unit": address.unit,
        "city": address.city,
        "state": address.state,
        "zip": address.zip,
    }
    return ResponseRow(
        request_id,
        ResponseStatus.DISCLOSED,
        fields=MappingProxyType({c: values[c] for c in allowed_columns if c in values}),
    )


def fields_disclosed(row: ResponseRow) -> tuple[str, ...]:
    """Names (never values) of the fields a row discloses, for the ledger."""
    return tuple(sorted(row.fields))


def response_csv(rows: Sequence[ResponseRow]) -> bytes:
    """The response file: fixed columns, UTF-8, LF line ends, rows in request order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(RESPONSE_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.request_id,
                str(r.status),
                str(r.refusal_code) if r.refusal_code else "",
                *(r.fields.get(c, "") for c in RESPONSE_COLUMNS[3:]),
            ]
        )
    return buf.getvalue().encode("utf-8")
