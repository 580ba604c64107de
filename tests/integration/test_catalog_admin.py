"""Formulary admins change the catalog through pages and the API; every change lands in the history."""

from sqlalchemy import select

from pharmacy.catalog.models import CatalogChange, Product
from pharmacy.extensions import db
from tests.factories import make_product


def _history(product):
    return db.session.scalars(select(CatalogChange).where(CatalogChange.product_id == product.id)
                              .order_by(CatalogChange.id)).all()


def test_price_change_with_reason_is_recorded_with_user(county, login):
    product = make_product()
    client = login(county.users["formulary"])
    response = client.patch(f"/api/v1/catalog/products/{product.id}",
                            json={"unified_price": "10.80", "vbp_batch": "5", "reason": "第五批集采中选"})
    assert response.status_code == 200
    assert response.json["unified_price"] == "10.80" and response.json["is_vbp"] is True
    rows = [(c.field, c.old_value, c.new_value, c.reason, c.user_id) for c in _history(product)]
    admin = county.users["formulary"].id
    assert sorted(rows) == [("unified_price", "12.50", "10.80", "第五批集采中选", admin),
                            ("vbp_batch", "", "5", "第五批集采中选", admin)]
    history = client.get(f"/api/v1/catalog/products/{product.id}/history").json
    assert {h["field"] for h in history} == {"unified_price", "vbp_batch"}


def test_change_without_reason_is_refused_and_nothing_changes(county, login):
    product = make_product()
    client = login(county.users["formulary"])
    response = client.patch(f"/api/v1/catalog/products/{product.id}", json={"unified_price": "9.00"})
    assert response.status_code == 422
    assert response.json["error"]["fields"]["reason"] == ["必填"]
    page = client.post(f"/catalog/products/{product.id}", data={"unified_price": "9.00", "reason": " "})
    assert page.status_code == 422
    assert "请填写变更原因" in page.get_data(as_text=True)
    assert str(product.unified_price) == "12.50" and _history(product) == []


def test_withdraw_keeps_the_product_and_its_history(county, login):
    product = make_product()
    client = login(county.users["formulary"])
    assert client.post(f"/catalog/products/{product.id}/status",
                       data={"status": "withdrawn", "reason": "厂家停产"}).status_code == 302
    assert db.session.get(Product, product.id).status == "withdrawn"
    conflict = client.post(f"/api/v1/catalog/products/{product.id}/withdraw", json={"reason": "再次"})
    assert conflict.status_code == 409
    listed = client.get("/api/v1/catalog/products", query_string={"q": product.drug.generic_name}).json
    assert listed["total"] == 0
    listed = client.get("/api/v1/catalog/products", query_string={"q": product.drug.generic_name,
                                                                  "status": "withdrawn"}).json
    assert [p["code"] for p in listed["items"]] == [product.code]
    page = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "厂家停产" in page
    reinstated = client.post(f"/api/v1/catalog/products/{product.id}/reinstate", json={"reason": "恢复供货"})
    assert reinstated.status_code == 200 and reinstated.json["status"] == "active"
    assert [c.action for c in _history(product)] == ["withdraw", "reinstate"]


def test_add_a_strength_to_a_drug(county, login):
    product = make_product()
    client = login(county.users["formulary"])
    body = {"dosage_form": "片剂", "strength": "10mg", "base_unit": "片", "pack_size": 28, "pack_unit": "盒",
            "unified_price": "15.00", "reason": "新增规格"}
    response = client.post(f"/api/v1/catalog/drugs/{product.drug_id}/products", json=body)
    assert response.status_code == 201
    assert response.json["code"] == f"{product.drug.code}-02"
    again = client.post(f"/api/v1/catalog/drugs/{product.drug_id}/products", json=body)
    assert again.status_code == 409
    bad = client.post(f"/api/v1/catalog/drugs/{product.drug_id}/products", json=body | {"base_unit": "颗"})
    assert bad.status_code == 422


def test_browse_search_and_export(county, login):
    product = make_product("氨氯地平测试", strength="5mg", vbp_batch="1", chronic_tags="hypertension")
    client = login(county.users["viewer"])
    page = client.get("/catalog", query_string={"q": "氨氯地平测试"}).get_data(as_text=True)
    assert product.code in page and "高血压" in page
    csv_text = client.get("/catalog/export.csv", query_string={"q": "氨氯地平测试"}).get_data(as_text=True)
    assert csv_text.startswith("\ufeff产品编码") and product.code in csv_text
    xlsx = client.get("/catalog/export.xlsx", query_string={"q": "氨氯地平测试"})
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    classes = client.get("/api/v1/catalog/classes").json
    assert any(c["path"] == "测试类/测试亚类" for c in classes)


def test_openapi_document_lists_the_catalog_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/catalog/products/{product_id}" in spec["paths"]
    assert "patch" in spec["paths"]["/api/v1/catalog/products/{product_id}"]


def test_chronic_tags_are_set_with_a_reason_and_survive_the_next_load(county, login):
    from pharmacy.catalog.loader import load_catalog
    from pharmacy.catalog.models import Drug
    from pharmacy.config import ROOT

    drug = db.session.scalar(select(Drug).where(Drug.edition == "2018", Drug.generic_name == "阿司匹林"))
    client = login(county.users["formulary"])
    assert client.put(f"/api/v1/catalog/drugs/{drug.id}/chronic-tags",
                      json={"chronic_tags": ["coronary"]}).status_code == 422
    response = client.put(f"/api/v1/catalog/drugs/{drug.id}/chronic-tags",
                          json={"chronic_tags": ["coronary", "stroke", "diabetes"], "reason": "糖尿病一级预防"})
    assert response.status_code == 200
    assert response.json["chronic_tags"] == ["diabetes", "stroke", "coronary"]
    report = load_catalog(ROOT / "catalog_data")
    assert report.kept_local_edits == 1 and not report.changed_anything
    assert db.session.get(Drug, drug.id).chronic_tags == "diabetes|stroke|coronary"
    page = client.get(f"/catalog/products/{drug.products[0].id}").get_data(as_text=True)
    assert "糖尿病一级预防" in page


def test_the_page_and_the_api_list_the_same_products_with_the_same_filters(county, login):
    products = [make_product("共用列表药") for _ in range(3)]
    withdrawn = make_product("共用列表药")
    client = login(county.users["formulary"])
    assert client.post(f"/api/v1/catalog/products/{withdrawn.id}/withdraw", json={"reason": "停产"}).status_code == 200
    first = client.get("/api/v1/catalog/products", query_string={"q": "共用列表药", "per_page": 2}).json
    assert (first["total"], first["page"], first["per_page"], first["has_next"]) == (3, 1, 2, True)
    second = client.get("/api/v1/catalog/products", query_string={"q": "共用列表药", "per_page": 2, "page": 2}).json
    assert len(second["items"]) == 1 and second["has_next"] is False
    codes = {p["code"] for p in first["items"] + second["items"]}
    assert codes == {p.code for p in products}
    every = client.get("/api/v1/catalog/products", query_string={"q": "共用列表药", "status": "all"}).json
    assert every["total"] == 4
    page = client.get("/catalog", query_string={"q": "共用列表药"}).get_data(as_text=True)
    assert all(p.code in page for p in products) and withdrawn.code not in page
    page = client.get("/catalog", query_string={"q": "共用列表药", "status": "all"}).get_data(as_text=True)
    assert withdrawn.code in page and '<option value="all" selected' in page
    past_the_end = client.get("/catalog", query_string={"q": "共用列表药", "page": 9})
    assert past_the_end.status_code == 200 and "没有符合条件的产品" in past_the_end.get_data(as_text=True)


def test_the_product_page_clears_a_field_and_refuses_what_the_api_refuses(county, login):
    product = make_product(vbp_batch="3")
    client = login(county.users["formulary"])
    form = {"unified_price": "12.50", "vbp_batch": "", "insurance_class": "", "lowest_tier": "village",
            "reason": "退出集采"}
    assert client.post(f"/catalog/products/{product.id}", data=form).status_code == 302
    assert product.vbp_batch == "" and [(c.field, c.old_value) for c in _history(product)] == [("vbp_batch", "3")]
    too_long = client.post(f"/catalog/products/{product.id}", data=form | {"vbp_batch": "第" * 20})
    api = client.patch(f"/api/v1/catalog/products/{product.id}", json={"vbp_batch": "第" * 20, "reason": "x"})
    assert too_long.status_code == api.status_code == 422
    assert product.vbp_batch == "" and len(_history(product)) == 1


def test_the_chronic_tags_of_a_drug_are_cleared_from_the_page(county, login):
    product = make_product(chronic_tags="hypertension")
    client = login(county.users["formulary"])
    response = client.post(f"/catalog/drugs/{product.drug_id}/chronic-tags",
                           data={"product_id": product.id, "reason": "不属慢病用药"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/products/{product.id}?saved=1")
    assert product.drug.chronic_tags == ""
    again = client.post(f"/catalog/drugs/{product.drug_id}/chronic-tags",
                        data={"product_id": product.id, "reason": "再次"})
    assert again.status_code == 422 and "没有任何变化" in again.get_data(as_text=True)
