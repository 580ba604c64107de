"""Factories: the one way tests make each domain object; each test states the data it needs."""

import itertools
import secrets
from datetime import date, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

from pharmacy import clock
from pharmacy.auth.models import Role, User
from pharmacy.catalog.models import Drug, Product, ProductPrice
from pharmacy.deliveries.services import StopSpec, save_route
from pharmacy.extensions import db
from pharmacy.facilities.models import FacilityKind
from pharmacy.facilities.services import create_facility
from pharmacy.inventory import services as stock
from pharmacy.shortages.services import register_shortage

_seq = itertools.count(1)
FAST_HASH_METHOD = "pbkdf2:sha256:1000"


def make_user(facility, role: Role, username: str | None = None, password: str = "correct horse") -> User:
    from werkzeug.security import generate_password_hash

    user = User(username=username or f"u{next(_seq)}", display_name=f"测试{role.value}", role=role,
                facility=facility, password_hash=generate_password_hash(password, method=FAST_HASH_METHOD),
                session_token=secrets.token_hex(8))
    db.session.add(user)
    db.session.flush()
    return user


def make_county(townships: int = 2, villages: int = 2, code: str | None = None) -> SimpleNamespace:
    """A small county: hospital, central pharmacy, townships with villages, and one user per role."""
    prefix = code or f"C{next(_seq)}"
    county = create_facility(code=prefix, name="测试县医院", kind=FacilityKind.COUNTY_HOSPITAL)
    central = create_facility(code=f"{prefix}-CP", name="测试县中心药房", kind=FacilityKind.CENTRAL_PHARMACY,
                              parent=county)
    ns = SimpleNamespace(county=county, central=central, townships=[], villages=[], users={})
    for t in range(1, townships + 1):
        town = create_facility(code=f"{prefix}-T{t}", name=f"测试{t}镇卫生院", kind=FacilityKind.HEALTH_CENTRE,
                               parent=county)
        ns.townships.append(town)
        for v in range(1, villages + 1):
            ns.villages.append(create_facility(code=f"{prefix}-T{t}V{v}", name=f"测试{t}镇{v}村卫生室",
                                               kind=FacilityKind.VILLAGE_POINT, parent=town, population=900))
    ns.users["county"] = make_user(central, Role.COUNTY_PHARMACIST)
    ns.users["formulary"] = make_user(county, Role.FORMULARY_ADMIN)
    ns.users["viewer"] = make_user(county, Role.VIEWER)
    ns.users["township"] = make_user(ns.townships[0], Role.TOWNSHIP_PHARMACIST)
    ns.users["village"] = make_user(ns.villages[0], Role.VILLAGE_DOCTOR)
    ns.users["other_village"] = make_user(ns.villages[-1], Role.VILLAGE_DOCTOR)
    return ns


def make_product(generic_name: str = "测试药", *, dosage_form: str = "片剂", strength: str = "5mg",
                 base_unit: str = "片", pack_size: int = 24, price: str = "12.50", lowest_tier: str = "village",
                 vbp_batch: str = "", chronic_tags: str = "", edition: str = "T") -> Product:
    n = next(_seq)
    drug = Drug(edition=edition, code=f"T{n:04d}", eml_no=n, category="化学药品和生物制品", class_path="测试类/测试亚类",
                generic_name=f"{generic_name}{n}" if generic_name == "测试药" else generic_name,
                pinyin_initials="CSY", chronic_tags=chronic_tags)
    product = Product(drug=drug, edition=edition, code=f"T{n:04d}-01", dosage_form=dosage_form, strength=strength,
                      base_unit=base_unit, pack_size=pack_size, pack_unit="盒", lowest_tier=lowest_tier,
                      vbp_batch=vbp_batch, unified_price=Decimal(price), effective_from=clock.now_utc())
    db.session.add_all([drug, product, ProductPrice(product=product, unified_price=Decimal(price))])
    db.session.flush()
    return product


def key(prefix: str = "k") -> str:
    """A fresh idempotency key or lot number."""
    return f"{prefix}-{next(_seq)}"


def stock_up(facility, product, qty_base: int, *, user=None, lot: str | None = None, expires_in_days: int = 400):
    """Receive `qty_base` of a new lot at `facility`, expiring `expires_in_days` from today."""
    return stock.receive(facility, product, lot_number=lot or key("LOT"), qty_base=qty_base, user=user,
                         key=key("rcv"), expiry_date=clock.today() + timedelta(days=expires_in_days))


def consume(facility, product, dispensed_base: int, *, on_hand_base: int = 0, user=None):
    """A full three-month history for the AMC (`dispensed_base` ÷ 3 a month): stock received over three months ago,
    `dispensed_base` of it dispensed now, `on_hand_base` left on the shelf."""
    receipt = stock_up(facility, product, dispensed_base + on_hand_base, user=user)
    for movement in receipt.movements:
        movement.created_at = clock.now_utc() - timedelta(days=100)
    db.session.flush()
    stock.dispense(facility, product, qty_base=dispensed_base, user=user, key=key("dsp"))


def make_shortage(facility, product, qty_packs: int, user, urgency: str = "routine"):
    """A shortage registered at `facility` by `user`."""
    registered, _created = register_shortage(facility=facility, user=user, client_id=key("sh"), qty_packs=qty_packs,
                                             product=product, urgency=urgency)
    return registered


def make_route(township, villages, *, name: str | None = None, weekdays: str = "2,5", departure: str = "08:00",
               every: dict | None = None, phase: dict | None = None):
    """A route over `villages` in the given order; `every`/`phase` map a village id to its frequency."""
    every, phase = every or {}, phase or {}
    stops = [StopSpec(v.id, i, every.get(v.id, 1), phase.get(v.id, 0)) for i, v in enumerate(villages, start=1)]
    return save_route(township, name=name or f"线{next(_seq)}", weekdays=weekdays, departure_time=departure,
                      stops=stops)


def next_weekday(weekday: int, after: date | None = None) -> date:
    """The first date with ISO `weekday` strictly after `after` (default today): a route's next departure."""
    day = (after or clock.today()) + timedelta(days=1)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day


def make_delivery_run(township, user, *, departed, stops, status="delivered", signer="李医生"):
    """A run from `township` that departed at `departed`, built straight from the tables; stops: [(village,
    received_at or None, [(product, planned, sent, received or None, reason[, note])])]."""
    from pharmacy.deliveries.models import DeliveryLine, DeliveryRun, DeliveryStop, Route
    from pharmacy.inventory.models import Transfer, TransferLine
    from pharmacy.supply.models import Consignment, ConsignmentLine, ProofOfDelivery

    route = Route(township_id=township.id, name=f"线路{next(_seq)}", weekdays="2", departure_time=time(8))
    run = DeliveryRun(route=route, township_id=township.id, sequence=1, departure_date=departed.date(),
                      departure_time=time(8), status=status, usable_after=departed.date(), dispatched_at=departed)
    db.session.add(run)
    db.session.flush()
    for position, (village, received_at, lines) in enumerate(stops, start=1):
        transfer = Transfer(from_facility_id=township.id, to_facility_id=village.id, sent_at=departed,
                            status="received" if received_at else "in_transit", received_at=received_at)
        consignment = Consignment(kind="delivery", source_id=township.id, destination_id=village.id,
                                  status="received" if received_at else "dispatched", transfer=transfer,
                                  dispatched_at=departed)
        if received_at:
            consignment.proof = ProofOfDelivery(signer_name=signer, signed_at=received_at)
        stop = DeliveryStop(run=run, village_id=village.id, position=position, consignment=consignment,
                            status="received" if received_at else "dispatched")
        db.session.add(stop)
        db.session.flush()
        for product, planned, sent, received, reason, *note in lines:
            lot = stock.get_or_create_lot(product, f"D{next(_seq)}", clock.today() + timedelta(days=300))
            transfer_line = TransferLine(transfer=transfer, product_id=product.id, lot_id=lot.id, qty_base_sent=sent,
                                         qty_base_received=received, discrepancy_reason=reason)
            line = ConsignmentLine(consignment=consignment, product_id=product.id, lot_id=lot.id, qty_base=sent,
                                   qty_base_received=received, difference_reason=reason,
                                   difference_note=note[0] if note else "", transfer_line=transfer_line)
            db.session.add_all([transfer_line, line])
            db.session.flush()
            db.session.add(DeliveryLine(stop=stop, product_id=product.id, lot_id=lot.id, qty_base=sent,
                                        planned_qty_base=planned, source="replenish", consignment_line_id=line.id))
    db.session.flush()
    return run
