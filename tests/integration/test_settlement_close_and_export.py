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
