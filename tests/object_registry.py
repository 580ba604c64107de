"""What each URL parameter names, for the tests generated from the URL map (test_url_map_security.py).

Every rule parameter must be listed here, or the generated tests fail: a new endpoint cannot slip past the
horizontal-privilege checks. For a parameter naming an object that belongs to a facility, give a factory that
makes such an object at a given facility and returns the value to put in the URL; the tests then check that a
user who may not see that facility gets 403 or 404. Factories receive `made`, a dict shared by the factories of
one URL, so that /runs/<run_id>/stops/<stop_id> can make the stop inside the run it made for run_id.

When you add an endpoint with a new parameter, add a line here.
"""

from collections.abc import Callable

from pharmacy.auth.models import Role
from pharmacy.facilities.models import Facility, Tier
from tests.factories import make_user

GLOBAL = "global"  # objects everyone with the permission may see (the formulary): nothing to scope

# Parameters that are not object ids, per endpoint, with a value to put in the URL.
MONTH = {"month": "2026-01"}
NOT_OBJECTS: dict[str, dict[str, str]] = {
    "static": {"filename": "css/app.css"},
    "i18n.set_language": {"code": "en"},
    "catalog.export": {"fmt": "csv"},
    "inventory.export": {"fmt": "csv"},
    "settlement.statement": MONTH,
    "settlement.statement_xlsx": MONTH,
    "settlement.statement_pdf_download": MONTH,
    "settlement_api.statement": MONTH,
    "settlement_api.close": MONTH,
    "settlement_api.close_preview": MONTH,
    "reports.report": {"key": "stock"},
    "reports_api.report_page": {"key": "stock"},
    "reports.export": {"key": "stock", "fmt": "csv"},
}

Factory = Callable[[Facility, dict], object]

_ROLE_AT_TIER = {Tier.VILLAGE: Role.VILLAGE_DOCTOR, Tier.TOWNSHIP: Role.TOWNSHIP_PHARMACIST, Tier.COUNTY: Role.VIEWER}


def _user_at(facility: Facility, made: dict) -> int:
    return made.setdefault("user", make_user(facility, _ROLE_AT_TIER[Tier(facility.tier)])).id


def _township_of(facility: Facility) -> Facility:
    return facility.parent if facility.tier == Tier.VILLAGE else facility


def _central_of(facility: Facility) -> Facility:
    from pharmacy.facilities.services import central_pharmacy_of

    return central_pharmacy_of(facility)


def _product(made: dict):
    from tests.factories import make_product

    return made.setdefault("product", make_product())


def _order(facility: Facility, made: dict):
    from pharmacy.extensions import db
    from pharmacy.orders.models import Order

    if "order" not in made:
        made["order"] = Order(facility_id=_township_of(facility).id, status="submitted", note="越权测试")
        db.session.add(made["order"])
        db.session.flush()
    return made["order"]


def _order_line(facility: Facility, made: dict) -> int:
    from pharmacy.extensions import db
    from pharmacy.orders.models import OrderLine

    line = OrderLine(order_id=_order(facility, made).id, product_id=_product(made).id, qty_packs=3)
    db.session.add(line)
    db.session.flush()
    return line.id


def _shipment(facility: Facility, made: dict) -> int:
    from pharmacy.extensions import db
    from pharmacy.orders.models import Shipment

    order = _order(facility, made)
    consignment = _consignment_to(db.session.get(Facility, order.facility_id), made)
    shipment = Shipment(order_id=order.id, consignment_id=consignment.id)
    db.session.add(shipment)
    db.session.flush()
    return shipment.id


def _consignment_to(facility: Facility, made: dict):
    """A consignment in transit to `facility` from its parent (or from itself for a county)."""
    from pharmacy.extensions import db
    from pharmacy.inventory.models import Transfer
    from pharmacy.supply.models import Consignment

    if "consignment" not in made:
        source = facility.parent or _central_of(facility)
        transfer = Transfer(from_facility_id=source.id, to_facility_id=facility.id)
        db.session.add(transfer)
        db.session.flush()
        made["consignment"] = Consignment(kind="transfer", source_id=source.id, destination_id=facility.id,
                                          status="dispatched", transfer_id=transfer.id)
        db.session.add(made["consignment"])
        db.session.flush()
    return made["consignment"]


def _purchase_order(facility: Facility, made: dict):
    from pharmacy.extensions import db
    from pharmacy.purchasing.models import PurchaseOrder, Supplier

    if "po" not in made:
        import secrets

        supplier = Supplier(code=f"S-{secrets.token_hex(4)}", name="越权测试供应商")
        db.session.add(supplier)
        db.session.flush()
        made["po"] = PurchaseOrder(supplier_id=supplier.id, facility_id=_central_of(facility).id)
        db.session.add(made["po"])
        db.session.flush()
    return made["po"]


def _purchase_line(facility: Facility, made: dict) -> int:
    from decimal import Decimal

    from pharmacy.extensions import db
    from pharmacy.purchasing.models import PurchaseOrderLine

    line = PurchaseOrderLine(purchase_order_id=_purchase_order(facility, made).id, product_id=_product(made).id,
                             qty_packs=2, unit_price=Decimal("1.00"))
    db.session.add(line)
    db.session.flush()
    return line.id


def _add(obj):
    from pharmacy.extensions import db

    db.session.add(obj)
    db.session.flush()
    return obj


def _shortage(facility: Facility, made: dict) -> int:
    import secrets

    from pharmacy.shortages.models import Shortage

    return _add(Shortage(client_id=f"idor-{secrets.token_hex(6)}", facility_id=facility.id, free_text="越权测试",
                         qty_packs=1)).id


def _transfer(facility: Facility, made: dict) -> int:
    return _consignment_to(facility, made).transfer_id


def _adjustment_request(facility: Facility, made: dict) -> int:
    import secrets
    from datetime import date

    from pharmacy.inventory.models import AdjustmentRequest, Lot
    from tests.factories import make_product

    product = make_product()
    lot = _add(Lot(product_id=product.id, lot_number=f"IDOR-{secrets.token_hex(3)}", expiry_date=date(2099, 1, 1)))
    return _add(AdjustmentRequest(idempotency_key=f"idor-{secrets.token_hex(6)}", facility_id=facility.id,
                                  product_id=product.id, lot_id=lot.id, qty_delta_base=100_000,
                                  reason="correction", status="pending")).id


def _dictionary_import(facility: Facility, made: dict):
    from pharmacy.matching.models import DictionaryImport

    if "import" not in made:
        made["import"] = _add(DictionaryImport(facility_id=facility.id, filename="越权.csv", file_format="csv"))
    return made["import"]


def _local_drug(facility: Facility, made: dict) -> int:
    from pharmacy.matching.models import LocalDrug

    batch = _dictionary_import(facility, made)
    return _add(LocalDrug(import_id=batch.id, facility_id=facility.id, row_no=1, local_name="阿莫西林胶囊",
                          status="needs_review")).id


def _route(facility: Facility, made: dict):
    from datetime import time

    from pharmacy.deliveries.models import Route, RouteStop

    if "route" not in made:
        import secrets

        made["route"] = _add(Route(township_id=_township_of(facility).id, name=f"越权线路{secrets.token_hex(3)}",
                                   weekdays="2,5", departure_time=time(8, 0)))
        if facility.tier == Tier.VILLAGE:
            _add(RouteStop(route_id=made["route"].id, village_id=facility.id, position=1))
    return made["route"]


def _run(facility: Facility, made: dict):
    from datetime import date, time

    from pharmacy.deliveries.models import DeliveryRun

    if "run" not in made:
        route = _route(facility, made)
        made["run"] = _add(DeliveryRun(route_id=route.id, township_id=route.township_id, sequence=1,
                                       departure_date=date(2030, 1, 7), departure_time=time(8, 0),
                                       usable_after=date(2030, 1, 7)))
    return made["run"]


def _stop(facility: Facility, made: dict):
    from pharmacy.deliveries.models import DeliveryStop

    if "stop" not in made:
        made["stop"] = _add(DeliveryStop(run_id=_run(facility, made).id, village_id=facility.id, position=1))
    return made["stop"]


def _delivery_line(facility: Facility, made: dict) -> int:
    from datetime import date

    from pharmacy.deliveries.models import DeliveryLine
    from pharmacy.inventory.services import get_or_create_lot

    product = _product(made)
    lot = get_or_create_lot(product, "IDOR-1", date(2031, 1, 1))
    return _add(DeliveryLine(stop_id=_stop(facility, made).id, product_id=product.id, lot_id=lot.id, qty_base=10,
                             planned_qty_base=10, source="manual")).id


def _tracer(facility: Facility, made: dict) -> int:
    from pharmacy.reports.models import TracerProduct

    root_id = int(facility.path.strip("/").split("/")[0])
    return _add(TracerProduct(county_id=root_id, product_id=_product(made).id, note="越权测试")).id


def _api_token(facility: Facility, made: dict) -> int:
    from pharmacy.auth import tokens

    _user_at(facility, made)
    owner = made["user"]
    return tokens.create_token(owner, name="越权测试", scopes=["read"], days=1, by=owner).token.id


# Looked up as "<blueprint>:<parameter>" first (blueprint without "_api"), then "<parameter>".
OBJECTS: dict[str, Factory | str] = {
    "facility_id": lambda facility, made: facility.id,
    "user_id": _user_at,
    "product_id": GLOBAL,
    "drug_id": GLOBAL,
    "supplier_id": GLOBAL,  # suppliers serve the whole deployment
    "order_id": lambda facility, made: _order(facility, made).id,
    "orders:line_id": _order_line,
    "shipment_id": _shipment,
    "consignment_id": lambda facility, made: _consignment_to(facility, made).id,
    "po_id": lambda facility, made: _purchase_order(facility, made).id,
    "purchasing:line_id": _purchase_line,
    "shortage_id": _shortage,
    "transfer_id": _transfer,
    "import_id": lambda facility, made: _dictionary_import(facility, made).id,
    "local_drug_id": _local_drug,
    "route_id": lambda facility, made: _route(facility, made).id,
    "run_id": lambda facility, made: _run(facility, made).id,
    "stop_id": lambda facility, made: _stop(facility, made).id,
    "deliveries:line_id": _delivery_line,
    "tracer_id": _tracer,
    "token_id": _api_token,
    "request_id": _adjustment_request,
    "insurance:row_id": GLOBAL,  # rows of a 医保 code table: the formulary is county-wide (no __scope__)
}


def factory_for(endpoint: str, param: str):
    blueprint = endpoint.split(".")[0].removesuffix("_api")
    return OBJECTS.get(f"{blueprint}:{param}", OBJECTS.get(param))
