"""Unique, valid synthetic TINs, drawn and formatted without a Python loop.

A TIN is handled as the integer of its nine digits (``123-45-6789`` -> 123456789). Drawing
works on a dense *code* space instead: code ``c`` of the SSN space maps to exactly one valid
SSN (area 001-899 but not 666, group 01-99, serial 0001-9999), and likewise for ITINs
(9XX, group 50-65 | 70-88 | 90-92 | 94-99, serial 0001-9999). Sampling codes without
replacement therefore gives unique TINs that are valid by construction, and the two spaces
never overlap (an SSN never starts with 9).

Example:
    >>> rng = np.random.default_rng(1)
    >>> ssn, itin = draw_tins(rng, 3, 2)
    >>> [valid_ssn(int(x)) for x in ssn], [valid_itin(int(x)) for x in itin]
    ([True, True, True], [True, True])
    >>> format_tins(np.array([1010001])).to_pylist()
    ['001-01-0001']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SERIALS = 9999
SSN_AREAS = 898  # 001-899 without 666
ITIN_GROUPS = np.array([*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)])
SSN_SPACE = SSN_AREAS * 99 * SERIALS
ITIN_SPACE = 100 * len(ITIN_GROUPS) * SERIALS


def ssn_from_code(code: np.ndarray) -> np.ndarray:
    """Codes in ``[0, SSN_SPACE)`` -> valid SSNs as integers."""
    area, rest = np.divmod(code.astype(np.int64), 99 * SERIALS)
    group, serial = np.divmod(rest, SERIALS)
    area = area + 1
    area = area + (area >= 666)
    return np.asarray(area * 1_000_000 + (group + 1) * 10_000 + (serial + 1), dtype=np.int64)


def itin_from_code(code: np.ndarray) -> np.ndarray:
    """Codes in ``[0, ITIN_SPACE)`` -> valid ITINs as integers."""
    xx, rest = np.divmod(code.astype(np.int64), len(ITIN_GROUPS) * SERIALS)
    g, serial = np.divmod(rest, SERIALS)
    return np.asarray(
        (900 + xx) * 1_000_000 + ITIN_GROUPS[g] * 10_000 + (serial + 1), dtype=np.int64
    )


def draw_tins(rng: np.random.Generator, n_ssn: int, n_itin: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_ssn`` unique SSNs and ``n_itin`` unique ITINs, in random order."""
    ssn = ssn_from_code(rng.choice(SSN_SPACE, size=n_ssn, replace=False))
    itin = itin_from_code(rng.choice(ITIN_SPACE, size=n_itin, replace=False))
    return ssn, itin


def valid_ssn(tin: int) -> bool:
    area, group, serial = tin // 1_000_000, tin // 10_000 % 100, tin % 10_000
    return 0 < area < 900 and area != 666 and group != 0 and serial != 0


def valid_itin(tin: int) -> bool:
    return tin // 1_000_000 >= 900 and int(tin // 10_000 % 100) in set(ITIN_GROUPS.tolist())


def valid_same_kind(tin: int, like: int) -> bool:
    """``tin`` is valid and of the same kind (SSN or ITIN) as ``like``."""
    return valid_itin(tin) if like >= 900_000_000 else valid_ssn(tin)


def mistype(tin: int, rnd_digit: int, rnd_pos: int, transpose: bool) -> int:
    """One keying error: a digit replaced, or two neighbouring digits swapped.

    >>> mistype(123456789, 0, 8, False), mistype(123456789, 0, 3, True)
    (123456780, 123546789)
    """
    digits = list(f"{tin:09d}")
    if transpose:
        i = min(rnd_pos, 7)
        digits[i], digits[i + 1] = digits[i + 1], digits[i]
    else:
        digits[rnd_pos] = str(rnd_digit)
    return int("".join(digits))


def format_tins(tins: np.ndarray) -> pa.Array:
    """Integers -> ``123-45-6789`` strings, vectorised in Arrow."""
    s = pc.utf8_lpad(pc.cast(pa.array(tins, type=pa.int64()), pa.string()), 9, "0")
    parts = [pc.utf8_slice_codeunits(s, a, b) for a, b in ((0, 3), (3, 5), (5, 9))]
    return pc.binary_join_element_wise(*parts, "-")


def format_tin(tin: int) -> str:
    s = f"{tin:09d}"
    return f"{s[:3]}-{s[3:5]}-{s[5:]}"
