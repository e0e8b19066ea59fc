"""The linkage model, authored once and resolved to a backend late.

Requests are linked to the register with Splink (Fellegi–Sunter), ``link_only``: a request is
never compared with another request, and the register is never deduplicated. This module only
*declares* the model — comparisons, blocking rules and the prior m probabilities — as Splink
creators and backend-neutral SQL (DuckDB syntax is used only where sqlglot translates it). A
backend (:mod:`ftigate.linkage.duckdb_backend`, later Spark) resolves it to its dialect.

Both sides are first turned into the same *prepared* columns (:data:`PREPARED_COLUMNS`) by
:mod:`ftigate.linkage.names` and :mod:`ftigate.linkage.addresses`, so every comparison is a
plain column comparison.

Comparisons and why each level exists
-------------------------------------
* ``first_name``: exact (term-frequency adjusted: "Maria" says less than "Zenaida") > variant
  (keys intersect: Paco/Francisco, Bill/William, Mohamed/Muhammad) > typo (Jaro-Winkler ≥ 0.92)
  > the given name is one of the other's given names (Maria Guadalupe / Lupe) > initial >
  full name-order swap > else.
* ``middle_name``: exact > same initial > else.
* ``last_name``: exact (tf) > same parts in another order (Lopez Garcia / Garcia Lopez) > one
  surname only (Garcia / Garcia Lopez; Cruz / de la Cruz) > a part or romanisation in common
  (Zhang / Chang) > one edit (Damerau-Levenshtein ≤ 1: Garcia / Gracia) > similar
  (Jaro-Winkler ≥ 0.9) > two edits on surnames of five letters or more (Jimenez / Jlmenze)
  > name-order swap > else. Two edits is weak evidence whose weight u sets: Williams /
  Williamson reach it too, and no four-letter name control ever stands in for it.
* ``suffix``: equal > only one side has one > JR vs SR (father and son) — strongly negative.
* ``dob``: exact > day and month transposed > one-character typo > same year > else.
* ``address``: the requested address against the register's last known address and its whole
  history: same door (number, street, ZIP) > same number and street > a door from the history
  > same ZIP > same city and state > else.

Prior m probabilities
---------------------
m (how often a level occurs for the *same* person) is set here from judgement about how a
requesting agency's record of a person differs from the tax record; u (how often it occurs by
chance) is counted on pairs of a reproducible sample of the register. The reasons are in
:mod:`ftigate.linkage.duckdb_backend`. Priors are deliberately modest for agreement levels
(nothing is certain) so that disagreement is not punished into oblivion either.

Backend neutrality: the custom levels are written in DuckDB SQL and translated by sqlglot. The
name-order swap level calls ``jaro_winkler_similarity`` across two different columns, which
sqlglot renders for Spark as ``JAROWINKLER_SIMILARITY``; a Spark backend must register that
name (Splink's Spark UDF is ``jaro_winkler``) before resolving these settings.

Example:
    >>> s = linkage_settings(probability_two_random_records_match=1e-6)
    >>> s.link_type, [c.create_output_column_name() for c in s.comparisons][:2]
    ('link_only', ['first_name', 'middle_name'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import splink.blocking_rule_library as brl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

UNIQUE_ID = "unique_id"

PREPARED_COLUMNS: tuple[str, ...] = (
    UNIQUE_ID,
    "first",
    "middle",
    "last",
    "last_sorted",
    "suffix",
    "given_compact",
    "last_compact",
    "first_keys",
    "given_keys",
    "last_keys",
    "last_parts",
    "name_keys",
    "dob",
    "addr_num",
    "addr_street",
    "addr_zip",
    "addr_city",
    "addr_state",
    "addr_keys",
    "zip_keys",
    "tin_key",
)
"""Columns both sides are prepared into (register: ``linkage/taxpayers.parquet``).

``given_compact`` is every given name run together ("ja xson" and "Jaxson" agree);
``last_compact`` the surname letters without a solid-written particle ("DeLaGarza"). Strings
are NULL when blank and lists are empty when there is nothing; ``dob`` is an ISO date
string; ``addr_*`` is the register's last known address (or the requested address);
``addr_keys`` (``"NUM|STREET"``) and ``zip_keys`` cover the whole address history;
``tin_key`` is the register TIN, or the TIN a request supplied (blocking only, never scored).
"""

TF_COLUMNS: tuple[str, ...] = ("first", "last")
"""Columns with term-frequency adjustments; their tables are computed from the register."""


def _lvl(level: ComparisonLevelCreator, m: float, label: str) -> ComparisonLevelCreator:
    return level.configure(m_probability=m, label_for_charts=label)


def _sql(sql: str, m: float, label: str) -> ComparisonLevelCreator:
    # Written in DuckDB's dialect; sqlglot translates it when another backend resolves it.
    return _lvl(cll.CustomLevel(sql, base_dialect_str="duckdb"), m, label)


def _null(sql: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(sql, base_dialect_str="duckdb").configure(
        is_null_level=True, label_for_charts="missing"
    )


def _gendered_sql() -> str:
    """Two given names that are the masculine and feminine forms of one name.

    Daniel/Daniela/Danielle, Louis/Louise, Paul/Pauline/Paulette, Mario/Maria,
    Christian/Christina, Francis/Frances, Julius/Julia: the usual names of boy-girl twins, so
    agreement this close is evidence of *another* person, not a typo. A doubled final "a"
    (Eva/Evaa) is a slip of the keyboard, not a form; a doubled "e" stays a form (René/Renée).
    An initial is never a gendered form ("H" is not "Ha").
    """
    left, right = '"first_l"', '"first_r"'

    def tail(x: str, n: int) -> str:
        return f"substr({x}, length({x}) - {n - 1}, {n})"

    def stem(x: str, n: int) -> str:
        return f"substr({x}, 1, length({x}) - {n})"

    clauses = []
    for suffix in ("a", "e", "le", "ne", "na", "ine", "ette", "elle"):
        for x, y in ((left, right), (right, left)):
            doubled = f" AND {tail(x, 1)} <> 'a'" if suffix == "a" else ""
            clauses.append(f"({x} || '{suffix}' = {y}{doubled})")
    for masc, fem in (("o", "a"), ("an", "na"), ("is", "es"), ("us", "a")):
        for x, y in ((left, right), (right, left)):
            clauses.append(
                f"(length({x}) >= 4 AND {stem(x, len(masc))} = {stem(y, len(fem))} "
                f"AND {tail(x, len(masc))} = '{masc}' AND {tail(y, len(fem))} = '{fem}')"
            )
    return f"(length({left}) >= 2 AND length({right}) >= 2 AND ({' OR '.join(clauses)}))"


_GENDERED = _gendered_sql()
LEVEL_GENDERED = "other gendered form"

# Given and family name written in each other's place (common with Vietnamese and Chinese
# names), allowing a typo on either side and a compound surname on either side.
_SWAP = (
    '((jaro_winkler_similarity("first_l", "last_r") >= 0.9 '
    'OR list_contains("last_parts_r", "first_l")) '
    'AND (jaro_winkler_similarity("last_l", "first_r") >= 0.9 '
    'OR list_contains("last_parts_l", "first_r")))'
)


def first_name_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_description="primary given name",
        comparison_levels=[
            _null('"first_l" IS NULL OR "first_r" IS NULL'),
            _lvl(cll.ExactMatchLevel("first", term_frequency_adjustments=True), 0.78, "exact"),
            _lvl(cll.ArrayIntersectLevel("first_keys", 1), 0.08, "variant"),
            _sql(_GENDERED, 0.002, LEVEL_GENDERED),
            _lvl(
                cll.Or(
                    cll.JaroWinklerLevel("first", 0.92),
                    cll.ExactMatchLevel("given_compact"),
                    cll.And(
                        cll.DamerauLevenshteinLevel("first", 1),
                        cll.CustomLevel('length("first_l") >= 5', base_dialect_str="duckdb"),
                    ),
                ),
                0.04,
                "typo",
            ),
            _lvl(cll.ArrayIntersectLevel("given_keys", 1), 0.04, "other given name"),
            _sql(
                '(length("first_l") = 1 OR length("first_r") = 1) '
                'AND substr("first_l", 1, 1) = substr("first_r", 1, 1)',
                0.01,
                "initial",
            ),
            _sql(_SWAP, 0.01, "order swapped"),
            _lvl(cll.ElseLevel(), 0.04, "different"),
        ],
    )


def middle_name_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="middle_name",
        comparison_description="other given names",
        comparison_levels=[
            _null('"middle_l" IS NULL OR "middle_r" IS NULL'),
            _lvl(cll.ExactMatchLevel("middle"), 0.65, "exact"),
            _sql('substr("middle_l", 1, 1) = substr("middle_r", 1, 1)', 0.22, "initial"),
            _lvl(cll.ElseLevel(), 0.13, "different"),
        ],
    )


def last_name_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="last_name",
        comparison_description="surname parts without particles",
        comparison_levels=[
            _null('"last_l" IS NULL OR "last_r" IS NULL'),
            _lvl(cll.ExactMatchLevel("last", term_frequency_adjustments=True), 0.78, "exact"),
            _lvl(cll.ExactMatchLevel("last_compact"), 0.02, "same letters"),
            _lvl(cll.ExactMatchLevel("last_sorted"), 0.03, "parts reordered"),
            _lvl(cll.ArraySubsetLevel("last_parts"), 0.08, "one surname only"),
            _lvl(cll.ArrayIntersectLevel("last_keys", 1), 0.03, "a part or variant in common"),
            _lvl(cll.DamerauLevenshteinLevel("last", 1), 0.04, "typo"),
            _lvl(cll.JaroWinklerLevel("last", 0.9), 0.02, "similar"),
            _sql(
                'least(length("last_l"), length("last_r")) >= 5 '
                'AND damerau_levenshtein("last_l", "last_r") <= 2',
                0.02,
                "two edits",
            ),
            _sql(_SWAP, 0.01, "order swapped"),
            _lvl(cll.ElseLevel(), 0.03, "different"),
        ],
    )


def suffix_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="suffix",
        comparison_description="generational suffix (JR, SR, II, III)",
        comparison_levels=[
            _null('"suffix_l" IS NULL AND "suffix_r" IS NULL'),
            _lvl(cll.ExactMatchLevel("suffix"), 0.85, "exact"),
            _sql('"suffix_l" IS NULL OR "suffix_r" IS NULL', 0.14, "one side only"),
            _lvl(cll.ElseLevel(), 0.01, "different"),
        ],
    )


_DOB_TRANSPOSED = (
    'substr("dob_l", 1, 4) = substr("dob_r", 1, 4) '
    'AND substr("dob_l", 6, 2) = substr("dob_r", 9, 2) '
    'AND substr("dob_l", 9, 2) = substr("dob_r", 6, 2)'
)


def dob_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth (ISO string)",
        comparison_levels=[
            _null('"dob_l" IS NULL OR "dob_r" IS NULL'),
            _lvl(cll.ExactMatchLevel("dob"), 0.90, "exact"),
            _sql(_DOB_TRANSPOSED, 0.02, "day and month transposed"),
            _lvl(cll.DamerauLevenshteinLevel("dob", 1), 0.04, "one-character typo"),
            _sql('substr("dob_l", 1, 4) = substr("dob_r", 1, 4)', 0.01, "same year"),
            _lvl(cll.ElseLevel(), 0.03, "different"),
        ],
    )


def address_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="requested address vs last known address and history",
        comparison_levels=[
            _null('"addr_street_l" IS NULL OR "addr_street_r" IS NULL'),
            _sql(
                '"addr_num_l" = "addr_num_r" AND "addr_street_l" = "addr_street_r" '
                'AND "addr_zip_l" = "addr_zip_r"',
                0.45,
                "same door",
            ),
            _lvl(
                cll.And(cll.ExactMatchLevel("addr_num"), cll.JaroWinklerLevel("addr_street", 0.9)),
                0.10,
                "same number and street",
            ),
            _lvl(cll.ArrayIntersectLevel("addr_keys", 1), 0.25, "a door from the history"),
            _lvl(cll.ArrayIntersectLevel("zip_keys", 1), 0.08, "same ZIP"),
            _sql(
                '"addr_city_l" = "addr_city_r" AND "addr_state_l" = "addr_state_r"',
                0.05,
                "same city",
            ),
            _lvl(cll.ElseLevel(), 0.07, "different"),
        ],
    )


_DIRECTIONAL_RE = "^(N|S|E|W|NE|NW|SE|SW) "


def address_corroboration_sql(req: str = "q", hist: str = "a") -> str:
    """SQL predicate: the requested address (``req``) names the door of a history row (``hist``).

    Both are prepared address rows (``addr_num``, ``addr_street``, ``addr_zip``, ``addr_city``,
    ``addr_state``). Records of one door differ by slips of the hand, so each part may carry a
    small error, but never all at once:

    * the house number is equal, or one edit away when both have two or more characters
      (12/13 are neighbours, but so are 1/4, so a one-digit number must be exact);
    * the street agrees without its leading directional (Jaro-Winkler >= 0.88), and two
      directionals that are both written must be the same (N Main St is not S Main St);
    * the place agrees: the same ZIP, a ZIP one keystroke away, or the same city (Jaro-Winkler
      >= 0.9) in the same state when both give one.

    A near number is accepted only with the same street and ZIP, and a street up to two edits
    away (both long enough) only with the same number and ZIP: one uncertain part is a typo,
    two are another address.
    The street-level specificity of a request is policy's job and is checked before matching.

    Written in DuckDB SQL (``jaro_winkler_similarity``, ``damerau_levenshtein``,
    ``regexp_replace``); other backends translate it with sqlglot.
    """
    q, a = req, hist
    core_q = f"regexp_replace({q}.addr_street, '{_DIRECTIONAL_RE}', '')"
    core_a = f"regexp_replace({a}.addr_street, '{_DIRECTIONAL_RE}', '')"
    dir_q = f"regexp_extract({q}.addr_street, '{_DIRECTIONAL_RE}', 1)"
    dir_a = f"regexp_extract({a}.addr_street, '{_DIRECTIONAL_RE}', 1)"
    no_dir_conflict = f"({dir_q} = '' OR {dir_a} = '' OR {dir_q} = {dir_a})"
    num_eq = f"{q}.addr_num = {a}.addr_num"
    num_near = (
        f"(least(length({q}.addr_num), length({a}.addr_num)) >= 2 "
        f"AND damerau_levenshtein({q}.addr_num, {a}.addr_num) <= 1)"
    )
    street_sim = f"(jaro_winkler_similarity({core_q}, {core_a}) >= 0.88 AND {no_dir_conflict})"
    street_loose = (
        f"(least(length({core_q}), length({core_a})) >= 6 "
        f"AND damerau_levenshtein({core_q}, {core_a}) <= 2 AND {no_dir_conflict})"
    )
    zip_eq = f"{q}.addr_zip = {a}.addr_zip"
    place = (
        f"({zip_eq} OR damerau_levenshtein({q}.addr_zip, {a}.addr_zip) <= 1 "
        f"OR (jaro_winkler_similarity({q}.addr_city, {a}.addr_city) >= 0.9 "
        f"AND ({q}.addr_state IS NULL OR {a}.addr_state IS NULL "
        f"OR {q}.addr_state = {a}.addr_state)))"
    )
    return (
        f"({q}.addr_num IS NOT NULL AND {q}.addr_street IS NOT NULL AND ("
        f"({num_eq} AND {street_sim} AND {place}) "
        f"OR ({num_eq} AND {street_loose} AND {zip_eq}) "
        f"OR ({num_near} AND {core_q} = {core_a} AND {no_dir_conflict} AND {zip_eq})))"
    )


def comparisons() -> list[ComparisonCreator | dict[str, Any]]:
    return [
        first_name_comparison(),
        middle_name_comparison(),
        last_name_comparison(),
        suffix_comparison(),
        dob_comparison(),
        address_comparison(),
    ]


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """A named blocking rule: which hard case it keeps in view, and the Splink creator."""

    name: str
    keeps: str
    creator: BlockingRuleCreator


DOB_YEAR = "substr(dob, 1, 4)"
DOB_BIRTHDAY = "substr(dob, 6, 5)"
"""The parts of an ISO dob that a dob-tolerant rule joins on: ``1980`` and ``03-04``."""


def dob_tolerant_rules(name: str, keeps: str, columns: Sequence[str]) -> tuple[BlockingRule, ...]:
    """Pair on ``columns`` (arrays, exploded) only when the two dobs could be one person's.

    A rule on names alone pairs every Maria Garcia with every other; almost none of those pairs
    can be disclosed, because their dobs differ. These four rules pair the same names only when
    the dobs share the birth year (a typo in the month or the day, day and month transposed),
    or share the birthday (a typo in the year), or one side has no dob. Each is an equi-join
    (the dob part is a join key, a missing dob a filter on one side), so neither engine
    compares every namesake to throw most away.

    What they leave out — both dobs given, differing in year *and* birthday — is a pair whose
    dob comparison is "different", which :mod:`~ftigate.linkage.decide` sets aside as another
    person whatever its score: it could be neither disclosed nor a runner-up. Requests are the
    left side (``l``) when matching, so ``no_dob_l`` is "the request gives no dob".

    >>> [r.name for r in dob_tolerant_rules("first_last_keys", "", ["first_keys", "last_keys"])]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['first_last_keys+year', 'first_last_keys+birthday', 'first_last_keys+no_dob_l',
     'first_last_keys+no_dob_r']
    """
    explode = list(columns)

    def missing(side: str) -> BlockingRuleCreator:
        return brl.And(
            block_on(*columns),
            brl.CustomRule(f"{side}.dob IS NULL", sql_dialect="duckdb"),
            arrays_to_explode=explode,
        )

    return (
        BlockingRule(
            f"{name}+year",
            f"{keeps}; same birth year (typo in month or day, day and month transposed)",
            block_on(*columns, DOB_YEAR, arrays_to_explode=explode),
        ),
        BlockingRule(
            f"{name}+birthday",
            f"{keeps}; same month and day (typo in the year)",
            block_on(*columns, DOB_BIRTHDAY, arrays_to_explode=explode),
        ),
        BlockingRule(f"{name}+no_dob_l", f"{keeps}; the request gives no dob", missing("l")),
        BlockingRule(f"{name}+no_dob_r", f"{keeps}; the register has no dob", missing("r")),
    )


def blocking_rules() -> tuple[BlockingRule, ...]:
    """Candidate-pair rules; a pair is scored when ANY of them holds.

    Each rule survives a different failure of the others, so recall holds when a request has a
    nickname, one surname, an old address, no dob or a typo — but never all at once.

    The two rules that pair on names without an exact dob (both names; one name and a ZIP)
    made nearly all the pairs — 99% of 36 million for 168,000 requests against two million
    taxpayers, fewer than one in a thousand of them reaching p > 0.5 — so they are split by
    :func:`dob_tolerant_rules` into pairs whose dobs could be one person's (4.3 million remain,
    86% of them for the 5% of requests without a dob; ``bench/blocking.py`` counts them by
    rule, before and after, and checks that no decision changes). A father and a son
    (or any namesake) with another dob stay in view where it matters, at the requested ZIP
    (``first_last_zip``), for their ``DOB_CONFLICT``; so do twins, by their shared dob
    (``name_key_dob``, ``zip_dob``), and the owner of a supplied TIN (``supplied_tin``).
    """
    return (
        BlockingRule(
            "supplied_tin",
            "the TIN the requester supplied (scored on name and dob, never trusted)",
            block_on("tin_key"),
        ),
        BlockingRule(
            "name_key_dob",
            "nicknames, one or swapped surnames, stale addresses, a typo in one name",
            block_on("name_keys", "dob", arrays_to_explode=["name_keys"]),
        ),
        *dob_tolerant_rules(
            "first_last_keys", "missing or mistyped dob", ["first_keys", "last_keys"]
        ),
        *dob_tolerant_rules(
            "name_key_zip",
            "a mistyped or missing dob together with one mistyped name",
            ["name_keys", "zip_keys"],
        ),
        BlockingRule(
            "zip_dob",
            "both names mistyped or transliterated differently",
            block_on("zip_keys", "dob", arrays_to_explode=["zip_keys"]),
        ),
        BlockingRule(
            "first_last_zip",
            "the same name at the requested ZIP whatever the dob: father and son, a dob that "
            "is wrong beyond a typo (DOB_CONFLICT)",
            block_on(
                "first_keys",
                "last_keys",
                "zip_keys",
                arrays_to_explode=["first_keys", "last_keys", "zip_keys"],
            ),
        ),
    )


def linkage_settings(
    probability_two_random_records_match: float,
    rules: Sequence[BlockingRule] | None = None,
) -> SettingsCreator:
    """The Splink settings, backend-neutral. ``linker_uid`` is fixed so saved models are stable."""
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=[
            r.creator for r in (blocking_rules() if rules is None else rules)
        ],
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        linker_uid="ftigate1",
    )
