"""Stock pages as each role sees them: lists, stock card, forms (packs converted), count sheet, export, scope."""

import io

import pytest
from openpyxl import load_workbook

from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Lot
from tests.factories import make_product
from tests.stock_support import assert_ledger_matches_balances, counts, days_from_now


@pytest.fixture
def stocked(county):
    product = make_product("阿莫西林", pack_size=24)
    village, township = county.villages[0], county.townships[0]
    stock.receive(village, product, lot_number="V1", expiry_date=days_from_now(60), qty_base=48,
                  user=county.users["village"], key="v")
    stock.receive(township, product, lot_number="T1", expiry_date=days_from_now(300), qty_base=240,
                  user=county.users["township"], key="t")
    db.session.commit()
    return county, product


def form_key(page: str) -> str:
    marker = 'name="idempotency_key" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def test_village_doctor_sees_own_stock_with_status_and_not_others(stocked, login):
    county, product = stocked
    client = login(county.users["village"])
    assert client.get("/stock").headers["Location"].endswith(f"/stock/f/{county.villages[0].id}")
    page = client.get(f"/stock/f/{county.villages[0].id}").get_data(as_text=True)
    assert "阿莫西林" in page and "2盒" in page and "近效期" in page and "st-ok" in page
    assert client.get(f"/stock/f/{county.villages[-1].id}").status_code == 403
    assert client.get(f"/stock/f/{county.townships[0].id}/p/{product.id}").status_code == 403
    assert client.get(f"/stock/f/{county.villages[-1].id}/dispense").status_code == 403


def test_dispense_form_converts_packs_and_a_resubmit_records_once(stocked, login):
    county, product = stocked
    village = county.villages[0]
    client = login(county.users["village"])
    page = client.get(f"/stock/f/{village.id}/dispense?product_id={product.id}").get_data(as_text=True)
    key = form_key(page)
    data = {"product_id": product.id, "qty": 1, "unit": "pack", "idempotency_key": key}
    response = client.post(f"/stock/f/{village.id}/dispense", data=data)
    assert response.status_code == 302
    assert client.post(f"/stock/f/{village.id}/dispense", data=data).status_code == 302
    assert stock.on_hand(village.id, product.id) == 24
    card = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "发药" in card and "-24" in card and "期初结存" in card


def test_form_errors_are_shown_and_nothing_is_written(stocked, login):
    county, product = stocked
    village = county.villages[0]
    client = login(county.users["village"])
    before = counts()
    for n, (data, message) in enumerate((({"product_id": product.id, "qty": 0, "unit": "pack"}, "应在 1 到"),
                                         ({"product_id": product.id, "qty": 3, "unit": "pack"}, "库存不足"),
                                         ({"qty": 1, "unit": "pack"}, "必填"))):
        response = client.post(f"/stock/f/{village.id}/dispense", data={**data, "idempotency_key": f"bad-{n}"})
        assert response.status_code in (409, 422)
        assert message in response.get_data(as_text=True)
    assert counts() == before


def test_receive_adjust_and_stocktake_forms(stocked, login):
    county, product = stocked
    township = county.townships[0]
    client = login(county.users["township"])
    assert client.get(f"/stock/f/{township.id}/receive").status_code == 200
    response = client.post(f"/stock/f/{township.id}/receive", data={
        "product_id": product.id, "lot_number": "T2", "expiry_date": str(days_from_now(500)), "qty": 2,
        "unit": "pack", "manufacturer": "华北制药", "idempotency_key": "rcv"})
    assert response.status_code == 302
    lot = db.session.query(Lot).filter_by(lot_number="T2").one()
    assert client.get(f"/stock/f/{township.id}/adjust").status_code == 200
    response = client.post(f"/stock/f/{township.id}/adjust", data={
        "lot_id": lot.id, "qty_delta_base": -4, "reason": "damaged", "note": "受潮", "idempotency_key": "adj"})
    assert response.status_code == 302
    sheet = client.get(f"/stock/f/{township.id}/stocktake?print=1&blind=1").get_data(as_text=True)
    assert "盘点表" in sheet and "实盘数" in sheet and "<th class=\"num\">账面数</th>" not in sheet and 'name="count_' not in sheet
    entry = client.get(f"/stock/f/{township.id}/stocktake").get_data(as_text=True)
    assert "账面数" in entry and f'name="count_{lot.id}"' in entry
    bad = client.post(f"/stock/f/{township.id}/stocktake", data={f"count_{lot.id}": "-1", "idempotency_key": "stx"})
    assert bad.status_code == 422
    response = client.post(f"/stock/f/{township.id}/stocktake", data={f"count_{lot.id}": "40",
                                                                        "idempotency_key": "st"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stock.on_hand(township.id, product.id) == 240 + 40
    assert_ledger_matches_balances()


def test_transfer_form_and_receipt_page(stocked, login):
    county, product = stocked
    township, village = county.townships[0], county.villages[0]
    client = login(county.users["township"])
    page = client.get(f"/stock/f/{township.id}/transfer").get_data(as_text=True)
    assert county.villages[0].name in page and county.villages[-1].name not in page
    response = client.post(f"/stock/f/{township.id}/transfer", data={
        "to_facility_id": village.id, "product_id_0": product.id, "qty_0": 1, "unit_0": "pack",
        "product_id_1": product.id, "qty_1": 0, "unit_1": "base", "in_transit": "1", "idempotency_key": "tf"})
    assert response.status_code == 422 and "应在 1 到 10000000 之间" in response.get_data(as_text=True)
    response = client.post(f"/stock/f/{township.id}/transfer", data={
        "to_facility_id": village.id, "product_id_0": product.id, "qty_0": 1, "unit_0": "pack",
        "in_transit": "1", "idempotency_key": "tf2"})
    assert response.status_code == 302
    doctor = login(county.users["village"])
    page = doctor.get(f"/stock/f/{village.id}").get_data(as_text=True)
    assert "在途" in page
    transfers = doctor.get(f"/stock/f/{village.id}/transfers").get_data(as_text=True)
    assert "确认签收" in transfers
    transfer_id = stock.db.session.execute(db.text("select max(id) from stock_transfer")).scalar()
    line_id = stock.db.session.execute(db.text("select max(id) from stock_transfer_line")).scalar()
    response = doctor.post(f"/stock/transfers/{transfer_id}/receive", data={
        f"received_{line_id}": "20", f"reason_{line_id}": "", "idempotency_key": "rx"})
    assert response.status_code == 422 and "必须选择原因" in response.get_data(as_text=True)
    response = doctor.post(f"/stock/transfers/{transfer_id}/receive", data={
        f"received_{line_id}": "20", f"reason_{line_id}": "damaged", "idempotency_key": "rx2"})
    assert response.status_code == 302
    assert stock.on_hand(village.id, product.id) == 48 + 20


def test_subtree_view_filters_by_status(stocked, login):
    county, _product = stocked
    empty = make_product("氨氯地平")
    stock.receive(county.villages[1], empty, lot_number="E", expiry_date=days_from_now(100), qty_base=1,
                  user=county.users["township"], key="e")
    stock.dispense(county.villages[1], empty, qty_base=1, user=county.users["township"], key="e-d")
    db.session.commit()
    client = login(county.users["township"])
    page = client.get("/stock/subtree").get_data(as_text=True)
    assert f">{county.villages[0].name}</a>" in page and county.villages[-1].name not in page
    only_out = client.get("/stock/subtree?status=stock_out").get_data(as_text=True)
    assert "氨氯地平" in only_out and "阿莫西林" not in only_out
    county_client = login(county.users["county"])
    villages = county_client.get("/stock/subtree?tier=village").get_data(as_text=True)
    assert f">{county.villages[1].name}</a>" in villages and f">{county.townships[0].name}</a>" not in villages


def test_exports(stocked, login):
    county, _product = stocked
    client = login(county.users["township"])
    csv = client.get(f"/stock/f/{county.villages[0].id}/export.csv").get_data(as_text=True)
    assert csv.startswith("\ufeff机构编码") and "V1" in csv and "近效期" in csv
    response = client.get("/stock/subtree/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][0] == "机构编码" and {r[7] for r in rows[1:]} == {"V1", "T1"}


def test_policy_form(stocked, login):
    county, product = stocked
    village = county.villages[0]
    client = login(county.users["village"])
    response = client.post(f"/stock/f/{village.id}/p/{product.id}/policy", data={"min_months": "2", "max_months": "1"})
    assert response.status_code == 422 and "下限不能大于上限" in response.get_data(as_text=True)
    response = client.post(f"/stock/f/{village.id}/p/{product.id}/policy", data={"min_months": "1", "max_months": "3"})
    assert response.status_code == 302
    assert "本机构设定" in client.get(response.headers["Location"]).get_data(as_text=True)


def _field_errors(page: str, name: str) -> list[str]:
    """The field-error text shown inside the label of input `name`."""
    import re

    label = re.search(r'<label>[^<]*<input[^>]*name="%s"[^>]*>(.*?)</label>' % name, page, re.S)
    return re.findall(r'<span class="field-error">([^<]*)</span>', label.group(1)) if label else []


@pytest.mark.parametrize("lot_number, expiry_date, lot_says, expiry_says", [
    ("", "", "必填", "必填"),
    ("   ", "  ", "必填", "必填"),
    ("T9", "2026-13-45", None, "有效期格式应为 YYYY-MM-DD"),
    ("T9", "明年", None, "有效期格式应为 YYYY-MM-DD"),
])
def test_receive_form_says_what_is_missing_and_what_is_malformed(stocked, login, lot_number, expiry_date, lot_says,
                                                                  expiry_says):
    county, product = stocked
    township = county.townships[0]
    client = login(county.users["township"])
    before = counts()
    response = client.post(f"/stock/f/{township.id}/receive", data={
        "product_id": product.id, "lot_number": lot_number, "expiry_date": expiry_date, "qty": 2, "unit": "pack",
        "idempotency_key": "rcv-bad"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_errors(page, "lot_number") == ([lot_says] if lot_says else [])
    assert _field_errors(page, "expiry_date") == [expiry_says]
    assert counts() == before


def test_transfer_form_marks_the_row_that_is_wrong_and_loads_with_the_api_schema(stocked, login):
    county, product = stocked
    township, village = county.townships[0], county.villages[0]
    client = login(county.users["township"])
    before = counts()
    response = client.post(f"/stock/f/{township.id}/transfer", data={
        "to_facility_id": village.id, "product_id_0": product.id, "qty_0": 1, "unit_0": "pack",
        "product_id_3": product.id, "qty_3": "x", "unit_3": "pack", "in_transit": "1", "idempotency_key": "tf-row"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    row = page[page.index('name="qty_3"'):]
    assert row[:row.index("</td>")].count("应为整数") == 1
    nothing = client.post(f"/stock/f/{township.id}/transfer", data={
        "to_facility_id": village.id, "in_transit": "1", "idempotency_key": "tf-empty"})
    assert nothing.status_code == 422 and "调拨单没有明细" in nothing.get_data(as_text=True)
    no_destination = client.post(f"/stock/f/{township.id}/transfer", data={
        "product_id_0": product.id, "qty_0": 1, "unit_0": "pack", "idempotency_key": "tf-nowhere"})
    assert no_destination.status_code == 422
    assert counts() == before


def test_facility_stock_page_filters_and_pages_in_the_database(stocked, login):
    county, amoxicillin = stocked
    village = county.villages[0]
    user = county.users["village"]
    out = make_product("氨氯地平")
    stock.receive(village, out, lot_number="O", expiry_date=days_from_now(300), qty_base=1, user=user, key="o")
    stock.dispense(village, out, qty_base=1, user=user, key="o-d")
    far = make_product("布洛芬")
    stock.receive(village, far, lot_number="B", expiry_date=days_from_now(400), qty_base=5, user=user, key="b")
    db.session.commit()
    client = login(user)
    url = f"/stock/f/{village.id}"

    def products_on(page: str) -> set[str]:
        return {name for name in ("阿莫西林", "氨氯地平", "布洛芬") if f"{name} <span" in page}

    assert products_on(client.get(url).get_data(as_text=True)) == {"阿莫西林", "氨氯地平", "布洛芬"}
    only_out = client.get(f"{url}?status=stock_out").get_data(as_text=True)
    assert products_on(only_out) == {"氨氯地平"}
    assert "（1）" in only_out and "（2）" in only_out  # the counts of every status, not only the one shown
    assert products_on(client.get(f"{url}?near_expiry_only=1").get_data(as_text=True)) == {"阿莫西林"}
    assert products_on(client.get(f"{url}?q=洛芬").get_data(as_text=True)) == {"布洛芬"}
    first, second = (client.get(f"{url}?per_page=2&page={n}").get_data(as_text=True) for n in (1, 2))
    assert products_on(first) == {"氨氯地平", "布洛芬"}  # worst first, then by name
    assert products_on(second) == {"阿莫西林"} and "第 2 / 2 页" in second and "上一页" in second
    assert client.get(f"{url}?page=9").status_code == 200
