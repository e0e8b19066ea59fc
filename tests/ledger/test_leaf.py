"""The canonical leaf record: RFC 8785 equality, strict decoding, validation, the TIN HMAC."""

from __future__ import annotations

from dataclasses import replace

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.errors import InputError
from ftigate.ledger import leaf as lf
from ftigate.model import Outcome, Reason

from .records import TIN_KEY, decision

text = st.text(min_size=1, max_size=30)  # any Unicode scalar values, control characters too
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def records(draw: st.DrawFn) -> lf.LedgerRecord:
    disclose = draw(st.booleans())
    return replace(
        decision(draw(st.integers(0, 2**40)), tin="123456789" if disclose else None),
        batch_id=draw(text),
        request_id=draw(text),
        statute=draw(text),
        reviewers=tuple(draw(st.lists(text, max_size=3))),
        releaser=draw(st.none() | text),
        fields_disclosed=tuple(draw(st.lists(names, min_size=1, max_size=4))) if disclose else (),
        refusal_codes=() if disclose else tuple(draw(st.lists(text, min_size=1, max_size=3))),
        snapshot_id=draw(st.none() | text),
    )


@settings(max_examples=300, deadline=None)
@given(records())
def test_encoding_is_rfc8785(record: lf.LedgerRecord) -> None:
    data = lf.encode_record(record)
    assert data == rfc8785.dumps(lf.record_to_json(record))
    assert lf.decode_record(data) == record


def test_golden_encoding() -> None:
    # a fixed record and its bytes: change these only with a new format version
    r = decision(0, tin=None)
    assert lf.encode_record(r) == (
        b'{"agreement_id":"irs-dhs-2025","agreement_sha256":"' + b"a" * 64 + b'",'
        b'"batch_id":"B-1","fields_disclosed":[],"kind":"DECISION","line":2,'
        b'"model_sha256":"' + b"c" * 64 + b'","outcome":"REFUSED","reason":null,'
        b'"refusal_codes":["MISSING_ADDRESS"],"releaser":"officer-b","remediates":null,'
        b'"remediation_reason":null,"request_id":"R0000000","reviewers":["officer-a"],'
        b'"salt":"00000000000000000000000000000000",'
        b'"snapshot_id":"snap-1","software_version":"0.1.0","statute":"8 U.S.C. 1253(a)(1)",'
        b'"time":"2025-08-07T12:00:00Z","tin_hmac":null,"v":1}'
    )


def test_lists_are_sorted_so_equal_records_encode_equally() -> None:
    a = decision(1, reviewers=("b", "a"))
    b = decision(1, reviewers=("a", "b"))
    assert a == b and lf.encode_record(a) == lf.encode_record(b)


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"v":1}',
        b"\xff\xfe",
    ],
)
def test_decode_refuses_garbage(data: bytes) -> None:
    with pytest.raises(InputError):
        lf.decode_record(data)


def test_decode_refuses_non_canonical_bytes() -> None:
    data = lf.encode_record(decision(3))
    spaced = data.replace(b'","', b'", "', 1)
    with pytest.raises(InputError, match="canonical"):
        lf.decode_record(spaced)
    reordered = b'{"v":1,' + data[1:].replace(b',"v":1}', b"}")
    with pytest.raises(InputError, match="canonical"):
        lf.decode_record(reordered)


def test_decode_refuses_wrong_types() -> None:
    data = lf.encode_record(decision(3)).replace(b'"line":5', b'"line":"5"')
    with pytest.raises(InputError) as e:
        lf.decode_record(data)
    assert any(d.field == "line" for d in e.value.details)
    data = lf.encode_record(decision(3)).replace(b'"line":5', b'"line":true')
    with pytest.raises(InputError):
        lf.decode_record(data)


def test_validation_collects_every_problem() -> None:
    with pytest.raises(InputError) as e:
        decision(0, agreement_sha256="nope", time="yesterday", fields_disclosed=("123 Main St",))
    assert {d.field for d in e.value.details} >= {"agreement_sha256", "time", "fields_disclosed"}


@pytest.mark.parametrize(
    "changes",
    [
        {"outcome": Outcome.REVIEW},
        {"outcome": Outcome.DISCLOSE, "fields_disclosed": ()},
        {"tin_hmac": None},  # a disclosure always concerns a person
        {"refusal_codes": ("MISSING_ADDRESS",)},
        {"remediates": 3, "remediation_reason": "x"},
        {"line": -1},
        {"tin_hmac": "ABC"},
    ],
)
def test_inconsistent_decisions_are_refused(changes: dict) -> None:
    with pytest.raises(InputError):
        decision(0, **changes)


def test_remediation_leaves() -> None:
    r = decision(
        0,
        kind=lf.RecordKind.ERRONEOUS_RELEASE,
        outcome=None,
        reason=None,
        fields_disclosed=(),
        remediates=7,
        remediation_reason="wrong person",
    )
    assert lf.decode_record(lf.encode_record(r)) == r
    with pytest.raises(InputError):
        replace(r, remediates=None)
    with pytest.raises(InputError):
        replace(r, outcome=Outcome.DISCLOSE)


def test_refusal_with_reason_none_round_trips() -> None:
    r = decision(
        0, tin=None, outcome=Outcome.NOT_DISCLOSED, refusal_codes=(), reason=Reason.AMBIGUOUS
    )
    assert lf.decode_record(lf.encode_record(r)).reason is Reason.AMBIGUOUS


def test_salt_blinds_the_leaf_hash() -> None:
    a = decision(0, tin=None, salt="0" * 32)
    r = lf.LedgerRecord(**{**{f: getattr(a, f) for f in a.__dataclass_fields__}, "salt": "1" * 32})
    assert lf.encode_record(a) != lf.encode_record(r)
    kw = {f: getattr(a, f) for f in a.__dataclass_fields__ if f != "salt"}
    assert lf.LedgerRecord(**kw).salt != lf.LedgerRecord(**kw).salt  # random by default
    with pytest.raises(InputError):
        replace(a, salt="xyz")


def test_tin_hmac_normalises_and_never_echoes_the_tin() -> None:
    h = lf.tin_hmac(TIN_KEY, "123-45-6789")
    assert h == lf.tin_hmac(TIN_KEY, " 123 45 6789 ") == lf.tin_hmac(TIN_KEY, "123456789")
    assert h != lf.tin_hmac(b"u" * 32, "123456789")
    assert len(h) == 64 and "123456789" not in h
    with pytest.raises(InputError) as e:
        lf.tin_hmac(TIN_KEY, "12345678X")
    assert "12345678" not in str(e.value)
    with pytest.raises(InputError):
        lf.tin_hmac(b"short", "123456789")


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(InputError):
        lf.encode_record(decision(0, request_id="\ud800"))


def test_unsorted_lists_are_not_canonical() -> None:
    data = lf.encode_record(decision(3, reviewers=("a", "b")))
    assert b'"reviewers":["a","b"]' in data
    with pytest.raises(InputError, match="canonical"):
        lf.decode_record(data.replace(b'"reviewers":["a","b"]', b'"reviewers":["b","a"]'))


@pytest.mark.parametrize("name", ["agreement_sha256", "salt", "time", "model_sha256"])
def test_a_trailing_newline_is_not_a_valid_value(name: str) -> None:
    record = decision()
    value = getattr(record, name)
    with pytest.raises(InputError):
        replace(record, **{name: value + "\n"})
    good = lf.encode_record(record)
    bad = good.replace(value.encode(), value.encode() + b"\\n", 1)
    with pytest.raises(InputError):
        lf.decode_record(bad)
    assert lf.valid_record_json(bad) is None
