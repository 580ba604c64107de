"""Purchase proposals, confirmation and goods receipt; monthly statements and closed months."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from pharmacy import clock
from pharmacy.catalog.services import update_product
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import StockMovement
from pharmacy.orders import fulfilment, services
from pharmacy.purchasing import services as purchasing
from pharmacy.settlement import services as settlement
from pharmacy.settlement.rules import previous_month
from tests.factories import make_product, stock_up


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _backordered(county, lines):
    """An approved, allocated order of the first township whose lines all wait for stock."""
    user = county.users["township"]
    order = services.create_order(county.townships[0], user)
    for product, packs in lines.items():
        services.add_line(order, product, qty_packs=packs, user=user)
    services.submit_order(order, user)
    services.approve_order(order, county.users["county"])
    fulfilment.allocate_orders([order], county.users["county"])
    return order


def test_proposals_group_by_cheapest_supplier_with_vbp_first(county):
    county_user, central = county.users["county"], county.central
    plain, vbp, orphan = make_product(), make_product(vbp_batch="第五批"), make_product()
    _backordered(county, {plain: 4, vbp: 2, orphan: 1})
    s1 = purchasing.create_supplier(code="s1", name="甲公司")
    s2 = purchasing.create_supplier(code="s2", name="乙公司")
    purchasing.set_supplier_product(s1, plain, "10.00")
    purchasing.set_supplier_product(s1, vbp, "5.00")
    purchasing.set_supplier_product(s2, vbp, "4.50")
    proposals, unsupplied = purchasing.propose_purchase_orders(central, county_user)
    assert [n.product.id for n in unsupplied] == [orphan.id]
    by_supplier = {po.supplier.code: po for po in proposals}
    s1_lines = [(line.product_id, line.qty_packs, line.is_vbp) for line in by_supplier["S1"].lines]
    assert s1_lines == [(plain.id, 4, False)]
    assert [(line.product_id, line.unit_price) for line in by_supplier["S2"].lines] == [(vbp.id, Decimal("4.50"))]
    # Regenerating replaces unconfirmed proposals; confirmed purchases count as already bought.
    purchasing.confirm_purchase_order(by_supplier["S1"], county_user)
    proposals, _ = purchasing.propose_purchase_orders(central, county_user)
    assert [po.supplier.code for po in proposals] == ["S2"]
    needs = {n.product.id: n for n in purchasing.purchase_needs(central)}
    assert needs[plain.id].to_buy_packs == 0 and needs[plain.id].on_purchase_packs == 4
    assert next(iter(needs)) == vbp.id  # 集采 first


def test_purchase_order_edits_and_receipts(county, login, db_session):
    county_user, central = county.users["county"], county.central
    product = make_product(pack_size=10)
    order = _backordered(county, {product: 5})
    supplier = purchasing.create_supplier(code="S9", name="丙公司")
    purchasing.set_supplier_product(supplier, product, "20.00")
    [po], _ = purchasing.propose_purchase_orders(central, county_user)
    db_session.commit()
    client = login(county_user)
    line_id = po.lines[0].id
    expiry = (clock.today() + timedelta(days=500)).isoformat()
    early = client.post(f"/api/v1/purchases/{po.id}/receipts", json={"key": "r0", "lines": [
        {"purchase_order_line_id": line_id, "lot_number": "X", "expiry_date": expiry, "qty_packs": 1}]})
    assert early.status_code == 409  # a proposal is not received before it is confirmed
    _ok(client.patch(f"/api/v1/purchases/{po.id}/lines/{line_id}", json={"qty_packs": 6}))
    _ok(client.post(f"/api/v1/purchases/{po.id}/confirm", json={}))
    assert client.patch(f"/api/v1/purchases/{po.id}/lines/{line_id}", json={"qty_packs": 7}).status_code == 409
    too_many = client.post(f"/api/v1/purchases/{po.id}/receipts", json={"key": "r1", "lines": [
        {"purchase_order_line_id": line_id, "lot_number": "X", "expiry_date": expiry, "qty_packs": 7}]})
    assert too_many.status_code == 422
    expired = client.post(f"/api/v1/purchases/{po.id}/receipts", json={"key": "r2", "lines": [
        {"purchase_order_line_id": line_id, "lot_number": "X", "expiry_date": clock.today().isoformat(),
         "qty_packs": 1}]})
    assert expired.status_code == 422
    assert stock.on_hand(central.id, product.id) == 0
    _ok(client.post(f"/api/v1/purchases/{po.id}/receipts", json={"key": "r3", "lines": [
        {"purchase_order_line_id": line_id, "lot_number": "L-A", "expiry_date": expiry, "qty_packs": 2}]}), 201)
    after = _ok(client.get(f"/api/v1/purchases/{po.id}"))
    assert after["status"] == "partially_received" and after["lines"][0]["qty_packs_received"] == 2
    assert stock.on_hand(central.id, product.id) == 20
    line = order.lines[0]
    db_session.refresh(line)
    assert (line.qty_packs_allocated, line.qty_packs_backordered) == (2, 3)
    _ok(client.post(f"/api/v1/purchases/{po.id}/receipts", json={"key": "r4", "lines": [
        {"purchase_order_line_id": line_id, "lot_number": "L-B", "expiry_date": expiry, "qty_packs": 4}]}), 201)
    db_session.refresh(line)
    assert _ok(client.get(f"/api/v1/purchases/{po.id}"))["status"] == "received"
    assert (line.qty_packs_allocated, line.qty_packs_backordered) == (5, 0)
    assert stock.on_hand(central.id, product.id) == 60  # one pack more than the back-order: free central stock
    township_client = login(county.users["township"])
    assert township_client.get("/api/v1/purchases").status_code == 403


def _receive_at(county, product, qty_base, when):
    """A township receipt of `qty_base` (a transfer from the central pharmacy) dated `when`."""
    stock_up(county.central, product, qty_base)
    transfer = stock.send_transfer(county.central, county.townships[0], [stock.LineRequest(product, qty_base)],
                                   user=county.users["county"], key=f"t-{product.id}-{when.isoformat()}-{qty_base}")
    stock.receive_transfer(transfer, {}, user=county.users["township"], key=f"in-{transfer.id}")
    movement = transfer.lines[0]
    from pharmacy.extensions import db

    db.session.execute(update(StockMovement).where(StockMovement.ref_type == "transfer",
                                                   StockMovement.ref_id == transfer.id,
                                                   StockMovement.kind == "transfer_in").values(created_at=when))
    return movement


def test_a_closed_month_never_changes(county, login, db_session):
    town = county.townships[0]
    product = make_product(pack_size=10, price="20.00", vbp_batch="第七批")
    last_month = previous_month(settlement.current_month())
    year, month = map(int, last_month.split("-"))
    mid_last_month = clock.now_utc().replace(year=year, month=month, day=15, hour=4)
    _receive_at(county, product, 30, mid_last_month)
    db_session.commit()
    client = login(county.users["county"])
    live = _ok(client.get(f"/api/v1/settlements/{town.id}/{last_month}"))
    assert live["is_closed"] is False and live["totals"]["total"] == "60.00" and live["totals"]["vbp"] == "60.00"
    confirmed = {"confirm": True}
    assert client.post(f"/api/v1/settlements/{settlement.current_month()}/close", json=confirmed).status_code == 409
    _ok(client.post(f"/api/v1/settlements/{last_month}/close", json={"confirm": True}), 201)
    assert client.post(f"/api/v1/settlements/{last_month}/close", json={"confirm": True}).status_code == 409
    # Later: the price changes and a late receipt appears in the ledger dated inside the closed month.
    update_product(product, {"unified_price": "99.00"}, reason="调价", user=county.users["formulary"])
    product.drug.generic_name = "改名后的药"
    _receive_at(county, product, 10, mid_last_month)
    db_session.commit()
    closed = _ok(client.get(f"/api/v1/settlements/{town.id}/{last_month}"))
    assert closed["is_closed"] is True
    assert closed["totals"]["total"] == "60.00" and len(closed["rows"]) == 1
    assert "改名后的药" not in closed["rows"][0]["product_name"]
    overview = _ok(client.get(f"/api/v1/settlements?month={last_month}&tier=township"))
    assert {row["facility_id"]: row["totals"]["total"] for row in overview}[town.id] == "60.00"
    # The township sees its own statement, not another township's.
    township_client = login(county.users["township"])
    assert _ok(township_client.get(f"/api/v1/settlements/{town.id}/{last_month}"))["totals"]["total"] == "60.00"
    assert township_client.get(f"/api/v1/settlements/{county.townships[1].id}/{last_month}").status_code == 403
    assert township_client.post(f"/api/v1/settlements/{last_month}/close", json={"confirm": True}).status_code == 403
    assert township_client.get(f"/api/v1/settlements/{town.id}/2024-13").status_code == 422


def test_statement_downloads(county, login, db_session):
    product = make_product(pack_size=10, price="12.34")
    _receive_at(county, product, 25, clock.now_utc())
    db_session.commit()
    client = login(county.users["township"])
    month = settlement.current_month()
    page = client.get(f"/settlement/{county.townships[0].id}/{month}")
    assert page.status_code == 200 and "30.85" in page.get_data(as_text=True)
    xlsx = client.get(f"/settlement/{county.townships[0].id}/{month}.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    from io import BytesIO

    from openpyxl import load_workbook

    workbook = load_workbook(BytesIO(xlsx.data))
    summary = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert summary["合计"] == 30.85
    pdf = client.get(f"/settlement/{county.townships[0].id}/{month}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/settlement?month={month}").status_code == 200
