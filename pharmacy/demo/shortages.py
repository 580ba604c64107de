"""Demo data for shortages: a few open registrations at the first township's villages, one an emergency."""

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from .. import clock
from ..catalog.models import Product, ProductStatus
from ..extensions import db
from ..shortages.models import Shortage, ShortageEvent
from ..shortages.services import acknowledge, register_shortage

if TYPE_CHECKING:
    from .seed import DemoCounty

log = logging.getLogger(__name__)

# (village number in township 1, product index, packs, urgency, reason, note, hours ago, acknowledged)
REGISTRATIONS = [
    (1, 0, 5, "routine", "running_low", "", 50, True),
    (2, 0, 3, "urgent", "out_of_stock", "高血压患者多", 30, False),
    (3, 1, 2, "emergency", "patient_need", "患者今天急需", 3, False),
    (4, 0, 4, "routine", "chronic_long_rx", "慢病长处方（两个月）", 20, False),
    (2, 2, 1, "routine", "out_of_stock", "", 8, False),
    (5, 1, 2, "urgent", "running_low", "", 12, False),
]


def seed_demo_shortages(demo: "DemoCounty") -> None:
    """Register a few open shortages so the township's view and the tablet's list have something to show."""
    products = list(db.session.scalars(
        select(Product).join(Product.drug).where(Product.status == ProductStatus.ACTIVE,
                                                 Product.lowest_tier == "village")
        .order_by(Product.code).limit(3)))
    if not products or not demo.townships:
        return
    villages = demo.villages[demo.townships[0].id]
    pharmacist = demo.users.get("t01")
    for v_number, p_index, packs, urgency, reason, note, hours, acked in REGISTRATIONS:
        if v_number > len(villages):
            continue
        user = demo.users.get(f"t01v{v_number:02d}")
        shortage, _created = register_shortage(
            facility=villages[v_number - 1], user=user, client_id=str(uuid.uuid4()),
            product=products[p_index % len(products)], qty_packs=packs, urgency=urgency, reason=reason, note=note)
        at = clock.now_utc() - timedelta(hours=hours)
        shortage.created_at = shortage.client_created_at = at
        if acked:
            acknowledge(shortage, user=pharmacist, note="已安排本周配送")
    for event in db.session.scalars(select(ShortageEvent).join(Shortage).where(ShortageEvent.from_status == "")):
        event.created_at = event.shortage.created_at
    db.session.flush()
    log.info("demo shortages: %s registered", len(REGISTRATIONS))
