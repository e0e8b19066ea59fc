"""``valid_record_json`` (verify's fast path) accepts exactly what ``decode_record`` accepts.

Records are drawn valid, then mutated where the checks live: a key's value replaced with a
value near a boundary (wrong type, bool for int, hex with a newline, an unknown enum, unsorted
or mixed lists), a key dropped or added, the bytes re-encoded non-canonically or flipped.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.errors import InputError
from ftigate.ledger import leaf as lf
from ftigate.model import Outcome, Reason

from .records import decision

text = st.text(max_size=12)
names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@st.composite
def valid_records(draw: st.DrawFn) -> lf.LedgerRecord:
    shape = draw(st.sampled_from(["disclose", "refuse", "not_disclosed", "remediation"]))
    base = decision(draw(st.integers(0, 2**40)), tin="123456789" if shape == "disclose" else None)
    common: dict[str, Any] = {
        "batch_id": draw(text.filter(bool)),
        "request_id": draw(text.filter(bool)),
        "statute": draw(text),
        "reviewers": tuple(draw(st.lists(text, max_size=3))),
        "releaser": draw(st.none() | text),
        "snapshot_id": draw(st.none() | text),
        "line": draw(st.none() | st.integers(0, 2**53 - 1)),
    }
    if shape == "disclose":
        return replace(
            base, **common, fields_disclosed=tuple(draw(st.lists(names, min_size=1, max_size=3)))
        )
    if shape == "refuse":
        return replace(base, **common, refusal_codes=tuple(draw(st.lists(text, min_size=1))))
    if shape == "not_disclosed":
        return replace(
            base,
            **common,
            outcome=Outcome.NOT_DISCLOSED,
            refusal_codes=(),
            reason=draw(st.none() | st.sampled_from(Reason)),
        )
    return replace(
        base,
        **common,
        kind=draw(st.sampled_from(sorted(lf.REMEDIATION_KINDS))),
        outcome=None,
        refusal_codes=(),
        remediates=draw(st.integers(0, 2**53 - 1)),
        remediation_reason=draw(text.filter(bool)),
        tin_hmac=draw(st.none() | st.just("b" * 64)),
    )


HEX64 = ["a" * 64, "a" * 64 + "\n", "A" * 64, "a" * 63, "g" * 64, "", None]
NAMES = [[], ["a"], ["a", "b"], ["b", "a"], ["a", 1], [None], [["a"]], "a", None]
# for each key, values at the edges of its checks
NEAR: dict[str, list[Any]] = {
    "v": [0, 1, 2, True, 1.0, "1", None],
    "kind": [*map(str, lf.RecordKind), "decision", "", None, 1],
    "outcome": [*map(str, Outcome), "disclose", "", None, 1],
    "reason": [*map(str, Reason), "NOPE", "", None, 1],
    "line": [None, 0, -1, 2**53 - 1, 2**53, True, False, 1.0, "5"],
    "remediates": [None, 0, -1, 2**53 - 1, 2**53, True, 1.0, "5"],
    "agreement_sha256": HEX64,
    "tin_hmac": HEX64,
    "model_sha256": HEX64,
    "salt": ["0" * 32, "0" * 32 + "\n", "0" * 31, "A" * 32, "0" * 64, None],
    "time": [
        "2025-08-07T12:00:00Z",
        "2025-08-07T12:00:00.123456789Z",
        "2025-08-07T12:00:00.1234567890Z",
        "2025-08-07T12:00:00+00:00",
        "2025-08-07T12:00:00Z\n",
        "2025-08-07 12:00:00Z",
        None,
    ],
    "fields_disclosed": [*NAMES, ["zip"], ["Zip"], ["city", "zip"], ["zip", "city"], ["1a"]],
    "refusal_codes": [*NAMES, ["MISSING_ADDRESS"]],
    "reviewers": NAMES,
    "remediation_reason": ["", "wrong person", None, 1],
    "extra": [None, 1, "x"],
}
for k in ("batch_id", "request_id", "agreement_id", "statute", "software_version"):
    NEAR[k] = ["", "x", None, 1, ["x"], True]
for k in ("releaser", "snapshot_id"):
    NEAR[k] = ["", "x", None, 1, ["x"], False]
assert set(NEAR) == lf._KEYS | {"extra"}
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text, st.lists(text)
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    obj = lf.record_to_json(draw(valid_records()))
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 2, 2, 3]))):
        key = draw(st.sampled_from(sorted(NEAR)))
        how = draw(st.sampled_from(["near", "near", "near", "other record", "anything", "drop"]))
        if how == "drop":
            obj.pop(key, None)
        elif how == "other record":  # a value that is valid in a record of another shape
            obj[key] = lf.record_to_json(draw(valid_records())).get(key)
        else:
            obj[key] = draw(st.sampled_from(NEAR[key]) if how == "near" else anything)
    how = draw(st.sampled_from(["canonical"] * 5 + ["ascii", "spaced", "unsorted", "flip"]))
    if how == "unsorted":
        obj = dict(reversed(list(obj.items())))
    data = json.dumps(
        obj,
        sort_keys=how != "unsorted",
        separators=(", ", ": ") if how == "spaced" else (",", ":"),
        ensure_ascii=how == "ascii",
    ).encode("utf-8", "surrogatepass")
    if how == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


def accepted(data: bytes) -> lf.LedgerRecord | None:
    try:
        return lf.decode_record(data)
    except InputError:
        return None


def assert_same_verdict(data: bytes) -> None:
    fast = lf.valid_record_json(data)
    slow = accepted(data)
    assert (fast is None) == (slow is None), (data, slow)
    if slow is not None:
        assert fast == lf.record_to_json(slow)


SHAPES = {
    "disclose": decision(1),
    "refuse": decision(2, tin=None),
    "not_disclosed": decision(
        3, tin=None, outcome=Outcome.NOT_DISCLOSED, refusal_codes=(), reason=Reason.NO_MATCH
    ),
    "remediation": decision(
        4,
        kind=lf.RecordKind.ERRONEOUS_RELEASE,
        outcome=None,
        reason=None,
        fields_disclosed=(),
        remediates=1,
        remediation_reason="wrong person",
    ),
}


def test_every_single_edge_value_in_every_shape() -> None:
    """Each key set to each of its edge values, or to its value in another shape, or dropped."""
    for base in SHAPES.values():
        for key, values in NEAR.items():
            others = [lf.record_to_json(o).get(key) for o in SHAPES.values()]
            for value in [*values, *others]:
                obj = {**lf.record_to_json(base), key: value}
                assert_same_verdict(
                    json.dumps(
                        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                    ).encode("utf-8")
                )
            obj = lf.record_to_json(base)
            obj.pop(key, None)
            assert_same_verdict(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())


@settings(max_examples=500, deadline=None)
@given(mutated())
def test_fast_path_has_the_acceptance_set_of_decode_record(data: bytes) -> None:
    assert_same_verdict(data)


@settings(max_examples=300, deadline=None)
@given(valid_records())
def test_fast_path_accepts_every_valid_record(record: lf.LedgerRecord) -> None:
    data = lf.encode_record(record)
    assert lf.valid_record_json(data) == lf.record_to_json(record)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,  # deeper than the parser's recursion limit
        b'{"v":' + b"1" * 5000 + b"}",  # an integer too long to convert
        lf.encode_record(decision(1)).replace(b'"R0000001"', b'"\\ud800"'),  # lone surrogate
        lf.encode_record(decision(1)) + b"\n",
        b"\xff",
        b"",
    ],
)
def test_hostile_bytes_are_refused_by_both_without_crashing(data: bytes) -> None:
    assert lf.valid_record_json(data) is None
    with pytest.raises(InputError):
        lf.decode_record(data)
