"""Every refusal code is produced by the policy layer: one minimal scenario per code.

A new code in ``ftigate.errors.RefusalCode`` fails this test until a scenario here produces it,
so the table in DESIGN.md and the implementation cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from ftigate.errors import REFUSAL_CODES, RefusalCode
from ftigate.model import AgreementStatus, Request, SafeguardFinding
from ftigate.policy.batch import build_manifest, check_batch, parse_manifest, sign_manifest
from ftigate.policy.requests import validate_requests

from .helpers import demo_signer_key, row, sample_agreement

AGREEMENT = sample_agreement()
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def batch_codes(
    *,
    signer: str = "Demo Requester Signer 1",
    key: int = 1,
    rows: int = 1,
    actual_rows: int = 1,
    agreement_id: str = "irs-ice-2025",
    **agreement_changes: object,
) -> set[RefusalCode]:
    data = build_manifest(
        batch_id="B1",
        agreement_id=agreement_id,
        submitted_at=NOW,
        signer=signer,
        requests_bytes=b"r",
        row_count=rows,
    )
    agreement = replace(AGREEMENT, **agreement_changes)  # type: ignore[arg-type]
    found = check_batch(
        data,
        sign_manifest(data, demo_signer_key(key)),
        parse_manifest(data, "m"),
        b"r",
        actual_rows,
        agreement,
        received_at=NOW,
    )
    return {f.code for f in found}


def row_codes(*rows: Request) -> set[RefusalCode]:
    found = validate_requests(rows, AGREEMENT, as_of=NOW.date())
    return {f.code for fs in found.values() for f in fs}


SCENARIOS: dict[RefusalCode, Callable[[], set[RefusalCode]]] = {
    RefusalCode.SIGNATURE_INVALID: lambda: batch_codes(key=2),
    RefusalCode.SIGNER_NOT_AUTHORIZED: lambda: batch_codes(signer="Mallory"),
    RefusalCode.MANIFEST_MISMATCH: lambda: batch_codes(actual_rows=2),
    RefusalCode.AGREEMENT_UNKNOWN: lambda: batch_codes(agreement_id="nope"),
    RefusalCode.AGREEMENT_SUSPENDED: lambda: batch_codes(status=AgreementStatus.SUSPENDED),
    RefusalCode.AGREEMENT_EXPIRED: lambda: batch_codes(expires=date(2026, 1, 1)),
    RefusalCode.RECIPIENT_SAFEGUARDS_OPEN: lambda: batch_codes(
        safeguard_findings=(SafeguardFinding("F1", "open", date(2026, 1, 1)),)
    ),
    RefusalCode.BATCH_TOO_LARGE: lambda: batch_codes(rows=2, actual_rows=2, max_batch_rows=1),
    RefusalCode.DUPLICATE_REQUEST: lambda: row_codes(row(2, "A"), row(3, "A")),
    RefusalCode.MISSING_NAME: lambda: row_codes(row(last_name="")),
    RefusalCode.MISSING_ADDRESS: lambda: row_codes(
        row(street="", unit="", city="", state="", zip="")
    ),
    RefusalCode.ADDRESS_NOT_SPECIFIC: lambda: row_codes(
        row(street="Failed to Provide", tin="123-45-6789")
    ),
    RefusalCode.MISSING_TAX_PERIOD: lambda: row_codes(row(tax_periods="")),
    RefusalCode.STATUTE_NOT_IN_AGREEMENT: lambda: row_codes(row(statute="8 U.S.C. 1325")),
    RefusalCode.MISSING_REASON: lambda: row_codes(row(reason="N/A")),
    RefusalCode.MISSING_OFFICER: lambda: row_codes(row(officer_id="")),
    RefusalCode.ENGAGEMENT_IMPLAUSIBLE: lambda: row_codes(
        *(row(2 + i, officer_id="ONE", case_number=f"C{i}") for i in range(201))
    ),
    RefusalCode.FIELD_NOT_DISCLOSABLE: lambda: row_codes(row(requested_fields="email")),
    RefusalCode.MALFORMED_ROW: lambda: row_codes(row(dob="1980-02-30")),
}


@pytest.mark.parametrize("code", list(RefusalCode))
def test_every_refusal_code_has_a_scenario_that_produces_exactly_it(code: RefusalCode) -> None:
    assert code in SCENARIOS, f"no scenario produces {code}"
    assert SCENARIOS[code]() == {code}


def test_scenarios_match_the_levels_in_the_code_table() -> None:
    for code, info in REFUSAL_CODES.items():
        produced_by_batch = SCENARIOS[code].__code__.co_names.count("batch_codes") > 0
        assert produced_by_batch == (info.level == "batch"), code
