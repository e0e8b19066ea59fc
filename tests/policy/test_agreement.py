"""The agreement parser: the sample loads; every kind of mistake is named with its path and line."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import yaml

from ftigate.errors import AgreementInvalid
from ftigate.keys import public_key_b64
from ftigate.model import AgreementStatus
from ftigate.policy.agreement import STATUTORY_FIELDS, parse_agreement

from .helpers import SAMPLE, demo_signer_key, sample_bytes


def problems(text: str | bytes) -> list[tuple[str | None, int | None, str]]:
    with pytest.raises(AgreementInvalid) as e:
        parse_agreement(text, "a.yaml")
    assert all(d.file == "a.yaml" for d in e.value.details)
    return [(d.field, d.line, d.message) for d in e.value.details]


def edited(old: str, new: str) -> str:
    text = sample_bytes().decode()
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln)


def test_sample_agreement_loads_with_the_statutes_requirements() -> None:
    a = parse_agreement(sample_bytes(), str(SAMPLE))
    assert a.id == "irs-ice-2025" and a.version == 1
    assert a.legal_basis == "26 U.S.C. 6103(i)(2)"
    assert a.status is AgreementStatus.ACTIVE and a.status_reason is None
    assert (a.effective, a.expires) == (date(2025, 4, 7), date(2027, 4, 6))
    assert a.allowed_statutes == ("8 U.S.C. 1253(a)(1)", "8 U.S.C. 1324", "8 U.S.C. 1326")
    assert a.disclosable_fields == ("last_known_address",)
    assert set(STATUTORY_FIELDS) <= set(a.required_fields)
    assert a.match_policy.require_address_corroboration is True
    assert a.match_policy.review_floor < a.match_policy.threshold
    assert a.max_cases_per_officer == 200 and not a.po_box_allowed
    assert a.safeguard_findings == ()
    assert a.signers[0].public_key == demo_signer_key(1).public_key().public_bytes_raw()


def test_sha256_is_of_the_exact_bytes_whether_given_text_or_bytes() -> None:
    data = sample_bytes()
    expected = hashlib.sha256(data).hexdigest()
    assert parse_agreement(data, "s").sha256 == expected
    assert parse_agreement(data.decode(), "s").sha256 == expected
    assert parse_agreement(data.replace(b"\n", b"\r\n"), "s").sha256 != expected


def test_a_misspelt_key_is_named_with_its_line_and_a_suggestion() -> None:
    text = edited("disclosable_fields:", "disclosable_feilds:")
    found = problems(text)
    typo = next(p for p in found if p[0] == "disclosable_feilds")
    assert typo[1] == line_of(text, "disclosable_feilds:")
    assert "did you mean 'disclosable_fields'" in typo[2]
    assert ("disclosable_fields", 1, "required key is missing") in found


def test_a_nested_unknown_key_has_a_dotted_path() -> None:
    text = edited("  margin: 0.05", "  margin: 0.05\n  marjin: 0.1")
    [(path, line, message)] = problems(text)
    assert path == "match_policy.marjin"
    assert line == line_of(text, "marjin")
    assert "did you mean 'margin'" in message


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = edited("version: 1", "version: 0")
    text = text.replace("threshold: 0.999", "threshold: yes")
    text = text.replace("GsMklm0DYbmjrIt9qtA3nSOSapqmyjYHnfU4uDiX5kg=", "not-a-key")
    text = text.replace("  expires: 2027-04-06", "  expires: 2024-01-01")
    text = text.replace("max_cases_per_officer: 200", "max_cases_per_officer: '200'")
    found = {p[0]: p for p in problems(text)}
    assert set(found) == {
        "version",
        "match_policy.threshold",
        "signers[0].public_key",
        "term.expires",
        "limits.max_cases_per_officer",
    }
    assert found["signers[0].public_key"][1] == line_of(text, "not-a-key")
    assert "at least 1" in found["version"][2]
    assert "after term.effective" in found["term.expires"][2]


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        (
            "  - last_known_address",
            "  - last_known_address\n  - phone",
            "disclosable_fields[1]",
            "not one of",
        ),
        ("  - last_known_address", "  - email", "disclosable_fields[0]", "not one of"),
        ("  - 8 U.S.C. 1326 ", "  - 26 U.S.C. 7201 ", "allowed_statutes[2]", "Title 26"),
        ("  - 8 U.S.C. 1326 ", "  - Immigration Act ", "allowed_statutes[2]", "not a U.S.C."),
        ("  - 8 U.S.C. 1326 ", "  - 8 USC 1324(a) ", "allowed_statutes[2]", "overlaps"),
        ("  - reason\n", "", "required_fields", "must include reason"),
        ("  - street\n", "", "required_fields", "must include street"),
        ("  - officer_id\n", "  - officer\n", "required_fields", "must include officer_id"),
        (
            "legal_basis: 26 U.S.C. 6103(i)(2)",
            "legal_basis: 26 U.S.C. 6103(i)(1)",
            "legal_basis",
            "not supported",
        ),
        ("  state: active ", "  state: paused ", "status.state", "active, suspended"),
        ("  state: active ", "  state: suspended ", "status.reason", "must record why"),
        ("  review_floor: 0.95", "  review_floor: 0.9999", "match_policy.review_floor", "exceed"),
        ("  threshold: 0.999", "  threshold: 0.3", "match_policy.threshold", "between 0.5"),
        ("po_box_allowed: false", "po_box_allowed: 'false'", "po_box_allowed", "true or false"),
        (
            "  effective: 2025-04-07",
            "  effective: 2025-04-07T09:00:00",
            "term.effective",
            "not a date and time",
        ),
        ("  effective: 2025-04-07", "  effective: April 7", "term.effective", "YYYY-MM-DD"),
        ("safeguard_findings: []", "safeguard_findings:", "safeguard_findings", "write []"),
        ("id: irs-ice-2025", "id: IRS ICE", "id", "lower-case"),
        (
            "  - name: Demo Requester Signer 2",
            "  - name: Demo Requester Signer 1",
            "signers[1].name",
            "listed twice",
        ),
    ],
)
def test_bad_values_are_named(old: str, new: str, path: str, words: str) -> None:
    found = problems(edited(old, new))
    assert any(p[0] == path and words in p[2] for p in found), found


def test_a_suspension_with_reason_and_date_loads() -> None:
    text = edited(
        "  state: active          # active | suspended\n"
        "  reason: null           # required when suspended: why (court order, finding, ...)\n"
        "  date: null ",
        "  state: suspended\n  reason: Court order of 2025-11-21\n  date: 2025-11-21 ",
    )
    a = parse_agreement(text, "a.yaml")
    assert a.status is AgreementStatus.SUSPENDED
    assert (a.status_reason, a.status_date) == ("Court order of 2025-11-21", date(2025, 11, 21))


def test_safeguard_findings_are_read_with_their_plan_and_dates() -> None:
    text = edited(
        "safeguard_findings: []",
        "safeguard_findings:\n"
        "  - id: SRR-1\n    description: no audit log\n    opened: 2025-09-30\n"
        "  - id: SRR-2\n    description: shared drive\n    opened: 2025-09-30\n"
        "    corrective_action_plan: CAP accepted 2025-10-15\n    closed: null\n",
    )
    a = parse_agreement(text, "a.yaml")
    assert [(f.id, f.blocks_disclosure) for f in a.safeguard_findings] == [
        ("SRR-1", True),
        ("SRR-2", False),
    ]
    bad = text.replace("\n    closed: null\n", "\n    closed: 2025-01-01\n    severity: high\n")
    found = problems(bad)
    assert ("safeguard_findings[1].severity", line_of(bad, "severity"), found[0][2]) in found
    assert any(p[0] == "safeguard_findings[1].closed" for p in found)


def test_a_signer_key_from_keys_generate_is_accepted() -> None:
    key = public_key_b64(demo_signer_key(3).public_key())
    a = parse_agreement(edited("GsMklm0DYbmjrIt9qtA3nSOSapqmyjYHnfU4uDiX5kg=", key), "a.yaml")
    assert a.signers[0].public_key == demo_signer_key(3).public_key().public_bytes_raw()


def test_yaml_syntax_errors_are_translated_with_their_line() -> None:
    text = edited("  margin: 0.05", "  margin: [0.05")
    with pytest.raises(AgreementInvalid) as e:
        parse_agreement(text, "a.yaml")
    assert isinstance(e.value.__cause__, yaml.YAMLError)
    assert e.value.details[0].line is not None and e.value.details[0].line >= line_of(
        text, "margin"
    )


def test_a_key_given_twice_is_an_error_not_a_silent_override() -> None:
    text = edited("po_box_allowed: false", "po_box_allowed: false\npo_box_allowed: true")
    [(path, line, _)] = problems(text)
    assert (path, line) == ("po_box_allowed", line_of(text, "po_box_allowed: true"))


@pytest.mark.parametrize("text", ["", "- a list\n", "just text\n"])
def test_a_document_that_is_not_a_mapping_is_one_problem(text: str) -> None:
    [(path, _, message)] = problems(text)
    assert path is None and "must be a mapping" in message


def test_non_utf8_bytes_name_the_line() -> None:
    data = sample_bytes().replace(b"title: >-", b"title: >-\n  Caf\xe9", 1)
    with pytest.raises(AgreementInvalid) as e:
        parse_agreement(data, "a.yaml")
    assert e.value.details[0].line == line_of(data.decode("latin-1"), "Caf")


def test_errors_render_in_the_one_json_shape() -> None:
    with pytest.raises(AgreementInvalid) as e:
        parse_agreement(edited("version: 1", "version: -1"), "a.yaml")
    body = e.value.to_json()["error"]
    assert body["code"] == "AGREEMENT_INVALID" and body["status"] == 400
    assert body["details"] == [
        {"file": "a.yaml", "line": 13, "field": "version", "message": "must be at least 1, not -1"}
    ]


def test_recursive_yaml_aliases_do_not_hang() -> None:
    found = problems("id: &x [*x]\n")
    assert ("id", 1) in [(p[0], p[1]) for p in found]
