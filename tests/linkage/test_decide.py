"""The disclosure rules: every path, the hard cases, determinism."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from ftigate.linkage.decide import decide_request, estimated_false_disclosures
from ftigate.model import Candidate, Decision, MatchPolicy, Outcome, Reason, Request

POLICY = MatchPolicy(threshold=0.999, margin=0.05, review_floor=0.95)
REQ = Request(
    line=2,
    request_id="R1",
    first_name="Ana",
    last_name="Reyes",
    dob="1990-06-06",
    street="12 Main St",
    city="Houston",
    state="TX",
    zip="77001",
)


def cand(tin: str, p: float, **kw: object) -> Candidate:
    kw.setdefault("address_corroborated", True)
    kw.setdefault("match_weight", 40.0 * p)
    ev = kw.pop("evidence", {})
    return Candidate(tin, p, evidence=MappingProxyType(dict(ev)), **kw)  # type: ignore[arg-type]


def test_confident_unique_corroborated_match_is_disclosed() -> None:
    d = decide_request(REQ, [cand("1", 0.99999), cand("2", 0.2)], POLICY)
    assert (d.outcome, d.tin, d.reason) == (Outcome.DISCLOSE, "1", None)
    assert d.runner_up_probability == 0.2
    assert any("reaches threshold" in r for r in d.rules)


def test_no_candidates_is_no_match() -> None:
    d = decide_request(REQ, [], POLICY)
    assert (d.outcome, d.reason, d.tin) == (Outcome.NOT_DISCLOSED, Reason.NO_MATCH, None)


def test_review_band() -> None:
    d = decide_request(REQ, [cand("1", 0.97)], POLICY)
    assert d.outcome is Outcome.REVIEW


def test_low_confidence_and_no_match_below_review_floor() -> None:
    assert decide_request(REQ, [cand("1", 0.8)], POLICY).reason is Reason.LOW_CONFIDENCE
    assert decide_request(REQ, [cand("1", 0.1)], POLICY).reason is Reason.NO_MATCH


def test_runner_up_within_margin_is_ambiguous() -> None:
    d = decide_request(REQ, [cand("1", 0.99999), cand("2", 0.99)], POLICY)
    assert (d.outcome, d.reason) == (Outcome.NOT_DISCLOSED, Reason.AMBIGUOUS)


def test_address_must_corroborate_when_policy_says() -> None:
    c = cand("1", 0.99999, address_corroborated=False)
    d = decide_request(REQ, [c], POLICY)
    assert d.reason is Reason.ADDRESS_NOT_CORROBORATED
    loose = MatchPolicy(require_address_corroboration=False)
    assert decide_request(REQ, [c], loose).outcome is Outcome.DISCLOSE


def test_dob_conflict_is_never_disclosed() -> None:
    d = decide_request(REQ, [cand("1", 0.999999, dob_conflict=True)], POLICY)
    assert (d.outcome, d.reason) == (Outcome.NOT_DISCLOSED, Reason.DOB_CONFLICT)


def test_twin_not_in_register_is_not_disclosed() -> None:
    # Request for Ana; only her twin Eva files: same dob, same address, given name differs.
    eva = cand("2", 0.999999, name_conflict=True)
    d = decide_request(REQ, [eva], POLICY)
    assert d.outcome is Outcome.NOT_DISCLOSED
    assert d.reason is Reason.NO_MATCH


def test_twin_in_register_is_told_apart_by_given_name() -> None:
    ana, eva = cand("1", 0.999999), cand("2", 0.999999, name_conflict=True, match_weight=50.0)
    d = decide_request(REQ, [eva, ana], POLICY)
    assert (d.outcome, d.tin) == (Outcome.DISCLOSE, "1")


def test_identical_twins_are_ambiguous() -> None:
    d = decide_request(REQ, [cand("1", 0.999999), cand("2", 0.999999)], POLICY)
    assert d.reason is Reason.AMBIGUOUS


def test_father_and_son_without_dob_or_suffix_are_ambiguous() -> None:
    ev = {"suffix": "one side only", "dob": "missing"}
    d = decide_request(
        REQ, [cand("1", 0.99995, evidence=ev), cand("2", 0.9999, evidence=ev)], POLICY
    )
    assert d.outcome is Outcome.NOT_DISCLOSED


def test_suffix_conflict_sets_the_father_aside() -> None:
    son = cand("1", 0.99999, evidence={"suffix": "exact", "dob": "missing"})
    father = cand("2", 0.99999, suffix_conflict=True)
    d = decide_request(REQ, [father, son], POLICY)
    assert (d.outcome, d.tin) == (Outcome.DISCLOSE, "1")


def test_suffix_on_one_side_without_dob_goes_to_review() -> None:
    only = cand("2", 0.99999, evidence={"suffix": "one side only", "dob": "missing"})
    d = decide_request(REQ, [only], POLICY)
    assert d.outcome is Outcome.REVIEW


def test_surname_entirely_different_goes_to_review() -> None:
    d = decide_request(REQ, [cand("1", 0.99999, evidence={"last_name": "different"})], POLICY)
    assert d.outcome is Outcome.REVIEW


def test_supplied_tin_is_a_signal_not_a_substitute() -> None:
    req = Request(
        line=2, request_id="R1", first_name="Zenaida", last_name="Quiroga", tin="900-70-0001"
    )
    owner = cand("900700001", 0.9999999, name_conflict=True, supplied_tin_matches=True)
    d = decide_request(req, [owner], POLICY)
    assert d.outcome is Outcome.NOT_DISCLOSED
    # Best is someone else than the TIN's owner: the request points at two people.
    other = cand("5", 0.99999, supplied_tin_matches=False)
    owner_low = cand("900700001", 0.01, supplied_tin_matches=True)
    d = decide_request(req, [other, owner_low], POLICY)
    assert (d.outcome, d.reason) == (Outcome.NOT_DISCLOSED, Reason.AMBIGUOUS)


def test_estimated_false_disclosures() -> None:
    ds = [
        Decision("a", Outcome.DISCLOSE, probability=0.999),
        Decision("b", Outcome.DISCLOSE, probability=0.9995),
        Decision("c", Outcome.REVIEW, probability=0.96),
    ]
    assert abs(estimated_false_disclosures(ds) - 0.0015) < 1e-12


probs = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.lists(st.tuples(probs, st.booleans(), st.booleans(), st.booleans()), max_size=6))
def test_decisions_are_deterministic_and_never_disclose_a_conflict(
    rows: list[tuple[float, bool, bool, bool]],
) -> None:
    cands = [
        cand(str(i), p, dob_conflict=dc, name_conflict=nc, address_corroborated=ac)
        for i, (p, dc, nc, ac) in enumerate(rows)
    ]
    d1 = decide_request(REQ, cands, POLICY)
    d2 = decide_request(REQ, list(reversed(cands)), POLICY)
    assert d1 == d2
    if d1.outcome is Outcome.DISCLOSE:
        chosen = next(c for c in cands if c.tin == d1.tin)
        assert not chosen.dob_conflict and not chosen.name_conflict
        assert chosen.address_corroborated and chosen.probability >= POLICY.threshold


def test_an_initial_alone_never_discloses() -> None:
    # Twins Ha and Hiep share an initial; asked for "H", the one that files must not be named.
    hiep = cand("1", 0.999999, evidence={"first_name": "initial", "dob": "exact"})
    d = decide_request(REQ, [hiep], POLICY)
    assert d.outcome is Outcome.REVIEW
    assert any("initial" in r for r in d.rules)


def test_a_missing_given_name_never_discloses() -> None:
    only = cand("1", 0.999999, evidence={"first_name": "missing", "dob": "exact"})
    assert decide_request(REQ, [only], POLICY).outcome is Outcome.REVIEW


def test_identical_name_twins_are_ambiguous_whatever_the_weights() -> None:
    ev = {"first_name": "exact", "dob": "exact", "address": "same door"}
    a = cand("1", 0.9999999, match_weight=41.0, evidence=ev)
    b = cand("2", 0.9999998, match_weight=40.0, evidence=ev)
    d = decide_request(REQ, [a, b], POLICY)
    assert (d.outcome, d.reason) == (Outcome.NOT_DISCLOSED, Reason.AMBIGUOUS)


def test_tin_of_another_person_with_the_same_name_is_ambiguous() -> None:
    # Request: Ana Reyes's name, dob and address, but another Ana Reyes's TIN.
    req = Request(line=2, request_id="R1", first_name="Ana", last_name="Reyes", tin="900700002")
    mine = cand("900700001", 0.99999, supplied_tin_matches=False)
    theirs = cand("900700002", 0.2, dob_conflict=True, supplied_tin_matches=True)
    d = decide_request(req, [mine, theirs], POLICY)
    assert (d.outcome, d.reason) == (Outcome.NOT_DISCLOSED, Reason.AMBIGUOUS)
