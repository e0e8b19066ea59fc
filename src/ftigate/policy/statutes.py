"""United States Code citations, written many ways, compared by section (pure).

Requesters write the same statute as ``8 USC 1326``, ``8 U.S.C. § 1326``, ``Title 8, U.S. Code,
Section 1326(a)`` or ``8 U.S.C.A. §1326``. A :class:`Citation` keeps what matters: the title, the
section (``1324a`` is a different section from ``1324``, not a subsection of it) and the path of
subsections, folded to lower case.

An agreement's citation *covers* a requested one when title and section are equal and the
agreement's subsection path is a prefix of the request's: an agreement allowing ``8 U.S.C. 1326``
allows ``8 U.S.C. 1326(a)``; an agreement allowing only ``8 U.S.C. 1253(a)(1)`` (the criminal
failure-to-depart offence) does not allow a bare ``8 U.S.C. 1253``, which also covers civil
provisions. Anything that does not parse is not covered: an unrecognised spelling is refused
rather than guessed at.

Example:
    >>> allowed = parse_citation("8 U.S.C. 1326")
    >>> [allowed.covers(parse_citation(s)) for s in ("8 USC 1326", "8 U.S.C. § 1326(a)(2)")]
    [True, True]
    >>> allowed.covers(parse_citation("8 U.S.C. 1324"))
    False
    >>> str(parse_citation("Title 8, U.S. Code, Sec. 1253(A)(1)"))
    '8 U.S.C. 1253(a)(1)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ftigate.policy.text import fold

_CITATION = re.compile(
    r"""^(?:title\s*)?(?P<title>\d{1,3})\s*,?\s*
        (?:u\s*s\s*c\s*a?|u\s*s\s*code|united\s+states\s+code)\s*,?\s*
        (?:§+|sec(?:tion)?s?)?\s*
        (?P<section>\d{1,5}[a-z]{0,2}(?:-\d{1,3})?)\s*
        (?P<subs>(?:\(\s*[a-z0-9]{1,6}\s*\)\s*)*)$""",
    re.VERBOSE,
)
_SUB = re.compile(r"\(\s*([a-z0-9]{1,6})\s*\)")


@dataclass(frozen=True, slots=True)
class Citation:
    """``title`` U.S.C. ``section`` followed by ``subsections``, all folded to lower case."""

    title: int
    section: str
    subsections: tuple[str, ...] = ()

    def covers(self, other: Citation) -> bool:
        """True when ``other`` is this provision or one nested inside it."""
        n = len(self.subsections)
        return (
            self.title == other.title
            and self.section == other.section
            and other.subsections[:n] == self.subsections
        )

    def __str__(self) -> str:
        subs = "".join(f"({s})" for s in self.subsections)
        return f"{self.title} U.S.C. {self.section}{subs}"


def parse_citation(text: str) -> Citation | None:
    """The citation in ``text``, or None when it is not a U.S.C. citation we recognise.

    Dots, commas and the words "Title"/"Section"/"Sec." are optional; so is the section sign.

    >>> parse_citation("8 CFR 241.1") is None
    True
    """
    folded = fold(text).replace(".", " ").strip()
    folded = re.sub(r"\s+", " ", folded)
    m = _CITATION.match(folded)
    if m is None:
        return None
    subs = tuple(_SUB.findall(m.group("subs")))
    return Citation(int(m.group("title")), m.group("section"), subs)


def split_citations(text: str) -> tuple[str, ...]:
    """The citations in one field, separated by ``;`` (a comma may sit inside one citation).

    >>> split_citations("8 U.S.C. 1326; 8 USC 1324")
    ('8 U.S.C. 1326', '8 USC 1324')
    """
    return tuple(p.strip() for p in text.split(";") if p.strip())
