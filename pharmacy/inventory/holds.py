"""Stock set aside but not yet moved: central stock allocated to unified orders until shipped, township stock
planned on delivery runs until they leave. The ledger does not know these; the domains that hold stock register
a reader here (in their `handlers.py`) and stock status shows what is left to promise."""

from collections.abc import Callable

# Reader: (facility ids, product ids) → {(facility id, product id): base units held}.
HoldReader = Callable[[list[int], list[int]], dict[tuple[int, int], int]]

ALLOCATED = "allocated"  # set aside for unified-order lines (county central pharmacy), until shipped
RESERVED = "reserved"    # planned on delivery runs that have not left (township), until dispatched
_readers: dict[str, list[HoldReader]] = {ALLOCATED: [], RESERVED: []}


def register(kind: str, reader: HoldReader) -> HoldReader:
    if reader not in _readers[kind]:
        _readers[kind].append(reader)
    return reader


def held(kind: str, facility_ids: list[int], product_ids: list[int]) -> dict[tuple[int, int], int]:
    totals: dict[tuple[int, int], int] = {}
    if not facility_ids or not product_ids:
        return totals
    for reader in _readers[kind]:
        for key, qty in reader(facility_ids, product_ids).items():
            totals[key] = totals.get(key, 0) + int(qty)
    return totals
