"""Which address is a taxpayer's *last known address*.

Treas. Reg. § 301.6212-2 defines it as the address on the most recently filed and properly
processed return, unless the taxpayer has given clear and concise notice of a different address
(Form 8822). So the most recent ``valid_from`` wins, and on a tie an explicit change-of-address
notice beats a return, and a return beats a third-party information return (W-2, 1099).

Example:
    >>> from datetime import date
    >>> from ftigate.model import AddressRecord
    >>> a = AddressRecord("1", "1 A St", "", "Austin", "TX", "78701", date(2023, 4, 1), "W-2:2022")
    >>> b = AddressRecord("1", "2 B St", "", "Austin", "TX", "78702", date(2023, 4, 1), "1040:2022")
    >>> last_known_address([a, b]).street
    '2 B St'
"""

from __future__ import annotations

from collections.abc import Sequence

from ftigate.model import AddressRecord, LastKnownAddress

# Lower rank wins a tie on valid_from. Prefixes of the `source` field, upper-cased.
SOURCE_PRIORITY: tuple[tuple[str, ...], ...] = (
    ("8822",),  # change of address notice from the taxpayer
    ("1040", "1040-SR", "1040-NR", "1040-X", "1040X"),  # the taxpayer's own return
    ("W-7",),  # ITIN application
    ("W-2", "W2", "1099", "1098", "1095", "SSA"),  # information returns from third parties
)


def source_rank(source: str) -> int:
    """Rank of an address source; unknown sources rank last."""
    kind = source.split(":", 1)[0].strip().upper()
    for rank, prefixes in enumerate(SOURCE_PRIORITY):
        if any(kind == p or kind.startswith(p + "-") for p in prefixes):
            return rank
    return len(SOURCE_PRIORITY)


def last_known_address(history: Sequence[AddressRecord]) -> LastKnownAddress:
    """The last known address in ``history`` (deterministic even on full ties)."""
    if not history:
        raise ValueError("a taxpayer with no address has no last known address")
    best = min(
        history,
        key=lambda a: (-a.valid_from.toordinal(), source_rank(a.source), a.source, a.street, a.zip),
    )
    return LastKnownAddress(
        street=best.street,
        unit=best.unit,
        city=best.city,
        state=best.state,
        zip=best.zip,
        valid_from=best.valid_from,
    )
