"""The disclosure decision for one request: pure rules over scored candidates.

The model says how likely each register person is to be the one requested; this module decides
whether that is enough to release an address. A wrong-person disclosure is the worst error, so
every rule here can only *withhold*:

1. A candidate with hard evidence of being someone else is set aside, whatever its score: a
   date of birth that differs beyond a typo (``dob_conflict``), a given name with no name-like
   relation to the requested one (``name_conflict``: a twin sister), or a different generational
   suffix (``suffix_conflict``: the father when the son was asked for). A supplied TIN that
   belongs to such a person is not a match either.
2. The best remaining candidate must reach ``policy.threshold``; from ``review_floor`` up to the
   threshold an officer decides (REVIEW).
3. The runner-up (the next candidate not set aside) must be below ``best - policy.margin``.
4. When the agreement requires it, the requested address must match an address in the best
   candidate's history (``address_corroborated``), as § 6103(i)(2) asks the requester to set
   forth the taxpayer's address.
5. A supplied TIN that belongs to another register person than the best candidate makes the
   request AMBIGUOUS. Softer doubts cap the outcome at REVIEW: a surname that differs entirely
   (marriage, or another person), a given name that is missing or only an initial (twins share
   everything else, and siblings often an initial), or a generational suffix on one side only
   without a date of birth to tell father from son.

Every rule that fired is recorded in ``Decision.rules`` in words; the internal ``reason`` is the
most serious failure. The same inputs always give the same decision (candidates are re-sorted
by probability, then weight, then TIN).

Example:
    >>> from ftigate.model import Candidate, MatchPolicy, Request
    >>> req = Request(line=2, request_id="R1", first_name="Ana", last_name="Reyes")
    >>> ana = Candidate("900700001", 0.99999, 30.0, address_corroborated=True)
    >>> eva = Candidate("900700002", 0.99999, 25.0, address_corroborated=True, name_conflict=True)
    >>> d = decide_request(req, [eva, ana], MatchPolicy())
    >>> d.outcome.value, d.tin
    ('DISCLOSE', '900700001')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ftigate.model import Candidate, Decision, MatchPolicy, Outcome, Reason, Request

LEVEL_DIFFERENT = "different"
"""The evidence label of a comparison's else level (see :mod:`ftigate.linkage.settings`)."""
LEVEL_ONE_SIDE_ONLY = "one side only"
DOB_AGREES = frozenset({"exact", "day and month transposed", "one-character typo"})
"""dob evidence labels that tell a father from a son."""

GIVEN_NAME_UNTOLD = frozenset({"missing", "initial"})
"""given-name evidence that cannot tell twins apart (they share surname, dob and address)."""

NO_MATCH_BELOW = 0.5
"""Below this, the best candidate is "no match" rather than "low confidence"."""

# Most serious first: the reason reported when several fail.
_SEVERITY = (
    Reason.NO_MATCH,
    Reason.DOB_CONFLICT,
    Reason.AMBIGUOUS,
    Reason.ADDRESS_NOT_CORROBORATED,
    Reason.LOW_CONFIDENCE,
)


def _order(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-c.probability, -c.match_weight, c.tin))


def _conflicts(c: Candidate) -> list[str]:
    out = []
    if c.dob_conflict:
        out.append("date of birth differs")
    if c.name_conflict:
        out.append("given name differs")
    if c.suffix_conflict:
        out.append("generational suffix differs")
    return out


def decide_request(
    request: Request, candidates: Sequence[Candidate], policy: MatchPolicy
) -> Decision:
    """Decide one request from its candidates (any order) under the agreement's match policy."""
    ranked = _order(candidates)
    rules: list[str] = []
    failures: list[Reason] = []
    plausible: list[Candidate] = []
    set_aside: list[tuple[Candidate, list[str]]] = []
    for c in ranked:
        why = _conflicts(c)
        if why:
            set_aside.append((c, why))
            rules.append(f"candidate p={c.probability:.6f} set aside: {', '.join(why)}")
        else:
            plausible.append(c)

    def decision(
        outcome: Outcome, reason: Reason | None, best: Candidate | None, runner: Candidate | None
    ) -> Decision:
        return Decision(
            request_id=request.request_id,
            outcome=outcome,
            reason=reason,
            tin=best.tin if best else None,
            probability=best.probability if best else None,
            runner_up_probability=runner.probability if runner else None,
            rules=tuple(rules),
        )

    if not ranked:
        rules.append("no register person shares a blocking key with the request")
        return decision(Outcome.NOT_DISCLOSED, Reason.NO_MATCH, None, None)
    if not plausible:
        top, why = set_aside[0]
        reason = Reason.DOB_CONFLICT if top.dob_conflict and len(why) == 1 else Reason.NO_MATCH
        rules.append("every candidate has evidence of being another person")
        return decision(Outcome.NOT_DISCLOSED, reason, top, None)

    best = plausible[0]
    runner = plausible[1] if len(plausible) > 1 else None
    cap_at_review = False

    # 2. confidence
    if best.probability >= policy.threshold:
        rules.append(f"best p={best.probability:.6f} reaches threshold {policy.threshold}")
    elif best.probability >= policy.review_floor:
        rules.append(
            f"best p={best.probability:.6f} is in the review band "
            f"[{policy.review_floor}, {policy.threshold})"
        )
        cap_at_review = True
    elif best.probability >= NO_MATCH_BELOW:
        rules.append(
            f"best p={best.probability:.6f} is below the review floor {policy.review_floor}"
        )
        failures.append(Reason.LOW_CONFIDENCE)
    else:
        rules.append(f"best p={best.probability:.6f} is below {NO_MATCH_BELOW}: no match")
        failures.append(Reason.NO_MATCH)

    # 3. uniqueness
    if runner is not None and runner.probability >= best.probability - policy.margin:
        rules.append(
            f"runner-up p={runner.probability:.6f} is within margin {policy.margin} of the best"
        )
        failures.append(Reason.AMBIGUOUS)
    elif runner is not None:
        rules.append(
            f"runner-up p={runner.probability:.6f} is below best minus margin {policy.margin}"
        )

    # 4. address
    if policy.require_address_corroboration:
        if best.address_corroborated:
            rules.append("requested address matches an address in the candidate's history")
        else:
            rules.append("requested address matches no address in the candidate's history")
            failures.append(Reason.ADDRESS_NOT_CORROBORATED)

    # 5. soft doubts
    evidence = best.evidence
    if evidence.get("last_name") == LEVEL_DIFFERENT:
        rules.append("surname differs entirely: an officer must confirm")
        cap_at_review = True
    if evidence.get("first_name") in GIVEN_NAME_UNTOLD:
        rules.append(
            "given name missing or only an initial: twins may share it, an officer decides"
        )
        cap_at_review = True
    if evidence.get("suffix") == LEVEL_ONE_SIDE_ONLY and evidence.get("dob") not in DOB_AGREES:
        rules.append("generational suffix on one side only and no dob to tell father from son")
        cap_at_review = True
    tin_owners = [c for c in ranked if c.supplied_tin_matches]
    if request.tin.strip():
        if best.supplied_tin_matches:
            rules.append("supplied TIN belongs to the best candidate (a signal, not proof)")
        elif tin_owners:
            rules.append("supplied TIN belongs to another register person than the best")
            failures.append(Reason.AMBIGUOUS)
        else:
            rules.append("supplied TIN does not belong to any plausible candidate")

    if failures:
        reason = min(failures, key=_SEVERITY.index)
        return decision(Outcome.NOT_DISCLOSED, reason, best, runner)
    if cap_at_review:
        if best.probability >= policy.review_floor:
            return decision(Outcome.REVIEW, None, best, runner)
        rules.append("below the review floor, so not sent to review")
        return decision(Outcome.NOT_DISCLOSED, Reason.LOW_CONFIDENCE, best, runner)
    return decision(Outcome.DISCLOSE, None, best, runner)


def estimated_false_disclosures(decisions: Iterable[Decision]) -> float:
    """Expected number of wrong-person disclosures: the sum of 1 - p over DISCLOSE decisions.

    >>> estimated_false_disclosures([Decision("a", Outcome.DISCLOSE, probability=0.999),
    ...                              Decision("b", Outcome.NOT_DISCLOSED, probability=0.2)])
    0.001
    """
    total = 0.0
    for d in decisions:
        if d.outcome is Outcome.DISCLOSE and d.probability is not None:
            total += 1.0 - d.probability
    return round(total, 12)
