from pharmacy.catalog.rules import may_stock, packs_for
from pharmacy.catalog.services import tiers_at_or_below


def test_a_facility_may_stock_products_of_its_tier_and_below():
    assert may_stock("county", "village") and may_stock("county", "county")
    assert may_stock("township", "village") and may_stock("township", "township")
    assert not may_stock("township", "county")
    assert may_stock("village", "village") and not may_stock("village", "township")


def test_tiers_at_or_below_follow_may_stock():
    assert sorted(tiers_at_or_below("township")) == ["township", "village"]
    assert tiers_at_or_below("village") == ["village"]


def test_packs_round_up_to_cover_the_quantity():
    assert packs_for(25, 24) == 2
    assert packs_for(24, 24) == 1
    assert packs_for(0, 24) == 0
    assert packs_for(1, 0) == 1  # a product without a pack size counts each unit as a pack
