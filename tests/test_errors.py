from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ftigate import errors
from ftigate.errors import REFUSAL_CODES, FtigateError, InputError, RefusalCode

DESIGN_CODES = {
    "SIGNATURE_INVALID",
    "SIGNER_NOT_AUTHORIZED",
    "MANIFEST_MISMATCH",
    "AGREEMENT_UNKNOWN",
    "AGREEMENT_SUSPENDED",
    "AGREEMENT_EXPIRED",
    "RECIPIENT_SAFEGUARDS_OPEN",
    "BATCH_TOO_LARGE",
    "DUPLICATE_REQUEST",
    "MISSING_NAME",
    "MISSING_ADDRESS",
    "ADDRESS_NOT_SPECIFIC",
    "MISSING_TAX_PERIOD",
    "STATUTE_NOT_IN_AGREEMENT",
    "MISSING_REASON",
    "MISSING_OFFICER",
    "ENGAGEMENT_IMPLAUSIBLE",
    "FIELD_NOT_DISCLOSABLE",
    "MALFORMED_ROW",
}


def test_refusal_table_is_exactly_the_design_codes() -> None:
    assert {str(c) for c in RefusalCode} == DESIGN_CODES
    assert set(REFUSAL_CODES) == set(RefusalCode)
    batch = {str(c) for c, i in REFUSAL_CODES.items() if i.level == "batch"}
    assert batch == {
        "SIGNATURE_INVALID",
        "SIGNER_NOT_AUTHORIZED",
        "MANIFEST_MISMATCH",
        "AGREEMENT_UNKNOWN",
        "AGREEMENT_SUSPENDED",
        "AGREEMENT_EXPIRED",
        "RECIPIENT_SAFEGUARDS_OPEN",
        "BATCH_TOO_LARGE",
    }


def test_every_error_class_renders_the_one_json_shape() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, FtigateError)
    ]
    assert len(classes) >= 9
    for cls in classes:
        if cls is errors.BatchRefused:
            err: FtigateError = cls(RefusalCode.BATCH_TOO_LARGE, "too big")
        else:
            err = cls("boom", file="f.csv", line=3, field="zip")
        body = err.to_json()
        assert set(body) == {"error"}
        assert {"code", "status", "message", "details"} <= set(body["error"])
        assert re.fullmatch(r"[A-Z_]+", body["error"]["code"])
        assert 400 <= body["error"]["status"] <= 599


def test_input_error_names_file_line_and_field() -> None:
    err = InputError("bad TIN", file="taxpayers.csv", line=7, field="tin")
    assert "taxpayers.csv:7 [tin]: bad TIN" in str(err)


def test_refusal_codes_are_documented_in_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [str(c) for c in RefusalCode if f"`{c}`" not in readme]
    assert not missing, f"README's refusal-code table lacks {missing}"


@pytest.mark.parametrize("code", list(RefusalCode))
def test_refusal_code_has_meaning(code: RefusalCode) -> None:
    assert len(REFUSAL_CODES[code].meaning) > 20
