"""First-expiry-first-out lot choice: a pure function, shared by dispensing, allocation and delivery planning."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class LotStock:
    lot_id: int
    expiry_date: date
    qty_base: int
    lot_number: str = ""


@dataclass(frozen=True)
class Pick:
    lot_id: int
    qty_base: int
    expiry_date: date
    lot_number: str = ""


def choose_lots_fefo(lots: list[LotStock], qty_base: int, *, usable_after: date) -> tuple[list[Pick], int]:
    """Pick `qty_base` from the lots expiring first, using only lots that expire after `usable_after`.

    Returns the picks and the quantity that could not be covered. Ties on expiry go to the smaller lot first,
    so part-used lots are emptied before full ones; then by id for a stable answer.
    """
    if qty_base < 0:
        raise ValueError("qty_base must not be negative")
    picks: list[Pick] = []
    remaining = qty_base
    usable = [lot for lot in lots if lot.qty_base > 0 and lot.expiry_date > usable_after]
    for lot in sorted(usable, key=lambda lot: (lot.expiry_date, lot.qty_base, lot.lot_id)):
        if remaining == 0:
            break
        take = min(lot.qty_base, remaining)
        picks.append(Pick(lot.lot_id, take, lot.expiry_date, lot.lot_number))
        remaining -= take
    return picks, remaining
