"""Delivery runs follow their stops' consignments: a stop is received when its village signed for the goods."""

from sqlalchemy import select

from .. import events
from ..extensions import db
from . import services
from .models import DeliveryStop


@events.consignment_received.connect
def on_consignment_received(consignment, **_extra):
    stop = db.session.scalar(select(DeliveryStop).where(DeliveryStop.consignment_id == consignment.id))
    if stop is not None:
        services.record_receipt(stop)
