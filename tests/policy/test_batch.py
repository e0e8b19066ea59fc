"""Manifest, signature and the batch-level codes, each alone and in their precedence."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ftigate.errors import BatchRefused, InputError, RefusalCode
from ftigate.model import Agreement, AgreementStatus, Finding, Manifest, SafeguardFinding
from ftigate.policy.batch import (
    BATCH_PRECEDENCE,
    batch_refusal,
    build_manifest,
    check_batch,
    decode_signature,
    parse_manifest,
    sign_manifest,
)

from .helpers import demo_signer_key, sample_agreement

AGREEMENT = sample_agreement()
SIGNER = AGREEMENT.signers[0].name
REQUESTS = b"request_id,first_name\nR1,Ana\nR2,Luis\n"
RECEIVED = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@dataclass
class Batch:
    manifest_bytes: bytes
    signature: bytes
    requests: bytes = REQUESTS
    rows: int = 2

    @property
    def manifest(self) -> Manifest:
        return parse_manifest(self.manifest_bytes, "manifest.json")

    def check(
        self,
        agreement: Agreement | None = AGREEMENT,
        status: AgreementStatus | None = None,
        received: datetime = RECEIVED,
    ) -> list[RefusalCode]:
        found = check_batch(
            self.manifest_bytes,
            self.signature,
            self.manifest,
            self.requests,
            self.rows,
            agreement,
            status,
            received_at=received,
        )
        return [f.code for f in found]


def batch(
    signer: str = SIGNER, key_n: int = 1, agreement_id: str = "irs-ice-2025", rows: int = 2
) -> Batch:
    data = build_manifest(
        batch_id="ICE-2026-11-25-001",
        agreement_id=agreement_id,
        submitted_at=datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
        signer=signer,
        requests_bytes=REQUESTS,
        row_count=rows,
    )
    return Batch(data, sign_manifest(data, demo_signer_key(key_n)))


def test_a_good_batch_has_no_findings() -> None:
    assert batch().check() == []


def test_manifest_is_canonical_json_and_round_trips() -> None:
    b = batch()
    assert (
        b.manifest_bytes
        == json.dumps(json.loads(b.manifest_bytes), sort_keys=True, separators=(",", ":")).encode()
    )
    m = b.manifest
    assert (m.batch_id, m.agreement_id, m.signer, m.row_count) == (
        "ICE-2026-11-25-001",
        "irs-ice-2025",
        SIGNER,
        2,
    )
    assert m.submitted_at == "2026-11-25T14:00:00Z"
    assert m.requests_file == "requests.csv"
    assert batch().manifest_bytes == b.manifest_bytes, "deterministic bytes"


def test_signature_may_be_raw_or_base64() -> None:
    b = batch()
    assert decode_signature(b.signature) == b.signature
    assert decode_signature(base64.b64encode(b.signature) + b"\n") == b.signature
    assert decode_signature(b"nonsense") is None
    assert replace(b, signature=base64.b64encode(b.signature)).check() == []


# --- each batch-level code alone ------------------------------------------------------------


def test_agreement_unknown() -> None:
    assert batch().check(agreement=None) == [RefusalCode.AGREEMENT_UNKNOWN]
    assert batch(agreement_id="irs-ice-2024").check() == [RefusalCode.AGREEMENT_UNKNOWN]


def test_signer_not_authorized() -> None:
    assert batch(signer="Someone Else").check() == [RefusalCode.SIGNER_NOT_AUTHORIZED]


def test_signature_invalid_by_another_key() -> None:
    assert batch(key_n=2).check() == [RefusalCode.SIGNATURE_INVALID]


def test_signature_invalid_when_the_manifest_was_edited_after_signing() -> None:
    b = batch()
    edited = b.manifest_bytes.replace(b'"row_count":2', b'"row_count":3')
    tampered = replace(b, manifest_bytes=edited, rows=3)
    assert tampered.check() == [RefusalCode.SIGNATURE_INVALID]


@pytest.mark.parametrize("signature", [b"", b"x" * 63, b"\0" * 64, b"not base64 at all!"])
def test_signature_invalid_garbage(signature: bytes) -> None:
    assert replace(batch(), signature=signature).check() == [RefusalCode.SIGNATURE_INVALID]


def test_manifest_mismatch_on_the_requests_bytes() -> None:
    b = replace(batch(), requests=REQUESTS.replace(b"Ana", b"Ann"))
    assert b.check() == [RefusalCode.MANIFEST_MISMATCH]


def test_manifest_mismatch_on_the_row_count() -> None:
    assert replace(batch(), rows=3).check() == [RefusalCode.MANIFEST_MISMATCH]


def test_manifest_mismatch_when_the_checked_manifest_is_not_the_signed_one() -> None:
    b = batch()
    other = replace(b.manifest, batch_id="ANOTHER")
    found = check_batch(
        b.manifest_bytes, b.signature, other, b.requests, b.rows, AGREEMENT, received_at=RECEIVED
    )
    assert [f.code for f in found] == [RefusalCode.MANIFEST_MISMATCH]


def test_agreement_suspended_by_file_or_by_operator() -> None:
    suspended = replace(
        AGREEMENT,
        status=AgreementStatus.SUSPENDED,
        status_reason="court order",
        status_date=date(2025, 11, 21),
    )
    assert batch().check(agreement=suspended) == [RefusalCode.AGREEMENT_SUSPENDED]
    assert batch().check(status=AgreementStatus.SUSPENDED) == [RefusalCode.AGREEMENT_SUSPENDED]
    assert batch().check(agreement=suspended, status=AgreementStatus.ACTIVE) == []


@pytest.mark.parametrize(
    ("received", "expired"),
    [
        (datetime(2025, 4, 6, 23, 59, tzinfo=UTC), True),
        (datetime(2025, 4, 7, 0, 0, tzinfo=UTC), False),
        (datetime(2027, 4, 6, 23, 59, tzinfo=UTC), False),
        (datetime(2027, 4, 7, 0, 0, tzinfo=UTC), True),
        (datetime(2027, 4, 6, 21, 0, tzinfo=timezone(timedelta(hours=-5))), True),  # 02:00 UTC
        (datetime(2027, 4, 6, 12, 0), False),  # naive: taken as UTC
    ],
)
def test_agreement_expired_outside_the_term(received: datetime, expired: bool) -> None:
    assert batch().check(received=received) == ([RefusalCode.AGREEMENT_EXPIRED] if expired else [])


def test_recipient_safeguards_open_only_without_a_plan_or_closure() -> None:
    open_ = SafeguardFinding("SRR-1", "no audit log", date(2025, 9, 30))
    planned = SafeguardFinding("SRR-2", "shared drive", date(2025, 9, 30), "CAP 2025-10-15")
    closed = SafeguardFinding("SRR-3", "old", date(2025, 1, 1), None, date(2025, 3, 1))
    assert batch().check(agreement=replace(AGREEMENT, safeguard_findings=(planned, closed))) == []
    with_open = replace(AGREEMENT, safeguard_findings=(planned, open_))
    assert batch().check(agreement=with_open) == [RefusalCode.RECIPIENT_SAFEGUARDS_OPEN]


def test_batch_too_large() -> None:
    assert batch().check(agreement=replace(AGREEMENT, max_batch_rows=1)) == [
        RefusalCode.BATCH_TOO_LARGE
    ]
    assert batch().check(agreement=replace(AGREEMENT, max_batch_rows=2)) == []


# --- precedence --------------------------------------------------------------------------


def test_precedence_lists_every_batch_level_code_once() -> None:
    from ftigate.errors import REFUSAL_CODES

    batch_codes = {c for c, info in REFUSAL_CODES.items() if info.level == "batch"}
    assert set(BATCH_PRECEDENCE) == batch_codes and len(BATCH_PRECEDENCE) == len(batch_codes)


def test_all_evaluable_findings_come_in_precedence_order() -> None:
    worst = replace(
        AGREEMENT,
        status=AgreementStatus.SUSPENDED,
        max_batch_rows=1,
        safeguard_findings=(SafeguardFinding("S", "open", date(2025, 1, 1)),),
    )
    b = replace(batch(key_n=2), requests=b"changed", rows=5)
    assert b.check(agreement=worst, received=datetime(2030, 1, 1, tzinfo=UTC)) == [
        RefusalCode.SIGNATURE_INVALID,
        RefusalCode.MANIFEST_MISMATCH,
        RefusalCode.MANIFEST_MISMATCH,
        RefusalCode.AGREEMENT_SUSPENDED,
        RefusalCode.AGREEMENT_EXPIRED,
        RefusalCode.RECIPIENT_SAFEGUARDS_OPEN,
        RefusalCode.BATCH_TOO_LARGE,
    ]


def test_an_unknown_agreement_skips_what_depends_on_it() -> None:
    b = replace(batch(signer="Nobody"), requests=b"changed")
    assert b.check(agreement=None) == [RefusalCode.AGREEMENT_UNKNOWN, RefusalCode.MANIFEST_MISMATCH]


def test_an_unauthorised_signer_skips_the_signature_check() -> None:
    assert batch(signer="Nobody", key_n=2).check() == [RefusalCode.SIGNER_NOT_AUTHORIZED]


def test_batch_refusal_carries_the_first_code_and_every_finding() -> None:
    b = replace(batch(key_n=2), rows=9)
    found = check_batch(
        b.manifest_bytes,
        b.signature,
        b.manifest,
        b.requests,
        b.rows,
        AGREEMENT,
        received_at=RECEIVED,
    )
    err = batch_refusal(found)
    assert isinstance(err, BatchRefused)
    assert err.refusal is RefusalCode.SIGNATURE_INVALID
    assert err.to_json()["error"]["refusal_code"] == "SIGNATURE_INVALID"
    assert len(err.details) == 2
    assert batch_refusal([]) is None
    assert batch_refusal([Finding(RefusalCode.BATCH_TOO_LARGE, "x")]) is not None


# --- parse_manifest ------------------------------------------------------------------------


def manifest_problems(value: object) -> dict[str | None, str]:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    with pytest.raises(InputError) as e:
        parse_manifest(data, "manifest.json")
    return {d.field: d.message for d in e.value.details}


def good_manifest() -> dict[str, object]:
    return json.loads(batch().manifest_bytes)


def test_manifest_every_bad_field_is_named() -> None:
    bad = good_manifest()
    bad.update(row_count=-1, requests_sha256="abc", submitted_at="yesterday", batch_id="a b")
    bad["extra"] = 1
    del bad["signer"]
    assert set(manifest_problems(bad)) == {
        "row_count",
        "requests_sha256",
        "submitted_at",
        "batch_id",
        "extra",
        "signer",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("row_count", True),
        ("row_count", "2"),
        ("row_count", 2.5),
        ("submitted_at", "2026-11-25T14:00:00"),  # no zone
        ("agreement_id", ""),
        ("signer", 7),
        ("requests_file", "../etc/passwd.csv"),
        ("requests_file", "requests.xlsx"),
        ("requests_file", "C:requests.csv"),
    ],
)
def test_manifest_bad_values(field: str, value: object) -> None:
    bad = {**good_manifest(), field: value}
    assert field in manifest_problems(bad)


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b"{", b"\xff\xfe{}", b'{"batch_id":"a","batch_id":"b"}'],
)
def test_manifest_that_is_not_a_json_object_is_an_input_error(data: bytes) -> None:
    with pytest.raises(InputError) as e:
        parse_manifest(data, "manifest.json")
    assert "manifest.json" in str(e.value)


def test_build_manifest_refuses_a_naive_time_and_checks_what_it_writes() -> None:
    with pytest.raises(InputError):
        build_manifest(
            batch_id="B",
            agreement_id="a",
            submitted_at=datetime(2026, 1, 1),
            signer="S",
            requests_bytes=b"",
            row_count=0,
        )
    with pytest.raises(InputError):
        build_manifest(
            batch_id="B",
            agreement_id="a",
            submitted_at="2026-01-01T00:00:00Z",
            signer="S",
            requests_bytes=b"",
            row_count=0,
            requests_file="../x.csv",
        )
