"""Editions of the list side by side: loading both, the edition in force, badges, and the search it restricts."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pharmacy import clock
from pharmacy.audit.models import AuditEvent
from pharmacy.catalog import editions
from pharmacy.catalog.loader import CatalogFileError, load_catalog
from pharmacy.catalog.models import CatalogChange, Drug, DrugClassPath, DrugGroup, EditionSetting, Product
from pharmacy.config import ROOT
from pharmacy.extensions import db
from tests.factories import stock_up

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "eml2026"


def _forget_edition(edition: str) -> None:
    """Take an edition the session loaded out of this test's database (rolled back afterwards), with the rows that
    point at its drugs, products and groups, so the fixture edition is loaded into a catalog without it."""
    tables = {"drug": [d for d in db.session.scalars(select(Drug.id).where(Drug.edition == edition))],
              "product": [p for p in db.session.scalars(select(Product.id).where(Product.edition == edition))],
              "drug_group": [g for g in db.session.scalars(select(DrugGroup.id).where(DrugGroup.edition == edition))]}
    for table in reversed(db.metadata.sorted_tables):
        for fk in table.foreign_keys:
            ids = tables.get(fk.column.table.name)
            if ids and table.name not in tables:
                db.session.execute(table.delete().where(fk.parent.in_(ids)))
    for name in ("product", "drug_group", "drug"):
        if tables[name]:
            table = db.metadata.tables[name]
            db.session.execute(table.delete().where(table.c.id.in_(tables[name])))
    db.session.flush()
    db.session.expire_all()


@pytest.fixture
def both_dir(tmp_path, db_session):
    """The shipped 2018 files and the fixture 2026 files in one catalog folder (the session's own 2026, from
    catalog_data/, is taken out first: the fixture stands for it)."""
    _forget_edition("2026")
    target = tmp_path / "catalog"
    target.mkdir()
    for path in (ROOT / "catalog_data").glob("eml2018_*.csv"):
        shutil.copy(path, target)
    for path in FIXTURE.glob("*.csv"):
        shutil.copy(path, target)
    return target


@pytest.fixture
def with_2026(db_session, both_dir):
    load_catalog(both_dir)
    return both_dir


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Drug, Product, CatalogChange, DrugGroup, DrugClassPath))


def _product(edition, code):
    return db.session.scalars(select(Product).where(Product.edition == edition, Product.code == code)).one()


def test_both_editions_load_once_and_a_second_load_changes_nothing(db_session, both_dir):
    before_2018 = db.session.scalar(select(func.count()).select_from(Product).where(Product.edition == "2018"))
    report = load_catalog(both_dir)
    assert report.editions == ["2018", "2026"]
    assert (report.drugs_created, report.products_created, report.groups_created) == (3, 6, 1)
    assert report.products_withdrawn == 0
    assert db.session.scalar(select(func.count()).select_from(Product)
                             .where(Product.edition == "2018")) == before_2018
    after = _counts()
    assert not load_catalog(both_dir).changed_anything
    assert _counts() == after
    group = db.session.scalars(select(DrugGroup).where(DrugGroup.edition == "2026")).one()
    assert (group.code, group.name, group.class_path) == ("G26-001", "结核病用药", "抗微生物药/抗结核病药")


def test_cross_listed_drug_keeps_its_primary_path_and_shows_under_each(with_2026, county, login):
    drug = db.session.scalars(select(Drug).where(Drug.code == "X26-003")).one()
    assert drug.class_path == "激素及影响内分泌药/胰岛素及口服降血糖药"
    assert drug.class_paths == [drug.class_path, "心血管系统用药/抗心力衰竭药"]
    client = login(county.users["viewer"])
    tree = client.get("/api/v1/catalog/classes?edition=2026").json
    assert {(c["path"], c["count"]) for c in tree} >= {("心血管系统用药/抗心力衰竭药", 1),
                                                       ("激素及影响内分泌药/胰岛素及口服降血糖药", 1)}
    listed = client.get("/api/v1/catalog/products?edition=2026&class_path=心血管系统用药/抗心力衰竭药").json
    assert [p["code"] for p in listed["items"]] == ["X26-003-01"]


def test_a_dropped_2026_product_is_withdrawn_and_2018_is_untouched(with_2026):
    path = with_2026 / "eml2026_chemical_products.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("2026,X26-002-01,")) + "\n",
                    encoding="utf-8")
    report = load_catalog(with_2026)
    assert report.products_withdrawn == 1
    assert _product("2026", "X26-002-01").status == "withdrawn"
    assert _product("2018", "X170-01").status == "active"


def test_a_malformed_groups_file_is_refused_whole(db_session, both_dir):
    before = _counts()
    with open(both_dir / "eml2026_groups.csv", "a", encoding="utf-8") as f:
        f.write("2026,G26-002,41,不存在的分类,,抗疟药,\n")
    with pytest.raises(CatalogFileError, match="eml2026_groups.csv:3"):
        load_catalog(both_dir)
    assert _counts() == before


def test_badges_compare_the_shown_edition_with_its_neighbour(with_2026):
    def changes(edition):
        return {db.session.get(Drug, d).generic_name: c for d, c in editions.edition_changes(edition).items()}

    shown_2026 = changes("2026")
    assert shown_2026 == {"达格列净": "added", "氨氯地平": "strength_changed"}  # 阿莫西林 carried over as it was
    shown_2018 = changes("2018")
    assert shown_2018["青霉素"] == "removed" and shown_2018["氨氯地平"] == "strength_changed"
    assert "阿莫西林" not in shown_2018


def test_counterpart_maps_a_2018_product_to_its_2026_product(with_2026):
    mapping = editions.counterpart_products("2018", "2026")
    assert mapping[_product("2018", "X006-02").id] == _product("2026", "X26-001-02").id
    assert mapping[_product("2018", "X170-01").id] == _product("2026", "X26-002-02").id
    assert _product("2018", "X006-01").id in mapping
    assert _product("2018", "X001-01").id not in mapping  # 青霉素 has none


def test_api_filters_by_edition_and_change_and_marks_each_item(with_2026, county, login):
    client = login(county.users["viewer"])
    added = client.get("/api/v1/catalog/products?edition=2026&change=added").json
    assert [(p["code"], p["edition_change"]) for p in added["items"]] == [("X26-003-01", "added")]
    changed = client.get("/api/v1/catalog/products?edition=2026&change=strength_changed").json
    assert {p["code"] for p in changed["items"]} == {"X26-002-01", "X26-002-02"}
    removed = client.get("/api/v1/catalog/products?edition=2018&change=removed&q=青霉素").json
    assert removed["total"] > 0 and all(p["edition_change"] == "removed" for p in removed["items"])
    plain = client.get("/api/v1/catalog/products?edition=2026&q=阿莫西林").json
    assert plain["total"] == 3 and all(p["edition_change"] is None for p in plain["items"])
    bad = client.get("/api/v1/catalog/products?change=gone")
    assert bad.status_code in (400, 422)


def test_page_shows_the_edition_in_force_by_default_with_badges_and_filter(with_2026, county, login):
    client = login(county.users["viewer"])
    page = client.get("/catalog?q=氨氯地平").get_data(as_text=True)
    assert "X170-01" in page and "X26-002" not in page  # 2018 is in force by default
    page = client.get("/catalog?edition=2026&change=strength_changed").get_data(as_text=True)
    assert "X26-002-01" in page and "规格变化" in page and "X26-001" not in page and "X26-003" not in page
    page = client.get("/catalog?edition=2026").get_data(as_text=True)
    assert "新增" in page and "结核病用药" in page
    assert "设为现行版本" not in page  # a viewer may not choose the edition


def test_switching_the_edition_is_refused_without_permission_and_audited_with(with_2026, county, login):
    today = clock.today()
    viewer = login(county.users["viewer"])
    refused = viewer.put("/api/v1/catalog/edition", json={"edition": "2026", "effective_from": today.isoformat(),
                                                         "reason": "新版目录"})
    assert refused.status_code == 403 and db.session.scalar(select(func.count()).select_from(EditionSetting)) == 0
    client = login(county.users["county"])
    unknown = client.put("/api/v1/catalog/edition", json={"edition": "2030", "effective_from": today.isoformat(),
                                                         "reason": "x"})
    assert unknown.status_code == 422 and editions.edition_in_force() == "2018"
    no_reason = client.put("/api/v1/catalog/edition", json={"edition": "2026", "effective_from": today.isoformat()})
    assert no_reason.status_code == 422
    later = today + timedelta(days=30)
    response = client.put("/api/v1/catalog/edition", json={"edition": "2026", "effective_from": later.isoformat(),
                                                          "reason": "2026 版基药目录"})
    assert response.status_code == 200 and response.json["set_by"] == county.users["county"].username
    assert editions.edition_in_force() == "2018" and editions.edition_in_force(later) == "2026"
    overview = client.get("/api/v1/catalog/editions").json
    assert overview["in_force"] == "2018" and overview["scheduled"]["edition"] == "2026"
    assert overview["loaded"] == ["2018", "2026"]
    change = db.session.scalars(select(CatalogChange).where(CatalogChange.entity == "setting")).one()
    assert (change.old_value, change.new_value, change.user_id) == ("2018", f"2026 {later.isoformat()}",
                                                                    county.users["county"].id)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.table_name == "catalog_edition_setting")) >= 1
    viewer_page = login(county.users["viewer"]).post("/catalog/edition", data={"edition": "2026", "effective_from": today.isoformat(),
                                                        "reason": "越权"})
    assert viewer_page.status_code == 403 and "您没有权限执行此操作" in viewer_page.get_data(as_text=True)
    formulary = login(county.users["formulary"])
    blank = formulary.post("/catalog/edition", data={"edition": "2026", "effective_from": today.isoformat(),
                                                     "reason": ""})
    assert blank.status_code == 422 and "统一药品目录" in blank.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EditionSetting)) == 1
    page = formulary.post("/catalog/edition", data={"edition": "2026", "effective_from": today.isoformat(),
                                                    "reason": "提前施行"})
    assert page.status_code == 302 and editions.edition_in_force() == "2026"
    assert "现行版本：2026 版" in formulary.get("/catalog").get_data(as_text=True)
    history = formulary.get("/catalog/history").get_data(as_text=True)
    assert "提前施行" in history and "edition_in_force" not in history


def _search(client, q, facility):
    return client.get(f"/api/v1/catalog/search?q={q}&facility={facility.code}&limit=50").json


def test_search_offers_the_edition_in_force_and_other_editions_in_stock(with_2026, county, login):
    village = county.villages[0]
    client = login(county.users["village"])
    hits = _search(client, "阿莫西林", village)
    assert hits and {h["edition"] for h in hits} == {"2018"}
    assert not any(h["is_other_edition"] for h in hits)
    codes = [h["code"] for h in hits]
    assert len(codes) == len(set(codes))

    db.session.add(EditionSetting(edition="2026", effective_from=date(2020, 1, 1), reason="测试"))
    stock_up(village, _product("2018", "X006-08"), 24)
    db.session.flush()
    hits = _search(client, "阿莫西林", village)
    by_code = {h["code"]: h for h in hits}
    assert {"X26-001-01", "X26-001-02", "X26-001-03"} <= set(by_code)
    assert by_code["X006-08"]["is_other_edition"] is True and by_code["X006-08"]["edition"] == "2018"
    assert not any(h["is_other_edition"] for h in hits if h["code"] != "X006-08")
    assert "X006-01" not in by_code  # a 2018 product the village does not hold
    # another village does not hold it: 2026 only
    other = login(county.users["other_village"])
    assert {h["edition"] for h in _search(other, "阿莫西林", county.villages[-1])} == {"2026"}


def test_products_outside_the_list_belong_to_every_edition(with_2026, county, login):
    from tests.factories import make_product

    local = make_product("县自制测试药")  # edition "T": not a year, so not an edition of the national list
    db.session.add(EditionSetting(edition="2026", effective_from=date(2020, 1, 1), reason="测试"))
    db.session.flush()
    client = login(county.users["village"])
    assert [h["code"] for h in _search(client, "县自制测试药", county.villages[0])] == [local.code]
    for edition in ("2018", "2026"):
        listed = client.get(f"/api/v1/catalog/products?edition={edition}&q=县自制测试药").json
        assert [p["code"] for p in listed["items"]] == [local.code]
    only_2026 = client.get("/api/v1/catalog/products?edition=2026&q=氨氯地平").json
    assert {p["edition"] for p in only_2026["items"]} == {"2026"}


def test_the_tablet_offline_list_holds_one_edition_plus_what_the_village_holds(with_2026, county, login):
    village = county.villages[0]
    client = login(county.users["village"])

    def amoxicillin():
        rows = client.get("/api/v1/shortages/products").json
        return {r["code"] for r in rows if r.get("generic_name", r.get("name")) == "阿莫西林"}

    assert amoxicillin() and all(code.startswith("X006-") for code in amoxicillin())
    db.session.add(EditionSetting(edition="2026", effective_from=date(2020, 1, 1), reason="测试"))
    stock_up(village, _product("2018", "X006-08"), 24)
    db.session.flush()
    assert amoxicillin() == {"X26-001-01", "X26-001-02", "X26-001-03", "X006-08"}
