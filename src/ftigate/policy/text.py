"""Folding a requester's text and telling a placeholder from a value (pure).

The 2025 disclosures went through because "Failed to Provide", "Unknown Address" and "NA NA"
were treated as addresses. A list of those exact strings would miss the next generator's
"Not Known" or "Address Withheld", so a value is judged by its *words*: it is a placeholder when
it has no letters or digits at all ("?", "-"), when every word is one that says "no value"
(:data:`NULL_WORDS`) or carries no content of its own (:data:`NEUTRAL_WORDS`, such as "to" or
"address"), with at least one of the former, or when it is filler such as "XXX" or "0000".
Numbers are ignored when judging words, so "Don't Care 12345" is a placeholder too.

"N/A" and "n.a." are read as one word ``notapplicable`` (any ``n/x`` likewise), while a bare
"Na" stays ``na``: Na is a Korean surname, so name fields use a vocabulary without it.

Example:
    >>> [is_placeholder(s) for s in ("Failed to Provide", "NA NA", "Don't Care 12345", "?")]
    [True, True, True, True]
    >>> [is_placeholder(s) for s in ("123 Nashville Ave", "Main Street", "Na")]
    [False, False, True]
    >>> is_placeholder("Na", NAME_NULL_WORDS)
    False
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a vocabulary written as one string."""
    return frozenset(text.split())


NULL_WORDS: frozenset[str] = word_set(
    """
    na nan notapplicable none null nil nul unknown unk unkn unkwn unkown unknwn notknown nk
    not known know available avail unavailable applicable provided provide given give supplied
    stated listed reported entered recorded disclosed specified unspecified undisclosed
    failed fail refused refuse declined decline withheld redacted confidential
    tbd tba tbc pending missing blank empty undefined invalid void test testing dummy fake
    sample placeholder example nothing nobody nowhere anywhere somewhere anytown whatever
    dont do care same above below see various multiple homeless transient fixed abode
    no non xx xxx xxxx asdf qwerty lorem ipsum
    desconocido desconocida ninguno ninguna nada sin aplica
    """
)
"""Words that say "there is no value here" in some form (a few in Spanish: "Desconocido")."""

STRONG_NULL_WORDS: frozenset[str] = word_set(
    """
    unknown unk unkn unkwn unkown unknwn notknown notapplicable none null nan tbd tba refused
    declined withheld redacted failed placeholder dummy fake unspecified undisclosed
    unavailable desconocido desconocida
    """
)
"""Null words no real place name contains, so even one inside a value spoils it ("123 Main St
Unknown"); "na" is not one of them (Na Pali Dr is in Hawaii)."""

NEUTRAL_WORDS: frozenset[str] = word_set(
    """
    the of to on in at is as for by and or be was been per with from it its this that any
    address addr addresses street st road rd avenue ave city town state zip zipcode postal
    code location place residence home house info information data value field entry record
    records file files
    """
)
"""Words with no content of their own; they neither make nor unmake a placeholder."""

NAME_NULL_WORDS: frozenset[str] = word_set(
    """
    notapplicable none null unknown unk unkn notknown nk fnu lnu mnu nfn nln nmn
    not known given provided available applicable refused withheld redacted tbd pending
    missing blank empty test dummy fake sample placeholder xx xxx xxxx
    """
)
"""For names: FNU/LNU ("first/last name unknown") are DHS conventions; "Na", "Nil" are names."""

_N_SLASH = re.compile(r"(?<![a-z0-9])n\s*[/\\.]\s*[a-z](?![a-z0-9])\.?")
_JOINERS = re.compile(r"[.'’`´]")
_SPLIT = re.compile(r"[^0-9a-z]+")
_REPEATED_LETTER = re.compile(r"^([a-z])\1{2,}$")
_SPREADSHEET_ERROR = re.compile(r"^#(?:n/?a|value!|ref!|name\?|div/0!|null!|num!|spill!|calc!)$")


def fold(text: str) -> str:
    """Casefolded, accents removed, compatibility forms unified: ``"José "`` -> ``"jose "``.

    >>> fold("JOSÉ Ñúñez")
    'jose nunez'
    """
    if text.isascii():
        return text.casefold()  # the common case; NFKD leaves ASCII as it is
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold()


@lru_cache(maxsize=1 << 16)
def words(text: str) -> tuple[str, ...]:
    """The folded words of ``text``; "N/A" is ``notapplicable``, "Don't" is ``dont``.

    >>> words("Don't Care, N/A 12345")
    ('dont', 'care', 'notapplicable', '12345')
    """
    folded = _N_SLASH.sub(" notapplicable ", fold(text))
    return tuple(w for w in _SPLIT.split(_JOINERS.sub("", folded)) if w)


def is_filler(word: str) -> bool:
    """A word that is keyboard filler: ``xxx``, ``zzzz`` or a run of zeros."""
    return bool(_REPEATED_LETTER.match(word)) or (word.isdigit() and set(word) == {"0"})


@lru_cache(maxsize=1 << 16)
def is_placeholder(text: str, null_words: frozenset[str] = NULL_WORDS) -> bool:
    """True when a non-blank ``text`` stands for "no value" rather than being one.

    Blank text is not a placeholder (it is simply missing); callers check blanks first.
    """
    if not text.strip():
        return False
    if _SPREADSHEET_ERROR.match(fold(text).strip()):
        return True  # "#N/A", "#VALUE!": a formula's error exported as the value
    found = words(text)
    if not found:
        return True  # only punctuation: "?", "-", "..."
    alpha = [w for w in found if not w.isdigit()]
    if not alpha:
        return all(is_filler(w) for w in found)  # "0", "0000"; other numbers are judged elsewhere
    if all(is_filler(w) for w in alpha):
        return True
    content = [w for w in alpha if w not in null_words and w not in NEUTRAL_WORDS]
    return not content and any(w in null_words for w in alpha)


def placeholder_word(text: str) -> str | None:
    """The first word of ``text`` that no real value contains (:data:`STRONG_NULL_WORDS`).

    >>> placeholder_word("123 Main St Unknown"), placeholder_word("500 Unknownville Rd")
    ('unknown', None)
    """
    return next((w for w in words(text) if w in STRONG_NULL_WORDS), None)


@lru_cache(maxsize=1 << 14)
def content_words(text: str, ignore: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Alphabetic words that carry content: not null, neutral, filler or in ``ignore``."""
    return tuple(
        w
        for w in words(text)
        if not w.isdigit()
        and not is_filler(w)
        and w not in NULL_WORDS
        and w not in NEUTRAL_WORDS
        and w not in ignore
    )


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
# Unicode category Cc is exactly U+0000-001F and U+007F-009F; tab, LF and CR are allowed.
_BAD_CHARACTER = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\ufffd]"
)


def bad_characters(text: str) -> str | None:
    """Why ``text`` holds characters no request value should, or None.

    Line breaks and tabs are tolerated (a multi-line street is common in exports); other
    control characters, bidirectional overrides (they make a value display as something else)
    and U+FFFD (the mark of a botched re-encoding) are not.

    >>> bad_characters("Main\\x00St")
    'control character U+0000'
    >>> bad_characters("Main St") is None
    True
    """
    found = _BAD_CHARACTER.search(text)
    if found is None:
        return None
    ch = found.group()
    if ch in _BIDI_CONTROLS:
        return f"bidirectional control character U+{ord(ch):04X}"
    if ch == "\ufffd":
        return "replacement character U+FFFD (the file was re-encoded badly)"
    return f"control character U+{ord(ch):04X}"
