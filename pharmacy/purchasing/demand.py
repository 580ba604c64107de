"""What the county buys for: lines waiting at a central pharmacy for stock it does not have (back-orders).

Purchasing does not read the domains that back-order; each registers a reader here (from its `handlers.py`), and
learns of new stock from the `goods_received` event."""

from collections.abc import Callable

# Reader: the central pharmacy → [(product, packs waiting)], oldest need first.
BackorderReader = Callable[[object], list[tuple[object, int]]]
_readers: list[BackorderReader] = []


def register(reader: BackorderReader) -> BackorderReader:
    if reader not in _readers:
        _readers.append(reader)
    return reader


def backordered_packs(central) -> list[tuple[object, int]]:
    """Every registered domain's waiting lines at `central`, as (product, packs)."""
    return [item for reader in _readers for item in reader(central)]
