"""Taxpayer identification numbers: format rules for SSNs and ITINs (pure).

An SSN never has area 000, 666 or 900-999, group 00 or serial 0000 (SSA rules). An ITIN is
9XX-[50-65|70-88|90-92|94-99]-XXXX (IRS). TINs are stored as 9 digits without dashes.

Example:
    >>> tin_type_of("912-70-1234")
    <TinType.ITIN: 'ITIN'>
    >>> tin_type_of("666-12-3456") is None
    True
"""

from __future__ import annotations

import re

from ftigate.model import TinType

_SHAPE = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
ITIN_GROUPS: frozenset[int] = frozenset(
    [*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)]
)


def normalise_tin(text: str) -> str | None:
    """Nine digits without separators, or None when ``text`` is not shaped like a TIN."""
    m = _SHAPE.match(text.strip().replace(" ", ""))
    return "".join(m.groups()) if m else None


def tin_type_of(text: str) -> TinType | None:
    """SSN or ITIN when ``text`` is a valid TIN of that kind, else None."""
    digits = normalise_tin(text)
    if digits is None:
        return None
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area >= 900:
        return TinType.ITIN if group in ITIN_GROUPS else None
    if area in (0, 666) or group == 0 or serial == 0:
        return None
    return TinType.SSN


def format_tin(digits: str) -> str:
    """``123456789`` -> ``123-45-6789``."""
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
