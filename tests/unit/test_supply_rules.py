"""Pure supply rules: the dispatch policy's near-expiry window and where a registration's goods are."""

from datetime import date, datetime

import pytest

from pharmacy.facilities.models import Tier
from pharmacy.shortages.models import ShortageStatus
from pharmacy.shortages.progress import INBOUND_STAGES, PLANNABLE_STAGES, Need, Stage, covered_by, derived_status
from pharmacy.supply.policy import DispatchPolicy

POLICY = DispatchPolicy(near_expiry_days=90, shipment_transit_days=1, onward_delivery_days=7)
MONDAY = date(2026, 12, 7)


def test_village_run_counts_the_window_from_its_departure_day():
    assert POLICY.usable_after(MONDAY, Tier.VILLAGE) == date(2027, 3, 7)


def test_shipment_to_a_township_counts_its_transit():
    assert POLICY.usable_after(MONDAY, Tier.TOWNSHIP) == date(2027, 3, 8)


def test_goods_meant_for_a_village_count_to_the_village_arrival():
    # A lot shipped to the township for a village must last 90 days after the village's run (transit + 7 days).
    assert POLICY.usable_after(MONDAY, Tier.TOWNSHIP, goes_onward=True) == date(2027, 3, 15)
    assert POLICY.arrival_at_final(MONDAY, Tier.TOWNSHIP, goes_onward=True) == date(2026, 12, 15)


@pytest.mark.parametrize(("expiry", "may"), [(date(2027, 3, 7), False), (date(2027, 3, 8), True)])
def test_a_lot_expiring_on_the_limit_stays_home(expiry, may):
    assert DispatchPolicy.may_travel(expiry, POLICY.usable_after(MONDAY, Tier.VILLAGE)) is may


def test_the_window_is_the_policy_setting():
    assert DispatchPolicy(near_expiry_days=30).usable_after(MONDAY, Tier.VILLAGE) == date(2027, 1, 6)


@pytest.mark.parametrize(("stage", "acknowledged", "status"), [
    (Stage.NONE, False, ShortageStatus.REGISTERED),
    (Stage.NONE, True, ShortageStatus.ACKNOWLEDGED),
    (Stage.ON_ORDER, False, ShortageStatus.ORDERED),
    (Stage.UPSTREAM_TRANSIT, True, ShortageStatus.ORDERED),
    (Stage.AT_UPSTREAM, True, ShortageStatus.ORDERED),
    (Stage.IN_TRANSIT, True, ShortageStatus.DISPATCHED),
    (Stage.DELIVERED, True, ShortageStatus.DELIVERED),
])
def test_status_follows_the_goods(stage, acknowledged, status):
    assert derived_status(stage, is_acknowledged=acknowledged, is_cancelled=False) == status


def test_dispatched_means_on_the_way_to_the_registering_facility_only():
    # Goods travelling to the township are still "ordered" for the village; only its own run makes them dispatched.
    assert derived_status(Stage.UPSTREAM_TRANSIT, is_acknowledged=True, is_cancelled=False) != \
        ShortageStatus.DISPATCHED


def test_goods_at_the_township_are_plannable_and_inbound_goods_are_not():
    assert Stage.AT_UPSTREAM in PLANNABLE_STAGES and Stage.NONE in PLANNABLE_STAGES
    assert set(INBOUND_STAGES) == {Stage.ON_ORDER, Stage.UPSTREAM_TRANSIT}
    assert not set(PLANNABLE_STAGES) & set(INBOUND_STAGES)


def test_received_quantity_covers_the_most_urgent_and_oldest_first():
    def need(id_, qty, urgency, day):
        return Need(id_, qty, urgency, datetime(2024, 6, day))

    routine_old, routine_new, emergency = need(1, 20, "routine", 1), need(2, 20, "routine", 5), need(3, 30, "emergency", 9)
    assert covered_by([routine_old, routine_new, emergency], 45) == [3]
    assert covered_by([routine_old, routine_new, emergency], 50) == [3, 1]
    assert covered_by([routine_old, routine_new, emergency], 0) == []
