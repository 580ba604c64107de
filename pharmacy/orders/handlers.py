"""Orders follow their shipments: when the township signs for a consignment that carries an order, the order's
lines book what arrived and the order closes once everything sent has arrived."""

from sqlalchemy import select

from .. import events
from ..extensions import db
from . import fulfilment
from .models import Shipment


@events.consignment_received.connect
def on_consignment_received(consignment, **_extra):
    shipment = db.session.scalar(select(Shipment).where(Shipment.consignment_id == consignment.id))
    if shipment is not None:
        fulfilment.record_receipt(shipment)
