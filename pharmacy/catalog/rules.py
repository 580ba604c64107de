"""Formulary rules as plain functions, unit-tested without Flask or a database."""

from ..vocabulary import Tier


def may_stock(facility_tier: str, lowest_tier: str) -> bool:
    """Whether a facility of `facility_tier` may stock a product whose lowest tier allowed is `lowest_tier`."""
    return Tier(facility_tier).rank >= Tier(lowest_tier).rank


def packs_for(qty_base: int, pack_size: int) -> int:
    """Whole packs that cover `qty_base` base units."""
    if qty_base <= 0:
        return 0
    return -(-qty_base // max(pack_size, 1))
