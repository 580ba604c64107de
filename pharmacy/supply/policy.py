"""The dispatch policy: the one place that decides whether a lot may travel, and the only reader of the
near-expiry setting (reports and stock pages take their window from here).

A lot may be sent only if it stays usable for the near-expiry window after it is expected to reach the *final*
facility the goods are meant for: a shipment to a township that carries a village's goods is counted to the
village's arrival (the shipment's transit plus the wait for the village's next run), not to the township's.
Dispensing is not travel: the ledger refuses only expired lots there, and FEFO hands out the nearest expiry first.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app

from ..facilities.models import Tier


@dataclass(frozen=True)
class DispatchPolicy:
    near_expiry_days: int
    shipment_transit_days: int = 1
    onward_delivery_days: int = 7

    def leg_days(self, destination_tier: str) -> int:
        """Days a leg to a facility of `destination_tier` takes (village runs arrive on their departure day)."""
        return self.shipment_transit_days if destination_tier == Tier.TOWNSHIP else 0

    def arrival_at_final(self, departure: date, destination_tier: str, *, goes_onward: bool) -> date:
        """When goods leaving on `departure` reach the facility they are meant for."""
        arrival = departure + timedelta(days=self.leg_days(destination_tier))
        return arrival + timedelta(days=self.onward_delivery_days) if goes_onward else arrival

    def usable_after(self, departure: date, destination_tier: str, *, goes_onward: bool = False) -> date:
        """Lots expiring on or before this date may not leave on `departure`."""
        return self.arrival_at_final(departure, destination_tier, goes_onward=goes_onward) + timedelta(
            days=self.near_expiry_days)

    @staticmethod
    def may_travel(expiry_date: date, usable_after: date) -> bool:
        return expiry_date > usable_after


def current() -> DispatchPolicy:
    """The deployment's policy, from its settings."""
    config = current_app.config
    return DispatchPolicy(near_expiry_days=int(config["NEAR_EXPIRY_DAYS"]),
                          shipment_transit_days=int(config.get("SHIPMENT_TRANSIT_DAYS", 1)),
                          onward_delivery_days=int(config.get("ONWARD_DELIVERY_DAYS", 7)))


def near_expiry_days() -> int:
    """The near-expiry window in days, for reports and stock pages."""
    return current().near_expiry_days
