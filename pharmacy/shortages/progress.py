"""Where a registration's goods are, and the status that follows from it: pure rules, no database.

A shortage's status is never set by the domains that move goods. They announce what happened to the goods
(an order line placed, a consignment dispatched or received); the shortage domain records the goods' *stage*
and derives the status from it with `derived_status`.
"""

from dataclasses import dataclass
from datetime import datetime

from .models import ShortageStatus, Urgency
from ..vocabulary import ShortageStage as Stage  # noqa: F401

STAGE_STATUS = {
    Stage.ON_ORDER: ShortageStatus.ORDERED,
    Stage.UPSTREAM_TRANSIT: ShortageStatus.ORDERED,
    Stage.AT_UPSTREAM: ShortageStatus.ORDERED,
    Stage.IN_TRANSIT: ShortageStatus.DISPATCHED,
    Stage.DELIVERED: ShortageStatus.DELIVERED,
}

# Stages from which the village's next delivery run may serve the registration from township stock.
PLANNABLE_STAGES = (Stage.NONE, Stage.AT_UPSTREAM)
# Stages in which goods are already on their way to the township: a run shows them, it does not plan them.
INBOUND_STAGES = (Stage.ON_ORDER, Stage.UPSTREAM_TRANSIT)


def derived_status(stage: str, *, is_acknowledged: bool, is_cancelled: bool) -> str:
    """The status a registration has when its goods are at `stage`."""
    if is_cancelled:
        return ShortageStatus.CANCELLED
    if stage in STAGE_STATUS:
        return STAGE_STATUS[Stage(stage)]
    return ShortageStatus.ACKNOWLEDGED if is_acknowledged else ShortageStatus.REGISTERED


@dataclass(frozen=True)
class Need:
    shortage_id: int
    qty_base: int
    urgency: str
    created_at: datetime


def covered_by(needs: list[Need], qty_base: int) -> list[int]:
    """The registrations a quantity satisfies in full, most urgent and oldest first (ids)."""
    covered, left = [], qty_base
    for need in sorted(needs, key=lambda n: (Urgency.rank_of(n.urgency), n.created_at, n.shortage_id)):
        if need.qty_base <= left:
            covered.append(need.shortage_id)
            left -= need.qty_base
    return covered
