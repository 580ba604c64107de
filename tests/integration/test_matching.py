"""Name matching end to end: dictionary import, review, alias learning, refusal of bad files, search, CLI."""

import csv
import io
import random
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from pharmacy.catalog import editions
from pharmacy.catalog.loader import load_catalog
from pharmacy.catalog.models import Alias, Drug, Product, ProductStatus
from pharmacy.catalog.services import set_product_status
from pharmacy.config import ROOT
from pharmacy.extensions import db
from pharmacy.matching.models import DictionaryImport, LocalDrug, MatchDecision
from pharmacy.matching.services import load_brand_aliases

HEADER = ["本地编码", "药品名称", "规格", "厂家", "单位"]
NOT_IN_FORMULARY = ["头孢克肟胶囊", "艾司奥美拉唑镁肠溶片", "复方氨酚烷胺胶囊", "健胃消食片", "风油精", "谷维素片",
                    "维生素E软胶囊", "氯沙坦钾片", "罗红霉素胶囊", "伤湿止痛膏"]
FORM_WORDS = {"片剂": "片", "胶囊": "胶囊", "颗粒剂": "颗粒", "注射液": "注射液", "缓释片": "缓释片",
              "肠溶片": "肠溶片"}
MAKERS = ["华北制药", "石药集团", "扬子江药业", "国药集团", "鲁南制药", ""]


@pytest.fixture
def formulary(db_session):
    """The formulary the session loaded; the small test catalog when catalog_data/ has none."""
    if db_session.scalar(select(Drug.id).where(Drug.generic_name == "阿莫西林")) is None:
        load_catalog(ROOT / "tests" / "data" / "catalog_small")
        load_brand_aliases(ROOT / "catalog_data")
        db_session.flush()

    def product(generic_name: str, dosage_form: str, strength: str) -> Product:
        return db_session.scalars(select(Product).join(Drug).where(
            Drug.generic_name == generic_name, Product.dosage_form == dosage_form, Product.strength == strength,
            Product.status == ProductStatus.ACTIVE).order_by(
            (Product.edition == editions.edition_in_force()).desc(), Product.edition.desc())).first()

    return product


def csv_file(rows, encoding="gbk") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def csrf_token(client) -> str:
    html = client.get("/matching").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def upload(client, facility, data: bytes, filename="dict.csv"):
    return client.post("/matching/imports", data={"facility_id": str(facility.id),
                                                  "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def import_id_of(response) -> int:
    return int(re.search(r"/matching/imports/(\d+)", response.headers["Location"]).group(1))


def township_dictionary(size: int, seed: int = 5) -> list[list[str]]:
    """A real-looking township dictionary: formulary products written the local way, a few medicines outside it,
    an empty row and a duplicate."""
    rng = random.Random(seed)
    products = list(db.session.scalars(select(Product).join(Drug).where(
        Product.status == ProductStatus.ACTIVE, Product.dosage_form.in_(FORM_WORDS),
        editions.edition_condition(Product.edition, editions.edition_in_force())).order_by(Product.code)))
    rows = [HEADER]
    for n in range(size):
        code = f"L{n + 1:05d}"
        if n % 40 == 7:
            rows.append([code, rng.choice(NOT_IN_FORMULARY), "", "", "盒"])
            continue
        product = products[n % len(products)]
        # A GBK system writes 卓 for 䓬, which GBK lacks.
        name = product.drug.generic_name.replace("䓬", "卓") + FORM_WORDS[product.dosage_form]
        spec = f"{product.strength}*{product.pack_size}{product.base_unit}"
        rows.append([code, name, spec, rng.choice(MAKERS), product.pack_unit])
    rows.insert(12, ["", "", "", "", ""])
    rows.insert(30, list(rows[20]))
    return rows


def test_a_township_imports_a_2000_row_gbk_file_reviews_it_and_downloads_the_mapping(formulary, county, login):
    pharmacist = county.users["township"]
    client = login(pharmacist)
    rows = township_dictionary(2000)
    response = upload(client, county.townships[0], csv_file(rows, "gbk"))
    assert response.status_code == 302, response.get_data(as_text=True)
    import_id = import_id_of(response)
    page = client.get(f"/matching/imports/{import_id}?imported=1").get_data(as_text=True)
    assert "GBK" in page and "空行" in page and "本地编码与第" in page

    record = db.session.get(DictionaryImport, import_id)
    assert record.row_count == 2000 + 1 - 0  # every named row, the duplicate too; the empty row only reported
    counts = dict(db.session.execute(select(LocalDrug.status, func.count()).where(
        LocalDrug.import_id == import_id).group_by(LocalDrug.status)).all())
    assert counts.get("auto_matched", 0) > 0.6 * record.row_count
    assert counts.get("no_match", 0) + counts.get("needs_review", 0) >= 2000 // 40  # outside the formulary

    review = client.get(f"/matching/imports/{import_id}/review")
    assert review.status_code == 200
    html = review.get_data(as_text=True)
    assert "js/product_search.js" in html and "js/match_review.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html  # the CSP forbids inline

    open_rows = list(db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == import_id, LocalDrug.status.in_(["needs_review", "no_match"]))
        .order_by(LocalDrug.row_no)))
    outside = [r for r in open_rows if r.local_name in NOT_IN_FORMULARY]
    response = client.post(f"/matching/local-drugs/{outside[0].id}/reject",
                           data={"next": f"/matching/imports/{import_id}/review"})
    assert response.status_code == 302
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    response = client.post(f"/matching/local-drugs/{outside[1].id}/confirm", data={"product_id": amoxicillin.id},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json["status"] == "confirmed"
    response = client.post(f"/matching/imports/{import_id}/bulk-confirm", data={"min_score": "60"})
    assert response.status_code == 302

    export = client.get(f"/matching/imports/{import_id}/export.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data), read_only=True).active
    exported = list(sheet.iter_rows(values_only=True))
    assert exported[0][:3] == ("行号", "本地编码", "本地名称")
    assert len(exported) == record.row_count + 1
    assert {row[6] for row in exported[1:]} >= {"自动匹配", "已确认", "目录外"}


def test_an_unreadable_file_is_refused_whole_and_nothing_is_written(formulary, county, login):
    client = login(county.users["township"])
    before = (db.session.scalar(select(func.count(DictionaryImport.id))),
              db.session.scalar(select(func.count(LocalDrug.id))))
    for filename, data, reason in [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, ".xls"),
        ("empty.csv", b"", "文件是空的"),
        ("names.csv", csv_file([["阿莫西林胶囊", "0.25g"]], "utf-8"), "药品名称"),
        ("broken.xlsx", b"PK\x03\x04garbage", "损坏"),
    ]:
        response = upload(client, county.townships[0], data, filename)
        assert response.status_code == 422
        assert reason in response.get_data(as_text=True)
    token = csrf_token(client)
    response = client.post("/api/v1/matching/imports", data={"file": (io.BytesIO(b""), "empty.csv")},
                           content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "bad_file"
    after = (db.session.scalar(select(func.count(DictionaryImport.id))),
             db.session.scalar(select(func.count(LocalDrug.id))))
    assert after == before


def test_api_upload_of_an_xlsx_needs_the_csrf_header_and_reports_rows(formulary, county, login):
    client = login(county.users["township"])
    workbook = Workbook()
    for row in [HEADER, ["1", "阿莫西林胶囊", "0.25g*24粒", "联邦", "盒"], ["", "", "", "", ""],
                ["2", "络活喜", "5mg*7片", "辉瑞", "盒"], ["1", "阿莫西林胶囊", "0.25g*24粒", "联邦", "盒"]]:
        workbook.active.append(row)
    data = io.BytesIO()
    workbook.save(data)

    def post(headers):
        return client.post("/api/v1/matching/imports",
                           data={"facility": county.townships[0].code,
                                 "file": (io.BytesIO(data.getvalue()), "dict.xlsx")},
                           content_type="multipart/form-data", headers=headers)

    assert post({}).status_code == 400
    response = post({"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["file_format"] == "xlsx" and body["row_count"] == 3
    assert {p["row"] for p in body["problems"]} == {3, 5}
    assert body["counts"]["auto_matched"] >= 2
    rows = client.get(f"/api/v1/matching/imports/{body['id']}/local-drugs?status=auto_matched").json
    assert rows["total"] == body["counts"]["auto_matched"]
    assert rows["items"][0]["product"]["generic_name"] == "阿莫西林"
    assert rows["items"][0]["parsed_strength"] == "250mg"


def test_a_confirmed_mapping_changes_the_next_match(formulary, county, login):
    township, village, other_township = county.townships[0], county.villages[0], county.townships[1]
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    client = login(county.users["township"])
    rows = [HEADER, ["9", "阿莫西休胶囊", "0.25g", "", "盒"]]
    first = import_id_of(upload(client, township, csv_file(rows)))
    local = db.session.scalars(select(LocalDrug).where(LocalDrug.import_id == first)).one()
    assert local.status == "needs_review" and local.product_id is None

    response = client.post(f"/api/v1/matching/local-drugs/{local.id}/confirm", json={"product_id": amoxicillin.id})
    assert response.status_code == 200, response.json
    decision = db.session.scalars(select(MatchDecision).where(MatchDecision.local_drug_id == local.id)).one()
    assert (decision.user_id, decision.action, decision.old_status, decision.new_status) == (
        county.users["township"].id, "confirm", "needs_review", "confirmed")
    assert decision.created_at is not None
    alias = db.session.get(Alias, decision.alias_id)
    assert (alias.source, alias.facility_id, alias.product_id) == ("local_confirmed", township.id, amoxicillin.id)

    again = db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == import_id_of(upload(client, township, csv_file(rows))))).one()
    assert (again.status, again.product_id, again.source) == ("auto_matched", amoxicillin.id, "local_confirmed")
    # The township's villages use its confirmations; another township does not.
    below = db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == import_id_of(upload(client, village, csv_file(rows))))).one()
    assert below.status == "auto_matched"
    county_client = login(county.users["county"])
    elsewhere = db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == import_id_of(upload(county_client, other_township, csv_file(rows))))).one()
    assert elsewhere.status == "needs_review"

    # A county pharmacist may decide for the whole county.
    response = county_client.post(f"/api/v1/matching/local-drugs/{elsewhere.id}/confirm",
                                  json={"product_id": amoxicillin.id, "county_wide": True})
    assert response.status_code == 200
    assert db.session.scalars(select(Alias).where(Alias.source == "local_confirmed",
                                                  Alias.facility_id.is_(None))).first() is not None
    township_client = login(county.users["township"])
    response = township_client.post(f"/api/v1/matching/local-drugs/{local.id}/confirm",
                                    json={"product_id": amoxicillin.id, "county_wide": True})
    assert response.status_code == 403


def test_not_in_formulary_is_remembered_at_the_facility(formulary, county, login):
    client = login(county.users["township"])
    rows = [HEADER, ["7", "罗红霉素胶囊", "150mg*12粒", "", "盒"]]
    first = db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == import_id_of(upload(client, county.townships[0], csv_file(rows))))).one()
    response = client.post(f"/api/v1/matching/local-drugs/{first.id}/reject", json={"note": "目录外自费药"})
    assert response.status_code == 200 and response.json["status"] == "rejected"
    again = db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == import_id_of(upload(client, county.townships[0], csv_file(rows))))).one()
    assert (again.status, again.reason) == ("no_match", "此前已标记为目录外")


def test_review_is_limited_to_the_users_facilities(formulary, county, login):
    client = login(county.users["township"])
    import_id = import_id_of(upload(client, county.townships[0], csv_file([HEADER, ["1", "阿莫西休胶囊", "", "", ""]])))
    local = db.session.scalars(select(LocalDrug).where(LocalDrug.import_id == import_id)).one()
    from pharmacy.auth.models import Role
    from tests.factories import make_user

    other = make_user(county.townships[1], Role.TOWNSHIP_PHARMACIST)
    outsider = login(other)
    assert outsider.get(f"/matching/imports/{import_id}").status_code == 404
    assert outsider.get(f"/api/v1/matching/imports/{import_id}").status_code == 404
    product = formulary("阿莫西林", "胶囊", "0.25g")
    assert outsider.post(f"/api/v1/matching/local-drugs/{local.id}/confirm",
                         json={"product_id": product.id}).status_code == 404
    assert upload(outsider, county.townships[0], csv_file([HEADER, ["1", "x", "", "", ""]])).status_code == 403
    assert login(county.users["village"]).get("/matching").status_code == 403
    assert db.session.get(LocalDrug, local.id).status == "needs_review"


def test_search_api_ranks_products_the_facility_may_stock(formulary, county, login):
    client = login(county.users["village"])
    response = client.get("/api/v1/catalog/search?q=amxl&limit=5")
    assert response.status_code == 200
    hits = response.json
    assert hits and all(h["generic_name"] == "阿莫西林" for h in hits)
    assert {"product_id", "code", "dosage_form", "strength", "pack_label", "score", "matched"} <= set(hits[0])
    assert all(h["lowest_tier"] == "village" for h in hits)
    assert client.get("/api/v1/catalog/search?q=阿莫").json[0]["generic_name"] == "阿莫西林"
    assert client.get("/api/v1/catalog/search?q=络活喜").json[0]["generic_name"] == "氨氯地平"
    # 参麦注射液 is a township product: not for a village, found for its township.
    assert not any(h["generic_name"] == "参麦注射液" for h in client.get("/api/v1/catalog/search?q=参麦").json)
    township = login(county.users["township"])
    found = township.get(f"/api/v1/catalog/search?q=参麦&facility={county.townships[0].code}").json
    assert found[0]["generic_name"] == "参麦注射液"
    village_view = township.get(f"/api/v1/catalog/search?q=参麦&facility={county.villages[0].id}").json
    assert not any(h["generic_name"] == "参麦注射液" for h in village_view)
    assert township.get(f"/api/v1/catalog/search?q=参麦&facility={county.townships[1].code}").status_code == 403
    assert township.get("/api/v1/catalog/search").status_code == 422
    assert township.get("/api/v1/catalog/search?q=a&limit=500").status_code == 422


def test_the_index_follows_catalog_changes(formulary, county, login):
    client = login(county.users["village"])
    product = formulary("阿莫西林", "胶囊", "0.25g")
    assert product.id in [h["product_id"] for h in client.get("/api/v1/catalog/search?q=阿莫西林胶囊").json]
    set_product_status(product, "withdrawn", reason="停产", user=county.users["formulary"])
    db.session.flush()
    assert product.id not in [h["product_id"] for h in client.get("/api/v1/catalog/search?q=阿莫西林胶囊").json]
    results = client.post("/api/v1/matching/match", json={"names": ["阿莫西林胶囊 0.25g*24粒"]}).json
    assert results[0]["status"] != "auto_matched"


def test_match_api_returns_status_candidates_and_parsed_parts(formulary, county, login):
    client = login(county.users["township"])
    results = client.post("/api/v1/matching/match", json={"names": ["阿莫西林胶囊 0.25g*24粒 联邦",
    "头孢克肟胶囊"]}).json
    assert results[0]["status"] == "auto_matched"
    assert results[0]["product"]["code"] == formulary("阿莫西林", "胶囊", "0.25g").code
    assert results[0]["parsed_form"] == "胶囊" and results[0]["parsed_strength"] == "250mg"
    assert results[1]["status"] in ("no_match", "needs_review") and results[1]["product"] is None
    assert client.post("/api/v1/matching/match", json={"names": []}).status_code == 422


def test_openapi_documents_search_and_matching(client, county, login):
    paths = login(county.users["viewer"]).get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/catalog/search" in paths and "/api/v1/matching/imports" in paths


def test_cli_load_aliases_is_idempotent_and_match_file_writes_stable_columns(formulary, app, tmp_path):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["matching", "load-aliases"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["matching", "load-aliases"])
    assert "created=0" in second.output
    names = tmp_path / "names.csv"
    names.write_text("name\n阿莫西林胶囊 0.25g*24粒\n络活喜 5mg\n头孢克肟胶囊\n\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["match", "file", str(names), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["input", "status", "product_code", "generic_name", "dosage_form", "strength", "score",
                             "candidates"]
    assert [r["input"] for r in rows] == ["阿莫西林胶囊 0.25g*24粒", "络活喜 5mg", "头孢克肟胶囊"]
    assert rows[0]["status"] == "auto_matched" and rows[0]["generic_name"] == "阿莫西林"
    assert rows[0]["product_code"] == rows[0]["candidates"].split("|")[0]
    assert len(rows[0]["candidates"].split("|")) <= 5
    assert rows[1]["generic_name"] == "氨氯地平"
    assert rows[2]["status"] != "auto_matched"
    refused = runner.invoke(args=["match", "file", str(names), "--out", str(out), "--facility", "NOPE"])
    assert refused.exit_code != 0


def test_cli_import(formulary, app, county, tmp_path):
    path = tmp_path / "dict.csv"
    path.write_bytes(csv_file([HEADER, ["1", "阿莫西林胶囊", "0.25g*24粒", "", "盒"]], "utf-8-sig"))
    result = app.test_cli_runner().invoke(args=["matching", "import", str(path), "--facility",
                                                county.townships[0].code])
    assert result.exit_code == 0, result.output
    assert "rows=1" in result.output and "auto_matched=1" in result.output


def test_an_imports_page_and_its_api_twin_page_the_same_rows(formulary, county, login):
    client = login(county.users["county"])
    township = county.townships[0]
    rows = [HEADER] + [[f"P{n:03d}", "阿莫西林胶囊", f"0.25g*{n}粒", "", "盒"] for n in range(1, 31)]
    token = csrf_token(client)
    # The API takes the facility as the page's form names it too (facility_id), not only as `facility`.
    made = client.post("/api/v1/matching/imports", data={"facility_id": str(township.id),
                                                         "file": (io.BytesIO(csv_file(rows)), "p.csv")},
                       content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert made.status_code == 201 and made.json["facility_id"] == township.id
    import_id = made.json["id"]
    third = client.get(f"/api/v1/matching/imports/{import_id}/local-drugs", query_string={"per_page": 10, "page": 3})
    assert (third.json["total"], len(third.json["items"]), third.json["has_next"]) == (30, 10, False)
    assert client.get(f"/api/v1/matching/imports/{import_id}/local-drugs?per_page=10").json["has_next"] is True
    assert third.json["items"][0]["local_code"] == "P021"
    past = client.get(f"/api/v1/matching/imports/{import_id}/local-drugs", query_string={"per_page": 10, "page": 4})
    assert past.status_code == 200 and past.json["items"] == []
    page = client.get(f"/matching/imports/{import_id}", query_string={"per_page": 10, "page": 3}).get_data(as_text=True)
    assert "P021" in page and "P030" in page and "P020" not in page and "第 3 / 3 页" in page
    assert re.search(r'href="[^"]*per_page=10[^"]*"[^>]*>上一页', page)  # the pager keeps the page size
    bad = client.get(f"/api/v1/matching/imports/{import_id}/local-drugs?status=bogus")
    assert bad.status_code == 422
    assert client.get(f"/matching/imports/{import_id}?status=bogus").status_code == 200


def test_the_review_page_decides_with_the_apis_rules(formulary, county, login):
    client = login(county.users["township"])
    import_id = import_id_of(upload(client, county.townships[0], csv_file([HEADER, ["1", "阿莫西休胶囊", "", "", ""]])))
    local = db.session.scalars(select(LocalDrug).where(LocalDrug.import_id == import_id)).one()
    missing = client.post(f"/matching/local-drugs/{local.id}/confirm", data={"note": "x"})
    assert missing.status_code == 422 and local.status == "needs_review"
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    county_wide = client.post(f"/matching/local-drugs/{local.id}/confirm",
                              data={"product_id": amoxicillin.id, "county_wide": "1"})
    assert county_wide.status_code == 403 and local.status == "needs_review"
    done = client.post(f"/matching/local-drugs/{local.id}/confirm",
                       data={"product_id": amoxicillin.id, "note": "按说明书核对"})
    assert done.status_code == 302
    decision = db.session.scalars(select(MatchDecision).where(MatchDecision.local_drug_id == local.id)).one()
    assert (decision.new_status, decision.note) == ("confirmed", "按说明书核对")
    low = client.post(f"/matching/imports/{import_id}/bulk-confirm", data={"min_score": "30"})
    assert low.status_code == 422
    no_file = client.post("/matching/imports", data={"facility_id": str(county.townships[0].id)},
                          content_type="multipart/form-data")
    assert no_file.status_code == 422 and "请选择要上传的文件" in no_file.get_data(as_text=True)


def test_no_dictionary_is_imported_for_a_deactivated_facility_by_the_page_or_the_api(formulary, county, login):
    client = login(county.users["county"])
    village = county.villages[0]
    assert client.post(f"/api/v1/facilities/{village.id}/active", json={"is_active": False}).status_code == 200
    before = db.session.scalar(select(func.count(DictionaryImport.id)))
    page = upload(client, village, csv_file([HEADER, ["1", "阿莫西林胶囊", "0.25g", "", "盒"]]))
    assert page.status_code == 422 and "该机构已停用" in page.get_data(as_text=True)
    api = client.post("/api/v1/matching/imports", data={"facility": village.code,
                                                        "file": (io.BytesIO(csv_file([HEADER])), "d.csv")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": csrf_token(client)})
    assert api.status_code == 422 and "facility" in api.json["error"]["fields"]
    assert db.session.scalar(select(func.count(DictionaryImport.id))) == before
