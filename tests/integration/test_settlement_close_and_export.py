"""Settlement: the statement download counts packs and names the price per pack of any kind; closing a month is
a two-step confirmation (the page shows what will be frozen; one click closes nothing)."""

from io import BytesIO

from openpyxl import load_workbook

from pharmacy import clock
from pharmacy.settlement import services as settlement
from tests.factories import make_product
from tests.integration.test_purchasing_and_settlement import _receive_at


def _detail_rows(data: bytes) -> tuple[list, list[list]]:
    workbook = load_workbook(BytesIO(data))
    sheet = workbook.worksheets[1]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def test_statement_xlsx_counts_packs_and_prices_per_pack_of_any_kind(county, login, db_session):
    bottle = make_product(base_unit="ml", pack_size=100, price="8.00")
    bottle.pack_unit = "瓶"
    _receive_at(county, bottle, 300, clock.now_utc())  # three bottles of 100 ml
    db_session.commit()
    client = login(county.users["township"])
    response = client.get(f"/settlement/{county.townships[0].id}/{settlement.current_month()}.xlsx")
    assert response.status_code == 200
    header, rows = _detail_rows(response.data)
    [row] = rows
    cell = dict(zip(header, row, strict=True))
    assert cell["包装数"] == 3  # the number of packs; the old 包装数量 column held the pack size (100)
    assert "包装数量" not in header
    assert cell["每包装含量"] == 100 and cell["单位"] == "ml" and cell["数量"] == 300
    assert not any("元/盒" in str(h) for h in header)
    assert cell["单价（元/包装）"] == 8 and cell["金额（元）"] == 24


def _last_month_with_a_receipt(county, db_session, *, qty_base=30):
    from pharmacy.settlement.rules import previous_month

    product = make_product(pack_size=10, price="20.00")
    last_month = previous_month(settlement.current_month())
    year, month = map(int, last_month.split("-"))
    _receive_at(county, product, qty_base, clock.now_utc().replace(year=year, month=month, day=15, hour=4))
    db_session.commit()
    return last_month, product


def test_closing_is_two_steps_and_one_click_closes_nothing(county, login, db_session):
    last_month, _product = _last_month_with_a_receipt(county, db_session)
    town = county.townships[0]
    client = login(county.users["county"])
    index = client.get(f"/settlement?month={last_month}").get_data(as_text=True)
    assert f'href="/settlement/close?month={last_month}"' in index  # the index only opens the confirmation

    one_click = client.post("/settlement/close", data={"month": last_month})
    assert one_click.status_code == 422
    assert settlement.closed_month(county.county.id, last_month) is None
    assert settlement.get_statement(town, last_month).is_closed is False

    preview = client.get(f"/settlement/close?month={last_month}")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert last_month in html and town.name in html and "60.00" in html  # the month, the facilities, totals
    assert 'name="confirm" value="1"' in html and "不可撤销" in html
    confirmed = client.post("/settlement/close", data={"month": last_month, "confirm": "1",
                                                       "expected_lines": "1", "expected_total": "60.00"})
    assert confirmed.status_code == 302
    assert settlement.get_statement(town, last_month).is_closed is True


def test_a_confirmation_of_other_figures_closes_nothing(county, login, db_session):
    """Receipts booked between the preview and the click: the month is not frozen with figures nobody saw."""
    last_month, product = _last_month_with_a_receipt(county, db_session)
    client = login(county.users["county"])
    stale = client.post("/settlement/close", data={"month": last_month, "confirm": "1", "expected_lines": "0",
                                                   "expected_total": "0.00"})
    assert stale.status_code == 409
    assert settlement.closed_month(county.county.id, last_month) is None


def test_the_api_close_needs_an_explicit_confirmation(county, login, db_session):
    last_month, _product = _last_month_with_a_receipt(county, db_session)
    client = login(county.users["county"])
    preview = client.get(f"/api/v1/settlements/{last_month}/close")
    assert preview.status_code == 200
    body = preview.get_json()
    assert body["month"] == last_month and body["totals"]["lines"] == 1 and body["totals"]["total"] == "60.00"
    assert county.townships[0].id in {f["facility_id"] for f in body["facilities"]}
    refused = client.post(f"/api/v1/settlements/{last_month}/close", json={})
    assert refused.status_code == 422 and "confirm" in refused.get_json()["error"]["fields"]
    assert client.post(f"/api/v1/settlements/{last_month}/close", json={"confirm": False}).status_code == 422
    assert settlement.closed_month(county.county.id, last_month) is None
    closed = client.post(f"/api/v1/settlements/{last_month}/close", json={"confirm": True})
    assert closed.status_code == 201 and closed.get_json()["month"] == last_month
