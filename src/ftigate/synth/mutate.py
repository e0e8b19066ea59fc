"""How requesters' records differ from the register: typos, nicknames, surname forms, accents.

Pure functions of a string and a ``random.Random``: the same generator state gives the same
result, which keeps the whole synthetic batch reproducible from its seed.

Example:
    >>> import random
    >>> surname_variant("García López", random.Random(1))
    'López García'
    >>> fold("Nguyễn Thị Núñez")
    'Nguyen Thi Nunez'
"""

from __future__ import annotations

import random
import string

from unidecode import unidecode

from ftigate.synth.pools import PARTICLES

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _i, _ch in enumerate(_row):
        near = [_row[j] for j in (_i - 1, _i + 1) if 0 <= j < len(_row)]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_ROWS):
                near += [c for j, c in enumerate(_ROWS[_other]) if abs(j - _i) <= 1]
        _NEIGHBOURS[_ch] = "".join(near)


def fold(text: str) -> str:
    """Accents and Vietnamese letters folded to ASCII (José -> Jose, Đặng -> Dang)."""
    return unidecode(text)


def typo(text: str, rnd: random.Random, edits: int = 1) -> str:
    """``edits`` keying errors: a neighbouring key, a dropped, doubled or swapped letter.

    The first letter is kept four times in five (people rarely mistype it), a name shorter
    than six letters gets one edit at most, and the result always differs from ``text``.

    >>> typo("Hernandez", random.Random(4)) != "Hernandez"
    True
    """
    out = text
    if len(text) < 6:
        edits = 1
    for _ in range(edits):
        out = _one_edit(out, rnd)
    if out == text or len(out) < 2:
        return _one_edit(text, rnd) if len(text) > 2 else text + "a"
    return out


def _one_edit(text: str, rnd: random.Random) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if not letters:
        return text
    later = [i for i in letters if i > 0]
    i = rnd.choice(later) if later and rnd.random() < 0.8 else rnd.choice(letters)
    ch = text[i]
    kind = rnd.choice(("sub", "sub", "del", "ins", "swap"))
    if kind == "sub":
        near = _NEIGHBOURS.get(fold(ch).lower(), string.ascii_lowercase)
        new = rnd.choice(near)
        return text[:i] + (new.upper() if ch.isupper() else new) + text[i + 1 :]
    if kind == "del" and len(letters) > 2:
        return text[:i] + text[i + 1 :]
    if kind == "swap" and i + 1 < len(text) and text[i + 1].isalpha() and text[i + 1] != ch:
        return text[:i] + text[i + 1] + ch + text[i + 2 :]
    return text[:i] + ch.lower() + text[i:] if i > 0 else text[:1] + text[:1].lower() + text[1:]


_NOT_A_NAME = frozenset(
    {
        "N",
        "S",
        "E",
        "W",
        "St",
        "Ave",
        "Dr",
        "Rd",
        "Ln",
        "Blvd",
        "Ct",
        "Way",
        "Pl",
        "Cir",
        "Pkwy",
        "Ter",
        "Calle",
        "Avenida",
        "Camino",
        "Via",
        "Paseo",
    }
)


def street_typo(street: str, rnd: random.Random, edits: int = 1) -> str:
    """A typo in the street *name*, never in the number, direction or type ("1234 N Mian St").

    >>> street_typo("47 W Oak Ln", random.Random(2)).split()[::3]
    ['47', 'Ln']
    """
    words = street.split(" ")
    named = [
        i
        for i, w in enumerate(words)
        if i > 0 and w not in _NOT_A_NAME and any(c.isalpha() for c in w)
    ]
    if not named:
        return street
    i = rnd.choice(named)
    words[i] = typo(words[i], rnd, edits if len(words[i]) >= 6 else 1)
    return " ".join(words)


def nickname(first: str, table: dict[str, tuple[str, ...]], rnd: random.Random) -> str | None:
    """A nickname of ``first`` from ``table`` (keys folded and lower-cased), if it has one."""
    options = table.get(fold(first).lower())
    return rnd.choice(options) if options else None


def surname_units(last: str) -> list[str]:
    """Surnames with their particles kept together: "de la Cruz Hernández" -> 2 units.

    >>> surname_units("de la Cruz Hernández")
    ['de la Cruz', 'Hernández']
    >>> surname_units("García-López")
    ['García', 'López']
    """
    units: list[str] = []
    pending: list[str] = []
    for word in last.replace("-", " ").split():
        pending.append(word)
        if word.lower() not in PARTICLES:
            units.append(" ".join(pending))
            pending = []
    if pending:
        units.append(" ".join(pending))
    return units


def surname_variant(last: str, rnd: random.Random) -> str:
    """How a requester may write a Hispanic surname: swapped, one part only, hyphen toggled.

    A single surname with a particle ("de la Cruz") becomes "Cruz", "Delacruz" or
    "De La Cruz".
    """
    units = surname_units(last)
    if len(units) >= 2:
        u = rnd.random()
        if u < 0.45:
            out = " ".join([units[1], units[0], *units[2:]])
        elif u < 0.9:
            out = units[0]
        else:
            out = " ".join(units) if "-" in last else "-".join(units)
        return out if out != last else units[0]  # "Ramírez Ramírez" swaps to itself
    words = last.split()
    if len(words) > 1 and words[0].lower() in PARTICLES:
        options = (
            words[-1],
            "".join(words).capitalize(),
            " ".join(w.capitalize() for w in words),
        )
        return rnd.choice([o for o in options if o != last] or [words[-1]])
    return last


def initial(first: str) -> str:
    """The initial a sloppy record keeps ("Juan" -> "J")."""
    return fold(first)[:1].upper()
