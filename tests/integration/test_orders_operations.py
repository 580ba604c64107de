"""The order pages and their API twins go through one operation with one form schema: the draft import reads
the same fields (file, pick_<row>, qty_<line id>) from the page and from an API client, and a refusal names the
very input on both."""

import io

from pharmacy.auth.policy import load_in_scope
from pharmacy.orders.models import Order
from pharmacy.purchasing import services as purchasing
from tests.factories import make_product
from tests.integration.orders_helpers import csrf_header
from tests.integration.test_orders_rules import _draft_with_line, _xlsx
from tests.integration.test_purchasing_and_settlement import _backordered


def test_the_api_import_takes_the_drafts_unsaved_edits_like_the_page(county, login, db_session):
    order, line = _draft_with_line(county)
    extra = make_product(pack_size=10)
    db_session.commit()
    client = login(county.users["township"])
    data = _xlsx([(extra.code, "", "", 3, "")])
    refused = client.post(f"/api/v1/orders/{order.id}/import", content_type="multipart/form-data",
                          headers=csrf_header(client),
                          data={"file": (io.BytesIO(data), "a.xlsx"), f"qty_{line.id}": "x"})
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {f"qty_{line.id}": ["数量必须是整数"]}
    assert len(load_in_scope(county.users["township"], Order, order.id).lines) == 1
    ok = client.post(f"/api/v1/orders/{order.id}/import", content_type="multipart/form-data",
                     headers=csrf_header(client), data={"file": (io.BytesIO(data), "a.xlsx"), f"qty_{line.id}": "7"})
    assert ok.status_code == 201, ok.get_json()
    lines = {x["product_id"]: x["qty_packs"] for x in ok.get_json()["order"]["lines"]}
    assert lines == {line.product_id: 7, extra.id: 3}


def test_a_pick_that_is_not_a_product_id_is_marked_on_the_page(county, login, db_session):
    order, line = _draft_with_line(county)
    db_session.commit()
    client = login(county.users["township"])
    data = _xlsx([("", "布洛芬", "0.2g", 4, "")])
    page = client.post(f"/orders/{order.id}/import", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "b.xlsx"), "pick_3": "片剂"})
    assert page.status_code == 422 and "应为整数" in page.get_data(as_text=True)
    assert len(load_in_scope(county.users["township"], Order, order.id).lines) == 1


def test_a_bad_price_on_a_proposal_marks_its_field_and_saves_nothing(county, login, db_session):
    product = make_product(pack_size=10)
    _backordered(county, {product: 3})
    supplier = purchasing.create_supplier(code="SP1", name="戊公司")
    purchasing.set_supplier_product(supplier, product, "2.00")
    [po], _ = purchasing.propose_purchase_orders(county.central, county.users["county"])
    db_session.commit()
    line = po.lines[0]
    client = login(county.users["county"])
    refused = client.post(f"/purchasing/orders/{po.id}/save", data={f"qty_{line.id}": "5", f"price_{line.id}": "两元"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "应为数字" in html and 'value="两元"' in html
    db_session.refresh(line)
    assert line.qty_packs == 3
    assert client.post(f"/purchasing/orders/{po.id}/save", data={f"qty_{line.id}": "5"}).status_code == 302
    db_session.refresh(line)
    assert line.qty_packs == 5
