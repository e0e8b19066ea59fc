"""Builders shared by the policy tests: the sample agreement, a good request, keys."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.model import Agreement, Request
from ftigate.policy.agreement import parse_agreement

SAMPLE = Path(__file__).resolve().parents[2] / "agreements" / "irs-ice-2025.yaml"

GOOD: dict[str, str] = {
    "first_name": "Ana",
    "middle_name": "Lucía",
    "last_name": "Ruiz de la Cruz",
    "dob": "1984-06-02",
    "street": "123 Main St",
    "unit": "Apt 4",
    "city": "Austin",
    "state": "TX",
    "zip": "78701",
    "tax_periods": "2022;2023",
    "statute": "8 U.S.C. 1326",
    "reason": "Removed in 2019 and found in Texas in 2025; reentry warrant to be served",
    "case_number": "C-0001",
    "officer_id": "OFC-17",
    "requested_fields": "last_known_address",
    "tin": "",
}
"""A request that meets every rule of the sample agreement."""


def row(line: int = 2, request_id: str | None = None, **changes: str) -> Request:
    """A good request on ``line`` with ``changes`` applied."""
    values: dict[str, Any] = {**GOOD, **changes}
    return Request(line=line, request_id=request_id or f"R{line}", **values)


def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def sample_agreement(**changes: Any) -> Agreement:
    return replace(parse_agreement(sample_bytes(), str(SAMPLE)), **changes)


def demo_signer_key(n: int = 1) -> Ed25519PrivateKey:
    """The sample agreement's public demo signers (seed = SHA-256 of a published label)."""
    seed = hashlib.sha256(f"ftigate demo requester signer {n}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)
