"""医保药品代码: importing the NHSA table, the review queue, refusal of malformed files, the report, pages and API."""

import csv
import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from pharmacy.catalog import editions
from pharmacy.audit.models import AuditEvent
from pharmacy.catalog.loader import load_catalog
from pharmacy.catalog.models import CatalogChange, Drug, Product, ProductStatus
from pharmacy.config import ROOT
from pharmacy.insurance.models import NhsaImport, NhsaRow
from tests.factories import make_product, stock_up

SAMPLE = ROOT / "tests" / "data" / "nhsa_codes_sample.csv"
AMOX_CODE = "XJ01CAA040A001010100001"
AMLO_CODE = "XC08CAA111A001010200002"
HEADER = ["药品代码", "注册名称", "注册剂型", "注册规格", "最小包装数量", "药品企业", "批准文号", "甲乙类"]


@pytest.fixture
def formulary(db_session):
    """The formulary the session loaded; the small test catalog when catalog_data/ has none."""
    if db_session.scalar(select(Drug.id).where(Drug.generic_name == "阿莫西林")) is None:
        load_catalog(ROOT / "tests" / "data" / "catalog_small")
        db_session.flush()

    def product(generic_name: str, dosage_form: str, strength: str) -> Product:
        return db_session.scalars(select(Product).join(Drug).where(
            Drug.generic_name == generic_name, Product.dosage_form == dosage_form, Product.strength == strength,
            Product.status == ProductStatus.ACTIVE).order_by(
            (Product.edition == editions.edition_in_force()).desc(), Product.edition.desc())).first()

    return product


@pytest.fixture
def admin(county, login):
    return login(county.users["formulary"])


def upload_page(client, data: bytes, filename="codes.csv"):
    return client.post("/catalog/insurance/imports", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def csrf_token(client) -> str:
    html = client.get("/catalog").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def upload_api(client, data: bytes, filename="codes.csv"):
    return client.post("/api/v1/catalog/insurance/imports", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", headers={"X-CSRFToken": csrf_token(client)})


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def rows_of(db_session, import_id: int) -> dict[str, NhsaRow]:
    return {r.nhsa_code: r for r in db_session.scalars(select(NhsaRow).where(NhsaRow.import_id == import_id))}


def test_import_attaches_the_codes_the_engine_is_sure_of_and_records_each_change(db_session, formulary, admin):
    amox = formulary("阿莫西林", "胶囊", "0.25g")
    response = upload_page(admin, SAMPLE.read_bytes(), "nhsa_codes_sample.csv")
    assert response.status_code == 302
    record = db_session.scalars(select(NhsaImport)).one()
    assert response.headers["Location"].endswith(f"/catalog/insurance/imports/{record.id}")
    assert record.row_count == 4
    db_session.refresh(amox)
    assert (amox.nhsa_code, amox.nhsa_generic_code, amox.approval_no, amox.manufacturer) == (
        AMOX_CODE, "XJ01CAA040A0", "国药准字H00000001", "测试制药有限公司")
    rows = rows_of(db_session, record.id)
    assert rows[AMOX_CODE].status == "attached" and rows[AMOX_CODE].product_id == amox.id
    changes = db_session.scalars(select(CatalogChange).where(CatalogChange.product_id == amox.id,
                                                             CatalogChange.source == "nhsa_import")).all()
    assert {c.field: c.new_value for c in changes} == {"nhsa_code": AMOX_CODE, "nhsa_generic_code": "XJ01CAA040A0",
                                                      "approval_no": "国药准字H00000001",
                                                      "manufacturer": "测试制药有限公司"}
    assert f"#{record.id}" in changes[0].reason
    shown = admin.get(f"/api/v1/catalog/products/{amox.id}").json
    assert (shown["nhsa_code"], shown["nhsa_generic_code"]) == (AMOX_CODE, "XJ01CAA040A0")
    audited = db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.table_name == "product", AuditEvent.row_id == str(amox.id)))
    assert audited >= 1


def test_unsure_rows_wait_for_review_and_a_confirmation_attaches_the_code(db_session, formulary, admin):
    amlodipine = formulary("氨氯地平", "片剂", "5mg")
    upload_page(admin, SAMPLE.read_bytes())
    record = db_session.scalars(select(NhsaImport)).one()
    rows = rows_of(db_session, record.id)
    # 14 tablets a box in the table, another pack in the formulary: a person decides
    assert rows[AMLO_CODE].status == "needs_review" and rows[AMLO_CODE].reason == "包装数量与产品不同"
    assert rows["XJ01CAA040A001020100003"].status in ("needs_review", "no_match")  # 0.5g: no such capsule
    assert rows["XC03XAT012A001010100004"].status == "no_match"
    assert amlodipine.nhsa_code is None

    page = admin.get(f"/catalog/insurance/imports/{record.id}").get_data(as_text=True)
    assert "苯磺酸氨氯地平片" in page and "包装数量与产品不同" in page and 'id="review-table"' in page
    assert "托伐普坦片" in page and f'id="row-{rows[AMOX_CODE].id}"' not in page  # attached: not in the queue

    response = admin.post(f"/catalog/insurance/rows/{rows[AMLO_CODE].id}/confirm",
                          data={"product_id": str(amlodipine.id)}, headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json["status"] == "confirmed"
    db_session.refresh(amlodipine)
    assert amlodipine.nhsa_code == AMLO_CODE and amlodipine.nhsa_generic_code == "XC08CAA111A0"
    assert db_session.scalar(select(func.count()).select_from(CatalogChange).where(
        CatalogChange.product_id == amlodipine.id, CatalogChange.source == "nhsa_review")) == 4

    again = admin.post(f"/api/v1/catalog/insurance/rows/{rows[AMLO_CODE].id}/confirm",
                       json={"product_id": amlodipine.id})
    assert again.status_code == 409

    rejected = admin.post(f"/api/v1/catalog/insurance/rows/{rows['XC03XAT012A001010100004'].id}/reject",
                          headers={"X-CSRFToken": csrf_token(admin)})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"


def test_a_code_already_on_another_product_is_not_attached_twice(db_session, formulary, admin):
    amox = formulary("阿莫西林", "胶囊", "0.25g")
    other = make_product()
    other.nhsa_code = AMOX_CODE
    db_session.flush()
    upload_page(admin, SAMPLE.read_bytes())
    record = db_session.scalars(select(NhsaImport)).one()
    row = rows_of(db_session, record.id)[AMOX_CODE]
    assert row.status == "needs_review" and row.reason == "该代码已在另一产品上"
    response = admin.post(f"/api/v1/catalog/insurance/rows/{row.id}/confirm", json={"product_id": amox.id})
    assert response.status_code == 409 and other.code in response.json["error"]["message"]
    db_session.refresh(amox)
    assert amox.nhsa_code is None


@pytest.mark.parametrize("bad", [
    ["XJ01CAA040A0010101", "阿莫西林胶囊", "胶囊剂", "0.5g", "24", "测试制药有限公司", "国药准字H00000003", "甲"],
    ["XJ01CAA040A001020100003", "阿莫西林胶囊", "胶囊剂", "0.5g", "24", "测试制药有限公司", "国药准字H0003", "甲"],
    ["XJ01CAA040A001010100001", "阿莫西林胶囊", "胶囊剂", "0.25g", "24", "测试制药有限公司", "国药准字H00000001", "甲"],
])
def test_a_malformed_file_is_refused_whole_and_changes_nothing(db_session, formulary, admin, bad):
    amox = formulary("阿莫西林", "胶囊", "0.25g")
    good = [AMOX_CODE, "阿莫西林胶囊", "胶囊剂", "0.25g", "24", "测试制药有限公司", "国药准字H00000001", "甲"]
    changes_before = db_session.scalar(select(func.count()).select_from(CatalogChange))
    response = upload_page(admin, csv_bytes([HEADER, good, bad]))
    assert response.status_code == 422
    assert "未导入任何内容" in response.get_data(as_text=True) and "第 3 行" in response.get_data(as_text=True)
    api = upload_api(admin, csv_bytes([HEADER, good, bad]))
    assert api.status_code == 422 and api.json["error"]["fields"]["file"][0].startswith("第 3 行")
    db_session.refresh(amox)
    assert amox.nhsa_code is None
    assert db_session.scalar(select(func.count()).select_from(NhsaImport)) == 0
    assert db_session.scalar(select(func.count()).select_from(CatalogChange)) == changes_before


def test_an_unreadable_file_is_refused(db_session, formulary, admin):
    assert upload_api(admin, b"%PDF-1.4 not a table", "codes.csv").status_code in (415, 422)
    assert upload_api(admin, b"", "codes.csv").status_code == 422
    assert db_session.scalar(select(func.count()).select_from(NhsaImport)) == 0


def test_xlsx_import_through_the_api(db_session, formulary, admin):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([AMOX_CODE, "阿莫西林胶囊", "胶囊剂", "0.25g", 24, "测试制药有限公司", "国药准字H00000001", "甲"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload_api(admin, buffer.getvalue(), "codes.xlsx")
    assert response.status_code == 201, response.json
    assert response.json["file_format"] == "xlsx" and response.json["counts"]["attached"] == 1
    listed = admin.get(f"/api/v1/catalog/insurance/imports/{response.json['id']}/rows?status=all").json
    assert listed["total"] == 1 and listed["items"][0]["product"]["nhsa_code"] == AMOX_CODE


def test_the_report_lists_products_without_a_code_stocked_first(db_session, formulary, county, admin):
    amox = formulary("阿莫西林", "胶囊", "0.25g")
    stocked = make_product()
    stock_up(county.central, stocked, 240)
    more = make_product()
    stock_up(county.central, more, 480)
    upload_page(admin, SAMPLE.read_bytes())
    api = admin.get("/api/v1/catalog/insurance/uncoded?per_page=5").json
    assert [i["product"]["id"] for i in api["items"][:2]] == [more.id, stocked.id]
    assert api["items"][0]["on_hand_base"] == 480 and api["items"][2]["on_hand_base"] == 0
    ids = {i["product"]["id"] for i in admin.get("/api/v1/catalog/insurance/uncoded?per_page=500").json["items"]}
    assert amox.id not in ids  # it has its code now
    page = admin.get("/catalog/insurance/uncoded").get_data(as_text=True)
    assert page.index(more.code) < page.index(stocked.code)
    export = admin.get("/catalog/insurance/uncoded.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "产品编码" and [values[1][0], values[2][0]] == [more.code, stocked.code]
    assert not any(row[0] == amox.code for row in values)


def test_setting_a_code_by_hand_validates_the_formats(db_session, formulary, admin):
    amox = formulary("阿莫西林", "胶囊", "0.25g")
    url = f"/api/v1/catalog/insurance/products/{amox.id}/codes"
    short = admin.put(url, json={"nhsa_code": "XJ01CAA040", "reason": "医保对账"})
    assert short.status_code == 422 and "23 位" in short.json["error"]["fields"]["nhsa_code"][0]
    bad_approval = admin.put(url, json={"nhsa_code": AMOX_CODE, "approval_no": "国药准字H123", "reason": "医保对账"})
    assert bad_approval.status_code == 422 and "批准文号" in bad_approval.json["error"]["fields"]["approval_no"][0]
    tcm = admin.put(url, json={"nhsa_code": "ZA12BAS010A001010100001", "reason": "医保对账"})
    assert tcm.status_code == 422 and "不符" in tcm.json["error"]["message"]
    with admin.session_transaction() as session:
        session["lang"] = "en"
    english = admin.put(url, json={"nhsa_code": "xj01caa040", "reason": "reconciliation"})
    assert english.status_code == 422 and "23 characters" in english.json["error"]["fields"]["nhsa_code"][0]
    with admin.session_transaction() as session:
        session["lang"] = "zh"
    db_session.refresh(amox)
    assert amox.nhsa_code is None
    done = admin.put(url, json={"nhsa_code": " xj01caa040a001010100001 ", "approval_no": "国药准字h00000001",
                                "manufacturer": "测试制药有限公司", "reason": "医保对账"})
    assert done.status_code == 200, done.json
    assert (done.json["nhsa_code"], done.json["nhsa_generic_code"], done.json["approval_no"]) == (
        AMOX_CODE, "XJ01CAA040A0", "国药准字H00000001")


def test_only_formulary_staff_import_and_decide(db_session, formulary, county, login):
    client = login(county.users["township"])
    assert upload_api(client, SAMPLE.read_bytes()).status_code == 403
    assert client.get("/catalog/insurance").status_code == 403
    assert client.get("/api/v1/catalog/insurance/uncoded").status_code == 200  # the report is catalog reading


def test_the_menu_offers_the_page_to_the_formulary_admin(db_session, formulary, admin):
    assert "/catalog/insurance" in admin.get("/catalog").get_data(as_text=True)
    assert "上传医保代码表" in admin.get("/catalog/insurance").get_data(as_text=True)


GOOD_ROW = [AMOX_CODE, "阿莫西林胶囊", "胶囊剂", "0.25g", "24", "测试制药有限公司", "国药准字H00000001", "甲"]


def _hostile(kind: str) -> bytes:
    from tests import hostile_files
    from tests.integration.test_upload_guards import _zip_bomb

    if kind == "zip_bomb":
        return _zip_bomb()
    if kind == "dtd":
        return hostile_files.billion_laughs(HEADER)
    if kind == "far_row":
        return hostile_files.far_row(HEADER, [GOOD_ROW])
    return "コード,薬品名\n1001,アモキシシリンカプセル\n".encode("shift_jis")


@pytest.mark.parametrize("kind, filename, words", [
    ("zip_bomb", "codes.xlsx", "解压后过大"),
    ("dtd", "codes.xlsx", "DTD"),
    ("far_row", "codes.xlsx", "表格超过"),
    ("shift_jis", "codes.csv", "不是中文编码"),
])
def test_hostile_files_are_refused_by_the_bounded_reader_and_write_nothing(db_session, formulary, admin, kind,
                                                                           filename, words):
    response = upload_page(admin, _hostile(kind), filename)
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(NhsaImport)) == 0


def test_cli_imports_a_table_and_refuses_a_malformed_one(db_session, formulary, county, app, tmp_path):
    amox = formulary("阿莫西林", "胶囊", "0.25g")
    runner = app.test_cli_runner()
    nobody = runner.invoke(args=["insurance", "import", str(SAMPLE), "--user", county.users["village"].username])
    assert nobody.exit_code != 0 and "no formulary admin" in nobody.output
    done = runner.invoke(args=["insurance", "import", str(SAMPLE), "--user", county.users["formulary"].username])
    assert done.exit_code == 0, done.output
    assert "rows=4" in done.output and "attached=1" in done.output
    db_session.refresh(amox)
    assert amox.nhsa_code == AMOX_CODE
    # last: the refusal rolls the session back, and with it this test's own rows
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADER, ["XJ01CAA040A001020100003", *GOOD_ROW[1:]], ["XJ01", *GOOD_ROW[1:]]]))
    refused = runner.invoke(args=["insurance", "import", str(bad), "--user", county.users["formulary"].username])
    assert refused.exit_code != 0 and "nothing changed" in refused.output and "第 3 行" in refused.output


def test_a_table_longer_than_a_page_may_import_is_refused(db_session, formulary, admin, monkeypatch):
    from pharmacy.insurance import table_file

    monkeypatch.setattr(table_file, "MAX_ROWS", 30)  # the real one (10,000 rows) makes a slow test
    rows = [HEADER] + [[f"XJ01CAA040A0010{n:08d}", *GOOD_ROW[1:]] for n in range(31)]
    response = upload_page(admin, csv_bytes(rows))
    assert response.status_code == 422 and "超过 30 行" in response.get_data(as_text=True)
    assert upload_page(admin, csv_bytes(rows[:31])).status_code == 302


def test_the_product_page_shows_its_codes_or_where_to_get_them(db_session, county, admin, login):
    coded, uncoded = make_product(pack_size=10), make_product(pack_size=10)
    coded.nhsa_code, coded.nhsa_generic_code = "XJ01CAA040A001010100001", "XJ01CAA040A0"
    coded.approval_no, coded.manufacturer = "国药准字H20000001", "测试制药有限公司"
    db_session.commit()
    page = admin.get(f"/catalog/products/{coded.id}").get_data(as_text=True)
    assert "XJ01CAA040A001010100001" in page and "XJ01CAA040A0" in page
    assert "国药准字H20000001" in page and "测试制药有限公司" in page
    bare = admin.get(f"/catalog/products/{uncoded.id}").get_data(as_text=True)
    assert "医保药品代码" in bare and "导入医保药品代码表" in bare  # the formulary admin is shown where to get it
    village = login(county.users["village"]).get(f"/catalog/products/{uncoded.id}").get_data(as_text=True)
    assert "医保药品代码" in village and "导入医保药品代码表" not in village
