"""How registrations follow their goods: the shortage domain's answers to what orders and supply announce.

Nobody else writes a shortage's status. An order line placed → on order; a consignment dispatched to the facility
that registered it → dispatched, to its township → still ordered, in transit upstream; a consignment received →
delivered (or, at the township, waiting for the village's next run); a receipt that falls short reopens the
registrations the arrived quantity no longer covers, with the difference noted.
"""

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select

from .. import events
from ..extensions import db
from . import services
from .models import Shortage
from .progress import Need, Stage, covered_by


def _load(shortage_ids) -> list[Shortage]:
    ids = sorted(set(shortage_ids))
    if not ids:
        return []
    return list(db.session.scalars(select(Shortage).where(Shortage.id.in_(ids)).order_by(Shortage.id)))


@events.order_lines_placed.connect
def on_order_lines_placed(order, *, shortage_ids, user, **_extra):
    for shortage in _load(shortage_ids):
        if shortage.stage == Stage.NONE:
            services.record_stage(shortage, Stage.ON_ORDER, user=user, ref_type="order", ref_id=order.id)


@events.order_lines_released.connect
def on_order_lines_released(order, *, shortage_ids, user, note="", **_extra):
    for shortage in _load(shortage_ids):
        if shortage.stage == Stage.ON_ORDER:
            services.record_stage(shortage, Stage.NONE, user=user, note=note, ref_type="order", ref_id=order.id)


def _consignment_shortages(consignment) -> dict[int, Shortage]:
    return {s.id: s for line in consignment.lines for s in line.shortages}


@events.consignment_dispatched.connect
def on_consignment_dispatched(consignment, *, user, **_extra):
    for shortage in _consignment_shortages(consignment).values():
        here = shortage.facility_id == consignment.destination_id
        services.record_stage(shortage, Stage.IN_TRANSIT if here else Stage.UPSTREAM_TRANSIT, user=user,
                              ref_type="consignment", ref_id=consignment.id,
                              expected_arrival_date=consignment.expected_arrival_date)


@events.consignment_received.connect
def on_consignment_received(consignment, *, user, **_extra):
    """Share what arrived of each product (every lot of it on the consignment) among the registrations it was sent
    for, most urgent and oldest first: registrations come before the rest of the goods (replenishment)."""
    sent: dict[int, int] = defaultdict(int)
    arrived: dict[int, int] = defaultdict(int)
    riding: dict[int, dict[int, Shortage]] = defaultdict(dict)
    for line in consignment.lines:
        sent[line.product_id] += line.qty_base
        arrived[line.product_id] += line.qty_base_received or 0
        for shortage in line.shortages:
            riding[line.product_id][shortage.id] = shortage
    for product_id, shortages in riding.items():
        needs = [Need(s.id, s.qty_base, s.urgency, s.created_at) for s in shortages.values()]
        covered = set(covered_by(needs, arrived[product_id]))
        for shortage in shortages.values():
            here = shortage.facility_id == consignment.destination_id
            if shortage.id in covered:
                services.record_stage(shortage, Stage.DELIVERED if here else Stage.AT_UPSTREAM, user=user,
                                      ref_type="consignment", ref_id=consignment.id)
            else:
                note = _("%(place)s到货不足：发出 %(sent)s，实收 %(got)s（%(unit)s），登记重新待处理",
                         place=consignment.destination.name, sent=sent[product_id], got=arrived[product_id],
                         unit=shortage.product.base_unit)
                services.record_stage(shortage, Stage.NONE, user=user, note=note, ref_type="consignment",
                                      ref_id=consignment.id)
